// Common Japanese surnames and given names with their readings in full-width
// katakana (public, well-known names; no real person is meant). Given names
// come in three generations so that a grandmother is 和子 and a baby 陽菜.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace juki::backend::population {

struct Name {
  std::string_view kanji;
  std::string_view kana;
};

enum class NameEra { before_1960, from_1960_to_1989, from_1990 };
NameEra name_era(int birth_year);

// Ordered from the most common: a draw favours the first (names.cpp).
std::span<const Name> surnames();
std::span<const Name> male_names(NameEra era);
std::span<const Name> female_names(NameEra era);

}  // namespace juki::backend::population
