#include "backend/calendar/date.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <ostream>

namespace juki::backend::calendar {

namespace {

constexpr std::array<std::string_view, 7> kWeekdayNames = {
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"};
constexpr std::array<std::string_view, 12> kMonthNames = {
    "January", "February", "March",     "April",   "May",      "June",
    "July",    "August",   "September", "October", "November", "December"};

// Howard Hinnant's days_from_civil (howardhinnant.github.io/date_algorithms.html):
// the year is counted from March, so that the leap day is the last day of its
// year, and split into 400-year eras of 146097 days.
constexpr std::int64_t days_from_civil(std::int64_t year, int month, int day) {
  year -= month <= 2 ? 1 : 0;
  const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
  const std::int64_t year_of_era = year - era * 400;  // 0..399
  const std::int64_t day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const std::int64_t day_of_era =
      year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;  // 0..146096
  return era * 146097 + day_of_era - 719468;  // 719468: 0000-03-01 to 1970-01-01
}

struct Civil {
  std::int64_t year;
  int month;
  int day;
};

// The other way by Neri and Schneider's Euclidean affine functions ("Euclidean
// affine functions and their application to calendar algorithms", 2021): the
// same March-based years, with 32-bit unsigned multiplications and shifts in
// place of divisions, about twice as fast as Hinnant's civil_from_days (writers
// of millions of dates call it for each). The count is moved 82 eras later so
// that it stays unsigned for every day from the year -30,000: all Dates.
constexpr Civil civil_from_days(std::int64_t days) {
  constexpr std::uint32_t kEras = 82, kDays = 719468 + 146097 * kEras, kYears = 400 * kEras;
  const auto n = static_cast<std::uint32_t>(days + kDays);  // days since 0000-03-01, moved
  const std::uint32_t n1 = 4 * n + 3;
  const std::uint32_t century = n1 / 146097;
  const std::uint32_t n2 = n1 % 146097 / 4 * 4 + 3;
  const std::uint64_t p2 = std::uint64_t{2939745} * n2;
  const auto year_of_century = static_cast<std::uint32_t>(p2 >> 32);
  const std::uint32_t day_of_year = static_cast<std::uint32_t>(p2) / 2939745 / 4;  // 0 = Mar 1
  const std::uint32_t n3 = 2141 * day_of_year + 197913;
  const std::uint32_t month = n3 >> 16, day_of_month = (n3 & 0xFFFF) / 2141;  // month 3..14
  const std::uint32_t january_or_february = day_of_year >= 306 ? 1 : 0;
  return {std::int64_t{100 * century + year_of_century + january_or_february} - kYears,
          static_cast<int>(month - 12 * january_or_february), static_cast<int>(day_of_month + 1)};
}

static_assert(days_from_civil(1970, 1, 1) == 0);
static_assert(days_from_civil(2000, 3, 1) == 11017);
static_assert(days_from_civil(Date::kFirstYear, 1, 1) == Date::first().days_since_epoch());
static_assert(days_from_civil(Date::kLastYear, 12, 31) == Date::last().days_since_epoch());
static_assert(civil_from_days(-1).year == 1969 && civil_from_days(-1).month == 12 &&
              civil_from_days(-1).day == 31);
static_assert(civil_from_days(Date::first().days_since_epoch()).year == Date::kFirstYear &&
              civil_from_days(Date::first().days_since_epoch()).month == 1 &&
              civil_from_days(Date::first().days_since_epoch()).day == 1);
static_assert(civil_from_days(Date::last().days_since_epoch()).year == Date::kLastYear &&
              civil_from_days(Date::last().days_since_epoch()).month == 12 &&
              civil_from_days(Date::last().days_since_epoch()).day == 31);
static_assert(civil_from_days(11016).month == 2 && civil_from_days(11016).day == 29);  // 2000

// Text from outside, safe to repeat in a message: printable ASCII only (the
// message may go into JSON or a log), and not too long.
std::string shown(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 24)) {
    const auto u = static_cast<unsigned char>(c);
    out += u >= 0x20 && u < 0x7F ? c : '?';
  }
  return text.size() > 24 ? out + "..." : out;
}

bool all_digits(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

int number(std::string_view digits) {
  int n = 0;
  for (char c : digits) n = n * 10 + (c - '0');
  return n;
}

std::string two_digits(int n) {
  char buffer[4];
  std::snprintf(buffer, sizeof buffer, "%02d", n);
  return buffer;
}

std::string ymd_text(int year, int month, int day) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02d", year, month, day);
  return buffer;
}

// Why year-month-day is no date, or an empty string when it is one.
std::string impossibility(int year, int month, int day) {
  const std::string text = ymd_text(year, month, day);
  if (year < Date::kFirstYear || year > Date::kLastYear)
    return "date " + text + " out of range: the year must be " + std::to_string(Date::kFirstYear) +
           ".." + std::to_string(Date::kLastYear);
  if (month < 1 || month > 12) return "impossible date " + text + ": the month must be 01..12";
  const int last = days_in_month(year, month);
  if (day < 1 || day > last)
    return "impossible date " + text + ": " + std::string(kMonthNames[month - 1]) + " " +
           std::to_string(year) + " has " + std::to_string(last) + " days";
  return {};
}

}  // namespace

