// Juki-net's operating calendar: the days on which the common operations run
// and their business hours (seed 000 chapter 4: the common hours are the same
// nationwide; Saturdays, Sundays, national holidays and 29 December to
// 3 January are outside them), and the deadline the CS must meet when it
// notifies a change upward (告示第334号 第6-6(1): 「翌運用日の業務開始までに」).
//
// The calendar is data, read from a JSON file (backend/calendar/README.md;
// japan.json is Japan's, made by make_japan_holidays.py). It covers a range
// of dates and answers only inside it: a day it does not cover is an error,
// never silently an operating day.
#pragma once

#include <array>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "backend/calendar/date.hpp"
#include "backend/calendar/japan_time.hpp"
#include "common/result.hpp"

namespace juki::backend::calendar {

struct CalendarError {
  enum class Kind {
    unreadable,         // the file cannot be read
    invalid_file,       // not a calendar file: the message names the field or entry
    out_of_range,       // a date the calendar does not cover
    not_operating_day,  // business hours asked of a day without them
  };
  Kind kind = Kind::invalid_file;
  std::string message;
};
std::string_view to_string(CalendarError::Kind kind);

struct Holiday {
  Date date;
  std::string name;  // as in the file: 成人の日, 振替休日, 国民の休日 ...
};

// Days closed every year from `from` to `to` inclusive; from 12-29 to 01-03
// runs across the new year.
struct AnnualClosure {
  MonthDay from;
  MonthDay to;
  std::string name;
  bool contains(const Date& date) const;
};

class OperatingCalendar {
 public:
  // A calendar file's text (the format is in backend/calendar/README.md).
  // Every error is invalid_file and names the field or entry, e.g.
  // "holidays[3].date: impossible date 2023-02-29: February 2023 has 28 days".
  static Result<OperatingCalendar, CalendarError> parse(std::string_view json_text);
  // parse() on a file's contents; the messages start with the file's path.
  static Result<OperatingCalendar, CalendarError> load(const std::filesystem::path& path);

  // The first and last days the calendar answers for.
  const Date& first_day() const { return first_day_; }
  const Date& last_day() const { return last_day_; }
  // The common business hours in Japan time, the same on every operating day.
  ClockTime business_start_time() const { return business_start_; }
  ClockTime business_end_time() const { return business_end_; }
  bool is_weekend(Weekday weekday) const;
  const std::vector<AnnualClosure>& annual_closures() const { return closures_; }
  std::vector<Holiday> holidays() const;  // in date order
  std::optional<std::string> holiday_name(const Date& date) const;

  // Why `date` has no common operations ("holiday 成人の日", "annual closure
  // 年末年始 (12-29..01-03)", "weekend (saturday)"), or nullopt when it has
  // them. A holiday is named before a closure, a closure before the weekend.
  Result<std::optional<std::string>, CalendarError> closed_because(const Date& date) const;
  Result<bool, CalendarError> is_operating_day(const Date& date) const;
  // The first operating day strictly after `date`. Fails when `date` is not
  // covered or no operating day follows it within the calendar.
  Result<Date, CalendarError> next_operating_day(const Date& date) const;

  // The instants at which business starts and ends on an operating day
  // (not_operating_day on any other day).
  Result<UtcTime, CalendarError> business_start(const Date& date) const;
  Result<UtcTime, CalendarError> business_end(const Date& date) const;
  // Whether the instant lies in the common hours: on an operating day in
  // Japan, from the start (included) to the end (excluded).
  Result<bool, CalendarError> in_business_hours(UtcTime instant) const;

  // The deadline of an upward notification (第6-6(1) 「翌運用日の業務開始
  // までに」) for a change recorded at `recorded_at`: business start on the
  // first operating day strictly after the date in Japan on which it was
  // recorded. The date of recording counts as it is, operating or not, and
  // whatever the hour: a change recorded on an operating day, before or
  // after its hours, is due at the start of the next operating day; one
  // recorded on a Saturday, on the first operating day after it.
  Result<UtcTime, CalendarError> notification_deadline(UtcTime recorded_at) const;
  // True when the deadline of a change recorded at `recorded_at` is at most
  // `margin` after `now`, or already past: time to send, or to tell someone.
  Result<bool, CalendarError> at_risk(UtcTime recorded_at, UtcTime now,
                                      std::chrono::seconds margin) const;

 private:
  OperatingCalendar(Date first_day, Date last_day) : first_day_(first_day), last_day_(last_day) {}
  Result<void, CalendarError> check_covered(const Date& date) const;

  Date first_day_;
  Date last_day_;
  ClockTime business_start_{9, 0};
  ClockTime business_end_{17, 0};
  std::array<bool, 7> weekend_{};  // by ISO weekday - 1
  std::vector<AnnualClosure> closures_;
  std::map<Date, std::string> holidays_;
};

}  // namespace juki::backend::calendar
