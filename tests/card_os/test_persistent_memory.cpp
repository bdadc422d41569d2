#include <stdlib.h>
#include <zlib.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <functional>
#include <random>
#include <set>
#include <string>

#include "card_os/nvm/persistent_memory.hpp"
#include "card_os/nvm/storage.hpp"
#include "simulator/file_storage.hpp"
#include "support/temp_dir.hpp"

using namespace juki;
using namespace juki::card_os;
using juki::sim::FileStorage;  // the simulator's card image file, on the storage contract

namespace juki::card_os {
// The friend persistent_memory.hpp names: what a transaction keeps in RAM.
struct PersistentMemoryProbe {
  static ByteView undo(const PersistentMemory& m) { return m.undo_bytes_; }
};
}  // namespace juki::card_os

namespace {

// The layout from persistent_memory.hpp, as the tests see it on the storage.
constexpr std::size_t kSlotA = 64;
constexpr std::size_t kSlotB = 96;
constexpr std::size_t kJournal = 128;
std::size_t main_offset(const NvmGeometry& g) {
  return kJournal + g.journal_capacity;
}

// Logs every write and sync on the way to the real medium.
class RecordingStorage final : public Storage {
 public:
  struct Event {
    bool is_sync;
    std::size_t offset;
    std::size_t size;
  };
  explicit RecordingStorage(Storage& inner) : inner_(inner) {}
  std::size_t size() const override { return inner_.size(); }
  void read(std::size_t offset, std::span<std::uint8_t> out) const override {
    inner_.read(offset, out);
  }
  void write(std::size_t offset, ByteView data) override {
    events.push_back({false, offset, data.size()});
    inner_.write(offset, data);
  }
  void sync() override {
    events.push_back({true, 0, 0});
    inner_.sync();
  }
  std::vector<Event> writes() const {
    std::vector<Event> w;
    std::copy_if(events.begin(), events.end(), std::back_inserter(w),
                 [](const Event& e) { return !e.is_sync; });
    return w;
  }
  std::vector<Event> events;

 private:
  Storage& inner_;
};

using test::TempDir;

Bytes random_bytes(std::mt19937& rng, std::size_t n) {
  Bytes b(n);
  for (auto& x : b) x = static_cast<std::uint8_t>(rng());
  return b;
}

Bytes at(const PersistentMemory& m, std::uint32_t addr, std::size_t len) {
  const ByteView v = m.read(addr, static_cast<std::uint32_t>(len));
  return Bytes(v.begin(), v.end());
}

Bytes main_of(const PersistentMemory& m) {
  const ByteView v = m.read(0, m.capacity());
  return Bytes(v.begin(), v.end());
}

void commit_write(PersistentMemory& m, std::uint32_t addr, ByteView data) {
  Transaction t(m);
  REQUIRE(m.write(addr, data) == NvmError::none);
  t.commit();
}

PersistentMemory formatted(Storage& s, const NvmGeometry& g) {
  auto m = PersistentMemory::format(s, g);
  REQUIRE(m.ok());
  return std::move(m).value();
}

PersistentMemory opened(Storage& s) {
  auto m = PersistentMemory::open(s);
  if (!m.ok()) FAIL("open failed: " << describe(m.error()));
  return std::move(m).value();
}

void fix_header_crc(Bytes& img) {
  const auto c = static_cast<std::uint32_t>(::crc32(0, img.data(), 60));
  store_be32(&img[60], c);
}

}  // namespace

TEST_CASE("format gives an all-zero image that opens again") {
  const NvmGeometry g{8192, 2048};
  MemoryStorage s(PersistentMemory::storage_size_for(g));
  CHECK(PersistentMemory::storage_size_for(g) == 64 + 64 + 2048 + 8192);
  auto m = formatted(s, g);
  CHECK(m.capacity() == 8192);
  CHECK(m.geometry().journal_capacity == 2048);
  CHECK(main_of(m) == Bytes(8192, 0));
  CHECK_FALSE(m.in_transaction());
  CHECK(std::equal(s.bytes().begin(), s.bytes().begin() + 8, "JUKINVM1"));

  auto again = opened(s);
  CHECK(again.capacity() == 8192);
  CHECK(again.geometry().capacity == 8192);
  CHECK(again.geometry().journal_capacity == 2048);
  CHECK(main_of(again) == Bytes(8192, 0));
}

TEST_CASE("format rejects bad geometry and small storage") {
  MemoryStorage s(100000);
  CHECK(PersistentMemory::format(s, {0, 1024}).error() == NvmError::bad_geometry);
  CHECK(PersistentMemory::format(s, {1024, 0}).error() == NvmError::bad_geometry);
  CHECK(PersistentMemory::format(s, {0xFFFFFFFF, 1024}).error() == NvmError::bad_geometry);
  CHECK(PersistentMemory::format(s, {1024, 0xFFFFFFFF}).error() == NvmError::bad_geometry);
  CHECK(PersistentMemory::format(s, {100000, 1024}).error() == NvmError::storage_too_small);
  // Nothing was written by the failed formats.
  CHECK(s.bytes() == Bytes(100000, 0));
  const NvmGeometry g{1000, 100};
  MemoryStorage exact(PersistentMemory::storage_size_for(g) - 1);
  CHECK(PersistentMemory::format(exact, g).error() == NvmError::storage_too_small);
}

