// A card for tests: in memory, deterministic randomness, reachable both
// directly and through the host's in-process transport.
#pragma once

#include <catch2/catch.hpp>

#include <functional>
#include <memory>
#include <string>

#include "card_os/card/card.hpp"
#include "card_os/nvm/persistent_memory.hpp"
#include "card_os/security/random.hpp"
#include "common/bytes.hpp"
#include "common/iso7816/apdu.hpp"
#include "host_middleware/crypto/host_crypto.hpp"
#include "host_middleware/personalization/personalization.hpp"
#include "host_middleware/session/personalization_session.hpp"
#include "simulator/in_process.hpp"

namespace juki::test {

inline const Bytes kTransportKey = *from_hex("404142434445464748494A4B4C4D4E4F");
inline const Bytes kAdminKey = *from_hex("000102030405060708090A0B0C0D0E0F");
inline const Bytes kResetKey = *from_hex("F0E1D2C3B4A5968778695A4B3C2D1E0F");
inline const Bytes kSerial = *from_hex("0102030405060708");

inline host::perso::SampleSecrets sample_secrets() {
  return {kTransportKey, kAdminKey, kResetKey};
}

inline card_os::NvmGeometry test_geometry() {
  return card_os::NvmGeometry{};
}

// Hex text to bytes; the test fails on bad hex.
inline Bytes hex(std::string_view text) {
  auto b = from_hex(text);
  REQUIRE(b.has_value());
  return *b;
}

// Text to bytes, for comparing with response data.
inline Bytes ascii(std::string_view text) {
  ByteView v = as_bytes(text);
  return Bytes(v.begin(), v.end());
}

// FileSpecs for CREATE FILE; every access rule NEVER unless the test sets it.
inline juki::fcp::FileSpec transparent_ef(std::uint16_t fid, std::uint32_t size,
                                          std::uint8_t sfi = 0) {
  juki::fcp::FileSpec s;
  s.fid = fid;
  s.size = size;
  s.sfi = sfi;
  return s;
}
inline juki::fcp::FileSpec record_ef(juki::fcp::FileType type, std::uint16_t fid,
                                     std::uint16_t record_length, std::uint16_t max_records,
                                     std::uint8_t sfi = 0) {
  juki::fcp::FileSpec s;
  s.type = type;
  s.fid = fid;
  s.record_length = record_length;
  s.max_records = max_records;
  s.sfi = sfi;
  return s;
}
inline juki::fcp::FileSpec df_spec(std::uint16_t fid, Bytes name = {}) {
  juki::fcp::FileSpec s;
  s.type = juki::fcp::FileType::df;
  s.fid = fid;
  s.name = std::move(name);
  return s;
}
// CREATE FILE with the FCP of `spec`.
inline Bytes create_file(const juki::fcp::FileSpec& spec) {
  return apdu::encode_command(0x00, 0xE0, 0x00, 0x00,
                              juki::fcp::encode_fcp(spec, spec.max_records));
}

// SELECT the sample application by its DF name, no response data.
inline const std::string kSelectDemo = "00A4040C09F04A554B4944454D4F";

// The "lab" application added by TestCard::lab() next to the sample layout:
//   MF                PIN 01 (P2 01): 4 digits "0000", 3 tries (a global PIN)
//   DF 6000 "LAB"     AR(create) PIN 81
//     PIN 01 (81): 4..8 digits "1111", 3 tries, unblocked by PUK 02
//     PIN 02 (82): 8 digits "87654321", 3 tries (the PUK)
//     PIN 03 (83): 4 digits, 3 tries, no value, no unblock policy
//     PIN 04 (84): 4 digits "4444", 3 tries, unblocked by PUK 03 (unset)
//     key 05 (85): kLabKey, 3 tries
//     EF 6001 transparent 8: read key 85; update PIN 81 and key 85
//     EF 6002 transparent 8: read secure messaging; update secure messaging and PIN 81
//     EF 6003 transparent 8: read global PIN 01; deactivate/activate PIN 81; delete key 85
//     DF 6100 (no name)
//       EF 6101 transparent 8: read PIN 81 (LAB's PIN 01)
//     DF 6200 "LAB2"  a nested application without PINs
//       EF 6201 transparent 8: read PIN 81 (nothing to resolve to)
inline const Bytes kLabKey = *from_hex("11223344556677888877665544332211");
inline const Bytes kLabAid = *from_hex("F04C4142");
inline const Bytes kLab2Aid = *from_hex("F04C414232");

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

