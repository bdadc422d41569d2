// Dates as the card face prints them: the Japanese era (和暦, 令和8年11月24日)
// and ISO 8601 (2026-11-24). The era starts are the days the new era took
// effect (specs/card-face.md "Eras"); the first year of an era is written 元年.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/card_information.hpp"

namespace juki::face {

using card_information::Date;

struct EraDate {
  std::string_view era;  // "明治", "大正", "昭和", "平成", "令和"
  int year = 0;          // 1 is 元年
  int month = 0;
  int day = 0;
  friend bool operator==(const EraDate&, const EraDate&) = default;
};

// The era date of a Gregorian date; nullopt before Meiji (1868-10-23), where
// the face has no era to print. `d` must be a real calendar date.
std::optional<EraDate> to_era(const Date& d);
// "令和8年11月24日", "令和元年5月1日" (ASCII digits, as the face prints them).
std::string format_era(const EraDate& e);
// "2026-11-24".
std::string format_iso(const Date& d);

}  // namespace juki::face
