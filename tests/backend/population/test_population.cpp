// The synthetic population (backend/population): geography, determinism,
// regeneration by index, resident codes, the age pyramid, households, dates
// and names.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "backend/calendar/date.hpp"
#include "backend/population/changes.hpp"
#include "backend/population/demography.hpp"
#include "backend/population/geography.hpp"
#include "backend/population/permutation.hpp"
#include "backend/population/population.hpp"
#include "backend/population/random.hpp"
#include "backend/population/report.hpp"
#include "common/check_digits.hpp"
#include "records/records.hpp"

using namespace juki;
using namespace juki::backend::population;
using juki::backend::calendar::Date;

namespace {

Date date(std::string_view text) {
  auto d = Date::parse(text);
  REQUIRE(d);
  return *d;
}

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

std::vector<Resident> all_residents(const Population& p) {
  std::vector<Resident> out;
  out.reserve(p.size());
  p.for_each([&](const Resident& r) { out.push_back(r); });
  return out;
}

std::string lines(const Population& p, std::uint64_t first, std::uint64_t end) {
  std::string out;
  p.for_each(first, end, [&](const Resident& r) {
    append_json_line(out, "x", p.geography()[r.municipality].code, Reason::code_entry,
                     p.config().base_date, r);
  });
  return out;
}

bool same(const Resident& a, const Resident& b) {
  return a.index == b.index && a.code == b.code && a.municipality == b.municipality &&
         a.household == b.household && a.name_kanji == b.name_kanji && a.name_kana == b.name_kana &&
         a.birth_date == b.birth_date && a.sex == b.sex && a.relationship == b.relationship &&
         a.address == b.address && a.became_resident_on == b.became_resident_on &&
         a.address_notified_on == b.address_notified_on && a.previous_address == b.previous_address;
}

// Code points of UTF-8 text (the text is ours: well-formed).
std::vector<char32_t> code_points(std::string_view s) {
  std::vector<char32_t> out;
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const int n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    char32_t v = n == 1 ? c : c & (0x7F >> n);
    for (int k = 1; k < n; ++k) v = (v << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    out.push_back(v);
    i += static_cast<std::size_t>(n);
  }
  return out;
}

bool katakana_only(std::string_view part) {
  const auto cps = code_points(part);
  return !cps.empty() &&
         std::all_of(cps.begin(), cps.end(), [](char32_t c) { return c >= 0x30A1 && c <= 0x30FC; });
}

std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

}  // namespace

// ------------------------------------------------------------ building blocks

TEST_CASE("population: SplitMix64 gives the reference stream and bounded draws stay in range",
          "[population]") {
  Rng rng(1234567);  // the published SplitMix64 test vector
  CHECK(rng.next() == 6457827717110365317ULL);
  CHECK(rng.next() == 3203168211198807973ULL);
  CHECK(rng.next() == 9817491932198370423ULL);
  Rng r(7);
  std::array<int, 7> seen{};
  for (int i = 0; i < 70000; ++i) {
    const auto x = r.below(7);
    REQUIRE(x < 7);
    ++seen[x];
  }
  for (int n : seen) CHECK(std::abs(n - 10000) < 500);
  for (int i = 0; i < 1000; ++i) {
    const auto x = r.between(-3, 3);
    REQUIRE((x >= -3 && x <= 3));
  }
}

TEST_CASE("population: ages and anniversaries over calendar dates", "[population]") {
  CHECK(*years_before(date("2024-02-29"), 1) == date("2023-02-28"));
  CHECK(*years_before(date("2024-02-29"), 4) == date("2020-02-29"));
  CHECK(*years_before(date("2002-08-05"), 0) == date("2002-08-05"));
  CHECK(*years_before(date("1973-01-01"), 105) == Date::first());
  CHECK_FALSE(years_before(date("1972-12-31"), 105));  // 1867: before any Date
  CHECK(age_on(date("2000-03-01"), date("2020-02-29")) == 19);
  CHECK(age_on(date("2000-03-01"), date("2020-03-01")) == 20);
  CHECK(age_on(date("2000-02-29"), date("2021-02-28")) == 20);
  CHECK(age_on(date("2000-02-29"), date("2021-03-01")) == 21);
  CHECK(age_on(date("2002-08-05"), date("2002-08-05")) == 0);
}

