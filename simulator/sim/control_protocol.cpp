#include "simulator/sim/control_protocol.hpp"

#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <limits>
#include <vector>

namespace juki::sim {

std::string default_control_socket() {
  if (const char* s = std::getenv("JUKI_SIM_SOCKET"); s != nullptr && *s != '\0') return s;
  if (const char* d = std::getenv("XDG_RUNTIME_DIR"); d != nullptr && *d != '\0')
    return std::string(d) + "/juki-card-sim.sock";
  return "/tmp/juki-card-sim-" + std::to_string(::getuid()) + ".sock";
}

namespace control {

namespace {

constexpr std::uint32_t kMaxMs = 600'000;  // ten minutes: anything longer is a typo
// A misanswer rule names at most a short command (4 + 1 + 255 + 1) and a
// short response (256 + 2).
constexpr std::size_t kMaxCommand = 261;
constexpr std::size_t kMaxResponse = 258;

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

// Splits off the first blank-separated word; `rest` keeps the remainder
// (trimmed), which is how a path with blanks inside survives.
std::string_view next_word(std::string_view& rest) {
  rest = trim(rest);
  std::size_t n = 0;
  while (n < rest.size() && !is_blank(rest[n])) ++n;
  const std::string_view word = rest.substr(0, n);
  rest = trim(rest.substr(n));
  return word;
}

template <class T>
std::optional<T> number(std::string_view word, T max) {
  T v{};
  if (word.empty() || word.size() > 20) return std::nullopt;
  for (char c : word)
    if (c < '0' || c > '9') return std::nullopt;  // from_chars would take no sign, but be explicit
  auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), v);
  if (ec != std::errc() || end != word.data() + word.size() || v > max) return std::nullopt;
  return v;
}

struct Parser {
  std::string_view rest;
  std::string verb;

  Result<unsigned, std::string> slot() {
    const std::string_view w = next_word(rest);
    if (w.empty()) return unexpected(verb + ": missing SLOT");
    auto n = number<unsigned>(w, kMaxSlots - 1);
    if (!n)
      return unexpected(verb + ": SLOT must be a number from 0 to " +
                        std::to_string(kMaxSlots - 1) + ", not '" + std::string(w) + "'");
    return *n;
  }
  template <class T>
  Result<T, std::string> count(const char* name, T min, T max) {
    const std::string_view w = next_word(rest);
    if (w.empty()) return unexpected(verb + ": missing " + name);
    auto n = number<T>(w, max);
    if (!n || *n < min)
      return unexpected(verb + ": " + name + " must be a number from " + std::to_string(min) +
                        " to " + std::to_string(max) + ", not '" + std::string(w) + "'");
    return *n;
  }
  // One word of hex (no blanks inside: the blanks separate the words).
  Result<Bytes, std::string> hex(const char* name, std::size_t min, std::size_t max) {
    const std::string_view w = next_word(rest);
    if (w.empty()) return unexpected(verb + ": missing " + name);
    auto bytes = from_hex(w);
    if (!bytes || bytes->size() < min || bytes->size() > max)
      return unexpected(verb + ": " + name + " must be " + std::to_string(min) + " to " +
                        std::to_string(max) + " bytes of hex, not '" + std::string(w) + "'");
    return *bytes;
  }
  // The rest of the line as a path.
  Result<std::string, std::string> path(const char* name) {
    const std::string_view p = trim(rest);
    rest = {};
    if (p.empty()) return unexpected(verb + ": missing " + name);
    return std::string(p);
  }
  Result<void, std::string> end() {
    if (!trim(rest).empty())
      return unexpected(verb + ": unexpected '" + std::string(trim(rest)) + "'");
    return {};
  }
};

template <class T>
Result<Command, std::string> finish(Parser& p, T command) {
  if (auto e = p.end(); !e) return unexpected(e.error());
  return Command(std::move(command));
}

}  // namespace

