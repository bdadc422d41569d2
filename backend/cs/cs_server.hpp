// The CS's server (specs/network.md 6): the ResidentSystemLink service for
// the municipality's existing resident system, and the delivery of its
// outbox to the prefecture server.
#pragma once

#include "backend/server/runtime.hpp"

namespace juki::backend::cs {

server::Program cs_program();

}  // namespace juki::backend::cs
