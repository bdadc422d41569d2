// A card for tests: in memory, deterministic randomness, reachable both
// directly and through the host's in-process transport.
#pragma once

#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "card_os/apdu/apdu.hpp"
#include "card_os/card/card.hpp"
#include "card_os/nvm/persistent_memory.hpp"
#include "card_os/security/random.hpp"
#include "common/bytes.hpp"
#include "host_middleware/crypto/host_crypto.hpp"
#include "host_middleware/personalization/personalization.hpp"
#include "host_middleware/transport/in_process.hpp"

namespace juki::test {

inline const Bytes kTransportKey = *from_hex("404142434445464748494A4B4C4D4E4F");
inline const Bytes kAdminKey = *from_hex("000102030405060708090A0B0C0D0E0F");
inline const Bytes kResetKey = *from_hex("F0E1D2C3B4A5968778695A4B3C2D1E0F");
inline const Bytes kSerial = *from_hex("0102030405060708");

inline host::perso::SampleSecrets sample_secrets() {
  return {kTransportKey, kAdminKey, kResetKey};
}

inline card_os::NvmGeometry test_geometry() { return card_os::NvmGeometry{}; }

class TestCard {
 public:
  explicit TestCard(card_os::NvmGeometry g = test_geometry(), std::string seed = "test card")
      : storage_(card_os::PersistentMemory::storage_size_for(g)), random_(as_bytes(seed)) {
    card_os::FactoryProfile profile;
    profile.geometry = g;
    profile.transport_key = kTransportKey;
    profile.serial = kSerial;
    auto made = card_os::Card::manufacture(storage_, profile, random_);
    INFO((made ? std::string() : made.error().message()));
    REQUIRE(made.ok());
    power_up();
  }

  // Blank -> issued with the sample layout.
  static std::unique_ptr<TestCard> issued() {
    auto c = std::make_unique<TestCard>();
    auto r = host::perso::personalize_sample(c->transport(), sample_secrets());
    INFO((r ? std::string("ok") : r.error().describe()));
    REQUIRE(r.ok());
    return c;
  }
  // Issued -> active with password 1234.
  static std::unique_ptr<TestCard> active() {
    auto c = issued();
    c->expect("00A4040C09F04A554B4944454D4F", 0x9000);
    c->expect("0024018104 31323334", 0x9000);
    REQUIRE(c->card().life_cycle() == card_os::LifeCycle::active);
    c->power_cycle();
    return c;
  }

  void power_up() {
    auto t = host::InProcessTransport::connect(storage_, random_);
    REQUIRE(t.ok());
    transport_ = std::move(*t);
  }
  void power_cycle() { power_up(); }

  card_os::Card& card() { return *transport_->card(); }
  host::InProcessTransport& transport() { return *transport_; }
  card_os::MemoryStorage& storage() { return storage_; }
  card_os::RandomSource& random() { return random_; }

  // Sends hex, returns the whole response.
  Bytes send(const std::string& hex) {
    auto cmd = from_hex(hex);
    REQUIRE(cmd.has_value());
    return card().transmit(*cmd);
  }
  Bytes send(ByteView cmd) { return card().transmit(cmd); }
  static sw::Sw sw_of(const Bytes& r) {
    REQUIRE(r.size() >= 2);
    return static_cast<sw::Sw>(r[r.size() - 2] << 8 | r.back());
  }
  static Bytes data_of(const Bytes& r) { return Bytes(r.begin(), r.end() - 2); }
  sw::Sw sw(const std::string& hex) { return sw_of(send(hex)); }
  // Sends and checks the status word; returns the data.
  Bytes expect(const std::string& hex, sw::Sw want) {
    Bytes r = send(hex);
    INFO("command " << hex << " -> " << to_hex(r));
    REQUIRE(sw_of(r) == want);
    return data_of(r);
  }

  // GET CHALLENGE + EXTERNAL AUTHENTICATE with `key` (host-side CMAC).
  sw::Sw authenticate(ByteView key, std::uint8_t ref) {
    Bytes challenge = expect("0084000010", 0x9000);
    auto mac = host::crypto::aes_cmac(key, challenge);
    REQUIRE(mac.ok());
    return sw_of(send(apdu::encode_command(0x00, 0x82, 0x00, ref, *mac)));
  }

 private:
  card_os::MemoryStorage storage_;
  card_os::DrbgRandom random_;
  std::unique_ptr<host::InProcessTransport> transport_;
};

}  // namespace juki::test
