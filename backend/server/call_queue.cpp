#include "backend/server/call_queue.hpp"

#include <chrono>
#include <string>

namespace juki::backend::server {

CallQueue::CallQueue(int workers, int waiting) : workers_(workers), waiting_(waiting) {
  threads_.reserve(static_cast<std::size_t>(workers));
  for (int i = 0; i < workers; ++i) threads_.emplace_back([this] { work(); });
}

CallQueue::~CallQueue() {
  stop();
}

bool CallQueue::submit(std::function<void()> work) {
  {
    std::lock_guard lock(mutex_);
    // A call is admitted when a worker is free or a waiting place is.
    if (stopping_) return false;
    if (busy_ + static_cast<int>(queue_.size()) >= workers_ + waiting_) {
      ++shed_;
      return false;
    }
    queue_.push_back(std::move(work));
  }
  ready_.notify_one();
  return true;
}

grpc::ServerUnaryReactor* CallQueue::serve(grpc::CallbackServerContext* context,
                                           std::function<grpc::Status()> work) {
  auto* reactor = context->DefaultReactor();
  // The context, the request and the reply live until Finish.
  const bool queued = submit([this, context, reactor, work = std::move(work)] {
    if (context->IsCancelled()) {
      ++abandoned_;
      reactor->Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the client gave up"));
      return;
    }
    if (context->deadline() <= std::chrono::system_clock::now()) {
      ++abandoned_;
      reactor->Finish(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                                   "the call's deadline passed while it waited; retry later"));
      return;
    }
    reactor->Finish(work());
  });
  if (!queued)
    reactor->Finish(stopping() ? grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                              "the server is stopping; retry later")
                               : overloaded());
  return reactor;
}

bool CallQueue::stopping() {
  std::lock_guard lock(mutex_);
  return stopping_;
}

int CallQueue::waiting() {
  std::lock_guard lock(mutex_);
  return static_cast<int>(queue_.size());
}

grpc::Status CallQueue::overloaded() const {
  return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                      "overloaded: " + std::to_string(workers_) + " calls in progress and " +
                          std::to_string(waiting_) + " waiting; retry later");
}

void CallQueue::work() {
  for (;;) {
    std::function<void()> next;
    {
      std::unique_lock lock(mutex_);
      ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left
      next = std::move(queue_.front());
      queue_.pop_front();
      ++busy_;
    }
    next();
    std::lock_guard lock(mutex_);
    --busy_;
  }
}

void CallQueue::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  ready_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

}  // namespace juki::backend::server
