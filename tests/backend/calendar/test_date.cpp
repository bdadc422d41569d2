// Civil dates and Japan time (backend/calendar/date.hpp, japan_time.hpp).
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>

#include "backend/calendar/date.hpp"
#include "backend/calendar/japan_time.hpp"

using namespace juki::backend::calendar;

namespace {

Date date(std::string_view text) {
  auto d = Date::parse(text);
  INFO(std::string(text) + ": " + (d ? "" : d.error()));
  REQUIRE(d);
  return *d;
}

std::string refusal(std::string_view text) {
  auto d = Date::parse(text);
  if (d) return "accepted " + d->to_string();
  return d.error();
}

}  // namespace

TEST_CASE("Date::parse accepts real days in YYYY-MM-DD, leap days by the Gregorian rule") {
  CHECK(date("2024-02-29").to_string() == "2024-02-29");  // divisible by 4
  CHECK(date("2000-02-29").to_string() == "2000-02-29");  // by 400
  CHECK(date("2026-04-30").day() == 30);
  CHECK(date("2026-12-31").month() == 12);
  CHECK(date("1868-01-01") == Date::first());
  CHECK(date("9999-12-31") == Date::last());
  const Date d = date("2026-03-05");
  CHECK(d.year() == 2026);
  CHECK(d.month() == 3);
  CHECK(d.day() == 5);
}

TEST_CASE("Date::parse refuses impossible days and says why") {
  CHECK(refusal("2023-02-29") == "impossible date 2023-02-29: February 2023 has 28 days");
  CHECK(refusal("1900-02-29") == "impossible date 1900-02-29: February 1900 has 28 days");
  CHECK(refusal("2024-02-30") == "impossible date 2024-02-30: February 2024 has 29 days");
  CHECK(refusal("2026-04-31") == "impossible date 2026-04-31: April 2026 has 30 days");
  CHECK(refusal("2026-01-32") == "impossible date 2026-01-32: January 2026 has 31 days");
  CHECK(refusal("2026-01-00") == "impossible date 2026-01-00: January 2026 has 31 days");
  CHECK(refusal("2026-13-01") == "impossible date 2026-13-01: the month must be 01..12");
  CHECK(refusal("2026-00-10") == "impossible date 2026-00-10: the month must be 01..12");
}

TEST_CASE("Date::parse refuses years outside 1868..9999") {
  CHECK(refusal("1867-12-31") == "date 1867-12-31 out of range: the year must be 1868..9999");
  CHECK(refusal("0000-01-01") == "date 0000-01-01 out of range: the year must be 1868..9999");
  CHECK(refusal("10000-01-01") == "not a date \"10000-01-01\": expected YYYY-MM-DD");
  CHECK(Date::from_ymd(1868, 1, 1));
  CHECK_FALSE(Date::from_ymd(1867, 12, 31));
  CHECK_FALSE(Date::from_ymd(10000, 1, 1));
}

TEST_CASE("Date::parse takes exactly YYYY-MM-DD and nothing around it") {
  for (const char* text :
       {"", "2026", "2026-1-05", "2026-01-5", "26-01-05", " 2026-01-05", "2026-01-05 ",
        "2026-01-05\n", "2026/01/05", "20260105", "2026-01-05T00:00", "+026-01-05", "-026-01-05",
        "2026-0a-05", "2026-01--5", "2026_01_05", "２０２６-01-05"}) {
    INFO("\"" << text << "\"");
    auto d = Date::parse(text);
    REQUIRE_FALSE(d);
    CHECK(d.error().find("expected YYYY-MM-DD") != std::string::npos);
  }
  // A NUL inside is not the end of the text, and the message shows it safely.
  const std::string with_nul("2026-01-0\0", 10);
  CHECK(refusal(with_nul) == "not a date \"2026-01-0?\": expected YYYY-MM-DD");
}

