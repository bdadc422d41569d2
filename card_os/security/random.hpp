// Deterministic random stream for cards in tests, benchmarks and replayable
// traces: mbedTLS CTR_DRBG (AES-256) instantiated from a caller-given seed.
#pragma once

#include <memory>

#include "common/bytes.hpp"
#include "common/random_source.hpp"

namespace juki::card_os {

class DrbgRandom final : public RandomSource {
 public:
  explicit DrbgRandom(ByteView seed);
  ~DrbgRandom() override;
  DrbgRandom(const DrbgRandom&) = delete;
  DrbgRandom& operator=(const DrbgRandom&) = delete;
  void fill(std::span<std::uint8_t> out) override;

  struct State;  // mbedTLS context; opaque

 private:
  std::unique_ptr<State> state_;
};

}  // namespace juki::card_os
