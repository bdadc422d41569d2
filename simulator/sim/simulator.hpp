// juki-card-sim's engine: card images in reader slots, each slot connected to
// vsmartcard-vpcd over TCP while a card is in it, a control socket, faults and
// an APDU trace. One thread, one poll() loop (specs/simulator.md).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "simulator/vpcd/framing.hpp"

namespace juki::sim {

struct Options {
  unsigned slots = 1;
  std::string vpcd_host = "127.0.0.1";
  std::uint16_t port_base = vpcd::kDefaultPort;  // slot s talks to port_base + s
  std::string control_socket;                    // empty: no control interface
  // After a card leaves a slot, wait this long before the slot connects again,
  // so that vpcd's presence poll sees the slot empty at least once.
  std::uint32_t reinsert_delay_ms = 1000;
  std::optional<std::uint32_t> reader_timeout_ms;       // default for every slot
  std::string trace_file;                               // empty: no trace
  bool trace_secrets = false;                           // --trace-secrets: PINs, keys shown
  std::vector<std::pair<unsigned, std::string>> cards;  // inserted at start: slot, image
  bool quiet = false;                                   // no progress lines on stderr
};

class Simulator {
 public:
  // Opens the control socket, the trace and the initial cards. Fails with a
  // message for the user.
  static Result<std::unique_ptr<Simulator>, std::string> create(const Options& options);
  ~Simulator();
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  // The event loop. Returns when `stop_fd` (for example a signalfd) becomes
  // readable or a "shutdown" command arrives; an error only when the loop
  // itself cannot go on.
  Result<void, std::string> run(int stop_fd);

  // Carries out one control-protocol line and returns its answer line
  // (without newline).
  std::string execute(std::string_view line);

  class Impl;

 private:
  explicit Simulator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace juki::sim
