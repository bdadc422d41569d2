// Card: one smart card, as a pure function of its persistent memory, a random
// stream and the commands it receives (ARCHITECTURE.md). No globals, threads,
// clock or I/O. Every command gets a status word; nothing escapes transmit().
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "card_os/nvm/persistent_memory.hpp"
#include "card_os/nvm/storage.hpp"
#include "common/bytes.hpp"
#include "common/random_source.hpp"
#include "common/result.hpp"

namespace juki::card_os {

namespace apps {
class Application;  // card_os/apps/application.hpp
}

// The applications with code of their own that a card runs (card_os/apps/):
// the card hands a command in an application DF's context to the one whose
// AID names the DF. The card knows no application by name: whoever powers it
// up gives the set (apps::standard_applications(), or a test's own), which
// must outlive it.
using Applications = std::span<const apps::Application* const>;

// Card life-cycle states (specs/card-os.md, "Life cycle"). The numeric values
// are what GET DATA DF20 returns.
enum class LifeCycle : std::uint8_t {
  transport_locked = 0x01,  // blank, as delivered: only the transport-key proof
  personalization = 0x03,   // transport key released: issuer writes the card
  issued = 0x04,            // personalized, no password yet: unusable
  active = 0x05,            // password set: in use
  terminated = 0x0F,        // for good
};
const char* to_string(LifeCycle s);

// What the chip factory writes before the card ships (the equivalent of the
// mask/ROM initialisation): an empty file system with the MF, and the
// transport key.
struct FactoryProfile {
  NvmGeometry geometry;
  Bytes transport_key;                    // AES key, 16/24/32 bytes
  std::uint8_t transport_key_limit = 10;  // failed proofs before the card terminates
  Bytes serial;                           // 8 bytes; random when empty
};

// Power-up refuses an image the persistent memory does not vouch for (nvm),
// and one whose card-OS structures are damaged (not_a_card_image to bad_mf):
// each names what is wrong, and the card is never run on it.
enum class CardError : std::uint8_t {
  bad_profile,         // manufacture: transport key length or serial length wrong
  nvm,                 // the persistent memory refused (see nvm_error)
  not_a_card_image,    // memory is a valid image but holds no card OS data (superblock magic)
  unsupported_layout,  // superblock layout version unknown
  bad_life_cycle,      // superblock life-cycle byte is none of the LifeCycle states
  bad_heap,            // heap blocks or free list inconsistent
  bad_mf,              // superblock MF pointer is not the MF's node
  power_lost,          // power was cut during manufacture or power-up recovery
};

struct CardFailure {
  CardError error;
  NvmError nvm_error = NvmError::none;
  std::string message() const;
};

class Card {
 public:
  // Formats the storage and writes the factory state (life cycle:
  // transport_locked).
  static Result<void, CardFailure> manufacture(Storage& storage, const FactoryProfile& profile,
                                               RandomSource& random);

  // Power-up: opens the persistent memory (recovering an interrupted commit),
  // checks the card OS's structures in it (superblock, heap, MF) and returns a
  // powered card running `applications`. The storage, random source and
  // applications must outlive it.
  static Result<std::unique_ptr<Card>, CardFailure> power_up(Storage& storage, RandomSource& random,
                                                             Applications applications);
  // The same with the standard applications (JPKI, Juki AP, card manager):
  // defined with them in card_os/apps/standard.cpp (juki_card_apps), which
  // links whoever links juki_card_os.
  static Result<std::unique_ptr<Card>, CardFailure> power_up(Storage& storage,
                                                             RandomSource& random);

  ~Card();
  Card(const Card&) = delete;
  Card& operator=(const Card&) = delete;

  // The answer to reset; its historical bytes carry the life-cycle state.
  Bytes atr() const;

  // One command APDU in, one response APDU (data + SW1 SW2) out. Returns an
  // empty vector only when the power was lost during the command: the card is
  // then mute until it is powered up again (a new Card on the same storage).
  Bytes transmit(ByteView command);

  // Warm reset: volatile state (selections, security states, channels) is
  // cleared; persistent state is untouched.
  void reset();

  bool mute() const;  // power was lost; only a new power_up helps
  LifeCycle life_cycle() const;
  const PersistentMemory& memory() const;

  class Impl;

 private:
  explicit Card(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace juki::card_os
