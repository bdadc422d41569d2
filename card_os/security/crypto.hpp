// The card's cryptographic primitives, all from mbedTLS (never hand-written).
#pragma once

#include <array>
#include <cstdint>
#include <exception>

#include "common/bytes.hpp"

namespace juki::card_os::crypto {

using Digest = std::array<std::uint8_t, 32>;

Digest sha256(ByteView a, ByteView b = {});
// AES-CMAC (NIST SP 800-38B); key of 16, 24 or 32 bytes. False on a bad key length.
bool aes_cmac(ByteView key, ByteView message, std::array<std::uint8_t, 16>& mac);
// Constant-time equality of two equally long buffers (false if lengths differ).
bool equal_ct(ByteView a, ByteView b);
// Wiping a secret: juki::secure_wipe (common/secure_wipe.hpp), the one wipe of every layer.

}  // namespace juki::card_os::crypto

namespace juki::card_os {

// An mbedTLS operation failed on inputs it cannot fail on (a seeded DRBG, the
// keys of an established session): a broken invariant, refused rather than
// answered with garbage. Card::transmit answers 6F00, and a protected command
// ends its session first (Card::Impl::transmit_secure fails closed).
class CryptoFault : public std::exception {
 public:
  explicit CryptoFault(const char* what) : what_(what) {}
  const char* what() const noexcept override { return what_; }

 private:
  const char* what_;
};

}  // namespace juki::card_os
