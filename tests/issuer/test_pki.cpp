// The Juki-net PKI (specs/pki.md): roles and the authorization extension,
// check digits, issuing, chain verification, key files, and juki-pki.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <sys/wait.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "pki/directory.hpp"
#include "pki/pki.hpp"
#include "support/run_program.hpp"
#include "support/softhsm.hpp"
#include "support/temp_dir.hpp"

using namespace juki;
using namespace juki::pki;
using nlohmann::json;

namespace {

template <class T>
T must(Result<T, PkiError> r) {
  INFO((r ? std::string() : r.error().message));
  REQUIRE(r.ok());
  return std::move(r).value();
}

struct Pki {
  KeyAndCert root = must(create_root());
  KeyAndCert card = must(create_ca(root.key, root.cert, CaKind::card));
  KeyAndCert terminal = must(create_ca(root.key, root.cert, CaKind::terminal));
  KeyAndCert server = must(create_ca(root.key, root.cert, CaKind::server));
  const KeyAndCert& ca(CaKind k) const {
    return k == CaKind::card ? card : k == CaKind::terminal ? terminal : server;
  }
};

const Bytes kAid = *from_hex("F04A554B4944454D4F");

Authorization example(Role role) {
  Authorization a{role, std::nullopt, std::nullopt};
  if (requires_municipality(role)) a.municipality = role == Role::prefecture ? "130001" : "131016";
  if (requires_application(role)) a.application = kAid;
  return a;
}

constexpr Role kLeafRoles[] = {Role::window,        Role::issuance,      Role::password_reset,
                               Role::municipal_app, Role::app_authority, Role::cs,
                               Role::prefecture,    Role::national,      Role::resident_system,
                               Role::card};

std::int64_t now() {
  return static_cast<std::int64_t>(std::time(nullptr));
}

}  // namespace

TEST_CASE("role names and codes are stable, and the access bits are code-1") {
  CHECK(static_cast<int>(*role_from_name("window")) == 1);
  CHECK(static_cast<int>(*role_from_name("issuance")) == 2);
  CHECK(static_cast<int>(*role_from_name("password-reset")) == 3);
  CHECK(static_cast<int>(*role_from_name("municipal-app")) == 4);
  CHECK(static_cast<int>(*role_from_name("app-authority")) == 5);
  CHECK(static_cast<int>(*role_from_name("cs")) == 6);
  CHECK(static_cast<int>(*role_from_name("prefecture")) == 7);
  CHECK(static_cast<int>(*role_from_name("national")) == 8);
  CHECK(static_cast<int>(*role_from_name("resident-system")) == 9);
  CHECK(static_cast<int>(*role_from_name("card")) == 16);
  CHECK(static_cast<int>(*role_from_name("terminal-ca")) == 32);
  CHECK(static_cast<int>(*role_from_name("card-ca")) == 33);
  CHECK(static_cast<int>(*role_from_name("server-ca")) == 34);
  CHECK_FALSE(role_from_name("root"));
  CHECK_FALSE(role_from_code(10));
  // A role with a code above 8 has no bit in the card's role set.
  CHECK_FALSE(access_bit(Role::resident_system));
  CHECK(*access_bit(Role::window) == 0x0001);
  CHECK(*access_bit(Role::national) == 0x0080);
  CHECK_FALSE(access_bit(Role::card));
  CHECK_FALSE(access_bit(Role::terminal_ca));
  for (Role r : kLeafRoles) CHECK(role_from_name(role_name(r)) == r);
}

TEST_CASE("municipality check digits (JIS X 0401)") {
  CHECK(municipality_check_digit("13000") == '1');
  CHECK(municipality_check_digit("01100") == '2');
  CHECK(municipality_check_digit("13101") == '6');
  CHECK(municipality_code_valid("130001"));
  CHECK(municipality_code_valid("011002"));
  CHECK(municipality_code_valid("131016"));
  CHECK_FALSE(municipality_code_valid("131017"));
  CHECK_FALSE(municipality_code_valid("130000"));
  CHECK_FALSE(municipality_code_valid("13101"));
  CHECK_FALSE(municipality_code_valid("1310160"));
  CHECK_FALSE(municipality_code_valid("13A016"));
  CHECK_FALSE(municipality_check_digit("1310"));
}

TEST_CASE("the authorization extension's DER, byte for byte") {
  Authorization a{Role::municipal_app, "131016", kAid};
  const Bytes expected = *from_hex(
      "30 16"
      " 02 01 04"
      " 80 06 31 33 31 30 31 36"
      " 81 09 F0 4A 55 4B 49 44 45 4D 4F");
  CHECK(must(encode_authorization(a)) == expected);
  CHECK(must(decode_authorization(expected)) == a);

  Authorization national{Role::national, std::nullopt, std::nullopt};
  CHECK(must(encode_authorization(national)) == *from_hex("3003020108"));
  Authorization ca{Role::terminal_ca, std::nullopt, std::nullopt};
  CHECK(must(encode_authorization(ca)) == *from_hex("3003020120"));

  SECTION("malformed encodings are refused") {
    for (const char* hex : {"", "3003020109",                // unknown role
                            "300302010800",                  // trailing byte
                            "30040202000108",                // not DER (INTEGER 0001)
                            "300B020101800631333130313700",  // garbage
                            "300B0201011306313331303136",    // universal tag, not [0]
                            "300B020101800631333130313",     // truncated
                            "3003020101"}) {                 // window without municipality
      INFO(hex);
      auto r = decode_authorization(*from_hex(hex));
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().kind == PkiErrorKind::extension_malformed);
    }
  }
}

TEST_CASE("authorization rules: municipality and application where the role wants them") {
  CHECK(check_authorization(example(Role::window)).ok());
  CHECK_FALSE(check_authorization({Role::window, std::nullopt, std::nullopt}).ok());
  CHECK_FALSE(check_authorization({Role::window, "131017", std::nullopt}).ok());
  CHECK_FALSE(check_authorization({Role::national, "131016", std::nullopt}).ok());
  CHECK_FALSE(check_authorization({Role::municipal_app, "131016", std::nullopt}).ok());
  CHECK_FALSE(check_authorization({Role::window, "131016", kAid}).ok());
  CHECK_FALSE(check_authorization({Role::municipal_app, "131016", Bytes(4, 1)}).ok());
  CHECK_FALSE(check_authorization({Role::municipal_app, "131016", Bytes(17, 1)}).ok());
  CHECK(check_authorization({Role::municipal_app, "131016", Bytes(5, 1)}).ok());
  CHECK(check_authorization({Role::municipal_app, "131016", Bytes(16, 1)}).ok());
  CHECK_FALSE(check_authorization({Role::terminal_ca, "131016", std::nullopt}).ok());
}

TEST_CASE("the hierarchy: root and CAs") {
  Pki p;
  CHECK(p.root.cert.is_ca());
  CHECK(p.root.cert.subject() == p.root.cert.issuer());
  CHECK_FALSE(must(p.root.cert.authorization()).has_value());
  CHECK(p.root.cert.not_after() - p.root.cert.not_before() >= 20LL * 365 * 86400);
  for (CaKind k : {CaKind::card, CaKind::terminal, CaKind::server}) {
    const auto& ca = p.ca(k);
    CHECK(ca.cert.is_ca());
    CHECK(ca.cert.issuer() == p.root.cert.subject());
    auto auth = must(ca.cert.authorization());
    REQUIRE(auth);
    CHECK(auth->role == ca_role(k));
    CHECK(must(verify_ca(p.root.cert, ca.cert, now())) == k);
    CHECK(ca.cert.not_after() - ca.cert.not_before() >= 10LL * 365 * 86400);
  }
  CHECK(p.root.cert.serial_hex().size() == 32);
  CHECK(verify_root(p.root.cert, now()).ok());
  Pki other;
  auto r = verify_ca(other.root.cert, p.card.cert, now());
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == PkiErrorKind::unknown_issuer);
}

TEST_CASE("every leaf role issues from its CA, round-trips through DER and verifies") {
  Pki p;
  for (Role role : kLeafRoles) {
    INFO(role_name(role));
    const CaKind k = *issuing_ca(role);
    auto key = must(PrivateKey::generate());
    LeafRequest req{example(role), "holder " + std::string(role_name(role)), 0, std::nullopt};
    auto cert = must(issue(p.ca(k).key, p.ca(k).cert, req, key.public_key()));
    auto again = must(Certificate::from_der(cert.der()));
    CHECK(again.der() == cert.der());
    CHECK_FALSE(again.is_ca());
    CHECK(again.common_name() == req.common_name);
    CHECK(must(again.authorization()) == std::optional<Authorization>(req.authorization));
    CHECK(again.public_key_der() == key.public_key().der());
    CHECK(again.public_point().size() == 65);
    CHECK(again.public_point()[0] == 0x04);
    CHECK(again.serial_hex().size() == 32);
    CHECK(again.not_after() - again.not_before() == default_days(role) * 86400LL);
    if (req.authorization.municipality)
      CHECK(again.subject().find("OU = " + *req.authorization.municipality) != std::string::npos);
    auto v = must(verify_chain(p.root.cert, p.ca(k).cert, again, now()));
    CHECK(v.ca == k);
    CHECK(v.authorization == req.authorization);
  }
}

TEST_CASE("issue refuses what the rules refuse") {
  Pki p;
  auto key = must(PrivateKey::generate());
  auto refused = [&](CaKind k, Authorization a) {
    auto r = issue(p.ca(k).key, p.ca(k).cert, {a, "x", 0, std::nullopt}, key.public_key());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == PkiErrorKind::refused);
    return r.error().message;
  };
  CHECK(refused(CaKind::server, example(Role::window)).find("terminal CA") != std::string::npos);
  refused(CaKind::terminal, example(Role::cs));
  refused(CaKind::terminal, example(Role::card));
  refused(CaKind::card, example(Role::issuance));
  CHECK(
      refused(CaKind::terminal, {Role::window, std::nullopt, std::nullopt}).find("municipality") !=
      std::string::npos);
  refused(CaKind::terminal, {Role::window, "131017", std::nullopt});
  refused(CaKind::server, {Role::national, "131016", std::nullopt});
  refused(CaKind::terminal, {Role::municipal_app, "131016", std::nullopt});
  refused(CaKind::terminal, {Role::municipal_app, "131016", Bytes(4, 0xA0)});
  refused(CaKind::terminal, {Role::terminal_ca, std::nullopt, std::nullopt});
  // The root cannot issue leaves, and a CA key must match its certificate.
  auto r = issue(p.root.key, p.root.cert, {example(Role::window), "x", 0, std::nullopt},
                 key.public_key());
  CHECK_FALSE(r.ok());
  r = issue(p.server.key, p.terminal.cert, {example(Role::window), "x", 0, std::nullopt},
            key.public_key());
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == PkiErrorKind::refused);
}

TEST_CASE("issue_new_key certifies a new P-256 key, or passes issue's refusal on") {
  Pki p;
  const std::int64_t from = now() - 86400;
  LeafRequest req{example(Role::municipal_app), "library terminal", 30, from};
  auto leaf = must(issue_new_key(p.terminal, req));
  CHECK(leaf.key.algorithm() == KeyAlgorithm::p256);
  CHECK(leaf.cert.public_key_der() == leaf.key.public_key().der());
  CHECK(X509_check_private_key(leaf.cert.native(), leaf.key.native()) == 1);
  CHECK(leaf.cert.common_name() == "library terminal");
  CHECK(leaf.cert.not_before() == from);
  CHECK(leaf.cert.not_after() - leaf.cert.not_before() == 30 * 86400LL);
  auto v = must(verify_chain(p.root.cert, p.terminal.cert, leaf.cert, now()));
  CHECK(v.ca == CaKind::terminal);
  CHECK(v.authorization == req.authorization);
  // Each call makes its own key.
  CHECK(must(issue_new_key(p.terminal, req)).key.public_key().der() != leaf.key.public_key().der());

  SECTION("a CA role") {
    auto r = issue_new_key(p.terminal, {example(Role::terminal_ca), "x", 0, std::nullopt});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == PkiErrorKind::refused);
    CHECK(r.error().message.find("CA certificate") != std::string::npos);
  }
  SECTION("a role of another CA") {
    auto r = issue_new_key(p.server, {example(Role::window), "x", 0, std::nullopt});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == PkiErrorKind::refused);
    CHECK(r.error().message.find("terminal CA") != std::string::npos);
  }
}

