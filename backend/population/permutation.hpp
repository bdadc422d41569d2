// Keyed permutations of integer ranges (Feistel networks), so that distinct
// indexes give distinct values without remembering which were given:
// resident codes from resident indexes, and a day's distinct subjects.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace juki::backend::population {

// A keyed bijection of [0, 10^10): six balanced Feistel rounds over two base
// 10^5 halves with addition modulo 10^5, so the domain is exactly 10^10 and no
// cycle walking is needed.
class DecimalPermutation {
 public:
  explicit DecimalPermutation(std::uint64_t key);
  std::uint64_t forward(std::uint64_t value) const;  // value < 10^10
  std::uint64_t inverse(std::uint64_t value) const;  // value < 10^10

  static constexpr std::uint64_t kDomain = 10'000'000'000ULL;

 private:
  std::uint32_t round(int i, std::uint32_t half) const;
  std::array<std::uint64_t, 6> round_keys_{};
};

// A keyed bijection of [0, n), n >= 1: a Feistel network over the smallest
// even power of two >= n, walking the cycle until the value falls in range
// (fewer than 4 steps on average).
class RangePermutation {
 public:
  RangePermutation(std::uint64_t key, std::uint64_t n);
  std::uint64_t operator()(std::uint64_t value) const;  // value < n
  std::uint64_t size() const { return n_; }

 private:
  std::uint64_t encrypt(std::uint64_t value) const;
  std::array<std::uint64_t, 4> round_keys_{};
  std::uint64_t n_;
  int half_bits_;
};

// The resident code (住民票コード) of a resident index: the 10 permuted digits
// and the check digit of common/check_digits.hpp.
std::string resident_code(const DecimalPermutation& codes, std::uint64_t index);
// Writes the 11 digits at `out`.
void resident_code(const DecimalPermutation& codes, std::uint64_t index, char* out);

}  // namespace juki::backend::population
