// Mutual authentication and secure messaging end to end, in-process: the card
// (card_os, mbedTLS) against the terminal's SecureSession (OpenSSL) with a PKI
// made by issuer_tool/pki. specs/secure-channel.md is the contract; every
// refusal it lists has a case here.
#include <catch2/catch.hpp>

#include <ctime>

#include "card_os/apdu/apdu.hpp"
#include "host_middleware/session/secure_session.hpp"
#include "issuer_tool/pki/pki.hpp"
#include "support/test_card.hpp"

using namespace juki;
using namespace juki::test;
using card_os::AccessRule;
using card_os::Op;

namespace {

const Bytes kSecAid = *from_hex("F053454331");
const std::string kSelectSec = "00A4040C05F053454331";
const Bytes kSecret = ascii("resident record");
const std::string kMunicipality = "131016";

template <typename T, typename E>
T take(Result<T, E> r) {
  INFO((r ? std::string() : r.error().message));
  REQUIRE(r.ok());
  return std::move(*r);
}

// A Juki-net PKI: root, card CA and terminal CA.
struct Pki {
  explicit Pki(const std::string& root_name = pki::kRootName)
      : root(take(pki::create_root(root_name))) {}
  pki::KeyAndCert root;
  pki::KeyAndCert card_ca = take(pki::create_ca(root.key, root.cert, pki::CaKind::card));
  pki::KeyAndCert terminal_ca = take(pki::create_ca(root.key, root.cert, pki::CaKind::terminal));
  pki::KeyAndCert server_ca = take(pki::create_ca(root.key, root.cert, pki::CaKind::server));

