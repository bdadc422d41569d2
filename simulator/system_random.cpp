#include "simulator/system_random.hpp"

#include <sys/random.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common/secure_wipe.hpp"

namespace juki::sim {

SystemRandom::~SystemRandom() {
  secure_wipe(pool_);
}

void SystemRandom::refill() {
  std::size_t done = 0;
  while (done < pool_.size()) {
    const ssize_t n = ::getrandom(pool_.data() + done, pool_.size() - done, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::perror("getrandom");
      std::abort();  // a card without randomness must not run
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

}  // namespace juki::sim
