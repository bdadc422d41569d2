#include "card_os/security/certificate.hpp"

#include <mbedtls/asn1.h>
#include <mbedtls/ecp.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include <array>
#include <cstring>

namespace juki::card_os::certificate {

namespace {

constexpr std::array<std::uint8_t, 20> kOid = {0x69, 0x82, 0xA6, 0xDD, 0xA7, 0x8D, 0xA4,
                                               0xD9, 0xCA, 0xB3, 0xC3, 0x88, 0x8F, 0xEF,
                                               0xCD, 0xB7, 0x90, 0xA6, 0xFB, 0x6B};

// What the extension callback found; parse() reads it after mbedTLS returns.
struct Found {
  std::optional<Authorization> authorization;
  bool bad = false;
};

int on_extension(void* ctx, const mbedtls_x509_crt* /*crt*/, const mbedtls_x509_buf* oid,
                 int critical, const unsigned char* p, const unsigned char* end) {
  auto& found = *static_cast<Found*>(ctx);
  if (oid->len != kOid.size() || std::memcmp(oid->p, kOid.data(), kOid.size()) != 0)
    return MBEDTLS_ERR_X509_FEATURE_UNAVAILABLE;  // unknown: fatal only if critical
  auto a = decode_authorization(ByteView(p, static_cast<std::size_t>(end - p)));
  if (!a || critical == 0 || found.authorization) {
    found.bad = true;
    return 0;  // keep parsing; parse() reports bad_extension rather than malformed
  }
  found.authorization = std::move(*a);
  return 0;
}

Date to_date(const mbedtls_x509_time& t) {
  return static_cast<Date>(t.year) * 10000000000ULL + static_cast<Date>(t.mon) * 100000000ULL +
         static_cast<Date>(t.day) * 1000000ULL + static_cast<Date>(t.hour) * 10000ULL +
         static_cast<Date>(t.min) * 100ULL + static_cast<Date>(t.sec);
}

Bytes copy(const mbedtls_x509_buf& b) {
  return Bytes(b.p, b.p + b.len);
}

}  // namespace

ByteView authorization_oid() {
  return ByteView(kOid.data(), kOid.size());
}

std::optional<Authorization> decode_authorization(ByteView value) {
  unsigned char* p = const_cast<unsigned char*>(value.data());  // mbedTLS reads only
  const unsigned char* const end = value.data() + value.size();
  std::size_t len = 0;
  if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) != 0 ||
      p + len != end)
    return std::nullopt;
  int role = 0;
  if (mbedtls_asn1_get_int(&p, end, &role) != 0 || role < 1 || role > 0xFFFF) return std::nullopt;
  Authorization a;
  a.role = static_cast<std::uint16_t>(role);
  if (p < end && *p == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 0)) {
    if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONTEXT_SPECIFIC | 0) != 0 || len != 6)
      return std::nullopt;
    for (std::size_t i = 0; i < len; ++i)
      if (p[i] < '0' || p[i] > '9') return std::nullopt;
    a.municipality.assign(reinterpret_cast<const char*>(p), len);
    p += len;
  }
  if (p < end && *p == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 1)) {
    if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONTEXT_SPECIFIC | 1) != 0 || len < 5 ||
        len > 16)
      return std::nullopt;
    a.application.assign(p, p + len);
    p += len;
  }
  if (p != end) return std::nullopt;
  return a;
}

Result<Info, Error> parse(ByteView der) {
  mbedtls_x509_crt crt;
  mbedtls_x509_crt_init(&crt);
  Found found;
  const int rc =
      mbedtls_x509_crt_parse_der_with_ext_cb(&crt, der.data(), der.size(), 1, on_extension, &found);
  struct Free {
    mbedtls_x509_crt* c;
    ~Free() { mbedtls_x509_crt_free(c); }
  } free_crt{&crt};
  if (rc != 0 || crt.version != 3 || crt.raw.len != der.size()) return unexpected(Error::malformed);
  if (found.bad) return unexpected(Error::bad_extension);
  if (crt.sig_md != MBEDTLS_MD_SHA256 || crt.sig_pk != MBEDTLS_PK_ECDSA ||
      mbedtls_pk_get_type(&crt.pk) != MBEDTLS_PK_ECKEY)
    return unexpected(Error::unsupported);
  const mbedtls_ecp_keypair* ec = mbedtls_pk_ec(crt.pk);
  if (ec == nullptr || ec->grp.id != MBEDTLS_ECP_DP_SECP256R1)
    return unexpected(Error::unsupported);

  Info info;
  std::size_t len = 0;
  if (mbedtls_ecp_point_write_binary(&ec->grp, &ec->Q, MBEDTLS_ECP_PF_UNCOMPRESSED, &len,
                                     info.key.data(), info.key.size()) != 0 ||
      len != info.key.size())
    return unexpected(Error::unsupported);
  info.issuer = copy(crt.issuer_raw);
  info.subject = copy(crt.subject_raw);
  info.not_before = to_date(crt.valid_from);
  info.not_after = to_date(crt.valid_to);
  info.ca = crt.ca_istrue != 0;
  info.authorization = std::move(found.authorization);
  info.tbs_digest = crypto::sha256(ByteView(crt.tbs.p, crt.tbs.len));
  info.signature = copy(crt.sig);
  return info;
}

bool signed_by(const Info& subject, ByteView issuer_key) {
  return ecc::verify_der_digest(issuer_key, subject.tbs_digest, subject.signature);
}

}  // namespace juki::card_os::certificate
