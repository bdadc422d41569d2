// Whom a server trusts: TrustStore's checks of its own files and of a peer,
// and the signed envelopes between servers.
#include <catch2/catch.hpp>

#include "backend/messaging/envelope.hpp"
#include "backend/support/server_pki.hpp"
#include "backend/trust/trust.hpp"
#include "support/softhsm.hpp"

using namespace juki;
using namespace juki::backend;
using juki::test::ServerPki;
namespace proto = juki::net::v1;

TEST_CASE("a prefecture's code follows from a municipality's") {
  CHECK(trust::prefecture_of("131016") == "130001");
  CHECK(trust::prefecture_of("011002") == "010006");
  CHECK(trust::prefecture_of("131017").empty());  // a wrong check digit
  CHECK(trust::prefecture_of("13101").empty());
}

TEST_CASE("TrustStore::load checks its own files and names the one at fault") {
  ServerPki p;
  p.issue("cs", pki::Role::cs, "131016");
  auto trust = p.trust("cs");
  CHECK(trust.self().role == pki::Role::cs);
  CHECK(trust.self().code == "131016");
  CHECK(trust::describe(trust.self()) == "cs 131016");

  auto files = p.files("cs");
  SECTION("a missing file") {
    files.server_crl = p.file("nothing.crl");
    auto t = trust::TrustStore::load(files, test::unix_now());
    REQUIRE_FALSE(t.ok());
    CHECK(t.error().find("server CA's CRL") != std::string::npos);
  }
  SECTION("a key that is not the certificate's") {
    p.issue("other", pki::Role::cs, "131016");
    files.key = p.file("other.key");
    auto t = trust::TrustStore::load(files, test::unix_now());
    REQUIRE_FALSE(t.ok());
    CHECK(t.error().find("does not match the key") != std::string::npos);
  }
  SECTION("the root given as the server CA") {
    files.server_ca = files.root;
    CHECK_FALSE(trust::TrustStore::load(files, test::unix_now()).ok());
  }
}

TEST_CASE("a peer is refused for another PKI, a terminal's role, expiry and revocation",
          "[req:D5]") {
  ServerPki p;
  p.issue("prefecture", pki::Role::prefecture, "130001");
  p.issue("cs", pki::Role::cs, "131016");
  const auto now = test::unix_now();
  auto trust = p.trust("prefecture");

  auto good = trust.verify(p.certificate("cs"), now);
  REQUIRE(good.ok());
  CHECK(good->role == pki::Role::cs);
  CHECK(good->code == "131016");
  CHECK(good->fingerprint == p.certificate("cs").fingerprint());

  SECTION("another PKI's server certificate") {
    ServerPki stranger;
    stranger.issue("cs", pki::Role::cs, "131016");
    auto r = trust.verify(stranger.certificate("cs"), now);
    REQUIRE_FALSE(r.ok());
  }
  SECTION("expired") {
    p.issue("old", pki::Role::cs, "131016", 1, now - 3 * 86400);
    auto r = trust.verify(p.certificate("old"), now);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().find("expired") != std::string::npos);
  }
  SECTION("a window terminal's certificate from the terminal CA") {
    auto terminal_ca =
        test::must(pki::create_ca(p.root().key, p.root().cert, pki::CaKind::terminal));
    auto window = test::must(pki::issue_new_key(
        terminal_ca, {{pki::Role::window, std::string("131016"), std::nullopt}, "window", 30, {}}));
    CHECK_FALSE(trust.verify(window.cert, now).ok());
  }
  SECTION("revoked, once the CRL the server reads lists it") {
    p.revoke("cs");
    auto reloaded = p.trust("prefecture");
    auto r = reloaded.verify(p.certificate("cs"), now);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().find("revoked") != std::string::npos);
  }
}

TEST_CASE("envelopes: the signer's certificate and signature are checked, tampering is refused",
          "[req:D7]") {
  ServerPki p;
  p.issue("cs", pki::Role::cs, "131016");
  p.issue("prefecture", pki::Role::prefecture, "130001");
  auto cs = p.trust("cs");
  auto prefecture = p.trust("prefecture");
  const auto now = test::unix_now();

  proto::NotificationBatch batch;
  batch.set_sender("131016");
  batch.add_changes()->set_sequence(1);
  auto sealed = messaging::seal(cs, proto::NOTIFICATION_BATCH, batch);
  REQUIRE(sealed.ok());
  auto signer = messaging::check_signature(prefecture, *sealed, now);
  REQUIRE(signer.ok());
  CHECK(signer->code == "131016");

  SECTION("a changed payload") {
    auto e = *sealed;
    e.mutable_payload()->back() ^= 1;
    CHECK(messaging::check_signature(prefecture, e, now).error() ==
          "the envelope's signature: the signature does not verify");
  }
  SECTION("the same bytes passed off as another kind") {
    auto e = *sealed;
    e.set_kind(proto::RELAY_BATCH);
    CHECK_FALSE(messaging::check_signature(prefecture, e, now).ok());
  }
  SECTION("another server's certificate put in") {
    auto e = *sealed;
    const Bytes der = p.certificate("prefecture").der();
    e.set_signer_certificate(der.data(), der.size());
    CHECK_FALSE(messaging::check_signature(prefecture, e, now).ok());
  }
  SECTION("a signer of another PKI") {
    ServerPki stranger;
    stranger.issue("cs", pki::Role::cs, "131016");
    auto forged = messaging::seal(stranger.trust("cs"), proto::NOTIFICATION_BATCH, batch);
    REQUIRE(forged.ok());
    auto r = messaging::check_signature(prefecture, *forged, now);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().rfind("the signer's certificate", 0) == 0);
  }
  SECTION("no certificate, or garbage") {
    auto e = *sealed;
    e.clear_signer_certificate();
    CHECK_FALSE(messaging::check_signature(prefecture, e, now).ok());
    e.set_signer_certificate("not DER");
    CHECK_FALSE(messaging::check_signature(prefecture, e, now).ok());
  }
}

