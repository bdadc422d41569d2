// SHA-256 of bytes, through OpenSSL: the one digest the servers' records, the
// PKCS#11 PIN check and the audit's evidence reports name.
#pragma once

#include <string_view>

#include "common/bytes.hpp"

namespace juki::pki {

// 32 bytes.
Bytes sha256(ByteView data);
Bytes sha256(std::string_view data);

}  // namespace juki::pki
