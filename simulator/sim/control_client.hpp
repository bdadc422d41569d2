// The client side of the simulator's control socket (specs/simulator.md 4):
// one command line sent, one answer line read. juki-sim-ctl is this with a
// command line around it; the conformance runner and the audit use it to
// swap cards and cause faults between their steps.
#pragma once

#include <chrono>
#include <string>

#include "common/result.hpp"

namespace juki::sim::control {

struct Answer {
  bool ok = false;
  std::string text;  // after "ok " / "error "
};

// Sends `line` (a formatted command) and waits up to `timeout` for its answer.
// The error says why no answer came (no simulator there, timeout, a closed
// connection), in words for the user.
Result<Answer, std::string> ask(const std::string& socket_path, const std::string& line,
                                std::chrono::milliseconds timeout);

}  // namespace juki::sim::control