  // A card whose memory is a copy of `image` (another TestCard's storage,
  // default geometry), powered up: one expensive personalization, many cards.
  static std::unique_ptr<TestCard> from_image(const Bytes& image) {
    auto c = std::make_unique<TestCard>();
    REQUIRE(image.size() == c->storage_.bytes().size());
    c->storage_.bytes() = image;
    c->power_up();
    return c;
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

  // Blank -> personalization: the transport key is proved on channel 0,
  // which opens the personalization session (specs/secure-channel.md 6); the
  // MF is selected. While the session lasts, send(), expect() and
  // transport() go through it: the rights hold only there.
  static std::unique_ptr<TestCard> personalizing() {
    auto c = std::make_unique<TestCard>();
    c->open_personalization(kTransportKey);
    return c;
  }
  // Proves the issuance key `key` (reference `ref`) and keeps its session.
  void open_personalization(ByteView key, std::uint8_t ref = 0x01) {
    auto s = host::session::open_personalization_session(*transport_, key, ref);
    INFO((s ? std::string() : s.error().message));
    REQUIRE(s.ok());
    session_ = std::move(*s);
  }
  // Forgets the host's half of the session: later commands go plain (and the
  // card ends its half at the first of them).
  void end_session() { session_.reset(); }
  bool in_session() const { return session_ && session_->active(); }
  // Blank -> active: `extra` runs first with personalization rights (MF
  // selected), then the sample layout is personalized, the password set to
  // 1234 and the card powered again.
  static std::unique_ptr<TestCard> active_with(const std::function<void(TestCard&)>& extra) {
    auto c = personalizing();
    extra(*c);
    c->end_session();  // the sample layout opens a session of its own
    auto r = host::perso::personalize_sample(c->transport(), sample_secrets());
    INFO((r ? std::string("ok") : r.error().describe()));
    REQUIRE(r.ok());
    c->expect(kSelectDemo, 0x9000);
    c->expect("0024018104 31323334", 0x9000);
    REQUIRE(c->card().life_cycle() == card_os::LifeCycle::active);
    c->power_cycle();
    return c;
  }
  // Active, with the sample layout and the lab application (see kLabAid).
  static std::unique_ptr<TestCard> lab() { return active_with(add_lab); }
  static void add_lab(TestCard& c) {
    using juki::fcp::AccessRule;
    using juki::fcp::Op;
    host::perso::Personalizer p(c.transport());
    auto ok = [](const host::perso::Outcome<>& r) {
      INFO((r ? std::string("ok") : r.error().describe()));
      REQUIRE(r.ok());
    };
    auto pin = [](std::uint8_t ref, std::uint8_t min, std::uint8_t max, std::string value,
                  std::uint8_t unblock_kind = 0, std::uint8_t unblock_ref = 0) {
      host::perso::PinDefinition d;
      d.ref = ref;
      d.min_length = min;
      d.max_length = max;
      d.unblock_kind = unblock_kind;
      d.unblock_ref = unblock_ref;
      d.initial_value.assign(value.begin(), value.end());
      return d;
    };
    ok(p.put_pin(pin(1, 4, 4, "0000")));
    juki::fcp::FileSpec df = df_spec(0x6000, kLabAid);
    df.rule(Op::create) = AccessRule::pin(0x81);
    ok(p.create(df));
    ok(p.put_pin(pin(1, 4, 8, "1111", 1, 2)));
    ok(p.put_pin(pin(2, 8, 8, "87654321")));
    ok(p.put_pin(pin(3, 4, 4, "")));
    ok(p.put_pin(pin(4, 4, 4, "4444", 1, 3)));
    ok(p.put_key({.ref = 5,
                  .value = kLabKey,
                  .retry_limit = 3,
                  .transport = false,
                  .personalization = false}));
    juki::fcp::FileSpec ef = transparent_ef(0x6001, 8);
    ef.rule(Op::read) = AccessRule::key(0x85);
    ef.rule(Op::update) = AccessRule{AccessRule::kPin | AccessRule::kKey, 0x81, 0x85, 0};
    ok(p.create(ef));
    ef = transparent_ef(0x6002, 8);
    ef.rule(Op::read) = AccessRule{AccessRule::kSecureMessaging, 0, 0, 0};
    ef.rule(Op::update) = AccessRule{AccessRule::kSecureMessaging | AccessRule::kPin, 0x81, 0, 0};
    ok(p.create(ef));
    ef = transparent_ef(0x6003, 8);
    ef.rule(Op::read) = AccessRule::pin(0x01);
    ef.rule(Op::deactivate) = AccessRule::pin(0x81);
    ef.rule(Op::activate) = AccessRule::pin(0x81);
    ef.rule(Op::delete_file) = AccessRule::key(0x85);
    ok(p.create(ef));
    ok(p.select_fid(0x6000));
    ok(p.create(df_spec(0x6100)));
    ef = transparent_ef(0x6101, 8);
    ef.rule(Op::read) = AccessRule::pin(0x81);
    ok(p.create(ef));
    ok(p.select_fid(0x6000));
    ok(p.create(df_spec(0x6200, kLab2Aid)));
    ef = transparent_ef(0x6201, 8);
    ef.rule(Op::read) = AccessRule::pin(0x81);
    ok(p.create(ef));
    ok(p.select_mf());
  }

  void power_up() {
    session_.reset();
    auto t = juki::sim::InProcessTransport::connect(storage_, random_);
    REQUIRE(t.ok());
    transport_ = std::move(*t);
  }
  void power_cycle() { power_up(); }

  card_os::Card& card() { return *transport_->card(); }
  // The personalization session while one is open, else the card itself.
  juki::Transport& transport() {
    return in_session() ? static_cast<juki::Transport&>(*session_) : *transport_;
  }
  juki::sim::InProcessTransport& plain_transport() { return *transport_; }
  card_os::MemoryStorage& storage() { return storage_; }
  juki::RandomSource& random() { return random_; }

  // Sends hex, returns the whole response.
  Bytes send(const std::string& hex) {
    auto cmd = from_hex(hex);
    REQUIRE(cmd.has_value());
    return send(*cmd);
  }
  // Under the personalization session while one is open, for the commands
  // it can protect: channel 0's, of class 0X or 8X without SM bits. Others
  // go plain, as they are. A card that answers "no session" (6882: a reset
  // or TERMINATE CARD USAGE ended its half) gets the command again in plain,
  // as a terminal that noticed would send it.
  Bytes send(ByteView cmd) {
    if (!in_session() || cmd.empty() || (cmd[0] & 0x6F) != 0x00) return card().transmit(cmd);
    auto r = session_->transmit(cmd);
    INFO((r ? std::string() : r.error().message));
    REQUIRE(r.ok());
    if (sw_of(*r) == 0x6882 && r->size() == 2 && !session_->active()) {
      end_session();
      return card().transmit(cmd);
    }
    // SET STATUS that succeeded ended the card's half of the session.
    if (cmd.size() >= 2 && (cmd[0] & 0xF0) == 0x80 && cmd[1] == 0xF0 && sw_of(*r) == 0x9000)
      end_session();
    return *r;
  }
  sw::Sw sw(ByteView cmd) { return sw_of(send(cmd)); }
  Bytes expect(ByteView cmd, sw::Sw want) {
    Bytes r = send(cmd);
    INFO("command " << to_hex(cmd) << " -> " << to_hex(r));
    REQUIRE(sw_of(r) == want);
    return data_of(r);
  }
  // GET DATA DF21: the free bytes of the persistent memory.
  std::uint32_t free_bytes() {
    Bytes d = expect("00CADF2100", 0x9000);
    REQUIRE(d.size() == 11);
    return load_be32(&d[7]);
  }
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

  // GET CHALLENGE + EXTERNAL AUTHENTICATE with `key` (host-side CMAC), in
  // plain: any session ends first. A proof of an issuance key opens the
  // card's half of a personalization session that the next plain command
  // ends again; open_personalization() keeps it.
  sw::Sw authenticate(ByteView key, std::uint8_t ref) {
    end_session();
    Bytes challenge = expect("0084000010", 0x9000);
    auto mac = host::crypto::aes_cmac(key, challenge);
    REQUIRE(mac.ok());
    return sw_of(send(apdu::encode_command(0x00, 0x82, 0x00, ref, *mac)));
  }

 private:
  card_os::MemoryStorage storage_;
  card_os::DrbgRandom random_;
  std::unique_ptr<juki::sim::InProcessTransport> transport_;
  std::unique_ptr<host::session::SmTransport> session_;
};

// Sends every command on logical channel `n` (CLA bits b2 b1), whatever
// channel the host meant. Over a secure session it carries the protected
// commands; under one (the session over it) the MAC covers the channel.
class OnChannel final : public juki::Transport {
 public:
  OnChannel(juki::Transport& inner, std::uint8_t n) : inner_(inner), n_(n) {}
  Result<Bytes, juki::TransportError> transmit(ByteView cmd) override {
    Bytes b(cmd.begin(), cmd.end());
    if (!b.empty()) b[0] = static_cast<std::uint8_t>((b[0] & ~0x03) | n_);
    return inner_.transmit(b);
  }
  Result<Bytes, juki::TransportError> reset() override { return inner_.reset(); }
  Result<Bytes, juki::TransportError> power_cycle() override { return inner_.power_cycle(); }
  Bytes atr() const override { return inner_.atr(); }
  std::string describe() const override { return inner_.describe(); }

 private:
  juki::Transport& inner_;
  std::uint8_t n_;
};

// Sends through a transport; the whole response.
inline Bytes via(juki::Transport& t, ByteView command) {
  auto r = t.transmit(command);
  INFO((r ? std::string() : r.error().message));
  REQUIRE(r.ok());
  return *r;
}

inline sw::Sw sw_via(juki::Transport& t, ByteView command) {
  return TestCard::sw_of(via(t, command));
}

}  // namespace juki::test
