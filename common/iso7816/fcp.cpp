#include "common/iso7816/fcp.hpp"

#include "common/iso7816/tlv.hpp"

namespace juki::fcp {

namespace {

constexpr std::uint8_t kDataCodingByte = 0x21;

bool valid_fid(std::uint16_t fid) {
  return fid != 0x0000 && fid != kMfFid && fid != 0x3FFF && fid != 0xFFFF;
}

// Tag 86 layout, repeated: op, flags, pin ref, key ref, roles (2 bytes).
constexpr std::size_t kRuleEncoding = 6;

}  // namespace

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

}  // namespace juki::fcp
