#include "card_os/fs/file_system.hpp"

#include <algorithm>

#include "common/iso7816/tlv.hpp"

namespace juki::card_os {

namespace {

// Node layout (FileSystem::kNodeSize bytes), big-endian:
//  0 type  1 lcs  2 fid  4 sfi  5 name length  6 reserved
//  8 parent  12 next sibling  16 first child (DF) | data address (EF)
// 20 record length  22 max records  24 size (transparent) | record count
// 28 security objects (DF)  32 name[16]  48 rules: 8 x 5 bytes
constexpr std::uint32_t kRules = 48;
constexpr std::uint32_t kRuleSize = 5;

}  // namespace

sw::Sw to_sw(NvmError e) {
  switch (e) {
    case NvmError::none:
      return sw::kOk;
    case NvmError::journal_full:
      return sw::kNotEnoughMemory;
    default:
      return sw::kMemoryFailure;
  }
}

// ---------------------------------------------------------------- queries

AccessRule FileSystem::rule(NodeRef n, Op op) const {
  const ByteView r = m_.read(n + kRules + static_cast<std::uint32_t>(op) * kRuleSize, kRuleSize);
  return AccessRule{r[0], r[1], r[2], load_be16(&r[3])};
}

NodeRef FileSystem::child_by_fid(NodeRef df, std::uint16_t id) const {
  for (NodeRef c = first_child(df); c != 0;) {
    const Node child = node(c);
    if (child.fid() == id) return c;
    c = child.next_sibling();
  }
  return 0;
}

NodeRef FileSystem::child_by_sfi(NodeRef df, std::uint8_t id) const {
  for (NodeRef c = first_child(df); c != 0;) {
    const Node child = node(c);
    if (child.type() != FileType::df && child.sfi() == id) return c;
    c = child.next_sibling();
  }
  return 0;
}

NodeRef FileSystem::df_by_name(NodeRef root, ByteView wanted) const {
  if (!is_df(root)) return 0;
  ByteView n = name(root);
  if (n.size() == wanted.size() && std::equal(n.begin(), n.end(), wanted.begin())) return root;
  for (NodeRef c = first_child(root); c != 0; c = next_sibling(c))
    if (NodeRef hit = df_by_name(c, wanted)) return hit;
  return 0;
}

bool FileSystem::within(NodeRef n, NodeRef ancestor) const {
  for (; n != 0; n = parent(n))
    if (n == ancestor) return true;
  return false;
}

FileSpec FileSystem::spec(NodeRef n) const {
  FileSpec s;
  s.type = type(n);
  s.fid = fid(n);
  s.sfi = sfi(n);
  ByteView nm = name(n);
  s.name.assign(nm.begin(), nm.end());
  s.lcs = lcs(n);
  if (s.type == FileType::transparent) s.size = size(n);
  if (is_record_ef(n)) {
    s.record_length = record_length(n);
    s.max_records = max_records(n);
  }
  for (std::size_t op = 0; op < kOpCount; ++op) s.rules[op] = rule(n, static_cast<Op>(op));
  return s;
}

// ---------------------------------------------------------------- contents

sw::Sw FileSystem::update_binary(NodeRef ef, std::uint32_t offset, ByteView bytes) {
  return to_sw(m_.write(data(ef) + offset, bytes));
}

ByteView FileSystem::read_record(NodeRef ef, std::uint32_t number) const {
  std::uint32_t slot = data(ef) + (number - 1) * slot_size(ef);
  if (type(ef) == FileType::linear_variable) return m_.read(slot + 1, m_.u8(slot));
  return m_.read(slot, record_length(ef));
}

sw::Sw FileSystem::update_record(NodeRef ef, std::uint32_t number, ByteView bytes) {
  std::uint32_t slot = data(ef) + (number - 1) * slot_size(ef);
  if (type(ef) == FileType::linear_variable) {
    // Clear the old tail so a shorter record leaves no stale bytes behind.
    std::uint32_t old_len = m_.u8(slot);
    if (old_len > bytes.size()) {
      if (auto e = m_.fill(slot + 1 + static_cast<std::uint32_t>(bytes.size()),
                           old_len - static_cast<std::uint32_t>(bytes.size()), 0);
          e != NvmError::none)
        return to_sw(e);
    }
    if (auto e = m_.write_u8(slot, static_cast<std::uint8_t>(bytes.size())); e != NvmError::none)
      return to_sw(e);
    return to_sw(m_.write(slot + 1, bytes));
  }
  return to_sw(m_.write(slot, bytes));
}

sw::Sw FileSystem::append_record(NodeRef ef, ByteView bytes) {
  std::uint32_t count = record_count(ef);
  if (auto e = m_.write_u32(ef + 24, count + 1); e != NvmError::none) return to_sw(e);
  return update_record(ef, count + 1, bytes);
}

// ---------------------------------------------------------------- structure

namespace {
sw::Sw write_node(PersistentMemory& m, NodeRef n, const FileSpec& s, NodeRef parent, NodeRef next,
                  std::uint32_t data_addr) {
  Bytes node(FileSystem::kNodeSize, 0);
  node[0] = static_cast<std::uint8_t>(s.type);
  node[1] = s.lcs;
  store_be16(&node[2], s.fid);
  node[4] = s.sfi;
  node[5] = static_cast<std::uint8_t>(s.name.size());
  store_be32(&node[8], parent);
  store_be32(&node[12], next);
  store_be32(&node[16], data_addr);
  store_be16(&node[20], s.record_length);
  store_be16(&node[22], s.max_records);
  store_be32(&node[24], s.type == FileType::transparent ? s.size : 0);
  std::copy(s.name.begin(), s.name.end(), node.begin() + 32);
  for (std::size_t op = 0; op < kOpCount; ++op) {
    std::uint8_t* r = &node[kRules + op * kRuleSize];
    r[0] = s.rules[op].flags;
    r[1] = s.rules[op].pin_ref;
    r[2] = s.rules[op].key_ref;
    store_be16(r + 3, s.rules[op].roles);
  }
  return to_sw(m.write(n, node));
}

sw::Sw heap_sw(HeapError e) {
  (void)e;  // both out of memory and journal full are "not enough memory"
  return sw::kNotEnoughMemory;
}
}  // namespace

Result<NodeRef, sw::Sw> FileSystem::create_mf(const AccessRules& rules) {
  FileSpec s;
  s.type = FileType::df;
  s.fid = kMfFid;
  s.rules = rules;
  auto node = heap_.allocate(kNodeSize);
  if (!node) return unexpected(heap_sw(node.error()));
  if (auto r = write_node(m_, *node, s, 0, 0, 0); r != sw::kOk) return unexpected(r);
  return *node;
}

Result<NodeRef, sw::Sw> FileSystem::create(NodeRef df, const FileSpec& s) {
  for (NodeRef c = first_child(df); c != 0; c = next_sibling(c)) {
    if (s.fid != 0 && fid(c) == s.fid) return unexpected(sw::kFileExists);
    if (s.sfi != 0 && !is_df(c) && sfi(c) == s.sfi) return unexpected(sw::kFileExists);
  }
  if (s.fid != 0 && s.fid == fid(df)) return unexpected(sw::kFileExists);
  if (!s.name.empty()) {
    NodeRef root = df;
    while (parent(root) != 0) root = parent(root);
    if (df_by_name(root, s.name) != 0) return unexpected(sw::kDfNameExists);
  }
  std::uint32_t data_addr = 0;
  if (std::uint32_t n = contents_size(s); n > 0) {
    auto d = heap_.allocate(n);
    if (!d) return unexpected(heap_sw(d.error()));
    data_addr = *d;
  }
  auto node = heap_.allocate(kNodeSize);
  if (!node) return unexpected(heap_sw(node.error()));
  if (auto r = write_node(m_, *node, s, df, first_child(df), data_addr); r != sw::kOk)
    return unexpected(r);
  if (auto e = m_.write_u32(df + 16, *node); e != NvmError::none) return unexpected(to_sw(e));
  return *node;
}

sw::Sw FileSystem::release_tree(NodeRef n) {
  if (is_df(n)) {
    for (NodeRef c = first_child(n); c != 0;) {
      NodeRef next = next_sibling(c);  // read before the node is wiped
      if (auto r = release_tree(c); r != sw::kOk) return r;
      c = next;
    }
    for (std::uint32_t o = objects(n); o != 0;) {
      std::uint32_t next = m_.u32(o + kObjectNextOffset);
      if (auto e = heap_.release(o); e != NvmError::none) return to_sw(e);
      o = next;
    }
  } else if (data(n) != 0) {
    if (auto e = heap_.release(data(n)); e != NvmError::none) return to_sw(e);
  }
  return to_sw(heap_.release(n));
}

sw::Sw FileSystem::remove(NodeRef n) {
  NodeRef p = parent(n);
  if (p == 0) return sw::kConditionsNotSatisfied;  // the MF stays
  // Unlink first, then free the subtree.
  NodeRef next = next_sibling(n);
  if (first_child(p) == n) {
    if (auto e = m_.write_u32(p + 16, next); e != NvmError::none) return to_sw(e);
  } else {
    NodeRef c = first_child(p);
    while (next_sibling(c) != n) c = next_sibling(c);
    if (auto e = m_.write_u32(c + 12, next); e != NvmError::none) return to_sw(e);
  }
  return release_tree(n);
}

sw::Sw FileSystem::set_lcs(NodeRef n, std::uint8_t value) {
  return to_sw(m_.write_u8(n + 1, value));
}

bool FileSystem::inactive(NodeRef n) const {
  while (n != 0) {
    const Node at = node(n);
    if (at.lcs() == kLcsDeactivated) return true;
    n = at.parent();
  }
  return false;
}

sw::Sw FileSystem::set_objects(NodeRef df, std::uint32_t head) {
  return to_sw(m_.write_u32(df + 28, head));
}

}  // namespace juki::card_os
