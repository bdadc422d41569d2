// Command APDUs as traces print them, for the host's trace (TracingTransport)
// and the simulator's trace file alike.
#pragma once

#include <cstdint>
#include <string>

namespace juki::apdu_text {

// "SELECT", "READ BINARY"... for an ISO 7816-4 instruction byte; "INS XX" otherwise.
std::string command_name(std::uint8_t cla, std::uint8_t ins);

}  // namespace juki::apdu_text
