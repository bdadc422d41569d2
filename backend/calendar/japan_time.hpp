// Japan time for Juki-net's clocks. The servers keep instants in UTC; the
// rules (business hours, the day a change was recorded on) speak of Japan
// Standard Time, UTC+9 all year: Japan has no daylight saving time.
#pragma once

#include <chrono>
#include <compare>
#include <iosfwd>
#include <string>
#include <string_view>

#include "backend/calendar/date.hpp"
#include "common/result.hpp"

namespace juki::backend::calendar {

// An instant, to the second. From the system clock:
// std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()).
using UtcTime = std::chrono::sys_seconds;

inline constexpr std::chrono::seconds kJstOffset = std::chrono::hours(9);

// A time of day on the wall clock, "HH:MM" from 00:00 to 23:59 (business hours).
struct ClockTime {
  int hour = 0;
  int minute = 0;

  static Result<ClockTime, std::string> parse(std::string_view text);
  std::string to_string() const;  // "HH:MM"
  friend auto operator<=>(const ClockTime&, const ClockTime&) = default;
};

// A civil date and time in Japan.
struct JstDateTime {
  Date date;
  int hour = 0;    // 0..23
  int minute = 0;  // 0..59
  int second = 0;  // 0..59

  ClockTime clock_time() const { return {hour, minute}; }
  std::string to_string() const;  // ISO 8601 with the offset: "2026-12-25T15:00:00+09:00"
  friend bool operator==(const JstDateTime&, const JstDateTime&) = default;
};
std::ostream& operator<<(std::ostream& out, const JstDateTime& time);

// The date and time in Japan at an instant; fails when the date there is
// outside Date's range.
Result<JstDateTime, std::string> to_jst(UtcTime instant);

// The instant at which Japan's clocks show `date` and the time.
UtcTime at_jst(const Date& date, int hour, int minute, int second = 0);
inline UtcTime at_jst(const Date& date, ClockTime time) {
  return at_jst(date, time.hour, time.minute);
}
// The instant at which UTC's clocks show `date` and the time.
UtcTime at_utc(const Date& date, int hour, int minute, int second = 0);

}  // namespace juki::backend::calendar
