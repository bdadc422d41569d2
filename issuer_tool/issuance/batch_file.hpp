// The applications file of a batch issuance (specs/issuance.md 4.1): JSON
// Lines, one application per line, checked whole before anything is recorded.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "issuer_tool/issuance/personalization.hpp"
#include "records/records.hpp"

namespace juki::issuance {

// One line of the file: the intake request and the card's order.
struct BatchApplication {
  std::size_t line = 0;  // 1-based
  records::ApplicationRequest request;
  CardOrder order;
};

// What the file's lines do not say: from the records and the command line.
struct BatchDefaults {
  std::string municipality;  // the records' municipality
  std::string issue_date;    // YYYYMMDD
};

struct LineError {
  std::size_t line = 0;  // 0: the file as a whole
  std::string message;
};

// The applications of a JSON Lines file (specs/issuance.md 4.1): one JSON
// object per line, blank lines skipped. Every line is checked as intake and
// personalization would check it (values, PIN formats) before anything is
// recorded; every bad line is reported with its number.
Result<std::vector<BatchApplication>, std::vector<LineError>> parse_applications(
    std::string_view text, const BatchDefaults& defaults);

}  // namespace juki::issuance
