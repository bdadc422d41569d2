// A day's change reports (backend/population/changes.hpp) and the JSON Lines
// they are written as (report.hpp): rates, consistency within a day, report
// ids, determinism, and every line's exact fields.
#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "backend/population/changes.hpp"
#include "backend/population/population.hpp"
#include "backend/population/report.hpp"
#include "common/check_digits.hpp"

using namespace juki;
using namespace juki::backend::population;
using juki::backend::calendar::Date;
using nlohmann::json;

namespace {

Population make(std::uint64_t seed, std::uint64_t residents,
                std::optional<std::size_t> limit = std::nullopt) {
  PopulationConfig c;
  c.seed = seed;
  c.residents = residents;
  c.municipality_limit = limit;
  auto p = Population::create(c);
  REQUIRE(p);
  return std::move(*p);
}

struct DayReports {
  std::vector<ChangeReport> reports;
  DayStats stats;
};

DayReports day_of(const Population& p, Date day) {
  DayReports d;
  auto stats = for_each_change(p, day, [&](const ChangeReport& c) { d.reports.push_back(c); });
  REQUIRE(stats);
  d.stats = *stats;
  return d;
}

std::string text_of(const Population& p, const DayReports& d) {
  std::string out;
  for (const auto& c : d.reports) append_json_line(p.geography(), c, out);
  return out;
}

const Date kDay = Date::from_ymd(2026, 12, 7).value();

// The checks of one day's stream that hold whatever the rates.
void check_consistent(const Population& p, const DayReports& d, Date day) {
  const std::uint64_t n = p.size();
  std::unordered_map<std::string, std::vector<const ChangeReport*>> by_code;
  std::unordered_set<std::string> previous_codes;
  std::map<std::size_t, std::uint64_t> numbers;
  for (const ChangeReport& c : d.reports) {
    const Resident& r = c.resident;
    INFO(to_string(c.reason) << " " << r.code);
    REQUIRE(c.date == day);
    REQUIRE(check_digits::resident_code_valid(r.code));
    REQUIRE(c.report == report_id(day, ++numbers[c.municipality]));
    by_code[r.code].push_back(&c);
    const auto index = p.index_of(r.code);
    REQUIRE(index);
    const bool new_code = c.reason == Reason::birth || c.reason == Reason::ex_officio_entry ||
                          c.reason == Reason::naturalization ||
                          c.reason == Reason::nationality_acquired ||
                          c.reason == Reason::resident_code_change;
    REQUIRE((*index >= n) == new_code);
    if (c.reason == Reason::resident_code_change) {
      const auto old = p.index_of(c.previous_code);
      REQUIRE(old);
      REQUIRE(*old < n);
      REQUIRE(previous_codes.insert(c.previous_code).second);
    } else {
      REQUIRE(c.previous_code.empty());
    }
    if (kind_of(c.reason) == ReasonKind::deletion) continue;
    REQUIRE(c.municipality == r.municipality);
    REQUIRE(r.birth_date <= day);
    REQUIRE(r.became_resident_on >= r.birth_date);
    REQUIRE(r.address_notified_on >= r.became_resident_on);
    REQUIRE(r.address_notified_on <= day);
    const Municipality& m = p.geography()[c.municipality];
    const std::string here =
        std::string(prefectures()[static_cast<std::size_t>(m.prefecture - 1)].name) + m.name;
    REQUIRE(r.address.rfind(here, 0) == 0);
    if (*index < n) {  // an existing resident: the change is to them as generated
      const Resident before = p.resident(*index);
      REQUIRE(r.sex == before.sex);
      if (c.reason == Reason::name_change) {
        REQUIRE(r.surname_kanji() != before.surname_kanji());
        REQUIRE(r.name_kanji.substr(r.name_kanji.find(' ')) ==
                before.name_kanji.substr(before.name_kanji.find(' ')));
      } else {
        REQUIRE(r.name_kanji == before.name_kanji);
      }
      if (c.reason == Reason::move_in) {
        REQUIRE(r.previous_address == before.address);
        REQUIRE(r.municipality != before.municipality);
        REQUIRE(r.became_resident_on == day);
      }
      if (c.reason == Reason::ex_officio_correction) REQUIRE(r.birth_date < before.birth_date);
    }
  }
  // One change per resident a day; a move is a move_out then a move_in elsewhere.
  for (const auto& [code, reports] : by_code) {
    INFO(code);
    REQUIRE_FALSE(previous_codes.count(code));
    if (reports.size() == 1) {
      REQUIRE(reports[0]->reason != Reason::move_out);
      REQUIRE(reports[0]->reason != Reason::move_in);
      continue;
    }
    REQUIRE(reports.size() == 2);
    REQUIRE(reports[0]->reason == Reason::move_out);
    REQUIRE(reports[1]->reason == Reason::move_in);
    REQUIRE(reports[0]->municipality != reports[1]->municipality);
  }
}

// The exact fields of the CS import format.
void check_line(const std::string& line) {
  INFO(line);
  REQUIRE(json::accept(line));
  const json j = json::parse(line);
  const auto reason = parse_reason(j.at("reason").get<std::string>());
  REQUIRE(reason);
  std::set<std::string> keys, expected = {"report", "municipality", "reason", "date", "resident"};
  for (const auto& [k, v] : j.items()) {
    keys.insert(k);
    if (k != "resident") REQUIRE(v.is_string());
  }
  if (*reason == Reason::resident_code_change) expected.insert("previous_code");
  REQUIRE(keys == expected);
  REQUIRE(check_digits::municipality_valid(j["municipality"].get<std::string>()));
  REQUIRE(Date::parse(j["date"].get<std::string>()));
  const json& r = j["resident"];
  REQUIRE(r.is_object());
  std::set<std::string> resident_keys;
  for (const auto& [k, v] : r.items()) {
    resident_keys.insert(k);
    REQUIRE(v.is_string());
  }
  REQUIRE(check_digits::resident_code_valid(r["code"].get<std::string>()));
  if (kind_of(*reason) == ReasonKind::deletion) {
    REQUIRE(resident_keys == std::set<std::string>{"code"});
    return;
  }
  std::set<std::string> full = {
      "code",    "name_kanji",     "name_kana",          "birth_date",         "sex",
      "address", "household_head", "became_resident_on", "address_notified_on"};
  if (r.contains("previous_address")) full.insert("previous_address");
  REQUIRE(resident_keys == full);
  for (const char* date : {"birth_date", "became_resident_on", "address_notified_on"})
    REQUIRE(Date::parse(r[date].get<std::string>()));
  const std::string sex = r["sex"];
  REQUIRE((sex == "male" || sex == "female"));
  const std::set<std::string> relationships = {"世帯主", "妻", "夫", "子",
                                               "父",     "母", "孫", "子の妻"};
  REQUIRE(relationships.count(r["household_head"].get<std::string>()));
  REQUIRE_FALSE(r["name_kanji"].get<std::string>().empty());
  REQUIRE_FALSE(r["address"].get<std::string>().empty());
}

}  // namespace

