#include "card_os/apps/manager/manifest.hpp"

#include <algorithm>

#include "common/iso7816/tlv.hpp"
#include "common/layout/card_manager.hpp"

namespace juki::card_os::apps::manager {

using namespace juki::layout::manager;

namespace {

constexpr std::uint8_t kMaxRef = 31;

bool valid_fid(std::uint16_t fid) {
  return fid != 0x0000 && fid != kMfFid && fid != 0x3FFF && fid != 0xFFFF;
}

// The bytes of a whole TLV (tag, length, value) that decode_all returned.
ByteView whole(const tlv::Tlv& t) {
  const std::size_t header = t.encoded_size - t.value.size();
  return ByteView(t.value.data() - header, t.encoded_size);
}

// A PIN template: PUT DATA's A1 without an initial value (84) or flags (85),
// and an unblock policy, if any, by a PUK (01 RR). References are checked
// against the other PINs by the caller.
struct PinFields {
  std::uint8_t ref = 0;
  std::uint8_t puk = 0;
};
Result<PinFields, sw::Sw> decode_pin(ByteView value) {
  auto items = tlv::decode_all(value);
  if (!items) return unexpected(sw::kWrongData);
  PinFields p;
  std::uint32_t seen = 0;
  for (const tlv::Tlv& t : *items) {
    const ByteView v = t.value;
    std::uint32_t bit = 0;
    switch (t.tag) {
      case 0x83:
        bit = 1;
        if (v.size() != 1 || v[0] == 0 || v[0] > kMaxRef) return unexpected(sw::kWrongData);
        p.ref = v[0];
        break;
      case 0x80:
        bit = 2;
        if (v.size() != 1 || v[0] < 1 || v[0] > 3) return unexpected(sw::kWrongData);
        break;
      case 0x81:
        bit = 4;
        if (v.size() != 2 || v[0] == 0 || v[0] > v[1] || v[1] > 16)
          return unexpected(sw::kWrongData);
        break;
      case 0x82:
        bit = 8;
        if (v.size() != 1 || v[0] == 0 || v[0] > 15) return unexpected(sw::kWrongData);
        break;
      case 0x86:
        bit = 16;
        if (v.size() != 2 || v[0] != 0x01 || v[1] == 0 || v[1] > kMaxRef)
          return unexpected(sw::kWrongData);
        p.puk = v[1];
        break;
      default:  // 84 (a value) and 85 (flags) included: never in a manifest
        return unexpected(sw::kWrongData);
    }
    if (seen & bit) return unexpected(sw::kWrongData);
    seen |= bit;
  }
  if ((seen & 15) != 15) return unexpected(sw::kWrongData);
  return p;
}

Result<std::uint8_t, sw::Sw> decode_key(ByteView value) {
  auto items = tlv::decode_all(value);
  if (!items || items->size() != 2 || (*items)[0].tag != 0x83 || (*items)[1].tag != 0x80)
    return unexpected(sw::kWrongData);
  const ByteView ref = (*items)[0].value;
  const ByteView algorithm = (*items)[1].value;
  if (ref.size() != 1 || ref[0] == 0 || ref[0] > kMaxRef || algorithm.size() != 1 ||
      algorithm[0] != kAlgorithmP256)
    return unexpected(sw::kWrongData);
  return ref[0];
}

Result<FileDefinition, sw::Sw> decode_file(ByteView value) {
  auto items = tlv::decode_all(value);
  if (!items || items->empty() || (*items)[0].tag != 0x62) return unexpected(sw::kWrongData);
  auto spec = decode_fcp(whole((*items)[0]));
  if (!spec || spec->type == FileType::df) return unexpected(sw::kWrongData);
  FileDefinition f{std::move(*spec), {}};
  for (std::size_t i = 1; i < items->size(); ++i) {
    const tlv::Tlv& t = (*items)[i];
    if (t.tag != kContentsTag || t.value.empty()) return unexpected(sw::kWrongData);
    f.contents.push_back(t.value);
  }
  const FileSpec& s = f.spec;
  switch (s.type) {
    case FileType::transparent:
      if (f.contents.size() > 1 || (!f.contents.empty() && f.contents[0].size() > s.size))
        return unexpected(sw::kWrongData);
      break;
    case FileType::linear_fixed:
    case FileType::linear_variable:
      if (f.contents.size() > s.max_records) return unexpected(sw::kWrongData);
      for (ByteView r : f.contents)
        if (s.type == FileType::linear_fixed ? r.size() != s.record_length
                                             : r.size() > s.record_length)
          return unexpected(sw::kWrongData);
      break;
    case FileType::df:
      return unexpected(sw::kWrongData);
  }
  return f;
}

}  // namespace

Result<Manifest, sw::Sw> decode_manifest(ByteView value) {
  auto decoded = tlv::decode_all(value);
  if (!decoded) return unexpected(sw::kWrongData);
  const std::vector<tlv::Tlv>& items = *decoded;
  std::size_t i = 0;
  // The next item, if it has `tag` and a length within [min, max].
  auto next = [&](std::uint32_t tag, std::size_t min, std::size_t max) -> const tlv::Tlv* {
    if (i >= items.size() || items[i].tag != tag || items[i].value.size() < min ||
        items[i].value.size() > max)
      return nullptr;
    return &items[i++];
  };
  Manifest m;
  const tlv::Tlv* op = next(kOperationTag, 1, 1);
  const tlv::Tlv* serial = next(kSerialTag, 8, 8);
  const tlv::Tlv* sequence = next(kSequenceTag, 4, 4);
  const tlv::Tlv* aid = next(kAidTag, 5, 16);
  if (!op || !serial || !sequence || !aid) return unexpected(sw::kWrongData);
  m.operation = op->value[0];
  m.serial = serial->value;
  m.sequence = load_be32(sequence->value.data());
  m.aid = aid->value;
  if (m.operation < kOpInstall || m.operation > kOpUnlock) return unexpected(sw::kWrongData);
  if (m.operation != kOpInstall) {
    if (i != items.size()) return unexpected(sw::kWrongData);
    return m;
  }

  const tlv::Tlv* fid = next(kDfTag, 2, 2);
  const tlv::Tlv* quota = next(kQuotaTag, 4, 4);
  if (!fid || !quota) return unexpected(sw::kWrongData);
  m.fid = load_be16(fid->value.data());
  m.quota = load_be32(quota->value.data());
  if (!valid_fid(m.fid)) return unexpected(sw::kWrongData);

  std::vector<PinFields> pins;
  for (; i < items.size() && items[i].tag == kPinTag; ++i) {
    auto p = decode_pin(items[i].value);
    if (!p) return unexpected(p.error());
    for (const PinFields& other : pins)
      if (other.ref == p->ref) return unexpected(sw::kWrongData);
    pins.push_back(*p);
    m.pins.push_back(whole(items[i]));
  }
  // A PUK is another PIN of the application.
  for (const PinFields& p : pins)
    if (p.puk != 0 && (p.puk == p.ref || std::none_of(pins.begin(), pins.end(),
                                                      [&](auto& o) { return o.ref == p.puk; })))
      return unexpected(sw::kWrongData);
  for (; i < items.size() && items[i].tag == kKeyTag; ++i) {
    auto ref = decode_key(items[i].value);
    if (!ref) return unexpected(ref.error());
    if (std::find(m.keys.begin(), m.keys.end(), *ref) != m.keys.end())
      return unexpected(sw::kWrongData);
    m.keys.push_back(*ref);
  }
  for (; i < items.size() && items[i].tag == kFileTag; ++i) {
    auto f = decode_file(items[i].value);
    if (!f) return unexpected(f.error());
    if (f->spec.fid == m.fid) return unexpected(sw::kWrongData);
    for (const FileDefinition& other : m.files)
      if (other.spec.fid == f->spec.fid || (f->spec.sfi != 0 && other.spec.sfi == f->spec.sfi))
        return unexpected(sw::kWrongData);
    m.files.push_back(std::move(*f));
  }
  if (i != items.size()) return unexpected(sw::kWrongData);
  return m;
}

std::uint32_t allocation(const Manifest& m) {
  std::uint64_t total = file_bytes(0);  // the DF's node
  total += static_cast<std::uint64_t>(m.pins.size() + m.keys.size()) * object_bytes();
  for (const FileDefinition& f : m.files) total += file_bytes(contents_size(f.spec));
  return total > 0xFFFFFFFFu ? 0xFFFFFFFFu : static_cast<std::uint32_t>(total);
}

}  // namespace juki::card_os::apps::manager
