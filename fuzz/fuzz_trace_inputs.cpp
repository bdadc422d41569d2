// Fuzzes what juki-trace reads (specs/requirements.md): the requirements
// table's Markdown and a JUnit file (through libxml2). Any text gives rows
// and problems, each problem with a message; any XML gives cases or an error.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "tools/trace/trace.hpp"

namespace {
void require(bool ok) {
  if (!ok) __builtin_trap();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto table = juki::trace::parse_requirements(text, "fuzz.md");
  for (const auto& row : table.rows) require(!row.id.empty());
  for (const auto& problem : table.problems) require(!problem.message.empty());
  std::string error;
  auto cases = juki::trace::parse_junit(text, error);
  if (!cases) require(!error.empty());
  return 0;
}
