// Fuzzes what reads a vendor's or an auditor's APDU script: the script parser
// (specs/apdu-script.md; includes refused, as without a loader), its
// patterns' canonical text, and the audit's control header
// (specs/audit.md 3). Any text parses or gives an error with a message; a
// parsed pattern's text parses back to the same pattern.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "host_middleware/audit/evidence.hpp"
#include "host_middleware/script/script.hpp"

using namespace juki;
namespace script = juki::host::script;

namespace {
void require(bool ok) {
  if (!ok) __builtin_trap();
}
void round_trip(const script::Pattern& p) {
  auto again = script::Pattern::parse(p.to_string());
  require(again.ok());
  require(*again == p);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const script::Variables fixed{{"TK", Bytes(16, 0x40)}};
  auto parsed = script::parse(text, "fuzz.apdu", {}, fixed);
  if (!parsed) {
    require(!parsed.error().message.empty());
  } else {
    for (const script::Step& step : parsed->steps) {
      if (const auto* e = std::get_if<script::Exchange>(&step.action)) round_trip(e->expected);
      if (const auto* a = std::get_if<script::AtrCheck>(&step.action)) round_trip(a->expected);
      if (const auto* a = std::get_if<script::Auth>(&step.action)) {
        round_trip(a->expected);
        require(a->key.size() == 16 || a->key.size() == 24 || a->key.size() == 32);
      }
    }
  }
  auto pattern = script::Pattern::parse(text);
  if (pattern) round_trip(*pattern);
  auto header = host::audit::read_control_header(text);
  if (header)
    require(!header->id.empty() && !header->title.empty() && !header->clauses.empty());
  else
    require(!header.error().empty());
  return 0;
}
