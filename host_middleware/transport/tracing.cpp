#include "host_middleware/transport/tracing.hpp"

#include <cstdio>

#include "card_os/apdu/status_words.hpp"

namespace juki::host {

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

std::string describe_status(ByteView response) {
  if (response.size() < 2) return "(no status word)";
  const auto sw = static_cast<sw::Sw>(response[response.size() - 2] << 8 | response.back());
  char hex[8];
  std::snprintf(hex, sizeof hex, "%04X", sw);
  return std::string(hex) + " " + sw::meaning(sw);
}

Result<Bytes, TransportError> TracingTransport::transmit(ByteView command) {
  const std::string name = command.size() >= 2 ? command_name(command[0], command[1]) : "?";
  out_ << "  > " << to_hex(command, true) << "   [" << name << "]\n";
  auto r = inner_.transmit(command);
  if (!r) {
    out_ << "  ! " << r.error().message << "\n";
    return r;
  }
  out_ << "  < " << to_hex(*r, true) << "   " << describe_status(*r) << "\n";
  return r;
}

Result<Bytes, TransportError> TracingTransport::reset() {
  auto r = inner_.reset();
  if (r)
    out_ << "  ~ reset, ATR " << to_hex(*r, true) << "\n";
  else
    out_ << "  ! reset failed: " << r.error().message << "\n";
  return r;
}

Result<Bytes, TransportError> TracingTransport::power_cycle() {
  auto r = inner_.power_cycle();
  if (r)
    out_ << "  ~ power cycle, ATR " << to_hex(*r, true) << "\n";
  else
    out_ << "  ! power cycle failed: " << r.error().message << "\n";
  return r;
}

}  // namespace juki::host
