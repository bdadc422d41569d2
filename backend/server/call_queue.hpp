// A server's work capacity (specs/network.md 6.6). `workers` threads work on
// calls; at most `waiting` more calls wait for one of them; the next call is
// answered RESOURCE_EXHAUSTED at once ("retry later"). So an overloaded server
// keeps serving at its capacity and tells the excess so quickly, instead of
// queueing without bound and answering everyone late.
//
// The calls arrive through gRPC's callback API, whose handlers only hand the
// work over: how many calls are worked on at once is this queue's decision,
// not a consequence of how fast gRPC starts threads.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace juki::backend::server {

class CallQueue {
 public:
  CallQueue(int workers, int waiting);
  ~CallQueue();  // stop()
  CallQueue(const CallQueue&) = delete;
  CallQueue& operator=(const CallQueue&) = delete;

  // Hands `work` to a worker, or returns false at once when `workers` calls
  // are worked on and `waiting` wait already (or the queue has stopped).
  bool submit(std::function<void()> work);

  // Serves one unary call: `work` runs on a worker and its status finishes
  // the call. A full queue finishes it at once with overloaded() (UNAVAILABLE
  // once the queue is stopping); a call whose
  // client gave up (cancelled, or past its deadline) while it waited is
  // finished without its work being done.
  grpc::ServerUnaryReactor* serve(grpc::CallbackServerContext* context,
                                  std::function<grpc::Status()> work);

  grpc::Status overloaded() const;
  int waiting();                                 // calls queued now
  bool stopping();                               // stop() was called
  long shed() const { return shed_; }            // calls refused as overloaded
  long abandoned() const { return abandoned_; }  // calls given up on while waiting

  // Lets the workers finish what is queued, then joins them; submit() then
  // returns false. Idempotent.
  void stop();

 private:
  void work();

  const int workers_;
  const int waiting_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> queue_;
  int busy_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
  std::atomic<long> shed_{0};
  std::atomic<long> abandoned_{0};
};

}  // namespace juki::backend::server