  host::session::Credentials terminal(pki::Role role, int days = 30,
                                      std::optional<std::int64_t> not_before = {}) const {
    auto key = take(pki::PrivateKey::generate());
    pki::LeafRequest request;
    request.authorization.role = role;
    request.authorization.municipality = kMunicipality;
    if (role == pki::Role::municipal_app) request.authorization.application = kSecAid;
    request.common_name = "window 1";
    request.days = days;
    request.not_before = not_before;
    auto cert = take(pki::issue(terminal_ca.key, terminal_ca.cert, request, key.public_key()));
    return {key, cert, terminal_ca.cert, root.cert};
  }
};

// SubjectPublicKeyInfo of a P-256 point (RFC 5480: id-ecPublicKey, prime256v1).
Bytes spki_of(ByteView point) {
  Bytes der = hex("3059301306072A8648CE3D020106082A8648CE3D030107034200");
  der.insert(der.end(), point.begin(), point.end());
  return der;
}

std::int64_t now() {
  return static_cast<std::int64_t>(std::time(nullptr));
}

// Access bits of roles in the card's access rules (specs/pki.md).
constexpr std::uint16_t kWindowBit = 0x0001;
constexpr std::uint16_t kResetBit = 0x0004;

// The sample card plus application "SEC" (kSecAid) holding what mutual
// authentication needs (specs/secure-channel.md 2.0), a key generated on the
// card, and three protected EFs:
//   7001 read: role window + secure messaging    7002 read: secure messaging
//   7003 read: role password-reset + SM          7004 read: always
// (SFI = the FID's last digit: READ BINARY by SFI.)
std::unique_ptr<TestCard> secure_card(const Pki& p) {
  return TestCard::active_with([&](TestCard& c) {
    host::perso::Personalizer perso(c.transport());
    auto ok = [](const host::perso::Outcome<>& r) {
      INFO((r ? std::string("ok") : r.error().describe()));
      REQUIRE(r.ok());
    };
    ok(perso.create(df_spec(0x7000, kSecAid)));
    Bytes generated = c.expect("0046000100", 0x9000);
    REQUIRE(generated.size() == 3 + 2 + 65);  // 7F49 41 { 86 41 point }
    const Bytes point(generated.begin() + 5, generated.end());
    pki::LeafRequest request;
    request.authorization.role = pki::Role::card;
    request.authorization.municipality = kMunicipality;
    request.common_name = "card 0102030405060708";
    auto card_cert = take(pki::issue(p.card_ca.key, p.card_ca.cert, request,
                                     take(pki::PublicKey::from_der(spki_of(point)))));
    auto put = [&](std::uint16_t fid, const Bytes& der) {
      card_os::FileSpec ef = transparent_ef(fid, static_cast<std::uint32_t>(der.size() + 16));
      ef.rule(Op::read) = AccessRule::always();
      ok(perso.create(ef));
      ok(perso.write_binary(der));
      ok(perso.select_mf());
      ok(perso.select_fid(0x7000));
    };
    put(0x2F10, p.root.cert.der());
    put(0x2F11, card_cert.der());
    put(0x2F12, p.card_ca.cert.der());
    auto data = [&](std::uint16_t fid, AccessRule rule) {
      card_os::FileSpec ef = transparent_ef(fid, static_cast<std::uint32_t>(kSecret.size()),
                                            static_cast<std::uint8_t>(fid & 0x1F));
      ef.rule(Op::read) = rule;
      ok(perso.create(ef));
      ok(perso.write_binary(kSecret));
      ok(perso.select_mf());
      ok(perso.select_fid(0x7000));
    };
    data(0x7001, AccessRule{AccessRule::kRole | AccessRule::kSecureMessaging, 0, 0, kWindowBit});
    data(0x7002, AccessRule{AccessRule::kSecureMessaging, 0, 0, 0});
    data(0x7003, AccessRule{AccessRule::kRole | AccessRule::kSecureMessaging, 0, 0, kResetBit});
    data(0x7004, AccessRule::always());
    ok(perso.select_mf());
  });
}

Bytes read(std::uint16_t fid) {
  return apdu::encode_command(0x00, 0xB0, static_cast<std::uint8_t>(0x80 | (fid & 0x1F)), 0x00, {},
                              static_cast<std::uint32_t>(kSecret.size()));
}
Bytes select_ef(std::uint16_t fid) {
  return apdu::encode_command(
      0x00, 0xA4, 0x02, 0x0C,
      Bytes{static_cast<std::uint8_t>(fid >> 8), static_cast<std::uint8_t>(fid)});
}

// Sends through a transport; the whole response.
Bytes via(host::Transport& t, ByteView command) {
  auto r = t.transmit(command);
  INFO((r ? std::string() : r.error().message));
  REQUIRE(r.ok());
  return *r;
}

sw::Sw sw_via(host::Transport& t, ByteView command) {
  return TestCard::sw_of(via(t, command));
}

std::unique_ptr<host::session::SecureSession> open(TestCard& c,
                                                   const host::session::Credentials& cred) {
  c.expect(kSelectSec, 0x9000);
  auto s = host::session::SecureSession::open(c.transport(), cred, now());
  INFO((s ? std::string() : s.error().message));
  REQUIRE(s.ok());
  return std::move(*s);
}

host::session::SessionError open_fails(TestCard& c, const host::session::Credentials& cred) {
  c.expect(kSelectSec, 0x9000);
  auto s = host::session::SecureSession::open(c.transport(), cred, now());
  REQUIRE_FALSE(s.ok());
  return s.error();
}

}  // namespace

TEST_CASE("secure session: a window terminal authenticates and reads under secure messaging",
          "[session]") {
  const Pki p;
  auto c = secure_card(p);
  auto session = open(*c, p.terminal(pki::Role::window));
  CHECK(session->card().authorization.role == pki::Role::card);
  CHECK(session->card().authorization.municipality == kMunicipality);

  for (std::uint16_t fid : {0x7001, 0x7002, 0x7004}) {
    INFO("EF " << fid);
    REQUIRE(sw_via(*session, select_ef(fid)) == 0x9000);
    Bytes r = via(*session, read(fid));
    CHECK(TestCard::sw_of(r) == 0x9000);
    CHECK(TestCard::data_of(r) == kSecret);
  }
  // Another role's file: refused under the session, which goes on.
  CHECK(sw_via(*session, read(0x7003)) == 0x6982);
  CHECK(sw_via(*session, read(0x7001)) == 0x9000);
  // Every exchange is new on the wire: the same command twice looks different.
  auto keys_before = via(*session, read(0x7004));
  CHECK(TestCard::data_of(keys_before) == kSecret);
}

