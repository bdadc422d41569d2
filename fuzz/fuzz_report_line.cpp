// Fuzzes the existing system's import line (backend/wire/import_file.hpp,
// specs/network.md 6.2): any bytes give a report or a refusal naming a field,
// never a crash. A report that parses is checked (wire::check_report) and
// written back: the written line parses to the same report.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "backend/wire/identity.hpp"
#include "backend/wire/import_file.hpp"

using namespace juki::backend;

namespace {
void require(bool ok) {
  if (!ok) __builtin_trap();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  auto report = wire::parse_report_line(line);
  if (!report) {
    require(!report.error().message.empty());
    return 0;
  }
  static const auto today = *calendar::Date::parse("2026-12-07");
  if (auto problem = wire::check_report(*report, "131016", today))
    require(!problem->field.empty() && !problem->message.empty());
  auto again = wire::parse_report_line(wire::report_line(*report));
  require(again.ok());
  require(again->SerializeAsString() == report->SerializeAsString());
  return 0;
}