TEST_CASE("Date: every day from 1868 to 9999 round-trips through days and text") {
  // std::chrono's civil calendar is the independent witness.
  using namespace std::chrono;
  const std::int64_t first = Date::first().days_since_epoch();
  const std::int64_t last = Date::last().days_since_epoch();
  CHECK(first == sys_days(year_month_day(year(1868), January, day(1))).time_since_epoch().count());
  CHECK(last == sys_days(year_month_day(year(9999), December, day(31))).time_since_epoch().count());
  std::int64_t mismatches = 0;
  for (std::int64_t n = first; n <= last; ++n) {
    const auto d = Date::from_days_since_epoch(n);
    const year_month_day witness{sys_days(days(n))};
    const bool same =
        d && d->days_since_epoch() == n && d->year() == static_cast<int>(witness.year()) &&
        d->month() == static_cast<int>(static_cast<unsigned>(witness.month())) &&
        d->day() == static_cast<int>(static_cast<unsigned>(witness.day())) &&
        static_cast<unsigned>(d->weekday()) == weekday(sys_days(days(n))).iso_encoding();
    if (!same) {
      if (++mismatches < 5) FAIL_CHECK("day " << n);
      continue;
    }
    // write() (and so to_string()) on every day: the witness's fields as text,
    // nothing past the ten characters touched.
    char text[Date::kTextSize + 1], expected[40];
    text[Date::kTextSize] = '#';
    std::snprintf(expected, sizeof expected, "%04d-%02u-%02u", static_cast<int>(witness.year()),
                  static_cast<unsigned>(witness.month()), static_cast<unsigned>(witness.day()));
    if (d->write(text) != text + Date::kTextSize || text[Date::kTextSize] != '#' ||
        std::string_view(text, Date::kTextSize) != expected) {
      if (++mismatches < 5) FAIL_CHECK("write of day " << n);
      continue;
    }
    // Text both ways, on a sample (every day would only repeat the same code).
    if (n % 97 == 0) {
      const auto again = Date::parse(d->to_string());
      if (!again || *again != *d) FAIL_CHECK("text of day " << n << ": " << d->to_string());
    }
  }
  CHECK(mismatches == 0);
  CHECK_FALSE(Date::from_days_since_epoch(first - 1));
  CHECK_FALSE(Date::from_days_since_epoch(last + 1));
}

TEST_CASE("Date: weekdays of known days") {
  CHECK(date("1970-01-01").weekday() == Weekday::thursday);
  CHECK(date("1969-12-31").weekday() == Weekday::wednesday);
  CHECK(date("1868-01-01").weekday() == Weekday::wednesday);
  CHECK(date("1900-01-01").weekday() == Weekday::monday);
  CHECK(date("2000-01-01").weekday() == Weekday::saturday);
  CHECK(date("2024-02-29").weekday() == Weekday::thursday);
  CHECK(date("2026-12-25").weekday() == Weekday::friday);
  CHECK(date("2027-01-04").weekday() == Weekday::monday);
  CHECK(date("2035-09-23").weekday() == Weekday::sunday);
  CHECK(date("9999-12-31").weekday() == Weekday::friday);
  CHECK(to_string(Weekday::saturday) == "saturday");
  CHECK(parse_weekday("sunday").ok());
  CHECK(*parse_weekday("sunday") == Weekday::sunday);
  CHECK_FALSE(parse_weekday("Sunday"));
  CHECK_FALSE(parse_weekday("sun"));
}

TEST_CASE("Date: comparison and adding days") {
  CHECK(date("2026-12-31") < date("2027-01-01"));
  CHECK(date("2027-01-01") > date("2026-12-31"));
  CHECK(date("2026-05-06") == date("2026-05-06"));
  CHECK(*date("2026-12-31").plus_days(1) == date("2027-01-01"));
  CHECK(*date("2024-02-28").plus_days(1) == date("2024-02-29"));
  CHECK(*date("2023-02-28").plus_days(1) == date("2023-03-01"));
  CHECK(*date("2027-01-01").plus_days(-1) == date("2026-12-31"));
  CHECK(*date("2026-01-01").plus_days(365) == date("2027-01-01"));
  CHECK(*date("2024-01-01").plus_days(366) == date("2025-01-01"));
  CHECK(*date("2026-05-06").plus_days(0) == date("2026-05-06"));
  CHECK(*Date::first().plus_days(Date::last().days_since_epoch() -
                                 Date::first().days_since_epoch()) == Date::last());
  auto past = Date::last().plus_days(1);
  REQUIRE_FALSE(past);
  CHECK(past.error() == "9999-12-31 plus 1 days is outside 1868-01-01..9999-12-31");
  CHECK_FALSE(Date::first().plus_days(-1));
  CHECK_FALSE(date("2026-01-01").plus_days(std::numeric_limits<std::int64_t>::max()));
  CHECK_FALSE(date("2026-01-01").plus_days(std::numeric_limits<std::int64_t>::min()));
}