TEST_CASE("verify_chain: each failure names its check") {
  Pki p;
  auto key = must(PrivateKey::generate());
  LeafRequest req{example(Role::window), "window 1", 30, std::nullopt};
  auto leaf = must(issue(p.terminal.key, p.terminal.cert, req, key.public_key()));
  REQUIRE(verify_chain(p.root.cert, p.terminal.cert, leaf, now()).ok());
  auto kind_of = [](const Result<Verified, PkiError>& r) {
    REQUIRE_FALSE(r.ok());
    INFO(r.error().message);
    return r.error().kind;
  };

  SECTION("another PKI's root or CA: unknown issuer") {
    Pki other;
    CHECK(kind_of(verify_chain(other.root.cert, p.terminal.cert, leaf, now())) ==
          PkiErrorKind::unknown_issuer);
    CHECK(kind_of(verify_chain(p.root.cert, other.terminal.cert, leaf, now())) ==
          PkiErrorKind::unknown_issuer);
    CHECK(kind_of(verify_chain(p.root.cert, p.server.cert, leaf, now())) ==
          PkiErrorKind::unknown_issuer);
  }
  SECTION("a tampered signature: bad signature") {
    Bytes der = leaf.der();
    der.back() ^= 0x01;
    auto tampered = must(Certificate::from_der(der));
    CHECK(kind_of(verify_chain(p.root.cert, p.terminal.cert, tampered, now())) ==
          PkiErrorKind::bad_signature);
  }
  SECTION("expired and not yet valid") {
    CHECK(kind_of(verify_chain(p.root.cert, p.terminal.cert, leaf, now() + 31 * 86400)) ==
          PkiErrorKind::expired);
    CHECK(kind_of(verify_chain(p.root.cert, p.terminal.cert, leaf, now() - 86400)) ==
          PkiErrorKind::not_yet_valid);
    LeafRequest old = req;
    old.not_before = now() - 400 * 86400LL;
    auto expired = must(issue(p.terminal.key, p.terminal.cert, old, key.public_key()));
    CHECK(kind_of(verify_chain(p.root.cert, p.terminal.cert, expired, now())) ==
          PkiErrorKind::expired);
  }
  SECTION("a CA in the leaf's place, or a leaf in the CA's: unknown issuer") {
    CHECK(kind_of(verify_chain(p.root.cert, p.terminal.cert, p.server.cert, now())) ==
          PkiErrorKind::unknown_issuer);
    auto r = verify_ca(p.root.cert, leaf, now());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == PkiErrorKind::unknown_issuer);
  }
  SECTION("a role from the wrong CA kind, signed by hand: role not allowed") {
    // Take the window certificate, swap its authorization for a server role and
    // re-sign it with the terminal CA's key: what issue() refuses to make.
    std::unique_ptr<X509, X509Deleter> x(X509_dup(leaf.native()));
    ASN1_OBJECT* oid = OBJ_txt2obj(kAuthorizationOid, 1);
    const int i = X509_get_ext_by_OBJ(x.get(), oid, -1);
    REQUIRE(i >= 0);
    X509_EXTENSION_free(X509_delete_ext(x.get(), i));
    Bytes value = *from_hex("30 0B 02 01 06 80 06 31 33 31 30 31 36");  // role cs
    ASN1_OCTET_STRING* os = ASN1_OCTET_STRING_new();
    ASN1_OCTET_STRING_set(os, value.data(), static_cast<int>(value.size()));
    X509_EXTENSION* ext = X509_EXTENSION_create_by_OBJ(nullptr, oid, 1, os);
    REQUIRE(X509_add_ext(x.get(), ext, -1) == 1);
    X509_EXTENSION_free(ext);
    ASN1_OCTET_STRING_free(os);
    ASN1_OBJECT_free(oid);
    REQUIRE(X509_sign(x.get(), p.terminal.key.native(), EVP_sha256()) > 0);
    unsigned char* der = nullptr;
    const int len = i2d_X509(x.get(), &der);
    REQUIRE(len > 0);
    auto forged = must(Certificate::from_der(Bytes(der, der + len)));
    OPENSSL_free(der);
    CHECK(must(forged.authorization())->role == Role::cs);
    CHECK(kind_of(verify_chain(p.root.cert, p.terminal.cert, forged, now())) ==
          PkiErrorKind::role_not_allowed);
  }
}

TEST_CASE("private key files: 0600 on creation, never overwritten, refused when readable",
          "[req:D14]") {
  test::TempDir dir;
  auto key = must(PrivateKey::generate());
  const std::string path = dir.file("k.key.pem");
  REQUIRE(key.save(path).ok());
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto loaded = must(PrivateKey::load(path));
  CHECK(loaded.public_key().der() == key.public_key().der());
  {
    std::ifstream in(path);
    std::string first;
    std::getline(in, first);
    CHECK(first == "-----BEGIN PRIVATE KEY-----");
  }
  auto again = key.save(path);
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().kind == PkiErrorKind::io);

  REQUIRE(::chmod(path.c_str(), 0644) == 0);
  auto refused = PrivateKey::load(path);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == PkiErrorKind::key_permissions);
  CHECK(refused.error().message.find("0644") != std::string::npos);
  REQUIRE(::chmod(path.c_str(), 0640) == 0);
  CHECK_FALSE(PrivateKey::load(path).ok());
  REQUIRE(::chmod(path.c_str(), 0400) == 0);
  CHECK(PrivateKey::load(path).ok());
}

TEST_CASE("certificates in PEM: one block in, the same DER out, and a SHA-256 fingerprint") {
  Pki p;
  auto cs = must(issue_new_key(p.server, {example(Role::cs), "CS 131016", 0, std::nullopt}));
  const std::string pem = cs.cert.to_pem();
  CHECK(pem.rfind("-----BEGIN CERTIFICATE-----", 0) == 0);
  CHECK(must(Certificate::from_pem(pem)).der() == cs.cert.der());
  CHECK(must(Certificate::from_pem("\n" + pem + "\n\n")).der() == cs.cert.der());
  CHECK(cs.cert.fingerprint().size() == 32);
  CHECK(cs.cert.fingerprint() != p.server.cert.fingerprint());

  CHECK(Certificate::from_pem(pem + p.server.cert.to_pem()).error().message ==
        "more than one PEM block");
  CHECK(Certificate::from_pem("").error().kind == PkiErrorKind::malformed);
  CHECK(Certificate::from_pem(cs.key.to_pem()).error().message.find("not a CERTIFICATE") !=
        std::string::npos);
  std::string broken = pem;
  broken[40] = broken[40] == 'A' ? 'B' : 'A';  // the DER inside no longer parses, or differs
  auto r = Certificate::from_pem(broken);
  CHECK((!r.ok() || r->der() != cs.cert.der()));
}

TEST_CASE("sign_message and verify_message: ECDSA P-256 over SHA-256, DER signatures") {
  auto key = must(PrivateKey::generate());
  const Bytes message = {'J', 'U', 'K', 'I', 0x00, 0xFF};
  const Bytes signature = must(sign_message(key, message));
  CHECK(signature[0] == 0x30);  // an ECDSA-Sig-Value SEQUENCE
  CHECK(verify_message(key.public_key(), message, signature).ok());

  Bytes other_message = message;
  other_message.back() ^= 1;
  CHECK(verify_message(key.public_key(), other_message, signature).error().kind ==
        PkiErrorKind::bad_signature);
  Bytes tampered = signature;
  tampered[tampered.size() - 1] ^= 1;
  CHECK(verify_message(key.public_key(), message, tampered).error().kind ==
        PkiErrorKind::bad_signature);
  CHECK(verify_message(key.public_key(), message, {}).error().kind == PkiErrorKind::bad_signature);
  auto stranger = must(PrivateKey::generate());
  CHECK(verify_message(stranger.public_key(), message, signature).error().kind ==
        PkiErrorKind::bad_signature);
  auto rsa = must(PrivateKey::generate(KeyAlgorithm::rsa2048));
  CHECK(sign_message(rsa, message).error().kind == PkiErrorKind::wrong_algorithm);
  CHECK(verify_message(rsa.public_key(), message, signature).error().kind ==
        PkiErrorKind::wrong_algorithm);
}

TEST_CASE("times: YYYYMMDDhhmmssZ") {
  CHECK(parse_time("19700101000000Z") == 0);
  CHECK(parse_time("20300101000000Z") == 1893456000);
  CHECK(format_time(1893456000) == "20300101000000Z");
  CHECK_FALSE(parse_time("20300101000000"));
  CHECK_FALSE(parse_time("2030010100000Z"));
  CHECK_FALSE(parse_time("20301301000000Z"));
}

// ------------------------------------------------------------ JPKI

namespace {

using EvpPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

// A key pair as the card makes it (here by OpenSSL directly, not by the pki
// library): RSA-2048, e = 65537.
EvpPtr openssl_rsa2048() {
  EvpPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(2048)));
  REQUIRE(key);
  return key;
}

Bytes bn_bytes(EVP_PKEY* key, const char* name, int width) {
  BIGNUM* bn = nullptr;
  REQUIRE(EVP_PKEY_get_bn_param(key, name, &bn) == 1);
  const int n = width != 0 ? width : BN_num_bytes(bn);
  Bytes out(static_cast<std::size_t>(n));
  REQUIRE(BN_bn2binpad(bn, out.data(), n) == n);
  BN_free(bn);
  return out;
}

Bytes spki_of(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(key, &der);
  REQUIRE(len > 0);
  Bytes out(der, der + len);
  OPENSSL_free(der);
  return out;
}

// RSA key generation takes a while: one pair of JPKI CAs and one holder key
// per test process.
struct Jpki {
  KeyAndCert auth = must(create_jpki_ca(JpkiKind::auth));
  KeyAndCert sign = must(create_jpki_ca(JpkiKind::sign));
  EvpPtr holder = openssl_rsa2048();
  Bytes n = bn_bytes(holder.get(), OSSL_PKEY_PARAM_RSA_N, 256);
  Bytes e = bn_bytes(holder.get(), OSSL_PKEY_PARAM_RSA_E, 0);
  Bytes spki = spki_of(holder.get());
  const KeyAndCert& ca(JpkiKind k) const { return k == JpkiKind::auth ? auth : sign; }
};

const Jpki& jpki() {
  static const Jpki j;
  return j;
}

constexpr JpkiKind kJpkiKinds[] = {JpkiKind::auth, JpkiKind::sign};

// OpenSSL's own RFC 5280 path validation, the CA as the only trust anchor.
bool openssl_verifies(const Certificate& ca, const Certificate& leaf) {
  X509_STORE* store = X509_STORE_new();
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  REQUIRE(store);
  REQUIRE(ctx);
  REQUIRE(X509_STORE_add_cert(store, ca.native()) == 1);
  X509_STORE_set_flags(store, X509_V_FLAG_X509_STRICT);
  REQUIRE(X509_STORE_CTX_init(ctx, store, leaf.native(), nullptr) == 1);
  const bool ok = X509_verify_cert(ctx) == 1;
  INFO(X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
  CHECK(ok);
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  return ok;
}

}  // namespace

