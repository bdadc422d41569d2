#include "host_middleware/session/personalization_session.hpp"

#include <openssl/crypto.h>

#include "common/iso7816/apdu.hpp"
#include "common/secure_channel.hpp"
#include "host_middleware/crypto/host_crypto.hpp"

namespace juki::host::session {

Result<Bytes, SessionError> issuance_key_proof(ByteView key, ByteView card_challenge) {
  auto mac = crypto::aes_cmac(key, card_challenge);
  if (!mac) return unexpected(SessionError{SessionError::Kind::protocol, 0, mac.error()});
  return std::move(*mac);
}

Result<sm::SessionKeys, SessionError> personalization_keys(ByteView key, ByteView card_challenge) {
  auto z = crypto::aes_cmac(key, secure_channel::personalization_key_input(card_challenge));
  if (!z) return unexpected(SessionError{SessionError::Kind::protocol, 0, z.error()});
  auto keys = sm::derive_session_keys(*z, sm::AesKeySize::aes256);
  OPENSSL_cleanse(z->data(), z->size());
  if (!keys) return unexpected(SessionError{SessionError::Kind::protocol, 0, keys.error().message});
  return std::move(*keys);
}

Result<std::unique_ptr<SmTransport>, SessionError> open_personalization_session(
    Transport& inner, ByteView key, std::uint8_t key_ref) {
  auto challenge =
      session_step(inner, "GET CHALLENGE", apdu::encode_command(0x00, 0x84, 0x00, 0x00, {}, 16));
  if (!challenge) return unexpected(challenge.error());
  if (challenge->size() != 16)
    return unexpected(SessionError{SessionError::Kind::protocol, 0, "GET CHALLENGE: not 16 bytes"});
  auto proof = issuance_key_proof(key, *challenge);
  if (!proof) return unexpected(proof.error());
  static const char kHex[] = "0123456789ABCDEF";
  const std::string name =
      std::string("EXTERNAL AUTHENTICATE key ") + kHex[key_ref >> 4] + kHex[key_ref & 0x0F];
  if (auto r = session_step(inner, name, apdu::encode_command(0x00, 0x82, 0x00, key_ref, *proof));
      !r)
    return unexpected(r.error());
  auto keys = personalization_keys(key, *challenge);
  if (!keys) return unexpected(keys.error());
  return std::make_unique<SmTransport>(inner, std::move(*keys));
}

}  // namespace juki::host::session
