// Secure messaging, the card's half: ISO/IEC 7816-4 secure messaging with AES exactly as
// ICAO Doc 9303 Part 11 section 9.8 (AES variant) and BSI TR-03110-3 specify, and the
// ICAO key derivation function (9303-11 section 9.7.1). Pure codecs: no I/O and no card
// state besides the session keys and send sequence counter the caller hands in.
// Cryptography is mbedTLS only; the host's half (host_middleware/secure_messaging) is
// OpenSSL only, and the two meet only as bytes (tests/host/test_sm_interop.cpp).
//
// Protected command (terminal -> card), the SSC incremented first:
//   CLA|0C INS P1 P2 Lc [87 L 01 E(pad(data))] [97 L Le] 8E 08 MAC Le=00 (or 0000)
//   MAC = first 8 bytes of AES-CMAC(K_mac, SSC || pad(CLA|0C INS P1 P2) || pad(DO87 || DO97))
//   E = AES-CBC(K_enc, IV = AES-ECB(K_enc, SSC)); pad = ISO/IEC 9797-1 method 2 to 16 bytes.
// Protected response (card -> terminal), the SSC incremented again:
//   [87 L 01 E(pad(data))] 99 02 SW1 SW2 8E 08 MAC(SSC || pad(DO87 || DO99)) 90 00
// Odd INS (data in DO'85') are not supported: unwrap_command refuses them with 6882.
#pragma once

#include <array>
#include <cstdint>

#include "common/bytes.hpp"
#include "common/iso7816/apdu.hpp"
#include "common/iso7816/status_words.hpp"
#include "common/result.hpp"
#include "common/sm_format.hpp"

namespace juki::card_os::sm {

using sm_format::kBlock;
using sm_format::kMacLength;

// Cipher and KDF hash per ICAO 9303-11 9.7.1: AES-128 takes the first 16 bytes of SHA-1,
// AES-192 the first 24 of SHA-256, AES-256 all 32 of SHA-256.
enum class AesKeySize : std::uint8_t { aes128 = 16, aes192 = 24, aes256 = 32 };

// KDF counters c (32-bit big-endian) of 9303-11 9.7.1.
inline constexpr std::uint32_t kKdfEnc = 1;
inline constexpr std::uint32_t kKdfMac = 2;
// (3 derives the PACE password key K_pi; not used here.)

// KDF(K, c) = H(K || c), truncated to the key size.
Bytes kdf(ByteView shared_secret, std::uint32_t counter, AesKeySize size);

using sm_format::Ssc;

struct SessionKeys {
  Bytes k_enc;  // 16, 24 or 32 bytes
  Bytes k_mac;  // same length as k_enc
  Ssc ssc{};    // send sequence counter, zero at the start of the session
};

// K_enc = KDF(secret, 1), K_mac = KDF(secret, 2), SSC = 0.
SessionKeys derive_session_keys(ByteView shared_secret, AesKeySize size);
// Overwrites both keys and the SSC (call at the end of the session).
void wipe(SessionKeys& keys);

using sm_format::increment_ssc;  // the SSC plus one, big-endian

// A command as the terminal meant it, with its data decrypted.
struct PlainCommand {
  std::uint8_t cla = 0;  // the SM bits (b4 b3) cleared
  std::uint8_t ins = 0;
  std::uint8_t p1 = 0;
  std::uint8_t p2 = 0;
  Bytes data;
  std::uint32_t ne = 0;  // as apdu::Command: 0 without Le, 256 / 65536 for Le 00 / 0000
  bool has_le = false;
  bool extended = false;     // DO'97' had two bytes, or the protected APDU was extended
  bool extended_le = false;  // DO'97' had two bytes: the plain command's Le was extended
  // The command in its plain encoding: short unless its lengths need the
  // extended form or its Le was extended (so that its Ne rule is kept).
  Bytes encode() const;
};

// Verifies and decrypts one protected command APDU. The SSC is incremented once at the
// start of every call, whatever the outcome: the counter value is consumed by the attempt,
// so neither a retry nor a replay of any APDU computed for that value can ever succeed
// afterwards (and a forgery cannot be tried twice against the same counter). The caller
// ends the session (wipes the keys) on any error anyway and answers with the plain status
// word, unprotected.
// Errors:
//   6700  the outer APDU's lengths are inconsistent (apdu::parse_command)
//   6987  not an SM command (CLA b4 b3 != 11), or SM data objects missing or malformed:
//         no DO'8E', DO'8E' not 8 bytes, unknown or misordered objects, trailing bytes,
//         DO'87' without the 01 padding indicator or not a whole number of blocks,
//         DO'97' not 1 or 2 bytes
//   6988  the MAC is wrong, or (checked only after the MAC) the padding after decryption
//   6882  odd INS (DO'85'), or CLA b4 b3 = 01 / 10 (SM without an authenticated header)
Result<PlainCommand, sw::Sw> unwrap_command(SessionKeys& keys, ByteView protected_apdu);

// Protects a response: increments the SSC, returns data = DO'87' (if any data) || DO'99'
// || DO'8E' and status word 9000.
apdu::Response wrap_response(SessionKeys& keys, ByteView data, sw::Sw sw);

}  // namespace juki::card_os::sm
