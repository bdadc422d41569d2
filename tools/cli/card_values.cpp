#include "tools/cli/card_values.hpp"

namespace juki::tools {

const char* life_cycle_name(std::uint8_t value, bool from_atr) {
  switch (value) {
    case 0x01:
      return "transport-locked";
    case 0x03:
      return "personalization";
    case 0x04:
      return "issued";
    case 0x05:
      return "active";
    case 0x0C:
      return from_atr ? "terminated" : "unknown";
    case 0x0F:
      return from_atr ? "unknown" : "terminated";
    default:
      return "unknown";
  }
}

}  // namespace juki::tools
