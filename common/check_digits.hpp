// Check digits of the codes the card and the host both check, written once
// (specs/juki-ap.md 3): the resident code (住民票コード) and the municipality
// code (全国地方公共団体コード). No dependencies: the card OS and the issuer
// tool link the same code.
#pragma once

#include <optional>
#include <string_view>

namespace juki::check_digits {

// The check digit of the individual-number family (the ministerial formula):
// with P_n the n-th digit from the right of `digits` (1 to 11 ASCII digits)
// and Q_n = n + 1 for n = 1..6, n - 5 for n = 7..11, the check digit is
// 11 - (sum P_n * Q_n mod 11), or 0 when that remainder is 0 or 1. nullopt
// for anything else.
std::optional<char> weighted_mod11(std::string_view digits);

// Resident code: 10 digits and their weighted_mod11 check digit. nullopt
// unless `ten_digits` is 10 ASCII digits.
std::optional<char> resident_code(std::string_view ten_digits);
// 11 ASCII digits whose last is the check digit of the first 10.
bool resident_code_valid(std::string_view eleven_digits);

// Municipality code (JIS X 0401 / X 0402, specs/pki.md "Municipality codes"):
// for digits d1..d5, s = 6*d1 + 5*d2 + 4*d3 + 3*d4 + 2*d5, check digit
// (11 - s mod 11) mod 10. municipality("13101") == '6'. nullopt unless
// `five_digits` is 5 ASCII digits.
std::optional<char> municipality(std::string_view five_digits);
// 6 ASCII digits whose last is the check digit of the first 5.
bool municipality_valid(std::string_view six_digits);

}  // namespace juki::check_digits
