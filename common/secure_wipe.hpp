// Wiping secrets from RAM: the one function the card OS and the simulator use
// (common/ is below them all, and needs no crypto library for it), and an
// allocator built on it, so a buffer that grows or goes away leaves no copy
// of what it held in freed memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace juki {

// Zeroes `secret`; the compiler may not drop it as a dead store.
void secure_wipe(std::span<std::uint8_t> secret);

// std::allocator that wipes every block it gives back: vector reallocation
// and destruction release nothing readable.
template <class T>
struct WipingAllocator {
  using value_type = T;
  WipingAllocator() = default;
  template <class U>
  WipingAllocator(const WipingAllocator<U>&) noexcept {}  // NOLINT: rebinding, implicit by design
  T* allocate(std::size_t n) { return std::allocator<T>().allocate(n); }
  void deallocate(T* p, std::size_t n) noexcept {
    secure_wipe({reinterpret_cast<std::uint8_t*>(p), n * sizeof(T)});
    std::allocator<T>().deallocate(p, n);
  }
  friend bool operator==(const WipingAllocator&, const WipingAllocator&) { return true; }
};

// Bytes that may hold a secret (a key, a PIN digest, a seed): wiped when
// released. clear() keeps the capacity: wipe the contents first.
using SecretBytes = std::vector<std::uint8_t, WipingAllocator<std::uint8_t>>;

}  // namespace juki
