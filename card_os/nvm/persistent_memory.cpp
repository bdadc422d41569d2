#include "card_os/nvm/persistent_memory.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>

namespace juki::card_os {

namespace {

constexpr std::array<std::uint8_t, 8> kMagic = {'J', 'U', 'K', 'I', 'N', 'V', 'M', '1'};
constexpr std::uint32_t kCommitMagic = 0x4A434D54;  // "JCMT"
constexpr std::uint32_t kBlockSize = 1024;          // granularity of the image digest
constexpr std::uint32_t kEntryHeader = 6;           // [u32 addr][u16 len]
constexpr std::uint32_t kMaxEntryData = 0xFFFF;     // longer ranges take several entries
constexpr std::uint32_t kMaxCapacity = 256u << 20;
constexpr std::uint32_t kMaxJournal = 64u << 20;

// Header fields (offsets inside the 64-byte device header).
constexpr std::size_t kHdrVersion = 8;
constexpr std::size_t kHdrSize = 10;
constexpr std::size_t kHdrCapacity = 12;
constexpr std::size_t kHdrJournal = 16;
constexpr std::size_t kHdrCrc = PersistentMemory::kHeaderSize - 4;

// Commit slot fields.
constexpr std::size_t kRecSeq = 4;
constexpr std::size_t kRecJournalLen = 12;
constexpr std::size_t kRecJournalCrc = 16;
constexpr std::size_t kRecDigest = 20;
constexpr std::size_t kRecCrc = PersistentMemory::kSlotSize - 4;

constexpr std::size_t kSlotsOffset = PersistentMemory::kHeaderSize;
constexpr std::size_t kJournalOffset = kSlotsOffset + 2 * PersistentMemory::kSlotSize;

std::uint32_t crc(ByteView data) {
  return static_cast<std::uint32_t>(crc32_z(0, data.data(), data.size()));
}

std::size_t slot_offset(std::uint64_t seq) {
  return kSlotsOffset + (seq % 2) * PersistentMemory::kSlotSize;
}
std::size_t main_offset(const NvmGeometry& g) {
  return kJournalOffset + g.journal_capacity;
}

constexpr std::uint32_t kFillFlag = 0x80000000;  // entry address bit: a fill entry
constexpr std::uint32_t kFillEntry = kEntryHeader + 1;
// Shorter runs stay literal: splitting a literal around a fill costs a header.
constexpr std::uint32_t kMinFillRun = 16;

// Appends an entry header [u32 word][u16 length].
void append_entry_header(SecretBytes& out, std::uint32_t word, std::uint32_t len) {
  const std::size_t at = out.size();
  out.resize(at + kEntryHeader);
  store_be32(&out[at], word);
  store_be16(&out[at + 4], static_cast<std::uint16_t>(len));
}

// Encodes one dirty range as journal entries (appended to `out` when given)
// and returns their size. Runs of one byte value become fill entries, so
// wiping or zeroing a large area (a deleted application) costs a few bytes of
// journal, not its size.
std::uint64_t encode_range(std::uint32_t addr, ByteView bytes, SecretBytes* out) {
  std::uint64_t size = 0;
  auto literal = [&](std::size_t from, std::size_t to) {
    for (std::size_t off = from; off < to; off += kMaxEntryData) {
      const auto n = static_cast<std::uint32_t>(std::min<std::size_t>(kMaxEntryData, to - off));
      size += kEntryHeader + n;
      if (!out) continue;
      append_entry_header(*out, addr + static_cast<std::uint32_t>(off), n);
      out->insert(out->end(), bytes.begin() + static_cast<std::ptrdiff_t>(off),
                  bytes.begin() + static_cast<std::ptrdiff_t>(off + n));
    }
  };
  std::size_t literal_from = 0;
  std::size_t i = 0;
  while (i < bytes.size()) {
    std::size_t run = 1;
    while (i + run < bytes.size() && bytes[i + run] == bytes[i]) ++run;
    if (run < kMinFillRun) {
      i += run;
      continue;
    }
    literal(literal_from, i);
    for (std::size_t off = 0; off < run; off += kMaxEntryData) {
      const auto n = static_cast<std::uint32_t>(std::min<std::size_t>(kMaxEntryData, run - off));
      size += kFillEntry;
      if (!out) continue;
      append_entry_header(*out, (addr + static_cast<std::uint32_t>(i + off)) | kFillFlag, n);
      out->push_back(bytes[i]);
    }
    i += run;
    literal_from = i;
  }
  literal(literal_from, bytes.size());
  return size;
}

bool geometry_ok(const NvmGeometry& g) {
  return g.capacity >= 1 && g.capacity <= kMaxCapacity && g.journal_capacity > kEntryHeader &&
         g.journal_capacity <= kMaxJournal;
}

std::uint32_t block_crc(ByteView main, std::size_t block) {
  const std::size_t start = block * kBlockSize;
  const std::size_t len = std::min<std::size_t>(kBlockSize, main.size() - start);
  return crc(main.subspan(start, len));
}

std::array<std::uint8_t, PersistentMemory::kHeaderSize> encode_header(const NvmGeometry& g) {
  std::array<std::uint8_t, PersistentMemory::kHeaderSize> h{};
  std::copy(kMagic.begin(), kMagic.end(), h.begin());
  store_be16(&h[kHdrVersion], PersistentMemory::kFormatVersion);
  store_be16(&h[kHdrSize], PersistentMemory::kHeaderSize);
  store_be32(&h[kHdrCapacity], g.capacity);
  store_be32(&h[kHdrJournal], g.journal_capacity);
  store_be32(&h[kHdrCrc], crc(ByteView(h).first(kHdrCrc)));
  return h;
}

struct CommitRecord {
  std::uint64_t seq = 0;
  std::uint32_t journal_len = 0;
  std::uint32_t journal_crc = 0;
  std::uint32_t digest = 0;
};

std::array<std::uint8_t, PersistentMemory::kSlotSize> encode_record(const CommitRecord& r) {
  std::array<std::uint8_t, PersistentMemory::kSlotSize> s{};
  store_be32(&s[0], kCommitMagic);
  store_be32(&s[kRecSeq], static_cast<std::uint32_t>(r.seq >> 32));
  store_be32(&s[kRecSeq + 4], static_cast<std::uint32_t>(r.seq));
  store_be32(&s[kRecJournalLen], r.journal_len);
  store_be32(&s[kRecJournalCrc], r.journal_crc);
  store_be32(&s[kRecDigest], r.digest);
  store_be32(&s[kRecCrc], crc(ByteView(s).first(kRecCrc)));
  return s;
}

// A torn or never-written slot fails here and the other slot wins.
std::optional<CommitRecord> decode_record(ByteView s, std::size_t slot_index,
                                          const NvmGeometry& g) {
  if (load_be32(&s[0]) != kCommitMagic) return std::nullopt;
  if (load_be32(&s[kRecCrc]) != crc(s.first(kRecCrc))) return std::nullopt;
  CommitRecord r;
  r.seq = (std::uint64_t{load_be32(&s[kRecSeq])} << 32) | load_be32(&s[kRecSeq + 4]);
  r.journal_len = load_be32(&s[kRecJournalLen]);
  r.journal_crc = load_be32(&s[kRecJournalCrc]);
  r.digest = load_be32(&s[kRecDigest]);
  // Records are only ever written to slot seq % 2, with a journal that fits.
  if (r.seq == 0 || r.seq % 2 != slot_index || r.journal_len > g.journal_capacity) {
    return std::nullopt;
  }
  return r;
}

struct JournalEntry {
  std::uint32_t addr;
  ByteView data;               // literal entries
  std::uint32_t fill_len = 0;  // fill entries: this many bytes of fill_value
  std::uint8_t fill_value = 0;
};

// All entries, or nullopt if the journal is not a well-formed list of
// in-range entries (then it cannot be the one its CRC vouches for).
std::optional<std::vector<JournalEntry>> parse_journal(ByteView j, std::uint32_t capacity) {
  std::vector<JournalEntry> out;
  std::size_t pos = 0;
  while (pos < j.size()) {
    if (j.size() - pos < kEntryHeader) return std::nullopt;
    const std::uint32_t word = load_be32(&j[pos]);
    const std::uint32_t addr = word & ~kFillFlag;
    const std::uint16_t len = load_be16(&j[pos + 4]);
    pos += kEntryHeader;
    if (len == 0 || std::uint64_t{addr} + len > capacity) return std::nullopt;
    if (word & kFillFlag) {
      if (j.size() - pos < 1) return std::nullopt;
      out.push_back({addr, {}, len, j[pos]});
      pos += 1;
    } else {
      if (j.size() - pos < len) return std::nullopt;
      out.push_back({addr, j.subspan(pos, len)});
      pos += len;
    }
  }
  return out;
}

}  // namespace

const char* describe(NvmError e) {
  switch (e) {
    case NvmError::none:
      return "No error.";
    case NvmError::storage_too_small:
      return "The storage is smaller than the persistent-memory geometry needs.";
    case NvmError::bad_geometry:
      return "The main-area or journal capacity is outside the supported range.";
    case NvmError::not_an_image:
      return "The storage does not hold a persistent-memory image (header magic missing).";
    case NvmError::unsupported_version:
      return "The persistent-memory image has a format version this card OS does not support.";
    case NvmError::header_corrupt:
      return "The persistent-memory image header is corrupt (checksum or fields invalid).";
    case NvmError::size_mismatch:
      return "The storage is smaller than the geometry recorded in the image header.";
    case NvmError::no_commit_record:
      return "Neither commit slot of the persistent-memory image holds a valid commit record.";
    case NvmError::journal_corrupt:
      return "The journal of the last commit matches its checksum but is not a well-formed list "
             "of entries.";
    case NvmError::data_corrupt:
      return "The persistent-memory main area does not match its last committed state, and no "
             "intact journal completes it.";
    case NvmError::journal_full:
      return "The write does not fit in the journal of the current transaction.";
    case NvmError::out_of_range:
      return "The address range lies outside the persistent-memory main area.";
    case NvmError::no_transaction:
      return "A persistent write or commit was attempted outside a transaction.";
    case NvmError::nested_transaction:
      return "A transaction was begun inside another one.";
    case NvmError::needs_reopen:
      return "The persistent memory was used after a power loss cut a commit short; it must be "
             "opened again.";
    case NvmError::journal_mismatch:
      return "The journal built at commit differs from the size the transaction accounted for.";
  }
  return "Unknown persistent-memory error.";
}

PersistentMemory::PersistentMemory(Storage& storage) : storage_(&storage) {}

std::size_t PersistentMemory::storage_size_for(const NvmGeometry& g) {
  return kJournalOffset + std::size_t{g.journal_capacity} + g.capacity;
}

Result<PersistentMemory, NvmError> PersistentMemory::format(Storage& storage,
                                                            const NvmGeometry& g) {
  if (!geometry_ok(g)) return unexpected(NvmError::bad_geometry);
  const std::size_t need = storage_size_for(g);
  if (storage.size() < need) return unexpected(NvmError::storage_too_small);

  PersistentMemory m(storage);
  m.geometry_ = g;
  m.working_.assign(g.capacity, 0);
  m.readable_ = Extent(g.capacity);
  m.block_crc_.resize((g.capacity + kBlockSize - 1) / kBlockSize);
  for (std::size_t b = 0; b < m.block_crc_.size(); ++b) m.block_crc_[b] = block_crc(m.working_, b);

  // The header goes last: a format cut short leaves no image that looks valid
  // (unless the medium held one with this geometry, which then fails its digest).
  m.put(kSlotsOffset, Bytes(need - kSlotsOffset, 0));
  storage.sync();
  const CommitRecord first{1, 0, crc({}), m.image_digest()};
  m.put(slot_offset(first.seq), encode_record(first));
  storage.sync();
  m.put(0, encode_header(g));
  storage.sync();
  m.seq_ = first.seq;
  return m;
}

Result<PersistentMemory, NvmError> PersistentMemory::open(Storage& storage) {
  if (storage.size() < kHeaderSize) return unexpected(NvmError::not_an_image);
  std::array<std::uint8_t, kHeaderSize> h{};
  storage.read(0, h);
  if (!std::equal(kMagic.begin(), kMagic.end(), h.begin())) {
    return unexpected(NvmError::not_an_image);
  }
  // Version before CRC: another version may lay its header out differently.
  if (load_be16(&h[kHdrVersion]) != kFormatVersion) {
    return unexpected(NvmError::unsupported_version);
  }
  if (load_be32(&h[kHdrCrc]) != crc(ByteView(h).first(kHdrCrc))) {
    return unexpected(NvmError::header_corrupt);
  }
  const NvmGeometry g{load_be32(&h[kHdrCapacity]), load_be32(&h[kHdrJournal])};
  if (load_be16(&h[kHdrSize]) != kHeaderSize || !geometry_ok(g)) {
    return unexpected(NvmError::header_corrupt);
  }
  if (storage.size() < storage_size_for(g)) return unexpected(NvmError::size_mismatch);

  std::optional<CommitRecord> rec;
  for (std::size_t i = 0; i < 2; ++i) {
    std::array<std::uint8_t, kSlotSize> s{};
    storage.read(kSlotsOffset + i * kSlotSize, s);
    auto r = decode_record(s, i, g);
    if (r && (!rec || r->seq > rec->seq)) rec = r;
  }
  if (!rec) return unexpected(NvmError::no_commit_record);

  PersistentMemory m(storage);
  m.geometry_ = g;
  m.working_.resize(g.capacity);
  m.readable_ = Extent(g.capacity);
  storage.read(main_offset(g), m.working_);

  // The journal belongs to this record only if its CRC says so; otherwise a
  // later commit was cut before its record and the main area is already right.
  SecretBytes journal(rec->journal_len);
  storage.read(kJournalOffset, journal);
  if (crc(journal) == rec->journal_crc) {
    auto entries = parse_journal(journal, g.capacity);
    if (!entries) return unexpected(NvmError::journal_corrupt);
    bool wrote = false;
    Bytes fill;
    for (const auto& e : *entries) {
      ByteView data = e.data;
      if (e.fill_len != 0) {
        fill.assign(e.fill_len, e.fill_value);
        data = fill;
      }
      // Rewrite only the bytes that differ (after a complete apply, recovery
      // writes nothing), in one write per stretch: differing bytes separated
      // by short equal gaps go together, to keep recovery's writes few.
      std::size_t i = 0;
      while (i < data.size()) {
        if (m.working_[e.addr + i] == data[i]) {
          ++i;
          continue;
        }
        std::size_t j = i;
        std::size_t equal_run = 0;
        while (j < data.size() && equal_run < kMinFillRun) {
          equal_run = m.working_[e.addr + j] == data[j] ? equal_run + 1 : 0;
          ++j;
        }
        j -= equal_run;  // the stretch ends at its last differing byte
        m.put(main_offset(g) + e.addr + i, data.subspan(i, j - i));
        std::copy(data.begin() + static_cast<std::ptrdiff_t>(i),
                  data.begin() + static_cast<std::ptrdiff_t>(j),
                  m.working_.begin() + e.addr + static_cast<std::ptrdiff_t>(i));
        wrote = true;
        i = j;
      }
    }
    if (wrote) storage.sync();
  }

  m.block_crc_.resize((g.capacity + kBlockSize - 1) / kBlockSize);
  for (std::size_t b = 0; b < m.block_crc_.size(); ++b) m.block_crc_[b] = block_crc(m.working_, b);
  if (m.image_digest() != rec->digest) return unexpected(NvmError::data_corrupt);
  m.seq_ = rec->seq;
  // What the journal area still holds past this record's journal (an older,
  // longer journal, or one cut short): the next commit overwrites it.
  SecretBytes area(g.journal_capacity);
  storage.read(kJournalOffset, area);
  auto last = std::find_if(area.rbegin(), area.rend(), [](std::uint8_t b) { return b != 0; });
  m.journal_stale_ = static_cast<std::uint32_t>(area.rend() - last);
  return m;
}

void PersistentMemory::read_out_of_range() {
  throw NvmFault(NvmError::out_of_range);
}

void PersistentMemory::begin() {
  if (in_tx_) throw NvmFault(NvmError::nested_transaction);
  if (dead_) throw NvmFault(NvmError::needs_reopen);
  in_tx_ = true;
}

NvmError PersistentMemory::write(std::uint32_t addr, ByteView data) {
  if (!in_tx_) return NvmError::no_transaction;
  if (std::uint64_t{addr} + data.size() > working_.size()) return NvmError::out_of_range;
  if (data.empty()) return NvmError::none;
  const auto end = static_cast<std::uint32_t>(addr + data.size());

  // Dirty ranges that overlap or touch [addr, end) merge with it.
  auto first = std::lower_bound(dirty_.begin(), dirty_.end(), addr,
                                [](const Range& r, std::uint32_t a) { return r.addr + r.len < a; });
  auto last = first;
  std::uint32_t m_start = addr;
  std::uint32_t m_end = end;
  std::uint64_t replaced = 0;
  for (; last != dirty_.end() && last->addr <= end; ++last) {
    m_start = std::min(m_start, last->addr);
    m_end = std::max(m_end, last->addr + last->len);
    replaced += last->encoded;
  }

  // The journal size depends on the bytes themselves (fill entries), so the
  // write goes in first and is taken back if the transaction would not fit.
  const SecretBytes original(working_.begin() + addr, working_.begin() + end);
  // memmove: data may be a view into working_ itself.
  std::memmove(&working_[addr], data.data(), data.size());
  const std::uint64_t merged_encoded =
      encode_range(m_start, ByteView(working_).subspan(m_start, m_end - m_start), nullptr);
  const std::uint64_t pending = pending_ - replaced + merged_encoded;
  if (pending > geometry_.journal_capacity) {
    std::copy(original.begin(), original.end(), working_.begin() + addr);
    return NvmError::journal_full;
  }

  // Undo keeps the original of each byte once: the parts not yet dirty.
  std::uint32_t pos = addr;
  for (auto it = first; it != last; ++it) {
    if (it->addr > pos) save_undo(pos, &original[pos - addr], it->addr - pos);
    pos = std::max(pos, it->addr + it->len);
  }
  if (pos < end) save_undo(pos, &original[pos - addr], end - pos);

  const Range merged{m_start, m_end - m_start, static_cast<std::uint32_t>(merged_encoded)};
  if (first == last) {
    dirty_.insert(first, merged);
  } else {
    *first = merged;
    dirty_.erase(first + 1, last);
  }
  pending_ = pending;
  return NvmError::none;
}

NvmError PersistentMemory::write_u8(std::uint32_t addr, std::uint8_t v) {
  const std::array<std::uint8_t, 1> b{v};
  return write(addr, b);
}

NvmError PersistentMemory::write_u16(std::uint32_t addr, std::uint16_t v) {
  std::array<std::uint8_t, 2> b{};
  store_be16(b.data(), v);
  return write(addr, b);
}

NvmError PersistentMemory::write_u32(std::uint32_t addr, std::uint32_t v) {
  std::array<std::uint8_t, 4> b{};
  store_be32(b.data(), v);
  return write(addr, b);
}

NvmError PersistentMemory::write_u64(std::uint32_t addr, std::uint64_t v) {
  std::array<std::uint8_t, 8> b{};
  store_be32(b.data(), static_cast<std::uint32_t>(v >> 32));
  store_be32(b.data() + 4, static_cast<std::uint32_t>(v));
  return write(addr, b);
}

NvmError PersistentMemory::fill(std::uint32_t addr, std::uint32_t len, std::uint8_t value) {
  // Check before allocating: len may be anything.
  if (!in_tx_) return NvmError::no_transaction;
  if (std::uint64_t{addr} + len > working_.size()) return NvmError::out_of_range;
  return write(addr, Bytes(len, value));
}

std::uint32_t PersistentMemory::journal_bytes_pending() const {
  return static_cast<std::uint32_t>(pending_);
}

void PersistentMemory::commit() {
  // Refusals come before the first storage write: never half a commit.
  if (!in_tx_) throw NvmFault(NvmError::no_transaction);
  if (dead_) throw NvmFault(NvmError::needs_reopen);
  if (dirty_.empty()) {
    end_transaction();
    return;
  }

  SecretBytes journal;
  journal.reserve(std::max<std::uint64_t>(pending_, journal_stale_));
  for (const Range& r : dirty_)
    encode_range(r.addr, ByteView(working_).subspan(r.addr, r.len), &journal);
  // A journal longer than accounted for could run over the main area.
  if (journal.size() != pending_ || journal.size() > geometry_.journal_capacity)
    throw NvmFault(NvmError::journal_mismatch);
  refresh_block_crcs();
  const CommitRecord rec{seq_ + 1, static_cast<std::uint32_t>(journal.size()), crc(journal),
                         image_digest()};

  // From the first write on, a PowerLoss leaves this object inconsistent with
  // the storage; only a new open() may continue.
  dead_ = true;
  const std::size_t main = main_offset(geometry_);
  if (apply_unsynced_) storage_->sync();  // the journal about to be overwritten must be done with
  // Zeros over whatever an earlier, longer journal left behind: the data a
  // transaction carried (a deleted file's contents, a key made on the card)
  // does not stay in the journal area once a later transaction is committed.
  const std::uint32_t length = static_cast<std::uint32_t>(journal.size());
  if (journal_stale_ > length) journal.resize(journal_stale_, 0);
  put(kJournalOffset, journal);
  storage_->sync();
  journal_stale_ = length;
  put(slot_offset(rec.seq), encode_record(rec));
  storage_->sync();
  seq_ = rec.seq;
  for (const Range& r : dirty_) put(main + r.addr, ByteView(working_).subspan(r.addr, r.len));
  apply_unsynced_ = true;
  dead_ = false;
  ++stats_.commits;
  end_transaction();
}

void PersistentMemory::abort() {
  // Also runs from Transaction's destructor while a PowerLoss unwinds.
  if (!in_tx_) return;
  std::size_t pos = 0;
  for (const Range& r : undo_ranges_) {
    std::copy_n(undo_bytes_.begin() + static_cast<std::ptrdiff_t>(pos), r.len,
                working_.begin() + r.addr);
    pos += r.len;
  }
  end_transaction();
}

void PersistentMemory::put(std::size_t offset, ByteView data) {
  ++stats_.storage_writes;
  stats_.bytes_written += data.size();
  storage_->write(offset, data);
}

void PersistentMemory::save_undo(std::uint32_t addr, const std::uint8_t* original,
                                 std::uint32_t len) {
  undo_ranges_.push_back({addr, len});
  undo_bytes_.insert(undo_bytes_.end(), original, original + len);
}

void PersistentMemory::refresh_block_crcs() {
  // dirty_ is sorted, so a block shared by two ranges comes up twice in a row.
  std::size_t done = block_crc_.size();
  for (const Range& r : dirty_) {
    for (std::size_t b = r.addr / kBlockSize; b <= (r.addr + r.len - 1) / kBlockSize; ++b) {
      if (b == done) continue;
      block_crc_[b] = block_crc(working_, b);
      done = b;
    }
  }
}

std::uint32_t PersistentMemory::image_digest() const {
  Bytes list;
  list.reserve(block_crc_.size() * 4);
  for (std::uint32_t c : block_crc_) append_be32(list, c);
  return crc(list);
}

void PersistentMemory::end_transaction() {
  dirty_.clear();
  undo_ranges_.clear();
  secure_wipe(undo_bytes_);  // clear() keeps the buffer for the next transaction
  undo_bytes_.clear();
  pending_ = 0;
  in_tx_ = false;
}

}  // namespace juki::card_os
