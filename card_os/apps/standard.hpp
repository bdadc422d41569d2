// The applications every resident card runs, assembled in one place outside
// the card core, which finds them only through the set it is given at
// power-up (card_os/card/card.hpp, Applications).
#pragma once

#include "card_os/card/card.hpp"

namespace juki::card_os::apps {

// JPKI, the Juki AP and the card manager; static, so they outlive every card.
Applications standard_applications();

}  // namespace juki::card_os::apps
