// Card administration: MANAGE CHANNEL, GET DATA, PUT DATA (security objects),
// SET STATUS (end of personalization), TERMINATE CARD USAGE.
#include "card_os/card/card_impl.hpp"
#include "common/iso7816/tlv.hpp"

namespace juki::card_os {

Reply Card::Impl::manage_channel(std::size_t channel, const Command& c) {
  if (!channels_[channel].open) return status(sw::kChannelNotSupported);
  if (c.p1 == 0x00) {  // open
    std::size_t target = c.p2;
    if (target >= kChannels) return status(sw::kChannelNotSupported);
    if (target == 0) {  // the card assigns: case 2, answers the number
      if (c.apdu_case != 2 || c.ne < 1) return status(sw::kWrongLength);
      for (target = 1; target < kChannels && channels_[target].open; ++target) {
      }
      if (target == kChannels) return status(sw::kFunctionNotSupported);  // none left
    } else {
      if (c.apdu_case != 1) return status(sw::kWrongLength);
      if (channels_[target].open) return status(sw::kConditionsNotSatisfied);
    }
    Channel fresh;
    fresh.open = true;
    // ISO 7816-4 11.1.2: opened from the basic channel, the MF is selected;
    // from another channel, that channel's selection is inherited. The
    // security state is never inherited (ARCHITECTURE.md, "Firewall").
    const Channel& from = channels_[channel];
    fresh.df = channel == 0 ? mf() : from.df;
    fresh.ef = channel == 0 ? 0 : from.ef;
    enter_context(fresh, application_of(fs_, fresh.df));
    channels_[target] = fresh;
    if (c.p2 == 0) return Reply{{static_cast<std::uint8_t>(target)}, sw::kOk};
    return status(sw::kOk);
  }
  if (c.p1 == 0x80) {  // close
    if (c.apdu_case != 1) return status(sw::kWrongLength);
    const std::size_t target = c.p2 == 0 ? channel : c.p2;
    if (target >= kChannels) return status(sw::kChannelNotSupported);
    if (target == 0) return status(sw::kIncorrectP1P2);  // the basic channel stays open
    if (!channels_[target].open) return status(sw::kChannelNotSupported);
    end_authentication(channels_[target]);  // its session keys wiped, not just dropped
    channels_[target] = Channel{};
    return status(sw::kOk);
  }
  return status(sw::kIncorrectP1P2);
}

Reply Card::Impl::get_data(Channel&, const Command& c) {
  // Card data objects (specs/card-os.md "GET DATA"); each is returned as a
  // whole TLV.
  Bytes value;
  const std::uint16_t tag = c.p1p2();
  // A terminated card tells its state and nothing else.
  if (life_cycle() == LifeCycle::terminated && tag != 0xDF20)
    return status(sw::kConditionsNotSatisfied);
  switch (tag) {
    case 0xDF20:
      value = {static_cast<std::uint8_t>(life_cycle())};
      break;
    case 0xDF21:
      append_be32(value, nvm_.capacity());
      append_be32(value, heap_.free_bytes());
      break;
    case 0xDF22: {
      ByteView serial = nvm_.read(Superblock::kSerialAt, 8);
      value.assign(serial.begin(), serial.end());
      break;
    }
    default:
      return status(sw::kReferenceNotFound);
  }
  Bytes out;
  tlv::append(out, tag, value);
  return bounded(std::move(out), c);
}

Reply Card::Impl::put_data(Channel& ch, const Command& c) {
  if (c.p1 != 0x00 || (c.p2 != 0xA1 && c.p2 != 0xA2)) return status(sw::kReferenceNotFound);
  if (!personalizing(ch)) return status(sw::kSecurityStatusNotSatisfied);
  if (c.data.empty() || c.data[0] != c.p2) return status(sw::kWrongData);
  Transaction tx(nvm_);
  auto o = objects_.put(ch.df, c.data, salt());
  if (!o) return status(o.error());
  tx.commit();
  revoke_everywhere(*o);  // a replaced PIN or key starts unverified
  return status(sw::kOk);
}

namespace {
// Calls `f(object)` for every security object of `df` and the DFs below it,
// depth-first; stops early when `f` returns true, and says whether it did.
template <typename F>
bool any_object(const FileSystem& fs, const PersistentMemory& m, NodeRef df, F&& f) {
  for (ObjectRef o = fs.objects(df); o != 0; o = m.u32(o + kObjectNextOffset))
    if (f(o)) return true;
  for (NodeRef n = fs.first_child(df); n != 0; n = fs.next_sibling(n))
    if (fs.is_df(n) && any_object(fs, m, n, f)) return true;
  return false;
}
}  // namespace

Reply Card::Impl::set_status(Channel& ch, const Command& c) {
  if (c.p1 != 0x00) return status(sw::kIncorrectP1P2);
  if (c.p2 != static_cast<std::uint8_t>(LifeCycle::issued)) return status(sw::kIncorrectP1P2);
  if (!personalizing(ch)) return status(sw::kSecurityStatusNotSatisfied);
  // An issued card must be able to become active: some PIN has to be the
  // resident's password, not yet set.
  const bool activatable = any_object(fs_, nvm_, mf(), [&](ObjectRef o) {
    return objects_.kind(o) == ObjectKind::pin && (objects_.flags(o) & kPinActivates) &&
           !objects_.pin_set(o);
  });
  if (!activatable) return status(sw::kConditionsNotSatisfied);
  // The keys of the issuance (the transport key, any personalization key)
  // are retired in the same transaction: an issued card has no key that a
  // stranger could exhaust to terminate it (specs/card-os.md 5).
  Transaction tx(nvm_);
  NvmError retired = NvmError::none;
  any_object(fs_, nvm_, mf(), [&](ObjectRef o) {
    if (objects_.kind(o) == ObjectKind::key &&
        (objects_.flags(o) & (kKeyTransport | kKeyPersonalize)) != 0)
      retired = objects_.retire_key(o);
    return retired != NvmError::none;
  });
  if (retired != NvmError::none) return status(to_sw(retired));
  if (auto s = set_life_cycle(LifeCycle::issued); s != sw::kOk) return status(s);
  tx.commit();
  for (Channel& other : channels_) {
    if (!other.open) continue;
    leave_context(other, other.security.context);
    end_authentication(other);      // the personalization session too
    other.security.clear_grants();  // personalization rights end, the MF's grants with them
  }
  return status(sw::kOk);
}

Reply Card::Impl::terminate_card(Channel& ch, const Command& c) {
  if (c.p1 != 0 || c.p2 != 0) return status(sw::kIncorrectP1P2);
  if (!allowed(ch, mf(), Op::terminate)) return status(sw::kSecurityStatusNotSatisfied);
  Transaction tx(nvm_);
  if (auto s = set_life_cycle(LifeCycle::terminated); s != sw::kOk) return status(s);
  tx.commit();
  reset();  // nothing of the session survives termination
  return status(sw::kOk);
}

}  // namespace juki::card_os
