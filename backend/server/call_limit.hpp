// A server's work capacity (specs/network.md 6.6): at most `max` calls are
// worked on at once; one more is answered RESOURCE_EXHAUSTED at once ("retry
// later"), so that an overloaded server keeps serving at its capacity instead
// of queueing without bound and answering everyone late.
#pragma once

#include <grpcpp/support/status.h>

#include <atomic>
#include <optional>
#include <string>

namespace juki::backend::server {

class CallLimit {
 public:
  explicit CallLimit(int max) : max_(max) {}

  class Slot {
   public:
    explicit Slot(CallLimit* limit) : limit_(limit) {}
    Slot(Slot&& other) noexcept : limit_(other.limit_) { other.limit_ = nullptr; }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    Slot& operator=(Slot&&) = delete;
    ~Slot() {
      if (limit_) --limit_->inflight_;
    }

   private:
    CallLimit* limit_;
  };

  // A slot, or nullopt when `max` calls are in progress already.
  std::optional<Slot> enter() {
    if (++inflight_ > max_) {
      --inflight_;
      ++shed_;
      return std::nullopt;
    }
    return Slot(this);
  }
  grpc::Status overloaded() const {
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                        "overloaded: " + std::to_string(max_) + " calls in progress; retry later");
  }
  long shed() const { return shed_; }

 private:
  const int max_;
  std::atomic<int> inflight_{0};
  std::atomic<long> shed_{0};
};

}  // namespace juki::backend::server
