// TracingTransport: wraps any transport and writes every command and response
// to a stream, with the command's name and the status word's meaning; the
// data of a command carrying a PIN or a key is redacted unless told otherwise
// (apdu_text). Used by the demo, juki-terminal's and juki-issuer's --trace
// (specs/apdu-script.md "The host trace"; the simulator's trace file has its
// own format, specs/simulator.md 5).
#pragma once

#include <ostream>

#include "common/apdu_text.hpp"
#include "common/transport.hpp"

namespace juki::host {

// "9000 success" style line for a response's status word.
std::string describe_status(ByteView response);

class TracingTransport final : public Transport {
 public:
  TracingTransport(Transport& inner, std::ostream& out,
                   apdu_text::Secrets secrets = apdu_text::Secrets::redact)
      : inner_(inner), out_(out), secrets_(secrets) {}
  Result<Bytes, TransportError> transmit(ByteView command) override;
  Result<Bytes, TransportError> reset() override;
  Result<Bytes, TransportError> power_cycle() override;
  Bytes atr() const override { return inner_.atr(); }
  std::string describe() const override { return inner_.describe(); }

 private:
  Transport& inner_;
  std::ostream& out_;
  apdu_text::Secrets secrets_;
};

}  // namespace juki::host
