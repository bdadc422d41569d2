// Secure messaging, the terminal's half: ISO/IEC 7816-4 secure messaging with AES as ICAO
// Doc 9303 Part 11 section 9.8 (AES variant) and BSI TR-03110-3 specify, and the ICAO key
// derivation function (9303-11 section 9.7.1). Pure codecs over OpenSSL (EVP) only; the
// card's half is card_os/security/secure_messaging (mbedTLS), and the two meet only as
// bytes (tests/host/test_sm_interop.cpp). The wire format is documented there.
//
// The terminal wraps commands and unwraps responses; each increments the SSC first, so the
// first command of a session uses SSC = 1, its response 2, the next command 3, and so on.
// Any error ends the session: the caller discards the keys (wipe) and starts over.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "common/bytes.hpp"
#include "common/iso7816/apdu.hpp"
#include "common/iso7816/status_words.hpp"
#include "common/result.hpp"
#include "common/sm_format.hpp"

namespace juki::host::sm {

using sm_format::kBlock;
using sm_format::kMacLength;

// AES-128: first 16 bytes of SHA-1; AES-192: first 24 of SHA-256; AES-256: SHA-256.
enum class AesKeySize : std::uint8_t { aes128 = 16, aes192 = 24, aes256 = 32 };
inline constexpr std::uint32_t kKdfEnc = 1;
inline constexpr std::uint32_t kKdfMac = 2;
// The most plain response bytes whose protected answer still fits a short
// Le: 223 pad to 224, so DO'87' (4 + 224) + DO'99' (4) + DO'8E' (10) = 242;
// 224 would pad to 240 and make 258. Above it the command goes extended.
inline constexpr std::uint32_t kMaxShortProtectedNe = 223;

struct Error {
  enum class Kind : std::uint8_t {
    bad_command,  // wrap: the plain APDU cannot be protected (malformed, SM CLA, odd INS, too long)
    card_status,  // unwrap: the card answered a plain status word without SM data objects
                  // (6987 / 6988 when the card rejected our SM; `sw` holds it)
    malformed,    // unwrap: SM data objects missing, misordered or of the wrong length
    bad_mac,      // unwrap: the response MAC does not verify
    bad_padding,  // unwrap: the MAC verified but the decrypted data are not padded
    crypto,       // OpenSSL failed (bad key length, ...)
  };
  Kind kind;
  sw::Sw sw = 0;  // card_status only
  std::string message;
};

// KDF(K, c) = H(K || c), truncated to the key size (OpenSSL EVP digests).
Result<Bytes, Error> kdf(ByteView shared_secret, std::uint32_t counter, AesKeySize size);

using sm_format::Ssc;

struct SessionKeys {
  Bytes k_enc;
  Bytes k_mac;
  Ssc ssc{};  // zero at the start of the session
};

Result<SessionKeys, Error> derive_session_keys(ByteView shared_secret, AesKeySize size);
void wipe(SessionKeys& keys);
using sm_format::increment_ssc;

// Protects a plain command APDU (cases 1 to 4, short or extended; apdu::parse_command
// decides). Increments the SSC first. The result is extended when the body exceeds 255
// bytes or the plain command was extended. On error the SSC is left incremented only if
// the APDU was valid enough to be protected; errors are all bad_command or crypto.
Result<Bytes, Error> wrap_command(SessionKeys& keys, ByteView plain_apdu);

// Verifies and decrypts a protected response (increments the SSC first). Gives back the
// data and the status word of DO'99'. The outer status word must be 9000 or equal DO'99''s.
Result<apdu::Response, Error> unwrap_response(SessionKeys& keys, ByteView raw_response);

}  // namespace juki::host::sm
