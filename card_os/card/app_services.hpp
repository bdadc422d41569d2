// What the code of a card application (card_os/apps/) may use of the card OS:
// its channel's application context and the card's own checks, through one
// narrow door, as a Java Card applet sees OwnerPIN and JCSystem rather than
// the card's memory.
#pragma once

#include <cstdint>

#include "card_os/apdu/apdu.hpp"
#include "card_os/card/card_impl.hpp"

namespace juki::card_os {

class AppServices {
 public:
  AppServices(Card::Impl& card, Channel& channel) : card_(card), ch_(channel) {}

  LifeCycle life_cycle() const { return card_.life_cycle(); }
  // The application's DF: the channel's context.
  NodeRef application() const { return ch_.security.context; }
  // Security object `ref` of `kind` that the application's DF owns, or 0.
  ObjectRef object(ObjectKind kind, std::uint8_t ref) const;

  // VERIFY of `pin` as ISO 7816-4 means P1 and the data (the card OS's own
  // VERIFY): no data asks for the state (9000 verified, 63Cx tries left,
  // 6983 blocked), P1 = FF forgets it, a value is checked tear-safe and, when
  // right, grants the PIN on this channel.
  sw::Sw verify(ObjectRef pin, const apdu::Command& c);
  bool verified(ObjectRef pin) const { return ch_.security.has(pin); }
  std::uint8_t tries_left(ObjectRef pin) const;
  void forget(ObjectRef pin) { ch_.security.revoke(pin); }

  // PKCS#1 v1.5 signature (type-1 padding of `digest_info`, as given) with
  // the RSA key object `key`; the status word of the refusal otherwise.
  Result<Bytes, sw::Sw> rsa_sign(ObjectRef key, ByteView digest_info);

  // The EF a READ or UPDATE BINARY command addresses (its SFI, which then
  // selects it, or the current EF), after the card OS's own checks of that
  // command for `op` (6986, 6A82, 6981, 6985, 6982, 6A86: the status word the
  // card OS would answer). The same checks run again when the command is
  // handed on.
  struct BinaryTarget {
    std::uint16_t fid = 0;
    bool in_application = false;  // a child of the application's DF
    std::uint32_t size = 0;       // the EF's size
    std::uint32_t offset = 0;     // from P1-P2
  };
  Result<BinaryTarget, sw::Sw> binary_target(const apdu::Command& c, Op op);

  // The card's serial number (GET DATA DF22), 8 bytes.
  ByteView serial() const;

  // The channel keeps its DF but has no current EF (the application selected
  // something the card OS does not serve as a file).
  void leave_current_ef() {
    ch_.ef = 0;
    ch_.record = 0;
  }

  // The application code's state on this channel: zero whenever the channel
  // enters the application's context.
  std::uint32_t& state() { return ch_.app_state; }

 private:
  Card::Impl& card_;
  Channel& ch_;
};

}  // namespace juki::card_os
