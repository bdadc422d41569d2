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

}  // namespace juki::sim
