// A new blank card image file, as the chip factory makes it: the card OS's
// factory state (transport-locked, specs/card-os.md 5) in a file of the size
// its geometry needs. juki-card-sim --create, the demo and the batch
// issuance's in-process readers make their cards with it.
#pragma once

#include <memory>
#include <string>

#include "card_os/card/card.hpp"
#include "card_os/nvm/storage.hpp"
#include "common/result.hpp"
#include "simulator/file_storage.hpp"

namespace juki::sim {

// Creates (or truncates) `path` and manufactures the card in it; the storage
// stays open for the caller. The message says what failed.
Result<std::unique_ptr<juki::sim::FileStorage>, std::string> create_blank_image(
    const std::string& path, const card_os::FactoryProfile& profile, juki::RandomSource& random);

}  // namespace juki::sim
