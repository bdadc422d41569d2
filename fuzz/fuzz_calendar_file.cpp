// Fuzzes the operating calendar's file (backend/calendar/operating_calendar.hpp,
// backend/calendar/README.md), which an operator edits by hand: any bytes give
// a calendar or an invalid_file error, never a crash. The error's message is
// non-empty and can go into JSON (valid UTF-8); a calendar that loads keeps
// its own rules: a range, hours within a day, holidays inside the range and
// closed, and navigation that stays inside the range or says it cannot.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "backend/calendar/operating_calendar.hpp"

using namespace juki::backend::calendar;

namespace {
void require(bool ok) {
  if (!ok) __builtin_trap();
}

// A day's questions, answered consistently.
void check_day(const OperatingCalendar& c, const Date& day) {
  auto operating = c.is_operating_day(day);
  require(operating.ok());
  auto closed = c.closed_because(day);
  require(closed.ok() && closed->has_value() == !*operating);
  auto start = c.business_start(day);
  require(start.ok() == *operating);
  if (!start) require(start.error().kind == CalendarError::Kind::not_operating_day);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto calendar = OperatingCalendar::parse(text);
  if (!calendar) {
    require(calendar.error().kind == CalendarError::Kind::invalid_file);
    require(!calendar.error().message.empty());
    // Throws (and so fails) on invalid UTF-8.
    require(!nlohmann::json(calendar.error().message).dump().empty());
    return 0;
  }
  const OperatingCalendar& c = *calendar;
  require(c.first_day() <= c.last_day());
  require(c.business_start_time() < c.business_end_time());
  const auto holidays = c.holidays();
  for (std::size_t i = 0; i < holidays.size(); ++i) {
    const Holiday& h = holidays[i];
    require(c.first_day() <= h.date && h.date <= c.last_day());
    require(i == 0 || holidays[i - 1].date < h.date);
    require(!h.name.empty());
    require(c.is_operating_day(h.date).ok() && !*c.is_operating_day(h.date));
    require(c.holiday_name(h.date) == h.name);
  }
  // Outside the range: errors, never an answer.
  if (auto before = c.first_day().plus_days(-1)) {
    auto r = c.is_operating_day(*before);
    require(!r && r.error().kind == CalendarError::Kind::out_of_range);
  }
  check_day(c, c.first_day());
  check_day(c, c.last_day());

  // Navigation walks the range day by day; keep each input quick.
  if (c.last_day().days_since_epoch() - c.first_day().days_since_epoch() > 20000) return 0;
  auto next = c.next_operating_day(c.first_day());
  if (!next) {
    require(next.error().kind == CalendarError::Kind::out_of_range);
    return 0;
  }
  require(c.first_day() < *next && *next <= c.last_day());
  require(*c.is_operating_day(*next));
  // A change recorded on the first day is due when business starts on `next`.
  auto deadline = c.notification_deadline(at_jst(c.first_day(), 12, 0));
  require(deadline.ok() && *deadline == at_jst(*next, c.business_start_time()));
  auto risk = c.at_risk(at_jst(c.first_day(), 12, 0), *deadline, std::chrono::seconds(0));
  require(risk.ok() && *risk);
  auto open = c.in_business_hours(*deadline);
  require(open.ok() && *open);
  return 0;
}
