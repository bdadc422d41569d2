// Civil dates (the proleptic Gregorian calendar) for Juki-net's servers: the
// days of the operating calendar, change dates, deadlines. A Date is a value;
// one that exists is always a real day between 1868-01-01 and 9999-12-31.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace juki::backend::calendar {

// ISO 8601 numbering: Monday 1 ... Sunday 7.
enum class Weekday : std::uint8_t {
  monday = 1,
  tuesday,
  wednesday,
  thursday,
  friday,
  saturday,
  sunday
};
std::string_view to_string(Weekday weekday);  // "monday" ... "sunday", as in calendar files
Result<Weekday, std::string> parse_weekday(std::string_view text);

bool is_leap_year(int year);
int days_in_month(int year, int month);  // month 1..12

class Date {
 public:
  // 1868: the first year of Meiji, when Japan's modern registers begin; 9999:
  // the last year of four digits. Nothing Juki-net keeps lies outside.
  static constexpr int kFirstYear = 1868;
  static constexpr int kLastYear = 9999;

  // Exactly "YYYY-MM-DD": four, two and two digits, nothing before or after.
  // The error says what is wrong, e.g. "impossible date 2023-02-29: February
  // 2023 has 28 days".
  static Result<Date, std::string> parse(std::string_view text);
  static Result<Date, std::string> from_ymd(int year, int month, int day);
  // Days since 1970-01-01 (the Unix and std::chrono::sys_days epoch); fails
  // outside kFirstYear..kLastYear.
  static Result<Date, std::string> from_days_since_epoch(std::int64_t days);
  static constexpr Date first() { return Date(kFirstDay); }  // 1868-01-01
  static constexpr Date last() { return Date(kLastDay); }    // 9999-12-31

  int year() const;
  int month() const;  // 1..12
  int day() const;    // 1..31
  constexpr std::int64_t days_since_epoch() const { return days_; }
  Weekday weekday() const;
  std::string to_string() const;  // "YYYY-MM-DD"
  // The same text written at `out`, exactly kTextSize characters and no
  // terminator; returns out + kTextSize. No allocation: for writers of
  // millions of dates (backend/population's JSON Lines).
  static constexpr std::size_t kTextSize = 10;
  char* write(char* out) const;

  // `days` later (earlier when negative); fails past first() or last().
  Result<Date, std::string> plus_days(std::int64_t days) const;

  friend auto operator<=>(const Date&, const Date&) = default;
  friend bool operator==(const Date&, const Date&) = default;

 private:
  static constexpr std::int32_t kFirstDay = -37255;  // 1868-01-01
  static constexpr std::int32_t kLastDay = 2932896;  // 9999-12-31
  constexpr explicit Date(std::int32_t days) : days_(days) {}

  // Days rather than fields: comparing and adding are then arithmetic, and
  // every Date is a real day by construction.
  std::int32_t days_;
};

std::ostream& operator<<(std::ostream& out, const Date& date);  // YYYY-MM-DD
std::ostream& operator<<(std::ostream& out, Weekday weekday);

// A month and day that recurs every year, "MM-DD" (an annual closure's ends).
// 02-29 is allowed: in a common year it matches no day.
struct MonthDay {
  int month = 1;
  int day = 1;

  static Result<MonthDay, std::string> parse(std::string_view text);
  static MonthDay of(const Date& date) { return {date.month(), date.day()}; }
  std::string to_string() const;  // "MM-DD"
  friend auto operator<=>(const MonthDay&, const MonthDay&) = default;
};

}  // namespace juki::backend::calendar
