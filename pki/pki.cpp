#include "pki/pki.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/asn1t.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <utility>
#include <vector>

#include "common/check_digits.hpp"

// JukiAuthorization as an OpenSSL ASN.1 template (specs/pki.md).
extern "C" {
typedef struct juki_authorization_st {
  ASN1_INTEGER* role;
  ASN1_PRINTABLESTRING* municipality;
  ASN1_OCTET_STRING* application;
} JUKI_AUTHORIZATION;
}
DECLARE_ASN1_FUNCTIONS(JUKI_AUTHORIZATION)
ASN1_SEQUENCE(JUKI_AUTHORIZATION) =
    {
        ASN1_SIMPLE(JUKI_AUTHORIZATION, role, ASN1_INTEGER),
        ASN1_IMP_OPT(JUKI_AUTHORIZATION, municipality, ASN1_PRINTABLESTRING, 0),
        ASN1_IMP_OPT(JUKI_AUTHORIZATION, application, ASN1_OCTET_STRING, 1),
} ASN1_SEQUENCE_END(JUKI_AUTHORIZATION) IMPLEMENT_ASN1_FUNCTIONS(JUKI_AUTHORIZATION)

        namespace juki::pki {
  namespace {

  template <class T, void (*F)(T*)>
  struct Free {
    void operator()(T* p) const { F(p); }
  };
  using AuthPtr =
      std::unique_ptr<JUKI_AUTHORIZATION, Free<JUKI_AUTHORIZATION, JUKI_AUTHORIZATION_free>>;
  using BioPtr = std::unique_ptr<BIO, Free<BIO, BIO_free_all>>;
  using ObjPtr = std::unique_ptr<ASN1_OBJECT, Free<ASN1_OBJECT, ASN1_OBJECT_free>>;
  using ExtPtr = std::unique_ptr<X509_EXTENSION, Free<X509_EXTENSION, X509_EXTENSION_free>>;
  using NamePtr = std::unique_ptr<X509_NAME, Free<X509_NAME, X509_NAME_free>>;
  using OctetPtr =
      std::unique_ptr<ASN1_OCTET_STRING, Free<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free>>;
  using IntPtr = std::unique_ptr<ASN1_INTEGER, Free<ASN1_INTEGER, ASN1_INTEGER_free>>;
  using BnPtr = std::unique_ptr<BIGNUM, Free<BIGNUM, BN_free>>;
  using GtPtr =
      std::unique_ptr<ASN1_GENERALIZEDTIME, Free<ASN1_GENERALIZEDTIME, ASN1_GENERALIZEDTIME_free>>;
  using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Free<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
  using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, Free<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>>;
  using ParamPtr = std::unique_ptr<OSSL_PARAM, Free<OSSL_PARAM, OSSL_PARAM_free>>;
  using PoliciesPtr =
      std::unique_ptr<CERTIFICATEPOLICIES, Free<CERTIFICATEPOLICIES, CERTIFICATEPOLICIES_free>>;
  using CrlPtr = std::unique_ptr<X509_CRL, Free<X509_CRL, X509_CRL_free>>;
  using RevokedPtr = std::unique_ptr<X509_REVOKED, Free<X509_REVOKED, X509_REVOKED_free>>;
  using TimePtr = std::unique_ptr<ASN1_TIME, Free<ASN1_TIME, ASN1_TIME_free>>;
  using EnumPtr = std::unique_ptr<ASN1_ENUMERATED, Free<ASN1_ENUMERATED, ASN1_ENUMERATED_free>>;
  using AkidPtr = std::unique_ptr<AUTHORITY_KEYID, Free<AUTHORITY_KEYID, AUTHORITY_KEYID_free>>;

  Unexpected<PkiError> fail(PkiErrorKind kind, std::string message) {
    return unexpected(PkiError{kind, std::move(message)});
  }

  // The OpenSSL error queue as text (and emptied), for crypto failures.
  std::string openssl_errors() {
    std::string out;
    while (unsigned long e = ERR_get_error()) {
      char buf[256];
      ERR_error_string_n(e, buf, sizeof buf);
      if (!out.empty()) out += "; ";
      out += buf;
    }
    return out;
  }

  Unexpected<PkiError> crypto_fail(const std::string& what) {
    std::string errors = openssl_errors();
    return fail(PkiErrorKind::crypto, what + (errors.empty() ? "" : ": " + errors));
  }

  struct RoleInfo {
    Role role;
    std::string_view name;
  };
  constexpr std::array<RoleInfo, 12> kRoles{{
      {Role::window, "window"},
      {Role::issuance, "issuance"},
      {Role::password_reset, "password-reset"},
      {Role::municipal_app, "municipal-app"},
      {Role::app_authority, "app-authority"},
      {Role::cs, "cs"},
      {Role::prefecture, "prefecture"},
      {Role::national, "national"},
      {Role::card, "card"},
      {Role::terminal_ca, "terminal-ca"},
      {Role::card_ca, "card-ca"},
      {Role::server_ca, "server-ca"},
  }};

  Bytes asn1_string_bytes(const ASN1_STRING* s) {
    const unsigned char* p = ASN1_STRING_get0_data(s);
    return Bytes(p, p + ASN1_STRING_length(s));
  }

  bool is_p256(EVP_PKEY* key) {
    if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) return false;
    char group[64] = {};
    std::size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                       &len) != 1)
      return false;
    return std::string_view(group, len) == "prime256v1" || std::string_view(group, len) == "P-256";
  }

  // rsaEncryption (not RSASSA-PSS) with a 2048-bit modulus.
  bool is_rsa2048(EVP_PKEY* key) {
    return EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA && EVP_PKEY_get_bits(key) == 2048;
  }

  std::optional<KeyAlgorithm> algorithm_of(EVP_PKEY* key) {
    if (key == nullptr) return std::nullopt;
    if (is_p256(key)) return KeyAlgorithm::p256;
    if (is_rsa2048(key)) return KeyAlgorithm::rsa2048;
    return std::nullopt;
  }

  // An RSA-2048 public key that OpenSSL's public-key check accepts (SP 800-56B
  // in OpenSSL 3: n odd without small factors, e odd and > 1).
  Result<void, PkiError> check_rsa2048_public(EVP_PKEY* key) {
    if (!is_rsa2048(key))
      return fail(PkiErrorKind::malformed, "the public key is not an RSA key of 2048 bits");
    PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
    if (!ctx) return crypto_fail("cannot check the RSA key");
    if (EVP_PKEY_public_check(ctx.get()) != 1) {
      std::string errors = openssl_errors();
      return fail(PkiErrorKind::malformed,
                  "the RSA public key is not valid" + (errors.empty() ? "" : ": " + errors));
    }
    return {};
  }

  // The big-endian bytes of a BIGNUM parameter of `key`, padded to `width`
  // bytes when width is not 0; empty when the key has no such parameter.
  Bytes bn_param(EVP_PKEY* key, const char* name, int width) {
    BIGNUM* raw = nullptr;
    if (key == nullptr || EVP_PKEY_get_bn_param(key, name, &raw) != 1) {
      ERR_clear_error();
      return {};
    }
    BnPtr bn(raw);
    const int n = width != 0 ? width : BN_num_bytes(bn.get());
    Bytes out(static_cast<std::size_t>(n));
    if (BN_bn2binpad(bn.get(), out.data(), n) != n) return {};
    return out;
  }

  std::optional<std::int64_t> asn1_time_seconds(const ASN1_TIME* t) {
    std::tm tm{};
    if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return std::nullopt;
    return static_cast<std::int64_t>(::timegm(&tm));
  }

  std::string name_text(const X509_NAME* name) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB) < 0)
      return {};
    char* data = nullptr;
    long n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(n));
  }

  ObjPtr authorization_oid() {
    return ObjPtr(OBJ_txt2obj(kAuthorizationOid, 1));
  }

  }  // namespace

  // ------------------------------------------------------------ errors, roles

  std::string_view to_string(PkiErrorKind kind) {
    switch (kind) {
      case PkiErrorKind::refused:
        return "refused";
      case PkiErrorKind::io:
        return "io";
      case PkiErrorKind::key_permissions:
        return "key_permissions";
      case PkiErrorKind::malformed:
        return "malformed";
      case PkiErrorKind::crypto:
        return "crypto";
      case PkiErrorKind::unknown_issuer:
        return "unknown_issuer";
      case PkiErrorKind::bad_signature:
        return "bad_signature";
      case PkiErrorKind::expired:
        return "expired";
      case PkiErrorKind::not_yet_valid:
        return "not_yet_valid";
      case PkiErrorKind::not_a_ca:
        return "not_a_ca";
      case PkiErrorKind::role_not_allowed:
        return "role_not_allowed";
      case PkiErrorKind::extension_missing:
        return "extension_missing";
      case PkiErrorKind::extension_malformed:
        return "extension_malformed";
      case PkiErrorKind::wrong_algorithm:
        return "wrong_algorithm";
      case PkiErrorKind::revoked:
        return "revoked";
      case PkiErrorKind::bad_crl:
        return "bad_crl";
      case PkiErrorKind::crl_expired:
        return "crl_expired";
      case PkiErrorKind::already_revoked:
        return "already_revoked";
    }
    return "unknown";
  }

  std::string_view role_name(Role role) {
    for (const auto& r : kRoles)
      if (r.role == role) return r.name;
    return "unknown";
  }

  std::optional<Role> role_from_name(std::string_view name) {
    for (const auto& r : kRoles)
      if (r.name == name) return r.role;
    return std::nullopt;
  }

  std::optional<Role> role_from_code(std::int64_t code) {
    for (const auto& r : kRoles)
      if (static_cast<std::int64_t>(r.role) == code) return r.role;
    return std::nullopt;
  }

  std::string_view ca_kind_name(CaKind kind) {
    switch (kind) {
      case CaKind::card:
        return "card";
      case CaKind::terminal:
        return "terminal";
      case CaKind::server:
        return "server";
    }
    return "unknown";
  }

  std::optional<CaKind> ca_kind_from_name(std::string_view name) {
    for (CaKind k : {CaKind::card, CaKind::terminal, CaKind::server})
      if (ca_kind_name(k) == name) return k;
    return std::nullopt;
  }

  Role ca_role(CaKind kind) {
    switch (kind) {
      case CaKind::card:
        return Role::card_ca;
      case CaKind::terminal:
        return Role::terminal_ca;
      case CaKind::server:
        break;
    }
    return Role::server_ca;
  }

  std::optional<CaKind> ca_kind_of_ca_role(Role role) {
    switch (role) {
      case Role::card_ca:
        return CaKind::card;
      case Role::terminal_ca:
        return CaKind::terminal;
      case Role::server_ca:
        return CaKind::server;
      default:
        return std::nullopt;
    }
  }

  std::optional<CaKind> issuing_ca(Role role) {
    switch (role) {
      case Role::window:
      case Role::issuance:
      case Role::password_reset:
      case Role::municipal_app:
      case Role::app_authority:
        return CaKind::terminal;
      case Role::cs:
      case Role::prefecture:
      case Role::national:
        return CaKind::server;
      case Role::card:
        return CaKind::card;
      default:
        return std::nullopt;
    }
  }

  std::optional<std::uint16_t> access_bit(Role role) {
    const int code = static_cast<int>(role);
    if (code < 1 || code > 8) return std::nullopt;
    return static_cast<std::uint16_t>(1u << (code - 1));
  }

  bool is_ca_role(Role role) {
    return ca_kind_of_ca_role(role).has_value();
  }

  bool requires_municipality(Role role) {
    return !is_ca_role(role) && role != Role::national;
  }

  bool requires_application(Role role) {
    return role == Role::municipal_app;
  }

  // One implementation for the card and the host (common/check_digits.hpp).
  std::optional<char> municipality_check_digit(std::string_view d) {
    return check_digits::municipality(d);
  }

  bool municipality_code_valid(std::string_view code) {
    return check_digits::municipality_valid(code);
  }

  // ------------------------------------------------------------ the extension

  Result<void, PkiError> check_authorization(const Authorization& auth) {
    const std::string name(role_name(auth.role));
    if (!role_from_code(static_cast<int>(auth.role)))
      return fail(PkiErrorKind::refused, "unknown role code " + std::to_string(int(auth.role)));
    if (requires_municipality(auth.role) && !auth.municipality)
      return fail(PkiErrorKind::refused, "role " + name + " needs a municipality code");
    if (!requires_municipality(auth.role) && auth.municipality)
      return fail(PkiErrorKind::refused, "role " + name + " takes no municipality code");
    if (auth.municipality && !municipality_code_valid(*auth.municipality)) {
      auto check = auth.municipality->size() == 6
                       ? municipality_check_digit(std::string_view(*auth.municipality).substr(0, 5))
                       : std::nullopt;
      return fail(PkiErrorKind::refused,
                  "municipality code '" + *auth.municipality + "' is not valid" +
                      (check ? std::string(" (check digit should be ") + *check + ")"
                             : std::string(" (6 digits: 5 and a check digit)")));
    }
    if (requires_application(auth.role) && !auth.application)
      return fail(PkiErrorKind::refused, "role " + name + " needs an application AID");
    if (!requires_application(auth.role) && auth.application)
      return fail(PkiErrorKind::refused, "role " + name + " takes no application AID");
    if (auth.application && (auth.application->size() < 5 || auth.application->size() > 16))
      return fail(PkiErrorKind::refused, "an application AID has 5 to 16 bytes, not " +
                                             std::to_string(auth.application->size()));
    return {};
  }

  Result<Bytes, PkiError> encode_authorization(const Authorization& auth) {
    if (auto ok = check_authorization(auth); !ok) return unexpected(ok.error());
    AuthPtr a(JUKI_AUTHORIZATION_new());
    if (!a || ASN1_INTEGER_set_int64(a->role, static_cast<int>(auth.role)) != 1)
      return crypto_fail("cannot build the authorization");
    if (auth.municipality) {
      a->municipality = ASN1_PRINTABLESTRING_new();
      if (!a->municipality || ASN1_STRING_set(a->municipality, auth.municipality->data(),
                                              static_cast<int>(auth.municipality->size())) != 1)
        return crypto_fail("cannot build the authorization");
    }
    if (auth.application) {
      a->application = ASN1_OCTET_STRING_new();
      if (!a->application || ASN1_OCTET_STRING_set(a->application, auth.application->data(),
                                                   static_cast<int>(auth.application->size())) != 1)
        return crypto_fail("cannot build the authorization");
    }
    unsigned char* der = nullptr;
    const int len = i2d_JUKI_AUTHORIZATION(a.get(), &der);
    if (len <= 0) return crypto_fail("cannot encode the authorization");
    Bytes out(der, der + len);
    OPENSSL_free(der);
    return out;
  }

  Result<Authorization, PkiError> decode_authorization(ByteView der) {
    const unsigned char* p = der.data();
    AuthPtr a(d2i_JUKI_AUTHORIZATION(nullptr, &p, static_cast<long>(der.size())));
    if (!a) {
      ERR_clear_error();
      return fail(PkiErrorKind::extension_malformed,
                  "the authorization is not a JukiAuthorization");
    }
    if (p != der.data() + der.size())
      return fail(PkiErrorKind::extension_malformed, "bytes after the authorization");
    std::int64_t code = 0;
    if (ASN1_INTEGER_get_int64(&code, a->role) != 1) {
      ERR_clear_error();
      return fail(PkiErrorKind::extension_malformed, "the role is not a small integer");
    }
    auto role = role_from_code(code);
    if (!role)
      return fail(PkiErrorKind::extension_malformed, "unknown role " + std::to_string(code));
    Authorization auth{*role, std::nullopt, std::nullopt};
    if (a->municipality) {
      Bytes m = asn1_string_bytes(a->municipality);
      auth.municipality = std::string(m.begin(), m.end());
    }
    if (a->application) auth.application = asn1_string_bytes(a->application);
    if (auto ok = check_authorization(auth); !ok)
      return fail(PkiErrorKind::extension_malformed, ok.error().message);
    // DER, not just BER: the canonical encoding must be these very bytes.
    auto again = encode_authorization(auth);
    if (!again || !std::equal(again->begin(), again->end(), der.begin(), der.end()))
      return fail(PkiErrorKind::extension_malformed, "the authorization is not in DER");
    return auth;
  }

  // ------------------------------------------------------------ keys

  void PkeyDeleter::operator()(EVP_PKEY* p) const {
    EVP_PKEY_free(p);
  }
  void X509Deleter::operator()(X509* p) const {
    X509_free(p);
  }

  std::string_view key_algorithm_name(KeyAlgorithm algorithm) {
    switch (algorithm) {
      case KeyAlgorithm::p256:
        return "ECDSA P-256";
      case KeyAlgorithm::rsa2048:
        break;
    }
    return "RSA-2048";
  }

  Result<PublicKey, PkiError> PublicKey::from_der(ByteView spki, KeyAlgorithm algorithm) {
    const unsigned char* p = spki.data();
    PkeyPtr key(d2i_PUBKEY(nullptr, &p, static_cast<long>(spki.size())));
    if (!key || p != spki.data() + spki.size()) {
      ERR_clear_error();
      return fail(PkiErrorKind::malformed, "not a SubjectPublicKeyInfo in DER");
    }
    if (algorithm == KeyAlgorithm::rsa2048) {
      if (auto ok = check_rsa2048_public(key.get()); !ok) return unexpected(ok.error());
      return PublicKey(std::shared_ptr<EVP_PKEY>(key.release(), PkeyDeleter{}));
    }
    if (!is_p256(key.get()))
      return fail(PkiErrorKind::malformed, "the public key is not an EC key on P-256");
    EVP_PKEY_set_utf8_string_param(key.get(), OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                   "uncompressed");
    return PublicKey(std::shared_ptr<EVP_PKEY>(key.release(), PkeyDeleter{}));
  }

  Result<PublicKey, PkiError> PublicKey::from_point(ByteView point) {
    if (point.size() != 65 || point[0] != 0x04)
      return fail(PkiErrorKind::malformed,
                  "not an uncompressed P-256 point (65 bytes, 04 || X || Y)");
    // SubjectPublicKeyInfo header for id-ecPublicKey on prime256v1 (RFC 5480).
    static constexpr std::uint8_t kSpkiPrefix[] = {
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01,
        0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00};
    Bytes spki(std::begin(kSpkiPrefix), std::end(kSpkiPrefix));
    spki.insert(spki.end(), point.begin(), point.end());
    return from_der(spki);
  }

  Result<PublicKey, PkiError> PublicKey::from_rsa(ByteView n, ByteView e) {
    auto strip = [](ByteView b) {
      std::size_t i = 0;
      while (i < b.size() && b[i] == 0) ++i;
      return b.subspan(i);
    };
    const ByteView modulus = strip(n), exponent = strip(e);
    if (modulus.size() != 256 || (modulus[0] & 0x80) == 0)
      return fail(PkiErrorKind::malformed, "the RSA modulus does not have 2048 bits");
    if (exponent.empty() || exponent.size() > modulus.size())
      return fail(PkiErrorKind::malformed, "the RSA public exponent is not valid");
    BnPtr bn_n(BN_bin2bn(modulus.data(), static_cast<int>(modulus.size()), nullptr));
    BnPtr bn_e(BN_bin2bn(exponent.data(), static_cast<int>(exponent.size()), nullptr));
    ParamBldPtr bld(OSSL_PARAM_BLD_new());
    if (!bn_n || !bn_e || !bld ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1)
      return crypto_fail("cannot build the RSA key");
    ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
    PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
    EVP_PKEY* raw = nullptr;
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
        EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1)
      return crypto_fail("cannot build the RSA key");
    PkeyPtr key(raw);
    if (auto ok = check_rsa2048_public(key.get()); !ok) return unexpected(ok.error());
    return PublicKey(std::shared_ptr<EVP_PKEY>(key.release(), PkeyDeleter{}));
  }

  std::optional<KeyAlgorithm> PublicKey::algorithm() const {
    return algorithm_of(key_.get());
  }

  Bytes PublicKey::rsa_modulus() const {
    if (!key_ || EVP_PKEY_get_base_id(key_.get()) != EVP_PKEY_RSA) return {};
    return bn_param(key_.get(), OSSL_PKEY_PARAM_RSA_N, (EVP_PKEY_get_bits(key_.get()) + 7) / 8);
  }

  Bytes PublicKey::rsa_exponent() const {
    if (!key_ || EVP_PKEY_get_base_id(key_.get()) != EVP_PKEY_RSA) return {};
    return bn_param(key_.get(), OSSL_PKEY_PARAM_RSA_E, 0);
  }

  Bytes PublicKey::der() const {
    unsigned char* der = nullptr;
    const int len = i2d_PUBKEY(key_.get(), &der);
    if (len <= 0) return {};
    Bytes out(der, der + len);
    OPENSSL_free(der);
    return out;
  }

  Bytes PublicKey::point() const {
    if (!key_ || !is_p256(key_.get())) return {};
    Bytes out(65);
    std::size_t len = 0;
    if (EVP_PKEY_get_octet_string_param(key_.get(), OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, out.data(),
                                        out.size(), &len) != 1 ||
        len != 65)
      return {};
    return out;
  }

  Result<PrivateKey, PkiError> PrivateKey::generate(KeyAlgorithm algorithm) {
    if (algorithm == KeyAlgorithm::rsa2048) {
      PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(2048)));
      if (!key) return crypto_fail("cannot generate an RSA-2048 key");
      return PrivateKey(std::move(key), algorithm);
    }
    PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    if (!key) return crypto_fail("cannot generate a P-256 key");
    return PrivateKey(std::move(key), algorithm);
  }

  Result<PrivateKey, PkiError> PrivateKey::from_pem(std::string_view pem, KeyAlgorithm algorithm) {
    BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) return crypto_fail("cannot read the key");
    PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    if (!key) {
      ERR_clear_error();
      return fail(PkiErrorKind::malformed, "not an unencrypted PEM private key");
    }
    if (algorithm_of(key.get()) != algorithm)
      return fail(PkiErrorKind::malformed, algorithm == KeyAlgorithm::p256
                                               ? "the private key is not an EC key on P-256"
                                               : "the private key is not an RSA key of 2048 bits");
    return PrivateKey(std::move(key), algorithm);
  }

  Result<PrivateKey, PkiError> PrivateKey::load(const std::string& path, KeyAlgorithm algorithm) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail(PkiErrorKind::io, "cannot open " + path + ": " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      ::close(fd);
      return fail(PkiErrorKind::io, "cannot stat " + path);
    }
    if ((st.st_mode & 077) != 0) {
      ::close(fd);
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
      return fail(PkiErrorKind::key_permissions,
                  "refusing the private key " + path + ": mode " + mode +
                      " lets group or others read it (it must be 0600 or stricter)");
    }
    std::string pem;
    char buf[4096];
    for (;;) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        ::close(fd);
        OPENSSL_cleanse(pem.data(), pem.size());
        return fail(PkiErrorKind::io, "cannot read " + path);
      }
      if (n == 0) break;
      pem.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    OPENSSL_cleanse(buf, sizeof buf);
    auto key = from_pem(pem, algorithm);
    OPENSSL_cleanse(pem.data(), pem.size());
    if (!key) return fail(key.error().kind, path + ": " + key.error().message);
    return key;
  }

  std::string PrivateKey::to_pem() const {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_PKCS8PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr,
                                              nullptr) != 1)
      return {};
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &data);
    std::string pem(data, static_cast<std::size_t>(n));
    OPENSSL_cleanse(data, static_cast<std::size_t>(n));
    return pem;
  }

  Result<void, PkiError> PrivateKey::save(const std::string& path) const {
    std::string pem = to_pem();
    if (pem.empty()) return crypto_fail("cannot encode the private key");
    auto written = write_new_file(path, as_bytes(pem), 0600);
    OPENSSL_cleanse(pem.data(), pem.size());
    return written;
  }

  PublicKey PrivateKey::public_key() const {
    return PublicKey(key_);
  }

  // ------------------------------------------------------------ JPKI kinds

  std::string_view jpki_kind_name(JpkiKind kind) {
    return kind == JpkiKind::auth ? "auth" : "sign";
  }

  std::optional<JpkiKind> jpki_kind_from_name(std::string_view name) {
    for (JpkiKind k : {JpkiKind::auth, JpkiKind::sign})
      if (jpki_kind_name(k) == name) return k;
    return std::nullopt;
  }

  std::string_view jpki_ca_name(JpkiKind kind) {
    return kind == JpkiKind::auth ? "jpki-auth" : "jpki-sign";
  }

  std::optional<JpkiKind> jpki_ca_from_name(std::string_view name) {
    for (JpkiKind k : {JpkiKind::auth, JpkiKind::sign})
      if (jpki_ca_name(k) == name) return k;
    return std::nullopt;
  }

  std::string jpki_policy_oid(JpkiKind kind) {
    return std::string(kJpkiPolicyArc) + (kind == JpkiKind::auth ? ".1" : ".2");
  }

  // ------------------------------------------------------------ certificates

  std::optional<std::int64_t> parse_time(std::string_view text) {
    if (text.size() != 15 || text.back() != 'Z') return std::nullopt;
    for (std::size_t i = 0; i < 14; ++i)
      if (text[i] < '0' || text[i] > '9') return std::nullopt;
    GtPtr t(ASN1_GENERALIZEDTIME_new());
    const std::string s(text);
    if (!t || ASN1_GENERALIZEDTIME_set_string(t.get(), s.c_str()) != 1) {
      ERR_clear_error();
      return std::nullopt;
    }
    return asn1_time_seconds(t.get());
  }

  std::string format_time(std::int64_t unix_seconds) {
    const std::time_t t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y%m%d%H%M%SZ", &tm);
    return buf;
  }

  Result<Certificate, PkiError> Certificate::from_der(ByteView der) {
    const unsigned char* p = der.data();
    X509* x = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
    if (x == nullptr) {
      ERR_clear_error();
      return fail(PkiErrorKind::malformed, "not an X.509 certificate in DER");
    }
    std::shared_ptr<X509> cert(x, X509Deleter{});
    if (p != der.data() + der.size())
      return fail(PkiErrorKind::malformed, "bytes after the certificate");
    if ((X509_get_extension_flags(x) & EXFLAG_INVALID) != 0)
      return fail(PkiErrorKind::malformed, "the certificate has invalid extensions");
    return Certificate(std::move(cert));
  }

  Result<Certificate, PkiError> Certificate::load(const std::string& path) {
    auto bytes = read_file(path);
    if (!bytes) return unexpected(bytes.error());
    auto cert = from_der(*bytes);
    if (!cert) return fail(cert.error().kind, path + ": " + cert.error().message);
    return cert;
  }

  Bytes Certificate::der() const {
    unsigned char* der = nullptr;
    const int len = i2d_X509(cert_.get(), &der);
    if (len <= 0) return {};
    Bytes out(der, der + len);
    OPENSSL_free(der);
    return out;
  }

  std::string Certificate::subject() const {
    return name_text(X509_get_subject_name(cert_.get()));
  }

  std::string Certificate::issuer() const {
    return name_text(X509_get_issuer_name(cert_.get()));
  }

  std::string Certificate::common_name() const {
    const X509_NAME* name = X509_get_subject_name(cert_.get());
    const int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    if (i < 0) return {};
    Bytes b = asn1_string_bytes(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
    return std::string(b.begin(), b.end());
  }

  std::string Certificate::serial_hex() const {
    return to_hex(asn1_string_bytes(X509_get0_serialNumber(cert_.get())));
  }

  std::int64_t Certificate::not_before() const {
    return asn1_time_seconds(X509_get0_notBefore(cert_.get())).value_or(0);
  }

  std::int64_t Certificate::not_after() const {
    return asn1_time_seconds(X509_get0_notAfter(cert_.get())).value_or(0);
  }

  bool Certificate::is_ca() const {
    return (X509_get_extension_flags(cert_.get()) & EXFLAG_CA) != 0;
  }

  std::optional<JpkiKind> Certificate::jpki_kind() const {
    int critical = 0;
    PoliciesPtr policies(static_cast<CERTIFICATEPOLICIES*>(
        X509_get_ext_d2i(cert_.get(), NID_certificate_policies, &critical, nullptr)));
    if (!policies) {
      ERR_clear_error();
      return std::nullopt;
    }
    const std::string auth = jpki_policy_oid(JpkiKind::auth);
    const std::string sign = jpki_policy_oid(JpkiKind::sign);
    std::optional<JpkiKind> found;
    int count = 0;
    for (int i = 0; i < sk_POLICYINFO_num(policies.get()); ++i) {
      const POLICYINFO* info = sk_POLICYINFO_value(policies.get(), i);
      char text[128] = {};
      const int len = OBJ_obj2txt(text, sizeof text, info->policyid, 1);
      if (len <= 0 || len >= static_cast<int>(sizeof text)) continue;
      if (text == auth || text == sign) {
        found = text == auth ? JpkiKind::auth : JpkiKind::sign;
        ++count;
      }
    }
    return count == 1 ? found : std::nullopt;
  }

  Result<std::optional<Authorization>, PkiError> Certificate::authorization() const {
    ObjPtr oid = authorization_oid();
    if (!oid) return crypto_fail("cannot make the authorization OID");
    const int i = X509_get_ext_by_OBJ(cert_.get(), oid.get(), -1);
    if (i < 0) return std::optional<Authorization>{};
    if (X509_get_ext_by_OBJ(cert_.get(), oid.get(), i) >= 0)
      return fail(PkiErrorKind::extension_malformed, "two authorization extensions");
    X509_EXTENSION* ext = X509_get_ext(cert_.get(), i);
    if (X509_EXTENSION_get_critical(ext) != 1)
      return fail(PkiErrorKind::extension_malformed, "the authorization extension is not critical");
    auto auth = decode_authorization(asn1_string_bytes(X509_EXTENSION_get_data(ext)));
    if (!auth) return unexpected(auth.error());
    return std::optional<Authorization>(std::move(*auth));
  }

  PublicKey Certificate::public_key() const {
    return PublicKey(std::shared_ptr<EVP_PKEY>(X509_get_pubkey(cert_.get()), PkeyDeleter{}));
  }

  // ------------------------------------------------------------ issuing

  int default_days(Role role) {
    return role == Role::card ? 3650 : 825;
  }

  std::string default_ca_name(CaKind kind) {
    switch (kind) {
      case CaKind::card:
        return "Juki-net Card CA";
      case CaKind::terminal:
        return "Juki-net Terminal CA";
      case CaKind::server:
        break;
    }
    return "Juki-net Server CA";
  }

  namespace {

  struct CertSpec {
    // The subject: these attributes in order (as UTF8String, C as
    // PrintableString), then CN=common_name.
    std::vector<std::pair<const char*, std::string>> name;
    std::string common_name;
    int days = 0;
    std::optional<std::int64_t> not_before;
    const char* basic_constraints = nullptr;
    const char* key_usage = nullptr;
    // After basicConstraints, keyUsage, SKI and AKI: (nid, OpenSSL config value).
    std::vector<std::pair<int, std::string>> extensions;
    // Then certificatePolicies (not critical) with this one policy, no qualifiers.
    std::optional<std::string> policy;
    std::optional<Authorization> authorization;
  };

  Result<void, PkiError> add_policy(X509* x, const std::string& oid) {
    PoliciesPtr policies(sk_POLICYINFO_new_null());
    if (!policies) return crypto_fail("cannot build certificatePolicies");
    POLICYINFO* info = POLICYINFO_new();
    if (info == nullptr) return crypto_fail("cannot build certificatePolicies");
    if (sk_POLICYINFO_push(policies.get(), info) <= 0) {
      POLICYINFO_free(info);
      return crypto_fail("cannot build certificatePolicies");
    }
    ASN1_OBJECT_free(info->policyid);
    info->policyid = OBJ_txt2obj(oid.c_str(), 1);
    if (info->policyid == nullptr) return crypto_fail("cannot build the policy OID " + oid);
    ExtPtr ext(X509V3_EXT_i2d(NID_certificate_policies, 0, policies.get()));
    if (!ext || X509_add_ext(x, ext.get(), -1) != 1)
      return crypto_fail("cannot add certificatePolicies");
    return {};
  }

  std::vector<std::pair<const char*, std::string>> juki_name(const std::optional<std::string>& ou) {
    std::vector<std::pair<const char*, std::string>> name{{"O", "Juki-net"}};
    if (ou) name.emplace_back("OU", *ou);
    return name;
  }

  std::vector<std::pair<const char*, std::string>> jpki_name() {
    return {{"C", "JP"}, {"O", "JPKI"}, {"OU", "Juki-net reference"}};
  }

  Result<void, PkiError> add_ext(X509* x, X509V3_CTX* ctx, int nid, const char* value) {
    ExtPtr ext(X509V3_EXT_nconf_nid(nullptr, ctx, nid, value));
    if (!ext || X509_add_ext(x, ext.get(), -1) != 1)
      return crypto_fail(std::string("cannot add extension ") + OBJ_nid2sn(nid));
    return {};
  }

  // Builds and signs one certificate. `issuer` null: self-signed by `signer`.
  Result<Certificate, PkiError> make_certificate(const CertSpec& spec, EVP_PKEY* subject_key,
                                                 EVP_PKEY* signer, X509* issuer) {
    if (spec.common_name.empty()) return fail(PkiErrorKind::refused, "the subject CN is empty");
    if (spec.days < 1 || spec.days > 36500)
      return fail(PkiErrorKind::refused, "validity must be 1 to 36500 days");
    std::shared_ptr<X509> cert(X509_new(), X509Deleter{});
    X509* x = cert.get();
    if (!x || X509_set_version(x, X509_VERSION_3) != 1) return crypto_fail("cannot make a cert");

    // Serial: 16 random bytes, top bits 01 so the INTEGER is positive and 16 bytes long.
    unsigned char serial[16];
    if (RAND_bytes(serial, sizeof serial) != 1) return crypto_fail("no random serial");
    serial[0] = static_cast<unsigned char>((serial[0] & 0x3F) | 0x40);
    BnPtr bn(BN_bin2bn(serial, sizeof serial, nullptr));
    if (!bn || !BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(x)))
      return crypto_fail("cannot set the serial");

    NamePtr name(X509_NAME_new());
    auto add_entry = [&](const char* field, const std::string& value) {
      return X509_NAME_add_entry_by_txt(name.get(), field, MBSTRING_UTF8,
                                        reinterpret_cast<const unsigned char*>(value.data()),
                                        static_cast<int>(value.size()), -1, 0) == 1;
    };
    if (!name) return crypto_fail("cannot build the subject name");
    for (const auto& [field, value] : spec.name)
      if (!add_entry(field, value)) return crypto_fail("cannot build the subject name");
    if (!add_entry("CN", spec.common_name)) return crypto_fail("cannot build the subject name");
    if (X509_set_subject_name(x, name.get()) != 1 ||
        X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name.get()) != 1)
      return crypto_fail("cannot set the names");

    const std::time_t start = static_cast<std::time_t>(
        spec.not_before.value_or(static_cast<std::int64_t>(std::time(nullptr))));
    if (!X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, const_cast<std::time_t*>(&start)) ||
        !X509_time_adj_ex(X509_getm_notAfter(x), spec.days, 0, const_cast<std::time_t*>(&start)))
      return crypto_fail("cannot set the validity");
    if (X509_set_pubkey(x, subject_key) != 1) return crypto_fail("cannot set the public key");

    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, nullptr, nullptr, 0);
    for (auto [nid, value] : {std::pair{NID_basic_constraints, spec.basic_constraints},
                              std::pair{NID_key_usage, spec.key_usage},
                              std::pair{NID_subject_key_identifier, "hash"}}) {
      if (auto ok = add_ext(x, &ctx, nid, value); !ok) return unexpected(ok.error());
    }
    if (issuer) {
      if (auto ok = add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always"); !ok)
        return unexpected(ok.error());
    }
    for (const auto& [nid, value] : spec.extensions) {
      if (auto ok = add_ext(x, &ctx, nid, value.c_str()); !ok) return unexpected(ok.error());
    }
    if (spec.policy) {
      if (auto ok = add_policy(x, *spec.policy); !ok) return unexpected(ok.error());
    }
    if (spec.authorization) {
      auto der = encode_authorization(*spec.authorization);
      if (!der) return unexpected(der.error());
      ObjPtr oid = authorization_oid();
      OctetPtr value(ASN1_OCTET_STRING_new());
      if (!oid || !value ||
          ASN1_OCTET_STRING_set(value.get(), der->data(), static_cast<int>(der->size())) != 1)
        return crypto_fail("cannot build the authorization extension");
      ExtPtr ext(X509_EXTENSION_create_by_OBJ(nullptr, oid.get(), 1, value.get()));
      if (!ext || X509_add_ext(x, ext.get(), -1) != 1)
        return crypto_fail("cannot add the authorization extension");
    }
    if (X509_sign(x, signer, EVP_sha256()) <= 0) return crypto_fail("cannot sign");
    // Back through DER, so the result is exactly what a relying party parses.
    Bytes der;
    {
      unsigned char* p = nullptr;
      const int len = i2d_X509(x, &p);
      if (len <= 0) return crypto_fail("cannot encode the certificate");
      der.assign(p, p + len);
      OPENSSL_free(p);
    }
    return Certificate::from_der(der);
  }

  // The kind of CA `ca` is by its authorization (refused when it is none of ours).
  Result<CaKind, PkiError> ca_kind_of(const Certificate& ca) {
    auto auth = ca.authorization();
    if (!auth) return unexpected(auth.error());
    if (!*auth)
      return fail(PkiErrorKind::extension_missing, "the CA has no authorization extension");
    auto kind = ca_kind_of_ca_role((*auth)->role);
    if (!kind)
      return fail(
          PkiErrorKind::role_not_allowed,
          "a certificate with role " + std::string(role_name((*auth)->role)) + " is not a CA");
    return *kind;
  }

  }  // namespace

  Result<KeyAndCert, PkiError> create_root(const std::string& common_name, int days,
                                           std::optional<std::int64_t> not_before) {
    auto key = PrivateKey::generate();
    if (!key) return unexpected(key.error());
    CertSpec spec{juki_name(std::nullopt),
                  common_name,
                  days,
                  not_before,
                  "critical,CA:TRUE,pathlen:1",
                  "critical,keyCertSign,cRLSign",
                  {},
                  std::nullopt,
                  std::nullopt};
    auto cert = make_certificate(spec, key->native(), key->native(), nullptr);
    if (!cert) return unexpected(cert.error());
    return KeyAndCert{std::move(*key), std::move(*cert)};
  }

  Result<KeyAndCert, PkiError> create_ca(const PrivateKey& root_key, const Certificate& root,
                                         CaKind kind, const std::string& common_name, int days,
                                         std::optional<std::int64_t> not_before) {
    if (!is_p256(root_key.native()))
      return fail(PkiErrorKind::refused, "the root key is not an EC key on P-256");
    if (X509_check_private_key(root.native(), root_key.native()) != 1) {
      ERR_clear_error();
      return fail(PkiErrorKind::refused, "the root key does not match the root certificate");
    }
    auto key = PrivateKey::generate();
    if (!key) return unexpected(key.error());
    CertSpec spec{juki_name(std::nullopt),
                  common_name.empty() ? default_ca_name(kind) : common_name,
                  days,
                  not_before,
                  "critical,CA:TRUE,pathlen:0",
                  "critical,keyCertSign,cRLSign",
                  {},
                  std::nullopt,
                  Authorization{ca_role(kind), std::nullopt, std::nullopt}};
    auto cert = make_certificate(spec, key->native(), root_key.native(), root.native());
    if (!cert) return unexpected(cert.error());
    return KeyAndCert{std::move(*key), std::move(*cert)};
  }

  Result<Certificate, PkiError> issue(const PrivateKey& ca_key, const Certificate& ca_cert,
                                      const LeafRequest& request, const PublicKey& subject_key) {
    const Role role = request.authorization.role;
    auto kind = ca_kind_of(ca_cert);
    if (!kind) return fail(PkiErrorKind::refused, "not a Juki-net CA: " + kind.error().message);
    if (is_ca_role(role))
      return fail(PkiErrorKind::refused, "role " + std::string(role_name(role)) +
                                             " belongs to a CA certificate (use init)");
    if (issuing_ca(role) != *kind)
      return fail(PkiErrorKind::refused,
                  "role " + std::string(role_name(role)) + " is certified by the " +
                      std::string(ca_kind_name(*issuing_ca(role))) + " CA, not the " +
                      std::string(ca_kind_name(*kind)) + " CA");
    if (auto ok = check_authorization(request.authorization); !ok) return unexpected(ok.error());
    if (!is_p256(ca_key.native()))
      return fail(PkiErrorKind::refused, "the CA key is not an EC key on P-256");
    if (X509_check_private_key(ca_cert.native(), ca_key.native()) != 1) {
      ERR_clear_error();
      return fail(PkiErrorKind::refused, "the CA key does not match the CA certificate");
    }
    if (!is_p256(subject_key.native()))
      return fail(PkiErrorKind::refused, "the subject key is not an EC key on P-256");
    CertSpec spec{juki_name(request.authorization.municipality),
                  request.common_name,
                  request.days == 0 ? default_days(role) : request.days,
                  request.not_before,
                  "critical,CA:FALSE",
                  "critical,digitalSignature,keyAgreement",
                  {},
                  std::nullopt,
                  request.authorization};
    return make_certificate(spec, subject_key.native(), ca_key.native(), ca_cert.native());
  }

  Result<KeyAndCert, PkiError> issue_new_key(const KeyAndCert& ca, const LeafRequest& request) {
    auto key = PrivateKey::generate();
    if (!key) return unexpected(key.error());
    auto cert = issue(ca.key, ca.cert, request, key->public_key());
    if (!cert) return unexpected(cert.error());
    return KeyAndCert{std::move(*key), std::move(*cert)};
  }

  // ------------------------------------------------------------ JPKI

  std::string default_jpki_ca_name(JpkiKind kind) {
    return kind == JpkiKind::auth ? "JPKI Authentication CA" : "JPKI Signature CA";
  }

  Result<KeyAndCert, PkiError> create_jpki_ca(JpkiKind kind, const std::string& common_name,
                                              int days, std::optional<std::int64_t> not_before) {
    auto key = PrivateKey::generate(KeyAlgorithm::rsa2048);
    if (!key) return unexpected(key.error());
    CertSpec spec{jpki_name(),
                  common_name.empty() ? default_jpki_ca_name(kind) : common_name,
                  days,
                  not_before,
                  "critical,CA:TRUE,pathlen:0",
                  "critical,keyCertSign,cRLSign",
                  {},
                  jpki_policy_oid(kind),
                  std::nullopt};
    auto cert = make_certificate(spec, key->native(), key->native(), nullptr);
    if (!cert) return unexpected(cert.error());
    return KeyAndCert{std::move(*key), std::move(*cert)};
  }

  Result<Certificate, PkiError> issue_jpki(const KeyAndCert& ca, const JpkiLeafRequest& request,
                                           const PublicKey& subject_key) {
    const std::string wanted = "the JPKI " + std::string(jpki_kind_name(request.kind)) + " CA";
    if (!ca.cert.is_ca() || X509_check_issued(ca.cert.native(), ca.cert.native()) != X509_V_OK ||
        ca.cert.public_key().algorithm() != KeyAlgorithm::rsa2048)
      return fail(PkiErrorKind::refused, "not a JPKI CA (a self-signed RSA-2048 CA)");
    auto auth = ca.cert.authorization();
    if (!auth || *auth)
      return fail(PkiErrorKind::refused, "not a JPKI CA: it carries a Juki-net authorization");
    const auto kind = ca.cert.jpki_kind();
    if (!kind) return fail(PkiErrorKind::refused, "not a JPKI CA: no JPKI policy");
    if (*kind != request.kind)
      return fail(PkiErrorKind::refused, "a JPKI " + std::string(jpki_kind_name(request.kind)) +
                                             " certificate is issued by " + wanted +
                                             ", not the JPKI " +
                                             std::string(jpki_kind_name(*kind)) + " CA");
    if (ca.key.algorithm() != KeyAlgorithm::rsa2048 || !is_rsa2048(ca.key.native()))
      return fail(PkiErrorKind::refused, "the CA key is not an RSA-2048 key");
    if (X509_check_private_key(ca.cert.native(), ca.key.native()) != 1) {
      ERR_clear_error();
      return fail(PkiErrorKind::refused, "the CA key does not match the CA certificate");
    }
    if (subject_key.native() == nullptr) return fail(PkiErrorKind::refused, "no subject key");
    if (auto ok = check_rsa2048_public(subject_key.native()); !ok)
      return fail(PkiErrorKind::refused, "the subject key: " + ok.error().message);
    CertSpec spec{jpki_name(),
                  request.common_name,
                  request.days == 0 ? kJpkiLeafDays : request.days,
                  request.not_before,
                  "critical,CA:FALSE",
                  request.kind == JpkiKind::auth ? "critical,digitalSignature"
                                                 : "critical,digitalSignature,nonRepudiation",
                  {},
                  jpki_policy_oid(request.kind),
                  std::nullopt};
    if (request.kind == JpkiKind::auth)
      spec.extensions.emplace_back(NID_ext_key_usage, "clientAuth");
    return make_certificate(spec, subject_key.native(), ca.key.native(), ca.cert.native());
  }

  // ------------------------------------------------------------ verifying

  namespace {

  Result<void, PkiError> check_validity(const Certificate& c, const std::string& what,
                                        std::int64_t at) {
    std::time_t t = static_cast<std::time_t>(at);
    const int before = X509_cmp_time(X509_get0_notBefore(c.native()), &t);
    const int after = X509_cmp_time(X509_get0_notAfter(c.native()), &t);
    if (before == 0 || after == 0) return fail(PkiErrorKind::malformed, what + ": bad validity");
    if (before > 0)
      return fail(PkiErrorKind::not_yet_valid,
                  what + " is not valid before " + format_time(c.not_before()));
    if (after < 0)
      return fail(PkiErrorKind::expired, what + " expired at " + format_time(c.not_after()));
    return {};
  }

  // `subject` names `issuer` as its issuer (name and key identifier) and the
  // issuer's key verifies its signature.
  Result<void, PkiError> check_issued_by(const Certificate& subject, const std::string& what,
                                         const Certificate& issuer,
                                         const std::string& issuer_what) {
    if (X509_NAME_cmp(X509_get_issuer_name(subject.native()),
                      X509_get_subject_name(issuer.native())) != 0)
      return fail(PkiErrorKind::unknown_issuer, what + " was not issued by " + issuer_what +
                                                    " (issuer " + subject.issuer() + ")");
    const ASN1_OCTET_STRING* aki = X509_get0_authority_key_id(subject.native());
    const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(issuer.native());
    if (subject.native() != issuer.native() &&
        (aki == nullptr || ski == nullptr || ASN1_OCTET_STRING_cmp(aki, ski) != 0))
      return fail(PkiErrorKind::unknown_issuer,
                  what + " was not issued by " + issuer_what + " (key identifiers differ)");
    PublicKey key = issuer.public_key();
    if (key.native() == nullptr || X509_verify(subject.native(), key.native()) != 1) {
      ERR_clear_error();
      return fail(PkiErrorKind::bad_signature,
                  "the signature of " + what + " does not verify with " + issuer_what + "'s key");
    }
    return {};
  }

  Result<void, PkiError> check_is_ca(const Certificate& c, const std::string& what) {
    if (!c.is_ca() || (X509_get_key_usage(c.native()) & KU_KEY_CERT_SIGN) == 0)
      return fail(PkiErrorKind::not_a_ca, what + " is not a CA (CA:TRUE with keyCertSign)");
    return {};
  }

  // Juki-net: every key is P-256.
  Result<void, PkiError> check_p256(const Certificate& c, const std::string& what) {
    PublicKey key = c.public_key();
    if (key.native() == nullptr || !is_p256(key.native()))
      return fail(PkiErrorKind::wrong_algorithm, what + "'s key is not an EC key on P-256");
    return {};
  }

  // JPKI: an RSA-2048 key, signed with sha256WithRSAEncryption, no Juki-net
  // authorization, exactly one JPKI policy. Gives the kind.
  Result<JpkiKind, PkiError> check_jpki_profile(const Certificate& c, const std::string& what) {
    PublicKey key = c.public_key();
    if (key.native() == nullptr || !is_rsa2048(key.native()))
      return fail(PkiErrorKind::wrong_algorithm, what + "'s key is not an RSA-2048 key");
    if (X509_get_signature_nid(c.native()) != NID_sha256WithRSAEncryption)
      return fail(PkiErrorKind::wrong_algorithm,
                  what + " is not signed with sha256WithRSAEncryption");
    auto auth = c.authorization();
    if (!auth || *auth)
      return fail(PkiErrorKind::role_not_allowed,
                  what + " carries a Juki-net authorization extension (no JPKI certificate does)");
    auto kind = c.jpki_kind();
    if (!kind)
      return fail(PkiErrorKind::extension_missing,
                  what + " has no JPKI certificate policy (exactly one of " +
                      jpki_policy_oid(JpkiKind::auth) + ", " + jpki_policy_oid(JpkiKind::sign) +
                      ")");
    return *kind;
  }

  }  // namespace

  Result<void, PkiError> verify_root(const Certificate& root, std::int64_t at) {
    if (auto ok = check_issued_by(root, "the root", root, "itself"); !ok)
      return unexpected(ok.error());
    if (auto ok = check_is_ca(root, "the root"); !ok) return unexpected(ok.error());
    if (auto ok = check_validity(root, "the root", at); !ok) return unexpected(ok.error());
    return check_p256(root, "the root");
  }

  Result<CaKind, PkiError> verify_ca(const Certificate& root, const Certificate& ca,
                                     std::int64_t at) {
    if (auto ok = verify_root(root, at); !ok) return unexpected(ok.error());
    if (auto ok = check_issued_by(ca, "the CA", root, "the root"); !ok)
      return unexpected(ok.error());
    if (auto ok = check_validity(ca, "the CA", at); !ok) return unexpected(ok.error());
    if (auto ok = check_is_ca(ca, "the CA"); !ok) return unexpected(ok.error());
    if (auto ok = check_p256(ca, "the CA"); !ok) return unexpected(ok.error());
    return ca_kind_of(ca);
  }

  Result<Verified, PkiError> verify_chain(const Certificate& root, const Certificate& ca,
                                          const Certificate& leaf, std::int64_t at) {
    auto kind = verify_ca(root, ca, at);
    if (!kind) return unexpected(kind.error());
    const std::string ca_what = "the " + std::string(ca_kind_name(*kind)) + " CA";
    if (auto ok = check_issued_by(leaf, "the certificate", ca, ca_what); !ok)
      return unexpected(ok.error());
    if (auto ok = check_validity(leaf, "the certificate", at); !ok) return unexpected(ok.error());
    if (leaf.is_ca()) return fail(PkiErrorKind::not_a_ca, "the certificate claims to be a CA");
    if (auto ok = check_p256(leaf, "the certificate"); !ok) return unexpected(ok.error());
    auto auth = leaf.authorization();
    if (!auth) return unexpected(auth.error());
    if (!*auth)
      return fail(PkiErrorKind::extension_missing,
                  "the certificate has no authorization extension");
    const Role role = (*auth)->role;
    if (issuing_ca(role) != *kind)
      return fail(PkiErrorKind::role_not_allowed,
                  "role " + std::string(role_name(role)) + " may not be certified by " + ca_what);
    return Verified{*kind, std::move(**auth)};
  }

  Result<JpkiKind, PkiError> verify_jpki_ca(const Certificate& ca, std::int64_t at) {
    const std::string what = "the JPKI CA";
    if (auto ok = check_issued_by(ca, what, ca, "itself"); !ok) return unexpected(ok.error());
    if (auto ok = check_is_ca(ca, what); !ok) return unexpected(ok.error());
    if (auto ok = check_validity(ca, what, at); !ok) return unexpected(ok.error());
    return check_jpki_profile(ca, what);
  }

  Result<JpkiKind, PkiError> verify_jpki(const Certificate& ca, const Certificate& leaf,
                                         std::int64_t at) {
    auto kind = verify_jpki_ca(ca, at);
    if (!kind) return unexpected(kind.error());
    const std::string ca_what = "the JPKI " + std::string(jpki_kind_name(*kind)) + " CA";
    const std::string what = "the certificate";
    if (auto ok = check_issued_by(leaf, what, ca, ca_what); !ok) return unexpected(ok.error());
    if (auto ok = check_validity(leaf, what, at); !ok) return unexpected(ok.error());
    if (leaf.is_ca()) return fail(PkiErrorKind::not_a_ca, "the certificate claims to be a CA");
    auto leaf_kind = check_jpki_profile(leaf, what);
    if (!leaf_kind) return unexpected(leaf_kind.error());
    if (*leaf_kind != *kind)
      return fail(PkiErrorKind::role_not_allowed,
                  "a JPKI " + std::string(jpki_kind_name(*leaf_kind)) +
                      " certificate may not be issued by " + ca_what);
    const std::uint32_t usage = X509_get_key_usage(leaf.native());
    const std::uint32_t wanted =
        *kind == JpkiKind::auth ? KU_DIGITAL_SIGNATURE : KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION;
    if (usage == UINT32_MAX || (usage & wanted) != wanted)
      return fail(PkiErrorKind::role_not_allowed,
                  std::string("the certificate's keyUsage lacks ") +
                      (*kind == JpkiKind::auth ? "digitalSignature"
                                               : "digitalSignature and nonRepudiation"));
    return *kind;
  }

  Result<void, PkiError> check_issued(const Certificate& issuer, const Certificate& subject) {
    return check_issued_by(subject, "the certificate", issuer, "the CA");
  }

  // ------------------------------------------------------------ revocation

  namespace {

  struct ReasonInfo {
    RevocationReason reason;
    std::string_view name;
  };
  constexpr std::array<ReasonInfo, 10> kReasons{{
      {RevocationReason::unspecified, "unspecified"},
      {RevocationReason::key_compromise, "keyCompromise"},
      {RevocationReason::ca_compromise, "cACompromise"},
      {RevocationReason::affiliation_changed, "affiliationChanged"},
      {RevocationReason::superseded, "superseded"},
      {RevocationReason::cessation_of_operation, "cessationOfOperation"},
      {RevocationReason::certificate_hold, "certificateHold"},
      {RevocationReason::remove_from_crl, "removeFromCRL"},
      {RevocationReason::privilege_withdrawn, "privilegeWithdrawn"},
      {RevocationReason::aa_compromise, "aACompromise"},
  }};

  Unexpected<PkiError> bad_crl(const std::string& why) {
    ERR_clear_error();
    return fail(PkiErrorKind::bad_crl, "the CRL " + why);
  }

  // The signature algorithm of everything `key` signs (specs/pki.md).
  int signature_nid_for(EVP_PKEY* key) {
    if (is_p256(key)) return NID_ecdsa_with_SHA256;
    if (is_rsa2048(key)) return NID_sha256WithRSAEncryption;
    return NID_undef;
  }

  IntPtr serial_integer(std::string_view hex) {
    auto bytes = from_hex(hex);
    if (!bytes || bytes->empty()) return nullptr;
    BnPtr bn(BN_bin2bn(bytes->data(), static_cast<int>(bytes->size()), nullptr));
    if (!bn) return nullptr;
    return IntPtr(BN_to_ASN1_INTEGER(bn.get(), nullptr));
  }

  }  // namespace

  std::string_view revocation_reason_name(RevocationReason reason) {
    for (const auto& r : kReasons)
      if (r.reason == reason) return r.name;
    return "unknown";
  }

  std::optional<RevocationReason> revocation_reason_from_name(std::string_view name) {
    for (const auto& r : kReasons)
      if (r.name == name) return r.reason;
    return std::nullopt;
  }

  std::optional<RevocationReason> revocation_reason_from_code(std::int64_t code) {
    for (const auto& r : kReasons)
      if (static_cast<std::int64_t>(r.reason) == code) return r.reason;
    return std::nullopt;
  }

  bool revocation_reason_allowed(RevocationReason reason) {
    switch (reason) {
      case RevocationReason::unspecified:
      case RevocationReason::key_compromise:
      case RevocationReason::affiliation_changed:
      case RevocationReason::superseded:
      case RevocationReason::cessation_of_operation:
        return true;
      default:
        return false;
    }
  }

  Result<Bytes, PkiError> create_crl(const KeyAndCert& ca, const CrlRequest& request) {
    X509* ca_x = ca.cert.native();
    if (!ca.cert.is_ca() || (X509_get_key_usage(ca_x) & KU_CRL_SIGN) == 0)
      return fail(PkiErrorKind::refused, "not a CA with cRLSign");
    const int sig_nid = signature_nid_for(ca.key.native());
    if (sig_nid == NID_undef)
      return fail(PkiErrorKind::refused, "the CA key is neither P-256 nor RSA-2048");
    if (X509_check_private_key(ca_x, ca.key.native()) != 1) {
      ERR_clear_error();
      return fail(PkiErrorKind::refused, "the CA key does not match the CA certificate");
    }
    if (request.number < 1) return fail(PkiErrorKind::refused, "the CRL number must be >= 1");
    if (request.days < 1 || request.days > kCrlMaxDays)
      return fail(PkiErrorKind::refused,
                  "a CRL is valid for 1 to " + std::to_string(kCrlMaxDays) + " days");

    CrlPtr crl(X509_CRL_new());
    if (!crl || X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) != 1 ||
        X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(ca_x)) != 1)
      return crypto_fail("cannot make a CRL");
    // ASN1_TIME_adj: UTCTime through 2049, GeneralizedTime after (RFC 5280 5.1.2.4).
    TimePtr this_update(
        ASN1_TIME_adj(nullptr, static_cast<std::time_t>(request.this_update), 0, 0));
    TimePtr next_update(
        ASN1_TIME_adj(nullptr, static_cast<std::time_t>(request.this_update), request.days, 0));
    if (!this_update || !next_update ||
        X509_CRL_set1_lastUpdate(crl.get(), this_update.get()) != 1 ||
        X509_CRL_set1_nextUpdate(crl.get(), next_update.get()) != 1)
      return crypto_fail("cannot set the CRL's times");

    for (const RevokedSerial& r : request.revoked) {
      if (!revocation_reason_allowed(r.reason))
        return fail(PkiErrorKind::refused, "reason " +
                                               std::string(revocation_reason_name(r.reason)) +
                                               " is not one a leaf is revoked for here");
      IntPtr serial = serial_integer(r.serial);
      if (!serial) return fail(PkiErrorKind::refused, "serial '" + r.serial + "' is not hex");
      RevokedPtr entry(X509_REVOKED_new());
      TimePtr when(ASN1_TIME_adj(nullptr, static_cast<std::time_t>(r.revoked_at), 0, 0));
      if (!entry || !when || X509_REVOKED_set_serialNumber(entry.get(), serial.get()) != 1 ||
          X509_REVOKED_set_revocationDate(entry.get(), when.get()) != 1)
        return crypto_fail("cannot make a CRL entry");
      // RFC 5280 5.3.1: no reasonCode rather than unspecified (0).
      if (r.reason != RevocationReason::unspecified) {
        EnumPtr code(ASN1_ENUMERATED_new());
        if (!code || ASN1_ENUMERATED_set_int64(code.get(), static_cast<int>(r.reason)) != 1 ||
            X509_REVOKED_add1_ext_i2d(entry.get(), NID_crl_reason, code.get(), 0, 0) != 1)
          return crypto_fail("cannot add a reasonCode");
      }
      if (X509_CRL_add0_revoked(crl.get(), entry.get()) != 1)
        return crypto_fail("cannot add a CRL entry");
      entry.release();  // the CRL owns it now
    }
    if (X509_CRL_sort(crl.get()) != 1) return crypto_fail("cannot sort the CRL");

    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, ca_x, nullptr, nullptr, crl.get(), 0);
    ExtPtr aki(X509V3_EXT_nconf_nid(nullptr, &ctx, NID_authority_key_identifier, "keyid:always"));
    IntPtr number(ASN1_INTEGER_new());
    if (!aki || X509_CRL_add_ext(crl.get(), aki.get(), -1) != 1 || !number ||
        ASN1_INTEGER_set_int64(number.get(), request.number) != 1 ||
        X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, number.get(), 0, 0) != 1)
      return crypto_fail("cannot add the CRL's extensions");
    if (X509_CRL_sign(crl.get(), ca.key.native(), EVP_sha256()) <= 0)
      return crypto_fail("cannot sign the CRL");
    unsigned char* der = nullptr;
    const int len = i2d_X509_CRL(crl.get(), &der);
    if (len <= 0) return crypto_fail("cannot encode the CRL");
    Bytes out(der, der + len);
    OPENSSL_free(der);
    return out;
  }

  const RevokedSerial* Crl::find(std::string_view serial_hex) const {
    for (const auto& r : revoked)
      if (r.serial == serial_hex) return &r;
    return nullptr;
  }

  Result<Crl, PkiError> read_crl(const Certificate& ca, ByteView der) {
    const unsigned char* p = der.data();
    CrlPtr crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size())));
    if (!crl) return bad_crl("is not an X.509 CRL in DER");
    if (p != der.data() + der.size()) return bad_crl("has bytes after it");
    X509_CRL* c = crl.get();
    if (X509_CRL_get_version(c) != X509_CRL_VERSION_2) return bad_crl("is not version 2");
    if (X509_NAME_cmp(X509_CRL_get_issuer(c), X509_get_subject_name(ca.native())) != 0)
      return bad_crl("was not issued by " + ca.subject() + " (issuer " +
                     name_text(X509_CRL_get_issuer(c)) + ")");
    // Signature first: nothing else in it is worth reading before that.
    PublicKey key = ca.public_key();
    const int sig_nid = signature_nid_for(key.native());
    if (sig_nid == NID_undef || X509_CRL_get_signature_nid(c) != sig_nid)
      return bad_crl("is not signed with the algorithm of the CA's key");
    if (X509_CRL_verify(c, key.native()) != 1)
      return bad_crl("signature does not verify with the CA's key");
    for (int i = 0; i < X509_CRL_get_ext_count(c); ++i)
      if (X509_EXTENSION_get_critical(X509_CRL_get_ext(c, i)) == 1)
        return bad_crl("has a critical extension (no delta, indirect or partitioned CRLs here)");
    int critical = 0;
    AkidPtr akid(static_cast<AUTHORITY_KEYID*>(
        X509_CRL_get_ext_d2i(c, NID_authority_key_identifier, &critical, nullptr)));
    const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(ca.native());
    if (!akid || akid->keyid == nullptr || ski == nullptr ||
        ASN1_OCTET_STRING_cmp(akid->keyid, ski) != 0)
      return bad_crl("has no authority key identifier equal to the CA's key identifier");
    IntPtr number(
        static_cast<ASN1_INTEGER*>(X509_CRL_get_ext_d2i(c, NID_crl_number, &critical, nullptr)));
    Crl out;
    if (!number || ASN1_INTEGER_get_int64(&out.number, number.get()) != 1 || out.number < 0)
      return bad_crl("has no usable cRLNumber");
    out.issuer = name_text(X509_CRL_get_issuer(c));
    auto this_update = asn1_time_seconds(X509_CRL_get0_lastUpdate(c));
    auto next_update = asn1_time_seconds(X509_CRL_get0_nextUpdate(c));
    if (!this_update || !next_update) return bad_crl("has no thisUpdate or no nextUpdate");
    out.this_update = *this_update;
    out.next_update = *next_update;
    STACK_OF(X509_REVOKED)* entries = X509_CRL_get_REVOKED(c);
    for (int i = 0; i < sk_X509_REVOKED_num(entries); ++i) {
      X509_REVOKED* e = sk_X509_REVOKED_value(entries, i);
      for (int k = 0; k < X509_REVOKED_get_ext_count(e); ++k)
        if (X509_EXTENSION_get_critical(X509_REVOKED_get_ext(e, k)) == 1)
          return bad_crl("has an entry with a critical extension");
      RevokedSerial r;
      r.serial = to_hex(asn1_string_bytes(X509_REVOKED_get0_serialNumber(e)));
      auto when = asn1_time_seconds(X509_REVOKED_get0_revocationDate(e));
      if (!when) return bad_crl("has an entry without a revocation date");
      r.revoked_at = *when;
      int found = 0;  // -1 absent, -2 twice, else decoded or malformed
      EnumPtr code(static_cast<ASN1_ENUMERATED*>(
          X509_REVOKED_get_ext_d2i(e, NID_crl_reason, &found, nullptr)));
      if (code) {
        std::int64_t v = -1;
        auto reason = ASN1_ENUMERATED_get_int64(&v, code.get()) == 1
                          ? revocation_reason_from_code(v)
                          : std::nullopt;
        if (!reason) return bad_crl("has an unknown reason code");
        r.reason = *reason;
      } else if (found != -1) {
        return bad_crl("has a malformed or repeated reasonCode");
      }
      out.revoked.push_back(std::move(r));
    }
    ERR_clear_error();
    return out;
  }

  Result<void, PkiError> check_revocation(const Certificate& ca, ByteView crl_der,
                                          const Certificate& leaf, std::int64_t at) {
    auto crl = read_crl(ca, crl_der);
    if (!crl) return unexpected(crl.error());
    if (X509_NAME_cmp(X509_get_issuer_name(leaf.native()), X509_get_subject_name(ca.native())) != 0)
      return fail(PkiErrorKind::unknown_issuer,
                  "the certificate was not issued by the CRL's CA (issuer " + leaf.issuer() + ")");
    const std::string serial = leaf.serial_hex();
    if (const RevokedSerial* r = crl->find(serial); r != nullptr && r->revoked_at <= at)
      return fail(PkiErrorKind::revoked, "the certificate (serial " + serial + ") was revoked at " +
                                             format_time(r->revoked_at) + ", reason " +
                                             std::string(revocation_reason_name(r->reason)) +
                                             " (CRL number " + std::to_string(crl->number) + ")");
    if (crl->next_update < at)
      return fail(PkiErrorKind::crl_expired, "the CRL (number " + std::to_string(crl->number) +
                                                 ") expired at " + format_time(crl->next_update));
    return {};
  }

  // ------------------------------------------------------------ files

  Result<Bytes, PkiError> read_file(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail(PkiErrorKind::io, "cannot open " + path + ": " + std::strerror(errno));
    Bytes out;
    std::uint8_t buf[4096];
    for (;;) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        const int e = errno;
        ::close(fd);
        return fail(PkiErrorKind::io, "cannot read " + path + ": " + std::strerror(e));
      }
      if (n == 0) break;
      out.insert(out.end(), buf, buf + n);
    }
    ::close(fd);
    return out;
  }

  Result<void, PkiError> write_new_file(const std::string& path, ByteView data, unsigned mode) {
    const int fd =
        ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, static_cast<mode_t>(mode));
    if (fd < 0)
      return fail(PkiErrorKind::io, "cannot create " + path + ": " + std::strerror(errno) +
                                        (errno == EEXIST ? " (refusing to overwrite)" : ""));
    std::size_t done = 0;
    while (done < data.size()) {
      const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        const int e = errno;
        ::close(fd);
        ::unlink(path.c_str());
        return fail(PkiErrorKind::io, "cannot write " + path + ": " + std::strerror(e));
      }
      done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
      ::unlink(path.c_str());
      return fail(PkiErrorKind::io, "cannot write " + path);
    }
    return {};
  }

  Result<void, PkiError> replace_file(const std::string& path, ByteView data, unsigned mode) {
    const std::string tmp = path + ".tmp";
    // A PATH.tmp left by a process that died mid-write holds nothing anyone needs.
    if (::unlink(tmp.c_str()) != 0 && errno != ENOENT)
      return fail(PkiErrorKind::io, "cannot remove " + tmp + ": " + std::strerror(errno));
    if (auto ok = write_new_file(tmp, data, mode); !ok) return ok;
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
      const int e = errno;
      ::unlink(tmp.c_str());
      return fail(PkiErrorKind::io,
                  "cannot rename " + tmp + " to " + path + ": " + std::strerror(e));
    }
    // The rename itself must reach the disk too.
    std::string parent = std::filesystem::path(path).parent_path().string();
    if (parent.empty()) parent = ".";
    const int dir = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0 || ::fsync(dir) != 0) {
      if (dir >= 0) ::close(dir);
      return fail(PkiErrorKind::io, "cannot sync " + parent);
    }
    ::close(dir);
    return {};
  }

}  // namespace juki::pki
