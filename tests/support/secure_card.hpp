// Catch fixtures for mutual authentication tests (specs/secure-channel.md): a
// PKI with terminals of every role, and the card of secure_layout.hpp made
// under it in memory.
#pragma once

#include <catch2/catch.hpp>

#include <ctime>
#include <memory>
#include <optional>
#include <string>

#include "common/iso7816/apdu.hpp"
#include "host_middleware/session/secure_session.hpp"
#include "pki/pki.hpp"
#include "support/secure_layout.hpp"
#include "support/test_card.hpp"

namespace juki::test {

using juki::fcp::AccessRule;
using juki::fcp::Op;

inline const std::string kSelectSec = "00A4040C05F053454331";

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
    pki::LeafRequest request;
    request.authorization.role = role;
    request.authorization.municipality = kMunicipality;
    if (role == pki::Role::municipal_app) request.authorization.application = kSecAid;
    request.common_name = "window 1";
    request.days = days;
    request.not_before = not_before;
    auto leaf = take(pki::issue_new_key(terminal_ca, request));
    return {leaf.key, leaf.cert, terminal_ca.cert, root.cert};
  }
  // A server of `role` (cs, prefecture, national) from the server CA.
  host::session::Credentials server(pki::Role role, int days = 30) const {
    pki::LeafRequest request;
    request.authorization.role = role;
    if (pki::requires_municipality(role)) request.authorization.municipality = kMunicipality;
    request.common_name = std::string(pki::role_name(role)) + " server";
    request.days = days;
    auto leaf = take(pki::issue_new_key(server_ca, request));
    return {leaf.key, leaf.cert, server_ca.cert, root.cert};
  }
};

inline std::int64_t unix_now() {
  return static_cast<std::int64_t>(std::time(nullptr));
}

// The card of secure_layout.hpp (make_secure_card), powered again.
inline std::unique_ptr<TestCard> secure_card(const Pki& p) {
  auto c = std::make_unique<TestCard>();
  auto made = make_secure_card(c->transport(), sample_secrets(), p.root.cert, p.card_ca);
  INFO((made ? std::string("ok") : made.error().describe()));
  REQUIRE(made.ok());
  REQUIRE(c->card().life_cycle() == card_os::LifeCycle::active);
  c->power_cycle();
  return c;
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
