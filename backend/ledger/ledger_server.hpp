// The upper tiers' servers on their ledger (specs/network.md 6): a
// prefecture server takes its CSs' notifications (Deliver) and relays them
// to the national server; the national server takes the prefectures' relays
// (Relay). Both answer update-count lists, range digests and lookups.
#pragma once

#include "backend/server/runtime.hpp"

namespace juki::backend::ledger {

server::Program prefecture_program();
server::Program national_program();

}  // namespace juki::backend::ledger
