#include "simulator/in_process.hpp"

#include <utility>

namespace juki::sim {

namespace {
TransportError power_up_failed(const card_os::CardFailure& f) {
  return {"card power-up failed: " + f.message()};
}
const TransportError kMute{"card is mute (power lost)"};
const TransportError kNoCard{"no card (the last power-up failed)"};
}  // namespace

InProcessTransport::InProcessTransport(card_os::Storage& storage, juki::RandomSource& random,
                                       std::string description, std::unique_ptr<card_os::Card> card)
    : storage_(storage),
      random_(random),
      description_(std::move(description)),
      card_(std::move(card)) {}

Result<std::unique_ptr<InProcessTransport>, TransportError> InProcessTransport::connect(
    card_os::Storage& storage, juki::RandomSource& random, std::string description) {
  auto card = card_os::Card::power_up(storage, random);
  if (!card) return unexpected(power_up_failed(card.error()));
  return std::unique_ptr<InProcessTransport>(
      new InProcessTransport(storage, random, std::move(description), std::move(*card)));
}

Result<Bytes, TransportError> InProcessTransport::transmit(ByteView command) {
  if (!card_) return unexpected(kNoCard);
  if (card_->mute()) return unexpected(kMute);
  Bytes response = card_->transmit(command);
  // Card::transmit answers empty only when the power was cut mid-command.
  if (response.empty()) return unexpected(kMute);
  return response;
}

Result<Bytes, TransportError> InProcessTransport::reset() {
  if (!card_) return unexpected(kNoCard);
  // A torn card has lost its power: a warm reset cannot bring it back.
  if (card_->mute()) return unexpected(TransportError{kMute.message + "; power-cycle it"});
  card_->reset();
  return card_->atr();
}

Result<Bytes, TransportError> InProcessTransport::power_cycle() {
  card_.reset();  // power off: all volatile state is gone before power-up
  auto card = card_os::Card::power_up(storage_, random_);
  if (!card) return unexpected(power_up_failed(card.error()));
  card_ = std::move(*card);
  return card_->atr();
}

Bytes InProcessTransport::atr() const {
  if (!card_ || card_->mute()) return {};
  return card_->atr();
}

}  // namespace juki::sim