TEST_CASE("secure session: each role reaches only its files", "[session]") {
  const Pki p;
  auto c = secure_card(p);
  auto reset = open(*c, p.terminal(pki::Role::password_reset));
  CHECK(sw_via(*reset, read(0x7003)) == 0x9000);
  CHECK(sw_via(*reset, read(0x7001)) == 0x6982);
  // A municipal-application terminal bound to this application: SM files only.
  c->power_cycle();
  auto app = open(*c, p.terminal(pki::Role::municipal_app));
  CHECK(sw_via(*app, read(0x7002)) == 0x9000);
  CHECK(sw_via(*app, read(0x7001)) == 0x6982);
}

TEST_CASE("secure session: without a session the protected files are refused", "[session]") {
  const Pki p;
  auto c = secure_card(p);
  c->expect(kSelectSec, 0x9000);
  CHECK(c->sw(read(0x7001)) == 0x6982);
  CHECK(c->sw(read(0x7002)) == 0x6982);
  CHECK(c->sw(read(0x7004)) == 0x9000);
  // SM bits without a session.
  CHECK(c->sw("0CB0820000") == 0x6882);

  // A plain command during a session ends it.
  auto session = open(*c, p.terminal(pki::Role::window));
  CHECK(sw_via(*session, read(0x7001)) == 0x9000);
  CHECK(c->sw(read(0x7001)) == 0x6982);
  CHECK(sw_via(*session, read(0x7001)) == 0x6882);  // the card has no session any more
  CHECK_FALSE(session->active());
}