TEST_CASE("JPKI CAs are self-signed RSA-2048 roots with the profile of specs/pki.md") {
  const Jpki& j = jpki();
  for (JpkiKind k : kJpkiKinds) {
    INFO(jpki_kind_name(k));
    const KeyAndCert& ca = j.ca(k);
    const Bytes der = ca.cert.der();
    REQUIRE(der.size() > 255);
    CHECK(der[0] == 0x30);
    CHECK(der[1] == 0x82);
    CHECK(ca.key.algorithm() == KeyAlgorithm::rsa2048);
    CHECK(ca.cert.public_key().algorithm() == KeyAlgorithm::rsa2048);
    CHECK(ca.cert.public_key().rsa_modulus().size() == 256);
    CHECK(ca.cert.public_key().rsa_exponent() == Bytes{0x01, 0x00, 0x01});
    CHECK(ca.cert.public_point().empty());
    CHECK(X509_get_signature_nid(ca.cert.native()) == NID_sha256WithRSAEncryption);
    CHECK(ca.cert.subject() ==
          "C = JP, O = JPKI, OU = Juki-net reference, CN = " + default_jpki_ca_name(k));
    CHECK(ca.cert.issuer() == ca.cert.subject());
    CHECK(ca.cert.is_ca());
    CHECK(X509_get_pathlen(ca.cert.native()) == 0);
    CHECK(X509_get_key_usage(ca.cert.native()) == (KU_KEY_CERT_SIGN | KU_CRL_SIGN));
    CHECK(X509_get0_subject_key_id(ca.cert.native()) != nullptr);
    CHECK(X509_get0_authority_key_id(ca.cert.native()) == nullptr);
    CHECK_FALSE(must(ca.cert.authorization()).has_value());
    CHECK(ca.cert.jpki_kind() == k);
    CHECK(ca.cert.serial_hex().size() == 32);
    CHECK(ca.cert.not_after() - ca.cert.not_before() == kCaDays * 86400LL);
    CHECK(must(verify_jpki_ca(ca.cert, now())) == k);
    CHECK(openssl_verifies(ca.cert, ca.cert));
    // Not a Juki-net root: same shape, but an RSA key.
    auto r = verify_root(ca.cert, now());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == PkiErrorKind::wrong_algorithm);
  }
  CHECK(jpki_ca_from_name("jpki-auth") == JpkiKind::auth);
  CHECK(jpki_ca_from_name("jpki-sign") == JpkiKind::sign);
  CHECK_FALSE(jpki_ca_from_name("terminal"));
  CHECK(jpki_policy_oid(JpkiKind::auth) == std::string(kJpkiPolicyArc) + ".1");
  CHECK(jpki_policy_oid(JpkiKind::sign) == std::string(kJpkiPolicyArc) + ".2");
  // Juki-net certificates carry no JPKI policy.
  Pki p;
  CHECK_FALSE(p.root.cert.jpki_kind());
  CHECK_FALSE(p.terminal.cert.jpki_kind());
  CHECK(p.root.cert.public_key().algorithm() == KeyAlgorithm::p256);

  SECTION("RSA CA keys: 0600 PKCS#8, loaded only where an RSA key is asked for") {
    test::TempDir dir;
    const std::string path = dir.file("jpki-auth-ca.key.pem");
    REQUIRE(j.auth.key.save(path).ok());
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    CHECK(j.auth.key.to_pem().rfind("-----BEGIN PRIVATE KEY-----", 0) == 0);
    auto loaded = must(PrivateKey::load(path, KeyAlgorithm::rsa2048));
    CHECK(loaded.algorithm() == KeyAlgorithm::rsa2048);
    CHECK(loaded.public_key().der() == j.auth.key.public_key().der());
    auto refused = PrivateKey::load(path);  // a Juki-net path: P-256 only
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().kind == PkiErrorKind::malformed);
    auto ec = must(PrivateKey::generate());
    auto wrong = PrivateKey::from_pem(ec.to_pem(), KeyAlgorithm::rsa2048);
    REQUIRE_FALSE(wrong.ok());
    CHECK(wrong.error().kind == PkiErrorKind::malformed);
    REQUIRE(::chmod(path.c_str(), 0640) == 0);
    auto readable = PrivateKey::load(path, KeyAlgorithm::rsa2048);
    REQUIRE_FALSE(readable.ok());
    CHECK(readable.error().kind == PkiErrorKind::key_permissions);
  }
}

TEST_CASE("JPKI leaves from the card's modulus and exponent verify against their CA") {
  const Jpki& j = jpki();
  auto pub = must(PublicKey::from_rsa(j.n, j.e));
  CHECK(pub.algorithm() == KeyAlgorithm::rsa2048);
  CHECK(pub.der() == j.spki);
  CHECK(pub.rsa_modulus() == j.n);
  CHECK(pub.rsa_exponent() == Bytes{0x01, 0x00, 0x01});
  CHECK(pub.point().empty());
  // Leading zero bytes (an INTEGER-style encoding) change nothing.
  Bytes padded_n{0x00};
  padded_n.insert(padded_n.end(), j.n.begin(), j.n.end());
  CHECK(must(PublicKey::from_rsa(padded_n, Bytes{0x00, 0x01, 0x00, 0x01})).der() == j.spki);
  CHECK(must(PublicKey::from_der(j.spki, KeyAlgorithm::rsa2048)).der() == j.spki);

  for (JpkiKind k : kJpkiKinds) {
    INFO(jpki_kind_name(k));
    const KeyAndCert& ca = j.ca(k);
    JpkiLeafRequest req{k, "Juki Taro", 0, std::nullopt};
    auto cert = must(issue_jpki(ca, req, pub));
    const Bytes der = cert.der();
    REQUIRE(der.size() > 255);
    CHECK(der[0] == 0x30);
    CHECK(der[1] == 0x82);
    CHECK(must(Certificate::from_der(der)).der() == der);
    CHECK(cert.public_key_der() == j.spki);
    CHECK(cert.common_name() == "Juki Taro");
    CHECK(cert.subject() == "C = JP, O = JPKI, OU = Juki-net reference, CN = Juki Taro");
    CHECK(cert.issuer() == ca.cert.subject());
    CHECK_FALSE(cert.is_ca());
    CHECK(cert.jpki_kind() == k);
    CHECK_FALSE(must(cert.authorization()).has_value());
    CHECK(X509_get_signature_nid(cert.native()) == NID_sha256WithRSAEncryption);
    CHECK(cert.not_after() - cert.not_before() == kJpkiLeafDays * 86400LL);
    const std::uint32_t usage = X509_get_key_usage(cert.native());
    if (k == JpkiKind::auth) {
      CHECK(usage == KU_DIGITAL_SIGNATURE);
      CHECK((X509_get_extension_flags(cert.native()) & EXFLAG_XKUSAGE) != 0);
      CHECK(X509_get_extended_key_usage(cert.native()) == XKU_SSL_CLIENT);
    } else {
      CHECK(usage == (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION));
      CHECK((X509_get_extension_flags(cert.native()) & EXFLAG_XKUSAGE) == 0);
    }
    CHECK(must(verify_jpki(ca.cert, cert, now())) == k);
    CHECK(openssl_verifies(ca.cert, cert));
    // The other JPKI CA did not issue it.
    auto other =
        verify_jpki(j.ca(k == JpkiKind::auth ? JpkiKind::sign : JpkiKind::auth).cert, cert, now());
    REQUIRE_FALSE(other.ok());
    CHECK(other.error().kind == PkiErrorKind::unknown_issuer);
  }
}

TEST_CASE("verify_jpki: each failure names its check") {
  const Jpki& j = jpki();
  auto pub = must(PublicKey::from_rsa(j.n, j.e));
  auto leaf = must(issue_jpki(j.auth, {JpkiKind::auth, "holder", 30, std::nullopt}, pub));
  REQUIRE(verify_jpki(j.auth.cert, leaf, now()).ok());
  auto kind_of = [](const Result<JpkiKind, PkiError>& r) {
    REQUIRE_FALSE(r.ok());
    INFO(r.error().message);
    return r.error().kind;
  };

  SECTION("a tampered signature: bad signature") {
    Bytes der = leaf.der();
    der.back() ^= 0x01;
    auto tampered = must(Certificate::from_der(der));
    CHECK(kind_of(verify_jpki(j.auth.cert, tampered, now())) == PkiErrorKind::bad_signature);
    // A tampered CA does not verify itself either.
    Bytes ca_der = j.auth.cert.der();
    ca_der.back() ^= 0x01;
    auto tampered_ca = must(Certificate::from_der(ca_der));
    CHECK(kind_of(verify_jpki(tampered_ca, leaf, now())) == PkiErrorKind::bad_signature);
  }
  SECTION("expired and not yet valid") {
    CHECK(kind_of(verify_jpki(j.auth.cert, leaf, now() + 31 * 86400)) == PkiErrorKind::expired);
    CHECK(kind_of(verify_jpki(j.auth.cert, leaf, now() - 86400)) == PkiErrorKind::not_yet_valid);
  }
  SECTION("Juki-net certificates in a JPKI place") {
    Pki p;
    // The Juki-net root is self-signed, but P-256.
    CHECK(kind_of(verify_jpki_ca(p.root.cert, now())) == PkiErrorKind::wrong_algorithm);
    CHECK(kind_of(verify_jpki(p.terminal.cert, leaf, now())) == PkiErrorKind::unknown_issuer);
    // A leaf as its own CA.
    CHECK(kind_of(verify_jpki(leaf, leaf, now())) == PkiErrorKind::unknown_issuer);
    // And a JPKI leaf in the Juki-net chain.
    auto r = verify_chain(p.root.cert, p.terminal.cert, leaf, now());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == PkiErrorKind::unknown_issuer);
  }
  SECTION("a signature policy under the authentication CA, signed by hand: role not allowed") {
    std::unique_ptr<X509, X509Deleter> x(X509_dup(leaf.native()));
    const int i = X509_get_ext_by_NID(x.get(), NID_certificate_policies, -1);
    REQUIRE(i >= 0);
    X509_EXTENSION_free(X509_delete_ext(x.get(), i));
    CERTIFICATEPOLICIES* policies = sk_POLICYINFO_new_null();
    POLICYINFO* info = POLICYINFO_new();
    ASN1_OBJECT_free(info->policyid);
    info->policyid = OBJ_txt2obj(jpki_policy_oid(JpkiKind::sign).c_str(), 1);
    sk_POLICYINFO_push(policies, info);
    REQUIRE(X509_add1_ext_i2d(x.get(), NID_certificate_policies, policies, 0, 0) == 1);
    CERTIFICATEPOLICIES_free(policies);
    REQUIRE(X509_sign(x.get(), j.auth.key.native(), EVP_sha256()) > 0);
    unsigned char* der = nullptr;
    const int len = i2d_X509(x.get(), &der);
    REQUIRE(len > 0);
    auto forged = must(Certificate::from_der(Bytes(der, der + len)));
    OPENSSL_free(der);
    CHECK(forged.jpki_kind() == JpkiKind::sign);
    CHECK(kind_of(verify_jpki(j.auth.cert, forged, now())) == PkiErrorKind::role_not_allowed);
  }
}

