#include "common/transport.hpp"

namespace juki {

// Out of line so the vtable has one home.
Transport::~Transport() = default;

}  // namespace juki
