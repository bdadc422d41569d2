// The simulator's randomness for cards: the operating system's generator
// (getrandom). card_os itself never does I/O; it is handed this stream.
#pragma once

#include "card_os/card/card.hpp"

namespace juki::sim {

class SystemRandom final : public card_os::RandomSource {
 public:
  void fill(std::span<std::uint8_t> out) override;
};

}  // namespace juki::sim
