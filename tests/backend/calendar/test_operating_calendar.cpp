// Juki-net's operating calendar (backend/calendar/operating_calendar.hpp):
// Japan's calendar file, operating days, the notification deadline, and the
// refusal of malformed calendar files.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "backend/calendar/operating_calendar.hpp"

using namespace juki::backend::calendar;
using namespace std::chrono_literals;
using Kind = CalendarError::Kind;

namespace {

Date date(std::string_view text) {
  auto d = Date::parse(text);
  INFO(std::string(text) + ": " + (d ? "" : d.error()));
  REQUIRE(d);
  return *d;
}

// backend/calendar/japan.json, as shipped (the path comes from CMake).
const OperatingCalendar& japan() {
  static const auto calendar = OperatingCalendar::load(JUKI_JAPAN_CALENDAR);
  INFO((calendar ? "" : calendar.error().message));
  REQUIRE(calendar);
  return *calendar;
}

bool operating(const Date& day) {
  auto r = japan().is_operating_day(day);
  INFO(day << ": " << (r ? "" : r.error().message));
  REQUIRE(r);
  return *r;
}

Date next_operating(std::string_view day) {
  auto r = japan().next_operating_day(date(day));
  INFO(std::string(day) + ": " + (r ? "" : r.error().message));
  REQUIRE(r);
  return *r;
}

// The deadline of a change recorded at a time in Japan, in Japan's time.
std::string deadline_of(std::string_view day, int hour, int minute, int second = 0) {
  auto r = japan().notification_deadline(at_jst(date(day), hour, minute, second));
  INFO(std::string(day) + ": " + (r ? "" : r.error().message));
  REQUIRE(r);
  return to_jst(*r)->to_string();
}

// A small valid calendar file, to be spoiled one field at a time.
nlohmann::json small_calendar() {
  return nlohmann::json::parse(R"({
    "format": "juki-operating-calendar/1",
    "covers": {"from": "2025-01-01", "to": "2026-12-31"},
    "business_hours": {"start": "09:00", "end": "17:00"},
    "weekend": ["saturday", "sunday"],
    "annual_closures": [{"from": "12-29", "to": "01-03", "name": "年末年始"}],
    "holidays": [{"date": "2025-01-13", "name": "成人の日"},
                 {"date": "2025-02-24", "name": "振替休日"},
                 {"date": "2026-01-12", "name": "成人の日"}]
  })");
}

// Why a calendar file is refused ("accepted" when it is not).
std::string refusal(std::string_view text) {
  auto r = OperatingCalendar::parse(text);
  if (r) return "accepted";
  CHECK(r.error().kind == Kind::invalid_file);
  return r.error().message;
}
std::string refusal_of(const nlohmann::json& file) {
  return refusal(file.dump());
}

}  // namespace

TEST_CASE("japan.json: its range, hours, weekend and year-end closure", "[req:E2][req:E5]") {
  const OperatingCalendar& c = japan();
  CHECK(c.first_day() == date("2020-01-01"));
  CHECK(c.last_day() == date("2035-12-31"));
  CHECK(c.business_start_time() == ClockTime{9, 0});
  CHECK(c.business_end_time() == ClockTime{17, 0});
  CHECK(c.is_weekend(Weekday::saturday));
  CHECK(c.is_weekend(Weekday::sunday));
  CHECK_FALSE(c.is_weekend(Weekday::friday));
  REQUIRE(c.annual_closures().size() == 1);
  CHECK(c.annual_closures()[0].from == MonthDay{12, 29});
  CHECK(c.annual_closures()[0].to == MonthDay{1, 3});
  const auto holidays = c.holidays();
  REQUIRE_FALSE(holidays.empty());
  CHECK(holidays.front().date == date("2020-01-01"));
  CHECK(holidays.back().date == date("2035-11-23"));
  // Every year has its New Year's Day and, from 2020, sixteen 国民の祝日;
  // 振替休日 and 国民の休日 come on top (five 振替休日 in 2024).
  for (int year = 2020; year <= 2035; ++year) {
    INFO(year);
    CHECK(c.holiday_name(*Date::from_ymd(year, 1, 1)) == "元日");
    const auto national = std::count_if(holidays.begin(), holidays.end(), [&](const Holiday& h) {
      return h.date.year() == year && h.name != "振替休日" && h.name != "国民の休日";
    });
    CHECK(national == 16);
  }
}

