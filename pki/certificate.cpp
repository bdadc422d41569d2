// Certificates as a relying party reads them: DER in, names, serial,
// validity, the CA flag, the JPKI policy and the authorization out; and the
// times they are written in.
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cctype>
#include <ctime>

#include "pki/pki.hpp"
#include "pki/pki_internal.hpp"

namespace juki::pki {

Bytes asn1_string_bytes(const ASN1_STRING* s) {
  const unsigned char* p = ASN1_STRING_get0_data(s);
  return Bytes(p, p + ASN1_STRING_length(s));
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

void X509Deleter::operator()(X509* p) const {
  X509_free(p);
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

Result<Certificate, PkiError> Certificate::from_pem(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return crypto_fail("cannot read PEM");
  unsigned char* der = nullptr;
  char* name = nullptr;
  char* header = nullptr;
  long len = 0;
  if (PEM_read_bio(bio.get(), &name, &header, &der, &len) != 1) {
    ERR_clear_error();
    return fail(PkiErrorKind::malformed, "not a PEM block");
  }
  const std::string block_name(name);
  Bytes bytes(der, der + len);
  OPENSSL_free(name);
  OPENSSL_free(header);
  OPENSSL_free(der);
  if (block_name != "CERTIFICATE")
    return fail(PkiErrorKind::malformed, "a PEM " + block_name + ", not a CERTIFICATE");
  // Nothing but whitespace may follow: one certificate, not a chain.
  char rest[64];
  int n = 0;
  while ((n = BIO_read(bio.get(), rest, sizeof rest)) > 0)
    for (int i = 0; i < n; ++i)
      if (!std::isspace(static_cast<unsigned char>(rest[i])))
        return fail(PkiErrorKind::malformed, "more than one PEM block");
  return from_der(bytes);
}

std::string Certificate::to_pem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert_.get()) != 1) return {};
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

Bytes Certificate::fingerprint() const {
  Bytes out(EVP_MAX_MD_SIZE);
  unsigned int len = 0;
  if (X509_digest(cert_.get(), EVP_sha256(), out.data(), &len) != 1) return {};
  out.resize(len);
  return out;
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

}  // namespace juki::pki
