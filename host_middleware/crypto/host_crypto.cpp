#include "host_middleware/crypto/host_crypto.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>

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