TEST_CASE("changes: each reason at its annual rate at the size of Japan", "[population]") {
  const Population japan = make(1, 125'000'000);
  for (const Date day : {kDay, *kDay.plus_days(1)}) {
    const DayReports d = day_of(japan, day);
    CHECK(d.stats.dropped == 0);
    for (int i = 0; i < kReasonCount; ++i) {
      const auto reason = static_cast<Reason>(i);
      const Expected e = expected_per_day(reason, japan.size());
      INFO(to_string(reason) << ": " << d.stats.reports[static_cast<std::size_t>(i)]);
      const std::uint64_t floor = e.numerator / e.denominator;
      CHECK(d.stats.reports[static_cast<std::size_t>(i)] >= floor);
      CHECK(d.stats.reports[static_cast<std::size_t>(i)] <= floor + 1);
    }
    // 1.57M deaths a year: 4,301 a day.
    CHECK(d.stats.reports[static_cast<std::size_t>(Reason::death)] >= 4301);
    CHECK(d.stats.reports[static_cast<std::size_t>(Reason::death)] <= 4302);
    CHECK(d.stats.reports[static_cast<std::size_t>(Reason::move_in)] ==
          d.stats.reports[static_cast<std::size_t>(Reason::move_out)]);
    CHECK(d.stats.reports[static_cast<std::size_t>(Reason::code_entry)] == 0);
    check_consistent(japan, d, day);
    // Every reason but code_entry shows up, and every line is exactly the format.
    std::set<Reason> reasons;
    for (const auto& c : d.reports) reasons.insert(c.reason);
    CHECK(reasons.size() == kReasonCount - 1);
    if (day != kDay) continue;  // the lines of one day suffice (slow under sanitizers)
    std::string line;
    for (const auto& c : d.reports) {
      line.clear();
      append_json_line(japan.geography(), c, line);
      REQUIRE(line.back() == '\n');
      line.pop_back();
      check_line(line);
    }
  }
}

