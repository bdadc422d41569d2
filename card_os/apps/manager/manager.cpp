#include "card_os/apps/manager/manager.hpp"

#include <algorithm>
#include <array>

#include "card_os/apps/manager/manifest.hpp"
#include "card_os/security/ecc.hpp"
#include "common/iso7816/tlv.hpp"

namespace juki::card_os::apps::manager {

// The memory formula of layout.hpp is the card's (checked in card_os/card/app_services.cpp).

namespace {

bool same(ByteView a, ByteView b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

// The manager's own EFs (layout.hpp), as personalization wrote them.
struct Own {
  NodeRef municipality = 0;
  NodeRef counter = 0;
  NodeRef registry = 0;
  ByteView municipality_code;
  std::uint32_t sequence = 0;
  ByteView entries;  // the registry's bytes
  std::size_t count() const { return entries.size() / kEntrySize; }
  ByteView entry(std::size_t i) const { return entries.subspan(i * kEntrySize, kEntrySize); }
  // The entry of a municipal application, or count().
  std::size_t find(ByteView aid) const {
    for (std::size_t i = 0; i < count(); ++i) {
      const ByteView e = entry(i);
      if (e[kEntryAidLength] != 0 && e[kEntryAidLength] <= 16 &&
          same(e.subspan(kEntryAid, e[kEntryAidLength]), aid))
        return i;
    }
    return count();
  }
  std::size_t free_entry() const {
    for (std::size_t i = 0; i < count(); ++i)
      if (entry(i)[kEntryAidLength] == 0) return i;
    return count();
  }
};

std::optional<Own> own_files(const AppServices& card) {
  Own o;
  o.municipality = card.own_ef(kMunicipalityEf);
  o.counter = card.own_ef(kCounterEf);
  o.registry = card.own_ef(kRegistryEf);
  if (o.municipality == 0 || o.counter == 0 || o.registry == 0) return std::nullopt;
  o.municipality_code = card.contents(o.municipality);
  const ByteView counter = card.contents(o.counter);
  o.entries = card.contents(o.registry);
  if (o.municipality_code.size() < kMunicipalityLength || counter.size() < kCounterLength)
    return std::nullopt;
  o.municipality_code = o.municipality_code.first(kMunicipalityLength);
  o.sequence = load_be32(counter.data());
  return o;
}

// ---------------------------------------------------------------- LIST APPLICATIONS

Reply list(AppServices& card, const apdu::Command& c, const Own& own) {
  if (c.apdu_case != 2) return status(sw::kWrongLength);
  tlv::Builder all;
  for (const AppServices::ApplicationDf& a : card.applications()) {
    const std::size_t entry = own.find(a.aid);
    const bool municipal = entry < own.count();
    const std::uint8_t life_cycle = a.deactivated ? kLocked : a.pins_set ? kSelectable : kInstalled;
    tlv::Builder b;
    b.add(kAidTag, a.aid);
    if (a.fid != 0) b.add_u16(kListFidTag, a.fid);
    b.add_u8(kLifeCycleTag, life_cycle);
    b.add_u8(kKindTag, municipal ? kMunicipal : kSystem);
    Bytes quota, used;
    append_be32(quota, municipal ? load_be32(own.entry(entry).data() + kEntryQuota) : 0);
    append_be32(used, a.used);
    b.add(kQuotaListTag, quota).add(kUsedTag, used);
    all.add_raw(b.wrap(kEntryTag));
  }
  return bounded(all.bytes(), c);
}

// ---------------------------------------------------------------- authorization

std::uint8_t operation_of(std::uint8_t ins) {
  switch (ins) {
    case kInstallIns:
      return kOpInstall;
    case kDeleteIns:
      return kOpDelete;
    case kLockIns:
      return kOpLock;
    default:
      return kOpUnlock;
  }
}

// The whole TLV (tag, length and value) decode_all returned.
ByteView whole(const tlv::Tlv& t) {
  const std::size_t header = t.encoded_size - t.value.size();
  return ByteView(t.value.data() - header, t.encoded_size);
}

// Checks the authorization of a command (specs/card-manager.md 3, steps 2
// to 5) and gives its manifest; the status word of the first check that
// fails otherwise. `newest` is the card's date after it.
Result<Manifest, sw::Sw> authorize(AppServices& card, const apdu::Command& c, const Own& own,
                                   certificate::Date& newest) {
  auto items = tlv::decode_all(c.data);
  if (!items || items->size() != 4 || (*items)[0].tag != kManifestTag ||
      (*items)[1].tag != kSignatureTag || (*items)[2].tag != kAuthorityTag ||
      (*items)[3].tag != kCaTag || (*items)[1].value.size() != ecc::kSignatureSize)
    return unexpected(sw::kWrongData);
  const tlv::Tlv& manifest = (*items)[0];

  // The authority: a terminal certificate with role app-authority of the
  // card's municipality, under the trust anchor, at the card's date.
  auto authority = card.check_terminal_chain((*items)[3].value, (*items)[2].value);
  if (!authority ||
      authority->role != static_cast<std::uint16_t>(certificate::Role::app_authority) ||
      !same(as_bytes(authority->municipality), own.municipality_code))
    return unexpected(sw::kSecurityStatusNotSatisfied);
  // Its signature over the prefix and the manifest's bytes as sent.
  Bytes signed_data(std::begin(kSignaturePrefix), std::end(kSignaturePrefix));
  const ByteView bytes = whole(manifest);
  signed_data.insert(signed_data.end(), bytes.begin(), bytes.end());
  if (!ecc::verify(authority->key, signed_data, (*items)[1].value))
    return unexpected(sw::kSecurityStatusNotSatisfied);

  auto m = decode_manifest(manifest.value);
  if (!m) return unexpected(m.error());
  // For this operation, this card, and never used before on it.
  if (m->operation != operation_of(c.ins) || !same(m->serial, card.serial()) ||
      m->sequence <= own.sequence)
    return unexpected(sw::kSecurityStatusNotSatisfied);
  newest = authority->newest;
  return std::move(*m);
}

// The counter and the card's date, within the operation's transaction.
sw::Sw record(AppServices& card, const Own& own, const Manifest& m, certificate::Date newest) {
  std::array<std::uint8_t, kCounterLength> counter{};
  store_be32(counter.data(), m.sequence);
  if (auto s = card.write(own.counter, 0, counter); s != sw::kOk) return s;
  return card.advance_date(newest);
}

// ---------------------------------------------------------------- operations

constexpr std::size_t kKeyAnswerSize = 73;  // 7F49 46 { 83 01 ref, 86 41 point }

Reply install(AppServices& card, const apdu::Command& c, const Own& own, const Manifest& m,
              certificate::Date newest) {
  if (card.mf_child(m.fid) != 0) return status(sw::kFileExists);
  if (card.df_named(m.aid) != 0) return status(sw::kDfNameExists);
  const std::size_t entry = own.free_entry();
  if (entry == own.count()) return status(sw::kNotEnoughMemory);
  if (allocation(m) > m.quota || m.quota > card.free_bytes()) return status(sw::kNotEnoughMemory);
  if (c.apdu_case == 4 && c.ne < m.keys.size() * kKeyAnswerSize) return status(sw::kWrongLength);

  card.begin();
  auto df = card.create_application(m.fid, m.aid);
  if (!df) return status(df.error());
  for (ByteView pin : m.pins)
    if (auto s = card.put_pin(*df, pin); s != sw::kOk) return status(s);
  Bytes answer;
  for (std::uint8_t ref : m.keys) {
    auto point = card.generate_key(*df, ref);
    if (!point) return status(point.error());
    tlv::Builder b;
    b.add_u8(0x83, ref).add(0x86, *point);
    const Bytes key = b.wrap(0x7F49);
    answer.insert(answer.end(), key.begin(), key.end());
  }
  for (const FileDefinition& f : m.files) {
    auto ef = card.create_file(*df, f.spec);
    if (!ef) return status(ef.error());
    for (ByteView data : f.contents) {
      const sw::Sw s = f.spec.type == FileType::transparent ? card.write_file(*ef, 0, data)
                                                            : card.append_record(*ef, data);
      if (s != sw::kOk) return status(s);
    }
  }
  std::array<std::uint8_t, kEntrySize> e{};
  e[kEntryAidLength] = static_cast<std::uint8_t>(m.aid.size());
  std::copy(m.aid.begin(), m.aid.end(), e.begin() + kEntryAid);
  store_be16(&e[kEntryFid], m.fid);
  store_be32(&e[kEntryQuota], m.quota);
  if (auto s = card.write(own.registry, static_cast<std::uint32_t>(entry * kEntrySize), e);
      s != sw::kOk)
    return status(s);
  if (auto s = record(card, own, m, newest); s != sw::kOk) return status(s);
  card.commit();
  if (c.apdu_case != 4) answer.clear();
  return Reply{std::move(answer), sw::kOk};
}

// DELETE, LOCK and UNLOCK: a municipal application, by its AID.
Reply change(AppServices& card, const Own& own, const Manifest& m, certificate::Date newest) {
  const NodeRef df = card.df_named(m.aid);
  if (df == 0) return status(sw::kFileNotFound);
  const std::size_t entry = own.find(m.aid);
  if (entry == own.count()) return status(sw::kConditionsNotSatisfied);  // a system application
  bool locked = false;
  for (const AppServices::ApplicationDf& a : card.applications())
    if (a.df == df) locked = a.deactivated;
  if ((m.operation == kOpLock && locked) || (m.operation == kOpUnlock && !locked))
    return status(sw::kConditionsNotSatisfied);

  card.begin();
  if (auto s = record(card, own, m, newest); s != sw::kOk) return status(s);
  if (m.operation == kOpDelete) {
    const std::array<std::uint8_t, kEntrySize> free{};
    if (auto s = card.write(own.registry, static_cast<std::uint32_t>(entry * kEntrySize), free);
        s != sw::kOk)
      return status(s);
    if (auto s = card.remove(df); s != sw::kOk) return status(s);
  } else if (auto s = card.set_locked(df, m.operation == kOpLock); s != sw::kOk) {
    return status(s);
  }
  card.commit();
  return status(sw::kOk);
}

}  // namespace

std::optional<Reply> Manager::process(AppServices& card, const apdu::Command& c) const {
  if ((c.cla & 0x80) == 0) return std::nullopt;  // ISO commands: the card OS's
  switch (c.ins) {
    case kListIns:
    case kInstallIns:
    case kDeleteIns:
    case kLockIns:
    case kUnlockIns:
      break;
    default:
      return std::nullopt;
  }
  if (card.life_cycle() != LifeCycle::active) return status(sw::kConditionsNotSatisfied);
  const bool install_case = c.ins == kInstallIns && (c.apdu_case == 3 || c.apdu_case == 4);
  const bool case_ok = c.ins == kListIns ? c.apdu_case == 2 : (install_case || c.apdu_case == 3);
  if (!case_ok) return status(sw::kWrongLength);
  if (c.p1 != 0x00 || c.p2 != 0x00) return status(sw::kIncorrectP1P2);
  const auto own = own_files(card);
  if (!own) return status(sw::kReferenceNotFound);
  if (c.ins == kListIns) return list(card, c, *own);

  certificate::Date newest = 0;
  auto m = authorize(card, c, *own, newest);
  if (!m) return status(m.error());
  if (m->operation == kOpInstall) return install(card, c, *own, *m, newest);
  return change(card, *own, *m, newest);
}

}  // namespace juki::card_os::apps::manager
