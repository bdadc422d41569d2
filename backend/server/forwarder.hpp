// The delivery loop from a server's outbox to its upstream (specs/network.md
// 6.4): one thread sends the oldest unconfirmed batch, waits for the
// receiver's confirmation, and moves on; when the upstream is down or
// refuses, it backs off (exponentially, with jitter, up to a limit) and
// tries the same again. Nothing is dropped: the outbox in the store is the
// queue, so a restart resumes where the last confirmation left off.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace juki::backend::server {

struct ForwarderStats {
  std::int64_t delivered = 0;  // batches confirmed
  std::int64_t failures = 0;   // attempts that failed
  std::string last_error;
};

class Forwarder {
 public:
  enum class Step {
    idle,       // nothing to send
    delivered,  // a batch was confirmed: look for the next one at once
    failed,     // the attempt failed: back off, then try again
  };
  // Runs one attempt: sends the oldest unconfirmed batch, if any, and records
  // the confirmation. On failure, sets `error`.
  using Attempt = std::function<Step(std::string& error)>;

  Forwarder(std::string name, Attempt attempt, std::chrono::milliseconds longest_pause);
  ~Forwarder();  // stops and joins
  Forwarder(const Forwarder&) = delete;
  Forwarder& operator=(const Forwarder&) = delete;

  // Something new is in the outbox: skip the rest of an idle wait (not a
  // back-off: a down upstream is not hammered).
  void wake();
  void stop();
  ForwarderStats stats() const;

 private:
  void run();

  std::string name_;
  Attempt attempt_;
  std::chrono::milliseconds longest_pause_;
  mutable std::mutex mutex_;
  std::condition_variable wakeup_;
  bool stopping_ = false;
  bool woken_ = false;
  ForwarderStats stats_;
  std::thread thread_;
};

}  // namespace juki::backend::server