TEST_CASE("changes: a small population over 120 days: rates and ages and moves across prefectures",
          "[population]") {
  const Population p = make(2, 1'000'000);
  std::array<std::uint64_t, kReasonCount> total{};
  std::uint64_t moves = 0, across = 0, dropped = 0;
  double death_ages = 0;
  std::unordered_set<std::string> subjects;  // existing residents changed, over all days
  bool repeated = false;
  for (int d = 0; d < 120; ++d) {
    const Date day = *kDay.plus_days(d);
    const DayReports r = day_of(p, day);
    dropped += r.stats.dropped;
    for (std::size_t i = 0; i < total.size(); ++i) total[i] += r.stats.reports[i];
    std::unordered_set<std::string> today;
    for (const auto& c : r.reports) {
      if (c.reason == Reason::death) death_ages += age_on(c.resident.birth_date, day);
      if (c.reason == Reason::move_in) {
        ++moves;
        const std::size_t from = p.resident(*p.index_of(c.resident.code)).municipality;
        if (p.geography()[from].prefecture != p.geography()[c.municipality].prefecture) ++across;
      }
      const std::string& code =
          c.reason == Reason::resident_code_change ? c.previous_code : c.resident.code;
      if (*p.index_of(code) < p.size() && today.insert(code).second &&
          !subjects.insert(code).second)
        repeated = true;
    }
    if (d < 5) check_consistent(p, r, day);
  }
  CHECK(dropped == 0);
  // At the annual rates (120 days).
  for (int i = 0; i < kReasonCount; ++i) {
    const Expected e = expected_per_day(static_cast<Reason>(i), p.size());
    const double expected =
        120.0 * static_cast<double>(e.numerator) / static_cast<double>(e.denominator);
    INFO(to_string(static_cast<Reason>(i))
         << ": " << total[static_cast<std::size_t>(i)] << " expected " << expected);
    // Rare reasons are a coin toss a day: four standard deviations.
    CHECK(std::abs(static_cast<double>(total[static_cast<std::size_t>(i)]) - expected) <=
          std::max(4 * std::sqrt(expected), expected * 0.03) + 1);
  }
  // Deaths are mostly of the old; 40% of moves cross a prefecture line.
  CHECK(death_ages / static_cast<double>(total[static_cast<std::size_t>(Reason::death)]) > 70);
  const double share = static_cast<double>(across) / static_cast<double>(moves);
  CHECK(share > 0.36);
  CHECK(share < 0.44);
  // Each day's subjects come from a fresh window: nobody changed on two days.
  CHECK_FALSE(repeated);
}

TEST_CASE("changes: the same seed and day give the same reports and others differ",
          "[population]") {
  const Population a = make(3, 2'000'000), b = make(3, 2'000'000), c = make(4, 2'000'000);
  const std::string day = text_of(a, day_of(a, kDay));
  CHECK_FALSE(day.empty());
  CHECK(day == text_of(b, day_of(b, kDay)));
  CHECK(day != text_of(c, day_of(c, kDay)));
  CHECK(day != text_of(a, day_of(a, *kDay.plus_days(1))));
}

