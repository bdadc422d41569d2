// A card and a PKI for mutual authentication tests (specs/secure-channel.md):
// the sample card plus an application holding a trust anchor, a key generated
// on the card and its certificate, and files that need a role and secure
// messaging; terminals of every role from the same PKI.
#pragma once

#include <catch2/catch.hpp>

#include <ctime>
#include <memory>
#include <optional>
#include <string>

#include "card_os/apdu/apdu.hpp"
#include "host_middleware/session/secure_session.hpp"
#include "issuer_tool/pki/pki.hpp"
#include "support/test_card.hpp"

namespace juki::test {

using card_os::AccessRule;
using card_os::Op;

inline const Bytes kSecAid = *from_hex("F053454331");
inline const std::string kSelectSec = "00A4040C05F053454331";
inline const Bytes kSecret = ascii("resident record");
inline const std::string kMunicipality = "131016";

template <typename T, typename E>
inline T take(Result<T, E> r) {
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
inline Bytes spki_of(ByteView point) {
  Bytes der = hex("3059301306072A8648CE3D020106082A8648CE3D030107034200");
  der.insert(der.end(), point.begin(), point.end());
  return der;
}

inline std::int64_t unix_now() {
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
inline std::unique_ptr<TestCard> secure_card(const Pki& p) {
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

inline Bytes read_sfi(std::uint16_t fid) {
  return apdu::encode_command(0x00, 0xB0, static_cast<std::uint8_t>(0x80 | (fid & 0x1F)), 0x00, {},
                              static_cast<std::uint32_t>(kSecret.size()));
}
inline Bytes select_ef(std::uint16_t fid) {
  return apdu::encode_command(
      0x00, 0xA4, 0x02, 0x0C,
      Bytes{static_cast<std::uint8_t>(fid >> 8), static_cast<std::uint8_t>(fid)});
}

// Sends through a transport; the whole response.
inline Bytes via(host::Transport& t, ByteView command) {
  auto r = t.transmit(command);
  INFO((r ? std::string() : r.error().message));
  REQUIRE(r.ok());
  return *r;
}

inline sw::Sw sw_via(host::Transport& t, ByteView command) {
  return TestCard::sw_of(via(t, command));
}

inline std::unique_ptr<host::session::SecureSession> open_session(
    TestCard& c, const host::session::Credentials& cred) {
  c.expect(kSelectSec, 0x9000);
  auto s = host::session::SecureSession::open(c.transport(), cred, unix_now());
  INFO((s ? std::string() : s.error().message));
  REQUIRE(s.ok());
  return std::move(*s);
}

inline host::session::SessionError open_fails(TestCard& c, const host::session::Credentials& cred) {
  c.expect(kSelectSec, 0x9000);
  auto s = host::session::SecureSession::open(c.transport(), cred, unix_now());
  REQUIRE_FALSE(s.ok());
  return s.error();
}

}  // namespace juki::test
