#include "simulator/blank_card.hpp"

#include <utility>

#include "card_os/nvm/persistent_memory.hpp"

namespace juki::sim {

Result<std::unique_ptr<juki::sim::FileStorage>, std::string> create_blank_image(
    const std::string& path, const card_os::FactoryProfile& profile, juki::RandomSource& random) {
  auto storage = juki::sim::FileStorage::create(
      path, card_os::PersistentMemory::storage_size_for(profile.geometry));
  if (!storage) return unexpected(storage.error());
  if (auto made = card_os::Card::manufacture(**storage, profile, random); !made)
    return unexpected(made.error().message());
  return std::move(*storage);
}

Result<std::unique_ptr<BlankCardInMemory>, std::string> BlankCardInMemory::make(
    const card_os::FactoryProfile& profile, ByteView seed, std::string description) {
  std::unique_ptr<BlankCardInMemory> card(
      new BlankCardInMemory(card_os::PersistentMemory::storage_size_for(profile.geometry), seed));
  if (auto made = card_os::Card::manufacture(card->storage_, profile, card->random_); !made)
    return unexpected("cannot manufacture the in-process card: " + made.error().message());
  auto transport =
      InProcessTransport::connect(card->storage_, card->random_, std::move(description));
  if (!transport) return unexpected(transport.error().message);
  card->transport_ = std::move(*transport);
  return card;
}

}  // namespace juki::sim
