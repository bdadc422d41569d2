// The simulator's control protocol (specs/simulator.md, "Control interface"):
// one command per line, one answer line each ("ok ..." or "error ...").
// Parsing only; the simulator carries the commands out. Shared by
// juki-card-sim and juki-sim-ctl.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "common/bytes.hpp"
#include "common/result.hpp"

namespace juki::sim {

// Longest command line accepted; longer lines are refused (the peer is dropped).
inline constexpr std::size_t kMaxControlLine = 4096;
// Slots are numbered from 0; vpcd ports are base + slot, so keep them few.
inline constexpr unsigned kMaxSlots = 64;

// The control socket's default path: $JUKI_SIM_SOCKET, else
// $XDG_RUNTIME_DIR/juki-card-sim.sock, else /tmp/juki-card-sim-UID.sock.
std::string default_control_socket();

namespace control {

struct Insert {
  unsigned slot;
  std::string image;
  bool operator==(const Insert&) const = default;
};
struct Remove {
  unsigned slot;
  bool operator==(const Remove&) const = default;
};
struct Swap {
  unsigned slot;
  std::string image;
  bool operator==(const Swap&) const = default;
};
struct Status {
  bool operator==(const Status&) const = default;
};
struct Tear {
  unsigned slot;
  std::optional<std::uint64_t> nth_write;  // 1 = the next persistent write; nullopt: "off"
  std::size_t torn_prefix;                 // bytes of the torn write that reach the memory
  bool operator==(const Tear&) const = default;
};
struct Mute {
  unsigned slot;
  bool on;
  bool operator==(const Mute&) const = default;
};
struct Latency {
  unsigned slot;
  std::uint32_t ms;
  bool operator==(const Latency&) const = default;
};
struct RemoveAfter {
  unsigned slot;
  std::optional<std::uint64_t> apdus;  // nullopt: "off"
  bool operator==(const RemoveAfter&) const = default;
};
struct ReaderTimeout {
  unsigned slot;
  std::optional<std::uint32_t> ms;  // nullopt: "off"
  bool operator==(const ReaderTimeout&) const = default;
};
// The card's answer to every command that begins with `prefix` is replaced by
// `response` on its way back (the card still processes the command): a card
// that answers one command wrong, for testing differential runs.
struct MisanswerRule {
  Bytes prefix;    // 1..261 bytes
  Bytes response;  // 2..258 bytes: data and SW1 SW2
  bool operator==(const MisanswerRule&) const = default;
};
struct Misanswer {
  unsigned slot;
  std::optional<MisanswerRule> rule;  // nullopt: "off"
  bool operator==(const Misanswer&) const = default;
};
struct Trace {
  std::optional<std::string> file;  // nullopt: "off"
  bool operator==(const Trace&) const = default;
};
struct Help {
  bool operator==(const Help&) const = default;
};
struct Shutdown {
  bool operator==(const Shutdown&) const = default;
};

using Command = std::variant<Insert, Remove, Swap, Status, Tear, Mute, Latency, RemoveAfter,
                             ReaderTimeout, Misanswer, Trace, Help, Shutdown>;

// One line (without its newline; a trailing '\r' is ignored). The error is the
// message for the "error" answer.
Result<Command, std::string> parse(std::string_view line);

// The command as a line again (without newline); parse(format(c)) == c.
std::string format(const Command& c);

// One line per command, for "help" and juki-sim-ctl --help.
const char* summary();

}  // namespace control
}  // namespace juki::sim
