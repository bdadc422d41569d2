// The card manager (specs/card-manager.md): lists the card's applications
// and their life cycle, and installs, deletes, locks and unlocks municipal
// applications, each only on an authorization signed by the issuing
// municipality's application-authorization key (a terminal certificate with
// role app-authority from the terminal CA under the card's trust anchor).
// Its own DF holds the trust anchor (2F10), the issuing municipality (4D01),
// the sequence counter (4D02) and the registry of municipal applications
// (4D03); the card OS serves those as files. Its commands (class 80, in its
// context) are this code's; every other command is the card OS's.
#pragma once

#include "card_os/apps/application.hpp"
#include "common/layout/card_manager.hpp"

namespace juki::card_os::apps::manager {

// The layout the application checks is the card's published one (common/layout/).
using namespace juki::layout::manager;

class Manager final : public Application {
 public:
  ByteView aid() const override { return kAid; }
  std::string_view name() const override { return "card manager"; }
  std::optional<Reply> process(AppServices& card, const apdu::Command& c) const override;
  bool manages_content() const override { return true; }
};

}  // namespace juki::card_os::apps::manager
