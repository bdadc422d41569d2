#include "card_os/card/card.hpp"

#include <algorithm>
#include <optional>
#include <utility>

#include "card_os/apps/application.hpp"
#include "card_os/card/app_services.hpp"
#include "card_os/card/card_impl.hpp"
#include "common/secure_wipe.hpp"

namespace juki::card_os {

const char* to_string(LifeCycle s) {
  switch (s) {
    case LifeCycle::transport_locked:
      return "transport-locked";
    case LifeCycle::personalization:
      return "personalization";
    case LifeCycle::issued:
      return "issued";
    case LifeCycle::active:
      return "active";
    case LifeCycle::terminated:
      return "terminated";
  }
  return "unknown";
}

std::string CardFailure::message() const {
  switch (error) {
    case CardError::bad_profile:
      return "factory profile rejected: the transport key must be 16, 24 or 32 bytes and the "
             "serial 8 bytes";
    case CardError::nvm:
      return std::string("card memory: ") + describe(nvm_error);
    case CardError::not_a_card_image:
      return "the memory image holds no Juki card OS data (superblock magic missing)";
    case CardError::unsupported_layout:
      return "the card OS superblock has a layout version this card OS does not support";
    case CardError::bad_life_cycle:
      return "the card OS superblock's life-cycle state is none of the known states";
    case CardError::bad_heap:
      return "the card OS heap is damaged (its blocks or its free list are inconsistent)";
    case CardError::bad_mf:
      return "the card OS superblock's MF pointer does not lead to the MF";
    case CardError::power_lost:
      return "power was lost while the card was starting";
  }
  return "unknown card failure";
}

// ---------------------------------------------------------------- SecurityState

bool SecurityState::has(ObjectRef o) const {
  return o != 0 &&
         std::any_of(grants.begin(), grants.end(), [o](const Grant& g) { return g.object == o; });
}

void SecurityState::grant(ObjectRef o, NodeRef owner) {
  if (has(o)) return;
  for (Grant& g : grants)
    if (g.object == 0) {
      g = {o, owner};
      return;
    }
  grants.back() = {o, owner};  // full: the oldest-placed last slot gives way
}

void SecurityState::revoke(ObjectRef o) {
  for (Grant& g : grants)
    if (g.object == o) g = {};
}

void SecurityState::clear_except(NodeRef keep_owner) {
  for (Grant& g : grants)
    if (g.owner != keep_owner) g = {};
}

// ---------------------------------------------------------------- Impl

Card::Impl::Impl(Storage& storage, RandomSource& random, Applications applications,
                 PersistentMemory memory)
    : nvm_(std::move(memory)),
      storage_(storage),
      random_(random),
      applications_(applications),
      heap_(nvm_, Superblock::kHeapHeadAt, Superblock::kSize, nvm_.capacity()),
      fs_(nvm_, heap_),
      objects_(nvm_, heap_, fs_) {
  reset();
}

void Card::Impl::reset() {
  for (Channel& ch : channels_) ch.auth.clear();  // session keys wiped, not just dropped
  channels_ = {};
  channels_[0].open = true;
  channels_[0].df = mf();
  enter_context(channels_[0], mf());
}

void Card::Impl::repair() {
  ObjectRef tk = objects_.find(mf(), ObjectKind::key, kTransportKeyRef);
  if (tk == 0 || (objects_.flags(tk) & kKeyTransport) == 0) return;
  if (issuing()) {
    if (objects_.blocked(tk)) {  // a torn last proof: the termination completes
      Transaction tx(nvm_);
      if (set_life_cycle(LifeCycle::terminated) == sw::kOk) tx.commit();
    }
  } else if (life_cycle() != LifeCycle::terminated) {
    // Issued by a release before retirement (specs/card-os.md 5): the
    // transport key is retired now, as SET STATUS would have.
    Transaction tx(nvm_);
    if (objects_.retire_key(tk) == NvmError::none) tx.commit();
  }
}

Bytes Card::Impl::atr() const {
  // T=1 only, IFSC 254; historical bytes in compact-TLV (ISO 7816-4 8.1.1):
  // card capabilities (selection by full DF name, path, FID; SFI; record
  // number; extended Lc/Le; 4 logical channels) and the life-cycle status.
  std::uint8_t lcs = 0;
  switch (life_cycle()) {
    case LifeCycle::transport_locked:
      lcs = 0x01;
      break;  // creation
    case LifeCycle::personalization:
      lcs = 0x03;
      break;  // initialisation
    case LifeCycle::issued:
      lcs = 0x04;
      break;  // operational, deactivated
    case LifeCycle::active:
      lcs = 0x05;
      break;  // operational, activated
    case LifeCycle::terminated:
      lcs = 0x0C;
      break;  // termination
  }
  const Bytes historical = {0x80, 0x73, 0xB6, 0x21, 0x5B, 0x54, 'J', 'U', 'K', 'I', 0x81, lcs};
  Bytes atr = {0x3B, static_cast<std::uint8_t>(0x80 | historical.size()), 0x81, 0x31, 0xFE, 0x45};
  atr.insert(atr.end(), historical.begin(), historical.end());
  std::uint8_t tck = 0;
  for (std::size_t i = 1; i < atr.size(); ++i) tck ^= atr[i];
  atr.push_back(tck);
  return atr;
}

namespace {

// Which life-cycle states admit a command (specs/card-os.md "Life cycle").
enum : std::uint8_t { T = 1, P = 2, I = 4, A = 8, X = 16 };

std::uint8_t state_bit(LifeCycle s) {
  switch (s) {
    case LifeCycle::transport_locked:
      return T;
    case LifeCycle::personalization:
      return P;
    case LifeCycle::issued:
      return I;
    case LifeCycle::active:
      return A;
    case LifeCycle::terminated:
      return X;
  }
  return 0;
}

// APDU cases a command accepts (bit n = case n).
enum : std::uint8_t { C1 = 2, C2 = 4, C3 = 8, C4 = 16 };

struct CommandDef {
  std::uint8_t ins;
  bool proprietary;  // CLA 8x instead of 0x
  std::uint8_t states;
  std::uint8_t cases;
};

constexpr CommandDef kCommands[] = {
    {0xA4, false, P | I | A, C1 | C2 | C3 | C4},  // SELECT
    {0xB0, false, P | A, C2},                     // READ BINARY
    {0xD6, false, P | A, C3},                     // UPDATE BINARY
    {0xB2, false, P | A, C2},                     // READ RECORD
    {0xDC, false, P | A, C3},                     // UPDATE RECORD
    {0xE2, false, P | A, C3},                     // APPEND RECORD
    {0x20, false, P | A, C1 | C3},                // VERIFY
    {0x24, false, P | I | A, C3},                 // CHANGE REFERENCE DATA
    {0x2C, false, P | A, C1 | C3},                // RESET RETRY COUNTER
    {0x84, false, T | P | I | A, C2},             // GET CHALLENGE
    {0x82, false, T | P | I | A, C3},             // EXTERNAL AUTHENTICATE
    {0x2A, false, P | I | A, C3},                 // PSO: VERIFY CERTIFICATE
    {0x86, false, P | I | A, C4},                 // GENERAL AUTHENTICATE
    {0x46, false, P, C2},                         // GENERATE ASYMMETRIC KEY PAIR
    {0x70, false, P | I | A, C1 | C2},            // MANAGE CHANNEL
    {0xE0, false, P | A, C3},                     // CREATE FILE
    {0xE4, false, P | A, C1 | C3},                // DELETE FILE
    {0x04, false, P | A, C1 | C3},                // DEACTIVATE FILE
    {0x44, false, P | A, C1 | C3},                // ACTIVATE FILE
    {0xCA, false, P | I | A | X, C2},             // GET DATA
    {0xDA, false, P, C3},                         // PUT DATA
    {0xFE, false, P | I | A, C1},                 // TERMINATE CARD USAGE
    {0xF0, true, P, C1},                          // SET STATUS
};

const CommandDef* find_command(std::uint8_t ins) {
  for (const CommandDef& d : kCommands)
    if (d.ins == ins) return &d;
  return nullptr;
}

// The response APDU is the reply's own buffer with SW1 SW2 appended: no copy.
Bytes encode(Reply&& r) {
  r.data.push_back(static_cast<std::uint8_t>(r.sw >> 8));
  r.data.push_back(static_cast<std::uint8_t>(r.sw));
  return std::move(r.data);
}

}  // namespace

Bytes Card::Impl::transmit(ByteView raw) {
  if (mute) return {};
  try {
    auto parsed = apdu::parse_command(raw);
    // The channel's session, for a command of the first interindustry class
    // (0X) or its proprietary twin (8X) on a channel that has one.
    const std::uint8_t cla = raw.empty() ? 0xFF : raw[0];
    Channel* with_session = nullptr;
    if ((cla & 0x60) == 0x00 && channels_[cla & 0x03].open &&
        channels_[cla & 0x03].auth.established())
      with_session = &channels_[cla & 0x03];
    // A protected command goes to the session (specs/secure-channel.md 3);
    // anything else on its channel, plain or malformed, ends it.
    if (parsed && with_session != nullptr && (cla & 0x0C) != 0)
      return transmit_secure(cla & 0x03, raw);
    if (with_session != nullptr) end_authentication(*with_session);
    if (!parsed) return encode(status(parsed.error()));
    return encode(dispatch(*parsed));
  } catch (const PowerLoss&) {
    mute = true;  // the card stops here; only a new power-up helps
    return {};
  } catch (...) {
    // Nothing may cross transmit(); an open transaction was rolled back by
    // its guard during unwinding.
    return encode(status(sw::kNoPreciseDiagnosis));
  }
}

Reply Card::Impl::dispatch(const Command& c) {
  const std::uint8_t cla = c.cla;
  // Class byte (ISO 7816-4 5.4.1): first interindustry 0x0X, proprietary 0x8X.
  if (cla == 0xFF || (cla & 0x60) == 0x20 || (cla & 0xE0) == 0xA0 || (cla & 0xE0) == 0xC0 ||
      (cla & 0xE0) == 0xE0)
    return status(sw::kClaNotSupported);
  if ((cla & 0x40) != 0) return status(sw::kChannelNotSupported);  // further interindustry: 4..19
  if (cla & 0x10) return status(sw::kChainingNotSupported);
  // Secure messaging needs a session on the channel (transmit() routes those).
  if (cla & 0x0C) return status(sw::kSmNotSupported);
  const std::size_t channel = cla & 0x03;
  // A plain command ends the channel's session; it is then processed plainly.
  if (channels_[channel].auth.established() && !channels_[channel].secure)
    end_authentication(channels_[channel]);

  // A challenge answers exactly the next command on its channel: whatever
  // comes next takes it away, and only EXTERNAL AUTHENTICATE may use it.
  std::uint8_t challenge = 0;
  if (channels_[channel].open) challenge = std::exchange(channels_[channel].challenge_length, 0);

  // The application's own code sees the command first (card_os/apps/).
  // A locked (deactivated) application's code runs no more than its files do.
  if (Channel& ch = channels_[channel];
      ch.open && ch.app != nullptr && !fs_.inactive(ch.security.context)) {
    AppServices services(*this, ch);
    if (auto reply = ch.app->process(services, c)) return std::move(*reply);
  }

  const CommandDef* def = find_command(c.ins);
  if (def == nullptr) return status(sw::kInsNotSupported);
  if (def->proprietary != ((cla & 0x80) != 0)) return status(sw::kClaNotSupported);
  if ((state_bit(life_cycle()) & def->states) == 0) return status(sw::kConditionsNotSatisfied);
  if ((def->cases & (1u << c.apdu_case)) == 0) return status(sw::kWrongLength);
  if (c.ins == 0x70) return manage_channel(channel, c);
  Channel& ch = channels_[channel];
  if (!ch.open) return status(sw::kChannelNotSupported);

  switch (c.ins) {
    case 0xA4:
      return select(ch, c);
    case 0xB0:
      return read_binary(ch, c);
    case 0xD6:
      return update_binary(ch, c);
    case 0xB2:
      return read_record(ch, c);
    case 0xDC:
      return update_record(ch, c);
    case 0xE2:
      return append_record(ch, c);
    case 0x20:
      return verify(ch, c);
    case 0x24:
      return change_reference_data(ch, c);
    case 0x2C:
      return reset_retry_counter(ch, c);
    case 0x84:
      return get_challenge(ch, c);
    case 0x82:
      if (c.p2 == 0x00 && c.data.size() >= 2 && c.data[0] == 0x7F && c.data[1] == 0x49)
        return terminal_authenticate(ch, c, challenge);
      ch.challenge_length = challenge;  // consumed by the handler, right or wrong
      return external_authenticate(ch, c);
    case 0x2A:
      return verify_certificate(ch, c);
    case 0x86:
      return general_authenticate(ch, c);
    case 0x46:
      return generate_key_pair(ch, c);
    case 0xE0:
      return create_file(ch, c);
    case 0xE4:
      return delete_file(ch, c);
    case 0x04:
      return activate_file(ch, c, false);
    case 0x44:
      return activate_file(ch, c, true);
    case 0xCA:
      return get_data(ch, c);
    case 0xDA:
      return put_data(ch, c);
    case 0xFE:
      return terminate_card(ch, c);
    case 0xF0:
      return set_status(ch, c);
  }
  return status(sw::kInsNotSupported);
}

// ---------------------------------------------------------------- helpers

bool Card::Impl::personalizing(const Channel& ch) const {
  // Rights need the personalization session of this channel, this very
  // command under its secure messaging, and the MF key that opened it still
  // an issuance key (specs/card-os.md 4.3).
  if (!ch.secure || !ch.auth.established() || !ch.auth.personalization() ||
      life_cycle() != LifeCycle::personalization)  // the channel first: no memory read
    return false;
  const ObjectRef key = ch.auth.personalization_key;
  return nvm_.u8(key) == static_cast<std::uint8_t>(ObjectKind::key) &&
         (objects_.flags(key) & (kKeyPersonalize | kKeyRetired)) == kKeyPersonalize &&
         objects_.owner_of(key, mf()) == mf();
}

bool Card::Impl::allowed(const Channel& ch, NodeRef file, Op op) const {
  if (personalizing(ch)) return true;  // the issuer writes everything before issuance
  const AccessRule r = fs_.rule(file, op);
  if (r.is_always()) return true;
  if (r.is_never()) return false;
  // Secure messaging: this command came protected, under a session of this channel.
  if ((r.flags & AccessRule::kSecureMessaging) && !(ch.secure && ch.auth.established()))
    return false;
  const FileSystem::Node node = fs_.node(file);
  const NodeRef df = node.type() == FileType::df ? file : node.parent();
  if (r.flags & AccessRule::kPin) {
    ObjectRef pin = objects_.resolve(df, ObjectKind::pin, r.pin_ref);
    if (!ch.security.has(pin)) return false;
  }
  if (r.flags & AccessRule::kKey) {
    ObjectRef key = objects_.resolve(df, ObjectKind::key, r.key_ref);
    if (!ch.security.has(key)) return false;
  }
  if ((r.flags & AccessRule::kRole) && (ch.security.roles & r.roles) == 0) return false;
  return true;
}

void Card::Impl::select_node(Channel& ch, NodeRef node, bool explicit_select) {
  // An SFI naming the current EF again keeps its current record.
  if (explicit_select || node != ch.ef) ch.record = 0;
  const FileSystem::Node selected = fs_.node(node);
  if (selected.type() == FileType::df) {
    ch.df = node;
    ch.ef = 0;
  } else {
    ch.df = selected.parent();
    ch.ef = node;
  }
  const NodeRef context = application_of(fs_, node);
  // Leaving an application, or selecting it again, ends what was obtained in it.
  if (context != ch.security.context || (explicit_select && node == context && node != mf()))
    leave_context(ch, context);
}

void Card::Impl::leave_context(Channel& ch, NodeRef to) {
  ch.security.clear_except(mf());  // the MF's grants are global (specs/card-os.md 7.3)
  // An authentication belongs to its application context: it ends, roles
  // gone and keys wiped. The personalization session belongs to the MF, as
  // the key that opened it: the issuer goes through every application under it.
  if (!ch.auth.personalization()) end_authentication(ch);
  ch.challenge_length = 0;
  enter_context(ch, to);
}

void Card::Impl::leave_contexts_within(NodeRef node) {
  for (Channel& other : channels_)
    if (other.open && fs_.within(other.security.context, node))
      leave_context(other, other.security.context);
}

void Card::Impl::enter_context(Channel& ch, NodeRef context) {
  ch.security.context = context;
  ch.app = context == mf() ? nullptr : application_named(fs_.name(context));
  ch.app_state = 0;
}

const apps::Application* Card::Impl::application_named(ByteView aid) const {
  for (const apps::Application* app : applications_) {
    const ByteView a = app->aid();
    if (std::equal(a.begin(), a.end(), aid.begin(), aid.end())) return app;
  }
  return nullptr;
}

sw::Sw Card::Impl::consume_try(ObjectRef o) {
  Transaction tx(nvm_);
  if (auto e = objects_.set_tries(o, objects_.tries_left(o) - 1); e != NvmError::none)
    return to_sw(e);
  tx.commit();
  return sw::kOk;
}

sw::Sw Card::Impl::restore_tries(ObjectRef o) {
  Transaction tx(nvm_);
  if (auto e = objects_.set_tries(o, objects_.retry_limit(o)); e != NvmError::none) return to_sw(e);
  tx.commit();
  return sw::kOk;
}

sw::Sw Card::Impl::set_life_cycle(LifeCycle s) {
  return to_sw(nvm_.write_u8(Superblock::kLifeCycleAt, static_cast<std::uint8_t>(s)));
}

void Card::Impl::revoke_everywhere(ObjectRef o) {
  for (Channel& ch : channels_) ch.security.revoke(o);
}

// ---------------------------------------------------------------- Card

Card::Card(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Card::~Card() = default;

Result<void, CardFailure> Card::manufacture(Storage& storage, const FactoryProfile& profile,
                                            RandomSource& random) {
  const std::size_t kl = profile.transport_key.size();
  if ((kl != 16 && kl != 24 && kl != 32) ||
      (!profile.serial.empty() && profile.serial.size() != 8) || profile.transport_key_limit == 0 ||
      profile.transport_key_limit > 15)
    return unexpected(CardFailure{CardError::bad_profile});
  try {
    auto nvm = PersistentMemory::format(storage, profile.geometry);
    if (!nvm) return unexpected(CardFailure{CardError::nvm, nvm.error()});
    PersistentMemory& m = *nvm;
    if (m.capacity() < 1024) return unexpected(CardFailure{CardError::bad_profile});
    Heap heap(m, Superblock::kHeapHeadAt, Superblock::kSize, m.capacity());
    FileSystem fs(m, heap);
    SecurityObjects objects(m, heap, fs);

    Transaction tx(m);
    Bytes header(Superblock::kSize, 0);
    store_be32(&header[Superblock::kMagicAt], Superblock::kMagic);
    store_be16(&header[Superblock::kVersionAt], Superblock::kLayoutVersion);
    header[Superblock::kLifeCycleAt] = static_cast<std::uint8_t>(LifeCycle::transport_locked);
    Bytes serial = profile.serial;
    if (serial.empty()) {
      serial.resize(8);
      random.fill(serial);
    }
    std::copy(serial.begin(), serial.end(), header.begin() + Superblock::kSerialAt);
    random.fill(std::span(header).subspan(Superblock::kSaltAt, 16));
    auto fail = [](NvmError e) { return unexpected(CardFailure{CardError::nvm, e}); };
    if (auto e = m.write(0, header); e != NvmError::none) return fail(e);
    if (auto e = heap.format(); e != NvmError::none) return fail(e);

    // MF rules: TERMINATE CARD USAGE with the card administration key (02);
    // everything else is the issuer's during personalization only.
    AccessRules rules;
    rules.fill(AccessRule::never());
    rules[static_cast<std::size_t>(Op::terminate)] = AccessRule::key(kAdminKeyRef);
    auto mf = fs.create_mf(rules);
    if (!mf) return fail(NvmError::journal_full);
    if (auto e = m.write_u32(Superblock::kMfAt, *mf); e != NvmError::none) return fail(e);

    Bytes key_def = {0xA2,
                     0x00,
                     0x83,
                     0x01,
                     kTransportKeyRef,
                     0x80,
                     0x01,
                     0x01,
                     0x82,
                     0x01,
                     profile.transport_key_limit,
                     0x85,
                     0x01,
                     kKeyTransport | kKeyPersonalize,
                     0x84,
                     static_cast<std::uint8_t>(kl)};
    key_def.insert(key_def.end(), profile.transport_key.begin(), profile.transport_key.end());
    key_def[1] = static_cast<std::uint8_t>(key_def.size() - 2);
    auto key = objects.put(*mf, key_def, m.read(Superblock::kSaltAt, 16));
    secure_wipe(key_def);
    if (!key) return fail(NvmError::journal_full);
    tx.commit();
    return {};
  } catch (const PowerLoss&) {
    return unexpected(CardFailure{CardError::power_lost});
  }
}

namespace {

// The card OS's structures in an image the persistent memory vouches for
// (header, checksums, journal): a bug or a crafted image can still hold
// values every command takes on trust. Cheap: the superblock, one pass over
// the heap's block headers, the MF's node.
std::optional<CardError> damaged_structure(PersistentMemory& m) {
  if (m.capacity() < Superblock::kSize || m.u32(Superblock::kMagicAt) != Superblock::kMagic)
    return CardError::not_a_card_image;
  if (m.u16(Superblock::kVersionAt) != Superblock::kLayoutVersion)
    return CardError::unsupported_layout;
  if (state_bit(static_cast<LifeCycle>(m.u8(Superblock::kLifeCycleAt))) == 0)
    return CardError::bad_life_cycle;
  Heap heap(m, Superblock::kHeapHeadAt, Superblock::kSize, m.capacity());
  if (!heap.intact()) return CardError::bad_heap;
  const NodeRef mf = m.u32(Superblock::kMfAt);
  const FileSystem fs(m, heap);
  if (!heap.allocated(mf) || heap.payload_size(mf) < FileSystem::kNodeSize || !fs.is_df(mf) ||
      fs.fid(mf) != kMfFid || fs.parent(mf) != 0)
    return CardError::bad_mf;
  return std::nullopt;
}

}  // namespace

Result<std::unique_ptr<Card>, CardFailure> Card::power_up(Storage& storage, RandomSource& random,
                                                          Applications applications) {
  try {
    auto nvm = PersistentMemory::open(storage);
    if (!nvm) return unexpected(CardFailure{CardError::nvm, nvm.error()});
    if (auto damage = damaged_structure(*nvm)) return unexpected(CardFailure{*damage});
    auto impl = std::make_unique<Impl>(storage, random, applications, std::move(*nvm));
    impl->repair();
    return std::unique_ptr<Card>(new Card(std::move(impl)));
  } catch (const PowerLoss&) {
    return unexpected(CardFailure{CardError::power_lost});
  } catch (const NvmFault& e) {
    // A damage the checks above do not see, met while starting: refused all the same.
    return unexpected(CardFailure{CardError::nvm, e.error()});
  }
}

Bytes Card::atr() const {
  return impl_->atr();
}
Bytes Card::transmit(ByteView command) {
  return impl_->transmit(command);
}
void Card::reset() {
  impl_->reset();
}
bool Card::mute() const {
  return impl_->mute;
}
LifeCycle Card::life_cycle() const {
  return impl_->life_cycle();
}
const PersistentMemory& Card::memory() const {
  return impl_->nvm_;
}

}  // namespace juki::card_os
