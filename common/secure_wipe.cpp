#include "common/secure_wipe.hpp"

#include <string.h>  // explicit_bzero (glibc)

namespace juki {

void secure_wipe(std::span<std::uint8_t> secret) {
  if (!secret.empty()) ::explicit_bzero(secret.data(), secret.size());
}

}  // namespace juki