TEST_CASE("committed data survives reopen, uncommitted and aborted data does not") {
  const NvmGeometry g{5000, 1024};  // last digest block is partial
  MemoryStorage s(PersistentMemory::storage_size_for(g));
  std::mt19937 rng(1);
  const Bytes a = random_bytes(rng, 300);
  const Bytes b = random_bytes(rng, 200);
  {
    auto m = formatted(s, g);
    commit_write(m, 4800, b);
    commit_write(m, 1000, a);
    {
      Transaction t(m);
      REQUIRE(m.write(0, Bytes(50, 0xEE)) == NvmError::none);
      CHECK(at(m, 0, 50) == Bytes(50, 0xEE));  // sees its own writes
    }                                          // guard aborts
    CHECK(at(m, 0, 50) == Bytes(50, 0));
    m.begin();
    REQUIRE(m.write(4999, Bytes{0x77}) == NvmError::none);
    // The object goes away mid-transaction: a power cut before commit.
  }
  auto m = opened(s);
  Bytes expect(5000, 0);
  std::copy(a.begin(), a.end(), expect.begin() + 1000);
  std::copy(b.begin(), b.end(), expect.begin() + 4800);
  CHECK(main_of(m) == expect);
}

TEST_CASE("round trip through a FileStorage image") {
  TempDir dir;
  const std::string path = dir.file("card.img");
  const NvmGeometry g{16 * 1024, 4096};
  std::mt19937 rng(2);
  const Bytes data = random_bytes(rng, 3000);
  {
    auto fs = FileStorage::create(path, PersistentMemory::storage_size_for(g));
    REQUIRE(fs.ok());
    auto m = formatted(**fs, g);
    commit_write(m, 7000, data);
    m.begin();
    REQUIRE(m.write(0, data) == NvmError::none);
    m.abort();
    m.begin();
    REQUIRE(m.write(12000, data) == NvmError::none);  // never committed
  }
  CHECK(std::filesystem::file_size(path) == PersistentMemory::storage_size_for(g));
  auto fs = FileStorage::open(path);
  REQUIRE(fs.ok());
  auto m = opened(**fs);
  Bytes expect(16 * 1024, 0);
  std::copy(data.begin(), data.end(), expect.begin() + 7000);
  CHECK(main_of(m) == expect);
  // Keep working on the reopened image.
  commit_write(m, 0, Bytes{1, 2, 3});
  auto fs2 = FileStorage::open(path);
  REQUIRE(fs2.ok());
  auto m2 = opened(**fs2);
  CHECK(at(m2, 0, 3) == Bytes{1, 2, 3});
  CHECK(at(m2, 7000, 3000) == data);
}

TEST_CASE("open rejects what is not a valid image") {
  const NvmGeometry g{5000, 1024};
  MemoryStorage s(PersistentMemory::storage_size_for(g));
  {
    auto m = formatted(s, g);
    commit_write(m, 100, Bytes{1, 2, 3, 4});
    commit_write(m, 4000, Bytes{5, 6, 7, 8});
  }
  const Bytes good = s.bytes();
  auto open_with = [&](const std::function<void(Bytes&)>& damage) {
    MemoryStorage copy(good.size());
    copy.bytes() = good;
    damage(copy.bytes());
    auto r = PersistentMemory::open(copy);
    return r.ok() ? NvmError::none : r.error();
  };

  CHECK(open_with([](Bytes&) {}) == NvmError::none);
  CHECK(open_with([](Bytes& b) { std::fill(b.begin(), b.end(), 0); }) == NvmError::not_an_image);
  CHECK(open_with([](Bytes& b) { b[0] ^= 0x01; }) == NvmError::not_an_image);
  CHECK(open_with([](Bytes& b) { b[7] = '2'; }) == NvmError::not_an_image);
  {
    MemoryStorage tiny(10);
    CHECK(PersistentMemory::open(tiny).error() == NvmError::not_an_image);
  }

  SECTION("version") {
    CHECK(open_with([](Bytes& b) {
            store_be16(&b[8], 2);
            fix_header_crc(b);
          }) == NvmError::unsupported_version);
    CHECK(open_with([](Bytes& b) { b[9] = 0; }) == NvmError::unsupported_version);
  }
  SECTION("header checksum") {
    for (std::size_t i : {10, 13, 17, 20, 40, 59, 60, 63}) {
      INFO("flipped header byte " << i);
      CHECK(open_with([i](Bytes& b) { b[i] ^= 0x40; }) == NvmError::header_corrupt);
    }
    // A checksum that fits does not make nonsense fields valid.
    CHECK(open_with([](Bytes& b) {
            store_be16(&b[10], 32);
            fix_header_crc(b);
          }) == NvmError::header_corrupt);
    CHECK(open_with([](Bytes& b) {
            store_be32(&b[12], 0);
            fix_header_crc(b);
          }) == NvmError::header_corrupt);
  }
  SECTION("geometry bigger than the storage") {
    CHECK(open_with([](Bytes& b) {
            store_be32(&b[12], 5001);
            fix_header_crc(b);
          }) == NvmError::size_mismatch);
    MemoryStorage shorter(good.size() - 1);
    std::copy(good.begin(), good.end() - 1, shorter.bytes().begin());
    CHECK(PersistentMemory::open(shorter).error() == NvmError::size_mismatch);
  }
  SECTION("main area damage") {
    const std::size_t main = main_offset(g);
    for (std::size_t i : {0, 100, 1023, 1024, 2500, 3999, 4004, 4999}) {
      INFO("flipped main byte " << i);
      CHECK(open_with([&](Bytes& b) { b[main + i] ^= 0x01; }) == NvmError::data_corrupt);
    }
    // Bytes the last commit's journal still holds are rewritten by the replay.
    MemoryStorage copy(good.size());
    copy.bytes() = good;
    copy.bytes()[main + 4003] ^= 0x01;
    CHECK(at(opened(copy), 4000, 4) == Bytes{5, 6, 7, 8});
    CHECK(copy.bytes() == good);
  }
  SECTION("commit slots") {
    // Both gone: nothing vouches for the data.
    CHECK(open_with([](Bytes& b) {
            b[kSlotA + 5] ^= 1;
            b[kSlotB + 5] ^= 1;
          }) == NvmError::no_commit_record);
    CHECK(open_with([](Bytes& b) { std::fill_n(b.begin() + kSlotA, 64, 0); }) ==
          NvmError::no_commit_record);
    // seq 3 (the last commit) is in slot B; losing the older slot A is harmless.
    CHECK(open_with([](Bytes& b) { b[kSlotA + 20] ^= 1; }) == NvmError::none);
    // Losing the newest falls back to seq 2, whose digest the main area no longer has.
    CHECK(open_with([](Bytes& b) { b[kSlotB + 20] ^= 1; }) == NvmError::data_corrupt);
    // A record in the wrong slot is not trusted.
    CHECK(open_with([](Bytes& b) {
            std::copy_n(b.begin() + kSlotB, 32, b.begin() + kSlotA);
            std::fill_n(b.begin() + kSlotB, 32, 0);
          }) == NvmError::no_commit_record);
  }
  SECTION("a damaged journal of a finished commit is ignored") {
    CHECK(open_with([](Bytes& b) { b[kJournal + 7] ^= 0xFF; }) == NvmError::none);
  }
  SECTION("a malformed journal its record vouches for") {
    // Entries past the main area, under a record (seq 3, slot B) with their CRC.
    for (const Bytes& journal : {Bytes{0x00, 0x00, 0x13, 0x88, 0x00, 0x01, 0xAA},  // addr 5000
                                 Bytes{0x00, 0x00, 0x00, 0x10, 0x00, 0x04, 0xAA},  // cut short
                                 Bytes{0x00, 0x00, 0x00, 0x10, 0x00, 0x00}}) {     // length 0
      INFO("journal " << to_hex(journal));
      CHECK(open_with([&](Bytes& b) {
              std::copy(journal.begin(), journal.end(), b.begin() + kJournal);
              store_be32(&b[kSlotB + 12], static_cast<std::uint32_t>(journal.size()));
              store_be32(&b[kSlotB + 16],
                         static_cast<std::uint32_t>(::crc32(0, journal.data(), journal.size())));
              store_be32(&b[kSlotB + 28], static_cast<std::uint32_t>(::crc32(0, &b[kSlotB], 28)));
            }) == NvmError::journal_corrupt);
    }
  }
}

