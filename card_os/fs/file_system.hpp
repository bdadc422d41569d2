// The ISO/IEC 7816-4 file system, kept as linked nodes in persistent memory
// and read in place (no RAM cache to keep coherent across aborts and tears).
// Mutating calls must run inside the caller's transaction; errors are ISO
// status words, since this layer speaks 7816-4.
#pragma once

#include <cstdint>
#include <optional>

#include "card_os/nvm/heap.hpp"
#include "card_os/nvm/persistent_memory.hpp"
#include "common/bytes.hpp"
#include "common/iso7816/fcp.hpp"
#include "common/iso7816/status_words.hpp"
#include "common/result.hpp"

namespace juki::card_os {

using NodeRef = std::uint32_t;  // address of a node in persistent memory; 0 = none

// The file system speaks the shared FCP codec's types (common/iso7816/fcp.hpp).
using fcp::AccessRule;
using fcp::AccessRules;
using fcp::contents_size;
using fcp::decode_fcp;
using fcp::encode_fcp;
using fcp::FileSpec;
using fcp::FileType;
using fcp::kLcsActivated;
using fcp::kLcsDeactivated;
using fcp::kMaxDfName;
using fcp::kMaxRecordLength;
using fcp::kMaxRecords;
using fcp::kMaxTransparentSize;
using fcp::kMfFid;
using fcp::kOpCount;
using fcp::Op;

class FileSystem {
 public:
  FileSystem(PersistentMemory& memory, Heap& heap) : m_(memory), heap_(heap) {}

  static constexpr std::uint32_t kNodeSize = 88;

  // Creates the MF (within a transaction); returns its node.
  Result<NodeRef, sw::Sw> create_mf(const AccessRules& rules);

  // A node's navigation fields, from one range-checked read of its bytes:
  // the loops that visit many nodes (a DF's children, a file's ancestors)
  // pay one check per node, not one per field (node layout: file_system.cpp).
  class Node {
   public:
    explicit Node(ByteView bytes) : b_(bytes) {}
    FileType type() const { return static_cast<FileType>(b_[0]); }
    std::uint8_t lcs() const { return b_[1]; }
    std::uint16_t fid() const { return load_be16(&b_[2]); }
    std::uint8_t sfi() const { return b_[4]; }
    std::uint8_t name_length() const { return b_[5]; }  // 0: no DF name
    NodeRef parent() const { return load_be32(&b_[8]); }
    NodeRef next_sibling() const { return load_be32(&b_[12]); }
    NodeRef first_child() const { return load_be32(&b_[16]); }
    std::uint32_t objects() const { return load_be32(&b_[28]); }

   private:
    ByteView b_;  // kNodeSize bytes
  };
  Node node(NodeRef n) const { return Node(m_.read(n, kNodeSize)); }

  // --- Navigation (read-only) ---
  FileType type(NodeRef n) const { return node(n).type(); }
  bool is_df(NodeRef n) const { return type(n) == FileType::df; }
  bool is_record_ef(NodeRef n) const {
    return type(n) == FileType::linear_fixed || type(n) == FileType::linear_variable;
  }
  std::uint8_t lcs(NodeRef n) const { return node(n).lcs(); }
  bool deactivated(NodeRef n) const { return lcs(n) == kLcsDeactivated; }
  std::uint16_t fid(NodeRef n) const { return node(n).fid(); }
  std::uint8_t sfi(NodeRef n) const { return node(n).sfi(); }
  ByteView name(NodeRef n) const { return m_.read(n + 32, m_.u8(n + 5)); }
  NodeRef parent(NodeRef n) const { return node(n).parent(); }
  NodeRef next_sibling(NodeRef n) const { return node(n).next_sibling(); }
  NodeRef first_child(NodeRef df) const { return node(df).first_child(); }
  // DFs: head of the list of security objects (PINs, keys) of this DF.
  std::uint32_t objects(NodeRef df) const { return node(df).objects(); }
  AccessRule rule(NodeRef n, Op op) const;

  NodeRef child_by_fid(NodeRef df, std::uint16_t fid) const;
  NodeRef child_by_sfi(NodeRef df, std::uint8_t sfi) const;
  // Depth-first over the whole tree from `root`.
  NodeRef df_by_name(NodeRef root, ByteView name) const;
  // True when `n` is `ancestor` or lies below it.
  bool within(NodeRef n, NodeRef ancestor) const;

  FileSpec spec(NodeRef n) const;
  Bytes fcp(NodeRef n) const { return encode_fcp(spec(n), record_count(n)); }

  // --- Transparent EFs ---
  std::uint32_t size(NodeRef ef) const { return m_.u32(ef + 24); }
  ByteView read_binary(NodeRef ef, std::uint32_t offset, std::uint32_t len) const {
    return m_.read(m_.u32(ef + 16) + offset, len);
  }
  sw::Sw update_binary(NodeRef ef, std::uint32_t offset, ByteView data);

  // --- Record EFs (records are numbered from 1) ---
  std::uint16_t record_length(NodeRef ef) const { return m_.u16(ef + 20); }
  std::uint16_t max_records(NodeRef ef) const { return m_.u16(ef + 22); }
  std::uint32_t record_count(NodeRef ef) const { return is_record_ef(ef) ? m_.u32(ef + 24) : 0; }
  ByteView read_record(NodeRef ef, std::uint32_t number) const;
  sw::Sw update_record(NodeRef ef, std::uint32_t number, ByteView data);
  sw::Sw append_record(NodeRef ef, ByteView data);

  // --- Structure (within a transaction) ---
  // Checks FID/name/SFI uniqueness and allocates; 6A89 / 6A8A / 6A84.
  Result<NodeRef, sw::Sw> create(NodeRef parent_df, const FileSpec& spec);
  // Removes a file, or a DF with everything below it (and its security objects).
  sw::Sw remove(NodeRef n);
  sw::Sw set_lcs(NodeRef n, std::uint8_t lcs);
  // Whether `n` or a DF above it is deactivated: nothing in it is usable.
  bool inactive(NodeRef n) const;
  // Links a security object (allocated by the caller) at the head of a DF's list.
  sw::Sw set_objects(NodeRef df, std::uint32_t head);

 private:
  std::uint32_t data(NodeRef ef) const { return m_.u32(ef + 16); }
  std::uint32_t slot_size(NodeRef ef) const {  // linear variable records: length byte + data
    return type(ef) == FileType::linear_variable ? 1u + record_length(ef) : record_length(ef);
  }
  sw::Sw release_tree(NodeRef n);
  PersistentMemory& m_;
  Heap& heap_;
};

// Maps an NVM write result to a status word (journal_full -> 6A84).
sw::Sw to_sw(NvmError e);

}  // namespace juki::card_os

namespace juki::card_os {
// Security objects (security/objects.hpp) of a DF are chained through a u32
// at this offset; the file system follows it to free them with their DF.
inline constexpr std::uint32_t kObjectNextOffset = 12;
}  // namespace juki::card_os