TEST_CASE("a server's messages are signed in its PKCS#11 token and checked as its own",
          "[req:D14]") {
  const auto& hsm = test::SoftHsm::instance();
  ServerPki p;
  p.issue("cs", pki::Role::cs, "131016");
  p.issue("prefecture", pki::Role::prefecture, "130001");
  p.issue_signing("cs", pki::Role::cs, "131016", hsm.uri("signing-3"));
  auto cs = p.trust("cs");
  auto prefecture = p.trust("prefecture");
  CHECK(cs.signing_key().in_token());
  CHECK_FALSE(cs.key().in_token());  // TLS keeps the key file
  CHECK(cs.signing_certificate().der() != cs.certificate().der());

  proto::NotificationBatch batch;
  batch.set_sender("131016");
  batch.add_changes()->set_sequence(1);
  auto sealed = messaging::seal(cs, proto::NOTIFICATION_BATCH, batch);
  REQUIRE(sealed.ok());
  const Bytes signing_der = cs.signing_certificate().der();
  CHECK(sealed->signer_certificate() == std::string(signing_der.begin(), signing_der.end()));
  auto signer = messaging::check_signature(prefecture, *sealed, test::unix_now());
  REQUIRE(signer.ok());
  CHECK(trust::same_server(*signer, cs.self()));
  CHECK(signer->fingerprint != cs.self().fingerprint);
  auto e = *sealed;
  e.mutable_payload()->back() ^= 1;
  CHECK_FALSE(messaging::check_signature(prefecture, e, test::unix_now()).ok());
}

TEST_CASE("a signing key in a token is refused with the wrong certificate, PIN or half a setting") {
  const auto& hsm = test::SoftHsm::instance();
  ServerPki p;
  p.issue("cs", pki::Role::cs, "131016");
  p.issue("other", pki::Role::cs, "131024");
  auto load = [&](trust::TrustFiles f) {
    auto t = trust::TrustStore::load(f, test::unix_now());
    REQUIRE_FALSE(t.ok());
    return t.error();
  };
  auto files = p.files("cs");
  files.signing_key = hsm.uri("signing-3");
  CHECK(load(files) == "signing_key and signing_certificate: both or neither");

  // Another server's certificate for the token's key.
  p.issue_signing("other", pki::Role::cs, "131024", hsm.uri("signing-3"));
  files.signing_certificate = p.files("other").signing_certificate;
  CHECK(load(files) == files.signing_certificate +
                           ": is for cs 131024, but the server's certificate is "
                           "for cs 131016");
  // The certificate of another key of the token.
  files.signing_key = hsm.uri("signing-4");
  CHECK(load(files) == files.signing_certificate + ": does not match the key in the token");
  // A wrong PIN.
  files.signing_key = "pkcs11:token=juki-test;object=signing-3?pin-value=000000";
  CHECK(load(files) == "signing_key: the token \"juki-test\" refused the PIN");
  files.signing_key = "pkcs11:token=juki-test;object=signing-3";
  CHECK(load(files) == "signing_key: the PKCS#11 URI needs one of pin-source and pin-value");
}

TEST_CASE("a CRL published while the server runs is read within a minute, a broken one ignored",
          "[req:D5]") {
  ServerPki p;
  p.issue("prefecture", pki::Role::prefecture, "130001");
  p.issue("cs", pki::Role::cs, "131016");
  p.issue("other", pki::Role::cs, "131024");
  const auto now = test::unix_now();
  auto trust = p.trust("prefecture");
  const auto copy = trust;  // a server's threads share one CRL
  REQUIRE(trust.verify(p.certificate("cs"), now).ok());

  p.revoke("cs");
  CHECK(trust.verify(p.certificate("cs"), now).ok());  // not looked at again yet
  auto later = trust.verify(p.certificate("cs"), now + 61);
  REQUIRE_FALSE(later.ok());
  CHECK(later.error().find("revoked") != std::string::npos);
  CHECK_FALSE(copy.verify(p.certificate("cs"), now + 62).ok());
  CHECK(trust.verify(p.certificate("other"), now + 62).ok());

  // A file that is not a CRL of the server CA changes nothing.
  REQUIRE(pki::replace_file(p.file("server-ca.crl"), Bytes{0x30, 0x00}, 0644).ok());
  CHECK_FALSE(trust.verify(p.certificate("cs"), now + 200).ok());
  CHECK(trust.verify(p.certificate("other"), now + 200).ok());
}
