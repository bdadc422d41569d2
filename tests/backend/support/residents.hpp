// Resident codes for the backend's tests: the n-th valid code (10 digits of
// n, then the check digit).
#pragma once

#include <cstdint>
#include <string>

#include "common/check_digits.hpp"

namespace juki::test {

inline std::string resident_code(std::int64_t n) {
  std::string ten = std::to_string(n);
  ten.insert(0, 10 - ten.size(), '0');
  return ten + *check_digits::resident_code(ten);
}

}  // namespace juki::test
