// The Juki-net PKI (specs/pki.md): roles and the authorization extension,
// check digits, issuing, chain verification, key files, and juki-pki.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <sys/wait.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdlib>
#include <ctime>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "issuer_tool/pki/pki.hpp"
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
                               Role::prefecture,    Role::national,      Role::card};

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
  CHECK(static_cast<int>(*role_from_name("card")) == 16);
  CHECK(static_cast<int>(*role_from_name("terminal-ca")) == 32);
  CHECK(static_cast<int>(*role_from_name("card-ca")) == 33);
  CHECK(static_cast<int>(*role_from_name("server-ca")) == 34);
  CHECK_FALSE(role_from_name("root"));
  CHECK_FALSE(role_from_code(9));
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

TEST_CASE("private key files: 0600 on creation, never overwritten, refused when readable") {
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

TEST_CASE("times: YYYYMMDDhhmmssZ") {
  CHECK(parse_time("19700101000000Z") == 0);
  CHECK(parse_time("20300101000000Z") == 1893456000);
  CHECK(format_time(1893456000) == "20300101000000Z");
  CHECK_FALSE(parse_time("20300101000000"));
  CHECK_FALSE(parse_time("2030010100000Z"));
  CHECK_FALSE(parse_time("20301301000000Z"));
}

// ------------------------------------------------------------ juki-pki

namespace {

struct Run {
  int exit = -1;
  std::string out, err;
  json doc() const {
    INFO("stdout: " << out << "\nstderr: " << err);
    REQUIRE(json::accept(out));
    return json::parse(out);
  }
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

Run pki_cli(const test::TempDir& dir, std::initializer_list<std::string> args) {
  std::string cmd = quote(JUKI_PKI);
  for (const auto& a : args) cmd += " " + quote(a);
  cmd += " >" + quote(dir.file("stdout")) + " 2>" + quote(dir.file("stderr")) + " </dev/null";
  const int status = std::system(cmd.c_str());
  Run r;
  REQUIRE(WIFEXITED(status));
  r.exit = WEXITSTATUS(status);
  r.out = slurp(dir.file("stdout"));
  r.err = slurp(dir.file("stderr"));
  return r;
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
