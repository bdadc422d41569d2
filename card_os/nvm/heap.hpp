// Heap: a first-fit allocator inside PersistentMemory, for file nodes, file
// contents and security objects. Every change goes through the caller's open
// transaction, so allocation and release are as tear-safe as any other write.
//
// Blocks are [u32 size | used-bit][payload], size a multiple of 4 including
// the header. Free blocks form an address-ordered list: [u32 size][u32 next].
// Invariant: free space is all zero except free-block headers and next links,
// so an allocation is zero-filled without writing its payload, and freed data
// (keys, PINs, records) does not linger in the image.
#pragma once

#include <cstdint>

#include "card_os/nvm/persistent_memory.hpp"
#include "common/result.hpp"

namespace juki::card_os {

enum class HeapError : std::uint8_t {
  out_of_memory,  // no free block is large enough (ISO 6A84)
  journal_full,   // the transaction would not fit the journal (also 6A84)
};

class Heap {
 public:
  // The list head is a u32 at `head_addr`; the heap spans [start, end).
  Heap(PersistentMemory& memory, std::uint32_t head_addr, std::uint32_t start, std::uint32_t end)
      : m_(memory), head_addr_(head_addr), start_(start), end_(end) {}

  // Within a transaction: makes [start, end) one free block. The range must
  // already be zero (as a freshly formatted PersistentMemory is).
  NvmError format();

  // Within a transaction. Returns the payload address; the payload is zero.
  Result<std::uint32_t, HeapError> allocate(std::uint32_t payload_size);
  // Within a transaction. Zeroes the payload and merges with free neighbours.
  NvmError release(std::uint32_t payload_addr);

  // Whether the blocks tile the heap with sizes the allocator makes (multiples
  // of 4, 8 at least) and the free list links exactly the free blocks, in
  // address order: what power-up checks before it trusts an image. One pass
  // over the block headers; out-of-range reads throw NvmFault.
  bool intact() const;
  // Whether `payload_addr` is the payload of an allocated block (of an intact heap).
  bool allocated(std::uint32_t payload_addr) const;

  std::uint32_t free_bytes() const;  // sum of free payloads
  std::uint32_t total_bytes() const { return end_ - start_; }
  std::uint32_t payload_size(std::uint32_t payload_addr) const;
  // The block an allocation of `payload` bytes takes when it splits a larger
  // free block: the 4-byte header and the payload, rounded up to 4, 8 at least.
  static constexpr std::uint32_t block_size(std::uint32_t payload) {
    const std::uint32_t b = (payload + 4u + 3u) & ~3u;
    return b < 8u ? 8u : b;
  }

 private:
  static constexpr std::uint32_t kUsed = 1;
  std::uint32_t head() const { return m_.u32(head_addr_); }
  std::uint32_t limit() const { return start_ + ((end_ - start_) & ~3u); }  // end of the blocks
  PersistentMemory& m_;
  std::uint32_t head_addr_, start_, end_;
};

}  // namespace juki::card_os
