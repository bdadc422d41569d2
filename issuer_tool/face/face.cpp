#include "issuer_tool/face/face.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <tuple>

#include "common/card_information.hpp"
#include "common/text.hpp"
#include "issuer_tool/face/braille.hpp"

namespace juki::face {

using text::decode_utf8;
using text::xml_escape;

namespace {

constexpr std::string_view kTitle = "住民基本台帳カード";

Unexpected<FaceError> refuse(std::string field, const std::string& why) {
  std::string message = field + ": " + why;
  return unexpected(FaceError{std::move(field), std::move(message)});
}

// One line of printable text: UTF-8, no control character (the face has no
// line breaks, and XML 1.0 cannot carry most of them), not only spaces.
std::optional<std::string> text_problem(std::string_view text) {
  const auto decoded = decode_utf8(text);
  if (!decoded) return "is not valid UTF-8";
  bool visible = false;
  for (char32_t c : *decoded) {
    if (c < 0x20 || (c >= 0x7F && c <= 0x9F) || c == 0xFFFE || c == 0xFFFF)
      return "holds a control character";
    if (c != U' ' && c != U'\u3000') visible = true;
  }
  if (!visible) return "is empty";
  return std::nullopt;
}

// card_information::parse_date starts at 1900 (a card's dates); a resident
// may have been born earlier. The Gregorian calendar repeats every 400 years,
// so 18xx-MM-DD is a date exactly when 22xx-MM-DD is.
std::optional<Date> parse_birth_date(std::string_view s) {
  if (s.size() == 8 && s.substr(0, 2) == "18") {
    std::string later(s);
    later[0] = '2';
    later[1] = '2';
    auto d = card_information::parse_date(later);
    if (d) d->year -= 400;
    return d;
  }
  return card_information::parse_date(s);
}

bool before(const Date& a, const Date& b) {
  return std::tie(a.year, a.month, a.day) < std::tie(b.year, b.month, b.day);
}

std::optional<std::string> media_type(const Bytes& b) {
  static constexpr std::uint8_t kJpeg[] = {0xFF, 0xD8, 0xFF};
  static constexpr std::uint8_t kPng[] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  auto starts = [&](const auto& magic) {
    return b.size() >= std::size(magic) &&
           std::equal(std::begin(magic), std::end(magic), b.begin());
  };
  if (starts(kJpeg)) return "image/jpeg";
  if (starts(kPng)) return "image/png";
  return std::nullopt;
}

Result<Photo, FaceError> read_photo(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return refuse("photo_path", "cannot open " + path);
  Bytes bytes;
  char buffer[65536];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    bytes.insert(bytes.end(), buffer, buffer + in.gcount());
    if (bytes.size() > kMaxPhotoBytes)
      return refuse("photo_path",
                    path + " is larger than " + std::to_string(kMaxPhotoBytes) + " bytes");
  }
  if (in.bad()) return refuse("photo_path", "cannot read " + path);
  const auto type = media_type(bytes);
  if (!type) return refuse("photo_path", path + " is neither JPEG nor PNG");
  return Photo{path, *type, std::move(bytes)};
}

std::string_view card_field(card_information::Problem p) {
  using card_information::Problem;
  switch (p) {
    case Problem::municipality:
      return "municipality_code";
    case Problem::issue_date:
    case Problem::expiry:
      return "issue_date";
    case Problem::face:
      return "face";
    default:
      return "serial";
  }
}

nlohmann::ordered_json date_json(const Date& d) {
  const auto era = to_era(d);
  return {{"iso", format_iso(d)}, {"era", era ? format_era(*era) : ""}};
}

// "令和8年11月24日 (2026-11-24)": the face prints both calendars.
std::string both_calendars(const Date& d) {
  const auto era = to_era(d);
  return (era ? format_era(*era) + " " : std::string()) + "(" + format_iso(d) + ")";
}

// ------------------------------------------------------------ SVG

// Millimetres with at most two decimals, without trailing zeros, whatever
// the C locale says about decimal points.
std::string num(double v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, 2);
  std::string s(buf, r.ptr);
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

// A rough advance width in em (Latin half, everything else full): enough to
// tell when a long name or address must be squeezed to its box.
double width_em(std::string_view text) {
  const auto decoded = decode_utf8(text);
  double em = 0;
  if (decoded)
    for (char32_t c : *decoded) em += c < 0x80 ? 0.6 : 1.0;
  return em;
}

struct Text {
  std::string id;          // empty: none
  double x = 0, y = 0;     // the baseline's start (or end, with anchor "end")
  double size = 2.8;       // font size, mm
  double max_width = 0;    // > 0: squeezed to this width when it would be wider
  std::string attributes;  // more attributes, already escaped
};

void text(std::string& svg, const Text& t, std::string_view content) {
  svg += "  <text";
  if (!t.id.empty()) svg += " id=\"" + t.id + "\"";
  svg += " x=\"" + num(t.x) + "\" y=\"" + num(t.y) + "\" font-size=\"" + num(t.size) + "\"";
  if (t.max_width > 0 && width_em(content) * t.size > t.max_width)
    svg += " textLength=\"" + num(t.max_width) + "\" lengthAdjust=\"spacingAndGlyphs\"";
  if (!t.attributes.empty()) svg += " " + t.attributes;
  svg += ">" + xml_escape(content) + "</text>\n";
}

constexpr std::string_view kLabel = "fill=\"#3a4a5c\"";

// A label and its value on one row (生年月日 昭和55年1月2日 ...).
void row(std::string& svg, const std::string& id, double y, std::string_view label,
         std::string_view value, double size, double max_width) {
  text(svg, {id + "-label", 4, y, 2, 0, std::string(kLabel)}, label);
  text(svg, {id, 17, y, size, max_width, ""}, value);
}

std::string base64(const Bytes& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

// The photo area of face B (x 62, y 10, 20 x 25 mm).
void photo(std::string& svg, const std::optional<Photo>& p) {
  const std::string box = "x=\"62\" y=\"10\" width=\"20\" height=\"25\"";
  if (p) {
    svg += "  <image id=\"photo\" " + box +
           " preserveAspectRatio=\"xMidYMid slice\" href=\"data:" + p->media_type + ";base64," +
           base64(p->bytes) + "\"/>\n";
    svg += "  <rect " + box + " fill=\"none\" stroke=\"#8899aa\" stroke-width=\"0.15\"/>\n";
  } else {
    svg += "  <rect id=\"photo-placeholder\" " + box +
           " fill=\"#e6eaef\" stroke=\"#8899aa\" stroke-width=\"0.15\" stroke-dasharray=\"0.8 "
           "0.5\"/>\n";
    text(svg, {"", 72, 23.3, 2.4, 0, "text-anchor=\"middle\" " + std::string(kLabel)}, "写真");
  }
}

void braille_request(std::string& svg, const Braille& b) {
  svg += "  <g id=\"braille-request\">\n";
  svg +=
      "  <rect x=\"4\" y=\"43.5\" width=\"77.6\" height=\"5.8\" fill=\"none\" stroke=\"#c00000\" "
      "stroke-width=\"0.25\" stroke-dasharray=\"1 0.6\"/>\n";
  text(svg, {"braille-label", 5, 45.9, 1.8, 0, "font-weight=\"bold\" fill=\"#c00000\""},
       "点字加工依頼");
  text(svg, {"braille-kana", 5, 48.4, 1.4, 13, "fill=\"#c00000\""}, b.kana);
  text(svg,
       {"braille-cells", 19, 47.8, 4, 61.6,
        "font-family=\"'DejaVu Sans', 'Noto Sans Symbols 2', sans-serif\""},
       b.cells);
  svg += "  </g>\n";
}

}  // namespace

std::string sex_label(int sex) {
  switch (sex) {
    case 1:
      return "男";
    case 2:
      return "女";
    default:
      return "－";
  }
}

Result<FaceData, FaceError> make_face_data(const FaceRequest& r) {
  FaceData f;
  if (r.face != 'A' && r.face != 'B') return refuse("face", "is not A or B");
  f.face = r.face;
  if (auto why = text_problem(r.name)) return refuse("name", *why);
  f.name = r.name;

  // The card fields, checked and the expiry computed as the card information
  // EF has them (common/card_information.hpp): the face and the chip agree.
  const bool hex = r.serial.size() == 2 * card_information::kSerialBytes &&
                   std::all_of(r.serial.begin(), r.serial.end(), [](char c) {
                     return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
                   });
  if (!hex) return refuse("serial", "is not 16 uppercase hex digits");
  const auto ef =
      card_information::encode({r.municipality_code, r.issue_date, r.face, *from_hex(r.serial)});
  if (!ef) return refuse(std::string(card_field(ef.error())), std::string(describe(ef.error())));
  const std::string_view content(reinterpret_cast<const char*>(ef->data()), ef->size());
  f.issue_date = *card_information::parse_date(content.substr(card_information::kIssueDateAt, 8));
  f.expiry_date = *card_information::parse_date(content.substr(card_information::kExpiryAt, 8));
  f.serial = r.serial;
  f.municipality_code = r.municipality_code;
  if (auto why = text_problem(r.municipality_name)) return refuse("municipality_name", *why);
  f.municipality_name = r.municipality_name;

  if (f.face == 'B') {
    if (auto why = text_problem(r.address)) return refuse("address", *why);
    f.address = r.address;
    const auto born = parse_birth_date(r.birth_date);
    if (!born || !to_era(*born))
      return refuse("birth_date", "is not a date YYYYMMDD from 18681023 (明治元年)");
    if (before(f.issue_date, *born)) return refuse("birth_date", "is after the issue date");
    f.birth_date = born;
    if (r.sex != 1 && r.sex != 2 && r.sex != 9)
      return refuse("sex", "is not 1 (male), 2 (female) or 9 (unspecified)");
    f.sex = r.sex;
    if (!r.photo_path.empty()) {
      auto p = read_photo(r.photo_path);
      if (!p) return unexpected(p.error());
      f.photo = std::move(*p);
    }
  }

  if (r.braille) {
    auto cells = to_braille(r.name_kana);
    if (!cells) return refuse("name_kana", cells.error().message);
    f.braille = Braille{r.name_kana, std::move(*cells)};
  }
  return f;
}

std::string print_data_json(const FaceData& f) {
  nlohmann::ordered_json j;
  j["format"] = "juki-card-face/1";
  j["face"] = std::string(1, f.face);
  j["title"] = kTitle;
  j["serial"] = f.serial;
  j["name"] = f.name;
  j["issue_date"] = date_json(f.issue_date);
  j["expiry_date"] = date_json(f.expiry_date);
  j["municipality"] = {{"code", f.municipality_code}, {"name", f.municipality_name}};
  if (f.face == 'B') {
    j["address"] = f.address;
    j["birth_date"] = f.birth_date ? date_json(*f.birth_date) : nlohmann::ordered_json();
    j["sex"] = {{"code", f.sex}, {"label", sex_label(f.sex)}};
    j["photo"] = f.photo ? nlohmann::ordered_json{{"path", f.photo->path},
                                                  {"media_type", f.photo->media_type},
                                                  {"size", f.photo->bytes.size()}}
                         : nlohmann::ordered_json();
  }
  j["braille"] =
      f.braille ? nlohmann::ordered_json{{"kana", f.braille->kana}, {"cells", f.braille->cells}}
                : nlohmann::ordered_json();
  return j.dump(2) + "\n";
}

std::string render_svg(const FaceData& f) {
  std::string svg =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"85.6mm\" height=\"53.98mm\" "
      "viewBox=\"0 0 85.6 53.98\" font-family=\"'Noto Sans CJK JP', 'IPAexGothic', sans-serif\">\n";
  svg += "  <title>" + std::string(kTitle) + " (" + std::string(1, f.face) + ")</title>\n";
  // ID-1 with its 3.18 mm corners; the stroke stays inside the card.
  svg +=
      "  <rect id=\"card\" x=\"0.1\" y=\"0.1\" width=\"85.4\" height=\"53.78\" rx=\"3.08\" "
      "fill=\"#f5f8fb\" stroke=\"#8899aa\" stroke-width=\"0.2\"/>\n";
  text(svg, {"title", 4, 7.5, 3.6, 0, "font-weight=\"bold\""}, kTitle);

  svg += "  <g id=\"face-" + std::string(1, f.face) + "\">\n";
  if (f.face == 'A') {
    text(svg, {"name-label", 4, 13, 2, 0, std::string(kLabel)}, "氏名");
    text(svg, {"name", 4, 20, 5.5, 77.6, ""}, f.name);
    row(svg, "expiry", 28, "有効期限", both_calendars(f.expiry_date), 3, 64.6);
    row(svg, "municipality", 33.5, "交付市町村",
        f.municipality_name + " (" + f.municipality_code + ")", 3, 64.6);
  } else {
    text(svg, {"name-label", 4, 11.5, 2, 0, std::string(kLabel)}, "氏名");
    text(svg, {"name", 4, 16.8, 4.4, 56, ""}, f.name);
    text(svg, {"address-label", 4, 20.6, 2, 0, std::string(kLabel)}, "住所");
    text(svg, {"address", 4, 24.6, 2.6, 56, ""}, f.address);
    row(svg, "birth-date", 29, "生年月日", f.birth_date ? both_calendars(*f.birth_date) : "", 2.6,
        43);
    row(svg, "sex", 33, "性別", sex_label(f.sex), 2.6, 43);
    row(svg, "expiry", 37, "有効期限", both_calendars(f.expiry_date), 2.6, 43);
    row(svg, "municipality", 41, "交付市町村",
        f.municipality_name + " (" + f.municipality_code + ")", 2.6, 43);
    photo(svg, f.photo);
  }
  svg += "  </g>\n";

  if (f.braille) braille_request(svg, *f.braille);
  text(svg, {"serial", 4, 52.2, 1.6, 0, "font-family=\"monospace\""}, "No. " + f.serial);
  text(svg, {"issue-date", 81.6, 52.2, 1.6, 0, "text-anchor=\"end\" " + std::string(kLabel)},
       "交付 " + both_calendars(f.issue_date));
  svg += "</svg>\n";
  return svg;
}

}  // namespace juki::face