TEST_CASE("open: a commit cut while applying, its journal damaged, is data_corrupt") {
  const NvmGeometry g{4096, 1024};
  MemoryStorage s(PersistentMemory::storage_size_for(g));
  { auto m = formatted(s, g); }
  {
    FaultInjector fi(s);
    auto m = opened(fi);
    fi.arm(2);  // journal, record, then the apply
    m.begin();
    REQUIRE(m.write(100, Bytes(40, 0x5A)) == NvmError::none);
    CHECK_THROWS_AS(m.commit(), PowerLoss);
  }
  Bytes intact = s.bytes();
  {
    auto m = opened(s);  // the journal completes the commit
    CHECK(at(m, 100, 40) == Bytes(40, 0x5A));
  }
  s.bytes() = intact;
  s.bytes()[kJournal + 2] ^= 0x01;  // the journal no longer matches its record
  auto r = PersistentMemory::open(s);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error() == NvmError::data_corrupt);
}

TEST_CASE("open of a truncated image file is a size mismatch") {
  TempDir dir;
  const std::string path = dir.file("card.img");
  const NvmGeometry g{4096, 1024};
  {
    auto fs = FileStorage::create(path, PersistentMemory::storage_size_for(g));
    REQUIRE(fs.ok());
    auto m = formatted(**fs, g);
    commit_write(m, 10, Bytes{1});
  }
  std::filesystem::resize_file(path, PersistentMemory::storage_size_for(g) - 100);
  auto fs = FileStorage::open(path);
  REQUIRE(fs.ok());
  auto r = PersistentMemory::open(**fs);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error() == NvmError::size_mismatch);
}

TEST_CASE("describe gives a distinct sentence for every error") {
  std::set<std::string> seen;
  for (int e = 0; e <= static_cast<int>(NvmError::journal_mismatch); ++e) {
    const std::string d = describe(static_cast<NvmError>(e));
    INFO("error " << e << ": " << d);
    CHECK(d.size() > 5);
    CHECK(d.back() == '.');
    seen.insert(d);
  }
  CHECK(seen.size() == static_cast<std::size_t>(NvmError::journal_mismatch) + 1);
  CHECK(std::string(NvmFault(NvmError::out_of_range).what()) == describe(NvmError::out_of_range));
}

