#include "backend/population/permutation.hpp"

#include <string_view>

#include "backend/population/random.hpp"
#include "common/check_digits.hpp"

namespace juki::backend::population {

namespace {
constexpr std::uint32_t kHalf = 100'000;
}

DecimalPermutation::DecimalPermutation(std::uint64_t key) {
  for (std::size_t i = 0; i < round_keys_.size(); ++i) round_keys_[i] = derive(key, i);
}

std::uint32_t DecimalPermutation::round(int i, std::uint32_t half) const {
  return static_cast<std::uint32_t>(mix64(round_keys_[i] ^ half) % kHalf);
}

std::uint64_t DecimalPermutation::forward(std::uint64_t value) const {
  auto left = static_cast<std::uint32_t>(value / kHalf);
  auto right = static_cast<std::uint32_t>(value % kHalf);
  for (int i = 0; i < 6; ++i) {
    const std::uint32_t next = (left + round(i, right)) % kHalf;
    left = right;
    right = next;
  }
  return std::uint64_t{left} * kHalf + right;
}

std::uint64_t DecimalPermutation::inverse(std::uint64_t value) const {
  auto left = static_cast<std::uint32_t>(value / kHalf);
  auto right = static_cast<std::uint32_t>(value % kHalf);
  for (int i = 5; i >= 0; --i) {
    const std::uint32_t previous = (right + kHalf - round(i, left)) % kHalf;
    right = left;
    left = previous;
  }
  return std::uint64_t{left} * kHalf + right;
}

RangePermutation::RangePermutation(std::uint64_t key, std::uint64_t n) : n_(n == 0 ? 1 : n) {
  int bits = 2;
  while ((std::uint64_t{1} << bits) < n_) bits += 2;
  half_bits_ = bits / 2;
  for (std::size_t i = 0; i < round_keys_.size(); ++i) round_keys_[i] = derive(key, i);
}

std::uint64_t RangePermutation::encrypt(std::uint64_t value) const {
  const std::uint64_t mask = (std::uint64_t{1} << half_bits_) - 1;
  std::uint64_t left = value >> half_bits_, right = value & mask;
  for (const std::uint64_t k : round_keys_) {
    const std::uint64_t next = left ^ (mix64(k ^ right) & mask);
    left = right;
    right = next;
  }
  return (left << half_bits_) | right;
}

std::uint64_t RangePermutation::operator()(std::uint64_t value) const {
  // Cycle walking: a permutation of [0, 4^k) restricted to [0, n) by
  // re-encrypting values that fall outside, which stays a bijection.
  do value = encrypt(value);
  while (value >= n_);
  return value;
}

void resident_code(const DecimalPermutation& codes, std::uint64_t index, char* out) {
  std::uint64_t v = codes.forward(index % DecimalPermutation::kDomain);
  for (int i = 9; i >= 0; --i) {
    out[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  out[10] = *check_digits::resident_code(std::string_view(out, 10));
}

std::string resident_code(const DecimalPermutation& codes, std::uint64_t index) {
  std::string s(11, '0');
  resident_code(codes, index, s.data());
  return s;
}

}  // namespace juki::backend::population
