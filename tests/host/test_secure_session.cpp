// Mutual authentication and secure messaging end to end, in-process: the card
// (card_os, mbedTLS) against the terminal's SecureSession (OpenSSL) with a PKI
// made by pki. specs/secure-channel.md is the contract; every
// refusal it lists has a case here.
#include <catch2/catch.hpp>

#include <ctime>

#include "common/iso7816/apdu.hpp"
#include "host_middleware/session/secure_session.hpp"
#include "pki/pki.hpp"
#include "support/secure_card.hpp"

using namespace juki;
using namespace juki::test;

TEST_CASE("secure session: a window terminal authenticates and reads under secure messaging",
          "[session][req:K10]") {
  const Pki p;
  auto c = secure_card(p);
  auto session = open_session(*c, p.terminal(pki::Role::window));
  CHECK(session->card().authorization.role == pki::Role::card);
  CHECK(session->card().authorization.municipality == kMunicipality);

  for (std::uint16_t fid : {0x7001, 0x7002, 0x7004}) {
    INFO("EF " << fid);
    REQUIRE(sw_via(*session, select_ef(fid)) == 0x9000);
    Bytes r = via(*session, read_sfi(fid));
    CHECK(TestCard::sw_of(r) == 0x9000);
    CHECK(TestCard::data_of(r) == kSecret);
  }
  // Another role's file: refused under the session, which goes on.
  CHECK(sw_via(*session, read_sfi(0x7003)) == 0x6982);
  CHECK(sw_via(*session, read_sfi(0x7001)) == 0x9000);
  // Every exchange is new on the wire: the same command twice looks different.
  auto keys_before = via(*session, read_sfi(0x7004));
  CHECK(TestCard::data_of(keys_before) == kSecret);
}

TEST_CASE("secure session: each role reaches only its files", "[session][req:K14]") {
  const Pki p;
  auto c = secure_card(p);
  auto reset = open_session(*c, p.terminal(pki::Role::password_reset));
  CHECK(sw_via(*reset, read_sfi(0x7003)) == 0x9000);
  CHECK(sw_via(*reset, read_sfi(0x7001)) == 0x6982);
  // A municipal-application terminal bound to this application: SM files only.
  c->power_cycle();
  auto app = open_session(*c, p.terminal(pki::Role::municipal_app));
  CHECK(sw_via(*app, read_sfi(0x7002)) == 0x9000);
  CHECK(sw_via(*app, read_sfi(0x7001)) == 0x6982);
}

TEST_CASE("secure session: without a session the protected files are refused",
          "[session][req:K14]") {
  const Pki p;
  auto c = secure_card(p);
  c->expect(kSelectSec, 0x9000);
  CHECK(c->sw(read_sfi(0x7001)) == 0x6982);
  CHECK(c->sw(read_sfi(0x7002)) == 0x6982);
  CHECK(c->sw(read_sfi(0x7004)) == 0x9000);
  // SM bits without a session.
  CHECK(c->sw("0CB0820000") == 0x6882);

  // A plain command during a session ends it.
  auto session = open_session(*c, p.terminal(pki::Role::window));
  CHECK(sw_via(*session, read_sfi(0x7001)) == 0x9000);
  CHECK(c->sw(read_sfi(0x7001)) == 0x6982);
  CHECK(sw_via(*session, read_sfi(0x7001)) == 0x6882);  // the card has no session any more
  CHECK_FALSE(session->active());
}

