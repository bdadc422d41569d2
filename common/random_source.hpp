// RandomSource: where a card gets its randomness (challenges, salts, keys
// generated on the card). The card OS never draws it itself: the simulator
// hands it the operating system's generator (common/system_random.hpp), and
// tests and benchmarks a deterministic stream (card_os/security/random.hpp).
#pragma once

#include <cstdint>
#include <span>

namespace juki {

class RandomSource {
 public:
  virtual ~RandomSource() = default;
  virtual void fill(std::span<std::uint8_t> out) = 0;
};

}  // namespace juki
