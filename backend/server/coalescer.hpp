// Calls that arrive together, answered as one batch (specs/network.md 6.8):
// when the work of a call is a round trip to another process (PostgreSQL),
// k calls that wait together pay for one round trip instead of k. The first
// caller to find a free place runs a batch of everything waiting (up to
// `max_batch`); the others wait for their answers, or lead the next batch.
// At most `max_running` batches run at once. A caller alone runs a batch of
// one at once: nothing waits for company. Each waiter sleeps on its own
// condition, woken only for its answer or to lead: on two cores every needless
// wakeup of a thread on the other core costs tens of microseconds.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

namespace juki::backend::server {

template <class Item, class Answer>
class Coalescer {
 public:
  // Answers each item of a batch, in order: exactly items.size() answers. It
  // must not throw (a batch that cannot run answers each item with its error);
  // if it does, the process ends rather than leave callers waiting forever.
  using Run = std::function<std::vector<Answer>(const std::vector<Item>& items)>;

  Coalescer(int max_running, std::size_t max_batch, Run run)
      : max_running_(max_running), max_batch_(max_batch), run_(std::move(run)) {}

  Answer call(Item item) {
    Waiter me{std::move(item)};
    std::unique_lock lock(mutex_);
    waiting_.push_back(&me);
    for (;;) {
      if (me.answer) return std::move(*me.answer);
      if (running_ < max_running_ && !waiting_.empty()) {
        lead(lock);
        continue;
      }
      me.woken.wait(lock);
    }
  }

  std::size_t waiting() const {
    std::lock_guard lock(mutex_);
    return waiting_.size();
  }
  // Batches run so far and the calls they answered (for benchmarks and tests).
  std::pair<long, long> batches_and_calls() const {
    std::lock_guard lock(mutex_);
    return {batches_, calls_};
  }

 private:
  struct Waiter {
    explicit Waiter(Item i) : item(std::move(i)) {}
    Item item;
    std::optional<Answer> answer;
    std::condition_variable woken;
  };

  // With the lock held: takes the oldest waiting calls, runs them without the
  // lock, hands out the answers, and wakes the next waiter to lead.
  void lead(std::unique_lock<std::mutex>& lock) noexcept {
    const std::size_t n = std::min(max_batch_, waiting_.size());
    std::vector<Waiter*> batch(waiting_.begin(), waiting_.begin() + static_cast<long>(n));
    waiting_.erase(waiting_.begin(), waiting_.begin() + static_cast<long>(n));
    ++running_;
    lock.unlock();
    std::vector<Item> items;
    items.reserve(n);
    for (auto* w : batch) items.push_back(w->item);
    std::vector<Answer> answers = run_(items);
    lock.lock();
    --running_;
    ++batches_;
    calls_ += static_cast<long>(n);
    for (std::size_t i = 0; i < n; ++i) {
      batch[i]->answer = std::move(answers.at(i));
      batch[i]->woken.notify_one();
    }
    if (!waiting_.empty()) waiting_.front()->woken.notify_one();
  }

  const int max_running_;
  const std::size_t max_batch_;
  const Run run_;
  mutable std::mutex mutex_;
  std::vector<Waiter*> waiting_;
  int running_ = 0;
  long batches_ = 0;
  long calls_ = 0;
};

}  // namespace juki::backend::server
