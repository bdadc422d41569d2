#include "card_os/fs/file_system.hpp"

#include <algorithm>

#include "card_os/apdu/tlv.hpp"

namespace juki::card_os {

namespace {

// Node layout (FileSystem::kNodeSize bytes), big-endian:
//  0 type  1 lcs  2 fid  4 sfi  5 name length  6 reserved
//  8 parent  12 next sibling  16 first child (DF) | data address (EF)
// 20 record length  22 max records  24 size (transparent) | record count
// 28 security objects (DF)  32 name[16]  48 rules: 8 x 5 bytes
constexpr std::uint32_t kRules = 48;
constexpr std::uint32_t kRuleSize = 5;

constexpr std::uint8_t kDataCodingByte = 0x21;

bool valid_fid(std::uint16_t fid) {
  return fid != 0x0000 && fid != kMfFid && fid != 0x3FFF && fid != 0xFFFF;
}

// Tag 86 layout, repeated: op, flags, pin ref, key ref, roles (2 bytes).
constexpr std::size_t kRuleEncoding = 6;

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

// ---------------------------------------------------------------- FCP codec

Bytes encode_fcp(const FileSpec& s, std::uint32_t record_count) {
  tlv::Builder b;
  if (s.type == FileType::transparent) {
    b.add_u16(0x80, static_cast<std::uint16_t>(s.size));
  } else if (s.type != FileType::df) {
    b.add_u16(0x80, static_cast<std::uint16_t>(s.record_length * s.max_records));
  }
  if (s.type == FileType::linear_fixed || s.type == FileType::linear_variable) {
    const std::uint8_t d[] = {static_cast<std::uint8_t>(s.type), kDataCodingByte,
                              static_cast<std::uint8_t>(s.record_length >> 8),
                              static_cast<std::uint8_t>(s.record_length),
                              static_cast<std::uint8_t>(record_count)};
    b.add(0x82, d);
  } else {
    b.add_u8(0x82, static_cast<std::uint8_t>(s.type));
  }
  if (s.fid != 0) b.add_u16(0x83, s.fid);
  if (!s.name.empty()) b.add(0x84, s.name);
  if (s.sfi != 0) b.add_u8(0x88, static_cast<std::uint8_t>(s.sfi << 3));
  b.add_u8(0x8A, s.lcs);
  Bytes rules;
  for (std::size_t op = 0; op < kOpCount; ++op) {
    const AccessRule& r = s.rules[op];
    if (r.is_never()) continue;  // absent means never
    rules.insert(rules.end(),
                 {static_cast<std::uint8_t>(op), r.flags, r.pin_ref, r.key_ref,
                  static_cast<std::uint8_t>(r.roles >> 8), static_cast<std::uint8_t>(r.roles)});
  }
  b.add(0x86, rules);
  return b.wrap(0x62);
}

Result<FileSpec, sw::Sw> decode_fcp(ByteView fcp) {
  auto outer = tlv::decode_one(fcp);
  if (!outer || outer->tag != 0x62 || outer->encoded_size != fcp.size())
    return unexpected(sw::kWrongData);
  auto items = tlv::decode_all(outer->value);
  if (!items) return unexpected(sw::kWrongData);

  FileSpec s;
  bool have_fdb = false, have_size = false;
  std::uint32_t size80 = 0;
  std::uint32_t seen = 0;  // each tag at most once
  for (const tlv::Tlv& t : *items) {
    std::uint32_t bit = 0;
    const ByteView v = t.value;
    switch (t.tag) {
      case 0x80:
        bit = 1;
        if (v.size() < 1 || v.size() > 2) return unexpected(sw::kWrongData);
        size80 = v.size() == 1 ? v[0] : load_be16(v.data());
        have_size = true;
        break;
      case 0x82:
        bit = 2;
        if (v.size() == 1 && (v[0] == 0x38 || v[0] == 0x01)) {
          s.type = static_cast<FileType>(v[0]);
        } else if (v.size() == 5 && (v[0] == 0x02 || v[0] == 0x04) && v[1] == kDataCodingByte) {
          s.type = static_cast<FileType>(v[0]);
          s.record_length = load_be16(v.data() + 2);
          s.max_records = v[4];
        } else {
          return unexpected(sw::kWrongData);
        }
        have_fdb = true;
        break;
      case 0x83:
        bit = 4;
        if (v.size() != 2 || !valid_fid(load_be16(v.data()))) return unexpected(sw::kWrongData);
        s.fid = load_be16(v.data());
        break;
      case 0x84:
        bit = 8;
        if (v.empty() || v.size() > kMaxDfName) return unexpected(sw::kWrongData);
        s.name.assign(v.begin(), v.end());
        break;
      case 0x88:
        bit = 16;
        if (v.size() != 1 || (v[0] & 0x07) != 0 || (v[0] >> 3) == 0 || (v[0] >> 3) == 31)
          return unexpected(sw::kWrongData);
        s.sfi = static_cast<std::uint8_t>(v[0] >> 3);
        break;
      case 0x8A:
        bit = 32;
        if (v.size() != 1 || (v[0] != kLcsActivated && v[0] != kLcsDeactivated))
          return unexpected(sw::kWrongData);
        s.lcs = v[0];
        break;
      case 0x86: {
        bit = 64;
        if (v.size() % kRuleEncoding != 0) return unexpected(sw::kWrongData);
        std::uint32_t ops_seen = 0;
        for (std::size_t i = 0; i < v.size(); i += kRuleEncoding) {
          std::uint8_t op = v[i];
          AccessRule r{v[i + 1], v[i + 2], v[i + 3], load_be16(&v[i + 4])};
          if (op >= kOpCount || (ops_seen & (1u << op)) || (r.flags & ~AccessRule::kKnownFlags))
            return unexpected(sw::kWrongData);
          // A reference the rule does not use must be zero: no hidden meaning.
          if ((!(r.flags & AccessRule::kPin) && r.pin_ref) ||
              (!(r.flags & AccessRule::kKey) && r.key_ref) ||
              (!(r.flags & AccessRule::kRole) && r.roles) ||
              ((r.flags & AccessRule::kPin) && ((r.pin_ref & 0x1F) == 0 || (r.pin_ref & 0x60))) ||
              ((r.flags & AccessRule::kKey) && ((r.key_ref & 0x1F) == 0 || (r.key_ref & 0x60))))
            return unexpected(sw::kWrongData);
          ops_seen |= 1u << op;
          s.rules[op] = r;
        }
        break;
      }
      default:
        return unexpected(sw::kWrongData);
    }
    if (seen & bit) return unexpected(sw::kWrongData);
    seen |= bit;
  }
  if (!have_fdb) return unexpected(sw::kWrongData);
  switch (s.type) {
    case FileType::df:
      if (have_size || s.sfi != 0 || (s.fid == 0 && s.name.empty()))
        return unexpected(sw::kWrongData);
      break;
    case FileType::transparent:
      if (!have_size || size80 == 0 || size80 > kMaxTransparentSize || s.fid == 0 ||
          !s.name.empty())
        return unexpected(sw::kWrongData);
      s.size = size80;
      break;
    default:
      if (s.record_length == 0 || s.record_length > kMaxRecordLength || s.max_records == 0 ||
          s.max_records > kMaxRecords || s.fid == 0 || !s.name.empty())
        return unexpected(sw::kWrongData);
      if (have_size && size80 != std::uint32_t{s.record_length} * s.max_records)
        return unexpected(sw::kWrongData);
      break;
  }
  return s;
}

// ---------------------------------------------------------------- queries

AccessRule FileSystem::rule(NodeRef n, Op op) const {
  std::uint32_t a = n + kRules + static_cast<std::uint32_t>(op) * kRuleSize;
  return AccessRule{m_.u8(a), m_.u8(a + 1), m_.u8(a + 2), m_.u16(a + 3)};
}

NodeRef FileSystem::child_by_fid(NodeRef df, std::uint16_t id) const {
  for (NodeRef c = first_child(df); c != 0; c = next_sibling(c))
    if (fid(c) == id) return c;
  return 0;
}

NodeRef FileSystem::child_by_sfi(NodeRef df, std::uint8_t id) const {
  for (NodeRef c = first_child(df); c != 0; c = next_sibling(c))
    if (!is_df(c) && sfi(c) == id) return c;
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

std::uint32_t contents_size(const FileSpec& s) {
  switch (s.type) {
    case FileType::df:
      return 0;
    case FileType::transparent:
      return s.size;
    case FileType::linear_fixed:
      return std::uint32_t{s.record_length} * s.max_records;
    case FileType::linear_variable:
      return (1u + s.record_length) * s.max_records;
  }
  return 0;
}

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
  for (; n != 0; n = parent(n))
    if (deactivated(n)) return true;
  return false;
}

sw::Sw FileSystem::set_objects(NodeRef df, std::uint32_t head) {
  return to_sw(m_.write_u32(df + 28, head));
}

}  // namespace juki::card_os
