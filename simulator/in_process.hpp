// InProcessTransport: a card_os::Card in this process, behind the Transport
// interface. The storage and random source belong to the caller and outlive
// the transport; the Card object is the "powered chip" and is recreated on a
// power cycle, like a real card pulled out and put back.
#pragma once

#include <memory>
#include <string>

#include "card_os/card/card.hpp"
#include "card_os/nvm/storage.hpp"
#include "common/transport.hpp"

namespace juki::sim {

class InProcessTransport final : public juki::Transport {
 public:
  // Powers up the card held in `storage` (which must already hold a
  // manufactured card image).
  static Result<std::unique_ptr<InProcessTransport>, TransportError> connect(
      card_os::Storage& storage, juki::RandomSource& random,
      std::string description = "in-process card");

  Result<Bytes, TransportError> transmit(ByteView command) override;
  Result<Bytes, TransportError> reset() override;
  Result<Bytes, TransportError> power_cycle() override;
  Bytes atr() const override;
  std::string describe() const override { return description_; }

  // The powered card, or nullptr when the last power-up failed.
  card_os::Card* card() { return card_.get(); }

 private:
  InProcessTransport(card_os::Storage& storage, juki::RandomSource& random, std::string description,
                     std::unique_ptr<card_os::Card> card);

  card_os::Storage& storage_;
  juki::RandomSource& random_;
  std::string description_;
  std::unique_ptr<card_os::Card> card_;
};

}  // namespace juki::sim
