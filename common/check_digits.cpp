#include "common/check_digits.hpp"

namespace juki::check_digits {

namespace {
bool all_digits(std::string_view s) {
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}
}  // namespace

std::optional<char> weighted_mod11(std::string_view d) {
  if (d.empty() || d.size() > 11 || !all_digits(d)) return std::nullopt;
  const int count = static_cast<int>(d.size());
  int sum = 0;
  for (int n = 1; n <= count; ++n) {
    const int p = d[static_cast<std::size_t>(count - n)] - '0';  // n-th from the right
    const int q = n <= 6 ? n + 1 : n - 5;
    sum += p * q;
  }
  const int r = sum % 11;
  return static_cast<char>('0' + (r <= 1 ? 0 : 11 - r));
}

std::optional<char> resident_code(std::string_view d) {
  if (d.size() != 10) return std::nullopt;
  return weighted_mod11(d);
}

bool resident_code_valid(std::string_view code) {
  if (code.size() != 11) return false;
  const auto check = resident_code(code.substr(0, 10));
  return check && *check == code[10];
}

std::optional<char> municipality(std::string_view d) {
  if (d.size() != 5 || !all_digits(d)) return std::nullopt;
  int s = 0;
  for (std::size_t i = 0; i < 5; ++i) s += static_cast<int>(6 - i) * (d[i] - '0');
  return static_cast<char>('0' + (11 - s % 11) % 10);
}

bool municipality_valid(std::string_view code) {
  if (code.size() != 6) return false;
  const auto check = municipality(code.substr(0, 5));
  return check && *check == code[5];
}

}  // namespace juki::check_digits
