#include "common/secure_channel.hpp"

#include <initializer_list>
#include <string_view>

namespace juki::secure_channel {

namespace {

Bytes concat(std::string_view label, std::initializer_list<ByteView> parts) {
  Bytes out(label.begin(), label.end());
  for (ByteView p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

}  // namespace

Bytes terminal_signed_data(ByteView card_challenge, ByteView terminal_ephemeral) {
  return concat("JUKI-TA1", {card_challenge, terminal_ephemeral});
}

Bytes card_signed_data(ByteView terminal_challenge, ByteView terminal_ephemeral,
                       ByteView card_ephemeral, ByteView card_challenge) {
  return concat("JUKI-CA1",
                {terminal_challenge, terminal_ephemeral, card_ephemeral, card_challenge});
}

Bytes personalization_key_input(ByteView card_challenge) {
  return concat("JUKI-PS1", {card_challenge});
}

}  // namespace juki::secure_channel
