// The security controls a card evaluator checks first (issue 12): the keys
// of the issuance die with personalization, secure messaging fails closed,
// a session dies with its context, personalization travels protected, and
// mutual authentication's failure count cannot be turned against the card
// or a legitimate terminal (specs/card-os.md 5, 5.1, 6.13, 7.3;
// specs/secure-channel.md 2, 2.4, 6).
#include <catch2/catch.hpp>

#include <algorithm>
#include <stdexcept>

#include "card_os/card/card.hpp"
#include "common/iso7816/apdu.hpp"
#include "host_middleware/crypto/host_crypto.hpp"
#include "host_middleware/session/personalization_session.hpp"
#include "issuer_tool/enrolment/enrolment.hpp"
#include "simulator/in_process.hpp"
#include "support/secure_card.hpp"
#include "support/test_card.hpp"

using namespace juki;
using namespace juki::test;
using card_os::LifeCycle;

namespace {

// Whether `needle` occurs anywhere in `haystack`.
bool contains(ByteView haystack, ByteView needle) {
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) !=
         haystack.end();
}

// Ten wrong proofs and the right one of the transport key, each refused with
// 6985 and nothing counted; the card's state is unchanged.
void transport_key_refused(TestCard& c, LifeCycle state) {
  const Bytes before = c.storage().bytes();
  for (int i = 0; i < 12; ++i) {
    INFO("wrong proof " << i);
    CHECK(c.authenticate(hex("00000000000000000000000000000000"), 0x01) == 0x6985);
  }
  CHECK(c.authenticate(kTransportKey, 0x01) == 0x6985);
  CHECK(c.authenticate(kTransportKey, 0x81) == 0x6985);
  CHECK(c.card().life_cycle() == state);
  CHECK(c.storage().bytes() == before);  // not one byte written: no counter moved
  c.power_cycle();
  CHECK(c.card().life_cycle() == state);
}

// A RandomSource that fails on demand: the "anything inside a protected
// command fails unexpectedly" of secure messaging's fail-closed rule.
class FailingRandom final : public juki::RandomSource {
 public:
  explicit FailingRandom(juki::RandomSource& inner) : inner_(inner) {}
  void fill(std::span<std::uint8_t> out) override {
    if (armed) throw std::runtime_error("injected failure");
    inner_.fill(out);
  }
  bool armed = false;

 private:
  juki::RandomSource& inner_;
};

Bytes verify_certificate(ByteView der) {
  return apdu::encode_command(0x00, 0x2A, 0x00, 0xBE, der);
}

}  // namespace

// ---------------------------------------------------------------- the transport key

TEST_CASE(
    "hardening: the transport key is retired at SET STATUS and no proof can terminate the card",
    "[hardening][transport]") {
  SECTION("issued") {
    auto c = TestCard::issued();
    transport_key_refused(*c, LifeCycle::issued);
  }
  SECTION("active") {
    auto c = TestCard::active();
    transport_key_refused(*c, LifeCycle::active);
    CHECK(c->expect("00CADF2000", 0x9000) == hex("DF200105"));
    // The card still works: the resident's password, the sample files.
    c->expect(kSelectDemo, 0x9000);
    c->expect("0020008104 31323334", 0x9000);
  }
  SECTION("the key's value is nowhere in the image once the card is issued") {
    auto blank = std::make_unique<TestCard>();
    CHECK(contains(blank->storage().bytes(), kTransportKey));
    auto c = TestCard::issued();
    CHECK_FALSE(contains(c->storage().bytes(), kTransportKey));
  }
}

TEST_CASE("hardening: other keys can be exhausted, but that locks only the key",
          "[hardening][transport]") {
  auto c = TestCard::active();
  // The card administration key (MF 02): anyone can send wrong proofs.
  for (unsigned left = 2; left >= 1; --left)
    CHECK(c->authenticate(kTransportKey, 0x02) == (0x63C0 | left));
  CHECK(c->authenticate(kTransportKey, 0x02) == 0x63C0);
  CHECK(c->authenticate(kAdminKey, 0x02) == 0x6983);  // blocked: TERMINATE needs it
  CHECK(c->card().life_cycle() == LifeCycle::active);
  c->power_cycle();
  CHECK(c->card().life_cycle() == LifeCycle::active);
  c->expect(kSelectDemo, 0x9000);
  c->expect("0020008104 31323334", 0x9000);
}

