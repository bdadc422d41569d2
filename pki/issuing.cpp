// Issuing: the Juki-net root, its CAs and their leaves, and the JPKI CAs and
// leaves, each built from one certificate profile and signed.
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <utility>
#include <vector>

#include "pki/pki.hpp"
#include "pki/pki_internal.hpp"

namespace juki::pki {

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
  for (auto [nid, value] :
       {std::pair{NID_basic_constraints, spec.basic_constraints},
        std::pair{NID_key_usage, spec.key_usage}, std::pair{NID_subject_key_identifier, "hash"}}) {
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

}  // namespace

Result<CaKind, PkiError> ca_kind_of(const Certificate& ca) {
  auto auth = ca.authorization();
  if (!auth) return unexpected(auth.error());
  if (!*auth) return fail(PkiErrorKind::extension_missing, "the CA has no authorization extension");
  auto kind = ca_kind_of_ca_role((*auth)->role);
  if (!kind)
    return fail(
        PkiErrorKind::role_not_allowed,
        "a certificate with role " + std::string(role_name((*auth)->role)) + " is not a CA");
  return *kind;
}

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
    return fail(PkiErrorKind::refused,
                "role " + std::string(role_name(role)) + " belongs to a CA certificate (use init)");
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

Result<KeyAndCert, PkiError> create_jpki_ca(JpkiKind kind, const std::string& common_name, int days,
                                            std::optional<std::int64_t> not_before) {
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
                                           ", not the JPKI " + std::string(jpki_kind_name(*kind)) +
                                           " CA");
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
  if (request.kind == JpkiKind::auth) spec.extensions.emplace_back(NID_ext_key_usage, "clientAuth");
  return make_certificate(spec, subject_key.native(), ca.key.native(), ca.cert.native());
}

}  // namespace juki::pki
