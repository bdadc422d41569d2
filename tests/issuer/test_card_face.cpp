// The card face (issuer_tool/face, specs/card-face.md): eras, braille, the
// request's checks, the print data JSON and the SVG.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "issuer_tool/face/braille.hpp"
#include "issuer_tool/face/era.hpp"
#include "issuer_tool/face/face.hpp"
#include "support/temp_dir.hpp"

using namespace juki;
using namespace juki::face;

namespace {

std::string era(int y, int m, int d) {
  const auto e = to_era(Date{y, m, d});
  REQUIRE(e);
  return format_era(*e);
}

// The test's own braille: dot numbers separated by spaces ("45 1456"), one
// cell each, as Unicode braille (U+2800 + bit n-1 for dot n), written
// independently of the library's table.
std::string cells(const std::string& spec) {
  std::string out;
  std::size_t i = 0;
  while (i <= spec.size()) {
    const std::size_t end = std::min(spec.find(' ', i), spec.size());
    unsigned bits = 0;
    for (std::size_t k = i; k < end; ++k) bits |= 1u << (spec[k] - '1');
    const char32_t c = 0x2800 + bits;  // three UTF-8 bytes: E2 A0..A3 xx
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
    i = end + 1;
  }
  return out;
}

std::string braille(const std::string& kana) {
  const auto r = to_braille(kana);
  INFO(kana << ": " << (r ? "" : r.error().message));
  REQUIRE(r);
  return *r;
}

FaceRequest request_b() {
  FaceRequest r;
  r.face = 'B';
  r.name = "住基 太郎";
  r.name_kana = "ジューキ タロー";
  r.birth_date = "19800102";
  r.sex = 1;
  r.address = "東京都千代田区千代田1番1号";
  r.municipality_code = "131016";
  r.municipality_name = "千代田区";
  r.issue_date = "20261124";
  r.serial = "0123456789ABCDEF";
  r.braille = true;
  return r;
}

FaceRequest request_a() {
  FaceRequest r = request_b();
  r.face = 'A';
  r.braille = false;
  return r;
}

FaceData make(const FaceRequest& r) {
  auto f = make_face_data(r);
  INFO((f ? "" : f.error().message));
  REQUIRE(f);
  return *f;
}

FaceError refused(const FaceRequest& r) {
  auto f = make_face_data(r);
  REQUIRE_FALSE(f);
  INFO(f.error().message);
  CHECK(f.error().message.rfind(f.error().field + ": ", 0) == 0);  // names its field first
  return f.error();
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

const std::string kJpeg("\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01\x01\x00\xFF\xD9", 16);
const std::string kJpegBase64 = "/9j/4AAQSkZJRgABAQD/2Q==";
const std::string kPng("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR", 16);

// A well-formedness check of the XML the renderer writes (declaration,
// elements, double-quoted attributes, text, the five predefined entities):
// tags balance, one root, no raw '<' or stray '&' in text or attributes.
std::string xml_problem(const std::string& x) {
  std::vector<std::string> open;
  int roots = 0;
  std::size_t i = 0;
  auto entity_ok = [&](std::size_t at) {
    for (const char* e : {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"})
      if (x.compare(at, std::char_traits<char>::length(e), e) == 0) return true;
    return false;
  };
  auto name_char = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == ':' || c == '_';
  };
  if (x.rfind("<?xml ", 0) == 0) i = x.find("?>") + 2;
  while (i < x.size()) {
    if (x[i] == '&' && !entity_ok(i)) return "stray & at " + std::to_string(i);
    if (x[i] == '>') return "raw > in text at " + std::to_string(i);  // the renderer escapes it
    if (x[i] != '<') {
      if (open.empty() && !std::isspace(static_cast<unsigned char>(x[i])))
        return "text outside the root at " + std::to_string(i);
      ++i;
      continue;
    }
    const bool closing = x.compare(i, 2, "</") == 0;
    std::size_t k = i + (closing ? 2 : 1);
    const std::size_t name_at = k;
    while (k < x.size() && name_char(x[k])) ++k;
    const std::string name = x.substr(name_at, k - name_at);
    if (name.empty()) return "a tag without a name at " + std::to_string(i);
    if (closing) {
      if (open.empty() || open.back() != name) return "</" + name + "> closes nothing open";
      open.pop_back();
      if (k >= x.size() || x[k] != '>') return "bad closing tag " + name;
      i = k + 1;
      continue;
    }
    std::set<std::string> attributes;
    for (;;) {
      while (k < x.size() && x[k] == ' ') ++k;
      if (k >= x.size()) return "unterminated tag " + name;
      if (x.compare(k, 2, "/>") == 0 || x[k] == '>') break;
      const std::size_t a = k;
      while (k < x.size() && name_char(x[k])) ++k;
      const std::string attribute = x.substr(a, k - a);
      if (attribute.empty() || x.compare(k, 2, "=\"") != 0)
        return "bad attribute in " + name + " at " + std::to_string(k);
      if (!attributes.insert(attribute).second) return "attribute twice: " + attribute;
      k += 2;
      while (k < x.size() && x[k] != '"') {
        if (x[k] == '<') return "raw < in attribute " + attribute;
        if (x[k] == '&' && !entity_ok(k)) return "stray & in attribute " + attribute;
        ++k;
      }
      if (k >= x.size()) return "unterminated attribute " + attribute;
      ++k;
    }
    const bool empty = x[k] == '/';
    if (open.empty() && ++roots > 1) return "a second root " + name;
    if (!empty) open.push_back(name);
    i = k + (empty ? 2 : 1);
  }
  if (!open.empty()) return "<" + open.back() + "> never closed";
  if (roots != 1) return "no root";
  return "";
}

std::size_t count(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

// The element whose id is `id`, from its '<' to its end tag or '/>'.
std::string element(const std::string& svg, const std::string& id) {
  const std::size_t at = svg.find(" id=\"" + id + "\"");
  REQUIRE(at != std::string::npos);
  const std::size_t start = svg.rfind('<', at);
  const std::size_t end = svg.find('\n', at);
  return svg.substr(start, end - start);
}

}  // namespace

// ------------------------------------------------------------ eras

TEST_CASE("era dates: the example, 元年, and every era's first day and the day before") {
  CHECK(era(2026, 11, 24) == "令和8年11月24日");
  CHECK(era(2019, 5, 1) == "令和元年5月1日");
  CHECK(era(2019, 4, 30) == "平成31年4月30日");
  CHECK(era(2020, 1, 1) == "令和2年1月1日");
  CHECK(era(1989, 1, 8) == "平成元年1月8日");
  CHECK(era(1989, 1, 7) == "昭和64年1月7日");
  CHECK(era(1926, 12, 25) == "昭和元年12月25日");
  CHECK(era(1926, 12, 24) == "大正15年12月24日");
  CHECK(era(1912, 7, 30) == "大正元年7月30日");
  CHECK(era(1912, 7, 29) == "明治45年7月29日");
  CHECK(era(1868, 10, 23) == "明治元年10月23日");
  CHECK(era(1899, 12, 31) == "明治32年12月31日");
  CHECK_FALSE(to_era(Date{1868, 10, 22}));
  CHECK_FALSE(to_era(Date{1800, 1, 1}));
  const auto e = to_era(Date{1980, 1, 2});
  REQUIRE(e);
  CHECK(*e == EraDate{"昭和", 55, 1, 2});
  CHECK(format_iso(Date{2026, 1, 5}) == "2026-01-05");
}

// ------------------------------------------------------------ braille

TEST_CASE("braille cells: dot n is bit n-1 above U+2800") {
  CHECK(dots("1") == 0x01);
  CHECK(dots("123456") == 0x3F);
  CHECK(dots("45") == 0x18);
  CHECK(dots("") == 0);
  CHECK(dots("7") == 0);
  CHECK(dots("11") == 0);
  CHECK(braille_cell(dots("1256")) == U'\u2833');
}

TEST_CASE("braille of known words, against the standard transcription", "[req:K6]") {
  // Hand-written code points, not derived from any table.
  CHECK(braille("ジューキ") == "\u2818\u2839\u2812\u2823");        // ⠘⠹⠒⠣
  CHECK(braille("タロー") == "\u2815\u281A\u2812");                // ⠕⠚⠒ 太郎
  CHECK(braille("キャ") == "\u2808\u2821");                        // ⠈⠡
  CHECK(braille("ガッコー") == "\u2810\u2821\u2802\u282A\u2812");  // ⠐⠡⠂⠪⠒ 学校
  CHECK(braille("パン") == "\u2820\u2825\u2834");                  // ⠠⠥⠴
  // The same in dot numbers.
  CHECK(braille("ジューキ") == cells("45 1456 25 126"));
  CHECK(braille("パン") == cells("6 136 356"));
  // Kana are transcribed as given: the counter types the long vowel (タロー);
  // a written ウ stays ウ, as in 井上 (イノウエ), where it is no long vowel.
  CHECK(braille("タロウ") == cells("135 245 14"));
  CHECK(braille("ガッコウ") == cells("5 16 2 246 14"));
  CHECK(braille("イノウエ") == cells("12 234 14 124"));
  // Spaces (ASCII or ideographic) are blank cells; hiragana read as katakana.
  CHECK(braille("ジューキ タロー") == cells("45 1456 25 126  135 245 25"));
  CHECK(braille("ジューキ\u3000タロー") == braille("ジューキ タロー"));
  CHECK(braille("じゅーき たろー") == braille("ジューキ タロー"));
  CHECK(braille("ヤマダ ハナコ") == cells("34 1356 5 135  136 13 246"));
  CHECK(braille("ショウヘイ") == cells("4 2456 14 12346 12"));
  CHECK(braille("リョーコ") == cells("4 245 25 246"));
  CHECK(braille("ピョン") == cells("46 2346 356"));
  CHECK(braille("ヴ") == cells("5 14"));
}

TEST_CASE("braille: every kana of the 50 sounds, from the vowel and consonant rule") {
  // Rule of 日本点字: the vowel (ア 1, イ 12, ウ 14, エ 124, オ 24) plus the
  // row's consonant dots. Built here from the rule, checked against the
  // library's literal table.
  const std::vector<std::string> vowels{"1", "12", "14", "124", "24"};
  const std::vector<std::pair<std::string, std::string>> rows{
      {"アイウエオ", ""},  {"カキクケコ", "6"},  {"サシスセソ", "56"},  {"タチツテト", "35"},
      {"ナニヌネノ", "3"}, {"ハヒフヘホ", "36"}, {"マミムメモ", "356"}, {"ラリルレロ", "5"},
  };
  for (const auto& [kana, consonant] : rows) {
    for (std::size_t v = 0; v < 5; ++v) {
      const std::string one = kana.substr(3 * v, 3);  // each katakana is 3 UTF-8 bytes
      INFO(one);
      CHECK(braille(one) == cells(vowels[v] + consonant));
    }
  }
  const std::map<std::string, std::string> others{
      {"ヤ", "34"},  {"ユ", "346"}, {"ヨ", "345"}, {"ワ", "3"}, {"ヰ", "23"},
      {"ヱ", "235"}, {"ヲ", "35"},  {"ン", "356"}, {"ッ", "2"}, {"ー", "25"},
  };
  for (const auto& [kana, dots] : others) {
    INFO(kana);
    CHECK(braille(kana) == cells(dots));
  }
  CHECK(braille("ア") == "\u2801");
  CHECK(braille("メ") == "\u283F");
}

TEST_CASE("braille: 濁音 and 半濁音 take a prefix cell, 5 and 6") {
  const std::vector<std::pair<std::string, std::string>> pairs{{"ガギグゲゴ", "カキクケコ"},
                                                               {"ザジズゼゾ", "サシスセソ"},
                                                               {"ダヂヅデド", "タチツテト"},
                                                               {"バビブベボ", "ハヒフヘホ"}};
  for (const auto& [voiced, plain] : pairs) {
    for (std::size_t v = 0; v < 5; ++v) {
      INFO(voiced.substr(3 * v, 3));
      CHECK(braille(voiced.substr(3 * v, 3)) == cells("5") + braille(plain.substr(3 * v, 3)));
    }
  }
  const std::string p = "パピプペポ", h = "ハヒフヘホ";
  for (std::size_t v = 0; v < 5; ++v)
    CHECK(braille(p.substr(3 * v, 3)) == cells("6") + braille(h.substr(3 * v, 3)));
}

TEST_CASE("braille: 拗音 is the prefix 4 (拗濁音 45, 拗半濁音 46) and the row's ア, ウ or オ") {
  struct Row {
    std::string i_kana, prefix, consonant;
  };
  const std::vector<Row> rows{
      {"キ", "4", "6"},   {"シ", "4", "56"},  {"チ", "4", "35"},  {"ニ", "4", "3"},
      {"ヒ", "4", "36"},  {"ミ", "4", "356"}, {"リ", "4", "5"},   {"ギ", "45", "6"},
      {"ジ", "45", "56"}, {"ヂ", "45", "35"}, {"ビ", "45", "36"}, {"ピ", "46", "36"},
  };
  const std::vector<std::pair<std::string, std::string>> smalls{
      {"ャ", "1"}, {"ュ", "14"}, {"ョ", "24"}};
  for (const Row& r : rows) {
    for (const auto& [small, vowel] : smalls) {
      INFO(r.i_kana + small);
      CHECK(braille(r.i_kana + small) == cells(r.prefix + " " + vowel + r.consonant));
    }
  }
}

TEST_CASE("braille refuses what it cannot transcribe, naming the character") {
  auto refused_at = [](const std::string& kana, std::size_t index, const std::string& c) {
    const auto r = to_braille(kana);
    INFO(kana);
    REQUIRE_FALSE(r);
    CHECK(r.error().index == index);
    CHECK(r.error().character == c);
    CHECK_FALSE(r.error().message.empty());
  };
  refused_at("タロA", 2, "A");
  refused_at("太郎", 0, "太");
  refused_at("ァ", 0, "ァ");
  refused_at("アャ", 1, "ャ");  // a small ャ makes a 拗音 only after the イ段
  refused_at("キァ", 1, "ァ");  // 外来音 are not in the table
  refused_at("ティ", 1, "ィ");
  refused_at("カ\u3099", 1, "\u3099");  // a combining dakuten, not a precomposed ガ
  refused_at("ｶ", 0, "ｶ");              // half-width katakana
  refused_at("タ・ロ", 1, "・");
  refused_at("たぁ", 1, "ぁ");  // named as typed, though read as katakana
  CHECK(
      to_braille("アャ").error().message ==
      "character 2 (ャ) is a small kana that makes no 拗音 (キャ ... ピョ) (specs/card-face.md 4)");
  CHECK_FALSE(to_braille(""));
  CHECK_FALSE(to_braille("  \u3000"));
  CHECK_FALSE(to_braille("\xE3\x82"));  // truncated UTF-8
  CHECK_FALSE(to_braille("\xC0\xAF"));  // overlong
}

// ------------------------------------------------------------ the request

TEST_CASE("face data: the card fields, the expiry 10 years on, and the braille",
          "[req:K3][req:K6]") {
  const FaceData f = make(request_b());
  CHECK(f.face == 'B');
  CHECK(f.issue_date == Date{2026, 11, 24});
  CHECK(f.expiry_date == Date{2036, 11, 24});
  CHECK(f.birth_date == Date{1980, 1, 2});
  CHECK(f.sex == 1);
  CHECK_FALSE(f.photo);
  REQUIRE(f.braille);
  CHECK(f.braille->kana == "ジューキ タロー");
  CHECK(f.braille->cells == cells("45 1456 25 126  135 245 25"));

  FaceRequest leap = request_a();
  leap.issue_date = "20240229";
  CHECK(make(leap).expiry_date == Date{2034, 2, 28});  // February 29 expires on the 28th
}

TEST_CASE("face data A ignores the face-B fields and the kana when no braille is asked",
          "[req:K2]") {
  FaceRequest r = request_a();
  r.birth_date = "garbage";
  r.sex = 7;
  r.address = "";
  r.photo_path = "/nonexistent/photo.jpg";
  r.name_kana = "漢字";
  const FaceData f = make(r);
  CHECK(f.address.empty());
  CHECK_FALSE(f.birth_date);
  CHECK(f.sex == 0);
  CHECK_FALSE(f.photo);
  CHECK_FALSE(f.braille);
}

TEST_CASE("face data refusals name the field") {
  auto field_of = [](auto change) {
    FaceRequest r = request_b();
    change(r);
    return refused(r).field;
  };
  CHECK(field_of([](FaceRequest& r) { r.face = 'C'; }) == "face");
  CHECK(field_of([](FaceRequest& r) { r.name = ""; }) == "name");
  CHECK(field_of([](FaceRequest& r) { r.name = " \u3000"; }) == "name");
  CHECK(field_of([](FaceRequest& r) { r.name = "太郎\n"; }) == "name");
  CHECK(field_of([](FaceRequest& r) { r.name = "\xFF"; }) == "name");
  CHECK(field_of([](FaceRequest& r) { r.serial = "0123456789abcdef"; }) == "serial");
  CHECK(field_of([](FaceRequest& r) { r.serial = "0123456789ABCDE"; }) == "serial");
  CHECK(field_of([](FaceRequest& r) { r.municipality_code = "131017"; }) == "municipality_code");
  CHECK(field_of([](FaceRequest& r) { r.municipality_code = "13101"; }) == "municipality_code");
  CHECK(field_of([](FaceRequest& r) { r.issue_date = "20260230"; }) == "issue_date");
  CHECK(field_of([](FaceRequest& r) { r.issue_date = "99950101"; }) == "issue_date");
  CHECK(field_of([](FaceRequest& r) { r.municipality_name = ""; }) == "municipality_name");
  CHECK(field_of([](FaceRequest& r) { r.address = ""; }) == "address");
  CHECK(field_of([](FaceRequest& r) { r.birth_date = "1980012"; }) == "birth_date");
  CHECK(field_of([](FaceRequest& r) { r.birth_date = "19810229"; }) == "birth_date");
  CHECK(field_of([](FaceRequest& r) { r.birth_date = "18681022"; }) == "birth_date");
  CHECK(field_of([](FaceRequest& r) { r.birth_date = "18990229"; }) == "birth_date");
  CHECK(field_of([](FaceRequest& r) { r.birth_date = "20261125"; }) == "birth_date");
  CHECK(field_of([](FaceRequest& r) { r.sex = 0; }) == "sex");
  CHECK(field_of([](FaceRequest& r) { r.sex = 3; }) == "sex");
  CHECK(field_of([](FaceRequest& r) { r.name_kana = "タロウA"; }) == "name_kana");
  CHECK(field_of([](FaceRequest& r) { r.photo_path = "/nonexistent/photo.jpg"; }) == "photo_path");

  FaceRequest r = request_b();
  r.municipality_code = "131017";
  CHECK(refused(r).message ==
        "municipality_code: the municipality code is not 6 digits with its check digit");
}

TEST_CASE("face data: the checks run in the spec's order, the first failure answers") {
  FaceRequest r = request_b();
  r.face = 'C';
  r.name = "";
  r.serial = "x";
  r.municipality_code = "1";
  r.issue_date = "1";
  r.municipality_name = "";
  r.address = "";
  r.birth_date = "1";
  r.sex = 0;
  r.photo_path = "/nonexistent";
  r.name_kana = "A";
  const std::vector<std::pair<std::string, std::function<void(FaceRequest&)>>> order{
      {"face", [](FaceRequest& q) { q.face = 'B'; }},
      {"name", [](FaceRequest& q) { q.name = "太郎"; }},
      {"serial", [](FaceRequest& q) { q.serial = "0123456789ABCDEF"; }},
      {"municipality_code", [](FaceRequest& q) { q.municipality_code = "131016"; }},
      {"issue_date", [](FaceRequest& q) { q.issue_date = "20261124"; }},
      {"municipality_name", [](FaceRequest& q) { q.municipality_name = "千代田区"; }},
      {"address", [](FaceRequest& q) { q.address = "東京都"; }},
      {"birth_date", [](FaceRequest& q) { q.birth_date = "19800102"; }},
      {"sex", [](FaceRequest& q) { q.sex = 2; }},
      {"photo_path", [](FaceRequest& q) { q.photo_path.clear(); }},
      {"name_kana", [](FaceRequest& q) { q.name_kana = "タロー"; }},
  };
  for (const auto& [field, fix] : order) {
    CHECK(refused(r).field == field);
    fix(r);
  }
  CHECK(make_face_data(r));
}

TEST_CASE("face data: birth dates back to 明治元年, leap years included") {
  FaceRequest r = request_b();
  r.birth_date = "18681023";
  CHECK(make(r).birth_date == Date{1868, 10, 23});
  r.birth_date = "18960229";  // 1896 was a leap year
  CHECK(make(r).birth_date == Date{1896, 2, 29});
  r.birth_date = "20261124";  // born on the issue day
  CHECK(make(r).birth_date == Date{2026, 11, 24});
}

TEST_CASE("face data: the photo is JPEG or PNG by its magic bytes") {
  test::TempDir dir;
  FaceRequest r = request_b();
  write_file(dir.file("p.jpg"), kJpeg);
  r.photo_path = dir.file("p.jpg");
  FaceData f = make(r);
  REQUIRE(f.photo);
  CHECK(f.photo->media_type == "image/jpeg");
  CHECK(f.photo->path == dir.file("p.jpg"));
  CHECK(f.photo->bytes.size() == 16);

  write_file(dir.file("p.bin"), kPng);  // the name does not matter, the bytes do
  r.photo_path = dir.file("p.bin");
  CHECK(make(r).photo->media_type == "image/png");

  write_file(dir.file("p.gif"), "GIF89a....");
  r.photo_path = dir.file("p.gif");
  CHECK(refused(r).field == "photo_path");
  write_file(dir.file("empty.jpg"), "");
  r.photo_path = dir.file("empty.jpg");
  CHECK(refused(r).field == "photo_path");
  write_file(dir.file("big.jpg"), kJpeg + std::string(kMaxPhotoBytes, 'x'));
  r.photo_path = dir.file("big.jpg");
  CHECK(refused(r).field == "photo_path");
}

// ------------------------------------------------------------ print data

TEST_CASE("print data of face A: exactly its fields", "[req:K2]") {
  const auto j = nlohmann::json::parse(print_data_json(make(request_a())));
  std::set<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.insert(k);
  CHECK(keys == std::set<std::string>{"format", "face", "title", "serial", "name", "issue_date",
                                      "expiry_date", "municipality", "braille"});
  CHECK(j["format"] == "juki-card-face/1");
  CHECK(j["face"] == "A");
  CHECK(j["title"] == "住民基本台帳カード");
  CHECK(j["serial"] == "0123456789ABCDEF");
  CHECK(j["name"] == "住基 太郎");
  CHECK(j["issue_date"] == nlohmann::json{{"iso", "2026-11-24"}, {"era", "令和8年11月24日"}});
  CHECK(j["expiry_date"] == nlohmann::json{{"iso", "2036-11-24"}, {"era", "令和18年11月24日"}});
  CHECK(j["municipality"] == nlohmann::json{{"code", "131016"}, {"name", "千代田区"}});
  CHECK(j["braille"].is_null());
}

TEST_CASE("print data of face B: the face-A fields, the person's, the photo and the braille",
          "[req:K2]") {
  test::TempDir dir;
  FaceRequest r = request_b();
  write_file(dir.file("p.jpg"), kJpeg);
  r.photo_path = dir.file("p.jpg");
  const auto j = nlohmann::json::parse(print_data_json(make(r)));
  std::set<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.insert(k);
  CHECK(keys == std::set<std::string>{"format", "face", "title", "serial", "name", "issue_date",
                                      "expiry_date", "municipality", "address", "birth_date", "sex",
                                      "photo", "braille"});
  CHECK(j["face"] == "B");
  CHECK(j["expiry_date"]["iso"] == "2036-11-24");
  CHECK(j["address"] == "東京都千代田区千代田1番1号");
  CHECK(j["birth_date"] == nlohmann::json{{"iso", "1980-01-02"}, {"era", "昭和55年1月2日"}});
  CHECK(j["sex"] == nlohmann::json{{"code", 1}, {"label", "男"}});
  CHECK(j["photo"] ==
        nlohmann::json{{"path", dir.file("p.jpg")}, {"media_type", "image/jpeg"}, {"size", 16}});
  CHECK(j["braille"] == nlohmann::json{{"kana", "ジューキ タロー"}, {"cells", "⠘⠹⠒⠣⠀⠕⠚⠒"}});

  r.photo_path.clear();
  r.sex = 2;
  const auto k = nlohmann::json::parse(print_data_json(make(r)));
  CHECK(k["photo"].is_null());
  CHECK(k["sex"] == nlohmann::json{{"code", 2}, {"label", "女"}});
  r.sex = 9;
  CHECK(nlohmann::json::parse(print_data_json(make(r)))["sex"]["label"] == "－");
}

// ------------------------------------------------------------ SVG

TEST_CASE("SVG of face A: ID-1 in millimetres, its fields, none of face B's", "[req:K2]") {
  const std::string svg = render_svg(make(request_a()));
  INFO(svg);
  CHECK(xml_problem(svg).empty());
  CHECK(svg.find("width=\"85.6mm\" height=\"53.98mm\" viewBox=\"0 0 85.6 53.98\"") !=
        std::string::npos);
  CHECK(element(svg, "title").find(">住民基本台帳カード</text>") != std::string::npos);
  CHECK(element(svg, "name").find(">住基 太郎</text>") != std::string::npos);
  CHECK(element(svg, "expiry").find(">令和18年11月24日 (2036-11-24)</text>") != std::string::npos);
  CHECK(element(svg, "municipality").find(">千代田区 (131016)</text>") != std::string::npos);
  CHECK(element(svg, "serial").find(">No. 0123456789ABCDEF</text>") != std::string::npos);
  CHECK(element(svg, "issue-date").find("令和8年11月24日 (2026-11-24)") != std::string::npos);
  CHECK(count(svg, "id=\"face-A\"") == 1);
  for (const char* b :
       {"face-B", "address", "birth-date", "sex", "photo", "photo-placeholder", "braille-request"})
    CHECK(svg.find(std::string(" id=\"") + b + "\"") == std::string::npos);
  for (const char* b : {"住所", "生年月日", "性別", "写真", "点字加工依頼", "1980"})
    CHECK(svg.find(b) == std::string::npos);
}

TEST_CASE("SVG of face B: the person's fields and the photo placeholder", "[req:K2]") {
  const std::string svg = render_svg(make(request_b()));
  INFO(svg);
  CHECK(xml_problem(svg).empty());
  CHECK(count(svg, "id=\"face-B\"") == 1);
  CHECK(element(svg, "address").find(">東京都千代田区千代田1番1号</text>") != std::string::npos);
  CHECK(element(svg, "birth-date").find(">昭和55年1月2日 (1980-01-02)</text>") !=
        std::string::npos);
  CHECK(element(svg, "sex").find(">男</text>") != std::string::npos);
  CHECK(element(svg, "photo-placeholder").find("x=\"62\" y=\"10\" width=\"20\" height=\"25\"") !=
        std::string::npos);
  CHECK(svg.find(">写真</text>") != std::string::npos);
  CHECK(svg.find("<image") == std::string::npos);
}

TEST_CASE("SVG of face B embeds the photo as a base64 data URI") {
  test::TempDir dir;
  FaceRequest r = request_b();
  write_file(dir.file("p.jpg"), kJpeg);
  r.photo_path = dir.file("p.jpg");
  std::string svg = render_svg(make(r));
  CHECK(xml_problem(svg).empty());
  CHECK(element(svg, "photo").find("href=\"data:image/jpeg;base64," + kJpegBase64 + "\"") !=
        std::string::npos);
  CHECK(svg.find("photo-placeholder") == std::string::npos);

  write_file(dir.file("p.png"), kPng);
  r.photo_path = dir.file("p.png");
  svg = render_svg(make(r));
  CHECK(element(svg, "photo").find("href=\"data:image/png;base64,iVBORw0KGgoAAAANSUhEUg==\"") !=
        std::string::npos);
}

TEST_CASE("SVG shows the braille embossing request only when asked", "[req:K6]") {
  const std::string with = render_svg(make(request_b()));
  const std::string area = with.substr(with.find("<g id=\"braille-request\">"));
  CHECK(area.find(">点字加工依頼</text>") != std::string::npos);
  CHECK(element(with, "braille-cells").find(">⠘⠹⠒⠣⠀⠕⠚⠒</text>") != std::string::npos);
  CHECK(element(with, "braille-kana").find(">ジューキ タロー</text>") != std::string::npos);
  CHECK(xml_problem(with).empty());

  FaceRequest r = request_b();
  r.braille = false;
  const std::string without = render_svg(make(r));
  CHECK(without.find("braille") == std::string::npos);
  CHECK(without.find("点字") == std::string::npos);
}

TEST_CASE("SVG escapes every text field") {
  FaceRequest r = request_b();
  r.name = "<&>\"' 太郎";
  r.address = "A&B <script>alert('x')</script>";
  r.municipality_name = "\"区\"";
  const std::string svg = render_svg(make(r));
  INFO(svg);
  CHECK(xml_problem(svg).empty());
  CHECK(element(svg, "name").find(">&lt;&amp;&gt;&quot;&apos; 太郎</text>") != std::string::npos);
  CHECK(
      element(svg, "address").find(">A&amp;B &lt;script&gt;alert(&apos;x&apos;)&lt;/script&gt;<") !=
      std::string::npos);
  CHECK(element(svg, "municipality").find(">&quot;区&quot; (131016)<") != std::string::npos);
  CHECK(svg.find("<script") == std::string::npos);
  CHECK(svg.find("<&") == std::string::npos);
  // The print data carries the same text unescaped (JSON has its own quoting).
  CHECK(nlohmann::json::parse(print_data_json(make(r)))["name"] == "<&>\"' 太郎");
}

TEST_CASE("SVG squeezes only a text wider than its box") {
  FaceRequest r = request_b();
  const std::string short_svg = render_svg(make(r));
  CHECK(element(short_svg, "address").find("textLength") == std::string::npos);
  r.address = "北海道札幌市中央区北一条西二丁目一番地札幌市役所本庁舎前の長い住所";
  const std::string long_svg = render_svg(make(r));
  CHECK(element(long_svg, "address").find("textLength=\"56\" lengthAdjust=\"spacingAndGlyphs\"") !=
        std::string::npos);
}

TEST_CASE("the well-formedness check itself catches broken XML") {
  CHECK(xml_problem("<a><b x=\"1\"/></a>").empty());
  CHECK_FALSE(xml_problem("<a><b></a>").empty());
  CHECK_FALSE(xml_problem("<a>x & y</a>").empty());
  CHECK_FALSE(xml_problem("<a x=\"<\"/>").empty());
  CHECK_FALSE(xml_problem("<a/><b/>").empty());
  CHECK_FALSE(xml_problem("<a x=\"1\" x=\"2\"/>").empty());
}

TEST_CASE("xmllint accepts the SVG of both faces with a photo, braille and hostile text") {
  const std::string xmllint = JUKI_XMLLINT;
  if (xmllint.empty() || xmllint.find("NOTFOUND") != std::string::npos)
    FAIL("xmllint not found at configure time: install libxml2-utils (scripts/setup)");
  test::TempDir dir;
  write_file(dir.file("p.jpg"), kJpeg);
  for (char face : {'A', 'B'}) {
    FaceRequest r = request_b();
    r.face = face;
    r.name = "<&>\"' 太郎";
    r.photo_path = dir.file("p.jpg");
    write_file(dir.file("face.svg"), render_svg(make(r)));
    const std::string cmd = xmllint + " --noout " + dir.file("face.svg") + " 2>" + dir.file("err");
    INFO(face << ": " << cmd);
    CHECK(std::system(cmd.c_str()) == 0);
  }
}