// ---------------------------------------------------------------- personalization under SM

TEST_CASE("hardening: personalization rights hold only under the transport key's session",
          "[hardening][perso][req:K12]") {
  auto c = std::make_unique<TestCard>();
  const Bytes put_admin_key =
      apdu::encode_command(0x00, 0xDA, 0x00, 0xA2,
                           host::perso::KeyDefinition{.ref = 0x02,
                                                      .value = kAdminKey,
                                                      .retry_limit = 3,
                                                      .transport = false,
                                                      .personalization = false}
                               .encode());
  SECTION("the proof in plain, then plain commands: 6982") {
    CHECK(c->authenticate(kTransportKey, 0x01) == 0x9000);
    CHECK(c->card().life_cycle() == LifeCycle::personalization);
    CHECK(c->sw(put_admin_key) == 0x6982);
    CHECK(c->sw("80F00004") == 0x6982);
    CHECK(c->sw("00460001 00") == 0x6982);
    // The plain command ended the card's session: SM bits now get 6882.
    CHECK(c->sw("0CB0000000") == 0x6882);
  }
  SECTION("under the session: 9000; a plain command ends it and the rights") {
    c->open_personalization(kTransportKey);
    CHECK(c->sw(put_admin_key) == 0x9000);
    juki::Transport& session = c->transport();
    CHECK(TestCard::sw_of(c->card().transmit(put_admin_key)) == 0x6982);  // plain
    CHECK(sw_via(session, put_admin_key) == 0x6882);                      // the card ended its half
  }
  SECTION("a session opened with a wrong key does not exist") {
    auto s = host::session::open_personalization_session(c->plain_transport(), kAdminKey, 0x01);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().sw == 0x63C9);
    CHECK(c->card().life_cycle() == LifeCycle::transport_locked);
    CHECK(c->sw(put_admin_key) == 0x6985);
  }
  SECTION("SET STATUS ends the session") {
    host::perso::Personalizer p(c->plain_transport());
    REQUIRE(host::perso::write_sample_layout(p, sample_secrets()).ok());
    juki::Transport& session = p.transport();
    CHECK(sw_via(session, hex("80F00004")) == 0x9000);
    CHECK(c->card().life_cycle() == LifeCycle::issued);
    CHECK(sw_via(session, hex("00CADF2000")) == 0x6882);  // no session on the card any more
    CHECK(c->sw(put_admin_key) == 0x6985);
  }
}

