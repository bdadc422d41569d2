#include "card_os/card/app_services.hpp"

#include <algorithm>
#include <utility>

#include "card_os/apps/application.hpp"
#include "card_os/card/card_impl.hpp"
#include "card_os/security/rsa.hpp"
#include "common/layout/card_manager.hpp"
#include "common/secure_wipe.hpp"

namespace juki::card_os {

AppServices::AppServices(Card::Impl& card, Channel& channel) : card_(card), ch_(channel) {}

LifeCycle AppServices::life_cycle() const {
  return card_.life_cycle();
}

NodeRef AppServices::application() const {
  return ch_.security.context;
}

bool AppServices::verified(ObjectRef pin) const {
  return ch_.security.has(pin);
}

void AppServices::forget(ObjectRef pin) {
  ch_.security.revoke(pin);
}

void AppServices::leave_current_ef() {
  ch_.ef = 0;
  ch_.record = 0;
}

std::uint32_t& AppServices::state() {
  return ch_.app_state;
}

ObjectRef AppServices::object(ObjectKind kind, std::uint8_t ref) const {
  return card_.objects_.find(application(), kind, ref);
}

std::uint8_t AppServices::tries_left(ObjectRef pin) const {
  return card_.objects_.tries_left(pin);
}

sw::Sw AppServices::verify(ObjectRef pin, const apdu::Command& c) {
  return card_.verify_pin(ch_, pin, c).sw;
}

Result<AppServices::BinaryTarget, sw::Sw> AppServices::binary_target(const apdu::Command& c,
                                                                     Op op) {
  NodeRef ef = 0;
  std::uint32_t offset = 0;
  if (auto s = card_.binary_target(ch_, c, op, ef, offset); s != sw::kOk) return unexpected(s);
  BinaryTarget t;
  t.fid = card_.fs_.fid(ef);
  t.in_application = card_.fs_.parent(ef) == application();
  t.size = card_.fs_.size(ef);
  t.offset = offset;
  return t;
}

Result<Bytes, sw::Sw> AppServices::rsa_sign(ObjectRef key, ByteView digest_info) {
  Bytes secret = card_.objects_.rsa_secret(key);
  auto signature = rsa::sign_pkcs1_v15(secret, digest_info, card_.random_);
  secure_wipe(secret);
  if (signature) return std::move(*signature);
  switch (signature.error()) {
    case rsa::Error::bad_length:
      return unexpected(sw::kWrongLength);  // more than k - 11 bytes to sign
    case rsa::Error::bad_key:
      return unexpected(sw::kReferenceDataNotUsable);
    default:
      return unexpected(sw::kMemoryFailure);  // "6581": the operation failed
  }
}

// ---------------------------------------------------------------- reading

ByteView AppServices::serial() const {
  return card_.nvm_.read(Superblock::kSerialAt, 8);
}

NodeRef AppServices::own_ef(std::uint16_t fid) const {
  const NodeRef ef = card_.fs_.child_by_fid(application(), fid);
  return ef != 0 && card_.fs_.type(ef) == FileType::transparent ? ef : 0;
}

ByteView AppServices::contents(NodeRef ef) const {
  if (ef == 0 || card_.fs_.parent(ef) != application()) return {};
  return card_.fs_.read_binary(ef, 0, card_.fs_.size(ef));
}

// ---------------------------------------------------------------- certificates

Result<AppServices::Terminal, ChainRefusal> AppServices::check_terminal_chain(
    ByteView ca_der, ByteView terminal_der) const {
  auto ca = card_.check_terminal_ca(application(), ca_der);
  if (!ca) return unexpected(ca.error());
  auto cert = card_.check_terminal(*ca, terminal_der);
  if (!cert) return unexpected(cert.error());
  Terminal t;
  t.key = cert->key;
  t.role = cert->authorization->role;
  t.municipality = cert->authorization->municipality;
  t.newest = std::max({ca->today, ca->not_before, cert->not_before});
  return t;
}

// ---------------------------------------------------------------- changes

void AppServices::begin() {
  tx_.emplace(card_.nvm_);
}

void AppServices::commit() {
  if (tx_) tx_->commit();
}

sw::Sw AppServices::write(NodeRef ef, std::uint32_t offset, ByteView data) {
  if (ef == 0 || card_.fs_.parent(ef) != application() ||
      card_.fs_.type(ef) != FileType::transparent)
    return sw::kConditionsNotSatisfied;
  if (offset > card_.fs_.size(ef) || data.size() > card_.fs_.size(ef) - offset)
    return sw::kNotEnoughMemory;
  return card_.fs_.update_binary(ef, offset, data);
}

sw::Sw AppServices::advance_date(certificate::Date date) {
  if (date <= card_.nvm_.u64(Superblock::kCardDateAt)) return sw::kOk;
  return to_sw(card_.nvm_.write_u64(Superblock::kCardDateAt, date));
}

// ---------------------------------------------------------------- card content

// The memory the card manager's published layout charges for an application
// (common/layout/card_manager.hpp) is what ApplicationDf::used and
// free_bytes() count here.
static_assert(layout::manager::kNodeBytes == FileSystem::kNodeSize);
static_assert(layout::manager::kObjectBytes == SecurityObjects::kObjectSize);
static_assert(layout::manager::block_bytes(1) == Heap::block_size(1) &&
              layout::manager::block_bytes(88) == Heap::block_size(88) &&
              layout::manager::block_bytes(0) == Heap::block_size(0) &&
              layout::manager::block_bytes(301) == Heap::block_size(301));

namespace {

// Bytes a DF's files and objects take, not counting named DFs below it
// (applications of their own).
std::uint32_t used_bytes(const FileSystem& fs, const SecurityObjects& objects,
                         const PersistentMemory& m, NodeRef df) {
  std::uint32_t used = Heap::block_size(FileSystem::kNodeSize);
  for (ObjectRef o = fs.objects(df); o != 0; o = m.u32(o + kObjectNextOffset))
    used += Heap::block_size(objects.stored_size(o));
  for (NodeRef n = fs.first_child(df); n != 0; n = fs.next_sibling(n)) {
    if (fs.is_df(n)) {
      if (fs.name(n).empty()) used += used_bytes(fs, objects, m, n);
      continue;
    }
    used += Heap::block_size(FileSystem::kNodeSize);
    if (const std::uint32_t data = contents_size(fs.spec(n)); data > 0)
      used += Heap::block_size(data);
  }
  return used;
}

bool all_pins_set(const FileSystem& fs, const SecurityObjects& objects, const PersistentMemory& m,
                  NodeRef df) {
  for (ObjectRef o = fs.objects(df); o != 0; o = m.u32(o + kObjectNextOffset))
    if (objects.kind(o) == ObjectKind::pin && !objects.pin_set(o)) return false;
  return true;
}

void collect(const FileSystem& fs, const SecurityObjects& objects, const PersistentMemory& m,
             NodeRef df, std::vector<AppServices::ApplicationDf>& out) {
  for (NodeRef n = fs.first_child(df); n != 0; n = fs.next_sibling(n)) {
    if (!fs.is_df(n)) continue;
    if (!fs.name(n).empty()) {
      AppServices::ApplicationDf a;
      a.df = n;
      a.aid.assign(fs.name(n).begin(), fs.name(n).end());
      a.fid = fs.fid(n);
      a.deactivated = fs.deactivated(n);
      a.pins_set = all_pins_set(fs, objects, m, n);
      a.used = used_bytes(fs, objects, m, n);
      out.push_back(std::move(a));
    }
    collect(fs, objects, m, n, out);
  }
}

}  // namespace

std::vector<AppServices::ApplicationDf> AppServices::applications() const {
  std::vector<ApplicationDf> out;
  collect(card_.fs_, card_.objects_, card_.nvm_, card_.mf(), out);
  return out;
}

NodeRef AppServices::mf_child(std::uint16_t fid) const {
  return card_.fs_.child_by_fid(card_.mf(), fid);
}

NodeRef AppServices::df_named(ByteView aid) const {
  return aid.empty() ? 0 : card_.fs_.df_by_name(card_.mf(), aid);
}

std::uint32_t AppServices::free_bytes() const {
  return card_.heap_.free_bytes();
}

bool AppServices::manages(NodeRef app) const {
  const FileSystem& fs = card_.fs_;
  return ch_.app != nullptr && ch_.app->manages_content() && app != 0 && fs.is_df(app) &&
         fs.parent(app) == card_.mf() && !fs.name(app).empty() && app != application();
}

bool AppServices::within_managed(NodeRef n) const {
  return n != 0 && !card_.fs_.is_df(n) && manages(card_.fs_.parent(n));
}

Result<NodeRef, sw::Sw> AppServices::create_application(std::uint16_t fid, ByteView aid) {
  if (ch_.app == nullptr || !ch_.app->manages_content() || aid.empty())
    return unexpected(sw::kConditionsNotSatisfied);
  FileSpec df;
  df.type = FileType::df;
  df.fid = fid;
  df.name.assign(aid.begin(), aid.end());
  df.rules.fill(AccessRule::never());  // nothing is added, removed or locked but by the manager
  return card_.fs_.create(card_.mf(), df);
}

Result<NodeRef, sw::Sw> AppServices::create_file(NodeRef app, const FileSpec& spec) {
  if (!manages(app) || spec.type == FileType::df) return unexpected(sw::kConditionsNotSatisfied);
  return card_.fs_.create(app, spec);
}

sw::Sw AppServices::put_pin(NodeRef app, ByteView pin_template) {
  if (!manages(app) || pin_template.empty() || pin_template[0] != 0xA1)
    return sw::kConditionsNotSatisfied;
  auto o = card_.objects_.put(app, pin_template, card_.salt());
  return o ? sw::kOk : o.error();
}

Result<ecc::Point, sw::Sw> AppServices::generate_key(NodeRef app, std::uint8_t ref) {
  if (!manages(app)) return unexpected(sw::kConditionsNotSatisfied);
  ecc::KeyPair pair = ecc::generate(card_.random_);
  auto key = card_.objects_.put_ec_key(app, ref, pair.secret);
  secure_wipe(pair.secret);
  if (!key) return unexpected(key.error());
  return pair.point;
}

sw::Sw AppServices::write_file(NodeRef ef, std::uint32_t offset, ByteView data) {
  if (!within_managed(ef) || card_.fs_.type(ef) != FileType::transparent)
    return sw::kConditionsNotSatisfied;
  if (offset > card_.fs_.size(ef) || data.size() > card_.fs_.size(ef) - offset)
    return sw::kNotEnoughMemory;
  return card_.fs_.update_binary(ef, offset, data);
}

sw::Sw AppServices::append_record(NodeRef ef, ByteView record) {
  const FileSystem& fs = card_.fs_;
  if (!within_managed(ef) || !fs.is_record_ef(ef)) return sw::kConditionsNotSatisfied;
  if (fs.record_count(ef) >= fs.max_records(ef)) return sw::kNotEnoughMemory;
  const bool fits = fs.type(ef) == FileType::linear_fixed
                        ? record.size() == fs.record_length(ef)
                        : !record.empty() && record.size() <= fs.record_length(ef);
  if (!fits) return sw::kWrongLength;
  return card_.fs_.append_record(ef, record);
}

sw::Sw AppServices::set_locked(NodeRef app, bool locked) {
  if (!manages(app)) return sw::kConditionsNotSatisfied;
  if (auto s = card_.fs_.set_lcs(app, locked ? kLcsDeactivated : kLcsActivated); s != sw::kOk)
    return s;
  if (locked) card_.leave_contexts_within(app);
  return sw::kOk;
}

sw::Sw AppServices::remove(NodeRef app) {
  if (!manages(app)) return sw::kConditionsNotSatisfied;
  // As DELETE FILE: no channel keeps pointing into the subtree.
  card_.forget_subtree(app, card_.mf());
  return card_.fs_.remove(app);
}

}  // namespace juki::card_os