TEST_CASE("RSA keys stay out of Juki-net and P-256 keys out of JPKI") {
  const Jpki& j = jpki();
  auto rsa = must(PublicKey::from_rsa(j.n, j.e));
  Pki p;
  auto ec = must(PrivateKey::generate());
  auto refused = [](const auto& r, PkiErrorKind kind) {
    REQUIRE_FALSE(r.ok());
    INFO(r.error().message);
    CHECK(r.error().kind == kind);
  };

  // Juki-net: a terminal leaf for an RSA key, an RSA SPKI or PEM where P-256
  // is wanted, an RSA "root" for a CA.
  refused(
      issue(p.terminal.key, p.terminal.cert, {example(Role::window), "x", 0, std::nullopt}, rsa),
      PkiErrorKind::refused);
  refused(PublicKey::from_der(j.spki), PkiErrorKind::malformed);
  refused(PrivateKey::from_pem(j.auth.key.to_pem()), PkiErrorKind::malformed);
  refused(create_ca(j.auth.key, j.auth.cert, CaKind::terminal), PkiErrorKind::refused);
  // JPKI: a P-256 key, a Juki-net CA, the wrong kind, a key that is not the
  // CA's, an empty CN.
  const JpkiLeafRequest auth{JpkiKind::auth, "x", 0, std::nullopt};
  refused(PublicKey::from_der(ec.public_key().der(), KeyAlgorithm::rsa2048),
          PkiErrorKind::malformed);
  refused(issue_jpki(j.auth, auth, ec.public_key()), PkiErrorKind::refused);
  refused(issue_jpki(p.terminal, auth, rsa), PkiErrorKind::refused);
  refused(issue_jpki(p.root, auth, rsa), PkiErrorKind::refused);
  refused(issue_jpki(j.sign, auth, rsa), PkiErrorKind::refused);
  refused(issue_jpki({j.sign.key, j.auth.cert}, auth, rsa), PkiErrorKind::refused);
  refused(issue_jpki(j.auth, {JpkiKind::auth, "", 0, std::nullopt}, rsa), PkiErrorKind::refused);
  refused(issue_jpki(j.auth, {JpkiKind::auth, "x", 36501, std::nullopt}, rsa),
          PkiErrorKind::refused);

  SECTION("from_rsa takes 2048-bit moduli and valid exponents only") {
    refused(PublicKey::from_rsa(Bytes(j.n.begin() + 128, j.n.end()), j.e),
            PkiErrorKind::malformed);  // 1024 bits
    Bytes short_n = j.n;
    short_n[0] = 0x7F;  // 2047 bits
    refused(PublicKey::from_rsa(short_n, j.e), PkiErrorKind::malformed);
    Bytes even_n = j.n;
    even_n.back() &= 0xFE;
    refused(PublicKey::from_rsa(even_n, j.e), PkiErrorKind::malformed);
    refused(PublicKey::from_rsa(j.n, Bytes{}), PkiErrorKind::malformed);
    refused(PublicKey::from_rsa(j.n, Bytes{0x01}), PkiErrorKind::malformed);
    refused(PublicKey::from_rsa(j.n, Bytes{0x01, 0x00, 0x00}), PkiErrorKind::malformed);
    refused(PublicKey::from_rsa(Bytes{}, j.e), PkiErrorKind::malformed);
  }
}

// ------------------------------------------------------------ juki-pki

namespace {

using test::Run;

Run pki_cli(const test::TempDir& dir, const std::vector<std::string>& args) {
  return test::run(dir, JUKI_PKI, args);
}

}  // namespace

