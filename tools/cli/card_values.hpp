// The card's values as the tools name them for people: its life-cycle byte
// (GET DATA DF20, specs/card-os.md 4.1, or the ATR's status indicator,
// section 1). Shared by juki-terminal and juki-audit.
#pragma once

#include <cstdint>

namespace juki::tools {

// "transport-locked", "issued", "active", "terminated", ... or "unknown".
const char* life_cycle_name(std::uint8_t value, bool from_atr);

}  // namespace juki::tools
