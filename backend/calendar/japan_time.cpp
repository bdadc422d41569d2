#include "backend/calendar/japan_time.hpp"

#include <cstdio>
#include <limits>
#include <ostream>

namespace juki::backend::calendar {

namespace {

constexpr std::int64_t kSecondsPerDay = 86400;

// Floor division: the instants before 1970 fall on the day they belong to.
std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  const std::int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

bool digit(char c) {
  return c >= '0' && c <= '9';
}

}  // namespace

Result<ClockTime, std::string> ClockTime::parse(std::string_view text) {
  const bool shaped = text.size() == 5 && digit(text[0]) && digit(text[1]) && text[2] == ':' &&
                      digit(text[3]) && digit(text[4]);
  if (!shaped) {
    std::string shown;
    for (char c : text.substr(0, 16)) {
      const auto u = static_cast<unsigned char>(c);
      shown += u >= 0x20 && u < 0x7F ? c : '?';
    }
    return unexpected("not a time of day \"" + shown + (text.size() > 16 ? "..." : "") +
                      "\": expected HH:MM");
  }
  const ClockTime time{(text[0] - '0') * 10 + (text[1] - '0'),
                       (text[3] - '0') * 10 + (text[4] - '0')};
  if (time.hour > 23 || time.minute > 59)
    return unexpected("impossible time of day " + std::string(text) + ": 00:00..23:59");
  return time;
}

std::string ClockTime::to_string() const {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "%02d:%02d", hour, minute);
  return buffer;
}

std::string JstDateTime::to_string() const {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "T%02d:%02d:%02d+09:00", hour, minute, second);
  return date.to_string() + buffer;
}

std::ostream& operator<<(std::ostream& out, const JstDateTime& time) {
  return out << time.to_string();
}

Result<JstDateTime, std::string> to_jst(UtcTime instant) {
  // Far beyond Date's range anyway; checked so that adding the offset cannot overflow.
  if (instant.time_since_epoch().count() > std::numeric_limits<std::int64_t>::max() / 2)
    return unexpected(std::string("the date in Japan: an instant far past 9999-12-31"));
  const std::int64_t seconds = instant.time_since_epoch().count() + kJstOffset.count();
  const std::int64_t days = floor_div(seconds, kSecondsPerDay);
  auto date = Date::from_days_since_epoch(days);
  if (!date) return unexpected("the date in Japan: " + date.error());
  const auto of_day = static_cast<int>(seconds - days * kSecondsPerDay);
  return JstDateTime{*date, of_day / 3600, of_day / 60 % 60, of_day % 60};
}

UtcTime at_utc(const Date& date, int hour, int minute, int second) {
  return UtcTime(std::chrono::seconds(date.days_since_epoch() * kSecondsPerDay + hour * 3600 +
                                      minute * 60 + second));
}

UtcTime at_jst(const Date& date, int hour, int minute, int second) {
  return at_utc(date, hour, minute, second) - kJstOffset;
}

}  // namespace juki::backend::calendar