TEST_CASE("hardening: the personalization session's edges", "[hardening][perso]") {
  auto c = std::make_unique<TestCard>();
  SECTION("the proof needs a 16-byte challenge: 6985, nothing counted") {
    for (const char* le : {"08", "20"}) {
      const Bytes challenge = c->expect(std::string("00840000") + le, 0x9000);
      auto mac = host::crypto::aes_cmac(kTransportKey, challenge);
      REQUIRE(mac.ok());
      CHECK(c->sw(apdu::encode_command(0x00, 0x82, 0x00, 0x01, *mac)) == 0x6985);
    }
    CHECK(c->card().life_cycle() == LifeCycle::transport_locked);
    CHECK(c->authenticate(kAdminKey, 0x01) == 0x63C9);  // the first try counted
  }
  SECTION("a proof under the session opens a new one, its keys the new proof's") {
    c->open_personalization(kTransportKey);
    juki::Transport& old_session = c->transport();
    const Bytes challenge = via(old_session, hex("0084000010"));
    REQUIRE(challenge.size() == 18);
    auto proof = host::session::issuance_key_proof(kTransportKey, ByteView(challenge).first(16));
    REQUIRE(proof.ok());
    CHECK(sw_via(old_session, apdu::encode_command(0x00, 0x82, 0x00, 0x01, *proof)) == 0x9000);
    auto keys = host::session::personalization_keys(kTransportKey, ByteView(challenge).first(16));
    REQUIRE(keys.ok());
    host::session::SmTransport fresh(c->plain_transport(), std::move(*keys));
    CHECK(sw_via(fresh, hex("00CADF2000")) == 0x9000);
    CHECK(sw_via(fresh, hex("80F00004")) == 0x6985);  // rights, but no activation PIN yet
  }
  SECTION("keys of the issuance belong to the MF: PUT DATA elsewhere refuses the flags") {
    c->open_personalization(kTransportKey);
    c->expect(create_file(df_spec(0x1000, hex("F0414243"))), 0x9000);
    for (std::uint8_t flags : {std::uint8_t{0x01}, std::uint8_t{0x02}}) {
      host::perso::KeyDefinition d{.ref = 0x05,
                                   .value = kAdminKey,
                                   .retry_limit = 3,
                                   .transport = flags == 0x01,
                                   .personalization = flags == 0x02};
      CHECK(c->sw(apdu::encode_command(0x00, 0xDA, 0x00, 0xA2, d.encode())) == 0x6A80);
    }
  }
  SECTION("a command whose lengths do not parse ends the session") {
    c->open_personalization(kTransportKey);
    juki::Transport& session = c->transport();
    CHECK(TestCard::sw_of(c->card().transmit(hex("0CDA00A2FF00"))) == 0x6700);
    CHECK(sw_via(session, hex("00CADF2000")) == 0x6882);
  }
  SECTION("a plain 9000 to a protected command is not the card's: the session ends") {
    c->open_personalization(kTransportKey);
    struct Liar final : juki::Transport {
      juki::Transport& inner;
      explicit Liar(juki::Transport& t) : inner(t) {}
      Result<Bytes, juki::TransportError> transmit(ByteView) override { return hex("9000"); }
      Result<Bytes, juki::TransportError> reset() override { return inner.reset(); }
      Result<Bytes, juki::TransportError> power_cycle() override { return inner.power_cycle(); }
      Bytes atr() const override { return inner.atr(); }
      std::string describe() const override { return "liar"; }
    } liar(c->plain_transport());
    const Bytes challenge = c->expect("0084000010", 0x9000);  // ends the test card's session
    auto proof = host::session::issuance_key_proof(kTransportKey, challenge);
    REQUIRE(proof.ok());
    c->expect(apdu::encode_command(0x00, 0x82, 0x00, 0x01, *proof), 0x9000);
    auto keys = host::session::personalization_keys(kTransportKey, challenge);
    REQUIRE(keys.ok());
    host::session::SmTransport session(liar, std::move(*keys));
    auto r = session.transmit(hex("80F00004"));
    CHECK_FALSE(r.ok());
    CHECK_FALSE(session.active());
  }
}

TEST_CASE("hardening: no key or PIN of a personalization crosses the reader in the clear",
          "[hardening][perso][req:K12]") {
  // Every byte the host sent, as the reader would see it.
  struct Wire final : juki::Transport {
    juki::Transport& inner;
    Bytes sent;
    explicit Wire(juki::Transport& t) : inner(t) {}
    Result<Bytes, juki::TransportError> transmit(ByteView cmd) override {
      sent.insert(sent.end(), cmd.begin(), cmd.end());
      return inner.transmit(cmd);
    }
    Result<Bytes, juki::TransportError> reset() override { return inner.reset(); }
    Result<Bytes, juki::TransportError> power_cycle() override { return inner.power_cycle(); }
    Bytes atr() const override { return inner.atr(); }
    std::string describe() const override { return "wire"; }
  };
  TestCard c;
  Wire wire(c.plain_transport());
  REQUIRE(host::perso::personalize_sample(wire, sample_secrets()).ok());
  CHECK(c.card().life_cycle() == LifeCycle::issued);
  CHECK_FALSE(wire.sent.empty());
  CHECK_FALSE(contains(wire.sent, kAdminKey));
  CHECK_FALSE(contains(wire.sent, kResetKey));
  CHECK_FALSE(contains(wire.sent, kTransportKey));
}

// ---------------------------------------------------------------- secure messaging fails closed

