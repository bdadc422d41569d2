// ISO/IEC 7816-4 status words used by the card, and their meanings.
#pragma once

#include <cstdint>
#include <string>

namespace juki::sw {

using Sw = std::uint16_t;

inline constexpr Sw kOk = 0x9000;
inline constexpr Sw kAuthenticationFailed = 0x6300;  // a signature did not verify
inline constexpr Sw kEndReached = 0x6282;            // end of file/record before Ne bytes
inline constexpr Sw kSelectedFileDeactivated = 0x6283;
inline constexpr Sw kVerifyFailedBase = 0x63C0;  // 63Cx: x tries left
inline constexpr Sw kMemoryFailure = 0x6581;
inline constexpr Sw kWrongLength = 0x6700;
inline constexpr Sw kChannelNotSupported = 0x6881;
inline constexpr Sw kSmNotSupported = 0x6882;
inline constexpr Sw kChainingNotSupported = 0x6884;
inline constexpr Sw kIncompatibleFileStructure = 0x6981;
inline constexpr Sw kSecurityStatusNotSatisfied = 0x6982;
inline constexpr Sw kAuthMethodBlocked = 0x6983;
inline constexpr Sw kReferenceDataNotUsable = 0x6984;
inline constexpr Sw kConditionsNotSatisfied = 0x6985;
inline constexpr Sw kNoCurrentEf = 0x6986;
inline constexpr Sw kSmDataMissing = 0x6987;
inline constexpr Sw kSmDataIncorrect = 0x6988;
inline constexpr Sw kWrongData = 0x6A80;
inline constexpr Sw kFunctionNotSupported = 0x6A81;
inline constexpr Sw kFileNotFound = 0x6A82;
inline constexpr Sw kRecordNotFound = 0x6A83;
inline constexpr Sw kNotEnoughMemory = 0x6A84;
inline constexpr Sw kIncorrectP1P2 = 0x6A86;
inline constexpr Sw kReferenceNotFound = 0x6A88;
inline constexpr Sw kFileExists = 0x6A89;
inline constexpr Sw kDfNameExists = 0x6A8A;
inline constexpr Sw kWrongP1P2 = 0x6B00;  // e.g. offset outside the EF
inline constexpr Sw kInsNotSupported = 0x6D00;
inline constexpr Sw kClaNotSupported = 0x6E00;
inline constexpr Sw kNoPreciseDiagnosis = 0x6F00;

inline constexpr Sw verify_failed(unsigned tries_left) {
  return static_cast<Sw>(kVerifyFailedBase | (tries_left > 15 ? 15 : tries_left));
}

// One line of English for a status word, without the status word itself (callers
// prepend it): meaning(0x63C2) == "verification failed, 2 tries left".
// Covers every status word this project emits and the common ISO ones; others
// get their ISO group's meaning.
std::string meaning(Sw sw);

}  // namespace juki::sw
