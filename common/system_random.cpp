#include "common/system_random.hpp"

#include <sys/random.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "common/secure_wipe.hpp"

namespace juki {

SystemRandom::~SystemRandom() {
  secure_wipe(pool_);
}

void SystemRandom::refill() {
  std::size_t done = 0;
  while (done < pool_.size()) {
    const ssize_t n = ::getrandom(pool_.data() + done, pool_.size() - done, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      // No randomness, no answer: the card answers 6F00 to the command that
      // wanted it (Card::transmit), rather than run on a short stream.
      throw std::system_error(errno, std::generic_category(), "getrandom");
    }
    done += static_cast<std::size_t>(n);
  }
  used_ = 0;
}

void SystemRandom::fill(std::span<std::uint8_t> out) {
  std::size_t done = 0;
  while (done < out.size()) {
    if (used_ == pool_.size()) refill();
    const std::size_t n = std::min(out.size() - done, pool_.size() - used_);
    std::memcpy(out.data() + done, pool_.data() + used_, n);
    secure_wipe(std::span(pool_).subspan(used_, n));
    used_ += n;
    done += n;
  }
}

}  // namespace juki
