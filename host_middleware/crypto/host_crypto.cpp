#include "host_middleware/crypto/host_crypto.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <memory>

namespace juki::host::crypto {

Result<Bytes, std::string> aes_cmac(ByteView key, ByteView message) {
  const char* cipher = nullptr;
  switch (key.size()) {
    case 16:
      cipher = "AES-128-CBC";
      break;
    case 24:
      cipher = "AES-192-CBC";
      break;
    case 32:
      cipher = "AES-256-CBC";
      break;
    default:
      return unexpected(std::string("AES-CMAC key must be 16, 24 or 32 bytes"));
  }
  std::unique_ptr<EVP_MAC, decltype(&EVP_MAC_free)> mac(EVP_MAC_fetch(nullptr, "CMAC", nullptr),
                                                        EVP_MAC_free);
  if (!mac) return unexpected(std::string("OpenSSL has no CMAC"));
  std::unique_ptr<EVP_MAC_CTX, decltype(&EVP_MAC_CTX_free)> ctx(EVP_MAC_CTX_new(mac.get()),
                                                                EVP_MAC_CTX_free);
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, const_cast<char*>(cipher), 0),
      OSSL_PARAM_construct_end()};
  Bytes out(16);
  std::size_t len = 0;
  if (!ctx || EVP_MAC_init(ctx.get(), key.data(), key.size(), params) != 1 ||
      EVP_MAC_update(ctx.get(), message.data(), message.size()) != 1 ||
      EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) != 1 || len != 16)
    return unexpected(std::string("OpenSSL CMAC failed"));
  return out;
}

}  // namespace juki::host::crypto

// ---------------------------------------------------------------- P-256

namespace juki::host::crypto {

namespace {

constexpr std::size_t kPoint = 65;
constexpr std::size_t kScalar = 32;

std::string openssl_error(const char* what) {
  return std::string(what) + " failed (OpenSSL)";
}

Pkey own(EVP_PKEY* p) {
  return Pkey(p, EVP_PKEY_free);
}

}  // namespace

Result<Pkey, std::string> generate_p256() {
  EVP_PKEY* key = EVP_EC_gen("prime256v1");
  if (key == nullptr) return unexpected(openssl_error("P-256 key generation"));
  return own(key);
}

Result<Bytes, std::string> public_point(EVP_PKEY* key) {
  Bytes point(kPoint);
  std::size_t len = 0;
  if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size(),
                                      &len) != 1 ||
      len != kPoint)
    return unexpected(openssl_error("reading a P-256 public point"));
  return point;
}

Result<Pkey, std::string> p256_from_point(ByteView point) {
  if (point.size() != kPoint || point[0] != 0x04)
    return unexpected(std::string("not an uncompressed P-256 point (65 bytes, 04 first)"));
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
      EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr), EVP_PKEY_CTX_free);
  char group[] = "prime256v1";
  Bytes copy(point.begin(), point.end());
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, copy.data(), copy.size()),
      OSSL_PARAM_construct_end()};
  EVP_PKEY* key = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params) != 1)
    return unexpected(std::string("not a point on P-256"));
  Pkey result = own(key);
  // fromdata does not always check the point: make sure it is on the curve.
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> check(
      EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr), EVP_PKEY_CTX_free);
  if (!check || EVP_PKEY_public_check(check.get()) != 1)
    return unexpected(std::string("not a point on P-256"));
  return result;
}

Result<Bytes, std::string> ecdsa_sign(EVP_PKEY* key, ByteView message) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  std::size_t len = 0;
  if (!md || EVP_DigestSignInit(md.get(), nullptr, EVP_sha256(), nullptr, key) != 1 ||
      EVP_DigestSign(md.get(), nullptr, &len, message.data(), message.size()) != 1)
    return unexpected(openssl_error("ECDSA signing"));
  Bytes der(len);
  if (EVP_DigestSign(md.get(), der.data(), &len, message.data(), message.size()) != 1)
    return unexpected(openssl_error("ECDSA signing"));
  const unsigned char* p = der.data();
  std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig(
      d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len)), ECDSA_SIG_free);
  Bytes raw(2 * kScalar);
  if (!sig || BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), raw.data(), kScalar) != kScalar ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), raw.data() + kScalar, kScalar) != kScalar)
    return unexpected(openssl_error("ECDSA signature encoding"));
  return raw;
}

bool ecdsa_verify(ByteView point, ByteView message, ByteView signature) {
  if (signature.size() != 2 * kScalar) return false;
  auto key = p256_from_point(point);
  if (!key) return false;
  std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig(ECDSA_SIG_new(), ECDSA_SIG_free);
  BIGNUM* r = BN_bin2bn(signature.data(), kScalar, nullptr);
  BIGNUM* s = BN_bin2bn(signature.data() + kScalar, kScalar, nullptr);
  if (!sig || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return false;
  }
  unsigned char* der = nullptr;
  const int der_len = i2d_ECDSA_SIG(sig.get(), &der);
  if (der_len <= 0) return false;
  std::unique_ptr<unsigned char, void (*)(unsigned char*)> der_owner(
      der, [](unsigned char* d) { OPENSSL_free(d); });
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  return md && EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha256(), nullptr, key->get()) == 1 &&
         EVP_DigestVerify(md.get(), der, static_cast<std::size_t>(der_len), message.data(),
                          message.size()) == 1;
}

Result<Bytes, std::string> ecdh(EVP_PKEY* own_key, ByteView peer_point) {
  auto peer = p256_from_point(peer_point);
  if (!peer) return unexpected(peer.error());
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
      EVP_PKEY_CTX_new_from_pkey(nullptr, own_key, nullptr), EVP_PKEY_CTX_free);
  std::size_t len = 0;
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_derive_set_peer(ctx.get(), peer->get()) != 1 ||
      EVP_PKEY_derive(ctx.get(), nullptr, &len) != 1)
    return unexpected(openssl_error("ECDH"));
  Bytes z(len);
  if (EVP_PKEY_derive(ctx.get(), z.data(), &len) != 1 || len != kScalar)
    return unexpected(openssl_error("ECDH"));
  return z;
}

}  // namespace juki::host::crypto
