#include "card_os/apps/jpki/jpki.hpp"

namespace juki::card_os::apps::jpki {

namespace {

constexpr std::size_t kSignatureLength = 256;  // RSA-2048

// The internal EF selected on the channel (the application's state), or 0.
std::uint16_t selected(AppServices& card) {
  return static_cast<std::uint16_t>(card.state());
}

bool is_internal(std::uint16_t fid) {
  return fid == kAuthKeyEf || fid == kAuthPinEf || fid == kSignKeyEf || fid == kSignPinEf;
}

// The reference (1 authentication, 2 signature) an internal EF names.
std::uint8_t ref_of(std::uint16_t fid) {
  return fid == kAuthKeyEf || fid == kAuthPinEf ? kAuthRef : kSignRef;
}

std::optional<Reply> select(AppServices& card, const apdu::Command& c) {
  const bool by_fid = c.p1 == 0x02 && c.data.size() == 2;
  const std::uint16_t fid = by_fid ? static_cast<std::uint16_t>(c.data[0] << 8 | c.data[1]) : 0;
  if (!is_internal(fid)) {
    card.state() = 0;  // any other selection leaves the internal EF
    return std::nullopt;
  }
  // An internal EF has no FCI to return: only "no response data".
  if (c.p2 != 0x0C) return status(sw::kIncorrectP1P2);
  card.state() = fid;
  card.leave_current_ef();  // no EF of the card OS is current now
  return status(sw::kOk);
}

// VERIFY 00 20 00 80: the PIN of the selected internal EF. Without data it
// answers 63CX, X the tries left, whether verified or not, and 63C0 when
// blocked: OpenSC's bind reads the tries this way and gives up on 9000 or
// 6983 (specs/jpki.md 2.4).
std::optional<Reply> verify(AppServices& card, const apdu::Command& c) {
  if (c.p2 != 0x80) return std::nullopt;  // a PIN by reference: the card OS's
  const std::uint16_t fid = selected(card);
  if (fid != kAuthPinEf && fid != kSignPinEf) return status(sw::kNoCurrentEf);
  const ObjectRef pin = card.object(ObjectKind::pin, ref_of(fid));
  if (pin == 0) return status(sw::kReferenceNotFound);
  // VERIFY has no response data: a command with Le is malformed (card-os 6.6).
  if (c.apdu_case == 2 || c.apdu_case == 4) return status(sw::kWrongLength);
  if (c.p1 == 0x00 && c.data.empty()) return status(sw::verify_failed(card.tries_left(pin)));
  return status(card.verify(pin, c));
}

// COMPUTE DIGITAL SIGNATURE 80 2A 00 80 Lc DigestInfo Le: PKCS#1 v1.5 with
// the selected key; the signature key's PIN is spent by each signature.
Reply sign(AppServices& card, const apdu::Command& c) {
  if (c.p1 != 0x00 || c.p2 != 0x80) return status(sw::kIncorrectP1P2);
  // PKCS#1 v1.5 type-1 padding takes 11 of the 256 bytes: checked before the
  // PIN is spent.
  if (c.apdu_case != 4 || c.data.empty() || c.data.size() > kSignatureLength - 11 ||
      c.ne < kSignatureLength)
    return status(sw::kWrongLength);
  const std::uint16_t fid = selected(card);
  if (fid != kAuthKeyEf && fid != kSignKeyEf) return status(sw::kNoCurrentEf);
  const ObjectRef key = card.object(ObjectKind::rsa_key, ref_of(fid));
  const ObjectRef pin = card.object(ObjectKind::pin, ref_of(fid));
  if (key == 0 || pin == 0) return status(sw::kReferenceNotFound);
  if (!card.verified(pin)) return status(sw::kSecurityStatusNotSatisfied);
  if (fid == kSignKeyEf) card.forget(pin);  // one signature per verification
  auto signature = card.rsa_sign(key, c.data);
  if (!signature) return status(signature.error());
  return Reply{std::move(*signature), sw::kOk};
}

}  // namespace

std::optional<Reply> Jpki::process(AppServices& card, const apdu::Command& c) const {
  // Only an active card runs the application: before that, the card OS
  // answers everything (personalization creates what these commands use).
  if (card.life_cycle() != LifeCycle::active) return std::nullopt;
  const bool interindustry = (c.cla & 0x80) == 0;
  if (interindustry && c.ins == 0xA4) return select(card, c);
  if (interindustry && c.ins == 0x20) return verify(card, c);
  if (!interindustry && c.ins == 0x2A) return sign(card, c);
  // Any other command ends the selection of an internal EF.
  card.state() = 0;
  return std::nullopt;
}

}  // namespace juki::card_os::apps::jpki