TEST_CASE("japan.json: known holidays, checked by hand against the law's rules", "[req:E5]") {
  struct Known {
    const char* date;
    const char* name;
  };
  for (const Known& k : {
           Known{"2025-01-13", "成人の日"},      // second Monday of January
           Known{"2025-02-24", "振替休日"},      // 天皇誕生日 02-23 was a Sunday
           Known{"2020-02-23", "天皇誕生日"},    // the Reiwa emperor's, from 2020
           Known{"2020-02-24", "振替休日"},      //
           Known{"2020-07-23", "海の日"},        // the 2020 Olympic moves
           Known{"2020-07-24", "スポーツの日"},  //
           Known{"2020-08-10", "山の日"},        //
           Known{"2021-07-22", "海の日"},        // and again in 2021
           Known{"2021-07-23", "スポーツの日"},  //
           Known{"2021-08-08", "山の日"},        // a Sunday:
           Known{"2021-08-09", "振替休日"},      //
           Known{"2024-09-23", "振替休日"},      // 秋分の日 09-22 was a Sunday
           Known{"2026-05-06", "振替休日"},  // 憲法記念日 05-03 is a Sunday; 04, 05 are holidays
           Known{"2026-09-21", "敬老の日"},      // third Monday of September
           Known{"2026-09-22", "国民の休日"},    // between 敬老の日 and 秋分の日
           Known{"2026-09-23", "秋分の日"},      //
           Known{"2030-03-20", "春分の日"},      //
           Known{"2032-09-21", "国民の休日"},    // 敬老の日 09-20, 秋分の日 09-22
           Known{"2035-09-23", "秋分の日"},      // a Sunday:
           Known{"2035-09-24", "振替休日"},      // the next day (敬老の日 was 09-17)
           Known{"2035-11-23", "勤労感謝の日"},  //
       }) {
    INFO(k.date);
    CHECK(japan().holiday_name(date(k.date)) == k.name);
    CHECK_FALSE(operating(date(k.date)));
  }
  // Days that are not (or no longer) holidays.
  for (const char* day : {
           "2020-12-23",  // the Heisei emperor's birthday, until 2018
           "2020-10-12",  // second Monday of October: スポーツの日 moved to 07-24 in 2020
           "2021-10-11",  // and to 07-23 in 2021
           "2021-08-11",  // 山の日 moved to 08-08 in 2021
           "2021-07-19",  // third Monday of July: 海の日 moved to 07-22
           "2025-09-16",  // 敬老の日 09-15, 秋分の日 09-23: nothing sandwiched
       }) {
    INFO(day);
    CHECK_FALSE(japan().holiday_name(date(day)));
    CHECK(operating(date(day)));
  }
}

TEST_CASE("operating days: weekdays, not weekends, holidays or 12-29..01-03", "[req:E5]") {
  CHECK(operating(date("2026-12-07")));        // Monday
  CHECK(operating(date("2026-12-25")));        // Friday
  CHECK(operating(date("2026-12-28")));        // Monday, the last before the closure
  CHECK_FALSE(operating(date("2026-12-29")));  // Tuesday, closed
  CHECK_FALSE(operating(date("2026-12-31")));
  CHECK_FALSE(operating(date("2027-01-01")));
  CHECK_FALSE(operating(date("2027-01-03")));
  CHECK(operating(date("2027-01-04")));        // Monday, the first after it
  CHECK_FALSE(operating(date("2026-12-05")));  // Saturday
  CHECK_FALSE(operating(date("2026-12-06")));  // Sunday
  CHECK_FALSE(operating(date("2026-04-29")));  // 昭和の日

  auto why = [](std::string_view day) {
    auto r = japan().closed_because(date(day));
    REQUIRE(r);
    return r->value_or("operating");
  };
  CHECK(why("2026-12-07") == "operating");
  CHECK(why("2026-12-05") == "weekend (saturday)");
  CHECK(why("2026-12-30") == "annual closure 年末年始 (12-29..01-03)");
  CHECK(why("2027-01-01") == "holiday 元日");  // a holiday is named first
  CHECK(why("2025-01-13") == "holiday 成人の日");
}

