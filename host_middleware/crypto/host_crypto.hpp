// Host-side cryptography, all through OpenSSL (never mbedTLS: the card's
// library). Card and host meet only as bytes, which proves they interoperate.
#pragma once

#include <memory>
#include <string>

#include <openssl/types.h>

#include "common/bytes.hpp"
#include "common/result.hpp"

namespace juki::host::crypto {

// AES-CMAC (NIST SP 800-38B, RFC 4493) with a 16-, 24- or 32-byte key.
Result<Bytes, std::string> aes_cmac(ByteView key, ByteView message);

// --- P-256 (specs/secure-channel.md 1): points are uncompressed (04 ‖ X ‖ Y,
// 65 bytes), signatures r ‖ s (64 bytes), over SHA-256 of the message.

using Pkey = std::shared_ptr<EVP_PKEY>;

// A fresh P-256 key pair (an ephemeral key for one session).
Result<Pkey, std::string> generate_p256();
// The public point of a P-256 key.
Result<Bytes, std::string> public_point(EVP_PKEY* key);
// A public key from a point; refuses anything not on P-256.
Result<Pkey, std::string> p256_from_point(ByteView point);
Result<Bytes, std::string> ecdsa_sign(EVP_PKEY* key, ByteView message);
bool ecdsa_verify(ByteView point, ByteView message, ByteView signature);
// The X coordinate of own · peer.
Result<Bytes, std::string> ecdh(EVP_PKEY* own, ByteView peer_point);

}  // namespace juki::host::crypto
