// Security commands: VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER,
// GET CHALLENGE, EXTERNAL AUTHENTICATE.
//
// Every check of a secret follows one protocol (specs/card-os.md "PINs"):
// the try is consumed and committed BEFORE the comparison, and a success
// restores the counter in a second committed step. A power cut anywhere can
// therefore only cost a try, never give one back.
#include "card_os/card/card_impl.hpp"
#include "card_os/security/crypto.hpp"
#include "common/secure_channel.hpp"
#include "common/secure_wipe.hpp"

namespace juki::card_os {

namespace {
// Splits CHANGE REFERENCE DATA / RESET RETRY COUNTER data holding two PINs.
// A fixed-length PIN splits at its length; a variable-length one must be
// padded with FF up to its maximum length.
bool split_pair(ByteView data, std::size_t first_fixed, std::size_t first_max, ByteView& a,
                ByteView& b) {
  const std::size_t first = first_fixed != 0 ? first_fixed : first_max;
  if (data.size() <= first) return false;
  a = data.first(first);
  b = data.subspan(first);
  if (first_fixed == 0)
    while (!a.empty() && a.back() == 0xFF) a = a.first(a.size() - 1);
  return true;
}

ByteView unpad(ByteView v, std::size_t fixed, std::size_t max) {
  if (fixed != 0) return v;
  if (v.size() != max) return v;  // the format check reports the length
  while (!v.empty() && v.back() == 0xFF) v = v.first(v.size() - 1);
  return v;
}

std::size_t fixed_length(const SecurityObjects& o, ObjectRef pin) {
  return o.min_length(pin) == o.max_length(pin) ? o.min_length(pin) : 0;
}
}  // namespace

sw::Sw Card::Impl::check_pin(Channel& ch, ObjectRef pin, ByteView value, bool grant) {
  if (objects_.blocked(pin)) return sw::kAuthMethodBlocked;
  if (auto s = consume_try(pin); s != sw::kOk) return s;
  if (objects_.pin_matches(pin, value, salt())) {
    if (auto s = restore_tries(pin); s != sw::kOk) return s;
    if (grant) ch.security.grant(pin, objects_.owner_of(pin, ch.df));
    return sw::kOk;
  }
  ch.security.revoke(pin);
  return sw::verify_failed(objects_.tries_left(pin));
}

Reply Card::Impl::verify(Channel& ch, const Command& c) {
  if (c.p1 != 0x00 && c.p1 != 0xFF) return status(sw::kIncorrectP1P2);
  const ObjectRef pin = objects_.resolve(ch.df, ObjectKind::pin, c.p2);
  if (pin == 0) return status(sw::kReferenceNotFound);
  return verify_pin(ch, pin, c);
}

Reply Card::Impl::verify_pin(Channel& ch, ObjectRef pin, const Command& c) {
  if (c.p1 != 0x00 && c.p1 != 0xFF) return status(sw::kIncorrectP1P2);
  if (in_inactive_df(ch, pin)) return status(sw::kConditionsNotSatisfied);
  if (c.p1 == 0xFF) {  // ISO 7816-4: reset the verification status
    if (!c.data.empty()) return status(sw::kWrongLength);
    ch.security.revoke(pin);
    return status(sw::kOk);
  }
  if (!objects_.pin_set(pin)) return status(sw::kReferenceDataNotUsable);
  if (c.data.empty()) {  // ask for the state, consume nothing
    if (ch.security.has(pin)) return status(sw::kOk);
    if (objects_.blocked(pin)) return status(sw::kAuthMethodBlocked);
    return status(sw::verify_failed(objects_.tries_left(pin)));
  }
  if (objects_.blocked(pin)) return status(sw::kAuthMethodBlocked);
  if (auto s = objects_.check_format(pin, c.data); s != sw::kOk) return status(s);
  return status(check_pin(ch, pin, c.data, true));
}

Reply Card::Impl::change_reference_data(Channel& ch, const Command& c) {
  if (c.p1 != 0x00 && c.p1 != 0x01) return status(sw::kIncorrectP1P2);
  const ObjectRef pin = objects_.resolve(ch.df, ObjectKind::pin, c.p2);
  const bool issued = life_cycle() == LifeCycle::issued;
  const bool activation = pin != 0 && (objects_.flags(pin) & kPinActivates) != 0;
  // An issued card takes exactly one command of this kind: the first setting
  // of its activation password, which makes it active.
  if (issued && !(c.p1 == 0x01 && activation)) return status(sw::kConditionsNotSatisfied);
  if (pin == 0) return status(sw::kReferenceNotFound);
  if (in_inactive_df(ch, pin)) return status(sw::kConditionsNotSatisfied);

  const std::size_t fixed = fixed_length(objects_, pin);
  if (c.p1 == 0x01) {  // initial setting: only while no reference data exists
    if (objects_.pin_set(pin)) return status(sw::kConditionsNotSatisfied);
    const ByteView value = unpad(c.data, fixed, objects_.max_length(pin));
    if (auto s = objects_.check_format(pin, value); s != sw::kOk) return status(s);
    Transaction tx(nvm_);
    if (auto e = objects_.set_pin(pin, value, salt()); e != NvmError::none) return status(to_sw(e));
    if (activation && issued)
      if (auto s = set_life_cycle(LifeCycle::active); s != sw::kOk) return status(s);
    tx.commit();
    return status(sw::kOk);
  }

  if (!objects_.pin_set(pin)) return status(sw::kReferenceDataNotUsable);
  if (objects_.blocked(pin)) return status(sw::kAuthMethodBlocked);
  ByteView old_value, new_value;
  if (!split_pair(c.data, fixed, objects_.max_length(pin), old_value, new_value))
    return status(sw::kWrongLength);
  new_value = unpad(new_value, fixed, objects_.max_length(pin));
  if (auto s = objects_.check_format(pin, old_value); s != sw::kOk) return status(s);
  if (auto s = objects_.check_format(pin, new_value); s != sw::kOk) return status(s);
  if (auto s = consume_try(pin); s != sw::kOk) return status(s);
  if (!objects_.pin_matches(pin, old_value, salt())) {
    ch.security.revoke(pin);
    return status(sw::verify_failed(objects_.tries_left(pin)));
  }
  Transaction tx(nvm_);  // new value and restored counter in one step
  if (auto e = objects_.set_pin(pin, new_value, salt()); e != NvmError::none)
    return status(to_sw(e));
  tx.commit();
  ch.security.grant(pin, objects_.owner_of(pin, ch.df));
  return status(sw::kOk);
}

Reply Card::Impl::reset_retry_counter(Channel& ch, const Command& c) {
  if (c.p1 > 0x03) return status(sw::kIncorrectP1P2);
  const ObjectRef pin = objects_.resolve(ch.df, ObjectKind::pin, c.p2);
  if (pin == 0) return status(sw::kReferenceNotFound);
  if (in_inactive_df(ch, pin)) return status(sw::kConditionsNotSatisfied);
  const NodeRef owner = objects_.owner_of(pin, ch.df);
  const bool with_new_pin = c.p1 == 0x00 || c.p1 == 0x02;
  const bool with_puk = c.p1 == 0x00 || c.p1 == 0x01;
  const std::size_t fixed = fixed_length(objects_, pin);

  const Unblock kind = objects_.unblock_kind(pin);
  switch (kind) {
    case Unblock::none:
      return status(sw::kConditionsNotSatisfied);
    case Unblock::pin:
      if (!with_puk) return status(sw::kIncorrectP1P2);
      break;
    case Unblock::key:
    case Unblock::role:
      if (with_puk) return status(sw::kIncorrectP1P2);
      break;
    default:
      return status(sw::kConditionsNotSatisfied);  // no policy this card knows
  }
  if (c.p1 == 0x03 && !c.data.empty()) return status(sw::kWrongLength);
  if (c.p1 != 0x03 && c.data.empty()) return status(sw::kWrongLength);

  ByteView puk_value, new_value;
  ObjectRef authority = 0;
  if (kind == Unblock::pin) {
    authority = objects_.find(owner, ObjectKind::pin, objects_.unblock_ref(pin));
    if (authority == 0 || !objects_.pin_set(authority)) return status(sw::kReferenceDataNotUsable);
    const std::size_t puk_fixed = fixed_length(objects_, authority);
    if (with_new_pin) {
      if (!split_pair(c.data, puk_fixed, objects_.max_length(authority), puk_value, new_value))
        return status(sw::kWrongLength);
    } else {
      puk_value = unpad(c.data, puk_fixed, objects_.max_length(authority));
    }
    if (objects_.blocked(authority)) return status(sw::kAuthMethodBlocked);
    if (auto s = objects_.check_format(authority, puk_value); s != sw::kOk) return status(s);
  } else if (kind == Unblock::key) {
    authority = objects_.find(owner, ObjectKind::key, objects_.unblock_ref(pin));
    if (authority == 0 || !ch.security.has(authority))
      return status(sw::kSecurityStatusNotSatisfied);
    if (with_new_pin) new_value = c.data;
  } else {
    // A terminal of one of the policy's roles, mutually authenticated on this
    // channel in this context, and this very command under its secure messaging.
    const bool secure = ch.secure && ch.auth.established();
    if (!secure || (ch.security.roles & objects_.unblock_roles(pin)) == 0)
      return status(sw::kSecurityStatusNotSatisfied);
    if (with_new_pin) new_value = c.data;
  }
  if (with_new_pin) {
    new_value = unpad(new_value, fixed, objects_.max_length(pin));
    if (auto s = objects_.check_format(pin, new_value); s != sw::kOk) return status(s);
  } else if (!objects_.pin_set(pin)) {
    return status(sw::kReferenceDataNotUsable);  // nothing to unblock into
  }
  if (kind == Unblock::pin)
    if (auto s = check_pin(ch, authority, puk_value, false); s != sw::kOk) return status(s);

  Transaction tx(nvm_);
  NvmError e = with_new_pin ? objects_.set_pin(pin, new_value, salt())
                            : objects_.set_tries(pin, objects_.retry_limit(pin));
  if (e != NvmError::none) return status(to_sw(e));
  tx.commit();
  revoke_everywhere(pin);
  return status(sw::kOk);
}

Reply Card::Impl::get_challenge(Channel& ch, const Command& c) {
  if (c.p1 != 0 || c.p2 != 0) return status(sw::kIncorrectP1P2);
  if (c.ne != 8 && c.ne != 16 && c.ne != 32) return status(0x6C10);  // 16 is the default length
  random_.fill(std::span(ch.challenge).first(c.ne));
  ch.challenge_length = static_cast<std::uint8_t>(c.ne);
  return Reply{Bytes(ch.challenge.begin(), ch.challenge.begin() + c.ne), sw::kOk};
}

Reply Card::Impl::external_authenticate(Channel& ch, const Command& c) {
  if (c.p1 != 0x00) return status(sw::kIncorrectP1P2);
  const ObjectRef key = objects_.resolve(ch.df, ObjectKind::key, c.p2);
  const std::uint8_t flags = key != 0 ? objects_.flags(key) : 0;
  const bool transport = (flags & kKeyTransport) != 0;
  // A blank card knows no key but its transport key.
  if (life_cycle() == LifeCycle::transport_locked && !transport)
    return status(sw::kConditionsNotSatisfied);
  if (key == 0) return status(sw::kReferenceNotFound);
  // The keys of the issuance live only until the card leaves personalization
  // (specs/card-os.md 5): refused before any counter moves, so that no one
  // can exhaust them on an issued card.
  if ((flags & (kKeyTransport | kKeyPersonalize | kKeyRetired)) != 0 && !issuing()) {
    ch.challenge_length = 0;
    return status(sw::kConditionsNotSatisfied);
  }
  if (ch.challenge_length == 0 || in_inactive_df(ch, key)) {
    ch.challenge_length = 0;
    return status(sw::kConditionsNotSatisfied);
  }
  const ByteView challenge(ch.challenge.data(), ch.challenge_length);
  ch.challenge_length = 0;  // one proof per challenge
  // The proof of an issuance key also agrees session keys from rC, which
  // must then be 16 bytes (specs/secure-channel.md 6): nothing counted.
  if ((flags & kKeyPersonalize) != 0 && challenge.size() != 16)
    return status(sw::kConditionsNotSatisfied);
  if (c.data.size() != 16) return status(sw::kWrongLength);
  if (objects_.blocked(key)) return status(sw::kAuthMethodBlocked);

  if (auto s = consume_try(key); s != sw::kOk) return status(s);
  if (!objects_.key_proves(key, challenge, c.data)) {
    ch.security.revoke(key);
    if (transport && objects_.blocked(key)) {
      // The last transport-key proof failed: the card ends here, for good.
      Transaction tx(nvm_);
      if (auto s = set_life_cycle(LifeCycle::terminated); s != sw::kOk) return status(s);
      tx.commit();
    }
    return status(sw::verify_failed(objects_.tries_left(key)));
  }
  Transaction tx(nvm_);
  if (auto e = objects_.set_tries(key, objects_.retry_limit(key)); e != NvmError::none)
    return status(to_sw(e));
  if (transport && life_cycle() == LifeCycle::transport_locked)
    if (auto s = set_life_cycle(LifeCycle::personalization); s != sw::kOk) return status(s);
  tx.commit();
  // An issuance key grants nothing by itself: its rights are the session's,
  // and only an MF key opens one (specs/card-os.md 4.3).
  const NodeRef owner = objects_.owner_of(key, ch.df);
  if ((flags & kKeyPersonalize) == 0)
    ch.security.grant(key, owner);
  else if (owner == mf())
    open_personalization_session(ch, key, challenge);
  return status(sw::kOk);
}

void Card::Impl::open_personalization_session(Channel& ch, ObjectRef key, ByteView challenge) {
  end_authentication(ch);  // a proof starts a new session, whatever ran before
  auto z = objects_.key_mac(key, secure_channel::personalization_key_input(challenge));
  ch.auth.keys = sm::derive_session_keys(z, sm::AesKeySize::aes256);
  secure_wipe(z);
  ch.auth.step = Authentication::Step::established;
  ch.auth.personalization_key = key;
}

}  // namespace juki::card_os
