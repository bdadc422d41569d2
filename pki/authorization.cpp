// The authorization extension (specs/pki.md): JukiAuthorization's rules,
// its DER and the OID a certificate carries it under.
#include <openssl/asn1t.h>
#include <openssl/err.h>
#include <openssl/objects.h>

#include <algorithm>

#include "pki/pki.hpp"
#include "pki/pki_internal.hpp"

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

  using AuthPtr =
      std::unique_ptr<JUKI_AUTHORIZATION, Free<JUKI_AUTHORIZATION, JUKI_AUTHORIZATION_free>>;

  }  // namespace

  ObjPtr authorization_oid() {
    return ObjPtr(OBJ_txt2obj(kAuthorizationOid, 1));
  }

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

}  // namespace juki::pki
