// The public personal-authentication application (公的個人認証, JPKI) as
// OpenSC's `jpki` driver speaks to it (specs/jpki.md): certificates in
// transparent EFs the card OS serves, and four internal EFs that name the
// application's PINs and RSA keys:
//   0018  PIN 1: the authentication PIN (4 digits, 3 tries)
//   001B  PIN 2: the signature PIN (6..16 letters and digits, 5 tries)
//   0017  RSA key 1: the authentication key, usable after PIN 1
//   001A  RSA key 2: the signature key, usable once per verification of PIN 2
// SELECT of an internal EF (00 A4 02 0C), VERIFY of its PIN (00 20 00 80)
// and COMPUTE DIGITAL SIGNATURE (80 2A 00 80) are this code's; every other
// command is the card OS's.
#pragma once

#include "card_os/apps/application.hpp"
#include "common/layout/jpki.hpp"

namespace juki::card_os::apps::jpki {

// The layout the application checks is the card's published one (common/layout/).
using namespace juki::layout::jpki;

class Jpki final : public Application {
 public:
  ByteView aid() const override { return kAid; }
  std::string_view name() const override { return "JPKI"; }
  std::optional<Reply> process(AppServices& card, const apdu::Command& c) const override;
};

}  // namespace juki::card_os::apps::jpki