TEST_CASE("juki-pki: init, issue, show, verify and their exit codes") {
  test::TempDir dir;
  const std::string pki_dir = dir.file("pki");
  auto r = pki_cli(dir, {"init", pki_dir});
  INFO(r.err);
  REQUIRE(r.exit == 0);
  for (const char* stem : {"root", "card-ca", "terminal-ca", "server-ca"}) {
    struct stat st {};
    REQUIRE(::stat((pki_dir + "/" + stem + ".key.pem").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    CHECK(must(Certificate::load(pki_dir + "/" + stem + ".cert.der")).is_ca());
  }
  CHECK(pki_cli(dir, {"init", pki_dir}).exit == 1);  // never overwrites

  r = pki_cli(dir, {"issue", pki_dir, "--ca", "terminal", "--role", "municipal-app",
                    "--municipality", "131016", "--application", "F04A554B4944454D4F", "--subject",
                    "Chiyoda app terminal", "--days", "100", "--out", dir.file("app")});
  INFO(r.err);
  REQUIRE(r.exit == 0);
  r = pki_cli(dir, {"--json", "show", dir.file("app.cert.der")});
  REQUIRE(r.exit == 0);
  json j = r.doc();
  CHECK(j["role"] == "municipal-app");
  CHECK(j["role_code"] == 4);
  CHECK(j["municipality"] == "131016");
  CHECK(j["application"] == "F04A554B4944454D4F");
  CHECK(j["ca"] == false);
  CHECK(j["common_name"] == "Chiyoda app terminal");
  CHECK(j["subject"].get<std::string>().find("Juki-net") != std::string::npos);
  CHECK(j["issuer"].get<std::string>().find("Terminal CA") != std::string::npos);
  CHECK(*parse_time(j["not_after"].get<std::string>()) -
            *parse_time(j["not_before"].get<std::string>()) ==
        100 * 86400);

  CHECK(pki_cli(dir, {"verify", pki_dir, dir.file("app.cert.der")}).exit == 0);
  r = pki_cli(dir,
              {"--json", "verify", pki_dir, dir.file("app.cert.der"), "--at", "21000101000000Z"});
  CHECK(r.exit == 1);
  CHECK(r.doc()["error"]["kind"] == "expired");
  CHECK(pki_cli(dir, {"verify", pki_dir, pki_dir + "/server-ca.cert.der"}).exit == 0);
  CHECK(pki_cli(dir, {"verify", pki_dir, pki_dir + "/root.cert.der"}).exit == 0);

  SECTION("a key generated elsewhere (--pubkey): no key file") {
    auto key = must(PrivateKey::generate());
    const Bytes spki = key.public_key().der();
    REQUIRE(write_new_file(dir.file("card.pub.der"), spki, 0644).ok());
    r = pki_cli(dir, {"issue", pki_dir, "--ca", "card", "--role", "card", "--municipality",
                      "011002", "--subject", "card 0001", "--pubkey", dir.file("card.pub.der"),
                      "--out", dir.file("card")});
    INFO(r.err);
    REQUIRE(r.exit == 0);
    struct stat st {};
    CHECK(::stat(dir.file("card.key.pem").c_str(), &st) != 0);
    auto cert = must(Certificate::load(dir.file("card.cert.der")));
    CHECK(cert.public_key_der() == spki);
    CHECK(cert.not_after() - cert.not_before() == 3650 * 86400LL);
    CHECK(pki_cli(dir, {"verify", pki_dir, dir.file("card.cert.der")}).exit == 0);
  }
  SECTION("a server's signing key in a PKCS#11 token (--token-key): no key file") {
    const auto& hsm = juki::test::SoftHsm::instance();
    r = pki_cli(dir, {"issue", pki_dir, "--ca", "server", "--role", "cs", "--municipality",
                      "131016", "--subject", "chiyoda signing", "--token-key", hsm.uri("signing-4"),
                      "--out", dir.file("signing")});
    INFO(r.err);
    REQUIRE(r.exit == 0);
    struct stat st {};
    CHECK(::stat(dir.file("signing.key.pem").c_str(), &st) != 0);
    auto in_token = must(PrivateKey::from_token(must(parse_pkcs11_uri(hsm.uri("signing-4")))));
    CHECK(must(Certificate::load(dir.file("signing.cert.der"))).public_key_der() ==
          in_token.public_key().der());
    {
      std::ofstream wrong(dir.file("wrong.pin"));
      wrong << "1\n";
    }
    ::chmod(dir.file("wrong.pin").c_str(), 0600);
    r = pki_cli(dir,
                {"--json", "issue", pki_dir, "--ca", "server", "--role", "cs", "--municipality",
                 "131016", "--subject", "x", "--token-key",
                 "pkcs11:token=juki-test;object=signing-4?pin-source=file:" + dir.file("wrong.pin"),
                 "--out", dir.file("wrong-pin")});
    CHECK(r.exit == 1);
    CHECK(r.doc()["error"]["kind"] == "token");
    CHECK(r.doc()["error"]["message"] == "--token-key: the token \"juki-test\" refused the PIN");
    r = pki_cli(dir, {"issue", pki_dir, "--ca", "server", "--role", "cs", "--municipality",
                      "131016", "--subject", "x", "--token-key",
                      "pkcs11:token=juki-test;object=signing-4?pin-value=" +
                          std::string(juki::test::SoftHsm::kPin),
                      "--out", dir.file("pin-in-argv")});
    CHECK(r.exit == 2);
    CHECK(r.err.find("not pin-value") != std::string::npos);
  }
  SECTION("refusals: exit 1") {
    r = pki_cli(dir, {"issue", pki_dir, "--ca", "server", "--role", "window", "--municipality",
                      "131016", "--subject", "x", "--out", dir.file("x")});
    CHECK(r.exit == 1);
    CHECK(r.err.find("terminal CA") != std::string::npos);
    r = pki_cli(dir, {"issue", pki_dir, "--ca", "terminal", "--role", "window", "--subject", "x",
                      "--out", dir.file("x")});
    CHECK(r.exit == 1);
    CHECK(r.err.find("municipality") != std::string::npos);
    CHECK(pki_cli(dir, {"issue", pki_dir, "--ca", "terminal", "--role", "window", "--municipality",
                        "131017", "--subject", "x", "--out", dir.file("x")})
              .exit == 1);
    struct stat st {};
    CHECK(::stat(dir.file("x.key.pem").c_str(), &st) != 0);  // nothing written
    // Overwriting an issued certificate is refused.
    CHECK(pki_cli(dir, {"issue", pki_dir, "--ca", "terminal", "--role", "window", "--municipality",
                        "131016", "--subject", "x", "--out", dir.file("app")})
              .exit == 1);
    // A certificate from another PKI does not verify.
    REQUIRE(pki_cli(dir, {"init", dir.file("other")}).exit == 0);
    r = pki_cli(dir, {"--json", "verify", dir.file("other"), dir.file("app.cert.der")});
    CHECK(r.exit == 1);
    CHECK(r.doc()["error"]["kind"] == "unknown_issuer");
    // A readable CA key is refused.
    REQUIRE(::chmod((pki_dir + "/terminal-ca.key.pem").c_str(), 0644) == 0);
    r = pki_cli(dir, {"issue", pki_dir, "--ca", "terminal", "--role", "window", "--municipality",
                      "131016", "--subject", "x", "--out", dir.file("y")});
    CHECK(r.exit == 1);
    CHECK(r.err.find("0644") != std::string::npos);
  }
  SECTION("usage errors: exit 2; missing files: exit 3") {
    CHECK(pki_cli(dir, {}).exit == 2);
    CHECK(pki_cli(dir, {"frobnicate"}).exit == 2);
    CHECK(pki_cli(dir, {"issue", pki_dir, "--ca", "terminal"}).exit == 2);
    CHECK(pki_cli(dir, {"issue", pki_dir, "--ca", "bank", "--role", "window", "--subject", "x",
                        "--out", dir.file("z")})
              .exit == 2);
    CHECK(pki_cli(dir, {"issue", pki_dir, "--ca", "terminal", "--role", "mayor", "--subject", "x",
                        "--out", dir.file("z")})
              .exit == 2);
    CHECK(pki_cli(dir, {"verify", pki_dir, dir.file("app.cert.der"), "--at", "tomorrow"}).exit ==
          2);
    CHECK(pki_cli(dir, {"--help"}).exit == 0);
    CHECK(pki_cli(dir, {"show", dir.file("nope.der")}).exit == 3);
    CHECK(pki_cli(dir, {"verify", dir.file("nowhere"), dir.file("app.cert.der")}).exit == 3);
  }
}

TEST_CASE("juki-pki: init-jpki, and issue, show and verify with the JPKI CAs") {
  test::TempDir dir;
  const std::string pki_dir = dir.file("pki");
  // The JPKI CAs live next to a Juki-net PKI in the same directory. No
  // SECTIONs here: each would make the RSA keys again.
  REQUIRE(pki_cli(dir, {"init", pki_dir}).exit == 0);
  auto r = pki_cli(dir, {"--json", "init-jpki", pki_dir});
  INFO(r.err);
  REQUIRE(r.exit == 0);
  json j = r.doc();
  CHECK(j["ok"] == true);
  CHECK(j["certificates"].contains("jpki-auth-ca"));
  CHECK(j["certificates"].contains("jpki-sign-ca"));
  for (JpkiKind k : kJpkiKinds) {
    const std::string stem = pki_dir + "/" + std::string(jpki_ca_name(k)) + "-ca";
    struct stat st {};
    REQUIRE(::stat((stem + ".key.pem").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    CHECK(PrivateKey::load(stem + ".key.pem", KeyAlgorithm::rsa2048).ok());
    auto ca = must(Certificate::load(stem + ".cert.der"));
    CHECK(ca.jpki_kind() == k);
    CHECK(must(verify_jpki_ca(ca, now())) == k);
  }
  CHECK(pki_cli(dir, {"init-jpki", pki_dir}).exit == 1);  // never overwrites

  // The card's key: a SubjectPublicKeyInfo for --pubkey, n and e for --rsa-*.
  EvpPtr holder = openssl_rsa2048();
  const Bytes spki = spki_of(holder.get());
  const Bytes n = bn_bytes(holder.get(), OSSL_PKEY_PARAM_RSA_N, 256);
  REQUIRE(write_new_file(dir.file("holder.pub.der"), spki, 0644).ok());

  r = pki_cli(dir, {"issue", pki_dir, "--ca", "jpki-auth", "--subject", "Juki Taro", "--pubkey",
                    dir.file("holder.pub.der"), "--out", dir.file("auth")});
  INFO(r.err);
  REQUIRE(r.exit == 0);
  struct stat st {};
  CHECK(::stat(dir.file("auth.key.pem").c_str(), &st) != 0);
  r = pki_cli(dir, {"--json", "show", dir.file("auth.cert.der")});
  REQUIRE(r.exit == 0);
  j = r.doc();
  CHECK(j["algorithm"] == "RSA-2048");
  CHECK(j["jpki_kind"] == "auth");
  CHECK(j["role"].is_null());
  CHECK(j["ca"] == false);
  CHECK(j["common_name"] == "Juki Taro");
  CHECK(j["issuer"].get<std::string>().find("JPKI Authentication CA") != std::string::npos);
  CHECK(j["public_key"] == to_hex(n));
  CHECK(j["public_exponent"] == "010001");
  r = pki_cli(dir, {"show", dir.file("auth.cert.der")});
  CHECK(r.out.find("RSA-2048") != std::string::npos);
  r = pki_cli(dir, {"--json", "verify", pki_dir, dir.file("auth.cert.der")});
  CHECK(r.exit == 0);
  CHECK(r.doc()["jpki_kind"] == "auth");
  CHECK(r.doc()["ca"] == "jpki-auth");

  r = pki_cli(dir,
              {"issue", pki_dir, "--ca", "jpki-sign", "--subject", "Juki Taro", "--rsa-modulus",
               to_hex(n), "--rsa-exponent", "010001", "--days", "30", "--out", dir.file("sign")});
  INFO(r.err);
  REQUIRE(r.exit == 0);
  auto sign = must(Certificate::load(dir.file("sign.cert.der")));
  CHECK(sign.public_key_der() == spki);
  CHECK(sign.jpki_kind() == JpkiKind::sign);
  CHECK(sign.not_after() - sign.not_before() == 30 * 86400LL);
  r = pki_cli(dir, {"--json", "verify", pki_dir, dir.file("sign.cert.der")});
  CHECK(r.exit == 0);
  CHECK(r.doc()["ca"] == "jpki-sign");
  r = pki_cli(dir,
              {"--json", "verify", pki_dir, dir.file("sign.cert.der"), "--at", "21000101000000Z"});
  CHECK(r.exit == 1);
  CHECK(r.doc()["error"]["kind"] == "expired");
  r = pki_cli(dir, {"--json", "verify", pki_dir, pki_dir + "/jpki-sign-ca.cert.der"});
  CHECK(r.exit == 0);
  CHECK(r.doc()["jpki_kind"] == "sign");
  // Juki-net certificates show their algorithm and no JPKI kind.
  j = pki_cli(dir, {"--json", "show", pki_dir + "/root.cert.der"}).doc();
  CHECK(j["algorithm"] == "ECDSA P-256");
  CHECK(j["jpki_kind"].is_null());
  CHECK(pki_cli(dir, {"verify", pki_dir, pki_dir + "/root.cert.der"}).exit == 0);

  {  // No key given: a fresh RSA-2048 key, 0600.
    r = pki_cli(dir, {"issue", pki_dir, "--ca", "jpki-sign", "--subject", "Juki Hanako", "--out",
                      dir.file("gen")});
    INFO(r.err);
    REQUIRE(r.exit == 0);
    REQUIRE(::stat(dir.file("gen.key.pem").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    auto key = must(PrivateKey::load(dir.file("gen.key.pem"), KeyAlgorithm::rsa2048));
    CHECK(must(Certificate::load(dir.file("gen.cert.der"))).public_key_der() ==
          key.public_key().der());
  }
  {  // Refusals: exit 1.
    // An RSA key for a Juki-net card certificate.
    r = pki_cli(dir, {"--json", "issue", pki_dir, "--ca", "card", "--role", "card",
                      "--municipality", "011002", "--subject", "x", "--pubkey",
                      dir.file("holder.pub.der"), "--out", dir.file("x")});
    CHECK(r.exit == 1);
    CHECK(r.doc()["error"]["kind"] == "malformed");
    // A 1024-bit modulus.
    r = pki_cli(dir, {"issue", pki_dir, "--ca", "jpki-auth", "--subject", "x", "--rsa-modulus",
                      to_hex(ByteView(n).subspan(128)), "--rsa-exponent", "010001", "--out",
                      dir.file("x")});
    CHECK(r.exit == 1);
    CHECK(::stat(dir.file("x.cert.der").c_str(), &st) != 0);
    // Overwriting an issued certificate.
    CHECK(pki_cli(dir, {"issue", pki_dir, "--ca", "jpki-auth", "--subject", "x", "--pubkey",
                        dir.file("holder.pub.der"), "--out", dir.file("auth")})
              .exit == 1);
    // Another directory whose "authentication CA" is this one's signature CA.
    const std::string other = dir.file("other");
    REQUIRE(::mkdir(other.c_str(), 0700) == 0);
    REQUIRE(write_new_file(other + "/jpki-auth-ca.cert.der",
                           must(read_file(pki_dir + "/jpki-sign-ca.cert.der")), 0644)
                .ok());
    r = pki_cli(dir, {"--json", "verify", other, dir.file("auth.cert.der")});
    CHECK(r.exit == 1);
    CHECK(r.doc()["error"]["kind"] == "unknown_issuer");
  }
  {  // Usage errors: exit 2. No JPKI CAs: exit 3.
    const std::string hex_n = to_hex(n);
    CHECK(pki_cli(dir, {"issue", pki_dir, "--ca", "jpki-auth", "--role", "window", "--subject", "x",
                        "--out", dir.file("z")})
              .exit == 2);
    CHECK(pki_cli(dir, {"issue", pki_dir, "--ca", "jpki-auth", "--subject", "x", "--pubkey",
                        dir.file("holder.pub.der"), "--rsa-modulus", hex_n, "--rsa-exponent",
                        "010001", "--out", dir.file("z")})
              .exit == 2);
    CHECK(pki_cli(dir, {"issue", pki_dir, "--ca", "jpki-auth", "--subject", "x", "--rsa-modulus",
                        hex_n, "--out", dir.file("z")})
              .exit == 2);
    CHECK(pki_cli(dir, {"issue", pki_dir, "--ca", "jpki-auth", "--subject", "x", "--rsa-modulus",
                        "XYZ", "--rsa-exponent", "010001", "--out", dir.file("z")})
              .exit == 2);
    CHECK(pki_cli(dir, {"issue", pki_dir, "--ca", "terminal", "--role", "window", "--municipality",
                        "131016", "--subject", "x", "--rsa-modulus", hex_n, "--rsa-exponent",
                        "010001", "--out", dir.file("z")})
              .exit == 2);
    CHECK(pki_cli(dir,
                  {"issue", pki_dir, "--ca", "terminal", "--subject", "x", "--out", dir.file("z")})
              .exit == 2);  // a Juki-net CA wants --role
    REQUIRE(pki_cli(dir, {"init", dir.file("juki-only")}).exit == 0);
    CHECK(pki_cli(dir, {"verify", dir.file("juki-only"), dir.file("auth.cert.der")}).exit == 3);
  }
}

// ------------------------------------------------------------ revocation

namespace {

using CrlPtr = std::unique_ptr<X509_CRL, decltype(&X509_CRL_free)>;

// The CRL as OpenSSL itself parses it, apart from the pki library.
CrlPtr openssl_crl(ByteView der) {
  const unsigned char* p = der.data();
  CrlPtr crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size())), X509_CRL_free);
  REQUIRE(crl);
  CHECK(p == der.data() + der.size());
  return crl;
}

std::int64_t crl_number_of(X509_CRL* crl) {
  int critical = 0;
  auto* n =
      static_cast<ASN1_INTEGER*>(X509_CRL_get_ext_d2i(crl, NID_crl_number, &critical, nullptr));
  REQUIRE(n != nullptr);
  CHECK(critical == 0);
  std::int64_t v = -1;
  CHECK(ASN1_INTEGER_get_int64(&v, n) == 1);
  ASN1_INTEGER_free(n);
  return v;
}

// -1: not on the CRL; -2: on it without a reasonCode; else the code.
int crl_reason_of(X509_CRL* crl, const Certificate& leaf) {
  X509_REVOKED* entry = nullptr;
  if (X509_CRL_get0_by_serial(crl, &entry, X509_get0_serialNumber(leaf.native())) != 1) return -1;
  int critical = 0;
  auto* code = static_cast<ASN1_ENUMERATED*>(
      X509_REVOKED_get_ext_d2i(entry, NID_crl_reason, &critical, nullptr));
  if (code == nullptr) return -2;
  CHECK(critical == 0);
  std::int64_t v = -1;
  CHECK(ASN1_ENUMERATED_get_int64(&v, code) == 1);
  ASN1_ENUMERATED_free(code);
  return static_cast<int>(v);
}

std::int64_t crl_time(const ASN1_TIME* t) {
  std::tm tm{};
  REQUIRE(ASN1_TIME_to_tm(t, &tm) == 1);
  return static_cast<std::int64_t>(::timegm(&tm));
}

PkiErrorKind revocation_kind(const Certificate& ca, ByteView crl, const Certificate& leaf,
                             std::int64_t at) {
  auto r = check_revocation(ca, crl, leaf, at);
  REQUIRE_FALSE(r.ok());
  INFO(r.error().message);
  return r.error().kind;
}

}  // namespace

TEST_CASE("create_crl: an X.509 v2 CRL with the profile of specs/pki.md, read back by OpenSSL") {
  Pki p;
  const std::int64_t t0 = now() - 10 * 86400;
  LeafRequest req{example(Role::window), "window 1", 30, t0};
  auto k1 = must(PrivateKey::generate());
  auto w1 = must(issue(p.terminal.key, p.terminal.cert, req, k1.public_key()));
  req.common_name = "window 2";
  auto w2 = must(issue(p.terminal.key, p.terminal.cert, req, k1.public_key()));
  req.common_name = "window 3";
  auto w3 = must(issue(p.terminal.key, p.terminal.cert, req, k1.public_key()));

  CrlRequest cr;
  cr.number = 7;
  cr.this_update = t0 + 5 * 86400;
  cr.days = 3;
  cr.revoked = {{w1.serial_hex(), t0 + 86400, RevocationReason::key_compromise},
                {w2.serial_hex(), t0 + 2 * 86400, RevocationReason::unspecified}};
  const Bytes der = must(create_crl(p.terminal, cr));

  CrlPtr crl = openssl_crl(der);
  CHECK(X509_CRL_get_version(crl.get()) == X509_CRL_VERSION_2);
  CHECK(X509_NAME_cmp(X509_CRL_get_issuer(crl.get()),
                      X509_get_subject_name(p.terminal.cert.native())) == 0);
  CHECK(X509_CRL_get_signature_nid(crl.get()) == NID_ecdsa_with_SHA256);
  CHECK(X509_CRL_verify(crl.get(), p.terminal.cert.public_key().native()) == 1);
  CHECK(X509_CRL_verify(crl.get(), p.server.cert.public_key().native()) != 1);
  CHECK(crl_time(X509_CRL_get0_lastUpdate(crl.get())) == cr.this_update);
  CHECK(crl_time(X509_CRL_get0_nextUpdate(crl.get())) == cr.this_update + 3 * 86400);
  CHECK(crl_number_of(crl.get()) == 7);
  {  // The AKI is the CA's SKI; no CRL extension is critical.
    int critical = 0;
    auto* akid = static_cast<AUTHORITY_KEYID*>(
        X509_CRL_get_ext_d2i(crl.get(), NID_authority_key_identifier, &critical, nullptr));
    REQUIRE(akid != nullptr);
    CHECK(critical == 0);
    REQUIRE(akid->keyid != nullptr);
    CHECK(ASN1_OCTET_STRING_cmp(akid->keyid, X509_get0_subject_key_id(p.terminal.cert.native())) ==
          0);
    AUTHORITY_KEYID_free(akid);
    CHECK(X509_CRL_get_ext_count(crl.get()) == 2);
  }
  CHECK(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl.get())) == 2);
  CHECK(crl_reason_of(crl.get(), w1) == 1);   // keyCompromise
  CHECK(crl_reason_of(crl.get(), w2) == -2);  // unspecified: no reasonCode (RFC 5280 5.3.1)
  CHECK(crl_reason_of(crl.get(), w3) == -1);
  X509_REVOKED* entry = nullptr;
  REQUIRE(X509_CRL_get0_by_serial(crl.get(), &entry, X509_get0_serialNumber(w1.native())) == 1);
  CHECK(crl_time(X509_REVOKED_get0_revocationDate(entry)) == t0 + 86400);

  // And the library reads what it wrote.
  const Crl read = must(read_crl(p.terminal.cert, der));
  CHECK(read.number == 7);
  CHECK(read.issuer == p.terminal.cert.subject());
  CHECK(read.this_update == cr.this_update);
  CHECK(read.next_update == cr.this_update + 3 * 86400);
  REQUIRE(read.revoked.size() == 2);
  REQUIRE(read.find(w1.serial_hex()) != nullptr);
  CHECK(*read.find(w1.serial_hex()) == cr.revoked[0]);
  CHECK(*read.find(w2.serial_hex()) == cr.revoked[1]);
  CHECK(read.find(w3.serial_hex()) == nullptr);

  SECTION("no revoked certificate: the list is absent") {
    CrlRequest empty;
    empty.this_update = now();
    const Bytes e = must(create_crl(p.card, empty));
    CrlPtr c = openssl_crl(e);
    CHECK(X509_CRL_get_REVOKED(c.get()) == nullptr);
    CHECK(must(read_crl(p.card.cert, e)).revoked.empty());
    CHECK(check_revocation(p.card.cert, e, w1, now()).ok() == false);  // not the card CA's leaf
  }
  SECTION("create_crl refuses") {
    auto refused = [&](const KeyAndCert& ca, const CrlRequest& r) {
      auto out = create_crl(ca, r);
      REQUIRE_FALSE(out.ok());
      INFO(out.error().message);
      CHECK(out.error().kind == PkiErrorKind::refused);
    };
    auto leaf = must(issue_new_key(p.terminal, {example(Role::window), "x", 0, std::nullopt}));
    refused(leaf, cr);                             // not a CA
    refused({p.server.key, p.terminal.cert}, cr);  // a key that is not the CA's
    CrlRequest bad = cr;
    bad.number = 0;
    refused(p.terminal, bad);
    bad = cr;
    bad.days = 0;
    refused(p.terminal, bad);
    bad.days = kCrlMaxDays + 1;
    refused(p.terminal, bad);
    bad = cr;
    bad.revoked.push_back({"XYZ", t0, RevocationReason::superseded});
    refused(p.terminal, bad);
    bad = cr;
    bad.revoked.push_back({w3.serial_hex(), t0, RevocationReason::ca_compromise});
    refused(p.terminal, bad);
  }
}

TEST_CASE("check_revocation: revoked, good, before the revocation date, expired and bad CRLs") {
  Pki p;
  const std::int64_t t0 = now() - 10 * 86400;
  auto key = must(PrivateKey::generate());
  LeafRequest req{example(Role::cs), "cs 1", 100, t0};
  auto revoked = must(issue(p.server.key, p.server.cert, req, key.public_key()));
  req.common_name = "cs 2";
  auto good = must(issue(p.server.key, p.server.cert, req, key.public_key()));
  CrlRequest cr;
  cr.this_update = t0 + 5 * 86400;
  cr.days = 2;  // nextUpdate t0 + 7 days
  cr.revoked = {{revoked.serial_hex(), t0 + 3 * 86400, RevocationReason::superseded}};
  const Bytes der = must(create_crl(p.server, cr));
  const std::int64_t fresh = t0 + 6 * 86400, stale = t0 + 8 * 86400;

  CHECK(revocation_kind(p.server.cert, der, revoked, fresh) == PkiErrorKind::revoked);
  {
    auto r = check_revocation(p.server.cert, der, revoked, fresh);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("superseded") != std::string::npos);
    CHECK(r.error().message.find(format_time(t0 + 3 * 86400)) != std::string::npos);
  }
  CHECK(check_revocation(p.server.cert, der, good, fresh).ok());
  // Before its revocation date the certificate was good.
  CHECK(check_revocation(p.server.cert, der, revoked, t0 + 2 * 86400).ok());
  // Past nextUpdate: still proof of a revocation, no longer of a good certificate.
  CHECK(revocation_kind(p.server.cert, der, revoked, stale) == PkiErrorKind::revoked);
  CHECK(revocation_kind(p.server.cert, der, good, stale) == PkiErrorKind::crl_expired);

  SECTION("every single tampered byte: bad_crl") {
    for (std::size_t i = 0; i < der.size(); ++i) {
      Bytes bad = der;
      bad[i] ^= 0x01;
      INFO("byte " << i << " of " << der.size());
      CHECK(revocation_kind(p.server.cert, bad, good, fresh) == PkiErrorKind::bad_crl);
    }
  }
  SECTION("not a CRL, truncated, trailing bytes: bad_crl") {
    CHECK(revocation_kind(p.server.cert, Bytes{}, good, fresh) == PkiErrorKind::bad_crl);
    CHECK(revocation_kind(p.server.cert, good.der(), good, fresh) == PkiErrorKind::bad_crl);
    Bytes cut(der.begin(), der.end() - 1);
    CHECK(revocation_kind(p.server.cert, cut, good, fresh) == PkiErrorKind::bad_crl);
    Bytes longer = der;
    longer.push_back(0);
    CHECK(revocation_kind(p.server.cert, longer, good, fresh) == PkiErrorKind::bad_crl);
  }
  SECTION("another CA's CRL, even one with the same name: bad_crl") {
    const Bytes terminal = must(create_crl(p.terminal, cr));
    CHECK(revocation_kind(p.server.cert, terminal, good, fresh) == PkiErrorKind::bad_crl);
    Pki other;  // its server CA has the same subject name, another key
    const Bytes forged = must(create_crl(other.server, cr));
    auto r = read_crl(p.server.cert, forged);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == PkiErrorKind::bad_crl);
    CHECK(r.error().message.find("signature") != std::string::npos);
  }
  SECTION("a leaf of another CA: unknown_issuer") {
    auto window = must(issue_new_key(p.terminal, {example(Role::window), "w", 0, std::nullopt}));
    CHECK(revocation_kind(p.server.cert, der, window.cert, fresh) == PkiErrorKind::unknown_issuer);
  }
}

