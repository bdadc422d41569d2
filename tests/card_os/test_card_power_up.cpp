// Power-up against specs/card-os.md section 8: an image the persistent memory
// does not vouch for, or whose card-OS structures (8.2) are damaged, is
// refused with a message naming the damage; a read the structures send
// outside the memory answers 6F00. Offsets are the spec's, not the code's.
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "card_os/fs/file_system.hpp"
#include "card_os/nvm/heap.hpp"
#include "simulator/file_storage.hpp"
#include "support/temp_dir.hpp"
#include "support/test_card.hpp"

using namespace juki;
using card_os::Card;
using card_os::CardError;
using card_os::CardFailure;
using card_os::NvmError;
using card_os::PersistentMemory;
using juki::test::create_file;
using juki::test::TestCard;
using juki::test::transparent_ef;

namespace {

// Superblock fields (8.2) and image layout (8.1).
constexpr std::uint32_t kMagicAt = 0;
constexpr std::uint32_t kVersionAt = 4;
constexpr std::uint32_t kLifeCycleAt = 6;
constexpr std::uint32_t kHeapHeadAt = 8;
constexpr std::uint32_t kMfAt = 12;
constexpr std::size_t kSlotA = 64;
constexpr std::size_t kJournal = 128;
std::size_t main_offset() {
  return kJournal + card_os::NvmGeometry{}.journal_capacity;
}

// A personalizing card with a free block between two files (EF 0002 deleted)
// as well as the free tail: a heap with a free list of two.
Bytes good_image() {
  auto c = TestCard::personalizing();
  c->expect(create_file(transparent_ef(0x0001, 40)), 0x9000);
  c->expect(create_file(transparent_ef(0x0002, 40)), 0x9000);
  c->expect(create_file(transparent_ef(0x0003, 40)), 0x9000);
  c->expect("00A4000C020002", 0x9000);
  c->expect("00E40000", 0x9000);
  return c->storage().bytes();
}

// `image` changed through the persistent memory, so every checksum still
// vouches for it: only the card OS's own checks can see the damage.
Bytes committed(const Bytes& image, const std::function<void(PersistentMemory&)>& damage) {
  card_os::MemoryStorage s(image.size());
  s.bytes() = image;
  auto m = PersistentMemory::open(s);
  REQUIRE(m.ok());
  card_os::Transaction tx(*m);
  damage(*m);
  tx.commit();
  return s.bytes();
}

void put_u32(PersistentMemory& m, std::uint32_t addr, std::uint32_t v) {
  REQUIRE(m.write_u32(addr, v) == NvmError::none);
}

Result<std::unique_ptr<Card>, CardFailure> power_up(card_os::Storage& s) {
  card_os::DrbgRandom random(as_bytes("power-up"));
  return Card::power_up(s, random);
}
Result<std::unique_ptr<Card>, CardFailure> power_up(const Bytes& image) {
  card_os::MemoryStorage s(image.size());
  s.bytes() = image;
  return power_up(s);
}

// The refusal of `image`, which must be refused with `error`, and a message
// that says `says`.
void check_refused(const Bytes& image, CardError error, NvmError nvm, const std::string& says) {
  auto c = power_up(image);
  REQUIRE_FALSE(c.ok());
  const CardFailure& f = c.error();
  INFO("message: " << f.message());
  CHECK(f.error == error);
  CHECK(f.nvm_error == nvm);
  CHECK(f.message().find(says) != std::string::npos);
}

card_os::NodeRef mf_of(const PersistentMemory& m) {
  return m.u32(kMfAt);
}

}  // namespace

TEST_CASE("power-up: a good image powers up, its heap intact", "[power-up]") {
  const Bytes image = good_image();
  auto c = power_up(image);
  INFO((c ? std::string() : c.error().message()));
  REQUIRE(c.ok());
  CHECK((*c)->life_cycle() == card_os::LifeCycle::personalization);
  card_os::MemoryStorage s(image.size());
  s.bytes() = image;
  auto m = PersistentMemory::open(s);
  REQUIRE(m.ok());
  card_os::Heap heap(*m, kHeapHeadAt, 64, m->capacity());
  CHECK(heap.intact());
  CHECK(heap.allocated(mf_of(*m)));
  CHECK_FALSE(heap.allocated(mf_of(*m) + 4));
  CHECK_FALSE(heap.allocated(m->u32(kHeapHeadAt) + 4));  // a free block's payload
}

