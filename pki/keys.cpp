// Keys: P-256 and RSA-2048 public keys from DER, a card's point or modulus,
// and private keys generated, read from and written to PEM files that only
// their owner may read.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "pki/pki.hpp"
#include "pki/pki_internal.hpp"

namespace juki::pki {

bool is_p256(EVP_PKEY* key) {
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) return false;
  char group[64] = {};
  std::size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len) !=
      1)
    return false;
  return std::string_view(group, len) == "prime256v1" || std::string_view(group, len) == "P-256";
}

bool is_rsa2048(EVP_PKEY* key) {
  return EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA && EVP_PKEY_get_bits(key) == 2048;
}

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

namespace {

std::optional<KeyAlgorithm> algorithm_of(EVP_PKEY* key) {
  if (key == nullptr) return std::nullopt;
  if (is_p256(key)) return KeyAlgorithm::p256;
  if (is_rsa2048(key)) return KeyAlgorithm::rsa2048;
  return std::nullopt;
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

}  // namespace

void PkeyDeleter::operator()(EVP_PKEY* p) const {
  EVP_PKEY_free(p);
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
  if (in_token()) return {};
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
  if (in_token()) return fail(PkiErrorKind::token, "a key in a PKCS#11 token cannot be saved");
  std::string pem = to_pem();
  if (pem.empty()) return crypto_fail("cannot encode the private key");
  auto written = write_new_file(path, as_bytes(pem), 0600);
  OPENSSL_cleanse(pem.data(), pem.size());
  return written;
}

PublicKey PrivateKey::public_key() const {
  return PublicKey(public_ ? public_ : key_);
}

// ------------------------------------------------------------ signatures

Result<Bytes, PkiError> sign_message(const PrivateKey& key, ByteView message) {
  // The public half says the algorithm: a token's private half is a handle.
  if (key.algorithm() != KeyAlgorithm::p256 || !is_p256(key.public_key().native()))
    return fail(PkiErrorKind::wrong_algorithm, "messages are signed with P-256 keys only");
  std::unique_ptr<EVP_MD_CTX, Free<EVP_MD_CTX, EVP_MD_CTX_free>> md(EVP_MD_CTX_new());
  std::size_t len = 0;
  if (!md || EVP_DigestSignInit(md.get(), nullptr, EVP_sha256(), nullptr, key.native()) != 1 ||
      EVP_DigestSign(md.get(), nullptr, &len, message.data(), message.size()) != 1)
    return crypto_fail("cannot sign");
  Bytes der(len);
  if (EVP_DigestSign(md.get(), der.data(), &len, message.data(), message.size()) != 1)
    return crypto_fail("cannot sign");
  der.resize(len);
  return der;
}

Result<void, PkiError> verify_message(const PublicKey& key, ByteView message, ByteView signature) {
  if (!is_p256(key.native()))
    return fail(PkiErrorKind::wrong_algorithm, "messages are signed with P-256 keys only");
  std::unique_ptr<EVP_MD_CTX, Free<EVP_MD_CTX, EVP_MD_CTX_free>> md(EVP_MD_CTX_new());
  if (!md || EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha256(), nullptr, key.native()) != 1)
    return crypto_fail("cannot verify");
  if (EVP_DigestVerify(md.get(), signature.data(), signature.size(), message.data(),
                       message.size()) != 1) {
    ERR_clear_error();
    return fail(PkiErrorKind::bad_signature, "the signature does not verify");
  }
  return {};
}

}  // namespace juki::pki