TEST_CASE("changes: a small country moves between its own municipalities", "[population]") {
  const Population p = make(5, 100'000, 3);
  for (int d = 0; d < 30; ++d) {
    const DayReports r = day_of(p, *kDay.plus_days(d));
    CHECK(r.stats.dropped == 0);
    for (const auto& c : r.reports) REQUIRE(p.has(c.municipality));
    check_consistent(p, r, *kDay.plus_days(d));
  }
  // One municipality: no moves between municipalities, the rest as usual.
  const Population one = make(5, 100'000, 1);
  const DayReports r = day_of(one, kDay);
  CHECK(r.stats.reports[static_cast<std::size_t>(Reason::move_out)] == 0);
  CHECK(r.stats.reports[static_cast<std::size_t>(Reason::move_within)] > 0);
}

TEST_CASE("changes: a day before the base date is refused", "[population]") {
  const Population p = make(1, 1000);
  auto r = for_each_change(p, *p.config().base_date.plus_days(-1), [](const ChangeReport&) {});
  CHECK_FALSE(r);
  CHECK(for_each_change(p, p.config().base_date, [](const ChangeReport&) {}));
}

TEST_CASE("changes: code_entry lines of the initial population have exactly the fields",
          "[population]") {
  const Population p = make(6, 5'000);
  std::string line;
  std::size_t with_previous = 0;
  p.for_each([&](const Resident& r) {
    line.clear();
    append_json_line(line, report_id(p.config().base_date, r.index + 1),
                     p.geography()[r.municipality].code, Reason::code_entry, p.config().base_date,
                     r);
    line.pop_back();
    check_line(line);
    const json j = json::parse(line);
    REQUIRE(j["resident"]["name_kanji"] == r.name_kanji);
    REQUIRE(j["resident"]["address"] == r.address);
    if (j["resident"].contains("previous_address")) ++with_previous;
  });
  CHECK(with_previous > 0);
  CHECK(with_previous < p.size());
}

TEST_CASE("changes: strings are escaped as JSON and report ids numbered as the CS numbers them",
          "[population]") {
  for (const std::string& s :
       {std::string("plain"), std::string("quote \" and \\ back"), std::string("ctl \x01\n\t end"),
        std::string("山田 太郎"), std::string("\x1f")}) {
    std::string out;
    append_json_string(out, s);
    INFO(out);
    REQUIRE(json::accept(out));
    CHECK(json::parse(out).get<std::string>() == s);
  }
  // A character to escape at every position, past the 8-byte fast path too.
  for (const char special : {'"', '\\', '\x01', '\n', '\x1f'}) {
    for (std::size_t at = 0; at < 24; ++at) {
      std::string s = "ABCDEFGHIJKLMNOPQRSTUVWX東京都";
      s.insert(at, 1, special);
      std::string out;
      append_json_string(out, s);
      INFO(out);
      REQUIRE(json::accept(out));
      REQUIRE(json::parse(out).get<std::string>() == s);
    }
  }
  CHECK(report_id(kDay, 1) == "20261207-000001");
  CHECK(report_id(kDay, 1234567) == "20261207-1234567");
  for (int i = 0; i < kReasonCount; ++i)
    CHECK(parse_reason(to_string(static_cast<Reason>(i))) == static_cast<Reason>(i));
  CHECK(kind_of(Reason::birth) == ReasonKind::entry);
  CHECK(kind_of(Reason::code_entry) == ReasonKind::entry);
  CHECK(kind_of(Reason::death) == ReasonKind::deletion);
  CHECK(kind_of(Reason::declared_missing) == ReasonKind::deletion);
  CHECK(kind_of(Reason::move_within) == ReasonKind::correction);
  CHECK(kind_of(Reason::address_renumbering) == ReasonKind::correction);
}
