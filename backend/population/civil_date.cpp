#include "backend/population/civil_date.hpp"

namespace juki::backend::population {

Day to_day(CivilDate d) {
  // days_from_civil (Hinnant): eras of 400 years, March-based years.
  const int y = d.year - (d.month <= 2 ? 1 : 0);
  const int era = (y >= 0 ? y : y - 399) / 400;
  const int yoe = y - era * 400;
  const int doy = (153 * (d.month + (d.month > 2 ? -3 : 9)) + 2) / 5 + d.day - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return {era * 146097 + doe - 719468};
}

CivilDate to_civil(Day day) {
  if (day.number > -12'000'000) {
    // Neri and Schneider's Euclidean affine functions (2021): unsigned
    // multiplications and shifts, twice as fast as the eras below, for every
    // day after the year -30,000 (the hot path of writing dates).
    constexpr std::uint32_t kShift = 82, kDays = 719468 + 146097 * kShift, kYears = 400 * kShift;
    const std::uint32_t n = static_cast<std::uint32_t>(day.number) + kDays;
    const std::uint32_t n1 = 4 * n + 3;
    const std::uint32_t century = n1 / 146097;
    const std::uint32_t n2 = n1 % 146097 / 4 * 4 + 3;
    const std::uint64_t p2 = std::uint64_t{2939745} * n2;
    const auto year_of_century = static_cast<std::uint32_t>(p2 >> 32);
    const std::uint32_t day_of_year = static_cast<std::uint32_t>(p2) / 2939745 / 4;
    const std::uint32_t n3 = 2141 * day_of_year + 197913;
    const std::uint32_t month = n3 >> 16, day_of_month = (n3 & 0xFFFF) / 2141;
    const std::uint32_t january_or_february = day_of_year >= 306 ? 1 : 0;
    return {static_cast<int>(100 * century + year_of_century - kYears + january_or_february),
            static_cast<int>(january_or_february ? month - 12 : month),
            static_cast<int>(day_of_month + 1)};
  }
  // Hinnant's civil_from_days: eras of 400 years, March-based years.
  const int z = day.number + 719468;
  const int era = (z >= 0 ? z : z - 146096) / 146097;
  const int doe = z - era * 146097;
  const int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int mp = (5 * doy + 2) / 153;
  const int d = doy - (153 * mp + 2) / 5 + 1;
  const int m = mp < 10 ? mp + 3 : mp - 9;
  return {yoe + era * 400 + (m <= 2 ? 1 : 0), m, d};
}

bool leap_year(int year) {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int days_in_month(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && leap_year(year) ? 29 : kDays[month - 1];
}

Day years_before(Day d, int years) {
  return years_before(to_civil(d), years);
}

Day years_before(CivilDate c, int years) {
  c.year -= years;
  if (c.day > days_in_month(c.year, c.month)) c.day = days_in_month(c.year, c.month);
  return to_day(c);
}

int age_on(Day birth, Day on) {
  const CivilDate b = to_civil(birth), o = to_civil(on);
  int age = o.year - b.year;
  if (o.month < b.month || (o.month == b.month && o.day < b.day)) --age;
  return age;
}

std::optional<Day> parse_day(std::string_view t) {
  if (t.size() != 10 || t[4] != '-' || t[7] != '-') return std::nullopt;
  auto digits = [&](std::size_t from, std::size_t count) -> int {
    int v = 0;
    for (std::size_t i = from; i < from + count; ++i) {
      if (t[i] < '0' || t[i] > '9') return -1;
      v = v * 10 + (t[i] - '0');
    }
    return v;
  };
  const int y = digits(0, 4), m = digits(5, 2), d = digits(8, 2);
  if (y < 1800 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m)) return std::nullopt;
  return to_day({y, m, d});
}

namespace {
void put_digits(int value, int width, char* out) {
  for (int i = width - 1; i >= 0; --i) {
    out[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
}
}  // namespace

void format_day(Day d, char* out) {
  const CivilDate c = to_civil(d);
  put_digits(c.year, 4, out);
  out[4] = '-';
  put_digits(c.month, 2, out + 5);
  out[7] = '-';
  put_digits(c.day, 2, out + 8);
}

std::string format_day(Day d) {
  std::string s(10, ' ');
  format_day(d, s.data());
  return s;
}

void format_compact_day(Day d, char* out) {
  const CivilDate c = to_civil(d);
  put_digits(c.year, 4, out);
  put_digits(c.month, 2, out + 4);
  put_digits(c.day, 2, out + 6);
}

}  // namespace juki::backend::population
