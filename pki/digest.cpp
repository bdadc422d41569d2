#include "pki/digest.hpp"

#include <openssl/evp.h>

#include <cstdlib>

namespace juki::pki {

Bytes sha256(ByteView data) {
  Bytes digest(32);
  unsigned int length = 0;
  // Fails only when OpenSSL cannot allocate: nothing sensible is left to do.
  if (EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1 ||
      length != digest.size())
    std::abort();
  return digest;
}

Bytes sha256(std::string_view data) {
  return sha256(ByteView(reinterpret_cast<const std::uint8_t*>(data.data()), data.size()));
}

}  // namespace juki::pki
