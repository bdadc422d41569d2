#include "card_os/card/app_services.hpp"

#include <utility>

#include "card_os/security/crypto.hpp"
#include "card_os/security/rsa.hpp"

namespace juki::card_os {

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

ByteView AppServices::serial() const {
  return card_.nvm_.read(Superblock::kSerialAt, 8);
}

Result<Bytes, sw::Sw> AppServices::rsa_sign(ObjectRef key, ByteView digest_info) {
  Bytes secret = card_.objects_.rsa_secret(key);
  auto signature = rsa::sign_pkcs1_v15(secret, digest_info, card_.random_);
  crypto::wipe(secret);
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

}  // namespace juki::card_os
