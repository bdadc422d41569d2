// The card's RSA operations, all from mbedTLS: key pairs generated on the card
// (public exponent 65537) and PKCS#1 v1.5 signatures over a DigestInfo the
// terminal computed (the JPKI application's keys, issue 5). The card never
// hashes: it pads whatever DigestInfo bytes it is given (EMSA-PKCS1-v1_5,
// RFC 8017 9.2 step 5: 00 01 FF..FF 00 ‖ T, at least 8 FF bytes) and applies
// the private key, blinded with the card's random stream.
//
// Stored private key: the form the card keeps in persistent memory, the
// primes and the public exponent only (all integers big-endian):
//   0  format (1)   1  0   2  modulus bits (u16)   4  public exponent e (u32)
//   8  p, then q: each ⌈bits/16⌉ bytes, zero-padded on the left
// 264 bytes for RSA-2048 (a CRT form p, q, dp, dq, qinv, n, e would take
// 904). n, d and the CRT values are recomputed and checked at each use: about
// 0.7 ms of a 4 ms signature (x86-64), for 640 bytes less per key.
// A stored key is a secret: callers wipe their copies (secure_wipe).
#pragma once

#include <cstdint>
#include <optional>

#include "common/bytes.hpp"
#include "common/random_source.hpp"
#include "common/result.hpp"

namespace juki::card_os::rsa {

constexpr unsigned kDefaultBits = 2048;
constexpr unsigned kMinBits = 1024;
constexpr unsigned kMaxBits = 4096;
constexpr std::uint32_t kPublicExponent = 65537;
constexpr std::size_t kStoredHeaderSize = 8;
constexpr std::uint8_t kStoredFormat = 1;
// PKCS#1 v1.5 type-1 padding takes at least 11 of the k modulus bytes.
constexpr std::size_t kPaddingOverhead = 11;

// Bytes of the stored form of a key with a modulus of `bits` bits.
constexpr std::size_t stored_size(unsigned bits) {
  return kStoredHeaderSize + 2 * ((bits + 15) / 16);
}
constexpr std::size_t kMaxStoredSize = stored_size(kMaxBits);

enum class Error : std::uint8_t {
  bad_parameters,  // generate / from_components: size, exponent or components unusable
  bad_key,         // a stored key that is malformed or inconsistent
  bad_length,      // the data to sign is empty or longer than k - 11 bytes
  failed,          // mbedTLS failed (random stream, or the check after the private operation)
};

struct PublicKey {
  Bytes n;  // modulus, k = ⌈bits/8⌉ bytes (256 for RSA-2048)
  Bytes e;  // public exponent, minimal big-endian (01 00 01)
};

struct KeyPair {
  Bytes private_key;  // the stored form, a secret
  PublicKey public_key;
};

// A fresh key pair (exponent 65537) from the card's random stream; `bits` a
// multiple of 16 in [kMinBits, kMaxBits]. 2048 bits: 0.03 to 0.4 s on x86-64.
Result<KeyPair, Error> generate(RandomSource& random, unsigned bits = kDefaultBits);
// The stored form of an existing key, checked for consistency (n = p·q,
// d·e ≡ 1 mod p-1 and q-1); with p and q empty they are recovered from n, e, d.
// For importing published keys (tests, known answers).
Result<Bytes, Error> from_components(ByteView n, ByteView e, ByteView d, ByteView p = {},
                                     ByteView q = {});
// The modulus size of a stored key as its header states it, after a check of
// its layout only (nullopt when malformed); cheap.
std::optional<unsigned> modulus_bits(ByteView stored_private);
// The public half of a stored key, for GENERATE / READ PUBLIC KEY.
Result<PublicKey, Error> public_key(ByteView stored_private);
// RSASSA-PKCS1-v1_5 over `digest_info` as given (no hashing, any content):
// the k-byte signature. bad_length when it is empty or longer than k - 11.
Result<Bytes, Error> sign_pkcs1_v15(ByteView stored_private, ByteView digest_info,
                                    RandomSource& random);
// Whether `signature` (k bytes) is a PKCS#1 v1.5 signature of `digest_info`
// under (n, e); false for any malformed input.
bool verify_pkcs1_v15(ByteView n, ByteView e, ByteView digest_info, ByteView signature);

}  // namespace juki::card_os::rsa
