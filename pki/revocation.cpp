// Revocation (specs/pki.md "Revocation"): CRLReason names, a CA's CRL made,
// read and checked, and whether a leaf is revoked by it.
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <array>
#include <ctime>

#include "pki/pki.hpp"
#include "pki/pki_internal.hpp"

namespace juki::pki {

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
  TimePtr this_update(ASN1_TIME_adj(nullptr, static_cast<std::time_t>(request.this_update), 0, 0));
  TimePtr next_update(
      ASN1_TIME_adj(nullptr, static_cast<std::time_t>(request.this_update), request.days, 0));
  if (!this_update || !next_update || X509_CRL_set1_lastUpdate(crl.get(), this_update.get()) != 1 ||
      X509_CRL_set1_nextUpdate(crl.get(), next_update.get()) != 1)
    return crypto_fail("cannot set the CRL's times");

  for (const RevokedSerial& r : request.revoked) {
    if (!revocation_reason_allowed(r.reason))
      return fail(PkiErrorKind::refused, "reason " + std::string(revocation_reason_name(r.reason)) +
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
      auto reason = ASN1_ENUMERATED_get_int64(&v, code.get()) == 1 ? revocation_reason_from_code(v)
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

}  // namespace juki::pki
