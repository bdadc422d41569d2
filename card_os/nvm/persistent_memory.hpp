// PersistentMemory: the card's byte-addressed persistent memory, with
// transactions that survive a power cut at any single storage write.
//
// Layout on the storage (all integers big-endian):
//   [device header 64 B][commit slot A 32 B][commit slot B 32 B][journal][main area]
// Writes inside a transaction change a RAM working copy of the main area and
// are remembered as dirty ranges (plus undo data for abort). commit():
//   1. writes the merged dirty ranges to the journal area as entries
//      [u32 addr][u16 len][data], runs of one repeated byte as fill entries
//      [u32 addr | 0x80000000][u16 len][u8 value], then sync();
//   2. writes a commit record (seq, journal length and CRC, digest of the main
//      area after the transaction, record CRC) to slot (seq % 2), then sync();
//      this write is the atomic point;
//   3. applies the ranges to the main area (synced before the next commit's
//      journal write).
// open() (power-up) checks the header, takes the valid record with the highest
// seq, replays its journal if the journal still matches it (writing only bytes
// that differ), then checks the main area against the record's digest.
//
// The RAM copies a transaction makes (the working copy of the main area, the
// undo data, the journal being written or replayed) hold keys and PIN digests
// when those are written: they are SecretBytes, wiped when released.
#pragma once

#include <cstdint>
#include <exception>
#include <utility>
#include <vector>

#include "card_os/nvm/storage.hpp"
#include "common/bytes.hpp"
#include "common/result.hpp"
#include "common/secure_wipe.hpp"

namespace juki::card_os {

struct NvmGeometry {
  std::uint32_t capacity = 64 * 1024;         // main area: what the card OS can use
  std::uint32_t journal_capacity = 8 * 1024;  // largest transaction, with entry headers
};

enum class NvmError : std::uint8_t {
  none,
  storage_too_small,  // format: storage smaller than the geometry needs
  bad_geometry,       // format: capacity or journal capacity out of range
  not_an_image,       // open: header magic missing
  unsupported_version,
  header_corrupt,      // open: header checksum fails
  size_mismatch,       // open: storage size differs from the header's geometry
  no_commit_record,    // open: neither commit slot holds a valid record
  journal_corrupt,     // open: the journal matches its record's CRC but is malformed
  data_corrupt,        // open: main area does not match the committed digest
  journal_full,        // write: the transaction would not fit the journal
  out_of_range,        // write: returned; read: thrown (NvmFault)
  no_transaction,      // write: returned; commit: thrown
  nested_transaction,  // begin inside a transaction: thrown
  needs_reopen,        // begin or commit after a power loss cut a commit short: thrown
  journal_mismatch,    // commit: the journal built differs from its accounting: thrown
};

const char* describe(NvmError e);

// What the memory throws for a read outside the main area and for a misused
// transaction: a bug in the layer above or a damaged image, never an answer a
// card gives in normal use, so callers need no check at every read. It is
// thrown before anything is written to the storage: it never leaves half a
// transaction. Card::transmit answers it with 6F00 (the command's open
// transaction rolled back by its guard); Card::power_up refuses the image.
class NvmFault : public std::exception {
 public:
  explicit NvmFault(NvmError e) : error_(e) {}
  NvmError error() const { return error_; }
  const char* what() const noexcept override { return describe(error_); }

 private:
  NvmError error_;
};

struct NvmStats {
  std::uint64_t storage_writes = 0;  // calls to Storage::write
  std::uint64_t bytes_written = 0;   // bytes passed to Storage::write
  std::uint64_t commits = 0;
};

class PersistentMemory {
 public:
  static constexpr std::uint32_t kHeaderSize = 64;
  static constexpr std::uint32_t kSlotSize = 32;
  static constexpr std::uint16_t kFormatVersion = 1;

  // Bytes of storage a geometry needs.
  static std::size_t storage_size_for(const NvmGeometry& g);

  // Writes a fresh, empty (all-zero) image to the storage.
  static Result<PersistentMemory, NvmError> format(Storage& storage, const NvmGeometry& g);
  // Power-up: validate, recover an interrupted commit, verify. May throw
  // PowerLoss (recovery writes), in which case nothing is lost: open again.
  static Result<PersistentMemory, NvmError> open(Storage& storage);

  PersistentMemory(PersistentMemory&&) noexcept = default;
  PersistentMemory& operator=(PersistentMemory&&) noexcept = default;
  PersistentMemory(const PersistentMemory&) = delete;
  PersistentMemory& operator=(const PersistentMemory&) = delete;

  std::uint32_t capacity() const { return static_cast<std::uint32_t>(working_.size()); }
  const NvmGeometry& geometry() const { return geometry_; }

