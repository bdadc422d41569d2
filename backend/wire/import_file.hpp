// The existing system's change reports as a file (specs/network.md 6.2):
// JSON Lines, UTF-8, one report per line, the same report as the
// ResidentSystemLink RPC carries. Parsing is strict (unknown or missing
// fields, wrong types and duplicate keys are refused); what the fields mean
// is wire::check_report's to check.
#pragma once

#include <string>
#include <string_view>

#include "backend/wire/identity.hpp"
#include "common/result.hpp"

namespace juki::backend::wire {

// One line, without its newline. The error names the field ("resident.sex")
// or, for a line that is not a JSON object, the field is empty.
Result<proto::ChangeReport, FieldError> parse_report_line(std::string_view line);

// The line a report is written as (the inverse of parse_report_line).
std::string report_line(const proto::ChangeReport& report);

}  // namespace juki::backend::wire
