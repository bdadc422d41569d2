// A card's persistent memory laid out as the card lays it out (a 64-byte
// superblock, a heap over the rest, an MF), with its security objects: for
// tests of the layers below the card (objects, keys, PINs) without a card.
#pragma once

#include <catch2/catch.hpp>

#include "card_os/fs/file_system.hpp"
#include "card_os/nvm/heap.hpp"
#include "card_os/nvm/persistent_memory.hpp"
#include "card_os/security/objects.hpp"

namespace juki::test {

inline card_os::PersistentMemory formatted(card_os::Storage& storage) {
  auto r = card_os::PersistentMemory::format(storage, card_os::NvmGeometry{});
  REQUIRE(r);
  return std::move(*r);
}

struct CardMemory {
  card_os::MemoryStorage storage{
      card_os::PersistentMemory::storage_size_for(card_os::NvmGeometry{})};
  card_os::PersistentMemory m = formatted(storage);
  card_os::Heap heap{m, 8, 64, m.capacity()};
  card_os::FileSystem fs{m, heap};
  card_os::SecurityObjects objects{m, heap, fs};
  card_os::NodeRef mf = 0;

  CardMemory() {
    card_os::Transaction tx(m);
    REQUIRE(heap.format() == card_os::NvmError::none);
    auto r = fs.create_mf(juki::fcp::AccessRules{});
    REQUIRE(r);
    mf = *r;
    tx.commit();
  }
};

}  // namespace juki::test