TEST_CASE("read_crl refuses CRLs outside the profile even when the CA signed them") {
  Pki p;
  auto leaf = must(issue_new_key(p.terminal, {example(Role::window), "w", 0, std::nullopt}));
  CrlRequest cr;
  cr.this_update = now();
  cr.revoked = {{leaf.cert.serial_hex(), now(), RevocationReason::key_compromise}};
  const Bytes good = must(create_crl(p.terminal, cr));
  REQUIRE(read_crl(p.terminal.cert, good).ok());
  // Edits `good` with OpenSSL and signs it again with the terminal CA's key.
  auto resigned = [&](auto edit, const EVP_MD* md = EVP_sha256()) {
    CrlPtr crl = openssl_crl(good);
    edit(crl.get());
    REQUIRE(X509_CRL_sign(crl.get(), p.terminal.key.native(), md) > 0);
    unsigned char* der = nullptr;
    const int len = i2d_X509_CRL(crl.get(), &der);
    REQUIRE(len > 0);
    Bytes out(der, der + len);
    OPENSSL_free(der);
    REQUIRE(X509_CRL_verify(openssl_crl(out).get(), p.terminal.cert.public_key().native()) == 1);
    return out;
  };
  auto refused = [&](const Bytes& der, const std::string& why) {
    auto r = read_crl(p.terminal.cert, der);
    REQUIRE_FALSE(r.ok());
    INFO(r.error().message);
    CHECK(r.error().kind == PkiErrorKind::bad_crl);
    CHECK(r.error().message.find(why) != std::string::npos);
    CHECK(revocation_kind(p.terminal.cert, der, leaf.cert, now()) == PkiErrorKind::bad_crl);
  };
  auto remove_ext = [](X509_CRL* c, int nid) {
    const int i = X509_CRL_get_ext_by_NID(c, nid, -1);
    REQUIRE(i >= 0);
    X509_EXTENSION_free(X509_CRL_delete_ext(c, i));
  };
  // Re-signing alone keeps it valid: each refusal below is for its edit.
  CHECK(read_crl(p.terminal.cert, resigned([](X509_CRL*) {})).ok());
  refused(resigned([&](X509_CRL* c) {
            ASN1_INTEGER* base = ASN1_INTEGER_new();
            ASN1_INTEGER_set_int64(base, 1);
            REQUIRE(X509_CRL_add1_ext_i2d(c, NID_delta_crl, base, 1, 0) == 1);  // critical
            ASN1_INTEGER_free(base);
          }),
          "critical");
  refused(resigned([&](X509_CRL* c) { remove_ext(c, NID_crl_number); }), "cRLNumber");
  refused(resigned([&](X509_CRL* c) { remove_ext(c, NID_authority_key_identifier); }),
          "authority key identifier");
  refused(resigned([](X509_CRL* c) { REQUIRE(X509_CRL_set_version(c, 0) == 1); }), "version");
  refused(resigned([](X509_CRL*) {}, EVP_sha384()), "algorithm");
  refused(resigned([](X509_CRL* c) {
            X509_REVOKED* e = sk_X509_REVOKED_value(X509_CRL_get_REVOKED(c), 0);
            const int i = X509_REVOKED_get_ext_by_NID(e, NID_crl_reason, -1);
            REQUIRE(i >= 0);
            X509_EXTENSION_set_critical(X509_REVOKED_get_ext(e, i), 1);
          }),
          "critical");
}

