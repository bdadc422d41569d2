#include "backend/server/forwarder.hpp"

#include <algorithm>
#include <iostream>
#include <random>

namespace juki::backend::server {

namespace {
// An idle outbox is looked at this often even without wake(): another
// process (juki-net import) may have written to the store.
constexpr std::chrono::milliseconds kIdlePoll{500};
constexpr std::chrono::milliseconds kFirstPause{100};
}  // namespace

Forwarder::Forwarder(std::string name, Attempt attempt, std::chrono::milliseconds longest_pause)
    : name_(std::move(name)),
      attempt_(std::move(attempt)),
      longest_pause_(std::max(longest_pause, kFirstPause)),
      thread_([this] { run(); }) {}

Forwarder::~Forwarder() {
  stop();
}

void Forwarder::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  wakeup_.notify_all();
}

void Forwarder::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wakeup_.notify_all();
  if (thread_.joinable()) thread_.join();
}

ForwarderStats Forwarder::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void Forwarder::run() {
  std::minstd_rand jitter(std::random_device{}());
  std::chrono::milliseconds pause = kFirstPause;
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      woken_ = false;
    }
    std::string error;
    const Step step = attempt_(error);
    std::unique_lock lock(mutex_);
    if (step == Step::delivered) {
      ++stats_.delivered;
      pause = kFirstPause;
      continue;
    }
    if (step == Step::idle) {
      pause = kFirstPause;
      wakeup_.wait_for(lock, kIdlePoll, [&] { return stopping_ || woken_; });
      continue;
    }
    ++stats_.failures;
    if (error != stats_.last_error)
      std::cerr << name_ << ": delivery failed, retrying with back-off: " << error << "\n";
    stats_.last_error = error;
    // Full jitter: anywhere up to the current pause, so that many senders
    // returning to one server at once spread out.
    const auto wait = std::chrono::milliseconds(
        std::uniform_int_distribution<std::int64_t>(pause.count() / 2, pause.count())(jitter));
    wakeup_.wait_for(lock, wait, [&] { return stopping_; });
    pause = std::min(pause * 2, longest_pause_);
  }
}

}  // namespace juki::backend::server