TEST_CASE("population: base dates whose every date is a calendar date", "[population]") {
  auto with_base = [](std::string_view base) {
    PopulationConfig c;
    c.seed = 4;
    c.residents = 20'000;
    c.base_date = date(base);
    return Population::create(c);
  };
  CHECK(PopulationConfig{}.base_date == date("2002-08-05"));
  CHECK_FALSE(with_base("1973-12-31"));
  CHECK_FALSE(with_base("9001-01-01"));
  CHECK(with_base("9000-12-31"));
  // The first base date: the oldest born in 1869, corrections (up to 30 days
  // earlier) on the base date still after 1868-01-01.
  auto p = with_base("1974-01-01");
  REQUIRE(p);
  Date oldest = Date::last();
  p->for_each([&](const Resident& r) { oldest = std::min(oldest, r.birth_date); });
  CHECK(oldest >= date("1869-01-02"));
  CHECK(oldest < date("1875-01-01"));
  for (int d = 0; d < 3; ++d)
    CHECK(for_each_change(*p, *p->config().base_date.plus_days(d), [](const ChangeReport& c) {
      REQUIRE(c.resident.birth_date >= Date::first());
    }));
}

TEST_CASE("population: the permutations are bijections", "[population]") {
  const DecimalPermutation codes(99);
  Rng rng(5);
  for (int i = 0; i < 10000; ++i) {
    const std::uint64_t x = (rng.next() >> 20) % DecimalPermutation::kDomain;
    const std::uint64_t y = codes.forward(x);
    REQUIRE(y < DecimalPermutation::kDomain);
    REQUIRE(codes.inverse(y) == x);
  }
  for (std::uint64_t n : {1u, 2u, 3u, 17u, 255u, 256u, 1000u, 4097u}) {
    const RangePermutation p(n * 31, n);
    std::vector<bool> hit(n, false);
    for (std::uint64_t v = 0; v < n; ++v) {
      const auto y = p(v);
      REQUIRE(y < n);
      REQUIRE_FALSE(hit[y]);
      hit[y] = true;
    }
  }
}

// ------------------------------------------------------------ geography

TEST_CASE("population: 47 prefectures with their municipality counts and 1741 valid codes",
          "[population]") {
  // The public counts (Tokyo with its 23 special wards).
  const int expected[47] = {179, 40, 33, 35, 25, 35, 59, 44, 25, 35, 63, 54, 62, 33, 30, 15,
                            19,  17, 27, 77, 42, 35, 54, 29, 19, 26, 43, 41, 39, 30, 19, 19,
                            27,  23, 19, 24, 17, 20, 34, 60, 20, 21, 45, 18, 26, 43, 41};
  const Geography g;
  REQUIRE(prefectures().size() == 47);
  REQUIRE(g.size() == 1741);
  std::set<std::string> codes;
  for (int p = 1; p <= 47; ++p) {
    INFO("prefecture " << p);
    CHECK(prefectures()[static_cast<std::size_t>(p - 1)].code == p);
    CHECK(static_cast<int>(g.count_of(p)) == expected[p - 1]);
    const std::string server = prefecture_server_code(p);
    CHECK(check_digits::municipality_valid(server));
    CHECK(server.substr(2, 3) == "000");
    std::set<std::string> names;
    for (std::size_t i = g.first_of(p); i < g.first_of(p) + g.count_of(p); ++i) {
      const Municipality& m = g[i];
      INFO(m.code << " " << m.name);
      CHECK(m.prefecture == p);
      CHECK(check_digits::municipality_valid(m.code));
      CHECK(std::stoi(m.code.substr(0, 2)) == p);
      CHECK(codes.insert(m.code).second);
      CHECK(names.insert(m.name).second);
      CHECK(m.weight > 0);
      CHECK(m.towns.size() >= 6);
      const std::string_view suffix = std::string_view(m.name).substr(m.name.size() - 3);
      CHECK((suffix == "市" || suffix == "町" || suffix == "村" || suffix == "区"));
    }
  }
  CHECK(prefecture_server_code(13) == "130001");
  CHECK(g[g.find("131016")].name == "千代田区");
  CHECK(g[g.find("131237")].name == "江戸川区");
  CHECK(g.find("999999") == g.size());
}