TEST_CASE(
    "secure session: the card refuses a foreign CA, a bad signature, a wrong role, "
    "an expired certificate",
    "[session][req:K10]") {
  const Pki p;
  auto c = secure_card(p);
  using Kind = host::session::SessionError::Kind;

  SECTION("a terminal CA of another PKI: 6A88") {
    const Pki other("Another Root CA");
    auto e = open_fails(*c, other.terminal(pki::Role::window));
    CHECK(e.kind == Kind::refused);
    CHECK(e.sw == 0x6A88);
  }
  SECTION("a terminal CA of another PKI whose root has the same name: 6300") {
    const Pki impostor;
    auto e = open_fails(*c, impostor.terminal(pki::Role::window));
    CHECK(e.kind == Kind::refused);
    CHECK(e.sw == 0x6300);
  }
  SECTION("a terminal certificate whose signature was tampered with: 6300") {
    auto cred = p.terminal(pki::Role::window);
    Bytes der = cred.certificate.der();
    der[der.size() - 10] ^= 0x01;  // inside the signature value
    c->expect(kSelectSec, 0x9000);
    c->expect(apdu::encode_command(0x00, 0x2A, 0x00, 0xBE, p.terminal_ca.cert.der()), 0x9000);
    CHECK(c->sw(apdu::encode_command(0x00, 0x2A, 0x00, 0xBE, der)) == 0x6300);
  }
  SECTION("a card CA in place of the terminal CA: 6A80") {
    c->expect(kSelectSec, 0x9000);
    CHECK(c->sw(apdu::encode_command(0x00, 0x2A, 0x00, 0xBE, p.card_ca.cert.der())) == 0x6A80);
  }
  SECTION("a server CA and a CS: a session with role cs, not window") {
    auto s = open_session(*c, p.server(pki::Role::cs));
    CHECK(sw_via(*s, read_sfi(kWindowEf)) == 0x6982);
    CHECK(via(*s, read_sfi(kSmEf)) == hex(to_hex(kSecret) + "9000"));
  }
  SECTION("a server CA, then a terminal's certificate: not the server CA's issue") {
    c->expect(kSelectSec, 0x9000);
    c->expect(apdu::encode_command(0x00, 0x2A, 0x00, 0xBE, p.server_ca.cert.der()), 0x9000);
    CHECK(c->sw(apdu::encode_command(0x00, 0x2A, 0x00, 0xBE,
                                     p.terminal(pki::Role::window).certificate.der())) == 0x6A88);
  }
  SECTION("a server certificate (role cs) in place of the terminal's: refused") {
    const auto cs = p.server(pki::Role::cs).certificate;
    c->expect(kSelectSec, 0x9000);
    c->expect(apdu::encode_command(0x00, 0x2A, 0x00, 0xBE, p.terminal_ca.cert.der()), 0x9000);
    // Issued by the server CA, not the terminal CA of step 1: unknown issuer.
    CHECK(c->sw(apdu::encode_command(0x00, 0x2A, 0x00, 0xBE, cs.der())) == 0x6A88);
  }
  SECTION("a municipal-application terminal of another application: 6982") {
    pki::LeafRequest request;
    request.authorization.role = pki::Role::municipal_app;
    request.authorization.municipality = kMunicipality;
    request.authorization.application = hex("F04C49425241");
    request.common_name = "library terminal";
    auto lib = take(pki::issue_new_key(p.terminal_ca, request));
    c->expect(kSelectSec, 0x9000);
    c->expect(apdu::encode_command(0x00, 0x2A, 0x00, 0xBE, p.terminal_ca.cert.der()), 0x9000);
    CHECK(c->sw(apdu::encode_command(0x00, 0x2A, 0x00, 0xBE, lib.cert.der())) == 0x6982);
  }
  SECTION("an expired terminal certificate, once the card has seen a later date: 6984") {
    auto old = p.terminal(pki::Role::window, 1, unix_now() - 10 * 86400);
    // The card's date is its trust anchor's notBefore (now): already past.
    auto e = open_fails(*c, old);
    CHECK(e.kind == Kind::refused);
    CHECK(e.sw == 0x6984);
  }
  SECTION("steps out of order: 6985") {
    c->expect(kSelectSec, 0x9000);
    CHECK(c->sw(apdu::encode_command(0x00, 0x86, 0x00, 0x00,
                                     hex("7C128110000102030405060708090A0B0C0D0E0F"), 65536)) ==
          0x6985);
  }
}

