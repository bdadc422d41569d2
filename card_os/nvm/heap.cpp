#include "card_os/nvm/heap.hpp"

namespace juki::card_os {

namespace {
constexpr std::uint32_t kHeader = 4;
constexpr std::uint32_t kMinBlock = 8;  // header + next link
std::uint32_t round_up4(std::uint32_t n) {
  return (n + 3u) & ~3u;
}
}  // namespace

NvmError Heap::format() {
  std::uint32_t size = limit() - start_;
  if (auto e = m_.write_u32(start_, size); e != NvmError::none) return e;
  if (auto e = m_.write_u32(start_ + 4, 0); e != NvmError::none) return e;
  return m_.write_u32(head_addr_, start_);
}

Result<std::uint32_t, HeapError> Heap::allocate(std::uint32_t payload_size) {
  std::uint32_t need = round_up4(payload_size + kHeader);
  if (need < kMinBlock) need = kMinBlock;
  std::uint32_t prev = 0;  // 0: the list head
  for (std::uint32_t b = head(); b != 0; prev = b, b = m_.u32(b + 4)) {
    std::uint32_t size = m_.u32(b);
    if (size < need) continue;
    std::uint32_t next = m_.u32(b + 4);
    std::uint32_t link_addr = prev == 0 ? head_addr_ : prev + 4;
    NvmError e = NvmError::none;
    if (size - need >= kMinBlock) {
      // Split: the tail stays free, in the same place in the list.
      std::uint32_t rest = b + need;
      e = m_.write_u32(rest, size - need);
      if (e == NvmError::none) e = m_.write_u32(rest + 4, next);
      if (e == NvmError::none) e = m_.write_u32(link_addr, rest);
      size = need;
    } else {
      e = m_.write_u32(link_addr, next);
    }
    // The old next link lies inside the payload: clear it (the rest is zero).
    if (e == NvmError::none) e = m_.write_u32(b + 4, 0);
    if (e == NvmError::none) e = m_.write_u32(b, size | kUsed);
    if (e != NvmError::none) return unexpected(HeapError::journal_full);
    return b + kHeader;
  }
  return unexpected(HeapError::out_of_memory);
}

NvmError Heap::release(std::uint32_t payload_addr) {
  std::uint32_t b = payload_addr - kHeader;
  std::uint32_t size = m_.u32(b) & ~kUsed;
  // Wipe the payload: freed secrets must not stay in the image.
  if (auto e = m_.fill(b + kHeader, size - kHeader, 0); e != NvmError::none) return e;
  // Find the free neighbours in the address-ordered list.
  std::uint32_t prev = 0;
  std::uint32_t next = head();
  while (next != 0 && next < b) {
    prev = next;
    next = m_.u32(next + 4);
  }
  if (next != 0 && b + size == next) {  // merge with the following free block
    std::uint32_t next_next = m_.u32(next + 4);
    size += m_.u32(next);
    if (auto e = m_.fill(next, kMinBlock, 0); e != NvmError::none) return e;
    next = next_next;
  }
  if (prev != 0 && prev + m_.u32(prev) == b) {  // merge into the preceding free block
    if (auto e = m_.fill(b, kMinBlock, 0); e != NvmError::none) return e;
    if (auto e = m_.write_u32(prev, m_.u32(prev) + size); e != NvmError::none) return e;
    return m_.write_u32(prev + 4, next);
  }
  if (auto e = m_.write_u32(b, size); e != NvmError::none) return e;
  if (auto e = m_.write_u32(b + 4, next); e != NvmError::none) return e;
  return m_.write_u32(prev == 0 ? head_addr_ : prev + 4, b);
}

bool Heap::intact() const {
  std::uint32_t next_free = head();
  std::uint32_t b = start_;
  while (b < limit()) {
    const std::uint32_t word = m_.u32(b);
    const std::uint32_t size = word & ~kUsed;
    if (size < kMinBlock || size % 4 != 0 || size > limit() - b) return false;
    if ((word & kUsed) == 0) {
      if (b != next_free) return false;  // a free block off the list, or the list out of order
      next_free = m_.u32(b + 4);
    }
    b += size;
  }
  return next_free == 0;  // the list ends with the last free block
}

bool Heap::allocated(std::uint32_t payload_addr) const {
  std::uint32_t b = start_;
  while (b < limit() && b + kHeader <= payload_addr) {
    const std::uint32_t word = m_.u32(b);
    if (b + kHeader == payload_addr) return (word & kUsed) != 0;
    const std::uint32_t size = word & ~kUsed;
    if (size < kMinBlock || size > limit() - b) return false;  // not an intact heap
    b += size;
  }
  return false;
}

std::uint32_t Heap::free_bytes() const {
  std::uint32_t total = 0;
  for (std::uint32_t b = head(); b != 0; b = m_.u32(b + 4)) total += m_.u32(b) - kHeader;
  return total;
}

std::uint32_t Heap::payload_size(std::uint32_t payload_addr) const {
  return (m_.u32(payload_addr - kHeader) & ~kUsed) - kHeader;
}

}  // namespace juki::card_os