Result<Command, std::string> parse(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.size() > kMaxControlLine) return unexpected(std::string("line too long"));
  for (char c : line)
    if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7F)
      return unexpected(std::string("control character in the command line"));

  Parser p{line, {}};
  p.verb = std::string(next_word(p.rest));
  const std::string& verb = p.verb;
  if (verb.empty()) return unexpected(std::string("empty command (try 'help')"));

  if (verb == "status") return finish(p, Status{});
  if (verb == "help") return finish(p, Help{});
  if (verb == "shutdown") return finish(p, Shutdown{});
  if (verb == "trace") {
    auto file = p.path("FILE or 'off'");
    if (!file) return unexpected(file.error());
    if (*file == "off") return Command(Trace{std::nullopt});
    return Command(Trace{*file});
  }

  const bool known = verb == "insert" || verb == "remove" || verb == "swap" || verb == "tear" ||
                     verb == "mute" || verb == "latency" || verb == "remove-after" ||
                     verb == "reader-timeout" || verb == "misanswer";
  if (!known) return unexpected("unknown command '" + verb + "' (try 'help')");

  auto slot = p.slot();
  if (!slot) return unexpected(slot.error());
  const unsigned s = *slot;

  if (verb == "insert" || verb == "swap") {
    auto image = p.path("IMAGE");
    if (!image) return unexpected(image.error());
    if (verb == "insert") return Command(Insert{s, *image});
    return Command(Swap{s, *image});
  }
  if (verb == "remove") return finish(p, Remove{s});
  if (verb == "tear") {
    if (trim(p.rest) == "off") {
      p.rest = {};
      return Command(Tear{s, std::nullopt, 0});
    }
    auto n = p.count<std::uint64_t>("N", 1, std::numeric_limits<std::uint32_t>::max());
    if (!n) return unexpected(n.error());
    std::size_t prefix = 0;
    if (!trim(p.rest).empty()) {
      auto b = p.count<std::size_t>("PREFIX", 0, 0xFFFF);
      if (!b) return unexpected(b.error());
      prefix = *b;
    }
    return finish(p, Tear{s, *n, prefix});
  }
  if (verb == "mute") {
    const std::string_view w = next_word(p.rest);
    if (w != "on" && w != "off") return unexpected(std::string("mute: expected 'on' or 'off'"));
    return finish(p, Mute{s, w == "on"});
  }
  if (verb == "latency") {
    auto ms = p.count<std::uint32_t>("MS", 0, kMaxMs);
    if (!ms) return unexpected(ms.error());
    return finish(p, Latency{s, *ms});
  }
  if (verb == "remove-after") {
    if (trim(p.rest) == "off") {
      p.rest = {};
      return Command(RemoveAfter{s, std::nullopt});
    }
    auto n = p.count<std::uint64_t>("N", 1, std::numeric_limits<std::uint32_t>::max());
    if (!n) return unexpected(n.error());
    return finish(p, RemoveAfter{s, *n});
  }
  if (verb == "misanswer") {
    if (trim(p.rest) == "off") {
      p.rest = {};
      return Command(Misanswer{s, std::nullopt});
    }
    auto prefix = p.hex("PREFIX", 1, kMaxCommand);
    if (!prefix) return unexpected(prefix.error());
    auto response = p.hex("RESPONSE", 2, kMaxResponse);
    if (!response) return unexpected(response.error());
    return finish(p, Misanswer{s, MisanswerRule{*prefix, *response}});
  }
  // reader-timeout
  if (trim(p.rest) == "off") {
    p.rest = {};
    return Command(ReaderTimeout{s, std::nullopt});
  }
  auto ms = p.count<std::uint32_t>("MS", 1, kMaxMs);
  if (!ms) return unexpected(ms.error());
  return finish(p, ReaderTimeout{s, *ms});
}

std::string format(const Command& c) {
  struct Visitor {
    std::string operator()(const Insert& x) const {
      return "insert " + std::to_string(x.slot) + " " + x.image;
    }
    std::string operator()(const Remove& x) const { return "remove " + std::to_string(x.slot); }
    std::string operator()(const Swap& x) const {
      return "swap " + std::to_string(x.slot) + " " + x.image;
    }
    std::string operator()(const Status&) const { return "status"; }
    std::string operator()(const Tear& x) const {
      if (!x.nth_write) return "tear " + std::to_string(x.slot) + " off";
      return "tear " + std::to_string(x.slot) + " " + std::to_string(*x.nth_write) +
             (x.torn_prefix ? " " + std::to_string(x.torn_prefix) : "");
    }
    std::string operator()(const Mute& x) const {
      return "mute " + std::to_string(x.slot) + (x.on ? " on" : " off");
    }
    std::string operator()(const Latency& x) const {
      return "latency " + std::to_string(x.slot) + " " + std::to_string(x.ms);
    }
    std::string operator()(const RemoveAfter& x) const {
      return "remove-after " + std::to_string(x.slot) + " " +
             (x.apdus ? std::to_string(*x.apdus) : "off");
    }
    std::string operator()(const ReaderTimeout& x) const {
      return "reader-timeout " + std::to_string(x.slot) + " " +
             (x.ms ? std::to_string(*x.ms) : "off");
    }
    std::string operator()(const Misanswer& x) const {
      if (!x.rule) return "misanswer " + std::to_string(x.slot) + " off";
      return "misanswer " + std::to_string(x.slot) + " " + to_hex(x.rule->prefix) + " " +
             to_hex(x.rule->response);
    }
    std::string operator()(const Trace& x) const { return "trace " + x.file.value_or("off"); }
    std::string operator()(const Help&) const { return "help"; }
    std::string operator()(const Shutdown&) const { return "shutdown"; }
  };
  return std::visit(Visitor{}, c);
}

const char* summary() {
  return "insert SLOT IMAGE        put a card image into an empty slot\n"
         "remove SLOT              pull the card out (its connection to vpcd closes)\n"
         "swap SLOT IMAGE          remove, then insert another image\n"
         "status                   JSON: slots, images, power, life cycle, APDU counts, faults\n"
         "tear SLOT N [PREFIX]     cut the power at the card's N-th next persistent write\n"
         "                         (PREFIX bytes of that write reach the memory, default 0)\n"
         "tear SLOT off            disarm a tear that has not happened yet\n"
         "mute SLOT on|off         the card answers no APDU\n"
         "latency SLOT MS          added delay before each APDU response\n"
         "remove-after SLOT N|off  pull the card out after N more APDUs\n"
         "reader-timeout SLOT MS|off  drop and reconnect when an APDU stays unanswered MS\n"
         "misanswer SLOT PREFIX RESPONSE|off  answer RESPONSE to every command that\n"
         "                         begins with PREFIX (hex; the card still processes it)\n"
         "trace FILE|off           append an APDU trace to FILE\n"
         "help                     this list\n"
         "shutdown                 stop the simulator\n";
}

}  // namespace control
}  // namespace juki::sim
