// A Transport under secure messaging (specs/secure-channel.md 3): every
// command it carries is protected with the session's keys and every answer
// checked and decrypted. The keys come from mutual authentication
// (secure_session.hpp) or from the proof of an issuance key
// (personalization_session.hpp); this class is the part they share.
#pragma once

#include <cstdint>
#include <string>

#include "common/bytes.hpp"
#include "common/iso7816/status_words.hpp"
#include "common/result.hpp"
#include "common/transport.hpp"
#include "host_middleware/secure_messaging/secure_messaging.hpp"

namespace juki::host::session {

struct SessionError {
  enum class Kind : std::uint8_t {
    transport,       // the exchange itself failed
    refused,         // the card answered a step with an error status word (`sw`)
    untrusted_card,  // the card's chain or signature did not verify
    protocol,        // the card's answer is malformed
  };
  Kind kind;
  sw::Sw sw = 0;  // refused only
  std::string message;
};

// One step of opening a session: sends `command`, wants 9000, gives the data.
Result<Bytes, SessionError> session_step(Transport& t, const std::string& name,
                                         const Bytes& command);

// The status words a card answers in plain to a protected command: errors of
// secure messaging itself, a command the card refused before it, a failure
// that ended the session (specs/secure-channel.md 3). Any other plain answer
// (a 9000, say) is not the card's: a session that gets one ends with a
// transport error instead of passing it on.
bool answered_in_plain(sw::Sw s);

class SmTransport : public Transport {
 public:
  SmTransport(Transport& inner, sm::SessionKeys keys) : inner_(inner), keys_(std::move(keys)) {}
  ~SmTransport() override;
  SmTransport(const SmTransport&) = delete;
  SmTransport& operator=(const SmTransport&) = delete;

  // Protects `command`, sends it, checks and decrypts the answer. A response
  // that fails its MAC, or an answer in plain, ends the session: every later
  // transmit fails. A plain answer the card gives (answered_in_plain) is
  // passed on as the answer; any other is a transport error.
  Result<Bytes, TransportError> transmit(ByteView command) override;
  // Resets end the session (the card forgets it too).
  Result<Bytes, TransportError> reset() override;
  Result<Bytes, TransportError> power_cycle() override;
  Bytes atr() const override { return inner_.atr(); }
  std::string describe() const override;

  bool active() const { return active_; }
  // Forgets the keys (wiped); later transmits fail. The card's half ends with
  // the next plain command on the channel.
  void end();

 private:
  Transport& inner_;
  sm::SessionKeys keys_;
  bool active_ = true;
};

}  // namespace juki::host::session
