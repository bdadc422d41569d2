#include "backend/calendar/operating_calendar.hpp"

#include <algorithm>
#include <fstream>
#include <initializer_list>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/strict_json.hpp"

namespace juki::backend::calendar {

namespace {

using nlohmann::json;

constexpr std::string_view kFormat = "juki-operating-calendar/1";

std::string shown(std::string_view text) {
  return printable(text, 40);
}

std::string_view kind_of(const json& value) {
  switch (value.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::object:
      return "an object";
    case json::value_t::array:
      return "an array";
    case json::value_t::string:
      return "a string";
    case json::value_t::boolean:
      return "true or false";
    case json::value_t::binary:
      return "binary";
    case json::value_t::discarded:
      return "nothing";
    default:
      return "a number";
  }
}

std::string joined(std::initializer_list<std::string_view> names) {
  std::string out;
  for (std::string_view name : names) out += (out.empty() ? "" : ", ") + std::string(name);
  return out;
}

// "covers" + "from" -> "covers.from"; at the top level the field alone.
std::string field_path(const std::string& object, std::string_view field) {
  return object.empty() ? std::string(field) : object + "." + std::string(field);
}

// One JSON object of the file: its fields checked against those it may
// have, each read with its path in every message ("holidays[3].date: ...").
class Fields {
 public:
  Fields(const json& value, std::string path) : value_(value), path_(std::move(path)) {}

  // The object, and only the named fields in it.
  Result<void, std::string> only(std::initializer_list<std::string_view> known) const {
    if (!value_.is_object())
      return unexpected(where() + "must be an object, not " + std::string(kind_of(value_)));
    for (const auto& [key, ignored] : value_.items())
      if (std::find(known.begin(), known.end(), key) == known.end())
        return unexpected(where() + "unknown field \"" + shown(key) + "\" (the fields are " +
                          joined(known) + ")");
    return {};
  }

  Result<const json*, std::string> required(std::string_view field) const {
    const auto it = value_.find(field);
    if (it == value_.end()) return unexpected(where() + "missing \"" + std::string(field) + "\"");
    return &*it;
  }

  // A string field; with `name_like` a non-empty one without control characters.
  Result<std::string, std::string> text(std::string_view field, bool name_like = false) const {
    auto value = required(field);
    if (!value) return unexpected(value.error());
    if (!(*value)->is_string())
      return unexpected(path(field) + ": must be a string, not " + std::string(kind_of(**value)));
    std::string s = (*value)->get<std::string>();
    if (name_like && s.empty()) return unexpected(path(field) + ": must not be empty");
    if (name_like && std::any_of(s.begin(), s.end(), [](char c) {
          return static_cast<unsigned char>(c) < 0x20 || c == 0x7F;
        }))
      return unexpected(path(field) + ": holds a control character");
    return s;
  }

  // A field parsed by one of the value types' parse functions.
  template <class Parse>
  auto parsed(std::string_view field, Parse parse) const
      -> Result<std::decay_t<decltype(*parse(std::string_view()))>, std::string> {
    auto s = text(field);
    if (!s) return unexpected(s.error());
    auto v = parse(*s);
    if (!v) return unexpected(path(field) + ": " + v.error());
    return *v;
  }

  Result<const json*, std::string> array(std::string_view field) const {
    auto value = required(field);
    if (!value) return unexpected(value.error());
    if (!(*value)->is_array())
      return unexpected(path(field) + ": must be an array, not " + std::string(kind_of(**value)));
    return *value;
  }

  std::string path(std::string_view field) const { return field_path(path_, field); }

 private:
  std::string where() const { return path_.empty() ? std::string() : path_ + ": "; }

