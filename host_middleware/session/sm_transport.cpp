#include "host_middleware/session/sm_transport.hpp"

#include <utility>

#include "common/iso7816/apdu.hpp"

namespace juki::host::session {

namespace {
std::string sw_text(sw::Sw s) {
  return to_hex(Bytes{static_cast<std::uint8_t>(s >> 8), static_cast<std::uint8_t>(s)});
}
}  // namespace

Result<Bytes, SessionError> session_step(Transport& t, const std::string& name,
                                         const Bytes& command) {
  using Kind = SessionError::Kind;
  auto r = t.transmit(command);
  if (!r) return unexpected(SessionError{Kind::transport, 0, name + ": " + r.error().message});
  auto response = apdu::Response::decode(*r);
  if (!response) return unexpected(SessionError{Kind::protocol, 0, name + ": " + response.error()});
  if (response->sw != sw::kOk) {
    return unexpected(SessionError{Kind::refused, response->sw,
                                   name + ": the card answered " + sw_text(response->sw) + " (" +
                                       sw::meaning(response->sw) + ")"});
  }
  return std::move(response->data);
}

bool answered_in_plain(sw::Sw s) {
  switch (s) {
    case 0x6700:  // the protected APDU's own lengths
    case 0x6881:  // no such channel
    case 0x6882:  // no session on the channel
    case 0x6884:  // chaining
    case 0x6987:  // SM data objects missing or malformed
    case 0x6988:  // MAC or padding wrong
    case 0x6E00:  // class
    case 0x6F00:  // a failure inside the command (secure messaging fails closed)
      return true;
    default:
      return false;
  }
}

SmTransport::~SmTransport() {
  sm::wipe(keys_);
}

void SmTransport::end() {
  sm::wipe(keys_);
  active_ = false;
}

Result<Bytes, TransportError> SmTransport::transmit(ByteView command) {
  if (!active_)
    return unexpected(TransportError{"the secure session has ended; authenticate again"});
  auto wrapped = sm::wrap_command(keys_, command);
  if (!wrapped)
    return unexpected(TransportError{"cannot protect the command: " + wrapped.error().message});
  auto raw = inner_.transmit(*wrapped);
  if (!raw) {
    end();
    return unexpected(raw.error());
  }
  auto plain = sm::unwrap_response(keys_, *raw);
  if (!plain) {
    end();
    if (plain.error().kind == sm::Error::Kind::card_status && answered_in_plain(plain.error().sw)) {
      // The card refused our secure messaging and ended the session: its
      // status word is the answer.
      return apdu::Response{{}, plain.error().sw}.encode();
    }
    if (plain.error().kind == sm::Error::Kind::card_status)
      return unexpected(TransportError{
          "an unprotected answer " + sw_text(plain.error().sw) +
          " to a protected command: not the card's (a reader or relay in between?); the "
          "session has ended"});
    return unexpected(TransportError{"the card's answer failed secure messaging (" +
                                     plain.error().message + "); the session has ended"});
  }
  return plain->encode();
}

Result<Bytes, TransportError> SmTransport::reset() {
  end();
  return inner_.reset();
}

Result<Bytes, TransportError> SmTransport::power_cycle() {
  end();
  return inner_.power_cycle();
}

std::string SmTransport::describe() const {
  return inner_.describe() + " (secure messaging)";
}

}  // namespace juki::host::session
