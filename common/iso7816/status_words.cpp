#include "common/iso7816/status_words.hpp"

namespace juki::sw {

namespace {

// Exact status words with a fixed meaning (ISO/IEC 7816-4:2013 tables 5 and 6).
const char* exact(Sw sw) {
  switch (sw) {
    case kOk:
      return "success";
    case 0x6200:
      return "warning, state unchanged: no information given";
    case 0x6281:
      return "part of returned data may be corrupted";
    case kEndReached:
      return "end of file or record reached before reading Ne bytes";
    case kSelectedFileDeactivated:
      return "selected file deactivated";
    case 0x6284:
      return "file control information not formatted according to ISO 7816-4";
    case 0x6285:
      return "selected file in termination state";
    case 0x6286:
      return "no input data available from a sensor on the card";
    case 0x6300:
      return "verification failed";
    case 0x6381:
      return "file filled up by the last write";
    case 0x6400:
      return "execution error, state unchanged";
    case 0x6401:
      return "immediate response required by the card";
    case 0x6500:
      return "execution error, state changed: no information given";
    case kMemoryFailure:
      return "memory failure";
    case 0x6600:
      return "security-related issue";
    case kWrongLength:
      return "wrong length";
    case 0x6800:
      return "functions in CLA not supported";
    case kChannelNotSupported:
      return "logical channel not supported";
    case kSmNotSupported:
      return "secure messaging not supported";
    case 0x6883:
      return "last command of the chain expected";
    case kChainingNotSupported:
      return "command chaining not supported";
    case 0x6900:
      return "command not allowed";
    case kIncompatibleFileStructure:
      return "command incompatible with file structure";
    case kSecurityStatusNotSatisfied:
      return "security status not satisfied";
    case kAuthMethodBlocked:
      return "authentication method blocked";
    case kReferenceDataNotUsable:
      return "reference data not usable";
    case kConditionsNotSatisfied:
      return "conditions of use not satisfied";
    case kNoCurrentEf:
      return "command not allowed: no current EF";
    case kSmDataMissing:
      return "expected secure messaging data objects missing";
    case kSmDataIncorrect:
      return "incorrect secure messaging data objects";
    case 0x6A00:
      return "wrong parameters P1-P2";
    case kWrongData:
      return "incorrect parameters in the command data field";
    case kFunctionNotSupported:
      return "function not supported";
    case kFileNotFound:
      return "file or application not found";
    case kRecordNotFound:
      return "record not found";
    case kNotEnoughMemory:
      return "not enough memory space in the file";
    case 0x6A85:
      return "Nc inconsistent with TLV structure";
    case kIncorrectP1P2:
      return "incorrect parameters P1-P2";
    case 0x6A87:
      return "Nc inconsistent with parameters P1-P2";
    case kReferenceNotFound:
      return "referenced data or reference data not found";
    case kFileExists:
      return "file already exists";
    case kDfNameExists:
      return "DF name already exists";
    case kWrongP1P2:
      return "wrong parameters P1-P2 (offset outside the EF)";
    case kInsNotSupported:
      return "instruction code not supported or invalid";
    case kClaNotSupported:
      return "class not supported";
    case kNoPreciseDiagnosis:
      return "no precise diagnosis";
    default:
      return nullptr;
  }
}

// Meaning of the SW1 group, for status words without an exact entry.
const char* group(std::uint8_t sw1) {
  switch (sw1) {
    case 0x62:
      return "warning, state unchanged";
    case 0x63:
      return "warning, state changed";
    case 0x64:
      return "execution error, state unchanged";
    case 0x65:
      return "execution error, state changed";
    case 0x66:
      return "security-related issue";
    case 0x67:
      return "wrong length";
    case 0x68:
      return "functions in CLA not supported";
    case 0x69:
      return "command not allowed";
    case 0x6A:
      return "wrong parameters P1-P2";
    case 0x6B:
      return "wrong parameters P1-P2";
    case 0x6D:
      return "instruction code not supported or invalid";
    case 0x6E:
      return "class not supported";
    case 0x6F:
      return "no precise diagnosis";
    default:
      return nullptr;
  }
}

}  // namespace

std::string meaning(Sw sw) {
  if (const char* m = exact(sw)) return m;

  const auto sw1 = static_cast<std::uint8_t>(sw >> 8);
  const auto sw2 = static_cast<std::uint8_t>(sw);
  // Groups whose SW2 carries a number.
  if (sw1 == 0x61) {
    // SW2 = 00 stands for 256 or more under T=0 GET RESPONSE.
    if (sw2 == 0) return "256 or more bytes available";
    return std::to_string(sw2) + (sw2 == 1 ? " more byte available" : " more bytes available");
  }
  if (sw1 == 0x6C) {
    const unsigned exact_le = sw2 == 0 ? 256 : sw2;
    return "wrong Le; " + std::to_string(exact_le) + " is the exact length";
  }
  if ((sw & 0xFFF0) == kVerifyFailedBase) {
    const unsigned tries = sw & 0x0F;
    if (tries == 0) return "verification failed, no tries left";
    return "verification failed, " + std::to_string(tries) +
           (tries == 1 ? " try left" : " tries left");
  }

  if (const char* g = group(sw1)) return g;
  if ((sw1 & 0xF0) == 0x90) return "proprietary status (application specific)";
  return "not an ISO 7816-4 status word";
}

}  // namespace juki::sw
