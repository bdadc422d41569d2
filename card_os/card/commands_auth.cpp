// Mutual authentication and secure messaging (specs/secure-channel.md):
// PSO VERIFY CERTIFICATE, EXTERNAL AUTHENTICATE with the terminal's
// signature, GENERAL AUTHENTICATE with the card's, the failure counter, and
// the wrapping of protected commands.
#include <algorithm>

#include "card_os/card/card_impl.hpp"
#include "common/iso7816/tlv.hpp"
#include "common/secure_wipe.hpp"

namespace juki::card_os {

namespace {

using certificate::Role;

// Whether a CA of `ca_role` issues leaves of `role` (specs/pki.md): the
// terminal CA roles 1 to 5, the server CA roles 6 to 8.
bool issues(std::uint16_t ca_role, std::uint16_t role) {
  if (ca_role == static_cast<std::uint16_t>(Role::terminal_ca))
    return role >= static_cast<std::uint16_t>(Role::window) &&
           role <= static_cast<std::uint16_t>(Role::app_authority);
  if (ca_role == static_cast<std::uint16_t>(Role::server_ca))
    return role >= static_cast<std::uint16_t>(Role::cs) &&
           role <= static_cast<std::uint16_t>(Role::national);
  return false;
}

}  // namespace

// ---------------------------------------------------------------- helpers

void Card::Impl::end_authentication(Channel& ch) {
  ch.auth.clear();
  ch.security.roles = 0;
}

sw::Sw Card::Impl::authentication_refused() const {
  return auth_failures_ >= kAuthFailuresPerPowerUp ? sw::kAuthMethodBlocked : sw::kOk;
}

sw::Sw Card::Impl::failed_proof(Channel& ch, sw::Sw s) {
  if (auth_failures_ < kAuthFailuresPerPowerUp) ++auth_failures_;
  end_authentication(ch);
  return s;
}

sw::Sw Card::Impl::advance_card_date(certificate::Date date) {
  if (date <= nvm_.u64(Superblock::kCardDateAt)) return sw::kOk;  // nothing to write
  Transaction tx(nvm_);
  if (auto e = nvm_.write_u64(Superblock::kCardDateAt, date); e != NvmError::none) return to_sw(e);
  tx.commit();
  return sw::kOk;
}

std::optional<ByteView> Card::Impl::stored_certificate(NodeRef context, std::uint16_t fid) const {
  NodeRef ef = fs_.child_by_fid(context, fid);
  if (ef == 0 && context != mf()) ef = fs_.child_by_fid(mf(), fid);
  if (ef == 0 || fs_.type(ef) != FileType::transparent) return std::nullopt;
  const ByteView content = fs_.read_binary(ef, 0, fs_.size(ef));
  // The EF may be larger than the certificate: the DER says how long it is.
  auto t = tlv::decode_one(content);
  if (!t || t->tag != 0x30) return std::nullopt;
  return content.first(t->encoded_size);
}

// ---------------------------------------------------------------- commands

// The terminal chain's checks (specs/secure-channel.md 2.1), shared by
// mutual authentication and the card manager (specs/card-manager.md 3).
Result<Card::Impl::TrustedCa, ChainRefusal> Card::Impl::check_terminal_ca(NodeRef context,
                                                                          ByteView der) const {
  auto cert = certificate::parse(der);
  if (!cert || !cert->authorization || !cert->ca) return unexpected(ChainRefusal::malformed);
  const std::uint16_t role = cert->authorization->role;
  if (role != static_cast<std::uint16_t>(Role::terminal_ca) &&
      role != static_cast<std::uint16_t>(Role::server_ca))
    return unexpected(ChainRefusal::malformed);
  auto anchor_der = stored_certificate(context, kTrustAnchorFid);
  if (!anchor_der) return unexpected(ChainRefusal::unknown_issuer);
  auto anchor = certificate::parse(*anchor_der);
  if (!anchor || anchor->subject != cert->issuer) return unexpected(ChainRefusal::unknown_issuer);
  if (!certificate::signed_by(*cert, anchor->key)) return unexpected(ChainRefusal::bad_signature);
  // The card's date is never earlier than its trust anchor's notBefore.
  const certificate::Date today = std::max(nvm_.u64(Superblock::kCardDateAt), anchor->not_before);
  if (cert->not_after < today) return unexpected(ChainRefusal::expired);
  return TrustedCa{cert->key, role, std::move(cert->subject), cert->not_before, today};
}

Result<certificate::Info, ChainRefusal> Card::Impl::check_terminal(const TrustedCa& ca,
                                                                   ByteView der) const {
  auto cert = certificate::parse(der);
  if (!cert || !cert->authorization || cert->ca) return unexpected(ChainRefusal::malformed);
  if (cert->issuer != ca.subject) return unexpected(ChainRefusal::unknown_issuer);
  if (!certificate::signed_by(*cert, ca.key)) return unexpected(ChainRefusal::bad_signature);
  if (cert->not_after < ca.today) return unexpected(ChainRefusal::expired);
  if (!issues(ca.role, cert->authorization->role)) return unexpected(ChainRefusal::role);
  return std::move(*cert);
}

namespace {
// Mutual authentication's status word for each refusal (specs/secure-channel.md 2.1).
sw::Sw authentication_sw(ChainRefusal r) {
  switch (r) {
    case ChainRefusal::malformed:
      return sw::kWrongData;
    case ChainRefusal::unknown_issuer:
      return sw::kReferenceNotFound;
    case ChainRefusal::bad_signature:
      return sw::kAuthenticationFailed;
    case ChainRefusal::expired:
      return sw::kReferenceDataNotUsable;
    case ChainRefusal::role:
      return sw::kSecurityStatusNotSatisfied;
  }
  return sw::kNoPreciseDiagnosis;
}
}  // namespace

// PSO: VERIFY CERTIFICATE 00 2A 00 BE: step 1 (terminal CA) or 2 (terminal).
Reply Card::Impl::verify_certificate(Channel& ch, const Command& c) {
  if (c.p1 != 0x00 || c.p2 != 0xBE) return status(sw::kIncorrectP1P2);
  if (fs_.inactive(ch.security.context)) return status(sw::kConditionsNotSatisfied);
  if (auto s = authentication_refused(); s != sw::kOk) return status(s);
  auto refuse = [&](sw::Sw s) {
    end_authentication(ch);
    return status(s);
  };
  // Only a signature that does not verify is a failed proof (2.4): a malformed,
  // unknown, expired or out-of-order certificate costs nothing to send, so
  // counting it would let anyone lock a terminal out.
  auto refuse_chain = [&](ChainRefusal r) {
    if (r == ChainRefusal::bad_signature)
      return status(failed_proof(ch, sw::kAuthenticationFailed));
    return refuse(authentication_sw(r));
  };
  // The certificate tells the step: a CA certificate is step 1, which always
  // starts afresh (also while a session runs); a leaf is step 2, which needs
  // step 1 just before on this channel.
  const auto kind = certificate::parse(c.data);
  if (!kind || !kind->authorization) return refuse(sw::kWrongData);
  if (kind->ca) {
    end_authentication(ch);
    auto ca = check_terminal_ca(ch.security.context, c.data);
    if (!ca) return refuse_chain(ca.error());
    ch.auth.step = Authentication::Step::ca_verified;
    ch.auth.ca_key = ca->key;
    ch.auth.ca_role = ca->role;
    ch.auth.ca_subject = std::move(ca->subject);
    ch.auth.ca_not_before = ca->not_before;
    ch.auth.date = ca->today;
    return status(sw::kOk);
  }
  if (ch.auth.step != Authentication::Step::ca_verified) return refuse(sw::kConditionsNotSatisfied);

  const TrustedCa ca{ch.auth.ca_key, ch.auth.ca_role, ch.auth.ca_subject, ch.auth.ca_not_before,
                     ch.auth.date};
  auto cert = check_terminal(ca, c.data);
  if (!cert) return refuse_chain(cert.error());
  const std::uint16_t role = cert->authorization->role;
  if (role == static_cast<std::uint16_t>(Role::municipal_app)) {
    const ByteView aid = fs_.name(ch.security.context);
    const Bytes& bound = cert->authorization->application;
    if (aid.empty() || !std::equal(aid.begin(), aid.end(), bound.begin(), bound.end()))
      return refuse(sw::kSecurityStatusNotSatisfied);
  }
  // Both certificates are good; the card's date moves on once the terminal
  // has proved its key (step 4), not on certificates anyone can replay (2.3).
  ch.auth.newest = std::max({ch.auth.date, ch.auth.ca_not_before, cert->not_before});
  ch.auth.step = Authentication::Step::terminal_verified;
  ch.auth.terminal_key = cert->key;
  ch.auth.role = role;
  return status(sw::kOk);
}

// EXTERNAL AUTHENTICATE 00 82 00 00 with 7F49 { 86 PK_T^e } 5F37 sigT: step 4.
Reply Card::Impl::terminal_authenticate(Channel& ch, const Command& c,
                                        std::uint8_t challenge_length) {
  if (fs_.inactive(ch.security.context)) return status(sw::kConditionsNotSatisfied);
  if (auto s = authentication_refused(); s != sw::kOk) return status(s);
  auto refuse = [&](sw::Sw s) {
    end_authentication(ch);
    return status(s);
  };
  if (ch.auth.step != Authentication::Step::terminal_verified || challenge_length != 16)
    return refuse(sw::kConditionsNotSatisfied);
  auto items = tlv::decode_all(c.data);
  if (!items || items->size() != 2 || (*items)[0].tag != 0x7F49 || (*items)[1].tag != 0x5F37)
    return refuse(sw::kWrongData);
  auto found = tlv::find((*items)[0].value, 0x86);
  const ByteView point = found ? found->value : ByteView();
  const ByteView signature = (*items)[1].value;
  if (!found || found->encoded_size != (*items)[0].value.size() || !ecc::valid_point(point) ||
      signature.size() != ecc::kSignatureSize)
    return refuse(sw::kWrongData);

  const Bytes signed_data =
      secure_channel::terminal_signed_data(ByteView(ch.challenge.data(), 16), point);
  if (!ecc::verify(ch.auth.terminal_key, signed_data, signature))
    return status(failed_proof(ch, sw::kAuthenticationFailed));
  if (auto s = advance_card_date(ch.auth.newest); s != sw::kOk) return refuse(s);
  std::copy_n(ch.challenge.begin(), 16, ch.auth.card_challenge.begin());
  std::copy(point.begin(), point.end(), ch.auth.terminal_ephemeral.begin());
  ch.auth.step = Authentication::Step::terminal_proved;
  return status(sw::kOk);
}

// GENERAL AUTHENTICATE 00 86 00 00 7C { 81 rT }: step 5, the card's proof and
// the session keys.
Reply Card::Impl::general_authenticate(Channel& ch, const Command& c) {
  if (c.p1 != 0x00 || c.p2 != 0x00) return status(sw::kIncorrectP1P2);
  if (fs_.inactive(ch.security.context)) return status(sw::kConditionsNotSatisfied);
  if (auto s = authentication_refused(); s != sw::kOk) return status(s);
  if (ch.auth.step != Authentication::Step::terminal_proved) {
    end_authentication(ch);
    return status(sw::kConditionsNotSatisfied);
  }
  auto outer = tlv::decode_one(c.data);
  std::optional<tlv::Tlv> inner;
  if (outer && outer->tag == 0x7C && outer->encoded_size == c.data.size())
    inner = tlv::find(outer->value, 0x81);
  const ByteView terminal_challenge = inner ? inner->value : ByteView();
  if (!inner || terminal_challenge.size() != 16 || outer->value.size() != 18) {
    end_authentication(ch);
    return status(sw::kWrongData);
  }
  const NodeRef context = ch.security.context;
  const ObjectRef key = objects_.find(context, ObjectKind::ec_key, kCardAuthKeyRef);
  auto card_cert = stored_certificate(context, kCardCertificateFid);
  auto ca_cert = stored_certificate(context, kCardCaCertificateFid);
  if (key == 0 || !card_cert || !ca_cert) {
    end_authentication(ch);
    return status(sw::kReferenceNotFound);
  }

  ecc::KeyPair ephemeral = ecc::generate(random_);
  auto z = ecc::ecdh(ephemeral.secret, ch.auth.terminal_ephemeral, random_);
  secure_wipe(ephemeral.secret);
  if (!z) {  // cannot happen: the point was checked at step 4
    end_authentication(ch);
    return status(sw::kWrongData);
  }
  const Bytes signed_data = secure_channel::card_signed_data(
      terminal_challenge, ch.auth.terminal_ephemeral, ephemeral.point, ch.auth.card_challenge);
  ecc::Scalar secret = objects_.ec_secret(key);
  const ecc::Signature signature = ecc::sign(secret, signed_data, random_);
  secure_wipe(secret);

  tlv::Builder b;
  b.add(0x86, ephemeral.point).add(0x5F37, signature).add(0xA1, *card_cert).add(0xA2, *ca_cert);
  Bytes answer = b.wrap(0x7C);
  if (c.ne < answer.size()) {
    secure_wipe(*z);
    end_authentication(ch);
    return status(sw::kWrongLength);  // the answer needs Le = 0000
  }
  auth_failures_ = 0;  // a terminal proved its key: the count starts again
  ch.auth.keys = sm::derive_session_keys(*z, sm::AesKeySize::aes256);
  secure_wipe(*z);
  ch.auth.step = Authentication::Step::established;
  ch.security.roles = static_cast<std::uint16_t>(1u << (ch.auth.role - 1));
  return Reply{std::move(answer), sw::kOk};
}

// GENERATE ASYMMETRIC KEY PAIR 00 46 P1 P2: a key made on the card,
// personalization only. P1 00: P-256, answers 7F49 { 86 point }; P1 01:
// RSA-2048 (e = 65537), answers 7F49 { 81 n, 82 e }.
Reply Card::Impl::generate_key_pair(Channel& ch, const Command& c) {
  if (c.p1 > 0x01 || c.p2 == 0 || c.p2 > kMaxObjectRef) return status(sw::kIncorrectP1P2);
  if (!personalizing(ch)) return status(sw::kSecurityStatusNotSatisfied);
  if (c.p1 == 0x01) return generate_rsa_key_pair(ch, c);
  ecc::KeyPair pair = ecc::generate(random_);
  Transaction tx(nvm_);
  auto key = objects_.put_ec_key(ch.df, c.p2, pair.secret);
  secure_wipe(pair.secret);
  if (!key) return status(key.error());
  tx.commit();
  tlv::Builder inner;
  inner.add(0x86, pair.point);
  return Reply{inner.wrap(0x7F49), sw::kOk};
}

Reply Card::Impl::generate_rsa_key_pair(Channel& ch, const Command& c) {
  // 7F49 82 01 09 { 81 82 01 00 n(256), 82 03 e(3) }: 270 bytes, Le = 0000.
  constexpr std::size_t kAnswerLength = 270;
  if (c.ne < kAnswerLength) return status(sw::kWrongLength);
  auto pair = rsa::generate(random_, rsa::kDefaultBits);
  if (!pair) return status(sw::kMemoryFailure);
  Transaction tx(nvm_);
  auto key = objects_.put_rsa_key(ch.df, c.p2, pair->private_key);
  secure_wipe(pair->private_key);
  if (!key) return status(key.error());
  tx.commit();
  tlv::Builder inner;
  inner.add(0x81, pair->public_key.n).add(0x82, pair->public_key.e);
  return Reply{inner.wrap(0x7F49), sw::kOk};
}

// ---------------------------------------------------------------- secure messaging

Bytes Card::Impl::transmit_secure(std::size_t channel, ByteView raw) {
  Channel& ch = channels_[channel];
  // The keys leave the channel while the command runs: a command that ends
  // the session (SELECT of another application) is still answered under them.
  sm::SessionKeys keys = std::move(ch.auth.keys);
  ch.auth.keys = {};
  Bytes encoded;  // the plain command, which may carry a PIN: wiped below
  try {
    auto plain = sm::unwrap_command(keys, raw);
    if (!plain) {
      sm::wipe(keys);
      end_authentication(ch);
      return apdu::Response{{}, plain.error()}.encode();
    }
    encoded = plain->encode();
    secure_wipe(plain->data);
    Reply reply;
    if (auto command = apdu::parse_command(encoded); !command) {
      reply = status(command.error());
    } else {
      ch.secure = true;
      reply = dispatch(*command);
      ch.secure = false;
    }
    secure_wipe(encoded);
    apdu::Response wrapped = sm::wrap_response(keys, reply.data, reply.sw);
    // The same session goes on with its keys; an ended one, or one a proof
    // under it replaced (its own keys already in place), loses them.
    if (ch.auth.established() && ch.auth.keys.k_enc.empty())
      ch.auth.keys = std::move(keys);
    else
      sm::wipe(keys);
    return wrapped.encode();
  } catch (...) {
    // Fails closed (3): whatever escapes the command, a power loss or a
    // failure transmit() answers in plain, ends the session, its keys wiped.
    secure_wipe(encoded);
    sm::wipe(keys);
    ch.secure = false;
    end_authentication(ch);
    throw;
  }
}

}  // namespace juki::card_os