std::string_view to_string(Weekday weekday) {
  return kWeekdayNames[static_cast<std::size_t>(weekday) - 1];
}

Result<Weekday, std::string> parse_weekday(std::string_view text) {
  for (std::size_t i = 0; i < kWeekdayNames.size(); ++i)
    if (text == kWeekdayNames[i]) return static_cast<Weekday>(i + 1);
  return unexpected("unknown weekday \"" + shown(text) + "\": expected monday ... sunday");
}

bool is_leap_year(int year) {
  return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
}

int days_in_month(int year, int month) {
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap_year(year) ? 29 : kDays[static_cast<std::size_t>(month) - 1];
}

Result<Date, std::string> Date::parse(std::string_view text) {
  const bool shaped = text.size() == 10 && text[4] == '-' && text[7] == '-' &&
                      all_digits(text.substr(0, 4)) && all_digits(text.substr(5, 2)) &&
                      all_digits(text.substr(8, 2));
  if (!shaped) return unexpected("not a date \"" + shown(text) + "\": expected YYYY-MM-DD");
  return from_ymd(number(text.substr(0, 4)), number(text.substr(5, 2)), number(text.substr(8, 2)));
}

Result<Date, std::string> Date::from_ymd(int year, int month, int day) {
  if (std::string why = impossibility(year, month, day); !why.empty()) return unexpected(why);
  return Date(static_cast<std::int32_t>(days_from_civil(year, month, day)));
}

Result<Date, std::string> Date::from_days_since_epoch(std::int64_t days) {
  if (days < kFirstDay || days > kLastDay)
    return unexpected("day " + std::to_string(days) + " since 1970-01-01 is outside " +
                      first().to_string() + ".." + last().to_string());
  return Date(static_cast<std::int32_t>(days));
}

int Date::year() const {
  return static_cast<int>(civil_from_days(days_).year);
}
int Date::month() const {
  return civil_from_days(days_).month;
}
int Date::day() const {
  return civil_from_days(days_).day;
}

Weekday Date::weekday() const {
  // 1970-01-01 was a Thursday (ISO 4); the double modulo keeps earlier days positive.
  const std::int64_t from_monday = ((days_ % 7) + 7 + 3) % 7;
  return static_cast<Weekday>(from_monday + 1);
}

char* Date::write(char* out) const {
  const Civil c = civil_from_days(days_);
  // Digits right to left; every Date's year has exactly four.
  auto digits = [](int value, int width, char* at) {
    for (int i = width - 1; i >= 0; --i, value /= 10) at[i] = static_cast<char>('0' + value % 10);
  };
  digits(static_cast<int>(c.year), 4, out);
  out[4] = '-';
  digits(c.month, 2, out + 5);
  out[7] = '-';
  digits(c.day, 2, out + 8);
  return out + kTextSize;
}

std::string Date::to_string() const {
  std::string text(kTextSize, '-');
  write(text.data());
  return text;
}

Result<Date, std::string> Date::plus_days(std::int64_t days) const {
  // Bounded first, so that the sum cannot overflow whatever `days` is.
  if (days > kLastDay - days_ || days < kFirstDay - days_)
    return unexpected(to_string() + " plus " + std::to_string(days) + " days is outside " +
                      first().to_string() + ".." + last().to_string());
  return Date(static_cast<std::int32_t>(days_ + days));
}

std::ostream& operator<<(std::ostream& out, const Date& date) {
  return out << date.to_string();
}
std::ostream& operator<<(std::ostream& out, Weekday weekday) {
  return out << to_string(weekday);
}

Result<MonthDay, std::string> MonthDay::parse(std::string_view text) {
  const bool shaped = text.size() == 5 && text[2] == '-' && all_digits(text.substr(0, 2)) &&
                      all_digits(text.substr(3, 2));
  if (!shaped) return unexpected("not a month and day \"" + shown(text) + "\": expected MM-DD");
  const int month = number(text.substr(0, 2));
  const int day = number(text.substr(3, 2));
  if (month < 1 || month > 12)
    return unexpected("impossible month and day " + std::string(text) +
                      ": the month must be 01..12");
  // A leap year's month: 02-29 recurs, in leap years.
  const int last = days_in_month(2000, month);
  if (day < 1 || day > last)
    return unexpected("impossible month and day " + std::string(text) + ": " +
                      std::string(kMonthNames[month - 1]) + " has at most " + std::to_string(last) +
                      " days");
  return MonthDay{month, day};
}

std::string MonthDay::to_string() const {
  return two_digits(month) + "-" + two_digits(day);
}

}  // namespace juki::backend::calendar