TEST_CASE("next operating day: strictly after, across weekends, Golden Week and the year end",
          "[req:E5]") {
  CHECK(next_operating("2026-12-07") == date("2026-12-08"));  // Monday -> Tuesday
  CHECK(next_operating("2026-12-04") == date("2026-12-07"));  // Friday -> Monday
  CHECK(next_operating("2026-12-05") == date("2026-12-07"));  // Saturday -> Monday
  CHECK(next_operating("2026-12-25") == date("2026-12-28"));  // Friday -> Monday
  CHECK(next_operating("2026-12-28") == date("2027-01-04"));  // across 12-29..01-03
  CHECK(next_operating("2026-12-31") == date("2027-01-04"));
  CHECK(next_operating("2025-12-26") == date("2026-01-05"));  // 01-03 Sat, 01-04 Sun
  // Golden Week 2026: 04-29 Wed 昭和の日; 05-02 Sat to 05-06 Wed 振替休日.
  CHECK(next_operating("2026-04-28") == date("2026-04-30"));
  CHECK(next_operating("2026-04-30") == date("2026-05-01"));
  CHECK(next_operating("2026-05-01") == date("2026-05-07"));
  CHECK(next_operating("2026-05-03") == date("2026-05-07"));
  // Silver week 2026: 09-19 Sat to 09-23 Wed 秋分の日.
  CHECK(next_operating("2026-09-18") == date("2026-09-24"));
  // The last day covered with an operating day after it.
  CHECK(next_operating("2035-12-27") == date("2035-12-28"));
}

TEST_CASE("business hours: 09:00 to 17:00 in Japan on operating days only", "[req:E2]") {
  const OperatingCalendar& c = japan();
  // 09:00 JST is 00:00 UTC.
  auto start = c.business_start(date("2026-12-07"));
  REQUIRE(start);
  CHECK(*start == at_utc(date("2026-12-07"), 0, 0));
  auto end = c.business_end(date("2026-12-07"));
  REQUIRE(end);
  CHECK(*end == at_utc(date("2026-12-07"), 8, 0));
  auto saturday = c.business_start(date("2026-12-05"));
  REQUIRE_FALSE(saturday);
  CHECK(saturday.error().kind == Kind::not_operating_day);
  CHECK(saturday.error().message == "2026-12-05 is not an operating day: weekend (saturday)");
  CHECK_FALSE(c.business_end(date("2026-12-30")));

  auto open = [&](std::string_view day, int h, int m, int s = 0) {
    auto r = c.in_business_hours(at_jst(date(day), h, m, s));
    REQUIRE(r);
    return *r;
  };
  CHECK_FALSE(open("2026-12-07", 8, 59, 59));
  CHECK(open("2026-12-07", 9, 0));
  CHECK(open("2026-12-07", 16, 59, 59));
  CHECK_FALSE(open("2026-12-07", 17, 0));
  CHECK_FALSE(open("2026-12-05", 12, 0));  // Saturday
  CHECK_FALSE(open("2026-12-29", 12, 0));  // the year-end closure
}

TEST_CASE("notification deadline: business start on the next operating day (翌運用日の業務開始)",
          "[req:B1]") {
  // Friday afternoon -> Monday 09:00.
  CHECK(deadline_of("2026-12-25", 15, 0) == "2026-12-28T09:00:00+09:00");
  // Monday before the closure -> the first operating day of the new year.
  CHECK(deadline_of("2026-12-28", 10, 0) == "2027-01-04T09:00:00+09:00");
  // During the closure and on a holiday: the next operating day all the same.
  CHECK(deadline_of("2026-12-30", 11, 0) == "2027-01-04T09:00:00+09:00");
  CHECK(deadline_of("2025-01-13", 11, 0) == "2025-01-14T09:00:00+09:00");
  // Before business starts on an operating day: still the next day's start.
  CHECK(deadline_of("2026-12-08", 8, 0) == "2026-12-09T09:00:00+09:00");
  // On a Saturday: Monday.
  CHECK(deadline_of("2026-12-05", 10, 0) == "2026-12-07T09:00:00+09:00");
  // The last second of Friday and the first of Saturday: both Monday.
  CHECK(deadline_of("2026-12-04", 23, 59, 59) == "2026-12-07T09:00:00+09:00");
  CHECK(deadline_of("2026-12-05", 0, 0, 0) == "2026-12-07T09:00:00+09:00");
  // Golden Week and Silver Week.
  CHECK(deadline_of("2026-05-01", 16, 0) == "2026-05-07T09:00:00+09:00");
  CHECK(deadline_of("2026-09-18", 16, 0) == "2026-09-24T09:00:00+09:00");
  // The deadline itself is UTC: 09:00 JST is midnight UTC.
  auto r = japan().notification_deadline(at_jst(date("2026-12-25"), 15, 0));
  REQUIRE(r);
  CHECK(*r == at_utc(date("2026-12-28"), 0, 0));
}