// These hold with NDEBUG too: the default preset (RelWithDebInfo) runs them.
TEST_CASE("reads outside the main area throw NvmFault, in every build") {
  const NvmGeometry g{4096, 1024};
  MemoryStorage s(PersistentMemory::storage_size_for(g));
  auto m = formatted(s, g);
  commit_write(m, 4088, Bytes{1, 2, 3, 4, 5, 6, 7, 8});
  auto fault = [](const std::function<void()>& read) {
    try {
      read();
    } catch (const NvmFault& f) {
      return f.error();
    }
    return NvmError::none;
  };
  CHECK(fault([&] { (void)m.read(4096, 1); }) == NvmError::out_of_range);
  CHECK(fault([&] { (void)m.read(4095, 2); }) == NvmError::out_of_range);
  CHECK(fault([&] { (void)m.read(0, 0xFFFFFFFF); }) == NvmError::out_of_range);
  CHECK(fault([&] { (void)m.read(0xFFFFFFFF, 2); }) == NvmError::out_of_range);
  CHECK(fault([&] { (void)m.u8(4096); }) == NvmError::out_of_range);
  CHECK(fault([&] { (void)m.u16(4095); }) == NvmError::out_of_range);
  CHECK(fault([&] { (void)m.u32(4093); }) == NvmError::out_of_range);
  CHECK(fault([&] { (void)m.u32(0xFFFFFFFE); }) == NvmError::out_of_range);
  CHECK(fault([&] { (void)m.u64(4089); }) == NvmError::out_of_range);
  // Edges that fit.
  CHECK(m.read(4096, 0).empty());
  CHECK(m.read(4088, 8).size() == 8);
  CHECK(m.u8(4095) == 8);
  CHECK(m.u16(4094) == 0x0708);
  CHECK(m.u32(4092) == 0x05060708u);
  CHECK(m.u64(4088) == 0x0102030405060708u);
  // Inside a transaction too; the transaction stays usable.
  Transaction t(m);
  REQUIRE(m.write_u8(0, 1) == NvmError::none);
  CHECK(fault([&] { (void)m.u32(4094); }) == NvmError::out_of_range);
  CHECK(m.in_transaction());
  t.commit();
  CHECK(opened(s).u8(0) == 1);
}

TEST_CASE("a misused transaction is refused before anything is written, in every build") {
  const NvmGeometry g{4096, 1024};
  MemoryStorage mem(PersistentMemory::storage_size_for(g));
  { auto m = formatted(mem, g); }
  auto fault = [](const std::function<void()>& step) {
    try {
      step();
    } catch (const NvmFault& f) {
      return f.error();
    }
    return NvmError::none;
  };

  SECTION("commit outside a transaction") {
    RecordingStorage rec(mem);
    auto m = opened(rec);
    CHECK(fault([&] { m.commit(); }) == NvmError::no_transaction);
    commit_write(m, 0, Bytes{1});
    rec.events.clear();
    CHECK(fault([&] { m.commit(); }) == NvmError::no_transaction);
    CHECK(rec.events.empty());
  }
  SECTION("begin inside a transaction: the outer one is rolled back by its guard") {
    RecordingStorage rec(mem);
    auto m = opened(rec);
    CHECK(fault([&] {
            Transaction outer(m);
            REQUIRE(m.write_u8(10, 0xAB) == NvmError::none);
            Transaction inner(m);  // throws
            outer.commit();
          }) == NvmError::nested_transaction);
    CHECK_FALSE(m.in_transaction());
    CHECK(m.u8(10) == 0);
    CHECK(rec.events.empty());
    commit_write(m, 10, Bytes{0xCD});  // the memory goes on
    CHECK(opened(mem).u8(10) == 0xCD);
  }
  SECTION("use after a power loss cut a commit short") {
    FaultInjector fi(mem);
    auto m = opened(fi);
    fi.arm(1);  // the commit record
    m.begin();
    REQUIRE(m.write_u8(20, 0x11) == NvmError::none);
    CHECK_THROWS_AS(m.commit(), PowerLoss);
    const std::uint64_t writes = fi.writes();
    CHECK(fault([&] { m.commit(); }) == NvmError::needs_reopen);
    m.abort();
    CHECK(fault([&] { m.begin(); }) == NvmError::needs_reopen);
    CHECK(fault([&] { Transaction t(m); }) == NvmError::needs_reopen);
    CHECK(fi.writes() == writes);
    CHECK(opened(mem).u8(20) == 0);  // the record never made it: the old state
  }
}

TEST_CASE("writes need a transaction and a range inside the main area") {
  const NvmGeometry g{4096, 1024};
  MemoryStorage s(PersistentMemory::storage_size_for(g));
  auto m = formatted(s, g);
  const Bytes before_storage = s.bytes();

  CHECK(m.write(0, Bytes{1}) == NvmError::no_transaction);
  CHECK(m.write_u8(0, 1) == NvmError::no_transaction);
  CHECK(m.write_u16(0, 1) == NvmError::no_transaction);
  CHECK(m.write_u32(0, 1) == NvmError::no_transaction);
  CHECK(m.fill(0, 10, 1) == NvmError::no_transaction);
  CHECK(main_of(m) == Bytes(4096, 0));

  m.begin();
  CHECK(m.in_transaction());
  REQUIRE(m.write(4000, Bytes{9, 9}) == NvmError::none);
  const Bytes snapshot = main_of(m);
  const std::uint32_t pending = m.journal_bytes_pending();
  CHECK(m.write(4096, Bytes{1}) == NvmError::out_of_range);
  CHECK(m.write(4095, Bytes{1, 2}) == NvmError::out_of_range);
  CHECK(m.write(0xFFFFFFFF, Bytes{1, 2}) == NvmError::out_of_range);
  CHECK(m.write_u16(4095, 0xABCD) == NvmError::out_of_range);
  CHECK(m.write_u32(4093, 0xABCDEF01) == NvmError::out_of_range);
  CHECK(m.fill(1, 0xFFFFFFFF, 7) == NvmError::out_of_range);
  CHECK(main_of(m) == snapshot);
  CHECK(m.journal_bytes_pending() == pending);
  // Edges that fit.
  CHECK(m.write(4096, Bytes{}) == NvmError::none);
  CHECK(m.write_u32(4092, 0x01020304) == NvmError::none);
  CHECK(m.u32(4092) == 0x01020304u);
  m.commit();
  CHECK_FALSE(m.in_transaction());
  auto again = opened(s);
  CHECK(again.u32(4092) == 0x01020304u);
  CHECK(again.u8(4000) == 9);
  CHECK(before_storage != s.bytes());
}

