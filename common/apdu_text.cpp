#include "common/apdu_text.hpp"

#include <cstdio>

#include "common/sm_format.hpp"

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

namespace {

// CLA b4 b3 = 11 in the first interindustry and the proprietary classes: the
// data travels in DO'87', encrypted. (In 4X..7X those bits are part of the
// channel number: such a command counts as plain, to be safe.)
bool under_secure_messaging(std::uint8_t cla) {
  return (cla & 0x40) == 0 && (cla & sm_format::kSmCla) == sm_format::kSmCla;
}

// Mutual authentication's EXTERNAL AUTHENTICATE (specs/secure-channel.md
// step 4): 7F49 ... ‖ 5F37 ..., far longer than the 16-byte symmetric proof,
// which is kept secret even when its first bytes happen to be 7F 49.
bool is_public_key_form(ByteView data) {
  return data.size() != 16 && data.size() >= 2 && data[0] == 0x7F && data[1] == 0x49;
}

}  // namespace

Secret secret_in(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1, std::uint8_t p2,
                 ByteView data) {
  if (data.empty() || under_secure_messaging(cla)) return Secret::none;
  switch (ins) {
    case 0x20:
      return Secret::pin;
    case 0x24:
      return p1 == 0x01 ? Secret::new_pin : Secret::old_and_new_pin;
    case 0x2C:
      switch (p1) {
        case 0x00:
          return Secret::puk_and_new_pin;
        case 0x01:
          return Secret::puk;
        case 0x02:
          return Secret::new_pin;
        default:  // refused by the card (6A86, 6700), but still what the host typed
          return Secret::pin;
      }
    case 0xDA:
      // P2 alone: a template sent with a wrong P1 still carries its value.
      if (p2 == 0xA1) return Secret::pin_template;
      if (p2 == 0xA2) return Secret::key_template;
      return Secret::none;
    case 0x82:
      return is_public_key_form(data) ? Secret::none : Secret::key_proof;
    default:
      return Secret::none;
  }
}

std::string_view describe(Secret secret) {
  switch (secret) {
    case Secret::none:
      return "";
    case Secret::pin:
      return "PIN";
    case Secret::old_and_new_pin:
      return "old and new PIN";
    case Secret::new_pin:
      return "new PIN";
    case Secret::puk_and_new_pin:
      return "PUK and new PIN";
    case Secret::puk:
      return "PUK";
    case Secret::pin_template:
      return "PIN template";
    case Secret::key_template:
      return "key template";
    case Secret::key_proof:
      return "key proof";
  }
  return "";
}

TracedCommand trace_command(ByteView command, std::optional<ByteView> data, bool spaced,
                            Secrets secrets) {
  TracedCommand t{to_hex(command, spaced),
                  command.size() >= 2 ? command_name(command[0], command[1]) : "?"};
  if (command.size() < 4) return t;
  const ByteView field = data ? *data : command.subspan(4);
  const Secret secret = secret_in(command[0], command[1], command[2], command[3], field);
  if (secret == Secret::none) return t;
  const std::string size =
      std::to_string(field.size()) + (field.size() == 1 ? " byte: " : " bytes: ");
  if (secrets == Secrets::show) {
    t.text += ", secret shown (" + size + std::string(describe(secret)) + ")";
    return t;
  }
  // Each byte of the field becomes XX in place, so the length stays visible.
  const auto first = static_cast<std::size_t>(field.data() - command.data());
  const std::size_t stride = spaced ? 3 : 2;
  for (std::size_t i = first; i < first + field.size(); ++i) {
    t.hex[i * stride] = 'X';
    t.hex[i * stride + 1] = 'X';
  }
  t.text += ", data redacted (" + size + std::string(describe(secret)) + ")";
  return t;
}

}  // namespace juki::apdu_text
