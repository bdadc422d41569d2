// Japanese braille (日本点字, 6 dots) for the embossing request on the card
// face: the kana of a name in Unicode braille patterns (U+2800 + the dots,
// dot n as bit n-1). The table is specs/card-face.md "Braille"; a character
// outside it is refused, never guessed, because an embossed card cannot be
// corrected.
//
// The kana are transcribed one by one, as given: braille writes a long vowel
// ウ/オ段 with the long-vowel mark (太郎: タロー), but whether a written ウ is
// a long vowel (タロウ) or a vowel of its own (井上: イノウエ) depends on the
// word, so the counter types the braille reading (タロー) and this code does
// not decide it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace juki::face {

struct BrailleError {
  std::size_t index = 0;  // the refused character's position, in characters from 0
  std::string character;  // the refused character (UTF-8); empty if the input is not UTF-8
  std::string message;
};

// Katakana (or hiragana, read as the same kana) and spaces to braille cells,
// UTF-8 in and out. A space (U+0020 or U+3000) is the blank cell U+2800.
Result<std::string, BrailleError> to_braille(std::string_view kana);

// Dot numbers ("1256") to the cell's bits (dot n is bit n-1); 0 for anything
// that is not digits 1..6 each at most once, which the table never holds.
constexpr std::uint8_t dots(std::string_view numbers) {
  std::uint8_t bits = 0;
  for (char c : numbers) {
    if (c < '1' || c > '6') return 0;
    const auto bit = static_cast<std::uint8_t>(1u << (c - '1'));
    if (bits & bit) return 0;
    bits |= bit;
  }
  return bits;
}
// The cell's Unicode braille pattern, U+2800 + bits.
constexpr char32_t braille_cell(std::uint8_t bits) {
  return U'\u2800' + bits;
}

}  // namespace juki::face
