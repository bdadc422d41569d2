// What the card and the terminal must agree on byte for byte in mutual
// authentication (specs/secure-channel.md, specs/pki.md), written once: the
// role codes of the authorization extension and the layout of the two signed
// messages. No cryptography here; each side signs and verifies with its own
// library (mbedTLS on the card, OpenSSL on the host).
#pragma once

#include <cstdint>

#include "common/bytes.hpp"

namespace juki::secure_channel {

// Role codes (specs/pki.md "Roles"): stable numbers.
enum class Role : std::uint16_t {
  window = 1,
  issuance = 2,
  password_reset = 3,
  municipal_app = 4,
  app_authority = 5,
  cs = 6,
  prefecture = 7,
  national = 8,
  resident_system = 9,  // the municipality's existing resident system (既存住基システム)
  card = 16,
  terminal_ca = 32,
  card_ca = 33,
  server_ca = 34,
};

// Step 4: "JUKI-TA1" ‖ rC ‖ PK_T^e, signed by the terminal.
Bytes terminal_signed_data(ByteView card_challenge, ByteView terminal_ephemeral);
// Step 5: "JUKI-CA1" ‖ rT ‖ PK_T^e ‖ PK_C^e ‖ rC, signed by the card.
Bytes card_signed_data(ByteView terminal_challenge, ByteView terminal_ephemeral,
                       ByteView card_ephemeral, ByteView card_challenge);

// The personalization session (specs/secure-channel.md 6): the input of
// Z = AES-CMAC(K, "JUKI-PS1" ‖ rC), K the proved issuance key, rC the card's
// challenge that the proof answered.
Bytes personalization_key_input(ByteView card_challenge);

}  // namespace juki::secure_channel