TEST_CASE("hardening: a failure inside a protected command ends the session, keys wiped",
          "[hardening][sm]") {
  const Pki p;
  auto made = secure_card(p);
  // The same card on a random source that can fail.
  card_os::MemoryStorage storage(made->storage().bytes().size());
  storage.bytes() = made->storage().bytes();
  card_os::DrbgRandom drbg(as_bytes("failing random"));
  FailingRandom random(drbg);
  auto t = take(juki::sim::InProcessTransport::connect(storage, random));
  REQUIRE(sw_via(*t, hex(kSelectSec)) == 0x9000);
  auto s = take(host::session::SecureSession::open(*t, p.terminal(pki::Role::window), unix_now()));
  REQUIRE(via(*s, read_sfi(kSmEf)) == hex(to_hex(kSecret) + "9000"));

  random.armed = true;  // GET CHALLENGE under SM now fails inside the card
  CHECK(sw_via(*s, apdu::encode_command(0x00, 0x84, 0x00, 0x00, {}, 16)) == 0x6F00);
  random.armed = false;
  CHECK_FALSE(s->active());
  // The card kept nothing of the session: a plain read of the file that
  // needs secure messaging is refused, SM bits get "no session".
  CHECK(sw_via(*t, read_sfi(kSmEf)) == 0x6982);
  CHECK(sw_via(*t, hex("0CB0820000")) == 0x6882);
  CHECK(sw_via(*t, apdu::encode_command(0x00, 0x84, 0x00, 0x00, {}, 16)) == 0x9000);
  // And a new session works.
  REQUIRE(sw_via(*t, hex(kSelectSec)) == 0x9000);
  auto again =
      take(host::session::SecureSession::open(*t, p.terminal(pki::Role::window), unix_now()));
  CHECK(via(*again, read_sfi(kSmEf)) == hex(to_hex(kSecret) + "9000"));
}

// ---------------------------------------------------------------- a session dies with its context

namespace {

inline const Bytes kCtxAid = {0xF0, 0x43, 0x54, 0x58};  // "CTX"
constexpr std::uint16_t kCtxDf = 0x6800;

// An active card with application CTX next to the sample layout: enrolled
// for mutual authentication under `p`, PIN 01 = 1234, EF 6801 readable under
// secure messaging, EF 6802 readable after PIN 81, and the DF itself
// deactivatable, activatable and deletable by anyone (so that a test can
// take the context away from under another channel).
std::unique_ptr<TestCard> context_card(const Pki& p) {
  return TestCard::active_with([&](TestCard& t) {
    using juki::fcp::AccessRule;
    using juki::fcp::Op;
    host::perso::Personalizer perso(t.transport());
    juki::fcp::FileSpec df = df_spec(kCtxDf, kCtxAid);
    df.rules.fill(AccessRule::never());
    df.rule(Op::deactivate) = AccessRule::always();
    df.rule(Op::activate) = AccessRule::always();
    df.rule(Op::delete_file) = AccessRule::always();
    REQUIRE(perso.create(df).ok());
    enrolment::AuthenticationRequest request;
    request.df = kCtxDf;
    request.municipality = kMunicipality;
    request.common_name = "card CTX";
    REQUIRE(enrolment::enrol_authentication(perso, p.root.cert, p.card_ca, request).ok());
    REQUIRE(perso.select_aid(kCtxAid).ok());
    host::perso::PinDefinition pin;
    pin.ref = 1;
    pin.initial_value = ascii("1234");
    REQUIRE(perso.put_pin(pin).ok());
    juki::fcp::FileSpec ef = transparent_ef(0x6801, 4, 1);
    ef.rules.fill(AccessRule::never());
    ef.rule(Op::read) = AccessRule{AccessRule::kSecureMessaging, 0, 0, 0};
    REQUIRE(perso.create(ef).ok());
    REQUIRE(perso.write_binary(ascii("SM!!")).ok());
    REQUIRE(perso.select_aid(kCtxAid).ok());
    ef = transparent_ef(0x6802, 4, 2);
    ef.rules.fill(AccessRule::never());
    ef.rule(Op::read) = AccessRule::pin(0x81);
    REQUIRE(perso.create(ef).ok());
    REQUIRE(perso.write_binary(ascii("PIN!")).ok());
    REQUIRE(perso.select_mf().ok());
  });
}

}  // namespace

