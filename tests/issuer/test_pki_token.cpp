// Keys in a PKCS#11 token (SoftHSM2): the RFC 7512 URI that names one, signing
// in the token, and every way of naming a key wrongly refused.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <atomic>
#include <fstream>
#include <thread>
#include <vector>

#include "pki/pki.hpp"
#include "support/softhsm.hpp"

using namespace juki;
using juki::test::SoftHsm;

TEST_CASE("a PKCS#11 URI names the token, the key, the module and the PIN") {
  auto ref = pki::parse_pkcs11_uri(
      "pkcs11:token=Juki%20CS;object=signing;id=%01%A0?module-path=/opt/hsm.so&pin-source=file:/"
      "etc/pin");
  REQUIRE(ref);
  CHECK(ref->token == "Juki CS");
  CHECK(ref->object == "signing");
  CHECK(ref->id == Bytes{0x01, 0xA0});
  CHECK(ref->module == "/opt/hsm.so");
  CHECK(ref->pin_file == "/etc/pin");
  CHECK(ref->pin_value.empty());

  auto plain = pki::parse_pkcs11_uri("pkcs11:token=t;id=%02?pin-value=1234");
  REQUIRE(plain);
  CHECK(plain->module == pki::kSoftHsmModule);
  CHECK(plain->pin_value == "1234");
}

TEST_CASE("a PKCS#11 URI that is incomplete, ambiguous or misspelt is refused by name") {
  auto refusal = [](const std::string& uri) {
    auto ref = pki::parse_pkcs11_uri(uri);
    REQUIRE_FALSE(ref);
    CHECK(ref.error().kind == pki::PkiErrorKind::malformed);
    return ref.error().message;
  };
  CHECK(refusal("token=t;object=k?pin-value=1") == "a PKCS#11 URI starts with \"pkcs11:\"");
  CHECK(refusal("pkcs11:object=k?pin-value=1") == "the PKCS#11 URI names no token");
  CHECK(refusal("pkcs11:token=t?pin-value=1") == "the PKCS#11 URI names no key (object or id)");
  CHECK(refusal("pkcs11:token=t;object=k") ==
        "the PKCS#11 URI needs one of pin-source and pin-value");
  CHECK(refusal("pkcs11:token=t;object=k?pin-value=1&pin-source=file:/p") ==
        "the PKCS#11 URI needs one of pin-source and pin-value");
  CHECK(refusal("pkcs11:token=t;objet=k?pin-value=1") ==
        "the PKCS#11 URI's path attribute \"objet\" is not one we use");
  CHECK(refusal("pkcs11:token=t;object=k?pin-value=1&slot=2") ==
        "the PKCS#11 URI's query attribute \"slot\" is not one we use");
  CHECK(refusal("pkcs11:token=t;token=u;object=k?pin-value=1") ==
        "the PKCS#11 URI's attribute \"token\" appears twice");
  CHECK(refusal("pkcs11:token=t%4;object=k?pin-value=1") ==
        "the PKCS#11 URI's attribute \"token\" has a broken %-escape");
  CHECK(refusal("pkcs11:token=t;object?pin-value=1") ==
        "the PKCS#11 URI's path has \"object\", not name=value");
  CHECK(refusal("pkcs11:token=t;object=k;type=public?pin-value=1") ==
        "the PKCS#11 URI's type must be private, not public");
  CHECK(refusal("pkcs11:token=t;object=k?pin-source=/etc/pin") ==
        "the PKCS#11 URI's pin-source must be file:PATH");
}

TEST_CASE("a key in a SoftHSM2 token signs in the token, from many threads, and never leaves it") {
  const auto& hsm = SoftHsm::instance();
  auto ref = pki::parse_pkcs11_uri(hsm.uri("signing-1"));
  REQUIRE(ref);
  auto key = pki::PrivateKey::from_token(*ref);
  REQUIRE(key);
  CHECK(key->in_token());
  CHECK(key->public_key().algorithm() == pki::KeyAlgorithm::p256);
  const Bytes message{'J', 'u', 'k', 'i'};
  std::atomic<int> good{0};
  std::vector<std::thread> signers;
  for (int t = 0; t < 4; ++t)
    signers.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        auto signature = pki::sign_message(*key, message);
        if (signature && pki::verify_message(key->public_key(), message, *signature)) ++good;
      }
    });
  for (auto& s : signers) s.join();
  CHECK(good == 100);

  // Another key of the token is another key.
  auto other = pki::PrivateKey::from_token(*pki::parse_pkcs11_uri(hsm.uri("signing-2")));
  REQUIRE(other);
  CHECK(other->public_key().der() != key->public_key().der());
  auto signature = pki::sign_message(*other, message);
  REQUIRE(signature);
  CHECK_FALSE(pki::verify_message(key->public_key(), message, *signature));
  // The same key named by its id.
  auto by_id = pki::PrivateKey::from_token(*pki::parse_pkcs11_uri(
      "pkcs11:token=juki-test;id=%01?pin-source=file:" + hsm.pin_file("juki-test")));
  REQUIRE(by_id);
  CHECK(by_id->public_key().der() == key->public_key().der());

  CHECK(key->to_pem().empty());
  test::TempDir dir;
  auto saved = key->save(dir.file("k.pem"));
  REQUIRE_FALSE(saved);
  CHECK(saved.error().kind == pki::PkiErrorKind::token);
}

TEST_CASE("a token key is refused for a wrong PIN, token, key or module, and a readable PIN file") {
  const auto& hsm = SoftHsm::instance();
  auto refusal = [](const std::string& uri) {
    auto ref = pki::parse_pkcs11_uri(uri);
    REQUIRE(ref);
    auto key = pki::PrivateKey::from_token(*ref);
    REQUIRE_FALSE(key);
    return key.error();
  };
  // A wrong PIN, before and after the token was logged in with the right one.
  for (int round = 0; round < 2; ++round) {
    auto e = refusal("pkcs11:token=juki-other;object=signing-1?pin-value=5556");
    CHECK(e.kind == pki::PkiErrorKind::token);
    CHECK(e.message == "the token \"juki-other\" refused the PIN");
    REQUIRE(
        pki::PrivateKey::from_token(*pki::parse_pkcs11_uri(hsm.uri("signing-1", "juki-other"))));
  }
  auto e = refusal("pkcs11:token=juki-none;object=signing-1?pin-value=1");
  CHECK(e.kind == pki::PkiErrorKind::token);
  CHECK(e.message == "no token labelled \"juki-none\" in /usr/lib/softhsm/libsofthsm2.so");
  e = refusal(hsm.uri("signing-9"));
  CHECK(e.message == "the token \"juki-test\" has no private key labelled \"signing-9\"");
  e = refusal("pkcs11:token=juki-test;object=signing-1?pin-value=1&module-path=/nonexistent.so");
  CHECK(e.message == "cannot load the PKCS#11 module /nonexistent.so");

  test::TempDir dir;
  const std::string pin = dir.file("pin");
  std::ofstream(pin) << SoftHsm::kPin << "\n";
  ::chmod(pin.c_str(), 0644);
  e = refusal("pkcs11:token=juki-test;object=signing-1?pin-source=file:" + pin);
  CHECK(e.kind == pki::PkiErrorKind::key_permissions);
}
