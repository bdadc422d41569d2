// Transport: how a program reaches one card in one reader: a card behind
// PC/SC (host_middleware/pcsc), a card OS in this process (simulator/
// in_process), or either under secure messaging or a trace. The host code on
// top is the same for all (ARCHITECTURE.md, "The path of one APDU").
#pragma once

#include <string>

#include "common/bytes.hpp"
#include "common/result.hpp"

namespace juki {

// Why an exchange did not happen: "card removed", "no card", "card is mute
// (power lost)"... A status word from the card is never a transport error.
struct TransportError {
  std::string message;
};

class Transport {  // one card in one reader
 public:
  virtual ~Transport();

  // One command APDU; the full response including SW1 SW2.
  virtual Result<Bytes, TransportError> transmit(ByteView command) = 0;
  // Warm reset; returns the ATR.
  virtual Result<Bytes, TransportError> reset() = 0;
  // Cold reset (power off, power on); returns the ATR.
  virtual Result<Bytes, TransportError> power_cycle() = 0;
  // The ATR of the last power-up or reset (empty when the card is unpowered).
  // Scripts check it before any reset, so it must be known from the start.
  virtual Bytes atr() const = 0;
  // For reports: "in-process card", a reader name...
  virtual std::string describe() const = 0;
};

}  // namespace juki