TEST_CASE("hardening: deactivating or deleting an application ends every channel's session in it",
          "[hardening][context]") {
  const Pki p;
  auto c = context_card(p);
  const Bytes select_ctx = apdu::encode_command(0x00, 0xA4, 0x04, 0x0C, kCtxAid);
  const Bytes read_sm = hex("00B0810004");
  const Bytes read_pin = hex("00B0820004");
  // Channel 1: in CTX, its PIN verified and a window's session open.
  REQUIRE(c->expect("0070000001", 0x9000) == hex("01"));
  OnChannel channel1(c->transport(), 1);
  REQUIRE(sw_via(channel1, select_ctx) == 0x9000);
  REQUIRE(sw_via(channel1, hex("0020008104 31323334")) == 0x9000);
  REQUIRE(via(channel1, read_pin) == hex(to_hex(ascii("PIN!")) + "9000"));
  auto session =
      take(host::session::SecureSession::open(channel1, p.terminal(pki::Role::window), unix_now()));
  OnChannel s_(*session, 1);  // protected commands for channel 1: the MAC covers the channel
  juki::Transport* const s = &s_;
  REQUIRE(via(*s, read_sm) == hex(to_hex(ascii("SM!!")) + "9000"));
  REQUIRE(via(*s, read_pin) == hex(to_hex(ascii("PIN!")) + "9000"));  // the PIN, under SM

  SECTION("what does not touch the context leaves the session alone") {
    c->expect(kSelectDemo, 0x9000);
    c->expect("0020008104 31323334", 0x9000);
    c->expect(select_ctx, 0x9000);  // another channel entering it changes nothing here
    CHECK(via(*s, read_sm) == hex(to_hex(ascii("SM!!")) + "9000"));
  }
  SECTION("DEACTIVATE FILE of the application on channel 0") {
    c->expect(select_ctx, 0x9000);
    c->expect("00040000", 0x9000);
    CHECK(sw_via(*s, read_sm) == 0x6882);  // the session is gone (answered plain)
    c->expect(select_ctx, 0x6283);
    c->expect("00440000", 0x9000);  // active again: nothing of before comes back
    CHECK(sw_via(channel1, read_pin) == 0x6982);
    CHECK(sw_via(channel1, read_sm) == 0x6982);
  }
  SECTION("DELETE FILE of the application on channel 0") {
    c->expect(select_ctx, 0x9000);
    c->expect("00E40000", 0x9000);
    CHECK(sw_via(*s, hex("00840000 10")) == 0x6882);  // no session, though channel 1 is in the MF
    CHECK(sw_via(channel1, read_pin) == 0x6A82);      // SFI 2: no such EF in the MF
  }
}

// ---------------------------------------------------------------- mutual authentication's count

TEST_CASE("hardening: steps out of order and malformed certificates are not counted",
          "[hardening][auth]") {
  const Pki p;
  auto c = secure_card(p);
  const auto good = p.terminal(pki::Role::window);
  c->expect(kSelectSec, 0x9000);
  for (int i = 0; i < 6; ++i) {
    INFO("round " << i);
    // Step 2 without step 1: 6985, not counted.
    CHECK(c->sw(verify_certificate(good.certificate.der())) == 0x6985);
    // A malformed certificate: 6A80, not counted.
    CHECK(c->sw(verify_certificate(hex("3003020100"))) == 0x6A80);
    // Step 1, then step 1 again: afresh each time, and step 2 after the second works.
    c->expect(verify_certificate(p.terminal_ca.cert.der()), 0x9000);
    // Step 4 without step 2: 6985, not counted.
    c->expect("0084000010", 0x9000);
    CHECK(c->sw(apdu::encode_command(0x00, 0x82, 0x00, 0x00, hex("7F4900 5F3700"))) == 0x6985);
  }
  // Eighteen refusals later the right terminal is still let in.
  open_session(*c, good);
}

TEST_CASE("hardening: failed proofs lock authentication until power-off, and never for good",
          "[hardening][auth][req:D13]") {
  const Pki p;
  const Pki impostor;  // same root name, other keys: every signature fails (6300)
  auto c = secure_card(p);
  const auto bad = impostor.terminal(pki::Role::window);
  const auto good = p.terminal(pki::Role::window);
  for (int i = 0; i < 3; ++i) CHECK(open_fails(*c, bad).sw == 0x6300);
  CHECK(open_fails(*c, good).sw == 0x6983);  // forced end: even the right terminal
  c->card().reset();                         // a warm reset is not a power-off
  CHECK(open_fails(*c, good).sw == 0x6983);
  c->power_cycle();
  open_session(*c, good);

  // A stranger with the card for a long time: no number of failures blocks it.
  const Bytes before = c->storage().bytes();
  for (int round = 0; round < 20; ++round) {
    c->power_cycle();
    for (int i = 0; i < 3; ++i) CHECK(open_fails(*c, bad).sw == 0x6300);
    CHECK(open_fails(*c, good).sw == 0x6983);
  }
  CHECK(c->storage().bytes() == before);  // failures write nothing
  c->power_cycle();
  open_session(*c, good);
}
