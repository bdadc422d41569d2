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
  const int z = day.number + 719468;
  if (z >= 0) {
    // Unsigned arithmetic for every day from 0000-03-01 on: divisions by
    // constants become multiplications (the hot path of writing dates).
    const auto uz = static_cast<std::uint32_t>(z);
    const std::uint32_t era = uz / 146097;
    const std::uint32_t doe = uz - era * 146097;
    const std::uint32_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const std::uint32_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const std::uint32_t mp = (5 * doy + 2) / 153;
    const auto d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
    const auto m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
    return {static_cast<int>(yoe + era * 400) + (m <= 2 ? 1 : 0), m, d};
  }
  const int era = (z - 146096) / 146097;
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
