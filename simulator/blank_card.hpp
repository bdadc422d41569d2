// A new blank card image file, as the chip factory makes it: the card OS's
// factory state (transport-locked, specs/card-os.md 5) in a file of the size
// its geometry needs. juki-card-sim --create, the demo and the batch
// issuance's in-process readers make their cards with it.
#pragma once

#include <memory>
#include <string>

#include "card_os/card/card.hpp"
#include "card_os/nvm/storage.hpp"
#include "card_os/security/random.hpp"
#include "common/result.hpp"
#include "simulator/file_storage.hpp"
#include "simulator/in_process.hpp"

namespace juki::sim {

// Creates (or truncates) `path` and manufactures the card in it; the storage
// stays open for the caller. The message says what failed.
Result<std::unique_ptr<juki::sim::FileStorage>, std::string> create_blank_image(
    const std::string& path, const card_os::FactoryProfile& profile, juki::RandomSource& random);

// A blank card in memory, powered up in this process: what the APDU script
// runners give each script. Its random stream is seeded by `seed`, so a run is
// reproducible.
class BlankCardInMemory {
 public:
  static Result<std::unique_ptr<BlankCardInMemory>, std::string> make(
      const card_os::FactoryProfile& profile, ByteView seed,
      std::string description = "in-process card");

  juki::Transport& transport() { return *transport_; }

 private:
  BlankCardInMemory(std::size_t storage_size, ByteView seed)
      : storage_(storage_size), random_(seed) {}

  card_os::MemoryStorage storage_;
  card_os::DrbgRandom random_;
  std::unique_ptr<InProcessTransport> transport_;
};

}  // namespace juki::sim