TEST_CASE(
    "secure session: a tampered, replayed or reordered APDU gets 6988 and ends the "
    "session",
    "[session]") {
  const Pki p;
  auto c = secure_card(p);
  auto session = open_session(*c, p.terminal(pki::Role::window));
  // Capture the protected bytes of two commands by wrapping them the way the
  // session does, through a recording transport.
  struct Recorder final : juki::Transport {
    juki::Transport& inner;
    std::vector<Bytes> sent;
    explicit Recorder(juki::Transport& t) : inner(t) {}
    Result<Bytes, juki::TransportError> transmit(ByteView cmd) override {
      sent.emplace_back(cmd.begin(), cmd.end());
      return inner.transmit(cmd);
    }
    Result<Bytes, juki::TransportError> reset() override { return inner.reset(); }
    Result<Bytes, juki::TransportError> power_cycle() override { return inner.power_cycle(); }
    Bytes atr() const override { return inner.atr(); }
    std::string describe() const override { return "recorder"; }
  };
  c->power_cycle();
  Recorder rec(c->transport());
  c->expect(kSelectSec, 0x9000);
  auto s = take(host::session::SecureSession::open(rec, p.terminal(pki::Role::window), unix_now()));
  REQUIRE(sw_via(*s, read_sfi(0x7001)) == 0x9000);
  const Bytes first = rec.sent.back();

  SECTION("replay") {
    CHECK(c->sw(first) == 0x6988);
    CHECK(c->sw(first) == 0x6882);  // the session is gone
  }
  SECTION("tampered MAC") {
    // Build the next protected command and flip a MAC bit before it goes.
    struct Tamper final : juki::Transport {
      juki::Transport& inner;
      bool armed = false;
      explicit Tamper(juki::Transport& t) : inner(t) {}
      Result<Bytes, juki::TransportError> transmit(ByteView cmd) override {
        Bytes b(cmd.begin(), cmd.end());
        if (armed) b[b.size() - 2] ^= 0x01;  // the last MAC byte (before Le)
        return inner.transmit(b);
      }
      Result<Bytes, juki::TransportError> reset() override { return inner.reset(); }
      Result<Bytes, juki::TransportError> power_cycle() override { return inner.power_cycle(); }
      Bytes atr() const override { return inner.atr(); }
      std::string describe() const override { return "tamper"; }
    };
    // A second session over the tampering transport.
    Tamper tamper(c->transport());
    c->expect(kSelectSec, 0x9000);
    auto t =
        take(host::session::SecureSession::open(tamper, p.terminal(pki::Role::window), unix_now()));
    tamper.armed = true;
    CHECK(sw_via(*t, read_sfi(0x7001)) == 0x6988);
    CHECK_FALSE(t->active());
    CHECK(c->sw(read_sfi(0x7001)) == 0x6982);
  }
  SECTION("reordered") {
    REQUIRE(sw_via(*s, read_sfi(0x7002)) == 0x9000);
    // The first command again after the second: its counter is behind.
    CHECK(c->sw(first) == 0x6988);
  }
}

TEST_CASE("secure session: failed proofs lock until power-off, unknown chains count nothing",
          "[session][req:D13]") {
  const Pki p;
  const Pki other("Another Root CA");
  const Pki impostor;  // the root's name, other keys: its signatures fail (6300)
  auto c = secure_card(p);
  auto good = p.terminal(pki::Role::window);
  // An unknown issuer is no proof at all: any number of them, no lock.
  for (int i = 0; i < 5; ++i) CHECK(open_fails(*c, other.terminal(pki::Role::window)).sw == 0x6A88);
  open_session(*c, good);
  for (int i = 0; i < 3; ++i)
    CHECK(open_fails(*c, impostor.terminal(pki::Role::window)).sw == 0x6300);
  // Three failed proofs since power-up: even the right terminal is refused now.
  CHECK(open_fails(*c, good).sw == 0x6983);
  c->power_cycle();
  open_session(*c, good);
}

TEST_CASE("secure session: the host refuses a card whose chain is not the root's",
          "[session][req:K10]") {
  const Pki p;
  const Pki other;
  auto c = secure_card(p);
  // The terminal trusts another root for the card's chain.
  auto cred = p.terminal(pki::Role::window);
  cred.root = other.root.cert;
  auto e = open_fails(*c, cred);
  CHECK(e.kind == host::session::SessionError::Kind::untrusted_card);
}