TEST_CASE("JPKI CAs publish RSA-signed CRLs that check_revocation reads") {
  const Jpki& j = jpki();
  auto holder = must(PublicKey::from_der(j.spki, KeyAlgorithm::rsa2048));
  const std::int64_t t0 = now() - 86400;
  auto a1 = must(issue_jpki(j.auth, {JpkiKind::auth, "Juki Taro", 0, t0}, holder));
  auto a2 = must(issue_jpki(j.auth, {JpkiKind::auth, "Juki Hanako", 0, t0}, holder));
  CrlRequest cr;
  cr.this_update = now();
  cr.revoked = {{a1.serial_hex(), t0, RevocationReason::cessation_of_operation}};
  const Bytes der = must(create_crl(j.auth, cr));
  CrlPtr crl = openssl_crl(der);
  CHECK(X509_CRL_get_signature_nid(crl.get()) == NID_sha256WithRSAEncryption);
  CHECK(X509_CRL_verify(crl.get(), j.auth.cert.public_key().native()) == 1);
  CHECK(crl_reason_of(crl.get(), a1) == 5);
  CHECK(crl_reason_of(crl.get(), a2) == -1);
  CHECK(revocation_kind(j.auth.cert, der, a1, now()) == PkiErrorKind::revoked);
  CHECK(check_revocation(j.auth.cert, der, a2, now()).ok());
  // The signature CA's key does not verify the authentication CA's CRL.
  auto r = read_crl(j.sign.cert, der);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == PkiErrorKind::bad_crl);
}

TEST_CASE("replace_file: a leftover temp file is replaced, the old file stays until the rename") {
  test::TempDir dir;
  const std::string path = dir.file("index.json");
  REQUIRE(replace_file(path, as_bytes("one"), 0644).ok());
  CHECK(test::slurp(path) == "one");
  {  // A process died mid-write: PATH.tmp with half of something.
    std::ofstream tmp(path + ".tmp");
    tmp << "{\"half";
  }
  CHECK(test::slurp(path) == "one");
  REQUIRE(replace_file(path, as_bytes("two"), 0644).ok());
  CHECK(test::slurp(path) == "two");
  CHECK_FALSE(std::filesystem::exists(path + ".tmp"));
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0644);
  CHECK_FALSE(replace_file(dir.file("no/such/dir/x"), as_bytes("x"), 0644).ok());
}

TEST_CASE("juki-pki: issue records, revoke, crl, and verify against the CRL") {
  test::TempDir dir;
  const std::string pki_dir = dir.file("pki");
  const std::string index = pki_dir + "/terminal-ca.issued.json";
  REQUIRE(pki_cli(dir, {"init", pki_dir}).exit == 0);
  auto issue_window = [&](const std::string& name) {
    auto r = pki_cli(dir, {"issue", pki_dir, "--ca", "terminal", "--role", "window",
                           "--municipality", "131016", "--subject", name, "--out", dir.file(name)});
    INFO(r.err);
    REQUIRE(r.exit == 0);
    return must(Certificate::load(dir.file(name + ".cert.der")));
  };
  auto w1 = issue_window("w1");
  auto w2 = issue_window("w2");

  // The index: both certificates, as specs/pki.md "Revocation" describes it.
  json idx = json::parse(test::slurp(index));
  CHECK(idx["format"] == "juki-pki issued 1");
  CHECK(idx["ca"] == "terminal-ca");
  CHECK(idx["ca_serial"] ==
        must(Certificate::load(pki_dir + "/terminal-ca.cert.der")).serial_hex());
  CHECK(idx["crl_number"] == 0);
  REQUIRE(idx["certificates"].size() == 2);
  json e = idx["certificates"][0];
  CHECK(e["serial"] == w1.serial_hex());
  CHECK(e["subject"] == w1.subject());
  CHECK(e["role"] == "window");
  CHECK(e["jpki_kind"].is_null());
  CHECK(e["not_after"] == format_time(w1.not_after()));
  CHECK(e["path"] == std::filesystem::absolute(dir.file("w1.cert.der")).string());
  CHECK(e["recorded_by"] == "issue");
  CHECK(parse_time(e["recorded_at"].get<std::string>()).has_value());
  CHECK(e["revoked"].is_null());
  CHECK(idx["certificates"][1]["serial"] == w2.serial_hex());

  // Not revoked yet, and no CRL: valid.
  auto r = pki_cli(dir, {"--json", "verify", pki_dir, dir.file("w1.cert.der")});
  CHECK(r.exit == 0);
  CHECK(r.doc()["revocation"] == "no_crl");

  r = pki_cli(dir,
              {"--json", "revoke", pki_dir, dir.file("w1.cert.der"), "--reason", "keyCompromise"});
  INFO(r.err);
  REQUIRE(r.exit == 0);
  json j = r.doc();
  CHECK(j["ok"] == true);
  CHECK(j["ca"] == "terminal");
  CHECK(j["serial"] == w1.serial_hex());
  CHECK(j["reason"] == "keyCompromise");
  CHECK(j["recorded_by"] == "issue");
  const std::string revoked_at = j["revoked_at"].get<std::string>();
  idx = json::parse(test::slurp(index));
  CHECK(idx["certificates"][0]["revoked"]["reason"] == "keyCompromise");
  CHECK(idx["certificates"][0]["revoked"]["at"] == revoked_at);
  CHECK(idx["certificates"][1]["revoked"].is_null());

  // Two CRLs: the number grows, both list w1 and only w1.
  r = pki_cli(dir, {"--json", "crl", pki_dir, "--ca", "terminal"});
  INFO(r.err);
  REQUIRE(r.exit == 0);
  CHECK(r.doc()["number"] == 1);
  CHECK(r.doc()["crl_file"] == pki_dir + "/terminal-ca.crl.der");
  const Bytes first = must(read_file(pki_dir + "/terminal-ca.crl.der"));
  r = pki_cli(dir, {"--json", "crl", pki_dir, "--ca", "terminal", "--days", "1"});
  REQUIRE(r.exit == 0);
  j = r.doc();
  CHECK(j["number"] == 2);
  REQUIRE(j["revoked"].size() == 1);
  CHECK(j["revoked"][0]["serial"] == w1.serial_hex());
  CHECK(j["revoked"][0]["reason"] == "keyCompromise");
  CHECK(*parse_time(j["next_update"].get<std::string>()) -
            *parse_time(j["this_update"].get<std::string>()) ==
        86400);
  CHECK(json::parse(test::slurp(index))["crl_number"] == 2);
  const Bytes second = must(read_file(pki_dir + "/terminal-ca.crl.der"));
  auto ca = must(Certificate::load(pki_dir + "/terminal-ca.cert.der"));
  {
    CrlPtr c1 = openssl_crl(first), c2 = openssl_crl(second);
    CHECK(crl_number_of(c1.get()) == 1);
    CHECK(crl_number_of(c2.get()) == 2);
    for (X509_CRL* c : {c1.get(), c2.get()}) {
      CHECK(X509_NAME_cmp(X509_CRL_get_issuer(c), X509_get_subject_name(ca.native())) == 0);
      CHECK(X509_CRL_verify(c, ca.public_key().native()) == 1);
      CHECK(crl_reason_of(c, w1) == 1);
      CHECK(crl_reason_of(c, w2) == -1);
      CHECK(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(c)) == 1);
    }
  }

  // verify: w1 revoked, w2 good.
  r = pki_cli(dir, {"--json", "verify", pki_dir, dir.file("w1.cert.der")});
  CHECK(r.exit == 1);
  j = r.doc();
  CHECK(j["ok"] == false);
  CHECK(j["error"]["kind"] == "revoked");
  CHECK(j["error"]["reason"] == "keyCompromise");
  CHECK(j["error"]["revoked_at"] == revoked_at);
  CHECK(j["error"]["crl_number"] == 2);
  r = pki_cli(dir, {"verify", pki_dir, dir.file("w1.cert.der")});
  CHECK(r.exit == 1);
  CHECK(r.err.find("revoked") != std::string::npos);
  r = pki_cli(dir, {"--json", "verify", pki_dir, dir.file("w2.cert.der")});
  CHECK(r.exit == 0);
  CHECK(r.doc()["valid"] == true);
  CHECK(r.doc()["revocation"] == "good");
  CHECK(r.doc()["warnings"].empty());
  // The CAs themselves are not subject to the CRL.
  r = pki_cli(dir, {"--json", "verify", pki_dir, pki_dir + "/terminal-ca.cert.der"});
  CHECK(r.exit == 0);
  CHECK(r.doc()["revocation"].is_null());

  {  // Past nextUpdate (--days 1): a warning for w2, still revoked for w1.
    const std::string later = format_time(now() + 2 * 86400);
    r = pki_cli(dir, {"--json", "verify", pki_dir, dir.file("w2.cert.der"), "--at", later});
    CHECK(r.exit == 0);
    j = r.doc();
    CHECK(j["valid"] == true);
    CHECK(j["revocation"] == "crl_expired");
    REQUIRE(j["warnings"].size() == 1);
    CHECK(j["warnings"][0].get<std::string>().find("expired") != std::string::npos);
    r = pki_cli(dir, {"verify", pki_dir, dir.file("w2.cert.der"), "--at", later});
    CHECK(r.exit == 0);
    CHECK(r.out.find("warning") != std::string::npos);
    r = pki_cli(dir, {"--json", "verify", pki_dir, dir.file("w1.cert.der"), "--at", later});
    CHECK(r.exit == 1);
    CHECK(r.doc()["error"]["kind"] == "revoked");
  }

  SECTION("a tampered CRL in DIR: bad_crl, exit 1, for every certificate of that CA") {
    Bytes bad = second;
    bad[bad.size() / 2] ^= 0x01;
    std::filesystem::remove(pki_dir + "/terminal-ca.crl.der");
    REQUIRE(write_new_file(pki_dir + "/terminal-ca.crl.der", bad, 0644).ok());
    r = pki_cli(dir, {"--json", "verify", pki_dir, dir.file("w2.cert.der")});
    CHECK(r.exit == 1);
    CHECK(r.doc()["error"]["kind"] == "bad_crl");
    // Another CA's CRL in its place: bad_crl too.
    REQUIRE(
        pki_cli(dir, {"crl", pki_dir, "--ca", "server", "--out", pki_dir + "/terminal-ca.crl.der"})
            .exit == 0);
    r = pki_cli(dir, {"--json", "verify", pki_dir, dir.file("w2.cert.der")});
    CHECK(r.exit == 1);
    CHECK(r.doc()["error"]["kind"] == "bad_crl");
  }
  SECTION("revoke refuses: twice, a CA, the root, another PKI's, unknown reason, the future") {
    r = pki_cli(dir, {"--json", "revoke", pki_dir, dir.file("w1.cert.der")});
    CHECK(r.exit == 1);
    CHECK(r.doc()["error"]["kind"] == "already_revoked");
    for (const char* stem : {"terminal-ca", "card-ca", "root"}) {
      r = pki_cli(dir, {"--json", "revoke", pki_dir, pki_dir + "/" + stem + ".cert.der"});
      CHECK(r.exit == 1);
      CHECK(r.doc()["error"]["kind"] == "refused");
      CHECK(r.err.find("out of scope") != std::string::npos);
    }
    REQUIRE(pki_cli(dir, {"init", dir.file("other")}).exit == 0);
    REQUIRE(
        pki_cli(dir, {"issue", dir.file("other"), "--ca", "terminal", "--role", "window",
                      "--municipality", "131016", "--subject", "w1", "--out", dir.file("foreign")})
            .exit == 0);
    r = pki_cli(dir, {"--json", "revoke", pki_dir, dir.file("foreign.cert.der")});
    CHECK(r.exit == 1);
    // Same CA name in both PKIs: the key identifier tells them apart.
    CHECK(r.doc()["error"]["kind"] == "unknown_issuer");
    CHECK(pki_cli(dir, {"revoke", pki_dir, dir.file("w2.cert.der"), "--reason", "cACompromise"})
              .exit == 2);
    CHECK(pki_cli(dir, {"revoke", pki_dir, dir.file("w2.cert.der"), "--reason", "stolen"}).exit ==
          2);
    CHECK(pki_cli(dir, {"revoke", pki_dir, dir.file("w2.cert.der"), "--at", "yesterday"}).exit ==
          2);
    r = pki_cli(dir, {"--json", "revoke", pki_dir, dir.file("w2.cert.der"), "--at",
                      format_time(now() + 86400)});
    CHECK(r.exit == 1);
    CHECK(r.doc()["error"]["kind"] == "refused");
    CHECK(pki_cli(dir, {"revoke", pki_dir, dir.file("nope.cert.der")}).exit == 3);
    // None of these touched the index: w2 is still good.
    idx = json::parse(test::slurp(index));
    CHECK(idx["certificates"].size() == 2);
    CHECK(idx["certificates"][1]["revoked"].is_null());
  }
  SECTION("a certificate the index does not know is recorded when revoked") {
    // Issued by the library, as the personalization does, not by juki-pki issue.
    auto terminal = must(pki::directory::load_ca(pki_dir, CaKind::terminal));
    auto w9 = must(issue_new_key(terminal, {example(Role::window), "w9", 0, std::nullopt}));
    REQUIRE(write_new_file(dir.file("w9.cert.der"), w9.cert.der(), 0644).ok());
    r = pki_cli(dir, {"--json", "revoke", pki_dir, dir.file("w9.cert.der"), "--reason",
                      "superseded", "--at", format_time(now() - 60)});
    INFO(r.err);
    REQUIRE(r.exit == 0);
    CHECK(r.doc()["recorded_by"] == "revoke");
    idx = json::parse(test::slurp(index));
    REQUIRE(idx["certificates"].size() == 3);
    CHECK(idx["certificates"][2]["serial"] == w9.cert.serial_hex());
    CHECK(idx["certificates"][2]["revoked"]["reason"] == "superseded");
    REQUIRE(pki_cli(dir, {"crl", pki_dir, "--ca", "terminal"}).exit == 0);
    CrlPtr c = openssl_crl(must(read_file(pki_dir + "/terminal-ca.crl.der")));
    CHECK(crl_number_of(c.get()) == 3);
    CHECK(crl_reason_of(c.get(), w9.cert) == 4);
    CHECK(crl_reason_of(c.get(), w1) == 1);
    r = pki_cli(dir, {"--json", "verify", pki_dir, dir.file("w9.cert.der")});
    CHECK(r.exit == 1);
    CHECK(r.doc()["error"]["kind"] == "revoked");
  }
  SECTION("the index survives: leftover temp files, a restored index, a corrupt one") {
    {  // Interrupted writes left temp files behind.
      std::ofstream(index + ".tmp") << "{\"format\": \"juki-pki iss";
      std::ofstream(pki_dir + "/terminal-ca.crl.der.tmp") << "garbage";
    }
    issue_window("w3");
    idx = json::parse(test::slurp(index));
    REQUIRE(idx["certificates"].size() == 3);
    CHECK(idx["certificates"][0]["revoked"]["reason"] == "keyCompromise");
    CHECK(idx["crl_number"] == 2);
    CHECK_FALSE(std::filesystem::exists(index + ".tmp"));
    r = pki_cli(dir, {"--json", "crl", pki_dir, "--ca", "terminal"});
    REQUIRE(r.exit == 0);
    CHECK(r.doc()["number"] == 3);
    CHECK_FALSE(std::filesystem::exists(pki_dir + "/terminal-ca.crl.der.tmp"));

    // An index restored from before the CRLs: the numbers still go up.
    const std::string saved = test::slurp(index);
    json old = json::parse(saved);
    old["crl_number"] = 0;
    std::ofstream(index, std::ios::trunc) << old.dump(2);
    r = pki_cli(dir, {"--json", "crl", pki_dir, "--ca", "terminal"});
    REQUIRE(r.exit == 0);
    CHECK(r.doc()["number"] == 4);

    // A corrupt index is never overwritten: issue, revoke and crl refuse.
    std::ofstream(index, std::ios::trunc) << "{ not json";
    r = pki_cli(dir, {"--json", "issue", pki_dir, "--ca", "terminal", "--role", "window",
                      "--municipality", "131016", "--subject", "w4", "--out", dir.file("w4")});
    CHECK(r.exit == 1);
    CHECK(r.doc()["error"]["kind"] == "malformed");
    CHECK_FALSE(std::filesystem::exists(dir.file("w4.cert.der")));
    CHECK_FALSE(std::filesystem::exists(dir.file("w4.key.pem")));
    CHECK(pki_cli(dir, {"revoke", pki_dir, dir.file("w2.cert.der")}).exit == 1);
    CHECK(pki_cli(dir, {"crl", pki_dir, "--ca", "terminal"}).exit == 1);
    CHECK(test::slurp(index) == "{ not json");
    // The index of another PKI's terminal CA is not this one's.
    REQUIRE(pki_cli(dir, {"init", dir.file("other")}).exit == 0);
    REQUIRE(pki_cli(dir, {"issue", dir.file("other"), "--ca", "terminal", "--role", "window",
                          "--municipality", "131016", "--subject", "x", "--out", dir.file("x")})
                .exit == 0);
    std::filesystem::remove(index);
    std::filesystem::copy_file(dir.file("other") + "/terminal-ca.issued.json", index);
    r = pki_cli(dir, {"--json", "crl", pki_dir, "--ca", "terminal"});
    CHECK(r.exit == 1);
    CHECK(r.doc()["error"]["kind"] == "malformed");
    CHECK(r.err.find("another terminal-ca certificate") != std::string::npos);
    // Another CA's index is untouched by it.
    CHECK(pki_cli(dir, {"issue", pki_dir, "--ca", "server", "--role", "national", "--subject", "n1",
                        "--out", dir.file("n1")})
              .exit == 0);
  }
  SECTION("concurrent issues: the directory lock keeps every record") {
    std::string script = "status=0; pids=";
    for (int i = 0; i < 12; ++i) {
      const std::string name = "c" + std::to_string(i);
      script += "; " + test::quote(JUKI_PKI) + " issue " + test::quote(pki_dir) +
                " --ca terminal --role window --municipality 131016 --subject " + name + " --out " +
                test::quote(dir.file(name)) + " >/dev/null 2>&1 & pids=\"$pids $!\"";
    }
    script += "; for p in $pids; do wait $p || status=1; done; exit $status";
    const int status = std::system(("/bin/sh -c " + test::quote(script)).c_str());
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    idx = json::parse(test::slurp(index));
    CHECK(idx["certificates"].size() == 14);
    for (int i = 0; i < 12; ++i) {
      auto c = must(Certificate::load(dir.file("c" + std::to_string(i) + ".cert.der")));
      bool found = false;
      for (const auto& entry : idx["certificates"])
        found = found || entry["serial"] == c.serial_hex();
      CHECK(found);
    }
  }
  SECTION("crl: usage and I/O errors") {
    CHECK(pki_cli(dir, {"crl", pki_dir, "--ca", "root"}).exit == 2);
    CHECK(pki_cli(dir, {"crl", pki_dir, "--ca", "bank"}).exit == 2);
    CHECK(pki_cli(dir, {"crl", pki_dir}).exit == 2);
    CHECK(pki_cli(dir, {"crl", pki_dir, "--ca", "terminal", "--days", "0"}).exit == 2);
    CHECK(pki_cli(dir, {"crl", pki_dir, "--ca", "terminal", "--days", "367"}).exit == 2);
    CHECK(pki_cli(dir, {"crl", pki_dir, "--ca", "jpki-auth"}).exit == 3);  // no JPKI CAs here
    CHECK(pki_cli(dir, {"crl", dir.file("nowhere"), "--ca", "terminal"}).exit == 3);
    CHECK(pki_cli(dir, {"revoke", "--help"}).exit == 0);
    CHECK(pki_cli(dir, {"crl", "--help"}).exit == 0);
    // --out elsewhere: the CRL in DIR, the one verify reads, stays as it was.
    r = pki_cli(dir, {"--json", "crl", pki_dir, "--ca", "terminal", "--out", dir.file("pub.crl")});
    REQUIRE(r.exit == 0);
    CHECK(r.doc()["number"] == 3);
    CHECK(crl_number_of(openssl_crl(must(read_file(dir.file("pub.crl")))).get()) == 3);
    CHECK(must(read_file(pki_dir + "/terminal-ca.crl.der")) == second);
  }
}

