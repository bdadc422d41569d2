// Command APDUs as traces print them, for the host's trace (TracingTransport)
// and the simulator's trace file alike: the command's name, and whether its
// data carries a secret (a PIN, a PUK, a key, a key's proof) that a trace
// prints only when told to (specs/simulator.md 5.1, specs/apdu-script.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/bytes.hpp"

namespace juki::apdu_text {

// "SELECT", "READ BINARY"... for an ISO 7816-4 instruction byte; "INS XX" otherwise.
std::string command_name(std::uint8_t cla, std::uint8_t ins);

// The secret a command's data carries (specs/card-os.md 5, 6.6-6.8, 6.10,
// 6.12, 7.4; specs/jpki.md 3.2; specs/juki-ap.md 2).
enum class Secret : std::uint8_t {
  none,
  pin,              // VERIFY
  old_and_new_pin,  // CHANGE REFERENCE DATA P1 00 (and any P1 but 01)
  new_pin,          // CHANGE REFERENCE DATA P1 01, RESET RETRY COUNTER P1 02
  puk_and_new_pin,  // RESET RETRY COUNTER P1 00
  puk,              // RESET RETRY COUNTER P1 01
  pin_template,     // PUT DATA 00A1 (its tag 84 is the PIN's initial value)
  key_template,     // PUT DATA 00A2 (its tag 84 is the AES key)
  key_proof,        // EXTERNAL AUTHENTICATE with AES-CMAC(key, challenge)
};

// What the data field `data` of the command with this header carries. None
// for a command without data, for one under secure messaging (CLA b4 b3 =
// 11: its data travels encrypted), and for EXTERNAL AUTHENTICATE's
// mutual-authentication form (7F49 ‖ 5F37: a public key and a signature).
Secret secret_in(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1, std::uint8_t p2,
                 ByteView data);

// "PIN", "old and new PIN", "key template"...; "" for none.
std::string_view describe(Secret secret);

// Whether a trace prints a secret's bytes (the tools' --trace-secrets) or
// replaces them.
enum class Secrets : std::uint8_t { redact, show };

// One command as a trace line shows it.
struct TracedCommand {
  std::string hex;   // the command; a secret's data, when redacted, as XX per byte
  std::string text;  // "VERIFY, data redacted (4 bytes: PIN)", "VERIFY, secret shown (4
                     // bytes: PIN)", "SELECT"
};

// `data`: the command's data field as apdu::parse_command finds it (a view
// into `command`), or nullopt when its lengths do not parse; then everything
// after the 4-byte header counts as data, so a malformed VERIFY keeps its
// PIN out of the trace too.
TracedCommand trace_command(ByteView command, std::optional<ByteView> data, bool spaced,
                            Secrets secrets);

}  // namespace juki::apdu_text
