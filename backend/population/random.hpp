// The population's randomness: SplitMix64 and an unbiased bounded draw, integer
// operations only, so that a seed gives the same population on every machine
// and compiler (std:: distributions are implementation-defined; floating point
// is not used where it could change a result).
#pragma once

#include <cstdint>

namespace juki::backend::population {

// SplitMix64's finalizer: a bijective mix of 64 bits.
constexpr std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// A key derived from a parent key and one more value: how every household,
// resident, day and event gets its own stream without generating the others.
constexpr std::uint64_t derive(std::uint64_t key, std::uint64_t value) {
  return mix64(key ^ mix64(value + 0x9E3779B97F4A7C15ULL));
}

// Domain tags, so that streams derived from the same numbers do not coincide.
enum class Stream : std::uint64_t {
  household_partition = 1,
  household = 2,
  member = 3,
  resident_code = 4,
  day = 5,
  subjects = 6,
  event = 7,
};

constexpr std::uint64_t derive(std::uint64_t key, Stream stream, std::uint64_t value) {
  return derive(derive(key, static_cast<std::uint64_t>(stream)), value);
}

// SplitMix64 as a stream: fast, 64 bits of state, good enough for synthetic data.
class Rng {
 public:
  explicit constexpr Rng(std::uint64_t key) : state_(key) {}

  constexpr std::uint64_t next() {
    state_ += 0x9E3779B97F4A7C15ULL;
    return mix64(state_);
  }

  // Uniform in [0, n), 0 < n <= 2^32, without bias (Lemire's multiply-shift
  // with rejection).
  constexpr std::uint32_t below(std::uint64_t n) {
    std::uint64_t m = (next() >> 32) * n;
    if (static_cast<std::uint32_t>(m) < n) {
      const std::uint32_t threshold = static_cast<std::uint32_t>((0x100000000ULL - n) % n);
      while (static_cast<std::uint32_t>(m) < threshold) m = (next() >> 32) * n;
    }
    return static_cast<std::uint32_t>(m >> 32);
  }

  // Uniform in [lo, hi] (lo <= hi, hi - lo < 2^32).
  constexpr std::int64_t between(std::int64_t lo, std::int64_t hi) {
    return lo + below(static_cast<std::uint64_t>(hi - lo) + 1);
  }

  // True with probability numerator / denominator (denominator <= 2^32).
  constexpr bool chance(std::uint64_t numerator, std::uint64_t denominator) {
    return below(denominator) < numerator;
  }

 private:
  std::uint64_t state_;
};

}  // namespace juki::backend::population
