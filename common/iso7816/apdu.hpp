// Command APDU parsing (ISO/IEC 7816-3/-4 cases 1-4, short and extended) and
// response building. Parsing never reads outside its input and never throws.
#pragma once

#include <cstdint>

#include "common/bytes.hpp"
#include "common/iso7816/status_words.hpp"
#include "common/result.hpp"

namespace juki::apdu {

struct Command {
  std::uint8_t cla = 0;
  std::uint8_t ins = 0;
  std::uint8_t p1 = 0;
  std::uint8_t p2 = 0;
  ByteView data;         // Nc bytes (empty for cases 1 and 2); points into the input
  std::uint32_t ne = 0;  // expected response length: 0 when Le absent; 256 / 65536 for Le=00 / 0000
  bool has_le = false;
  bool extended = false;       // extended length encoding was used
  std::uint8_t apdu_case = 1;  // 1, 2, 3 or 4
  std::uint16_t p1p2() const { return static_cast<std::uint16_t>(p1 << 8 | p2); }
};

// Fails with 6700 for any length inconsistency (too short, Lc not matching,
// extended-length fields truncated, Lc = 0 in the extended form).
Result<Command, sw::Sw> parse_command(ByteView raw);

// Encodes a command; the inverse of parse_command (chooses the short form
// when data <= 255 and ne <= 256 and `extended` is not asked for, else the
// extended form; a case 1 command has no lengths to extend). Ne over 65536 is
// sent as 0000 (the maximum); data over 65535 bytes cannot be encoded and
// gives an empty result.
Bytes encode_command(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1, std::uint8_t p2,
                     ByteView data = {}, std::uint32_t ne = 0, bool extended = false);

// A response APDU: data then SW1 SW2.
struct Response {
  Bytes data;
  sw::Sw sw = sw::kOk;
  Bytes encode() const;
  // Splits raw response bytes; fails if fewer than 2 bytes.
  static Result<Response, std::string> decode(ByteView raw);
};

}  // namespace juki::apdu