TEST_CASE("the undo data of a transaction is wiped when the transaction ends") {
  const NvmGeometry g{4096, 1024};
  MemoryStorage s(PersistentMemory::storage_size_for(g));
  auto m = formatted(s, g);
  std::mt19937 rng(8);
  const Bytes first = random_bytes(rng, 64);  // say, a key and its replacement
  const Bytes second = random_bytes(rng, 64);
  commit_write(m, 200, first);
  auto zero = [](ByteView b) {
    return std::all_of(b.begin(), b.end(), [](std::uint8_t x) { return x == 0; });
  };

  // The buffer outlives the transaction (kept for the next): its bytes are read after it ends.
  m.begin();
  REQUIRE(m.write(200, second) == NvmError::none);
  ByteView undo = PersistentMemoryProbe::undo(m);
  REQUIRE(Bytes(undo.begin(), undo.end()) == first);
  m.commit();
  CHECK(PersistentMemoryProbe::undo(m).empty());
  CHECK(zero(undo));

  m.begin();
  REQUIRE(m.write(200, first) == NvmError::none);
  undo = PersistentMemoryProbe::undo(m);
  REQUIRE(Bytes(undo.begin(), undo.end()) == second);
  m.abort();
  CHECK(at(m, 200, 64) == second);
  CHECK(zero(undo));
}

TEST_CASE("journal_full leaves memory unchanged and the transaction open") {
  const NvmGeometry g{4096, 256};
  MemoryStorage s(PersistentMemory::storage_size_for(g));
  auto m = formatted(s, g);
  commit_write(m, 0, Bytes(100, 0x11));

  // Random bytes: no runs, so every entry is a literal one (6 + length).
  std::mt19937 rng(21);
  m.begin();
  REQUIRE(m.write(0, random_bytes(rng, 100)) == NvmError::none);     // 106
  REQUIRE(m.write(1000, random_bytes(rng, 100)) == NvmError::none);  // 212
  REQUIRE(m.write(2000, random_bytes(rng, 38)) == NvmError::none);   // 256: exactly full
  CHECK(m.journal_bytes_pending() == 256);
  const Bytes snapshot = main_of(m);

  CHECK(m.write(3000, Bytes{1}) == NvmError::journal_full);  // new entry: +7
  CHECK(m.write(2038, Bytes{1}) == NvmError::journal_full);  // extends a range: +1
  CHECK(m.write(50, random_bytes(rng, 1000)) == NvmError::journal_full);
  CHECK(m.fill(3500, 2, 0) == NvmError::journal_full);
  CHECK(main_of(m) == snapshot);
  CHECK(m.journal_bytes_pending() == 256);
  CHECK(m.in_transaction());
  // Rewriting dirty bytes costs nothing and still works.
  CHECK(m.write(10, Bytes{0x66}) == NvmError::none);
  CHECK(m.journal_bytes_pending() == 256);

  SECTION("abort after journal_full") {
    m.abort();
    Bytes expect(4096, 0);
    std::fill_n(expect.begin(), 100, 0x11);  // the committed state before the transaction
    CHECK(main_of(m) == expect);
    CHECK(main_of(opened(s)) == expect);
  }
  SECTION("commit of the exactly full journal") {
    m.commit();
    Bytes expect = snapshot;
    expect[10] = 0x66;
    CHECK(main_of(m) == expect);
    CHECK(main_of(opened(s)) == expect);
  }
}

TEST_CASE("journal_bytes_pending is exact for merged ranges") {
  const NvmGeometry g{200 * 1024, 160 * 1024};
  MemoryStorage s(PersistentMemory::storage_size_for(g));
  auto m = formatted(s, g);
  m.begin();
  CHECK(m.journal_bytes_pending() == 0);
  REQUIRE(m.write(10, Bytes(5, 1)) == NvmError::none);
  CHECK(m.journal_bytes_pending() == 6 + 5);
  REQUIRE(m.write(15, Bytes(5, 2)) == NvmError::none);  // touches: merges
  CHECK(m.journal_bytes_pending() == 6 + 10);
  REQUIRE(m.write(5, Bytes(5, 3)) == NvmError::none);  // touches on the left
  CHECK(m.journal_bytes_pending() == 6 + 15);
  REQUIRE(m.write(100, Bytes(1, 4)) == NvmError::none);
  CHECK(m.journal_bytes_pending() == 6 + 15 + 6 + 1);
  REQUIRE(m.write(50, Bytes(3, 4)) == NvmError::none);
  CHECK(m.journal_bytes_pending() == 6 + 15 + 6 + 3 + 6 + 1);
  REQUIRE(m.write(12, Bytes(3, 5)) == NvmError::none);  // inside: no change
  CHECK(m.journal_bytes_pending() == 6 + 15 + 6 + 3 + 6 + 1);
  REQUIRE(m.write(0, Bytes(200, 6)) == NvmError::none);  // swallows all three
  CHECK(m.journal_bytes_pending() == 7);                 // one repeated byte: a single fill entry
  REQUIRE(m.write(199, Bytes(2, 7)) == NvmError::none);
  CHECK(m.journal_bytes_pending() == 7 + 6 + 2);  // fill of 199, then a 2-byte literal
  REQUIRE(m.write(100, Bytes{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}) ==
          NvmError::none);  // splits the fill: fill 100, literal 16, fill 83, literal 2
  CHECK(m.journal_bytes_pending() == 7 + (6 + 16) + 7 + (6 + 2));
  REQUIRE(m.write(116, Bytes(4, 9)) == NvmError::none);  // runs under 16 bytes stay literal
  CHECK(m.journal_bytes_pending() == 7 + (6 + 20) + 7 + (6 + 2));
  m.abort();
  CHECK(m.journal_bytes_pending() == 0);
  CHECK(main_of(m) == Bytes(g.capacity, 0));

  // Ranges over 65535 bytes take one entry header per 65535 bytes.
  std::mt19937 rng(3);
  const Bytes big = random_bytes(rng, 150000);
  m.begin();
  REQUIRE(m.write(1000, big) == NvmError::none);
  CHECK(m.journal_bytes_pending() == 150000 + 3 * 6);
  m.commit();
  CHECK(at(m, 1000, 150000) == big);
  CHECK(at(opened(s), 1000, 150000) == big);
}

