// The card manager on a card (specs/card-manager.md): its personalization
// (the DF and the EFs its code reads) and a client for its commands over any
// transport, built on issuer_tool/apps/manifest.hpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/transport.hpp"
#include "host_middleware/personalization/personalization.hpp"
#include "issuer_tool/apps/manifest.hpp"
#include "pki/pki.hpp"

namespace juki::enrolment {

struct CardManagerRequest {
  std::string municipality;   // the issuing municipality, 6 digits (specs/pki.md)
  std::uint32_t entries = 8;  // municipal applications the registry holds
};

// With personalization rights on `perso`'s card: creates the card manager's
// DF 4D00 under the MF with EF 2F10 (`root`, the trust anchor), 4D01 (the
// municipality), 4D02 (the sequence counter, 0) and 4D03 (an empty
// registry), each readable always and never updated by a command. Leaves the
// MF selected.
host::perso::Outcome<> enrol_card_manager(host::perso::Personalizer& perso,
                                          const pki::Certificate& root,
                                          const CardManagerRequest& request);

// What an authorization for this card must name: read from the card (GET
// DATA DF22, EF 4D01, EF 4D02) after selecting the card manager, which
// stays selected.
struct CardManagerState {
  Bytes serial;
  std::string municipality;
  std::uint32_t sequence = 0;  // the last one used; the next must be above it
};
host::perso::Outcome<CardManagerState> read_card_manager(juki::Transport& t);

// Reads the card's state, signs `op` for `aid` (or, for install, `app`)
// with the next sequence number and sends it; the card manager stays
// selected. INSTALL gives the public points of the keys made on the card.
host::perso::Outcome<std::vector<card_manager::GeneratedKey>> install_application(
    juki::Transport& t, const card_manager::Authority& authority,
    const card_manager::Application& app);
host::perso::Outcome<> manage_application(juki::Transport& t,
                                          const card_manager::Authority& authority,
                                          card_manager::Operation op, ByteView aid);
// LIST APPLICATIONS (selects the card manager).
host::perso::Outcome<std::vector<card_manager::Listed>> list_applications(juki::Transport& t);

}  // namespace juki::enrolment
