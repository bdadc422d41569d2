// The card's elliptic-curve operations on NIST P-256, all from mbedTLS:
// key generation, ECDSA with SHA-256 and ECDH (specs/secure-channel.md 1).
// Points travel as uncompressed SEC 1 points (04 ‖ X ‖ Y, 65 bytes),
// signatures as r ‖ s (64 bytes), private keys as 32-byte scalars.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "common/bytes.hpp"
#include "common/random_source.hpp"

namespace juki::card_os::ecc {

constexpr std::size_t kPointSize = 65;
constexpr std::size_t kScalarSize = 32;
constexpr std::size_t kSignatureSize = 64;

using Point = std::array<std::uint8_t, kPointSize>;
using Scalar = std::array<std::uint8_t, kScalarSize>;
using Signature = std::array<std::uint8_t, kSignatureSize>;

struct KeyPair {
  Scalar secret{};
  Point point{};
};

// A fresh key pair from the card's random stream.
KeyPair generate(RandomSource& random);
// Whether `point` is an uncompressed point on P-256 (not the point at infinity).
bool valid_point(ByteView point);
// ECDSA over SHA-256(message); `random` blinds the computation.
Signature sign(const Scalar& secret, ByteView message, RandomSource& random);
// Checks an r ‖ s signature of SHA-256(message); false for any malformed input.
bool verify(ByteView point, ByteView message, ByteView signature);
// The same, for a signature in DER (SEQUENCE { r INTEGER, s INTEGER }) over a
// digest already computed (an X.509 certificate's TBS part).
bool verify_der_digest(ByteView point, ByteView digest, ByteView der_signature);
// The X coordinate of secret · peer; nullopt when `peer` is not a valid point.
std::optional<Scalar> ecdh(const Scalar& secret, ByteView peer, RandomSource& random);

}  // namespace juki::card_os::ecc
