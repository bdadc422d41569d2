#include "issuer_tool/face/era.hpp"

#include <array>
#include <tuple>

namespace juki::face {

namespace {

struct Era {
  std::string_view name;
  Date start;
};

// Newest first: a date belongs to the first era that started on or before it.
constexpr std::array<Era, 5> kEras{{
    {"令和", {2019, 5, 1}},
    {"平成", {1989, 1, 8}},
    {"昭和", {1926, 12, 25}},
    {"大正", {1912, 7, 30}},
    {"明治", {1868, 10, 23}},
}};

bool on_or_after(const Date& d, const Date& start) {
  return std::tie(d.year, d.month, d.day) >= std::tie(start.year, start.month, start.day);
}

}  // namespace

std::optional<EraDate> to_era(const Date& d) {
  for (const Era& era : kEras) {
    if (on_or_after(d, era.start))
      return EraDate{era.name, d.year - era.start.year + 1, d.month, d.day};
  }
  return std::nullopt;
}

std::string format_era(const EraDate& e) {
  std::string s(e.era);
  s += e.year == 1 ? std::string("元") : std::to_string(e.year);
  s += "年" + std::to_string(e.month) + "月" + std::to_string(e.day) + "日";
  return s;
}

std::string format_iso(const Date& d) {
  const std::string compact = card_information::format_date(d);  // YYYYMMDD
  return compact.substr(0, 4) + "-" + compact.substr(4, 2) + "-" + compact.substr(6, 2);
}

}  // namespace juki::face
