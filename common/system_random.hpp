// The simulator's randomness for cards: the operating system's generator
// (getrandom). card_os itself never does I/O; it is handed this stream.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "common/random_source.hpp"

namespace juki {

// getrandom, drawn 256 bytes at a time: a GET CHALLENGE costs no system call
// on most APDUs (as with arc4random). Bytes handed out are wiped from the
// buffer, and the rest when the source goes away (secure_wipe).
class SystemRandom final : public juki::RandomSource {
 public:
  SystemRandom() = default;
  ~SystemRandom() override;
  SystemRandom(const SystemRandom&) = delete;
  SystemRandom& operator=(const SystemRandom&) = delete;

  void fill(std::span<std::uint8_t> out) override;

 private:
  void refill();

  std::array<std::uint8_t, 256> pool_{};
  std::size_t used_ = 256;  // bytes of pool_ already handed out (all: empty)
};

}  // namespace juki