TEST_CASE("abort restores overlapping writes, and u16/u32 are big-endian") {
  const NvmGeometry g{4096, 1024};
  MemoryStorage s(PersistentMemory::storage_size_for(g));
  auto m = formatted(s, g);
  std::mt19937 rng(4);
  const Bytes base = random_bytes(rng, 4096);
  for (std::uint32_t a = 0; a < 4096; a += 1000) {
    commit_write(m, a, ByteView(base).subspan(a, std::min<std::uint32_t>(1000, 4096 - a)));
  }
  REQUIRE(main_of(m) == base);
  const Bytes storage_before = s.bytes();

  m.begin();
  REQUIRE(m.write_u16(100, 0xA1B2) == NvmError::none);
  CHECK(at(m, 100, 2) == Bytes{0xA1, 0xB2});
  CHECK(m.u16(100) == 0xA1B2);
  REQUIRE(m.write_u32(98, 0x01020304) == NvmError::none);
  CHECK(at(m, 98, 5) == Bytes{1, 2, 3, 4, base[102]});
  REQUIRE(m.fill(90, 20, 0xCC) == NvmError::none);
  REQUIRE(m.write_u8(2000, 0x5A) == NvmError::none);
  REQUIRE(m.write(95, m.read(2000, 30)) == NvmError::none);  // source inside the memory
  CHECK(m.u8(95) == 0x5A);
  m.abort();
  CHECK_FALSE(m.in_transaction());
  CHECK(main_of(m) == base);
  CHECK(s.bytes() == storage_before);  // abort never touches storage
}

TEST_CASE("an empty commit writes nothing, nor does a clean open") {
  const NvmGeometry g{4096, 1024};
  MemoryStorage mem(PersistentMemory::storage_size_for(g));
  { auto m = formatted(mem, g); }
  RecordingStorage rec(mem);
  auto m = opened(rec);
  CHECK(rec.events.empty());
  const NvmStats before = m.stats();
  m.begin();
  m.commit();
  CHECK(rec.events.empty());
  CHECK(m.stats().storage_writes == before.storage_writes);
  CHECK(m.stats().commits == before.commits);
  commit_write(m, 5, Bytes{1});
  CHECK(m.stats().commits == before.commits + 1);
  rec.events.clear();
  auto again = opened(rec);
  CHECK(rec.events.empty());  // the apply finished: replay finds nothing to write
  CHECK(again.u8(5) == 1);
}

TEST_CASE("commit writes and syncs in the documented order") {
  const NvmGeometry g{4096, 1024};
  MemoryStorage mem(PersistentMemory::storage_size_for(g));
  { auto m = formatted(mem, g); }
  RecordingStorage rec(mem);
  auto m = opened(rec);
  const std::size_t main = main_offset(g);

  m.begin();
  REQUIRE(m.write(10, Bytes(4, 1)) == NvmError::none);
  REQUIRE(m.write(2000, Bytes(8, 2)) == NvmError::none);
  m.commit();  // seq 2 -> slot A
  using E = RecordingStorage::Event;
  auto same = [](const std::vector<E>& a, const std::vector<E>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const E& x, const E& y) {
      return x.is_sync == y.is_sync && x.offset == y.offset && x.size == y.size;
    });
  };
  CHECK(same(rec.events, {{false, kJournal, 6 + 4 + 6 + 8},
                          {true, 0, 0},
                          {false, kSlotA, 32},
                          {true, 0, 0},
                          {false, main + 10, 4},
                          {false, main + 2000, 8}}));
  rec.events.clear();
  m.begin();
  REQUIRE(m.write(3000, Bytes(3, 3)) == NvmError::none);
  m.commit();  // seq 3 -> slot B, after syncing the previous apply
  // The journal write covers the longer journal before it with zeros.
  CHECK(same(rec.events, {{true, 0, 0},
                          {false, kJournal, 6 + 4 + 6 + 8},
                          {true, 0, 0},
                          {false, kSlotB, 32},
                          {true, 0, 0},
                          {false, main + 3000, 3}}));
}

TEST_CASE("the journal area keeps nothing of an earlier, longer transaction") {
  const NvmGeometry g{4096, 1024};
  MemoryStorage mem(PersistentMemory::storage_size_for(g));
  std::mt19937 rng(7);
  const Bytes secret = random_bytes(rng, 200);
  auto journal_area = [&]() {
    return Bytes(mem.bytes().begin() + kJournal, mem.bytes().begin() + kJournal + 1024);
  };
  auto holds_secret = [&](const Bytes& b) {
    return std::search(b.begin(), b.end(), secret.begin(), secret.end()) != b.end();
  };
  {
    auto m = formatted(mem, g);
    commit_write(m, 100, secret);
    REQUIRE(holds_secret(journal_area()));
    // Wiped in a later, shorter transaction: nothing of it anywhere.
    Transaction t(m);
    REQUIRE(m.fill(100, 200, 0) == NvmError::none);
    t.commit();
    CHECK_FALSE(holds_secret(mem.bytes()));
    const Bytes area = journal_area();
    CHECK(std::all_of(area.begin() + 7, area.end(), [](std::uint8_t b) { return b == 0; }));
  }
  // Across a power-up: what an earlier journal left is found and overwritten.
  {
    auto m = opened(mem);
    commit_write(m, 100, secret);
  }
  {
    auto m = opened(mem);
    commit_write(m, 3000, Bytes{1});
    CHECK_FALSE(holds_secret(journal_area()));
    CHECK(holds_secret(main_of(m)));
  }
  auto m = opened(mem);
  CHECK(m.u8(3000) == 1);
  CHECK(at(m, 100, 200) == secret);
}

