#include "backend/population/report.hpp"

#include <array>
#include <cstdint>
#include <cstring>

namespace juki::backend::population {

using calendar::Date;

namespace {
constexpr std::array<std::string_view, kReasonCount> kReasonNames = {
    "birth",
    "move_in",
    "ex_officio_entry",
    "naturalization",
    "nationality_acquired",
    "code_entry",
    "death",
    "move_out",
    "ex_officio_deletion",
    "nationality_lost",
    "declared_missing",
    "move_within",
    "name_change",
    "ex_officio_correction",
    "resident_code_change",
    "address_renumbering",
};

void append_day(std::string& out, Date d) {
  char buffer[Date::kTextSize];
  d.write(buffer);
  out.append(buffer, Date::kTextSize);
}
}  // namespace

std::string_view to_string(Reason reason) {
  return kReasonNames[static_cast<std::size_t>(reason)];
}

std::optional<Reason> parse_reason(std::string_view text) {
  for (std::size_t i = 0; i < kReasonNames.size(); ++i)
    if (kReasonNames[i] == text) return static_cast<Reason>(i);
  return std::nullopt;
}

ReasonKind kind_of(Reason reason) {
  if (reason <= Reason::code_entry) return ReasonKind::entry;
  if (reason <= Reason::declared_missing) return ReasonKind::deletion;
  return ReasonKind::correction;
}

std::string report_id(Date day, std::uint64_t number) {
  // YYYY-MM-DD without its dashes, then one.
  char text[Date::kTextSize];
  day.write(text);
  std::string s;
  s.append(text, 4).append(text + 5, 2).append(text + 8, 2).push_back('-');
  std::string digits = std::to_string(number);
  if (digits.size() < 6) s.append(6 - digits.size(), '0');
  return s + digits;
}

void append_json_string(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  // Runs that need no escape (all of our own text) are appended whole; eight
  // bytes are checked at once for a control character, a quote or a backslash.
  std::size_t run = 0, i = 0;
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL, kHighs = 0x8080808080808080ULL;
  auto has_zero = [](std::uint64_t v) { return (v - kOnes) & ~v & kHighs; };
  for (; i + 8 <= text.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, text.data() + i, 8);
    if ((((w - kOnes * 0x20) & ~w & kHighs) | has_zero(w ^ (kOnes * '"')) |
         has_zero(w ^ (kOnes * '\\'))) != 0)
      break;
  }
  for (; i < text.size(); ++i) {
    const auto u = static_cast<unsigned char>(text[i]);
    if (u >= 0x20 && u != '"' && u != '\\') continue;
    out.append(text.data() + run, i - run);
    run = i + 1;
    if (u == '"' || u == '\\') {
      out += '\\';
      out += static_cast<char>(u);
    } else {
      out += "\\u00";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  out.append(text.data() + run, text.size() - run);
  out += '"';
}

void append_json_line(std::string& out, std::string_view report, std::string_view municipality,
                      Reason reason, Date date, const Resident& r, std::string_view previous_code) {
  out += "{\"report\":";
  append_json_string(out, report);
  out += ",\"municipality\":";
  append_json_string(out, municipality);
  out += ",\"reason\":\"";
  out += to_string(reason);
  out += "\",\"date\":\"";
  append_day(out, date);
  out += '"';
  if (reason == Reason::resident_code_change) {
    out += ",\"previous_code\":";
    append_json_string(out, previous_code);
  }
  out += ",\"resident\":{\"code\":";
  append_json_string(out, r.code);
  if (kind_of(reason) != ReasonKind::deletion) {
    out += ",\"name_kanji\":";
    append_json_string(out, r.name_kanji);
    out += ",\"name_kana\":";
    append_json_string(out, r.name_kana);
    out += ",\"birth_date\":\"";
    append_day(out, r.birth_date);
    out += "\",\"sex\":\"";
    out += to_string(r.sex);
    out += "\",\"address\":";
    append_json_string(out, r.address);
    out += ",\"household_head\":\"";
    out += to_kanji(r.relationship);
    out += "\",\"became_resident_on\":\"";
    append_day(out, r.became_resident_on);
    out += "\",\"address_notified_on\":\"";
    append_day(out, r.address_notified_on);
    out += '"';
    if (!r.previous_address.empty()) {
      out += ",\"previous_address\":";
      append_json_string(out, r.previous_address);
    }
  }
  out += "}}\n";
}

void append_json_line(const Geography& geography, const ChangeReport& c, std::string& out) {
  append_json_line(out, c.report, geography[c.municipality].code, c.reason, c.date, c.resident,
                   c.previous_code);
}

}  // namespace juki::backend::population
