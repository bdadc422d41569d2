// The population's statistics, approximate public figures kept as integers:
// the 2020 census age pyramid, household sizes, death rates by age; and ages
// on a day, over backend/calendar's dates.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

#include "backend/calendar/date.hpp"
#include "backend/population/random.hpp"
#include "common/result.hpp"

namespace juki::backend::population {

constexpr int kMaxAge = 104;  // the 100+ band is spread over 100..104

// Whole years from `birth` to `on`: the age on that day.
int age_on(calendar::Date birth, calendar::Date on);
// The same month and day `years` earlier, Feb 29 becoming Feb 28 in a common
// year; fails before calendar::Date::first().
Result<calendar::Date, std::string> years_before(calendar::Date day, int years);

// Residents by 5-year age band (0-4, ..., 95-99, 100+), thousands, 2020 census.
std::span<const std::uint32_t> census_2020_age_bands();

// Ages drawn from the pyramid restricted to [lo, hi] (0 <= lo <= hi <= kMaxAge).
class AgeTable {
 public:
  AgeTable();
  int draw(Rng& rng, int lo, int hi) const;

 private:
  std::array<std::uint32_t, kMaxAge + 2> cumulative_{};  // cumulative_[a]: weight of ages < a
};

// Household sizes 1..7 per mille (2020 census; 7 stands for 7 or more): mean 2.21.
int draw_household_size(Rng& rng);

// Deaths per 100,000 a year at an age (approximate life table), and the
// highest of them: a death picks a resident with probability rate / max.
std::uint32_t deaths_per_100k(int age);
constexpr std::uint32_t kMaxDeathsPer100k = 40000;

}  // namespace juki::backend::population
