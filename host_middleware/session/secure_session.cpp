#include "host_middleware/session/secure_session.hpp"

#include "pki/directory.hpp"

#include <openssl/rand.h>

#include <utility>

#include "common/iso7816/apdu.hpp"
#include "common/iso7816/tlv.hpp"
#include "common/secure_channel.hpp"
#include "host_middleware/crypto/host_crypto.hpp"

namespace juki::host::session {

namespace {

SessionError error(SessionError::Kind kind, std::string message, sw::Sw s = 0) {
  return SessionError{kind, s, std::move(message)};
}

Result<Bytes, SessionError> step(Transport& t, const char* name, const Bytes& command) {
  return session_step(t, name, command);
}

}  // namespace

Result<Credentials, std::string> Credentials::from_pki(const std::string& pki_dir,
                                                       const std::string& prefix) {
  namespace d = pki::directory;
  return load(prefix + ".key.pem", prefix + ".cert.der",
              d::cert_path(pki_dir, d::ca_stem(pki::CaKind::terminal)),
              d::cert_path(pki_dir, d::kRootStem));
}

Result<Credentials, std::string> Credentials::load(const std::string& key_pem,
                                                   const std::string& certificate_der,
                                                   const std::string& ca_der,
                                                   const std::string& root_der) {
  auto key = pki::PrivateKey::load(key_pem);
  if (!key) return unexpected(key.error().message);
  auto cert = pki::Certificate::load(certificate_der);
  if (!cert) return unexpected(cert.error().message);
  auto ca = pki::Certificate::load(ca_der);
  if (!ca) return unexpected(ca.error().message);
  auto root = pki::Certificate::load(root_der);
  if (!root) return unexpected(root.error().message);
  if (cert->public_point() != key->public_key().point())
    return unexpected(certificate_der + ": the certificate is not for the key in " + key_pem);
  return Credentials{std::move(*key), std::move(*cert), std::move(*ca), std::move(*root)};
}

Result<std::unique_ptr<SecureSession>, SessionError> SecureSession::open(
    Transport& t, const Credentials& credentials, std::int64_t now) {
  using Kind = SessionError::Kind;
  // 1, 2: the terminal's chain.
  if (auto r = step(t, "VERIFY CERTIFICATE (terminal CA)",
                    apdu::encode_command(0x00, 0x2A, 0x00, 0xBE, credentials.ca.der()));
      !r)
    return unexpected(r.error());
  if (auto r = step(t, "VERIFY CERTIFICATE (terminal)",
                    apdu::encode_command(0x00, 0x2A, 0x00, 0xBE, credentials.certificate.der()));
      !r)
    return unexpected(r.error());
  // 3, 4: the terminal proves its key, bound to rC and its ephemeral key.
  auto card_challenge =
      step(t, "GET CHALLENGE", apdu::encode_command(0x00, 0x84, 0x00, 0x00, {}, 16));
  if (!card_challenge) return unexpected(card_challenge.error());
  if (card_challenge->size() != 16)
    return unexpected(error(Kind::protocol, "GET CHALLENGE: not 16 bytes"));
  auto ephemeral = crypto::generate_p256();
  if (!ephemeral) return unexpected(error(Kind::protocol, ephemeral.error()));
  auto ephemeral_point = crypto::public_point(ephemeral->get());
  if (!ephemeral_point) return unexpected(error(Kind::protocol, ephemeral_point.error()));
  const Bytes to_sign = secure_channel::terminal_signed_data(*card_challenge, *ephemeral_point);
  auto terminal_signature = crypto::ecdsa_sign(credentials.key.native(), to_sign);
  if (!terminal_signature) return unexpected(error(Kind::protocol, terminal_signature.error()));
  tlv::Builder key_template;
  key_template.add(0x86, *ephemeral_point);
  tlv::Builder proof;
  proof.add_raw(key_template.wrap(0x7F49)).add(0x5F37, *terminal_signature);
  if (auto r = step(t, "EXTERNAL AUTHENTICATE",
                    apdu::encode_command(0x00, 0x82, 0x00, 0x00, proof.bytes()));
      !r)
    return unexpected(r.error());

  // 5: the card proves its key, bound to rT and both ephemeral keys.
  Bytes terminal_challenge(16);
  if (RAND_bytes(terminal_challenge.data(), static_cast<int>(terminal_challenge.size())) != 1)
    return unexpected(error(Kind::protocol, "RAND_bytes failed (OpenSSL)"));
  tlv::Builder challenge;
  challenge.add(0x81, terminal_challenge);
  auto answer = step(t, "GENERAL AUTHENTICATE",
                     apdu::encode_command(0x00, 0x86, 0x00, 0x00, challenge.wrap(0x7C), 65536));
  if (!answer) return unexpected(answer.error());
  auto outer = tlv::decode_one(*answer);
  if (!outer || outer->tag != 0x7C || outer->encoded_size != answer->size())
    return unexpected(
        error(Kind::protocol, "GENERAL AUTHENTICATE: the answer is not one 7C template"));
  auto card_point = tlv::find(outer->value, 0x86);
  auto card_signature = tlv::find(outer->value, 0x5F37);
  auto card_cert_do = tlv::find(outer->value, 0xA1);
  auto card_ca_do = tlv::find(outer->value, 0xA2);
  if (!card_point || !card_signature || !card_cert_do || !card_ca_do)
    return unexpected(error(Kind::protocol, "GENERAL AUTHENTICATE: 86, 5F37, A1 or A2 missing"));

  auto card_cert = pki::Certificate::from_der(card_cert_do->value);
  auto card_ca = pki::Certificate::from_der(card_ca_do->value);
  if (!card_cert || !card_ca)
    return unexpected(error(Kind::untrusted_card, "the card's certificates do not parse"));
  auto verified = pki::verify_chain(credentials.root, *card_ca, *card_cert, now);
  if (!verified)
    return unexpected(
        error(Kind::untrusted_card, "the card's certificate: " + verified.error().message));
  if (verified->ca != pki::CaKind::card || verified->authorization.role != pki::Role::card)
    return unexpected(
        error(Kind::untrusted_card, "the card's certificate is not a card certificate"));
  const Bytes signed_by_card = secure_channel::card_signed_data(
      terminal_challenge, *ephemeral_point, card_point->value, *card_challenge);
  if (!crypto::ecdsa_verify(card_cert->public_point(), signed_by_card, card_signature->value))
    return unexpected(error(Kind::untrusted_card, "the card's signature does not verify"));

  auto z = crypto::ecdh(ephemeral->get(), card_point->value);
  if (!z) return unexpected(error(Kind::protocol, "the card's ephemeral key: " + z.error()));
  auto keys = sm::derive_session_keys(*z, sm::AesKeySize::aes256);
  OPENSSL_cleanse(z->data(), z->size());
  if (!keys) return unexpected(error(Kind::protocol, keys.error().message));
  CardIdentity card{std::move(*card_cert), std::move(verified->authorization)};
  return std::unique_ptr<SecureSession>(new SecureSession(t, std::move(*keys), std::move(card)));
}

}  // namespace juki::host::session
