// Verifying: a Juki-net chain (root, CA, leaf) and a JPKI CA and leaf,
// against their profiles at a given time.
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>

#include "pki/pki.hpp"
#include "pki/pki_internal.hpp"

namespace juki::pki {

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
                                       const Certificate& issuer, const std::string& issuer_what) {
  if (X509_NAME_cmp(X509_get_issuer_name(subject.native()),
                    X509_get_subject_name(issuer.native())) != 0)
    return fail(PkiErrorKind::unknown_issuer,
                what + " was not issued by " + issuer_what + " (issuer " + subject.issuer() + ")");
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
                    jpki_policy_oid(JpkiKind::auth) + ", " + jpki_policy_oid(JpkiKind::sign) + ")");
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
  if (auto ok = check_issued_by(ca, "the CA", root, "the root"); !ok) return unexpected(ok.error());
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
    return fail(PkiErrorKind::extension_missing, "the certificate has no authorization extension");
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
    return fail(PkiErrorKind::role_not_allowed, "a JPKI " +
                                                    std::string(jpki_kind_name(*leaf_kind)) +
                                                    " certificate may not be issued by " + ca_what);
  const std::uint32_t usage = X509_get_key_usage(leaf.native());
  const std::uint32_t wanted =
      *kind == JpkiKind::auth ? KU_DIGITAL_SIGNATURE : KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION;
  if (usage == UINT32_MAX || (usage & wanted) != wanted)
    return fail(
        PkiErrorKind::role_not_allowed,
        std::string("the certificate's keyUsage lacks ") +
            (*kind == JpkiKind::auth ? "digitalSignature" : "digitalSignature and nonRepudiation"));
  return *kind;
}

Result<void, PkiError> check_issued(const Certificate& issuer, const Certificate& subject) {
  return check_issued_by(subject, "the certificate", issuer, "the CA");
}

}  // namespace juki::pki