  // Reads see the transaction's own uncommitted writes. A range outside the
  // main area throws NvmFault(out_of_range), in every build.
  ByteView read(std::uint32_t addr, std::uint32_t len) const {
    check_read(addr, len);
    return ByteView(working_).subspan(addr, len);
  }
  std::uint8_t u8(std::uint32_t addr) const {
    check_read(addr, 1);
    return working_[addr];
  }
  std::uint16_t u16(std::uint32_t addr) const {
    check_read(addr, 2);
    return load_be16(&working_[addr]);
  }
  std::uint32_t u32(std::uint32_t addr) const {
    check_read(addr, 4);
    return load_be32(&working_[addr]);
  }
  std::uint64_t u64(std::uint32_t addr) const {
    check_read(addr, 8);
    return static_cast<std::uint64_t>(load_be32(&working_[addr])) << 32 |
           load_be32(&working_[addr + 4]);
  }

  // Throws NvmFault: nested_transaction inside a transaction (the outer one is
  // then rolled back by its guard), needs_reopen after a power loss.
  void begin();
  bool in_transaction() const { return in_tx_; }
  NvmError write(std::uint32_t addr, ByteView data);
  NvmError write_u8(std::uint32_t addr, std::uint8_t v);
  NvmError write_u16(std::uint32_t addr, std::uint16_t v);
  NvmError write_u32(std::uint32_t addr, std::uint32_t v);
  NvmError write_u64(std::uint32_t addr, std::uint64_t v);
  NvmError fill(std::uint32_t addr, std::uint32_t len, std::uint8_t value);
  // Journal bytes the current transaction would take at commit.
  std::uint32_t journal_bytes_pending() const;
  // May throw PowerLoss; throws NvmFault (no_transaction, needs_reopen,
  // journal_mismatch) before its first storage write.
  void commit();
  void abort();  // restores the working copy; never writes to storage

  const NvmStats& stats() const { return stats_; }

 private:
  explicit PersistentMemory(Storage& storage);
  friend struct PersistentMemoryProbe;  // tests/card_os: that the undo data is wiped

  void check_read(std::uint32_t addr, std::uint32_t len) const {
    if (std::uint64_t{addr} + len > readable_.bytes) [[unlikely]]
      read_out_of_range();
  }
  [[noreturn]] static void read_out_of_range();  // out of line: reads stay small inline

  Storage* storage_;
  NvmGeometry geometry_;
  SecretBytes working_;  // the main area (and this transaction's writes)
  // working_'s size, kept beside it so that a read's check costs one load
  // (reads are most of what a command does); a moved-from memory reads as
  // empty, as its vector does.
  struct Extent {
    std::uint32_t bytes = 0;
    Extent() = default;
    explicit Extent(std::uint32_t n) : bytes(n) {}
    Extent(Extent&& o) noexcept : bytes(std::exchange(o.bytes, 0)) {}
    Extent& operator=(Extent&& o) noexcept {
      bytes = std::exchange(o.bytes, 0);
      return *this;
    }
  };
  Extent readable_;
  bool in_tx_ = false;
  NvmStats stats_;
  struct Range {
    std::uint32_t addr;
    std::uint32_t len;
    std::uint32_t encoded = 0;  // dirty ranges: journal bytes of its entries
  };
  std::vector<Range> dirty_;  // sorted, merged
  std::vector<Range> undo_ranges_;
  SecretBytes undo_bytes_;  // the data the transaction overwrote
  std::uint64_t seq_ = 0;
  bool apply_unsynced_ = false;
  std::vector<std::uint32_t> block_crc_;  // CRC32 per 1 KiB block of the main area
  std::uint64_t pending_ = 0;             // journal bytes of dirty_, kept exact on every write
  bool dead_ = false;                     // PowerLoss left a commit half done: only open() again
  std::uint32_t journal_stale_ = 0;       // the journal area may be nonzero below this offset

  void put(std::size_t offset, ByteView data);  // Storage::write, counted in stats_
  void save_undo(std::uint32_t addr, const std::uint8_t* original, std::uint32_t len);
  void refresh_block_crcs();  // recomputes the CRCs of the blocks dirty_ touches
  std::uint32_t image_digest() const;
  void end_transaction();
};

// RAII guard: aborts unless committed. Safe during PowerLoss unwinding.
class Transaction {
 public:
  explicit Transaction(PersistentMemory& m) : m_(m) { m_.begin(); }
  ~Transaction() {
    if (!done_) m_.abort();
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit() {
    m_.commit();
    done_ = true;
  }

 private:
  PersistentMemory& m_;
  bool done_ = false;
};

}  // namespace juki::card_os