TEST_CASE("notification deadline: the day of recording is the date in Japan, not in UTC",
          "[req:B1]") {
  // 14:30 UTC on Monday 12-07 is 23:30 JST on 12-07: due Tuesday 12-08.
  auto late = japan().notification_deadline(at_utc(date("2026-12-07"), 14, 30));
  REQUIRE(late);
  CHECK(to_jst(*late)->to_string() == "2026-12-08T09:00:00+09:00");
  // 15:30 UTC on 12-07 is 00:30 JST on Tuesday 12-08: due Wednesday 12-09.
  auto early = japan().notification_deadline(at_utc(date("2026-12-07"), 15, 30));
  REQUIRE(early);
  CHECK(to_jst(*early)->to_string() == "2026-12-09T09:00:00+09:00");
}

TEST_CASE("at_risk: the deadline within the margin of now, or past") {
  const OperatingCalendar& c = japan();
  const UtcTime recorded = at_jst(date("2026-12-25"), 15, 0);
  const UtcTime deadline = at_jst(date("2026-12-28"), 9, 0);
  auto risk = [&](UtcTime now, std::chrono::seconds margin) {
    auto r = c.at_risk(recorded, now, margin);
    REQUIRE(r);
    return *r;
  };
  CHECK_FALSE(risk(deadline - 2h, 1h));
  CHECK(risk(deadline - 2h, 2h));  // exactly the margin away
  CHECK(risk(deadline - 1h, 2h));
  CHECK_FALSE(risk(deadline - 1s, 0s));
  CHECK(risk(deadline, 0s));
  CHECK(risk(deadline + 1h, 0s));  // past
  CHECK(risk(recorded, 3 * 24h));  // Friday 15:00 to Monday 09:00 is 66 hours
  CHECK_FALSE(risk(recorded, 65h));
}

TEST_CASE("the calendar answers only for the days it covers") {
  const OperatingCalendar& c = japan();
  auto before = c.is_operating_day(date("2019-12-31"));
  REQUIRE_FALSE(before);
  CHECK(before.error().kind == Kind::out_of_range);
  CHECK(before.error().message ==
        "2019-12-31 is outside the calendar, which covers 2020-01-01..2035-12-31");
  auto after = c.is_operating_day(date("2036-01-07"));
  REQUIRE_FALSE(after);
  CHECK(after.error().kind == Kind::out_of_range);
  CHECK(c.is_operating_day(date("2020-01-01")));
  CHECK(c.is_operating_day(date("2035-12-31")));
  CHECK_FALSE(c.closed_because(date("2036-01-01")));
  CHECK_FALSE(c.next_operating_day(date("2019-12-27")));
  CHECK_FALSE(c.business_start(date("2036-01-07")));
  // The last operating day covered has no next one inside the calendar.
  auto last = c.next_operating_day(date("2035-12-28"));
  REQUIRE_FALSE(last);
  CHECK(last.error().kind == Kind::out_of_range);
  CHECK(last.error().message ==
        "no operating day after 2035-12-28 within the calendar, which ends on 2035-12-31");
  auto deadline = c.notification_deadline(at_jst(date("2035-12-28"), 10, 0));
  REQUIRE_FALSE(deadline);
  CHECK(deadline.error().kind == Kind::out_of_range);
  CHECK_FALSE(c.at_risk(at_jst(date("2036-03-02"), 10, 0), at_jst(date("2036-03-02"), 11, 0), 1h));
  CHECK_FALSE(c.notification_deadline(UtcTime::max()));
}

