#include "common/apdu_text.hpp"

#include <cstdio>

namespace juki::apdu_text {

std::string command_name(std::uint8_t cla, std::uint8_t ins) {
  if ((cla & 0x80) != 0 && ins == 0xF0) return "SET STATUS";
  switch (ins) {
    case 0xA4:
      return "SELECT";
    case 0xB0:
      return "READ BINARY";
    case 0xD6:
      return "UPDATE BINARY";
    case 0xB2:
      return "READ RECORD";
    case 0xDC:
      return "UPDATE RECORD";
    case 0xE2:
      return "APPEND RECORD";
    case 0x20:
      return "VERIFY";
    case 0x24:
      return "CHANGE REFERENCE DATA";
    case 0x2C:
      return "RESET RETRY COUNTER";
    case 0x84:
      return "GET CHALLENGE";
    case 0x82:
      return "EXTERNAL AUTHENTICATE";
    case 0x88:
      return "INTERNAL AUTHENTICATE";
    case 0x86:
      return "GENERAL AUTHENTICATE";
    case 0x2A:
      return "PERFORM SECURITY OPERATION";
    case 0x46:
      return "GENERATE ASYMMETRIC KEY PAIR";
    case 0x70:
      return "MANAGE CHANNEL";
    case 0xE0:
      return "CREATE FILE";
    case 0xE4:
      return "DELETE FILE";
    case 0x04:
      return "DEACTIVATE FILE";
    case 0x44:
      return "ACTIVATE FILE";
    case 0xCA:
      return "GET DATA";
    case 0xDA:
      return "PUT DATA";
    case 0xFE:
      return "TERMINATE CARD USAGE";
    case 0xC0:
      return "GET RESPONSE";
    default: {
      char s[8];
      std::snprintf(s, sizeof s, "INS %02X", ins);
      return s;
    }
  }
}

}  // namespace juki::apdu_text