TEST_CASE("power-up: a damaged superblock is refused, naming the field", "[power-up]") {
  const Bytes good = good_image();
  check_refused(committed(good, [](auto& m) { put_u32(m, kMagicAt, 0); }),
                CardError::not_a_card_image, NvmError::none, "superblock magic");
  check_refused(
      committed(good, [](auto& m) { REQUIRE(m.write_u16(kVersionAt, 2) == NvmError::none); }),
      CardError::unsupported_layout, NvmError::none, "layout version");
  for (std::uint8_t lcs : {0x00, 0x02, 0x06, 0x0C, 0xFF}) {
    INFO("life-cycle byte " << int{lcs});
    check_refused(
        committed(good, [&](auto& m) { REQUIRE(m.write_u8(kLifeCycleAt, lcs) == NvmError::none); }),
        CardError::bad_life_cycle, NvmError::none, "life-cycle state");
  }
  SECTION("the MF pointer") {
    for (std::uint32_t bad : {0u, 1u, 64u, 0xFFFFFFF0u, 0xFFFFFFFFu}) {
      INFO("MF at " << bad);
      check_refused(committed(good, [&](auto& m) { put_u32(m, kMfAt, bad); }), CardError::bad_mf,
                    NvmError::none, "MF pointer");
    }
    // Inside the MF's node, at a free block, at an EF: none of them is the MF.
    check_refused(committed(good, [](auto& m) { put_u32(m, kMfAt, mf_of(m) + 8); }),
                  CardError::bad_mf, NvmError::none, "MF pointer");
    check_refused(committed(good, [](auto& m) { put_u32(m, kMfAt, m.u32(kHeapHeadAt) + 4); }),
                  CardError::bad_mf, NvmError::none, "MF pointer");
    check_refused(committed(good,
                            [](auto& m) {
                              card_os::Heap heap(m, kHeapHeadAt, 64, m.capacity());
                              const card_os::FileSystem fs(m, heap);
                              put_u32(m, kMfAt, fs.child_by_fid(mf_of(m), 0x0001));
                            }),
                  CardError::bad_mf, NvmError::none, "MF pointer");
  }
  SECTION("the heap") {
    const std::string says = "heap is damaged";
    // The free list: its head off a block, its head gone, its first link gone.
    check_refused(committed(good, [](auto& m) { put_u32(m, kHeapHeadAt, m.u32(kHeapHeadAt) + 4); }),
                  CardError::bad_heap, NvmError::none, says);
    check_refused(committed(good, [](auto& m) { put_u32(m, kHeapHeadAt, 0); }), CardError::bad_heap,
                  NvmError::none, says);
    check_refused(committed(good, [](auto& m) { put_u32(m, kHeapHeadAt, 0xFFFFFFF0u); }),
                  CardError::bad_heap, NvmError::none, says);
    check_refused(committed(good, [](auto& m) { put_u32(m, m.u32(kHeapHeadAt) + 4, 0); }),
                  CardError::bad_heap, NvmError::none, says);
    // A block size: zero, not a multiple of 4, past the end.
    for (std::uint32_t size : {0u, 1u, 90u, 0x10000u, 0xFFFFFFF0u}) {
      INFO("MF block size word " << size);
      check_refused(committed(good, [&](auto& m) { put_u32(m, mf_of(m) - 4, size); }),
                    CardError::bad_heap, NvmError::none, says);
    }
  }
}

TEST_CASE("power-up: an image its checksums do not vouch for is refused", "[power-up]") {
  const Bytes good = good_image();
  auto raw = [&](const std::function<void(Bytes&)>& damage) {
    Bytes b = good;
    damage(b);
    return b;
  };
  check_refused(raw([](Bytes& b) { b[0] = 'X'; }), CardError::nvm, NvmError::not_an_image,
                "card memory: ");
  check_refused(raw([](Bytes& b) { b[9] = 2; }), CardError::nvm, NvmError::unsupported_version,
                "format version");
  check_refused(raw([](Bytes& b) { b[20] ^= 0x01; }), CardError::nvm, NvmError::header_corrupt,
                "header is corrupt");
  check_refused(raw([](Bytes& b) { std::fill_n(b.begin() + kSlotA, 64, 0); }), CardError::nvm,
                NvmError::no_commit_record, "commit record");
  // Any byte of the main area, the superblock's included.
  for (std::size_t at : {std::size_t{6}, std::size_t{100}, std::size_t{40000}}) {
    INFO("main byte " << at);
    check_refused(raw([&](Bytes& b) { b[main_offset() + at] ^= 0x01; }), CardError::nvm,
                  NvmError::data_corrupt, "does not match its last committed state");
  }
}

