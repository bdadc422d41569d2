// TracingTransport: wraps any transport and writes every command and response
// to a stream, with the command's name (apdu_text) and the status word's
// meaning. Used by the demo and the terminal's --trace (the simulator's trace
// file has its own format: specs/simulator.md 5).
#pragma once

#include <ostream>

#include "host_middleware/transport/transport.hpp"

namespace juki::host {

// "9000 success" style line for a response's status word.
std::string describe_status(ByteView response);

class TracingTransport final : public Transport {
 public:
  TracingTransport(Transport& inner, std::ostream& out) : inner_(inner), out_(out) {}
  Result<Bytes, TransportError> transmit(ByteView command) override;
  Result<Bytes, TransportError> reset() override;
  Result<Bytes, TransportError> power_cycle() override;
  Bytes atr() const override { return inner_.atr(); }
  std::string describe() const override { return inner_.describe(); }

 private:
  Transport& inner_;
  std::ostream& out_;
};

}  // namespace juki::host