TEST_CASE(
    "secure session: the card refuses a foreign CA, a bad signature, a wrong role, "
    "an expired certificate",
    "[session]") {
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
  SECTION("a server CA in place of the terminal CA: 6A80") {
    c->expect(kSelectSec, 0x9000);
    CHECK(c->sw(apdu::encode_command(0x00, 0x2A, 0x00, 0xBE, p.server_ca.cert.der())) == 0x6A80);
  }
  SECTION("a server certificate (role cs) in place of the terminal's: refused") {
    auto key = take(pki::PrivateKey::generate());
    pki::LeafRequest request;
    request.authorization.role = pki::Role::cs;
    request.authorization.municipality = kMunicipality;
    request.common_name = "cs";
    auto cs = take(pki::issue(p.server_ca.key, p.server_ca.cert, request, key.public_key()));
    c->expect(kSelectSec, 0x9000);
    c->expect(apdu::encode_command(0x00, 0x2A, 0x00, 0xBE, p.terminal_ca.cert.der()), 0x9000);
    // Issued by the server CA, not the terminal CA of step 1: unknown issuer.
    CHECK(c->sw(apdu::encode_command(0x00, 0x2A, 0x00, 0xBE, cs.der())) == 0x6A88);
  }
  SECTION("a municipal-application terminal of another application: 6982") {
    auto key = take(pki::PrivateKey::generate());
    pki::LeafRequest request;
    request.authorization.role = pki::Role::municipal_app;
    request.authorization.municipality = kMunicipality;
    request.authorization.application = hex("F04C49425241");
    request.common_name = "library terminal";
    auto lib = take(pki::issue(p.terminal_ca.key, p.terminal_ca.cert, request, key.public_key()));
    c->expect(kSelectSec, 0x9000);
    c->expect(apdu::encode_command(0x00, 0x2A, 0x00, 0xBE, p.terminal_ca.cert.der()), 0x9000);
    CHECK(c->sw(apdu::encode_command(0x00, 0x2A, 0x00, 0xBE, lib.der())) == 0x6982);
  }
  SECTION("an expired terminal certificate, once the card has seen a later date: 6984") {
    auto old = p.terminal(pki::Role::window, 1, now() - 10 * 86400);
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
  auto session = open(*c, p.terminal(pki::Role::window));
  // Capture the protected bytes of two commands by wrapping them the way the
  // session does, through a recording transport.
  struct Recorder final : host::Transport {
    host::Transport& inner;
    std::vector<Bytes> sent;
    explicit Recorder(host::Transport& t) : inner(t) {}
    Result<Bytes, host::TransportError> transmit(ByteView cmd) override {
      sent.emplace_back(cmd.begin(), cmd.end());
      return inner.transmit(cmd);
    }
    Result<Bytes, host::TransportError> reset() override { return inner.reset(); }
    Result<Bytes, host::TransportError> power_cycle() override { return inner.power_cycle(); }
    Bytes atr() const override { return inner.atr(); }
    std::string describe() const override { return "recorder"; }
  };
  c->power_cycle();
  Recorder rec(c->transport());
  c->expect(kSelectSec, 0x9000);
  auto s = take(host::session::SecureSession::open(rec, p.terminal(pki::Role::window), now()));
  REQUIRE(sw_via(*s, read(0x7001)) == 0x9000);
  const Bytes first = rec.sent.back();

  SECTION("replay") {
    CHECK(c->sw(first) == 0x6988);
    CHECK(c->sw(first) == 0x6882);  // the session is gone
  }
  SECTION("tampered MAC") {
    // Build the next protected command and flip a MAC bit before it goes.
    struct Tamper final : host::Transport {
      host::Transport& inner;
      bool armed = false;
      explicit Tamper(host::Transport& t) : inner(t) {}
      Result<Bytes, host::TransportError> transmit(ByteView cmd) override {
        Bytes b(cmd.begin(), cmd.end());
        if (armed) b[b.size() - 2] ^= 0x01;  // the last MAC byte (before Le)
        return inner.transmit(b);
      }
      Result<Bytes, host::TransportError> reset() override { return inner.reset(); }
      Result<Bytes, host::TransportError> power_cycle() override { return inner.power_cycle(); }
      Bytes atr() const override { return inner.atr(); }
      std::string describe() const override { return "tamper"; }
    };
    // A second session over the tampering transport.
    Tamper tamper(c->transport());
    c->expect(kSelectSec, 0x9000);
    auto t = take(host::session::SecureSession::open(tamper, p.terminal(pki::Role::window), now()));
    tamper.armed = true;
    CHECK(sw_via(*t, read(0x7001)) == 0x6988);
    CHECK_FALSE(t->active());
    CHECK(c->sw(read(0x7001)) == 0x6982);
  }
  SECTION("reordered") {
    REQUIRE(sw_via(*s, read(0x7002)) == 0x9000);
    // The first command again after the second: its counter is behind.
    CHECK(c->sw(first) == 0x6988);
  }
}

TEST_CASE("secure session: failed authentications lock until power-off, then for good",
          "[session]") {
  const Pki p;
  const Pki other("Another Root CA");
  auto c = secure_card(p);
  auto bad = other.terminal(pki::Role::window);
  auto good = p.terminal(pki::Role::window);
  for (int i = 0; i < 3; ++i) CHECK(open_fails(*c, bad).sw == 0x6A88);
  // Three failures since power-up: even the right terminal is refused now.
  CHECK(open_fails(*c, good).sw == 0x6983);
  c->power_cycle();
  open(*c, good);  // and a success sets the count back to zero

  for (int round = 0; round < 5; ++round) {
    c->power_cycle();
    for (int i = 0; i < 3; ++i) CHECK(open_fails(*c, bad).sw == 0x6A88);
  }
  // 15 consecutive failures: blocked for good, across power cycles.
  c->power_cycle();
  CHECK(open_fails(*c, good).sw == 0x6983);
  c->power_cycle();
  CHECK(open_fails(*c, good).sw == 0x6983);
}

TEST_CASE("secure session: the host refuses a card whose chain is not the root's", "[session]") {
  const Pki p;
  const Pki other;
  auto c = secure_card(p);
  // The terminal trusts another root for the card's chain.
  auto cred = p.terminal(pki::Role::window);
  cred.root = other.root.cert;
  auto e = open_fails(*c, cred);
  CHECK(e.kind == host::session::SessionError::Kind::untrusted_card);
}
