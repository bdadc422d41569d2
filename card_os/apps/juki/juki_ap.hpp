// The Juki AP (住基AP, specs/juki-ap.md): the Juki-net application of the
// card. Its files, password, key and certificates are the card OS's, served by
// the card OS's commands under their access rules; this code adds one thing:
// every UPDATE BINARY of the resident code EF or the card information EF (by
// SFI or as the current EF, in every state that admits the command) must
// write the whole EF at offset 0 (6A80 for another offset within the EF, 6700
// for another length) with a content that passes its checks (6A80 otherwise,
// nothing written); the card OS's own checks of the command come first:
//   4A01  the resident code: 11 ASCII digits, the 11th the check digit
//         (common/check_digits.hpp)
//   4A02  the card information (common/card_information.hpp): municipality
//         code with its check digit, issue and expiry dates (issue + 10
//         years), face A or B, and this card's serial
// Every other command, and these commands on other EFs, go to the card OS.
#pragma once

#include "card_os/apps/application.hpp"
#include "common/layout/juki_ap.hpp"

namespace juki::card_os::apps::juki_ap {

// The layout the application checks is the card's published one (common/layout/).
using namespace juki::layout::juki_ap;

class JukiAp final : public Application {
 public:
  ByteView aid() const override { return kAid; }
  std::string_view name() const override { return "Juki AP"; }
  std::optional<Reply> process(AppServices& card, const apdu::Command& c) const override;
};

}  // namespace juki::card_os::apps::juki_ap