TEST_CASE("power-up: a commit cut short with its journal damaged is refused", "[power-up]") {
  card_os::MemoryStorage s(good_image().size());
  s.bytes() = good_image();
  {
    card_os::FaultInjector fi(s);
    auto m = PersistentMemory::open(fi);
    REQUIRE(m.ok());
    fi.arm(2);  // journal, commit record, then the apply: cut
    m->begin();
    REQUIRE(m->write_u8(kLifeCycleAt, 0x04) == NvmError::none);  // issued
    CHECK_THROWS_AS(m->commit(), card_os::PowerLoss);
  }
  const Bytes torn = s.bytes();
  {
    auto c = power_up(torn);  // the journal completes the commit
    REQUIRE(c.ok());
    CHECK((*c)->life_cycle() == card_os::LifeCycle::issued);
  }
  Bytes damaged = torn;
  damaged[kJournal + 3] ^= 0x40;
  check_refused(damaged, CardError::nvm, NvmError::data_corrupt, "no intact journal");
}

TEST_CASE("power-up: a truncated image file is refused", "[power-up]") {
  test::TempDir dir;
  const std::string path = dir.file("card.img");
  const Bytes good = good_image();
  for (std::size_t keep :
       {good.size() - 1, good.size() - 4096, std::size_t{200}, std::size_t{10}}) {
    INFO("kept " << keep << " bytes");
    {
      auto f = juki::sim::FileStorage::create(path, good.size());
      REQUIRE(f.ok());
      (*f)->write(0, good);
    }
    std::filesystem::resize_file(path, keep);
    auto f = juki::sim::FileStorage::open(path);
    REQUIRE(f.ok());
    auto c = power_up(**f);
    REQUIRE_FALSE(c.ok());
    INFO("message: " << c.error().message());
    CHECK(c.error().error == CardError::nvm);
    if (keep < 64) {
      CHECK(c.error().nvm_error == NvmError::not_an_image);
    } else {
      CHECK(c.error().nvm_error == NvmError::size_mismatch);
      CHECK(c.error().message().find("smaller than the geometry") != std::string::npos);
    }
  }
}

TEST_CASE("power-up: a structure read outside the memory while starting is refused", "[power-up]") {
  // The MF's list of security objects (node offset 28) points past the end:
  // starting the card follows it (the transport key).
  check_refused(committed(good_image(), [](auto& m) { put_u32(m, mf_of(m) + 28, 0xFFFFFF00u); }),
                CardError::nvm, NvmError::out_of_range, "outside the persistent-memory main area");
}

TEST_CASE("a read outside the memory answers 6F00 and the card goes on", "[power-up]") {
  // EF 0001's contents pointer (node offset 16) moved past the end.
  const Bytes image = committed(good_image(), [](auto& m) {
    card_os::Heap heap(m, kHeapHeadAt, 64, m.capacity());
    const card_os::FileSystem fs(m, heap);
    put_u32(m, fs.child_by_fid(mf_of(m), 0x0001) + 16, 0xFFFFFF00u);
  });
  auto c = TestCard::from_image(image);
  c->open_personalization(test::kTransportKey);  // rights: under the session
  c->expect("00A4000C020001", 0x9000);
  c->expect("00B0000008", 0x6F00);
  // The failure ended the session (secure messaging fails closed): open another.
  CHECK_FALSE(c->in_session());
  c->open_personalization(test::kTransportKey);
  c->expect("00A4000C020001", 0x9000);
  c->expect("00D6000002AABB", 0x6581);  // a write out of range is an error value: 6581
  c->expect("00A4000C020003", 0x9000);
  c->expect("00D6000002AABB", 0x9000);
  c->expect("00B0000002", 0x9000);
  CHECK_FALSE(c->card().mute());
}
