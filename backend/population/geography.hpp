// Japan's 47 prefectures and 1,741 municipalities, synthetic where the facts
// are not needed: the prefectures (codes, names, their municipality counts and
// 2020 census populations) are the real ones; the municipalities have valid
// 6-digit codes (check digit of common/check_digits.hpp), plausible names and
// heavy-tailed sizes. Tokyo's 23 special wards keep their real codes and names
// (131016 千代田区 ...). The geography is the same for every seed: a
// municipality code always names the same place, whatever the population.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "backend/population/random.hpp"

namespace juki::backend::population {

struct Prefecture {
  int code;  // 1..47
  std::string_view name;
  int municipalities;        // incl. Tokyo's 23 wards
  int cities;                // 市
  int villages;              // 村; the rest are towns (町)
  int population_thousands;  // 2020 census
};

// The 47, in code order; prefectures()[code - 1].code == code.
std::span<const Prefecture> prefectures();
// The prefecture server's code: PP000 and its check digit ("130001" for Tokyo).
std::string prefecture_server_code(int prefecture);

enum class MunicipalityKind { ward, city, town, village };
std::string_view to_string(MunicipalityKind kind);

struct Municipality {
  std::string code;  // 6 digits, the last the check digit
  std::string name;  // e.g. 桜川市
  int prefecture = 0;
  MunicipalityKind kind = MunicipalityKind::city;
  // Share of the national population, in units of 1/16384 of a thousand
  // people: the prefecture's census population times the municipality's share
  // of it. Integers, so that apportioning residents is exact everywhere.
  std::uint32_t weight = 0;
  std::vector<std::string> towns;  // 町名 of its addresses
};

class Geography {
 public:
  Geography();  // Japan

  std::span<const Municipality> municipalities() const { return municipalities_; }
  const Municipality& operator[](std::size_t i) const { return municipalities_[i]; }
  std::size_t size() const { return municipalities_.size(); }
  // The municipalities of a prefecture are contiguous: [first, first + count).
  std::size_t first_of(int prefecture) const { return first_[prefecture - 1]; }
  std::size_t count_of(int prefecture) const { return first_[prefecture] - first_[prefecture - 1]; }
  // Index of the municipality with this code, or size().
  std::size_t find(std::string_view code) const;

  // A municipality drawn in proportion to its population, anywhere in Japan or
  // within one prefecture.
  std::size_t random_municipality(Rng& rng) const;
  std::size_t random_municipality_in(int prefecture, Rng& rng) const;
  int random_prefecture(Rng& rng) const;

 private:
  std::vector<Municipality> municipalities_;
  std::vector<std::size_t> first_;                // 48 entries
  std::vector<std::uint64_t> cumulative_weight_;  // per municipality, inclusive
};

}  // namespace juki::backend::population