TEST_CASE("stats: a 256-byte transaction costs about twice its size") {
  const NvmGeometry g{64 * 1024, 8 * 1024};
  MemoryStorage s(PersistentMemory::storage_size_for(g));
  auto m = formatted(s, g);
  std::mt19937 rng(5);
  const NvmStats before = m.stats();
  commit_write(m, 12345, random_bytes(rng, 256));
  const std::uint64_t bytes = m.stats().bytes_written - before.bytes_written;
  const std::uint64_t writes = m.stats().storage_writes - before.storage_writes;
  WARN("a 256-byte transaction wrote " << bytes << " bytes in " << writes << " storage writes");
  CHECK(bytes >= 2 * 256);
  CHECK(bytes <= 3 * 256 + 64);
  CHECK(writes == 3);
  CHECK(m.stats().commits == before.commits + 1);
}

namespace {

// One tearing scenario: a pre-state image and a transaction to run on it.
struct TearResult {
  std::size_t commit_tears = 0;
  std::size_t recovery_tears = 0;
};

TearResult tear_every_write(const Bytes& pre, const std::function<void(PersistentMemory&)>& tx) {
  TearResult out;
  MemoryStorage clean(pre.size());
  clean.bytes() = pre;
  Bytes old_main;
  Bytes new_main;
  std::vector<RecordingStorage::Event> writes;
  {
    RecordingStorage rec(clean);
    auto m = opened(rec);
    old_main = main_of(m);
    Transaction t(m);
    tx(m);
    new_main = main_of(m);
    t.commit();
    writes = rec.writes();
  }
  REQUIRE(old_main != new_main);
  REQUIRE(main_of(opened(clean)) == new_main);
  const auto record = std::find_if(writes.begin(), writes.end(), [](const auto& w) {
    return w.offset == kSlotA || w.offset == kSlotB;
  });
  REQUIRE(record != writes.end());
  const auto record_index = static_cast<std::size_t>(record - writes.begin());

  for (std::size_t i = 0; i < writes.size(); ++i) {
    const std::size_t size = writes[i].size;
    for (std::size_t prefix : std::set<std::size_t>{0, size / 2, size - 1}) {
      INFO("tear at write " << i << " of " << writes.size() << " (offset " << writes[i].offset
                            << ", size " << size << "), prefix " << prefix);
      MemoryStorage s(pre.size());
      s.bytes() = pre;
      {
        FaultInjector fi(s);
        auto m = opened(fi);
        fi.arm(i, prefix);
        Transaction t(m);
        tx(m);
        REQUIRE_THROWS_AS(t.commit(), PowerLoss);
        REQUIRE(fi.fired());
      }  // the guard aborts on the dead object during unwinding: must be harmless
      ++out.commit_tears;
      const Bytes torn = s.bytes();

      // Count the writes recovery needs, then tear each of them too.
      std::vector<RecordingStorage::Event> replay;
      {
        MemoryStorage probe(pre.size());
        probe.bytes() = torn;
        RecordingStorage rec(probe);
        auto m = opened(rec);
        replay = rec.writes();
        const Bytes got = main_of(m);
        REQUIRE((got == old_main || got == new_main));
        if (i < record_index) CHECK(got == old_main);
        if (i > record_index) CHECK(got == new_main);
        if (!replay.empty()) CHECK(got == new_main);
      }
      for (std::size_t j = 0; j < replay.size(); ++j) {
        const std::size_t rsize = replay[j].size;
        for (std::size_t rprefix : std::set<std::size_t>{0, rsize / 2, rsize - 1}) {
          INFO("then tear recovery write " << j << " of " << replay.size() << ", prefix "
                                           << rprefix);
          MemoryStorage r(pre.size());
          r.bytes() = torn;
          {
            FaultInjector fi(r);
            fi.arm(j, rprefix);
            REQUIRE_THROWS_AS((void)PersistentMemory::open(fi), PowerLoss);
          }
          ++out.recovery_tears;
          CHECK(main_of(opened(r)) == new_main);
        }
      }

      // The recovered image keeps working: commit on it and power-cycle again.
      auto m = opened(s);
      const Bytes recovered = main_of(m);
      commit_write(m, 7, Bytes{0xF0, 0x0F});
      Bytes expect = recovered;
      expect[7] = 0xF0;
      expect[8] = 0x0F;
      CHECK(main_of(opened(s)) == expect);
    }
  }
  return out;
}

}  // namespace

