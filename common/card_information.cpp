#include "common/card_information.hpp"

#include <algorithm>

#include "common/check_digits.hpp"

namespace juki::card_information {

namespace {

constexpr char kHex[] = "0123456789ABCDEF";

std::string_view text(ByteView b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

int days_in_month(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && leap_year(year) ? 29 : kDays[month - 1];
}

}  // namespace

bool leap_year(int y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

std::optional<Date> parse_date(std::string_view s) {
  if (s.size() != 8 ||
      !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  auto number = [&](std::size_t at, std::size_t n) {
    int v = 0;
    for (std::size_t i = at; i < at + n; ++i) v = v * 10 + (s[i] - '0');
    return v;
  };
  const Date d{number(0, 4), number(4, 2), number(6, 2)};
  if (d.year < kFirstYear || d.year > kLastYear || d.month < 1 || d.month > 12 || d.day < 1 ||
      d.day > days_in_month(d.year, d.month))
    return std::nullopt;
  return d;
}

std::string format_date(const Date& d) {
  std::string s(8, '0');
  int v = d.year * 10000 + d.month * 100 + d.day;
  for (std::size_t i = 8; i-- > 0; v /= 10) s[i] = static_cast<char>('0' + v % 10);
  return s;
}

Date years_after(const Date& d, int years) {
  Date out{d.year + years, d.month, d.day};
  if (out.month == 2 && out.day == 29 && !leap_year(out.year)) out.day = 28;
  return out;
}

std::string_view describe(Problem p) {
  switch (p) {
    case Problem::none:
      return "valid";
    case Problem::size:
      return "not 39 bytes";
    case Problem::municipality:
      return "the municipality code is not 6 digits with its check digit";
    case Problem::issue_date:
      return "the issue date is not a date YYYYMMDD (1900..9989)";
    case Problem::expiry:
      return "the expiry is not the issue date plus 10 years";
    case Problem::face:
      return "the face version is not A or B";
    case Problem::serial:
      return "the serial is not the card's";
  }
  return "unknown";
}

Problem check(ByteView content, ByteView card_serial) {
  if (content.size() != kSize) return Problem::size;
  const std::string_view s = text(content);
  if (!check_digits::municipality_valid(s.substr(kMunicipalityAt, 6))) return Problem::municipality;
  const auto issued = parse_date(s.substr(kIssueDateAt, 8));
  if (!issued || issued->year + kValidityYears > kLastYear) return Problem::issue_date;
  const auto expiry = parse_date(s.substr(kExpiryAt, 8));
  if (!expiry || !(*expiry == years_after(*issued, kValidityYears))) return Problem::expiry;
  if (s[kFaceAt] != 'A' && s[kFaceAt] != 'B') return Problem::face;
  if (card_serial.size() != kSerialBytes) return Problem::serial;
  for (std::size_t i = 0; i < kSerialBytes; ++i) {
    if (s[kSerialAt + 2 * i] != kHex[card_serial[i] >> 4] ||
        s[kSerialAt + 2 * i + 1] != kHex[card_serial[i] & 0x0F])
      return Problem::serial;
  }
  return Problem::none;
}

Result<Bytes, Problem> encode(const Fields& f) {
  if (!check_digits::municipality_valid(f.municipality)) return unexpected(Problem::municipality);
  const auto issued = parse_date(f.issue_date);
  if (!issued || issued->year + kValidityYears > kLastYear) return unexpected(Problem::issue_date);
  const Date expiry = years_after(*issued, kValidityYears);
  if (f.face != 'A' && f.face != 'B') return unexpected(Problem::face);
  if (f.serial.size() != kSerialBytes) return unexpected(Problem::serial);
  std::string s = f.municipality + f.issue_date + format_date(expiry) + f.face;
  for (std::uint8_t b : f.serial) {
    s.push_back(kHex[b >> 4]);
    s.push_back(kHex[b & 0x0F]);
  }
  return Bytes(s.begin(), s.end());
}

}  // namespace juki::card_information
