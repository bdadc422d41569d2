// Fuzzes the simulator's control-protocol parser: any line either parses or
// gives a message, and a parsed command formats to a line that parses back to
// the same command (what juki-sim-ctl relies on when it rewrites paths).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "simulator/sim/control_protocol.hpp"

using namespace juki::sim;

namespace {
void require(bool ok) {
  if (!ok) __builtin_trap();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  auto c = control::parse(line);
  if (!c) {
    require(!c.error().empty());
    return 0;
  }
  const std::string text = control::format(*c);
  require(text.find('\n') == std::string::npos);
  auto again = control::parse(text);
  require(again.ok());
  require(*again == *c);
  return 0;
}