TEST_CASE("a power cut at any write of a commit leaves the old or the new state") {
  const NvmGeometry g{4096, 1024};
  MemoryStorage base(PersistentMemory::storage_size_for(g));
  std::mt19937 rng(6);
  const Bytes fill = random_bytes(rng, g.capacity);
  {
    auto m = formatted(base, g);
    // Several commits, so both slots and the journal hold real, older content.
    for (std::uint32_t a = 0; a < g.capacity; a += 900) {
      commit_write(m, a, ByteView(fill).subspan(a, std::min<std::uint32_t>(900, g.capacity - a)));
    }
  }
  const Bytes pre = base.bytes();
  TearResult total;
  auto add = [&](const char* name, TearResult r) {
    INFO(name << ": " << r.commit_tears << " commit tears, " << r.recovery_tears
              << " recovery tears");
    CHECK(r.commit_tears >= 6);
    total.commit_tears += r.commit_tears;
    total.recovery_tears += r.recovery_tears;
  };

  // Each transaction must do the same thing every time it runs: its own seeded rng.
  add("scattered", tear_every_write(pre, [](PersistentMemory& m) {
        std::mt19937 r(60);
        REQUIRE(m.write(10, random_bytes(r, 20)) == NvmError::none);
        REQUIRE(m.write(1000, random_bytes(r, 100)) == NvmError::none);  // crosses 1024
        REQUIRE(m.write(1020, random_bytes(r, 8)) == NvmError::none);    // overlaps
        REQUIRE(m.write_u32(25, 0xDEADBEEF) == NvmError::none);          // overlaps the first
        REQUIRE(m.write(30, random_bytes(r, 5)) == NvmError::none);      // touches the first
        REQUIRE(m.fill(2000, 50, 0x00) == NvmError::none);
        // Every other byte unchanged: recovery has several separate runs to rewrite.
        const ByteView cur = m.read(2040, 40);
        Bytes alt(cur.begin(), cur.end());
        for (std::size_t k = 0; k < alt.size(); k += 2) alt[k] ^= 0xFF;
        REQUIRE(m.write(2040, alt) == NvmError::none);
        REQUIRE(m.write_u16(3000, 0x1234) == NvmError::none);
        REQUIRE(m.write(4090, random_bytes(r, 6)) == NvmError::none);  // end of the area
        REQUIRE(m.write_u8(3071, 0x99) == NvmError::none);
      }));
  add("many ranges", tear_every_write(pre, [](PersistentMemory& m) {
        std::mt19937 r(61);
        for (std::uint32_t a = 100; a < 4000; a += 331) {
          REQUIRE(m.write_u8(a, static_cast<std::uint8_t>(m.u8(a) + 1)) == NvmError::none);
        }
        REQUIRE(m.write(1500, random_bytes(r, 700)) == NvmError::none);
      }));
  add("no-op write", tear_every_write(pre, [](PersistentMemory& m) {
        const ByteView cur = m.read(500, 64);
        const Bytes same(cur.begin(), cur.end());
        REQUIRE(m.write(500, same) == NvmError::none);
        REQUIRE(m.write_u8(600, static_cast<std::uint8_t>(m.u8(600) ^ 0x80)) == NvmError::none);
      }));
  WARN("tear points checked: " << total.commit_tears << " during commit, " << total.recovery_tears
                               << " during recovery");
}

TEST_CASE("a power cut while applying a multi-entry range is recovered") {
  const NvmGeometry g{200 * 1024, 160 * 1024};
  MemoryStorage base(PersistentMemory::storage_size_for(g));
  { auto m = formatted(base, g); }
  const Bytes pre = base.bytes();
  std::mt19937 rng(7);
  const Bytes big = random_bytes(rng, 140000);
  for (std::size_t prefix : {std::size_t{0}, std::size_t{70000}, big.size() - 1}) {
    MemoryStorage s(pre.size());
    s.bytes() = pre;
    {
      FaultInjector fi(s);
      auto m = opened(fi);
      fi.arm(2, prefix);  // journal, record, then the apply
      m.begin();
      REQUIRE(m.write(3000, big) == NvmError::none);
      CHECK_THROWS_AS(m.commit(), PowerLoss);
    }
    auto m = opened(s);
    CHECK(at(m, 3000, big.size()) == big);
  }
}

TEST_CASE("fill entries: wiping a large area costs a few journal bytes and survives tearing") {
  // A journal of 256 bytes, a main area of 96 KiB: a 90 KiB wipe must fit.
  const NvmGeometry g{96 * 1024, 256};
  MemoryStorage s(PersistentMemory::storage_size_for(g));
  std::mt19937 rng(11);
  const Bytes before = random_bytes(rng, g.capacity);
  {
    PersistentMemory m = formatted(s, g);
    for (std::uint32_t a = 0; a < g.capacity; a += 200)  // fill the image in journal-sized steps
      commit_write(m, a, ByteView(before).subspan(a, std::min<std::uint32_t>(200, g.capacity - a)));
  }
  Bytes after = before;
  std::fill(after.begin() + 1000, after.begin() + 1000 + 90 * 1024, 0);
  after[50] = 0xAB;
  const Bytes image = s.bytes();

  auto run = [&](PersistentMemory& m) {
    m.begin();
    REQUIRE(m.fill(1000, 90 * 1024, 0) == NvmError::none);
    REQUIRE(m.write_u8(50, 0xAB) == NvmError::none);
    CHECK(m.journal_bytes_pending() == 2 * 7 + (6 + 1));  // 90 KiB: two fill entries
    m.commit();
  };
  {
    PersistentMemory m = opened(s);
    run(m);
    CHECK(main_of(m) == after);
    CHECK(main_of(opened(s)) == after);
  }
  // Every write of that commit, cut: old or new, never a mix.
  s.bytes() = image;
  FaultInjector counter(s);
  {
    auto m = PersistentMemory::open(counter);
    REQUIRE(m);
    const std::uint64_t start = counter.writes();
    run(*m);
    const std::uint64_t writes = counter.writes() - start;
    std::size_t checked = 0;
    for (std::uint64_t i = 0; i < writes; ++i) {
      s.bytes() = image;
      FaultInjector f(s);
      auto fresh = PersistentMemory::open(f);
      REQUIRE(fresh);
      f.arm(f.writes() + i, 3);
      CHECK_THROWS_AS(run(*fresh), PowerLoss);
      const Bytes got = main_of(opened(s));
      CHECK((got == before || got == after));
      ++checked;
    }
    CHECK(checked == writes);
  }
}
