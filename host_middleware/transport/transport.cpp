#include "host_middleware/transport/transport.hpp"

namespace juki::host {

// Out of line so the vtable has one home.
Transport::~Transport() = default;

}  // namespace juki::host