TEST_CASE("a calendar of other hours, weekend and closures is read as data", "[req:E3]") {
  nlohmann::json file = small_calendar();
  file["business_hours"] = {{"start", "08:30"}, {"end", "17:15"}};
  file["weekend"] = {"sunday"};
  file["annual_closures"] = {{{"from", "08-13"}, {"to", "08-15"}, {"name", "お盆"}}};
  file["description"] = "a test calendar";
  auto c = OperatingCalendar::parse(file.dump());
  INFO((c ? "" : c.error().message));
  REQUIRE(c);
  CHECK(*c->is_operating_day(date("2026-12-05")));        // Saturday works here
  CHECK_FALSE(*c->is_operating_day(date("2026-12-06")));  // Sunday does not
  CHECK(*c->is_operating_day(date("2026-12-29")));        // no year-end closure
  CHECK_FALSE(*c->is_operating_day(date("2026-08-14")));
  CHECK(*c->is_operating_day(date("2026-08-12")));
  CHECK(*c->is_operating_day(date("2026-08-17")));  // Monday
  CHECK(*c->next_operating_day(date("2026-08-12")) == date("2026-08-17"));
  // Friday 08-07 -> Saturday 08-08 at 08:30.
  auto due = c->notification_deadline(at_jst(date("2026-08-07"), 16, 0));
  REQUIRE(due);
  CHECK(to_jst(*due)->to_string() == "2026-08-08T08:30:00+09:00");
  CHECK(*c->business_end(date("2026-08-07")) == at_jst(date("2026-08-07"), 17, 15));
  CHECK(c->holidays().size() == 3);

  // No closures and no weekend at all: every day but the holidays.
  file["annual_closures"] = nlohmann::json::array();
  file["weekend"] = nlohmann::json::array();
  auto every_day = OperatingCalendar::parse(file.dump());
  REQUIRE(every_day);
  CHECK(*every_day->is_operating_day(date("2026-12-06")));
  CHECK_FALSE(*every_day->is_operating_day(date("2026-01-12")));
}

