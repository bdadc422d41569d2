// Host-side cryptography, all through OpenSSL (never mbedTLS: the card's
// library). Card and host meet only as bytes, which proves they interoperate.
#pragma once

#include <string>

#include "common/bytes.hpp"
#include "common/result.hpp"

namespace juki::host::crypto {

// AES-CMAC (NIST SP 800-38B, RFC 4493) with a 16-, 24- or 32-byte key.
Result<Bytes, std::string> aes_cmac(ByteView key, ByteView message);

}  // namespace juki::host::crypto