  const json& value_;
  std::string path_;
};

std::string indexed(std::string_view array, std::size_t i) {
  return std::string(array) + "[" + std::to_string(i) + "]";
}

Unexpected<CalendarError> invalid(std::string message) {
  return unexpected(CalendarError{CalendarError::Kind::invalid_file, std::move(message)});
}

}  // namespace

std::string_view to_string(CalendarError::Kind kind) {
  switch (kind) {
    case CalendarError::Kind::unreadable:
      return "unreadable";
    case CalendarError::Kind::invalid_file:
      return "invalid_file";
    case CalendarError::Kind::out_of_range:
      return "out_of_range";
    case CalendarError::Kind::not_operating_day:
      return "not_operating_day";
  }
  return "unknown";
}

bool AnnualClosure::contains(const Date& date) const {
  const MonthDay day = MonthDay::of(date);
  // from > to: the closure runs across the new year (12-29..01-03).
  return from <= to ? from <= day && day <= to : from <= day || day <= to;
}

Result<OperatingCalendar, CalendarError> OperatingCalendar::parse(std::string_view json_text) {
  // A calendar with two "holidays" lists is a mistake to refuse, not to guess at.
  auto parsed = parse_strict_json(json_text);
  if (!parsed)
    return invalid(parsed.error().duplicate.empty()
                       ? parsed.error().message
                       : parsed.error().message + ": give each field once");
  const json& file = *parsed;
  const Fields top(file, "");
  if (auto ok = top.only({"format", "description", "covers", "business_hours", "weekend",
                          "annual_closures", "holidays"});
      !ok)
    return invalid(ok.error());
  auto format = top.text("format");
  if (!format) return invalid(format.error());
  if (*format != kFormat)
    return invalid("format: \"" + shown(*format) + "\" is not \"" + std::string(kFormat) + "\"");
  if (file.contains("description"))
    if (auto description = top.text("description"); !description)
      return invalid(description.error());

  // covers: the range the calendar answers for.
  auto covers_value = top.required("covers");
  if (!covers_value) return invalid(covers_value.error());
  const Fields covers(**covers_value, "covers");
  if (auto ok = covers.only({"from", "to"}); !ok) return invalid(ok.error());
  auto from = covers.parsed("from", Date::parse);
  if (!from) return invalid(from.error());
  auto to = covers.parsed("to", Date::parse);
  if (!to) return invalid(to.error());
  if (*to < *from)
    return invalid("covers: to " + to->to_string() + " is before from " + from->to_string());
  OperatingCalendar calendar(*from, *to);

  auto hours_value = top.required("business_hours");
  if (!hours_value) return invalid(hours_value.error());
  const Fields hours(**hours_value, "business_hours");
  if (auto ok = hours.only({"start", "end"}); !ok) return invalid(ok.error());
  auto start = hours.parsed("start", ClockTime::parse);
  if (!start) return invalid(start.error());
  auto end = hours.parsed("end", ClockTime::parse);
  if (!end) return invalid(end.error());
  // Hours within one day: a deadline is a start on a date, never the day before.
  if (*end <= *start)
    return invalid("business_hours: end " + end->to_string() + " is not after start " +
                   start->to_string());
  calendar.business_start_ = *start;
  calendar.business_end_ = *end;

  auto weekend = top.array("weekend");
  if (!weekend) return invalid(weekend.error());
  for (std::size_t i = 0; i < (*weekend)->size(); ++i) {
    const json& entry = (**weekend)[i];
    if (!entry.is_string())
      return invalid(indexed("weekend", i) + ": must be a string, not " +
                     std::string(kind_of(entry)));
    auto day = parse_weekday(entry.get<std::string>());
    if (!day) return invalid(indexed("weekend", i) + ": " + day.error());
    bool& closed = calendar.weekend_[static_cast<std::size_t>(*day) - 1];
    if (closed)
      return invalid(indexed("weekend", i) + ": " + std::string(to_string(*day)) +
                     " is listed twice");
    closed = true;
  }
  if (std::all_of(calendar.weekend_.begin(), calendar.weekend_.end(), [](bool b) { return b; }))
    return invalid("weekend: all seven days; the calendar would have no operating day");

  auto closures = top.array("annual_closures");
  if (!closures) return invalid(closures.error());
  for (std::size_t i = 0; i < (*closures)->size(); ++i) {
    const Fields closure((**closures)[i], indexed("annual_closures", i));
    if (auto ok = closure.only({"from", "to", "name"}); !ok) return invalid(ok.error());
    auto first = closure.parsed("from", MonthDay::parse);
    if (!first) return invalid(first.error());
    auto last = closure.parsed("to", MonthDay::parse);
    if (!last) return invalid(last.error());
    auto name = closure.text("name", true);
    if (!name) return invalid(name.error());
    calendar.closures_.push_back({*first, *last, std::move(*name)});
  }

  auto holidays = top.array("holidays");
  if (!holidays) return invalid(holidays.error());
  std::map<Date, std::size_t> index_of;  // for the message on a duplicate
  for (std::size_t i = 0; i < (*holidays)->size(); ++i) {
    const std::string path = indexed("holidays", i);
    const Fields holiday((**holidays)[i], path);
    if (auto ok = holiday.only({"date", "name"}); !ok) return invalid(ok.error());
    auto date = holiday.parsed("date", Date::parse);
    if (!date) return invalid(date.error());
    auto name = holiday.text("name", true);
    if (!name) return invalid(name.error());
    if (*date < *from || *to < *date)
      return invalid(path + ".date: " + date->to_string() + " is outside covers " +
                     from->to_string() + ".." + to->to_string());
    if (const auto [it, added] = index_of.emplace(*date, i); !added)
      return invalid(path + ".date: duplicate date " + date->to_string() + ", also " +
                     indexed("holidays", it->second));
    calendar.holidays_.emplace(*date, std::move(*name));
  }
  return calendar;
}

Result<OperatingCalendar, CalendarError> OperatingCalendar::load(
    const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  if (in) text << in.rdbuf();
  if (!in || in.bad())
    return unexpected(
        CalendarError{CalendarError::Kind::unreadable, path.string() + ": cannot be read"});
  auto calendar = parse(text.str());
  if (!calendar)
    return unexpected(
        CalendarError{calendar.error().kind, path.string() + ": " + calendar.error().message});
  return calendar;
}

bool OperatingCalendar::is_weekend(Weekday weekday) const {
  return weekend_[static_cast<std::size_t>(weekday) - 1];
}

std::vector<Holiday> OperatingCalendar::holidays() const {
  std::vector<Holiday> out;
  for (const auto& [date, name] : holidays_) out.push_back({date, name});
  return out;
}

std::optional<std::string> OperatingCalendar::holiday_name(const Date& date) const {
  const auto it = holidays_.find(date);
  if (it == holidays_.end()) return std::nullopt;
  return it->second;
}

Result<void, CalendarError> OperatingCalendar::check_covered(const Date& date) const {
  if (date < first_day_ || last_day_ < date)
    return unexpected(CalendarError{CalendarError::Kind::out_of_range,
                                    date.to_string() + " is outside the calendar, which covers " +
                                        first_day_.to_string() + ".." + last_day_.to_string()});
  return {};
}

Result<std::optional<std::string>, CalendarError> OperatingCalendar::closed_because(
    const Date& date) const {
  if (auto covered = check_covered(date); !covered) return unexpected(covered.error());
  if (const auto it = holidays_.find(date); it != holidays_.end())
    return std::optional<std::string>("holiday " + it->second);
  for (const AnnualClosure& closure : closures_)
    if (closure.contains(date))
      return std::optional<std::string>("annual closure " + closure.name + " (" +
                                        closure.from.to_string() + ".." + closure.to.to_string() +
                                        ")");
  if (is_weekend(date.weekday()))
    return std::optional<std::string>("weekend (" + std::string(to_string(date.weekday())) + ")");
  return std::optional<std::string>();
}

Result<bool, CalendarError> OperatingCalendar::is_operating_day(const Date& date) const {
  auto closed = closed_because(date);
  if (!closed) return unexpected(closed.error());
  return !closed->has_value();
}

Result<Date, CalendarError> OperatingCalendar::next_operating_day(const Date& date) const {
  if (auto covered = check_covered(date); !covered) return unexpected(covered.error());
  // Bounded by the calendar's last day: past it nothing is known.
  for (Date day = date; day < last_day_;) {
    day = *day.plus_days(1);  // day < last_day_ <= Date::last()
    auto operating = is_operating_day(day);
    if (!operating) return unexpected(operating.error());
    if (*operating) return day;
  }
  return unexpected(CalendarError{CalendarError::Kind::out_of_range,
                                  "no operating day after " + date.to_string() +
                                      " within the calendar, which ends on " +
                                      last_day_.to_string()});
}

Result<UtcTime, CalendarError> OperatingCalendar::business_start(const Date& date) const {
  auto closed = closed_because(date);
  if (!closed) return unexpected(closed.error());
  if (*closed)
    return unexpected(CalendarError{CalendarError::Kind::not_operating_day,
                                    date.to_string() + " is not an operating day: " + **closed});
  return at_jst(date, business_start_);
}

Result<UtcTime, CalendarError> OperatingCalendar::business_end(const Date& date) const {
  auto start = business_start(date);
  if (!start) return unexpected(start.error());
  return at_jst(date, business_end_);
}

Result<bool, CalendarError> OperatingCalendar::in_business_hours(UtcTime instant) const {
  auto local = to_jst(instant);
  if (!local) return unexpected(CalendarError{CalendarError::Kind::out_of_range, local.error()});
  auto operating = is_operating_day(local->date);
  if (!operating) return unexpected(operating.error());
  const ClockTime now = local->clock_time();
  return *operating && business_start_ <= now && now < business_end_;
}

Result<UtcTime, CalendarError> OperatingCalendar::notification_deadline(UtcTime recorded_at) const {
  // The day of recording is the date in Japan, not in UTC: 23:30 JST on
  // 12-07 (14:30 UTC) belongs to 12-07, 00:30 JST on 12-08 (15:30 UTC on
  // 12-07) to 12-08.
  auto local = to_jst(recorded_at);
  if (!local) return unexpected(CalendarError{CalendarError::Kind::out_of_range, local.error()});
  auto next = next_operating_day(local->date);
  if (!next) return unexpected(next.error());
  return at_jst(*next, business_start_);
}

Result<bool, CalendarError> OperatingCalendar::at_risk(UtcTime recorded_at, UtcTime now,
                                                       std::chrono::seconds margin) const {
  auto deadline = notification_deadline(recorded_at);
  if (!deadline) return unexpected(deadline.error());
  return *deadline - now <= margin;
}

}  // namespace juki::backend::calendar
