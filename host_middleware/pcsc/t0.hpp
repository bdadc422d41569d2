// The T=0 answers that an APDU-level caller must complete itself (ISO/IEC
// 7816-3 12.2, 7816-4 5.3.4): 61XX "XX more bytes: send GET RESPONSE" and
// 6CXX "wrong Le: send the command again with Le = XX". PC/SC passes them up
// unchanged over T=0, so the host does this, not the reader. A pure function
// over a raw exchange, so it is tested without a reader.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>

#include "common/bytes.hpp"
#include "common/result.hpp"
#include "common/transport.hpp"

namespace juki::host::pcsc {

// One command out, one raw response (data + SW1 SW2) back, nothing completed.
using RawTransmit = std::function<Result<Bytes, TransportError>(ByteView command)>;

struct T0Options {
  bool get_response = true;  // follow 61XX with GET RESPONSE until another SW
  bool repeat_on_6c = true;  // answer 6CXX by repeating the command with Le = XX
  // A card that keeps answering 61XX is broken; 64 KiB in 256-byte pieces
  // is 256 GET RESPONSEs, so this bound is never hit by a sane card.
  std::size_t max_get_responses = 300;
};

// Sends `command` through `raw` and completes 61XX and 6CXX answers. The
// result is every data byte received (in order) followed by the last SW.
// 6CXX is honoured once per command (a second 6CXX is returned as it is),
// and only for short-length commands: an extended command is never rewritten.
Result<Bytes, TransportError> exchange_t0(ByteView command, const RawTransmit& raw,
                                          const T0Options& options = {});

// The command with its short Le set to `le` (added for cases 1 and 3,
// replaced for cases 2 and 4); nullopt for extended-length or malformed
// commands, which 6CXX cannot apply to.
std::optional<Bytes> with_short_le(ByteView command, std::uint8_t le);

// The class byte for a GET RESPONSE following a command of class `cla`: the
// same logical channel, no secure messaging, no chaining, interindustry.
std::uint8_t get_response_class(std::uint8_t cla);

}  // namespace juki::host::pcsc
