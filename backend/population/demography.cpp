#include "backend/population/demography.hpp"

#include <algorithm>

namespace juki::backend::population {

using calendar::Date;

int age_on(Date birth, Date on) {
  const int age = on.year() - birth.year();
  return calendar::MonthDay::of(on) < calendar::MonthDay::of(birth) ? age - 1 : age;
}

Result<Date, std::string> years_before(Date day, int years) {
  const int year = day.year() - years, month = day.month();
  return Date::from_ymd(year, month, std::min(day.day(), calendar::days_in_month(year, month)));
}

namespace {
constexpr std::array<std::uint32_t, 21> kAgeBands = {4541, 5114, 5376, 5706, 6320, 6384, 6714,
                                                     7498, 8476, 9868, 8738, 7940, 7442, 8236,
                                                     9189, 7065, 5389, 3714, 1787, 520,  80};
// The 100+ band's 80 thousand, falling with age.
constexpr std::array<std::uint32_t, 5> kCentenarians = {35, 22, 13, 7, 3};

constexpr std::array<std::uint32_t, 7> kHouseholdSizesPerMille = {380, 280, 166, 120, 39, 12, 3};

// Per 100,000 a year by 5-year band (0-4 ... 100+), roughly Japan's 2020 life table
// for both sexes: 12.6 per 1,000 over the whole 2020 pyramid.
constexpr std::array<std::uint32_t, 21> kDeathsPer100k = {
    45,  8,   9,    25,   45,   50,   60,    80,    120,   190,  300,
    450, 700, 1100, 1750, 3100, 5600, 10500, 18500, 30000, 40000};
}  // namespace

std::span<const std::uint32_t> census_2020_age_bands() {
  return kAgeBands;
}

AgeTable::AgeTable() {
  cumulative_[0] = 0;
  for (int a = 0; a <= kMaxAge; ++a) {
    // 5 thousand-units per band spread as one unit per year of the band.
    const std::uint32_t w = a >= 100 ? kCentenarians[static_cast<std::size_t>(a - 100)] * 5
                                     : kAgeBands[static_cast<std::size_t>(a / 5)];
    cumulative_[static_cast<std::size_t>(a) + 1] = cumulative_[static_cast<std::size_t>(a)] + w;
  }
}

int AgeTable::draw(Rng& rng, int lo, int hi) const {
  const std::uint32_t from = cumulative_[static_cast<std::size_t>(lo)];
  const std::uint32_t to = cumulative_[static_cast<std::size_t>(hi) + 1];
  const std::uint32_t x = from + rng.below(to - from);
  const auto it = std::upper_bound(cumulative_.begin(), cumulative_.end(), x);
  return static_cast<int>(it - cumulative_.begin()) - 1;
}

int draw_household_size(Rng& rng) {
  std::uint32_t x = rng.below(1000);
  for (std::size_t i = 0; i < kHouseholdSizesPerMille.size(); ++i) {
    if (x < kHouseholdSizesPerMille[i]) return static_cast<int>(i) + 1;
    x -= kHouseholdSizesPerMille[i];
  }
  return 1;
}

std::uint32_t deaths_per_100k(int age) {
  return kDeathsPer100k[static_cast<std::size_t>(std::min(age, 100) / 5)];
}

}  // namespace juki::backend::population
