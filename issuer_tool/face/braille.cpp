#include "issuer_tool/face/braille.hpp"

#include <array>

#include "common/text.hpp"

namespace juki::face {

using text::append_utf8;
using text::decode_utf8;
using text::encode_utf8;

namespace {

// One entry of specs/card-face.md "Braille": the kana, the dots of the
// prefix cell (濁音符 5, 半濁音符 6, 拗音符 4, 拗濁音符 4-5, 拗半濁音符 4-6;
// empty: none) and the dots of the main cell.
struct Entry {
  std::u32string_view kana;
  std::string_view prefix;
  std::string_view cell;
};

// clang-format off
constexpr std::array kTable{
    // 清音: the vowel (ア 1, イ 1-2, ウ 1-4, エ 1-2-4, オ 2-4) plus the row's
    // consonant dots (カ 6, サ 5-6, タ 3-5, ナ 3, ハ 3-6, マ 3-5-6, ラ 5).
    Entry{U"ア", "", "1"},     Entry{U"イ", "", "12"},     Entry{U"ウ", "", "14"},
    Entry{U"エ", "", "124"},   Entry{U"オ", "", "24"},
    Entry{U"カ", "", "16"},    Entry{U"キ", "", "126"},    Entry{U"ク", "", "146"},
    Entry{U"ケ", "", "1246"},  Entry{U"コ", "", "246"},
    Entry{U"サ", "", "156"},   Entry{U"シ", "", "1256"},   Entry{U"ス", "", "1456"},
    Entry{U"セ", "", "12456"}, Entry{U"ソ", "", "2456"},
    Entry{U"タ", "", "135"},   Entry{U"チ", "", "1235"},   Entry{U"ツ", "", "1345"},
    Entry{U"テ", "", "12345"}, Entry{U"ト", "", "2345"},
    Entry{U"ナ", "", "13"},    Entry{U"ニ", "", "123"},    Entry{U"ヌ", "", "134"},
    Entry{U"ネ", "", "1234"},  Entry{U"ノ", "", "234"},
    Entry{U"ハ", "", "136"},   Entry{U"ヒ", "", "1236"},   Entry{U"フ", "", "1346"},
    Entry{U"ヘ", "", "12346"}, Entry{U"ホ", "", "2346"},
    Entry{U"マ", "", "1356"},  Entry{U"ミ", "", "12356"},  Entry{U"ム", "", "13456"},
    Entry{U"メ", "", "123456"}, Entry{U"モ", "", "23456"},
    Entry{U"ヤ", "", "34"},    Entry{U"ユ", "", "346"},    Entry{U"ヨ", "", "345"},
    Entry{U"ラ", "", "15"},    Entry{U"リ", "", "125"},    Entry{U"ル", "", "145"},
    Entry{U"レ", "", "1245"},  Entry{U"ロ", "", "245"},
    Entry{U"ワ", "", "3"},     Entry{U"ヰ", "", "23"},     Entry{U"ヱ", "", "235"},
    Entry{U"ヲ", "", "35"},    Entry{U"ン", "", "356"},
    Entry{U"ッ", "", "2"},     Entry{U"ー", "", "25"},
    // 濁音: 濁音符 (5) before the 清音.
    Entry{U"ガ", "5", "16"},   Entry{U"ギ", "5", "126"},   Entry{U"グ", "5", "146"},
    Entry{U"ゲ", "5", "1246"}, Entry{U"ゴ", "5", "246"},
    Entry{U"ザ", "5", "156"},  Entry{U"ジ", "5", "1256"},  Entry{U"ズ", "5", "1456"},
    Entry{U"ゼ", "5", "12456"}, Entry{U"ゾ", "5", "2456"},
    Entry{U"ダ", "5", "135"},  Entry{U"ヂ", "5", "1235"},  Entry{U"ヅ", "5", "1345"},
    Entry{U"デ", "5", "12345"}, Entry{U"ド", "5", "2345"},
    Entry{U"バ", "5", "136"},  Entry{U"ビ", "5", "1236"},  Entry{U"ブ", "5", "1346"},
    Entry{U"ベ", "5", "12346"}, Entry{U"ボ", "5", "2346"},
    Entry{U"ヴ", "5", "14"},
    // 半濁音: 半濁音符 (6) before the ハ row.
    Entry{U"パ", "6", "136"},  Entry{U"ピ", "6", "1236"},  Entry{U"プ", "6", "1346"},
    Entry{U"ペ", "6", "12346"}, Entry{U"ポ", "6", "2346"},
    // 拗音: 拗音符 (4) before the row's ア/ウ/オ cell.
    Entry{U"キャ", "4", "16"},   Entry{U"キュ", "4", "146"},   Entry{U"キョ", "4", "246"},
    Entry{U"シャ", "4", "156"},  Entry{U"シュ", "4", "1456"},  Entry{U"ショ", "4", "2456"},
    Entry{U"チャ", "4", "135"},  Entry{U"チュ", "4", "1345"},  Entry{U"チョ", "4", "2345"},
    Entry{U"ニャ", "4", "13"},   Entry{U"ニュ", "4", "134"},   Entry{U"ニョ", "4", "234"},
    Entry{U"ヒャ", "4", "136"},  Entry{U"ヒュ", "4", "1346"},  Entry{U"ヒョ", "4", "2346"},
    Entry{U"ミャ", "4", "1356"}, Entry{U"ミュ", "4", "13456"}, Entry{U"ミョ", "4", "23456"},
    Entry{U"リャ", "4", "15"},   Entry{U"リュ", "4", "145"},   Entry{U"リョ", "4", "245"},
    // 拗濁音: 拗音符 and 濁音符 in one cell (4-5).
    Entry{U"ギャ", "45", "16"},  Entry{U"ギュ", "45", "146"},  Entry{U"ギョ", "45", "246"},
    Entry{U"ジャ", "45", "156"}, Entry{U"ジュ", "45", "1456"}, Entry{U"ジョ", "45", "2456"},
    Entry{U"ヂャ", "45", "135"}, Entry{U"ヂュ", "45", "1345"}, Entry{U"ヂョ", "45", "2345"},
    Entry{U"ビャ", "45", "136"}, Entry{U"ビュ", "45", "1346"}, Entry{U"ビョ", "45", "2346"},
    // 拗半濁音: 拗音符 and 半濁音符 in one cell (4-6).
    Entry{U"ピャ", "46", "136"}, Entry{U"ピュ", "46", "1346"}, Entry{U"ピョ", "46", "2346"},
};
// clang-format on

// Every dot string of the table is well formed: a typo fails the build.
constexpr bool table_valid() {
  for (const Entry& e : kTable) {
    if (dots(e.cell) == 0 || (!e.prefix.empty() && dots(e.prefix) == 0)) return false;
  }
  return true;
}
static_assert(table_valid());

// Hiragana U+3041..U+3096 sit 0x60 below the same katakana.
char32_t as_katakana(char32_t c) {
  return c >= U'\u3041' && c <= U'\u3096' ? c + 0x60 : c;
}

bool small_kana(char32_t c) {
  return c == U'ァ' || c == U'ィ' || c == U'ゥ' || c == U'ェ' || c == U'ォ' || c == U'ャ' ||
         c == U'ュ' || c == U'ョ' || c == U'ヮ' || c == U'ヵ' || c == U'ヶ';
}

const Entry* find(std::u32string_view kana) {
  for (const Entry& e : kTable) {
    if (e.kana == kana) return &e;
  }
  return nullptr;
}

}  // namespace

Result<std::string, BrailleError> to_braille(std::string_view kana) {
  const auto decoded = decode_utf8(kana);
  if (!decoded) return unexpected(BrailleError{0, "", "the kana are not valid UTF-8"});
  std::u32string text = *decoded;
  for (char32_t& c : text) c = as_katakana(c);
  std::string out;
  bool any_kana = false;  // only spaces would emboss nothing readable
  for (std::size_t i = 0; i < text.size();) {
    if (text[i] == U' ' || text[i] == U'\u3000') {
      append_utf8(out, braille_cell(0));
      ++i;
      continue;
    }
    // A 拗音 is two kana and two cells: try the pair before the single kana.
    const Entry* e = i + 1 < text.size() ? find(std::u32string_view(text).substr(i, 2)) : nullptr;
    const std::size_t used = e ? 2 : 1;
    if (!e) e = find(std::u32string_view(text).substr(i, 1));
    if (!e) {
      const std::string c = encode_utf8((*decoded)[i]);  // as given, hiragana too
      const std::string why = small_kana(text[i])
                                  ? "a small kana that makes no 拗音 (キャ ... ピョ)"
                                  : "not in the braille table";
      return unexpected(BrailleError{i, c,
                                     "character " + std::to_string(i + 1) + " (" + c + ") is " +
                                         why + " (specs/card-face.md 4)"});
    }
    any_kana = true;
    if (!e->prefix.empty()) append_utf8(out, braille_cell(dots(e->prefix)));
    append_utf8(out, braille_cell(dots(e->cell)));
    i += used;
  }
  if (!any_kana) return unexpected(BrailleError{0, "", "no kana to transcribe"});
  return out;
}

}  // namespace juki::face
