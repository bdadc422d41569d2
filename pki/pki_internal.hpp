// Internals shared by the parts of the PKI (pki/*.cpp): OpenSSL objects in
// unique_ptrs with their deleters, errors as values, and the few checks more
// than one part makes. Not for use outside pki/.
#pragma once

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "pki/pki.hpp"

namespace juki::pki {

template <class T, void (*F)(T*)>
struct Free {
  void operator()(T* p) const { F(p); }
};
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

Unexpected<PkiError> fail(PkiErrorKind kind, std::string message);
// The OpenSSL error queue as text (and emptied), for crypto failures.
std::string openssl_errors();
Unexpected<PkiError> crypto_fail(const std::string& what);

Bytes asn1_string_bytes(const ASN1_STRING* s);
std::optional<std::int64_t> asn1_time_seconds(const ASN1_TIME* t);
std::string name_text(const X509_NAME* name);

bool is_p256(EVP_PKEY* key);
// rsaEncryption (not RSASSA-PSS) with a 2048-bit modulus.
bool is_rsa2048(EVP_PKEY* key);
// An RSA-2048 public key that OpenSSL's public-key check accepts (SP 800-56B
// in OpenSSL 3: n odd without small factors, e odd and > 1).
Result<void, PkiError> check_rsa2048_public(EVP_PKEY* key);

ObjPtr authorization_oid();

// The kind of CA `ca` is by its authorization (refused when it is none of ours).
Result<CaKind, PkiError> ca_kind_of(const Certificate& ca);

}  // namespace juki::pki