TEST_CASE("MonthDay: an annual day, MM-DD, 02-29 allowed") {
  auto md = MonthDay::parse("12-29");
  REQUIRE(md);
  CHECK(md->month == 12);
  CHECK(md->day == 29);
  CHECK(md->to_string() == "12-29");
  CHECK(MonthDay::parse("02-29"));
  CHECK(MonthDay::of(date("2027-01-03")) == MonthDay{1, 3});
  CHECK(MonthDay::parse("02-30").error() ==
        "impossible month and day 02-30: February has at most 29 days");
  CHECK(MonthDay::parse("04-31").error() ==
        "impossible month and day 04-31: April has at most 30 days");
  CHECK(MonthDay::parse("13-01").error() ==
        "impossible month and day 13-01: the month must be 01..12");
  CHECK_FALSE(MonthDay::parse("00-01"));
  CHECK_FALSE(MonthDay::parse("12-00"));
  CHECK_FALSE(MonthDay::parse("1-03"));
  CHECK_FALSE(MonthDay::parse("2026-01-03"));
}

TEST_CASE("ClockTime: HH:MM from 00:00 to 23:59") {
  auto t = ClockTime::parse("09:00");
  REQUIRE(t);
  CHECK(*t == ClockTime{9, 0});
  CHECK(ClockTime::parse("23:59"));
  CHECK(ClockTime::parse("00:00"));
  CHECK(ClockTime::parse("17:15")->to_string() == "17:15");
  CHECK(ClockTime::parse("24:00").error() == "impossible time of day 24:00: 00:00..23:59");
  CHECK(ClockTime::parse("09:60").error() == "impossible time of day 09:60: 00:00..23:59");
  CHECK(ClockTime::parse("9:00").error() == "not a time of day \"9:00\": expected HH:MM");
  CHECK_FALSE(ClockTime::parse("09:00:00"));
  CHECK_FALSE(ClockTime::parse("0900"));
  CHECK(ClockTime{8, 59} < ClockTime{9, 0});
}

TEST_CASE("Japan time: UTC+9 all year, the date in Japan at an instant") {
  // 23:30 JST on Monday 2026-12-07 is 14:30 UTC the same day.
  auto late = to_jst(at_utc(date("2026-12-07"), 14, 30));
  REQUIRE(late);
  CHECK(late->date == date("2026-12-07"));
  CHECK(late->hour == 23);
  CHECK(late->minute == 30);
  CHECK(late->to_string() == "2026-12-07T23:30:00+09:00");
  // 00:30 JST on 12-08 is 15:30 UTC on 12-07.
  auto early = to_jst(at_utc(date("2026-12-07"), 15, 30));
  REQUIRE(early);
  CHECK(early->date == date("2026-12-08"));
  CHECK(early->to_string() == "2026-12-08T00:30:00+09:00");
  // The last second of a JST day and the first of the next.
  CHECK(to_jst(at_utc(date("2026-12-07"), 14, 59, 59))->date == date("2026-12-07"));
  CHECK(to_jst(at_utc(date("2026-12-07"), 15, 0, 0))->date == date("2026-12-08"));
  // No daylight saving: midsummer is UTC+9 too.
  CHECK(at_jst(date("2026-07-01"), 9, 0) == at_utc(date("2026-07-01"), 0, 0));
  CHECK(at_jst(date("2026-01-01"), 0, 0) == at_utc(date("2025-12-31"), 15, 0));
  CHECK(at_jst(date("2026-12-25"), ClockTime{15, 0}) == at_utc(date("2026-12-25"), 6, 0));
  // The Unix epoch, and an instant before it: floor, not truncation.
  CHECK(at_utc(date("1970-01-01"), 0, 0).time_since_epoch().count() == 0);
  auto before = to_jst(UtcTime(std::chrono::seconds(-9 * 3600 - 1)));
  REQUIRE(before);
  CHECK(*before == JstDateTime{date("1969-12-31"), 23, 59, 59});
}

TEST_CASE("Japan time: round trip over many instants, and the range's ends") {
  for (std::int64_t s = -3'000'000'000; s < 8'000'000'000; s += 7'777'777) {
    const UtcTime instant{std::chrono::seconds(s)};
    auto local = to_jst(instant);
    REQUIRE(local);
    CHECK(at_jst(local->date, local->hour, local->minute, local->second) == instant);
  }
  CHECK(to_jst(at_jst(Date::first(), 0, 0))->date == Date::first());
  CHECK_FALSE(to_jst(at_jst(Date::first(), 0, 0) - std::chrono::seconds(1)));
  CHECK(to_jst(at_jst(Date::last(), 23, 59, 59))->date == Date::last());
  CHECK_FALSE(to_jst(at_jst(Date::last(), 23, 59, 59) + std::chrono::seconds(1)));
  CHECK_FALSE(to_jst(UtcTime::max()));
  CHECK_FALSE(to_jst(UtcTime::min()));
}
