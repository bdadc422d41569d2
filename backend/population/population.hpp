// A deterministic synthetic population of Japan (issue 13): residents in
// households in the 1,741 municipalities, for tests and benchmarks of the
// Juki-net servers.
//
// A resident is a pure function of (config, index): index -> municipality (the
// residents of a municipality are a contiguous range of indexes) -> block of
// 128 residents (its household sizes drawn from the block's own stream) ->
// household (drawn from its own stream) -> member. Regenerating one resident
// costs one household, never the residents before it; streaming costs O(1)
// memory at any size. Randomness is SplitMix64 with integer draws only
// (random.hpp), so a seed gives byte-identical output on every machine.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "backend/calendar/date.hpp"
#include "backend/population/demography.hpp"
#include "backend/population/geography.hpp"
#include "backend/population/names.hpp"
#include "backend/population/permutation.hpp"
#include "common/result.hpp"

namespace juki::backend::population {

enum class Sex : std::uint8_t { male, female };
std::string_view to_string(Sex sex);  // "male", "female"

// Relationship to the household head (世帯主との続柄).
enum class Relationship : std::uint8_t {
  head,        // 世帯主
  wife,        // 妻
  husband,     // 夫
  child,       // 子
  father,      // 父
  mother,      // 母
  grandchild,  // 孫
  child_wife,  // 子の妻
};
std::string_view to_kanji(Relationship relationship);

// One resident as the resident register (住民票) knows them; the fields of
// the CS import format (json_lines.hpp).
struct Resident {
  std::uint64_t index = 0;
  std::string code;              // 住民票コード, 11 digits
  std::size_t municipality = 0;  // index in Geography
  std::uint64_t household = 0;   // the index of the household's head
  std::string name_kanji;        // "山田 太郎": surname, one space, given name
  std::string name_kana;         // "ヤマダ タロウ", full-width katakana
  calendar::Date birth_date = calendar::Date::first();
  Sex sex = Sex::male;
  Relationship relationship = Relationship::head;
  std::string address;  // prefecture + municipality + 町名 + 丁目番号, the household's
  calendar::Date became_resident_on = calendar::Date::first();
  calendar::Date address_notified_on = calendar::Date::first();
  std::string previous_address;  // empty for a resident born here

  std::string_view surname_kanji() const;
  std::string_view surname_kana() const;
};

struct PopulationConfig {
  std::uint64_t seed = 0;
  std::uint64_t residents = 0;  // kMinResidents .. kMaxResidents
  // A small country: only this many municipalities (deterministic, the same
  // for every seed; Population::create explains the choice).
  std::optional<std::size_t> municipality_limit;
  // The day the population is as of: ages follow the 2020 pyramid on this day
  // and every date is on or before it. 2002-08-05: Juki-net's start.
  calendar::Date base_date = calendar::Date::from_ymd(2002, 8, 5).value();
};

// The base date's years. The oldest are born up to kMaxAge + 1 years before
// it, and a correction (changes.hpp) moves a birth up to 30 days earlier: one
// year more, and from 1974 every date is a calendar::Date (1868 to 9999), the
// only dates the CS takes (backend/wire).
constexpr int kFirstBaseYear = calendar::Date::kFirstYear + kMaxAge + 2;
constexpr int kLastBaseYear = 9000;

constexpr std::uint64_t kMinResidents = 1'000;
constexpr std::uint64_t kMaxResidents = 125'000'000;

struct PopulationError {
  std::string message;
};

class Population {
 public:
  // Refuses a size outside [kMinResidents, kMaxResidents], a municipality
  // limit outside [1, 1741], a base date outside [kFirstBaseYear, kLastBaseYear].
  //
  // With a limit N the municipalities are chosen round-robin over
  // ceil(N / 2) prefectures (at most 47) taken by population, Tokyo first,
  // each prefecture giving its municipalities in code order: N = 3 gives
  // 千代田区 and 中央区 in Tokyo and Kanagawa's first city.
  static Result<Population, PopulationError> create(const PopulationConfig& config);

  const PopulationConfig& config() const { return config_; }
  const Geography& geography() const { return geography_; }
  std::uint64_t size() const { return config_.residents; }

  // The municipalities in this population (Geography indexes, in code order).
  std::span<const std::size_t> municipalities() const { return selected_; }
  bool has(std::size_t municipality) const;
  // The residents of a municipality: indexes [first, first + count); count 0
  // for one not in this population.
  struct Range {
    std::uint64_t first = 0;
    std::uint64_t count = 0;
  };
  Range range_of(std::size_t municipality) const;
  std::size_t municipality_of(std::uint64_t index) const;  // index < size()

  // Resident codes: a keyed permutation of indexes over [0, 10^10), so every
  // index (also those past size(): births and new codes of later days) has
  // its own code, and a code gives its index back.
  std::string code_of(std::uint64_t index) const;
  std::optional<std::uint64_t> index_of(std::string_view code) const;

  // One resident, regenerated from its index alone (index < size()).
  Resident resident(std::uint64_t index) const;
  void resident(std::uint64_t index, Resident& out) const;

  // Residents [first, end) in index order, one reused Resident passed to `f`.
  void for_each(std::uint64_t first, std::uint64_t end,
                const std::function<void(const Resident&)>& f) const;
  void for_each(const std::function<void(const Resident&)>& f) const { for_each(0, size(), f); }

  // A fresh address in a municipality, with the stream it is drawn from.
  std::string random_address(std::size_t municipality, Rng& rng) const;
  // A municipality of this population drawn in proportion to its residents,
  // anywhere or within a prefecture (Geography::size() when the prefecture has
  // none in this population).
  std::size_t random_municipality(Rng& rng) const;
  std::size_t random_municipality_in(int prefecture, Rng& rng) const;
  const AgeTable& ages() const { return ages_; }
  // A given name for a sex and birth year (its generation's names).
  Name random_given_name(Sex sex, int birth_year, Rng& rng) const;
  Name random_surname(Rng& rng) const;

 private:
  Population(const PopulationConfig& config, std::vector<std::size_t> selected);
  struct Household;
  void plan_household(std::size_t municipality, std::uint64_t key, std::uint64_t head_index,
                      int size, Household& out) const;
  void fill_member(const Household& h, int member, std::uint64_t index, Resident& out) const;
  // Sizes of the households of a block (local block number in a municipality).
  int block_households(std::size_t municipality, std::uint64_t block, int length,
                       std::array<std::uint8_t, 128>& sizes) const;

  PopulationConfig config_;
  Geography geography_;
  AgeTable ages_;
  DecimalPermutation codes_;
  std::vector<std::size_t> selected_;
  // years_before(base date, years) as days since 1970, for years 0..kMaxAge + 1:
  // the bounds of every date drawn for the residents, computed once.
  std::array<std::int32_t, kMaxAge + 2> years_before_base_{};
  std::vector<std::uint64_t> first_index_;       // per selected municipality, plus the end
  std::vector<std::int32_t> selected_position_;  // geography index -> position or -1
  std::vector<std::uint32_t> surname_cumulative_;
};

}  // namespace juki::backend::population