TEST_CASE("population: prefecture populations are roughly the census's", "[population]") {
  const Population p = make(1, 125'000'000);
  std::uint64_t census_total = 0, counted = 0;
  for (const Prefecture& pref : prefectures()) census_total += pref.population_thousands;
  for (const Prefecture& pref : prefectures()) {
    std::uint64_t here = 0;
    for (std::size_t i = 0; i < p.geography().count_of(pref.code); ++i)
      here += p.range_of(p.geography().first_of(pref.code) + i).count;
    counted += here;
    const double share = static_cast<double>(here) / 125e6;
    const double census = static_cast<double>(pref.population_thousands) / census_total;
    INFO(pref.name << " " << share << " census " << census);
    CHECK(std::abs(share - census) < census * 0.01);
  }
  CHECK(counted == 125'000'000);
  const Geography& g = p.geography();
  const double tokyo = [&] {
    std::uint64_t n = 0;
    for (std::size_t i = 0; i < g.count_of(13); ++i) n += p.range_of(g.first_of(13) + i).count;
    return static_cast<double>(n) / 125e6;
  }();
  CHECK(tokyo > 0.105);
  CHECK(tokyo < 0.117);
  // Heavy-tailed: the largest municipality has over a million, the smallest a few thousand.
  std::uint64_t largest = 0, smallest = UINT64_MAX;
  for (std::size_t m = 0; m < g.size(); ++m) {
    largest = std::max(largest, p.range_of(m).count);
    smallest = std::min(smallest, p.range_of(m).count);
  }
  CHECK(largest > 1'000'000);
  CHECK(smallest < 5'000);
  CHECK(smallest > 0);
}

TEST_CASE("population: --municipalities N is a small country and the same for every seed",
          "[population]") {
  const Population three = make(1, 1000, 3);
  REQUIRE(three.municipalities().size() == 3);
  std::vector<std::string> codes;
  std::set<int> prefs;
  std::uint64_t total = 0;
  for (std::size_t m : three.municipalities()) {
    codes.push_back(three.geography()[m].code);
    prefs.insert(three.geography()[m].prefecture);
    total += three.range_of(m).count;
  }
  CHECK(codes == std::vector<std::string>{"131016", "131024", "142018"});
  CHECK(prefs.size() == 2);
  CHECK(total == 1000);
  const Population other_seed = make(2, 5000, 3);
  CHECK(std::equal(three.municipalities().begin(), three.municipalities().end(),
                   other_seed.municipalities().begin(), other_seed.municipalities().end()));
  for (std::size_t n : {1u, 2u, 5u, 47u, 94u, 100u, 500u, 1741u}) {
    const Population p = make(3, 1000, n);
    CHECK(p.municipalities().size() == n);
    std::set<std::size_t> distinct(p.municipalities().begin(), p.municipalities().end());
    CHECK(distinct.size() == n);
  }
  // Every resident lives in one of them.
  for (const Resident& r : all_residents(three)) REQUIRE(three.has(r.municipality));
}

TEST_CASE("population: sizes and limits outside the ranges are refused", "[population]") {
  PopulationConfig c;
  c.residents = 999;
  CHECK_FALSE(Population::create(c));
  c.residents = 125'000'001;
  CHECK_FALSE(Population::create(c));
  c.residents = 1000;
  c.municipality_limit = 0;
  CHECK_FALSE(Population::create(c));
  c.municipality_limit = 1742;
  CHECK_FALSE(Population::create(c));
  c.municipality_limit = 1741;
  CHECK(Population::create(c));
}

// ------------------------------------------------------------ determinism

TEST_CASE("population: the same seed gives the same bytes and another seed others",
          "[population]") {
  const Population a = make(2026, 50'000), b = make(2026, 50'000), c = make(2027, 50'000);
  const std::string la = lines(a, 0, a.size());
  CHECK(la == lines(b, 0, b.size()));
  CHECK(la != lines(c, 0, c.size()));
  // Pinned: a change here changes every generated population (and the
  // machine-independence this checks on every platform the tests run on).
  CHECK(fnv1a(lines(make(1, 1000), 0, 1000)) == 0x3b1d62bf71105b4aULL);
}

TEST_CASE("population: a resident regenerated from its index is the one streamed", "[population]") {
  const Population p = make(11, 200'000);
  const std::vector<Resident> streamed = all_residents(p);
  REQUIRE(streamed.size() == p.size());
  Rng rng(3);
  for (int i = 0; i < 3000; ++i) {
    const std::uint64_t index = rng.below(p.size());
    INFO("index " << index);
    REQUIRE(same(p.resident(index), streamed[index]));
    REQUIRE(p.municipality_of(index) == streamed[index].municipality);
  }
  // A sub-range streams the same residents.
  std::uint64_t k = 777;
  p.for_each(777, 1500, [&](const Resident& r) { REQUIRE(same(r, streamed[k++])); });
  CHECK(k == 1500);
  // At the largest size, without generating what comes before.
  const Population japan = make(11, 125'000'000);
  const Resident last = japan.resident(japan.size() - 1);
  CHECK(last.index == japan.size() - 1);
  CHECK(check_digits::resident_code_valid(last.code));
  CHECK(same(japan.resident(japan.size() - 1), last));
}

TEST_CASE("population: resident codes are valid and unique and give their index back",
          "[population]") {
  const Population p = make(5, 200'000);
  std::unordered_set<std::string> seen;
  p.for_each([&](const Resident& r) {
    REQUIRE(check_digits::resident_code_valid(r.code));
    REQUIRE(seen.insert(r.code).second);
    REQUIRE(p.index_of(r.code) == r.index);
  });
  CHECK(seen.size() == 200'000);
  // Indexes past the population (births, new codes) have codes of their own.
  for (std::uint64_t i = p.size(); i < p.size() + 1000; ++i)
    REQUIRE(seen.insert(p.code_of(i)).second);
  CHECK_FALSE(p.index_of("12345678901"));  // wrong check digit (…03 is right)
  CHECK(p.index_of("12345678903"));
}

// ------------------------------------------------------------ what residents look like

TEST_CASE("population: ages follow the 2020 pyramid and the sex ratio Japan's", "[population]") {
  const Population p = make(8, 300'000);
  std::array<double, 21> bands{};
  double males = 0;
  p.for_each([&](const Resident& r) {
    bands[static_cast<std::size_t>(std::min(age_on(r.birth_date, p.config().base_date), 100) /
                                   5)]++;
    if (r.sex == Sex::male) ++males;
  });
  const auto census = census_2020_age_bands();
  double census_total = 0;
  for (auto v : census) census_total += v;
  const double n = static_cast<double>(p.size());
  std::array<double, 3> groups{}, census_groups{};  // 0-14, 15-64, 65+
  for (std::size_t b = 0; b < 21; ++b) {
    const double share = bands[b] / n, expected = census[b] / census_total;
    INFO("band " << b * 5 << ": " << share << " census " << expected);
    CHECK(std::abs(share - expected) < 0.015);
    const std::size_t g = b < 3 ? 0 : b < 13 ? 1 : 2;
    groups[g] += share;
    census_groups[g] += expected;
  }
  for (std::size_t g = 0; g < 3; ++g) {
    INFO("group " << g << ": " << groups[g] << " census " << census_groups[g]);
    CHECK(std::abs(groups[g] - census_groups[g]) < 0.025);
  }
  // Japan: 48.6% men.
  CHECK(males / n > 0.47);
  CHECK(males / n < 0.50);
}

TEST_CASE("population: households have one head first with one address and surname and sound ages",
          "[population]") {
  const Population p = make(9, 200'000);
  const std::vector<Resident> all = all_residents(p);
  std::map<std::uint64_t, std::vector<const Resident*>> households;
  for (const Resident& r : all) households[r.household].push_back(&r);
  const Date base = p.config().base_date;
  std::size_t singles = 0;
  for (const auto& [head_index, members] : households) {
    INFO("household " << head_index);
    const Resident& head = *members.front();
    REQUIRE(head.index == head_index);
    REQUIRE(head.relationship == Relationship::head);
    const int head_age = age_on(head.birth_date, base);
    CHECK(head_age >= 18);
    if (members.size() == 1) ++singles;
    CHECK(members.size() <= 7);
    for (std::size_t i = 1; i < members.size(); ++i) {
      const Resident& m = *members[i];
      INFO("member " << m.index << " " << to_kanji(m.relationship));
      CHECK(m.index == head.index + i);  // a household's members are consecutive
      CHECK(m.relationship != Relationship::head);
      CHECK(m.address == head.address);
      CHECK(m.surname_kanji() == head.surname_kanji());
      CHECK(m.municipality == head.municipality);
      const int age = age_on(m.birth_date, base);
      switch (m.relationship) {
        case Relationship::wife:
          CHECK(m.sex == Sex::female);
          CHECK(age >= 18);
          break;
        case Relationship::husband:
          CHECK(m.sex == Sex::male);
          CHECK(age >= 18);
          break;
        case Relationship::child:
          CHECK(head_age - age >= 15);
          break;
        case Relationship::grandchild:
          CHECK(head_age - age >= 30);
          break;
        case Relationship::father:
        case Relationship::mother:
          CHECK(age - head_age >= 15);
          CHECK((m.sex == Sex::male) == (m.relationship == Relationship::father));
          break;
        case Relationship::child_wife:
          CHECK(m.sex == Sex::female);
          CHECK(age >= 18);
          break;
        case Relationship::head:
          break;
      }
    }
  }
  const double mean = static_cast<double>(all.size()) / static_cast<double>(households.size());
  CHECK(mean > 2.0);
  CHECK(mean < 2.4);
  const double single_share = static_cast<double>(singles) / static_cast<double>(households.size());
  CHECK(single_share > 0.33);
  CHECK(single_share < 0.45);
}

TEST_CASE("population: dates are plausible with kanji and katakana names and local addresses",
          "[population]") {
  const Population p = make(10, 100'000);
  const Date base = p.config().base_date;
  std::size_t moved_in = 0;
  p.for_each([&](const Resident& r) {
    INFO("resident " << r.index << " " << r.name_kanji);
    REQUIRE(r.birth_date <= base);
    REQUIRE(age_on(r.birth_date, base) <= kMaxAge);
    REQUIRE(r.became_resident_on >= r.birth_date);
    REQUIRE(r.address_notified_on >= r.became_resident_on);
    REQUIRE(r.address_notified_on <= base);
    REQUIRE(r.address_notified_on.days_since_epoch() - r.became_resident_on.days_since_epoch() <=
            14);
    // Born here, or came from elsewhere after birth.
    REQUIRE(r.previous_address.empty() == (r.became_resident_on == r.birth_date));
    const Municipality& m = p.geography()[r.municipality];
    const std::string here =
        std::string(prefectures()[static_cast<std::size_t>(m.prefecture - 1)].name) + m.name;
    REQUIRE(r.address.rfind(here, 0) == 0);
    REQUIRE(r.address.find("丁目") != std::string::npos);
    REQUIRE(r.address.back() != ' ');
    if (!r.previous_address.empty()) {
      ++moved_in;
      REQUIRE(r.previous_address.rfind(here, 0) != 0);
    }
    const auto space = r.name_kanji.find(' ');
    REQUIRE(space != std::string::npos);
    REQUIRE(space > 0);
    REQUIRE(space + 1 < r.name_kanji.size());
    const auto kana_space = r.name_kana.find(' ');
    REQUIRE(kana_space != std::string::npos);
    REQUIRE(katakana_only(std::string_view(r.name_kana).substr(0, kana_space)));
    REQUIRE(katakana_only(std::string_view(r.name_kana).substr(kana_space + 1)));
    REQUIRE(records::katakana_valid(r.name_kana));
  });
  CHECK(moved_in > 50'000);
  CHECK(moved_in < 95'000);
}

TEST_CASE("population: a few hundred names all with katakana readings", "[population]") {
  CHECK(surnames().size() >= 200);
  std::size_t given = 0;
  for (NameEra era : {NameEra::before_1960, NameEra::from_1960_to_1989, NameEra::from_1990}) {
    for (const Name& n : male_names(era)) {
      CHECK(katakana_only(n.kana));
      ++given;
    }
    for (const Name& n : female_names(era)) {
      CHECK(katakana_only(n.kana));
      ++given;
    }
  }
  for (const Name& n : surnames()) CHECK(katakana_only(n.kana));
  CHECK(given >= 200);
}
