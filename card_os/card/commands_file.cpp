// File commands: SELECT, READ/UPDATE BINARY, READ/UPDATE/APPEND RECORD,
// CREATE/DELETE FILE, ACTIVATE/DEACTIVATE FILE (ISO/IEC 7816-4 and -9).
#include <algorithm>

#include "card_os/card/card_impl.hpp"
#include "common/iso7816/tlv.hpp"

namespace juki::card_os {

// ---------------------------------------------------------------- SELECT

Reply Card::Impl::select(Channel& ch, const Command& c) {
  const std::uint8_t response = c.p2 & 0x0C;  // 00 FCI, 04 FCP, 08 FMD, 0C none
  const std::uint8_t occurrence = c.p2 & 0x03;
  if ((c.p2 & 0xF0) != 0 || response == 0x08) return status(sw::kIncorrectP1P2);
  if (occurrence != 0 && !(c.p1 == 0x04 && occurrence == 0x02)) return status(sw::kIncorrectP1P2);

  const ByteView d = c.data;
  NodeRef target = 0;
  auto fid_of = [&](std::size_t i) { return load_be16(d.data() + i); };
  switch (c.p1) {
    case 0x00: {  // MF, DF or EF by file identifier
      if (d.empty()) {
        target = mf();
        break;
      }
      if (d.size() != 2) return status(sw::kWrongLength);
      const std::uint16_t id = fid_of(0);
      const NodeRef up = fs_.parent(ch.df);
      if (id == kMfFid)
        target = mf();
      else if (id == fs_.fid(ch.df))
        target = ch.df;
      else if (NodeRef n = fs_.child_by_fid(ch.df, id))
        target = n;
      else if (up != 0 && id == fs_.fid(up))
        target = up;
      else if (up != 0)
        target = fs_.child_by_fid(up, id);
      break;
    }
    case 0x01:    // child DF
    case 0x02: {  // EF under the current DF
      if (d.size() != 2) return status(sw::kWrongLength);
      NodeRef n = fs_.child_by_fid(ch.df, fid_of(0));
      if (n != 0 && fs_.is_df(n) == (c.p1 == 0x01)) target = n;
      break;
    }
    case 0x03:  // parent DF
      if (!d.empty()) return status(sw::kWrongLength);
      target = fs_.parent(ch.df);
      break;
    case 0x04:  // DF name
      // "next occurrence": DF names are unique on this card, so there is none.
      if (occurrence != 0x00) break;
      target = d.empty() ? mf() : fs_.df_by_name(mf(), d);
      break;
    case 0x08:    // path from the MF
    case 0x09: {  // path from the current DF
      if (d.empty() || d.size() % 2 != 0) return status(sw::kWrongLength);
      std::size_t i = 0;
      NodeRef n = c.p1 == 0x08 ? mf() : ch.df;
      if (c.p1 == 0x08 && fid_of(0) == kMfFid) i = 2;  // tolerate a leading 3F00
      for (; i < d.size() && n != 0; i += 2) n = fs_.is_df(n) ? fs_.child_by_fid(n, fid_of(i)) : 0;
      target = n;
      break;
    }
    default:
      return status(sw::kIncorrectP1P2);
  }
  if (target == 0) return status(sw::kFileNotFound);

  select_node(ch, target, true);
  Reply r;
  if (response != 0x0C && c.has_le) {
    Bytes fcp = fs_.fcp(target);
    if (response == 0x00) fcp[0] = 0x6F;  // FCI template with the same content
    r = bounded(std::move(fcp), c);
  }
  if (r.sw == sw::kOk && fs_.inactive(target)) r.sw = sw::kSelectedFileDeactivated;
  return r;
}

// ---------------------------------------------------------------- helpers

sw::Sw Card::Impl::target_ef(Channel& ch, std::uint8_t sfi, NodeRef& ef) const {
  if (sfi != 0) {
    ef = fs_.child_by_sfi(ch.df, sfi);
    return ef == 0 ? sw::kFileNotFound : sw::kOk;
  }
  ef = ch.ef;
  return ef == 0 ? sw::kNoCurrentEf : sw::kOk;
}

sw::Sw Card::Impl::addressed_file(const Channel& ch, const Command& c, NodeRef& out) const {
  if (c.p1 != 0 || c.p2 != 0) return sw::kIncorrectP1P2;
  if (c.data.empty()) {
    out = ch.ef != 0 ? ch.ef : ch.df;
    return sw::kOk;
  }
  if (c.data.size() != 2) return sw::kWrongLength;
  out = fs_.child_by_fid(ch.df, load_be16(c.data.data()));
  return out == 0 ? sw::kFileNotFound : sw::kOk;
}

// ---------------------------------------------------------------- binary

namespace {
// P1-P2 of READ/UPDATE BINARY: b8 of P1 set -> SFI in P1 b5-b1, offset P2;
// otherwise a 15-bit offset.
bool binary_address(const apdu::Command& c, std::uint8_t& sfi, std::uint32_t& offset) {
  if (c.p1 & 0x80) {
    if ((c.p1 & 0x60) != 0 || (c.p1 & 0x1F) == 0) return false;
    sfi = c.p1 & 0x1F;
    offset = c.p2;
  } else {
    sfi = 0;
    offset = c.p1p2();
  }
  return true;
}
}  // namespace

// The EF READ/UPDATE BINARY address, checked for `op`; the offset from P1-P2.
sw::Sw Card::Impl::binary_target(Channel& ch, const Command& c, Op op, NodeRef& ef,
                                 std::uint32_t& offset) {
  std::uint8_t sfi;
  if (!binary_address(c, sfi, offset)) return sw::kIncorrectP1P2;
  if (auto s = target_ef(ch, sfi, ef); s != sw::kOk) return s;
  if (fs_.type(ef) != FileType::transparent) return sw::kIncompatibleFileStructure;
  if (fs_.inactive(ef)) return sw::kConditionsNotSatisfied;
  if (!allowed(ch, ef, op)) return sw::kSecurityStatusNotSatisfied;
  if (sfi != 0) select_node(ch, ef, false);
  return sw::kOk;
}

Reply Card::Impl::read_binary(Channel& ch, const Command& c) {
  NodeRef ef;
  std::uint32_t offset;
  if (auto s = binary_target(ch, c, Op::read, ef, offset); s != sw::kOk) return status(s);
  const std::uint32_t size = fs_.size(ef);
  if (offset >= size) return status(sw::kWrongP1P2);
  const std::uint32_t n = std::min(c.ne, size - offset);
  ByteView bytes = fs_.read_binary(ef, offset, n);
  Reply r;
  r.data.reserve(n + 2);  // room for SW1 SW2: the response is built in place
  r.data.assign(bytes.begin(), bytes.end());
  r.sw = n < c.ne ? sw::kEndReached : sw::kOk;
  return r;
}

Reply Card::Impl::update_binary(Channel& ch, const Command& c) {
  NodeRef ef;
  std::uint32_t offset;
  if (auto s = binary_target(ch, c, Op::update, ef, offset); s != sw::kOk) return status(s);
  const std::uint32_t size = fs_.size(ef);
  if (offset > size) return status(sw::kWrongP1P2);
  if (c.data.size() > size - offset) return status(sw::kNotEnoughMemory);
  Transaction tx(nvm_);
  if (auto s = fs_.update_binary(ef, offset, c.data); s != sw::kOk) return status(s);
  tx.commit();
  return status(sw::kOk);
}

// ---------------------------------------------------------------- records

// The record EF addressed by P2 (SFI, or the current EF) and checked for
// `op`. `by_number`: P2 b3-b1 must be 100 and P1 names the record (00: the
// current one); otherwise (APPEND) P1 and P2 b3-b1 must be 0.
sw::Sw Card::Impl::record_target(Channel& ch, const Command& c, Op op, NodeRef& ef,
                                 std::uint32_t& number) {
  const std::uint8_t sfi = c.p2 >> 3;
  const bool by_number = op != Op::append;
  if (sfi == 31) return sw::kIncorrectP1P2;
  if (by_number ? (c.p2 & 0x07) != 0x04 : (c.p1 != 0 || (c.p2 & 0x07) != 0))
    return sw::kIncorrectP1P2;
  if (auto s = target_ef(ch, sfi, ef); s != sw::kOk) return s;
  if (!fs_.is_record_ef(ef)) return sw::kIncompatibleFileStructure;
  if (fs_.inactive(ef)) return sw::kConditionsNotSatisfied;
  if (!allowed(ch, ef, op)) return sw::kSecurityStatusNotSatisfied;
  const std::uint32_t current = ef == ch.ef ? ch.record : 0;
  if (sfi != 0) select_node(ch, ef, false);
  if (!by_number) return sw::kOk;
  number = c.p1 != 0 ? c.p1 : current;
  if (number == 0 || number > fs_.record_count(ef)) return sw::kRecordNotFound;
  return sw::kOk;
}

Reply Card::Impl::read_record(Channel& ch, const Command& c) {
  NodeRef ef;
  std::uint32_t number = 0;
  if (auto s = record_target(ch, c, Op::read, ef, number); s != sw::kOk) return status(s);
  ByteView rec = fs_.read_record(ef, number);
  Reply r = bounded(Bytes(rec.begin(), rec.end()), c);
  if (r.sw == sw::kOk) ch.record = number;  // only a successful read moves the record pointer
  return r;
}

namespace {
sw::Sw record_length_ok(const FileSystem& fs, NodeRef ef, std::size_t n) {
  if (fs.type(ef) == FileType::linear_fixed)
    return n == fs.record_length(ef) ? sw::kOk : sw::kWrongLength;
  return n >= 1 && n <= fs.record_length(ef) ? sw::kOk : sw::kWrongLength;
}
}  // namespace

Reply Card::Impl::update_record(Channel& ch, const Command& c) {
  NodeRef ef;
  std::uint32_t number = 0;
  if (auto s = record_target(ch, c, Op::update, ef, number); s != sw::kOk) return status(s);
  if (auto s = record_length_ok(fs_, ef, c.data.size()); s != sw::kOk) return status(s);
  Transaction tx(nvm_);
  if (auto s = fs_.update_record(ef, number, c.data); s != sw::kOk) return status(s);
  tx.commit();
  ch.record = number;
  return status(sw::kOk);
}

Reply Card::Impl::append_record(Channel& ch, const Command& c) {
  NodeRef ef;
  std::uint32_t unused = 0;
  if (auto s = record_target(ch, c, Op::append, ef, unused); s != sw::kOk) return status(s);
  if (auto s = record_length_ok(fs_, ef, c.data.size()); s != sw::kOk) return status(s);
  if (fs_.record_count(ef) >= fs_.max_records(ef)) return status(sw::kNotEnoughMemory);
  Transaction tx(nvm_);
  if (auto s = fs_.append_record(ef, c.data); s != sw::kOk) return status(s);
  tx.commit();
  ch.record = fs_.record_count(ef);
  return status(sw::kOk);
}

// ---------------------------------------------------------------- structure

Reply Card::Impl::create_file(Channel& ch, const Command& c) {
  if (c.p1 != 0 || c.p2 != 0) return status(sw::kIncorrectP1P2);
  auto spec = decode_fcp(c.data);
  if (!spec) return status(spec.error());
  if (fs_.inactive(ch.df)) return status(sw::kConditionsNotSatisfied);
  if (!allowed(ch, ch.df, Op::create)) return status(sw::kSecurityStatusNotSatisfied);
  Transaction tx(nvm_);
  auto node = fs_.create(ch.df, *spec);
  if (!node) return status(node.error());
  tx.commit();
  select_node(ch, *node, true);  // ISO 7816-9: the new file becomes the current file
  return status(sw::kOk);
}

void Card::Impl::forget_subtree(NodeRef removed, NodeRef parent) {
  // Called before the subtree is freed: nothing may keep pointing into it,
  // since its memory will be reused.
  for (Channel& other : channels_) {
    if (!other.open) continue;
    if (fs_.within(other.df, removed) || (other.ef != 0 && fs_.within(other.ef, removed))) {
      other.df = parent;
      other.ef = 0;
      other.record = 0;
    }
    for (Grant& g : other.security.grants)
      if (g.object != 0 && fs_.within(g.owner, removed)) g = {};
    if (fs_.within(other.security.context, removed))
      leave_context(other, application_of(fs_, parent));
  }
}

Reply Card::Impl::delete_file(Channel& ch, const Command& c) {
  NodeRef target;
  if (auto s = addressed_file(ch, c, target); s != sw::kOk) return status(s);
  if (target == mf()) return status(sw::kConditionsNotSatisfied);
  if (!allowed(ch, target, Op::delete_file)) return status(sw::kSecurityStatusNotSatisfied);
  const NodeRef parent = fs_.parent(target);
  Transaction tx(nvm_);
  // The channels let go first, whatever happens after: a refused removal
  // (rolled back) leaves them in the parent, with their contexts ended.
  forget_subtree(target, parent);
  if (auto s = fs_.remove(target); s != sw::kOk) return status(s);
  tx.commit();
  return status(sw::kOk);
}

Reply Card::Impl::activate_file(Channel& ch, const Command& c, bool activate) {
  NodeRef target;
  if (auto s = addressed_file(ch, c, target); s != sw::kOk) return status(s);
  if (!allowed(ch, target, activate ? Op::activate : Op::deactivate))
    return status(sw::kSecurityStatusNotSatisfied);
  Transaction tx(nvm_);
  if (auto s = fs_.set_lcs(target, activate ? kLcsActivated : kLcsDeactivated); s != sw::kOk)
    return status(s);
  tx.commit();
  if (!activate) leave_contexts_within(target);  // a locked application's sessions end
  return status(sw::kOk);
}

}  // namespace juki::card_os
