// A fixed set of objects (stores, each on its own connection) lent to one
// thread at a time: a server's calls take one, and wait a bounded time when
// all are out (then the call is refused, never queued without bound).
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <vector>

namespace juki::backend::server {

template <class T>
class Leases {
 public:
  class Lease {
   public:
    Lease(Leases* owner, T* item) : owner_(owner), item_(item) {}
    Lease(Lease&& other) noexcept : owner_(other.owner_), item_(other.item_) {
      other.item_ = nullptr;
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (item_) owner_->give_back(item_);
    }
    T& operator*() const { return *item_; }
    T* operator->() const { return item_; }

   private:
    Leases* owner_;
    T* item_;
  };

  explicit Leases(std::vector<T> items) : items_(std::move(items)) {
    for (auto& item : items_) free_.push_back(&item);
  }

  // nullopt when none came back within `wait`.
  std::optional<Lease> take(std::chrono::milliseconds wait) {
    std::unique_lock lock(mutex_);
    if (!returned_.wait_for(lock, wait, [&] { return !free_.empty(); })) return std::nullopt;
    T* item = free_.back();
    free_.pop_back();
    return Lease(this, item);
  }

 private:
  void give_back(T* item) {
    {
      std::lock_guard lock(mutex_);
      free_.push_back(item);
    }
    returned_.notify_one();
  }

  std::vector<T> items_;  // never resized: the leases point into it
  std::vector<T*> free_;
  std::mutex mutex_;
  std::condition_variable returned_;
};

}  // namespace juki::backend::server
