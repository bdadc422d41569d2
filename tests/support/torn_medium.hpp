// A card image on a medium that can lose power at a chosen write, for tearing
// tests driven through the host's transport: card -> WriteLog -> FaultInjector
// -> MemoryStorage. Cuts are counted from a mark (the first write of the
// commands under test); each write is torn with several prefixes.
#pragma once

#include <catch2/catch.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "card_os/nvm/storage.hpp"
#include "card_os/security/random.hpp"
#include "simulator/in_process.hpp"
#include "support/write_log.hpp"

namespace juki::test {

// The write with this index (from the mark) is torn after `prefix` bytes.
struct Cut {
  std::uint64_t write = 0;
  std::size_t prefix = 0;
  bool operator<(const Cut& o) const {
    return write != o.write ? write < o.write : prefix < o.prefix;
  }
};

// Torn prefixes of a write of n bytes: nothing, half, all but the last byte.
inline std::vector<std::size_t> prefixes(std::size_t n) {
  std::vector<std::size_t> p = {0};
  if (n / 2 > 0) p.push_back(n / 2);
  if (n > 1 && n - 1 != n / 2) p.push_back(n - 1);
  return p;
}

// Every cut point of a run whose clean version made writes of these sizes.
inline std::vector<Cut> cut_points(const std::vector<std::size_t>& sizes) {
  std::vector<Cut> cuts;
  for (std::uint64_t i = 0; i < sizes.size(); ++i)
    for (std::size_t p : prefixes(sizes[i])) cuts.push_back({i, p});
  return cuts;
}

class TornMedium {
 public:
  TornMedium(const Bytes& image, const std::string& seed)
      : mem_(image.size()), random_(as_bytes(seed)) {
    mem_.bytes() = image;
  }

  // A new chip on the medium (the power-up's recovery writes are never cut).
  void power_up() {
    transport_.reset();
    injector_.disarm();
    auto t = juki::sim::InProcessTransport::connect(log_, random_);
    INFO((t ? std::string() : t.error().message));
    REQUIRE(t.ok());
    transport_ = std::move(*t);
  }
  juki::sim::InProcessTransport& transport() { return *transport_; }
  card_os::Card& card() {
    REQUIRE(transport_->card() != nullptr);
    return *transport_->card();
  }

  // From here on writes are counted for cuts; `cut`, if given, is armed.
  void mark(const std::optional<Cut>& cut = {}) {
    first_ = injector_.writes();
    if (cut) injector_.arm(first_ + cut->write, cut->prefix);
  }
  // Whether the armed cut fired; disarms.
  bool fired() {
    const bool f = injector_.fired();
    injector_.disarm();
    return f;
  }
  std::uint64_t writes_since_mark() const { return injector_.writes() - first_; }
  // Sizes and storage offsets of the writes since the mark.
  std::vector<std::size_t> sizes() const { return tail(log_.sizes); }
  std::vector<std::size_t> offsets() const { return tail(log_.offsets); }

 private:
  std::vector<std::size_t> tail(const std::vector<std::size_t>& v) const {
    return {v.begin() + static_cast<std::ptrdiff_t>(first_), v.end()};
  }

  card_os::MemoryStorage mem_;
  card_os::FaultInjector injector_{mem_};
  WriteLog log_{injector_};
  card_os::DrbgRandom random_;
  std::unique_ptr<juki::sim::InProcessTransport> transport_;
  std::uint64_t first_ = 0;
};

}  // namespace juki::test