TEST_CASE("malformed calendar files are refused with the field or entry named") {
  CHECK(refusal("").starts_with("not JSON: parse error at line 1, column 1:"));
  CHECK(refusal("{").starts_with("not JSON: "));
  CHECK(refusal("{\"format\": \"\xff\"}").starts_with("not JSON: "));  // not UTF-8
  CHECK(refusal("[]") == "must be an object, not an array");
  CHECK(refusal(small_calendar().dump() + "x").starts_with("not JSON: "));

  auto spoiled = [](auto change) {
    nlohmann::json file = small_calendar();
    change(file);
    return refusal_of(file);
  };
  using J = nlohmann::json;
  CHECK(spoiled([](J&) {}) == "accepted");
  CHECK(spoiled([](J& f) { f.erase("format"); }) == "missing \"format\"");
  CHECK(spoiled([](J& f) { f["format"] = "juki-operating-calendar/2"; }) ==
        "format: \"juki-operating-calendar/2\" is not \"juki-operating-calendar/1\"");
  CHECK(spoiled([](J& f) { f["format"] = 1; }) == "format: must be a string, not a number");
  CHECK(spoiled([](J& f) { f["weekends"] = J::array(); }) ==
        "unknown field \"weekends\" (the fields are format, description, covers, "
        "business_hours, weekend, annual_closures, holidays)");
  CHECK(spoiled([](J& f) { f["description"] = J::object(); }) ==
        "description: must be a string, not an object");

  // covers
  CHECK(spoiled([](J& f) { f.erase("covers"); }) == "missing \"covers\"");
  CHECK(spoiled([](J& f) { f["covers"] = "2025"; }) == "covers: must be an object, not a string");
  CHECK(spoiled([](J& f) { f["covers"]["to"] = "2024-12-31"; }) ==
        "covers: to 2024-12-31 is before from 2025-01-01");
  CHECK(spoiled([](J& f) { f["covers"]["from"] = "2025-02-29"; }) ==
        "covers.from: impossible date 2025-02-29: February 2025 has 28 days");
  CHECK(spoiled([](J& f) { f["covers"]["until"] = "2026-12-31"; }) ==
        "covers: unknown field \"until\" (the fields are from, to)");

  // business_hours
  CHECK(spoiled([](J& f) { f["business_hours"]["end"] = "08:00"; }) ==
        "business_hours: end 08:00 is not after start 09:00");
  CHECK(spoiled([](J& f) { f["business_hours"]["end"] = "09:00"; }) ==
        "business_hours: end 09:00 is not after start 09:00");
  CHECK(spoiled([](J& f) { f["business_hours"]["start"] = "9:00"; }) ==
        "business_hours.start: not a time of day \"9:00\": expected HH:MM");
  CHECK(spoiled([](J& f) { f["business_hours"].erase("end"); }) ==
        "business_hours: missing \"end\"");

  // weekend
  CHECK(spoiled([](J& f) { f["weekend"] = "saturday"; }) ==
        "weekend: must be an array, not a string");
  CHECK(spoiled([](J& f) {
          f["weekend"] = {"saturday", "Sunday"};
        }) == "weekend[1]: unknown weekday \"Sunday\": expected monday ... sunday");
  CHECK(spoiled([](J& f) {
          f["weekend"] = {"saturday", "saturday"};
        }) == "weekend[1]: saturday is listed twice");
  CHECK(spoiled([](J& f) { f["weekend"] = {6}; }) == "weekend[0]: must be a string, not a number");
  CHECK(spoiled([](J& f) {
          f["weekend"] = {"monday", "tuesday",  "wednesday", "thursday",
                          "friday", "saturday", "sunday"};
        }) == "weekend: all seven days; the calendar would have no operating day");

  // annual_closures
  CHECK(spoiled([](J& f) { f["annual_closures"][0]["to"] = "02-30"; }) ==
        "annual_closures[0].to: impossible month and day 02-30: February has at most 29 days");
  CHECK(spoiled([](J& f) { f["annual_closures"][0].erase("name"); }) ==
        "annual_closures[0]: missing \"name\"");
  CHECK(spoiled([](J& f) { f["annual_closures"][0]["name"] = ""; }) ==
        "annual_closures[0].name: must not be empty");

  // holidays
  CHECK(spoiled([](J& f) { f["holidays"][1]["date"] = "2023-02-29"; }) ==
        "holidays[1].date: impossible date 2023-02-29: February 2023 has 28 days");
  CHECK(spoiled([](J& f) { f["holidays"][1]["date"] = "2025/02/24"; }) ==
        "holidays[1].date: not a date \"2025/02/24\": expected YYYY-MM-DD");
  CHECK(spoiled([](J& f) { f["holidays"][2]["date"] = "2025-01-13"; }) ==
        "holidays[2].date: duplicate date 2025-01-13, also holidays[0]");
  CHECK(spoiled([](J& f) { f["holidays"][2]["date"] = "2027-01-11"; }) ==
        "holidays[2].date: 2027-01-11 is outside covers 2025-01-01..2026-12-31");
  CHECK(spoiled([](J& f) { f["holidays"][0]["kind"] = "national"; }) ==
        "holidays[0]: unknown field \"kind\" (the fields are date, name)");
  CHECK(spoiled([](J& f) { f["holidays"][0]["name"] = 1; }) ==
        "holidays[0].name: must be a string, not a number");
  CHECK(spoiled([](J& f) { f["holidays"][0]["name"] = "a\tb"; }) ==
        "holidays[0].name: holds a control character");
  CHECK(spoiled([](J& f) { f["holidays"][0].erase("date"); }) == "holidays[0]: missing \"date\"");
  CHECK(spoiled([](J& f) { f["holidays"][0] = "2025-01-13"; }) ==
        "holidays[0]: must be an object, not a string");
  CHECK(spoiled([](J& f) { f["holidays"] = J::object(); }) ==
        "holidays: must be an array, not an object");

  // A field twice in one object: JSON parsers would keep one silently.
  const std::string twice = R"({"format": "juki-operating-calendar/1",
    "covers": {"from": "2025-01-01", "to": "2025-12-31", "to": "2026-12-31"},
    "business_hours": {"start": "09:00", "end": "17:00"}, "weekend": [],
    "annual_closures": [], "holidays": []})";
  CHECK(refusal(twice) == "field \"to\" appears twice in one object: give each field once");
}

TEST_CASE("load: a file's path in its errors, and a missing file is unreadable") {
  const auto dir = std::filesystem::temp_directory_path() / "juki_test_calendar";
  std::filesystem::create_directories(dir);
  const auto bad = dir / "bad.json";
  {
    nlohmann::json file = small_calendar();
    file["holidays"][0]["date"] = "2026-04-31";
    std::ofstream(bad) << file.dump();
  }
  auto r = OperatingCalendar::load(bad);
  REQUIRE_FALSE(r);
  CHECK(r.error().kind == Kind::invalid_file);
  CHECK(r.error().message ==
        bad.string() + ": holidays[0].date: impossible date 2026-04-31: April 2026 has 30 days");
  auto missing = OperatingCalendar::load(dir / "missing.json");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().kind == Kind::unreadable);
  CHECK(missing.error().message == (dir / "missing.json").string() + ": cannot be read");
  auto directory = OperatingCalendar::load(dir);
  REQUIRE_FALSE(directory);
  std::filesystem::remove_all(dir);
}
