// Calendar days as day numbers (days since 1970-01-01, proleptic Gregorian),
// with the exact integer conversions of H. Hinnant's date algorithms: no
// time zones, no clock.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace juki::backend::population {

struct CivilDate {
  int year = 1970;
  int month = 1;  // 1..12
  int day = 1;    // 1..31
  bool operator==(const CivilDate&) const = default;
};

// A day, ordered and subtractable.
struct Day {
  std::int32_t number = 0;  // days since 1970-01-01
  auto operator<=>(const Day&) const = default;
  Day operator+(std::int32_t days) const { return {number + days}; }
  Day operator-(std::int32_t days) const { return {number - days}; }
  std::int32_t operator-(Day other) const { return number - other.number; }
};

Day to_day(CivilDate d);
CivilDate to_civil(Day d);
bool leap_year(int year);
int days_in_month(int year, int month);

// The same month and day `years` earlier, Feb 29 becoming Feb 28 in a common year.
Day years_before(Day d, int years);
Day years_before(CivilDate d, int years);
// Whole years from `birth` to `on` (the age on that day).
int age_on(Day birth, Day on);

// "YYYY-MM-DD", a real date from 1800 to 9999; nullopt otherwise.
std::optional<Day> parse_day(std::string_view text);
// Writes "YYYY-MM-DD" (10 chars) at `out`.
void format_day(Day d, char* out);
std::string format_day(Day d);
// "YYYYMMDD" (8 chars) at `out`: the date part of report ids.
void format_compact_day(Day d, char* out);

}  // namespace juki::backend::population