TEST_CASE("juki-pki: revoke and crl with a JPKI CA") {
  test::TempDir dir;
  const std::string pki_dir = dir.file("pki");
  REQUIRE(pki_cli(dir, {"init-jpki", pki_dir}).exit == 0);
  for (const char* name : {"a1", "a2"}) {
    auto r = pki_cli(
        dir, {"issue", pki_dir, "--ca", "jpki-auth", "--subject", name, "--out", dir.file(name)});
    INFO(r.err);
    REQUIRE(r.exit == 0);
  }
  auto a1 = must(Certificate::load(dir.file("a1.cert.der")));
  auto a2 = must(Certificate::load(dir.file("a2.cert.der")));
  json idx = json::parse(test::slurp(pki_dir + "/jpki-auth-ca.issued.json"));
  CHECK(idx["ca"] == "jpki-auth-ca");
  REQUIRE(idx["certificates"].size() == 2);
  CHECK(idx["certificates"][0]["jpki_kind"] == "auth");
  CHECK(idx["certificates"][0]["role"].is_null());

  auto r = pki_cli(dir, {"--json", "revoke", pki_dir, dir.file("a1.cert.der"), "--reason",
                         "cessationOfOperation"});
  INFO(r.err);
  REQUIRE(r.exit == 0);
  CHECK(r.doc()["ca"] == "jpki-auth");
  r = pki_cli(dir, {"--json", "crl", pki_dir, "--ca", "jpki-auth"});
  INFO(r.err);
  REQUIRE(r.exit == 0);
  CHECK(r.doc()["crl_file"] == pki_dir + "/jpki-auth-ca.crl.der");
  auto ca = must(Certificate::load(pki_dir + "/jpki-auth-ca.cert.der"));
  CrlPtr crl = openssl_crl(must(read_file(pki_dir + "/jpki-auth-ca.crl.der")));
  CHECK(X509_CRL_get_signature_nid(crl.get()) == NID_sha256WithRSAEncryption);
  CHECK(X509_CRL_verify(crl.get(), ca.public_key().native()) == 1);
  CHECK(X509_NAME_cmp(X509_CRL_get_issuer(crl.get()), X509_get_subject_name(ca.native())) == 0);
  CHECK(crl_number_of(crl.get()) == 1);
  CHECK(crl_reason_of(crl.get(), a1) == 5);
  CHECK(crl_reason_of(crl.get(), a2) == -1);

  r = pki_cli(dir, {"--json", "verify", pki_dir, dir.file("a1.cert.der")});
  CHECK(r.exit == 1);
  CHECK(r.doc()["error"]["kind"] == "revoked");
  CHECK(r.doc()["error"]["reason"] == "cessationOfOperation");
  r = pki_cli(dir, {"--json", "verify", pki_dir, dir.file("a2.cert.der")});
  CHECK(r.exit == 0);
  CHECK(r.doc()["revocation"] == "good");
  // The signature CA has published nothing: its certificates are not checked.
  REQUIRE(pki_cli(dir, {"issue", pki_dir, "--ca", "jpki-sign", "--subject", "s1", "--out",
                        dir.file("s1")})
              .exit == 0);
  r = pki_cli(dir, {"--json", "verify", pki_dir, dir.file("s1.cert.der")});
  CHECK(r.exit == 0);
  CHECK(r.doc()["revocation"] == "no_crl");
  r = pki_cli(dir, {"--json", "revoke", pki_dir, pki_dir + "/jpki-sign-ca.cert.der"});
  CHECK(r.exit == 1);
  CHECK(r.err.find("out of scope") != std::string::npos);
}
