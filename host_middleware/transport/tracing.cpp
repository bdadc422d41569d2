#include "host_middleware/transport/tracing.hpp"

#include <cstdio>

#include "common/iso7816/apdu.hpp"
#include "common/iso7816/status_words.hpp"

namespace juki::host {

std::string describe_status(ByteView response) {
  if (response.size() < 2) return "(no status word)";
  const auto sw = static_cast<sw::Sw>(response[response.size() - 2] << 8 | response.back());
  char hex[8];
  std::snprintf(hex, sizeof hex, "%04X", sw);
  return std::string(hex) + " " + sw::meaning(sw);
}

Result<Bytes, TransportError> TracingTransport::transmit(ByteView command) {
  const auto parsed = apdu::parse_command(command);
  const auto traced = apdu_text::trace_command(
      command, parsed ? std::optional<ByteView>(parsed->data) : std::nullopt, true, secrets_);
  out_ << "  > " << traced.hex << "   [" << traced.text << "]\n";
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
