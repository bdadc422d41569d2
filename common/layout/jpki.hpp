// The JPKI application's layout (specs/jpki.md): what the card's code
// (jpki.hpp) serves and what personalization (issuer_tool/enrolment) writes.
// Only constants: host code includes it too.
#pragma once

#include <cstdint>

namespace juki::layout::jpki {

inline constexpr std::uint8_t kAid[] = {0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01};

// Transparent EFs (the card OS serves them).
inline constexpr std::uint16_t kTokenEf = 0x0006;     // the token text, padded with spaces
inline constexpr std::uint16_t kAuthCertEf = 0x000A;  // authentication certificate: read always
inline constexpr std::uint16_t kAuthCaEf = 0x000B;    // its CA's certificate: read always
inline constexpr std::uint16_t kSignCertEf = 0x0001;  // signature certificate: read after PIN 2
inline constexpr std::uint16_t kSignCaEf = 0x0002;    // its CA's certificate: read always

// Internal EFs: names of the application's PINs and RSA keys.
inline constexpr std::uint16_t kAuthKeyEf = 0x0017;  // RSA key 1, usable after PIN 1
inline constexpr std::uint16_t kAuthPinEf = 0x0018;  // PIN 1: 4 digits, 3 tries
inline constexpr std::uint16_t kSignKeyEf = 0x001A;  // RSA key 2, one signature per PIN 2
inline constexpr std::uint16_t kSignPinEf = 0x001B;  // PIN 2: 6..16 letters and digits, 5 tries
inline constexpr std::uint8_t kAuthRef = 1;          // PIN 1 and RSA key 1
inline constexpr std::uint8_t kSignRef = 2;          // PIN 2 and RSA key 2

inline constexpr std::uint8_t kAuthPinTries = 3;
inline constexpr std::uint8_t kSignPinTries = 5;
inline constexpr std::uint8_t kSignPinMin = 6;
inline constexpr std::uint8_t kSignPinMax = 16;

}  // namespace juki::layout::jpki
