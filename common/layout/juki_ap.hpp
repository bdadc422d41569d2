// The Juki AP's layout (住基AP, specs/juki-ap.md): what the card's code
// (juki_ap.hpp) checks and what personalization (issuer_tool/enrolment) writes.
// Only constants: host code includes it too.
#pragma once

#include <cstddef>
#include <cstdint>

namespace juki::layout::juki_ap {

// The DF name: the AID of the Juki AP as the My Number card carries it
// (RID D3 92 10 00 31, PIX 00 01 01 04 01), specs/juki-ap.md 1.
inline constexpr std::uint8_t kAid[] = {0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x01};
// The DF's FID under the MF (enrolment selects the MF, then the DF by FID).
inline constexpr std::uint16_t kDf = 0x4A00;

// Transparent EFs whose content the application's code checks on every write.
inline constexpr std::uint16_t kResidentCodeEf = 0x4A01;  // 11 ASCII digits
inline constexpr std::uint8_t kResidentCodeSfi = 1;
inline constexpr std::size_t kResidentCodeSize = 11;
inline constexpr std::uint16_t kCardInfoEf = 0x4A02;  // common/card_information.hpp
inline constexpr std::uint8_t kCardInfoSfi = 2;
inline constexpr std::size_t kCardInfoSize = 39;

// The password (パスワード): PIN 01 of the DF (VERIFY P2 81), 4 digits, 3
// tries, the activation PIN, re-set by the password-reset role.
inline constexpr std::uint8_t kPasswordRef = 0x01;
inline constexpr std::uint8_t kPasswordP2 = 0x81;
inline constexpr std::uint8_t kPasswordLength = 4;
inline constexpr std::uint8_t kPasswordTries = 3;

// Role access bits (specs/pki.md): bit code - 1.
inline constexpr std::uint16_t kWindowBit = 0x0001;         // window (1)
inline constexpr std::uint16_t kPasswordResetBit = 0x0004;  // password-reset (3)
inline constexpr std::uint16_t kCsBit = 0x0020;             // cs (6)
// Who may read the resident code (with the password and secure messaging).
inline constexpr std::uint16_t kResidentCodeReaders = kWindowBit | kCsBit;
// Who may re-set the password (RESET RETRY COUNTER under secure messaging).
inline constexpr std::uint16_t kPasswordResetters = kPasswordResetBit;

}  // namespace juki::layout::juki_ap
