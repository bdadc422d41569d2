#include "card_os/security/objects.hpp"

#include <algorithm>
#include <array>

#include "card_os/security/crypto.hpp"
#include "common/iso7816/tlv.hpp"
#include "common/secure_wipe.hpp"

namespace juki::card_os {

namespace {
constexpr std::uint32_t kValue = 16;
constexpr std::uint8_t kAlgorithmAes = 0x01;
constexpr std::uint8_t kAlgorithmEcP256 = 0x02;
constexpr std::uint8_t kAlgorithmRsa = 0x03;
constexpr std::uint32_t kValueLength = 10;   // u16, RSA private key objects
constexpr std::uint32_t kUnblockRoles = 10;  // u16, PINs of unblock kind 3
// Role bits 0..7 (codes 1..8, specs/pki.md); bits 8..15 are reserved.
constexpr std::uint16_t kRoleBits = 0x00FF;

bool char_allowed(PinFormat f, std::uint8_t c) {
  switch (f) {
    case PinFormat::digits:
      return c >= '0' && c <= '9';
    case PinFormat::alphanumeric:
      return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    case PinFormat::bytes:
      return true;
  }
  return false;
}
}  // namespace

NodeRef application_of(const FileSystem& fs, NodeRef node) {
  NodeRef n = node;
  FileSystem::Node at = fs.node(n);
  if (at.type() != FileType::df) at = fs.node(n = at.parent());
  while (at.parent() != 0 && at.name_length() == 0) at = fs.node(n = at.parent());
  return n;
}

ObjectRef SecurityObjects::find(NodeRef df, ObjectKind kind, std::uint8_t r) const {
  for (ObjectRef o = fs_.objects(df); o != 0; o = m_.u32(o + kObjectNextOffset))
    if (m_.u8(o) == static_cast<std::uint8_t>(kind) && ref(o) == r) return o;
  return 0;
}

ObjectRef SecurityObjects::resolve(NodeRef df, ObjectKind kind, std::uint8_t p2) const {
  std::uint8_t r = p2 & 0x1F;
  if ((p2 & 0x60) != 0 || r == 0) return 0;  // b7-b6 must be 0 (ISO 7816-4 table 65)
  if ((p2 & 0x80) == 0) {
    NodeRef mf = df;
    while (fs_.parent(mf) != 0) mf = fs_.parent(mf);
    return find(mf, kind, r);
  }
  // Specific: from the current DF up to its application DF, never beyond it.
  NodeRef app = application_of(fs_, df);
  for (NodeRef n = df;; n = fs_.parent(n)) {
    if (ObjectRef o = find(n, kind, r)) return o;
    if (n == app) return 0;
  }
}

NodeRef SecurityObjects::owner_of(ObjectRef o, NodeRef hint_df) const {
  for (NodeRef n = hint_df; n != 0; n = fs_.parent(n))
    for (ObjectRef x = fs_.objects(n); x != 0; x = m_.u32(x + kObjectNextOffset))
      if (x == o) return n;
  return 0;
}

sw::Sw SecurityObjects::check_format(ObjectRef pin, ByteView value) const {
  if (value.size() < min_length(pin) || value.size() > max_length(pin)) return sw::kWrongLength;
  auto f = static_cast<PinFormat>(m_.u8(pin + 3));
  for (std::uint8_t c : value)
    if (!char_allowed(f, c)) return sw::kWrongData;
  return sw::kOk;
}

namespace {
// SHA-256(salt ‖ "JUKI-PIN" ‖ object (4 bytes) ‖ value): the card's secret
// salt, and the object, so that equal values in two PINs differ and a digest
// means nothing in another object (specs/card-os.md 7.4).
crypto::Digest bound_digest(ByteView salt, ObjectRef pin, ByteView value) {
  Bytes input = {'J', 'U', 'K', 'I', '-', 'P', 'I', 'N', 0, 0, 0, 0};
  store_be32(&input[8], pin);
  input.insert(input.end(), value.begin(), value.end());
  crypto::Digest d = crypto::sha256(salt, input);
  secure_wipe(input);
  return d;
}
}  // namespace

bool SecurityObjects::pin_matches(ObjectRef pin, ByteView value, ByteView salt) const {
  crypto::Digest d =
      (flags(pin) & kPinBound) != 0 ? bound_digest(salt, pin, value) : crypto::sha256(salt, value);
  bool same = crypto::equal_ct(d, m_.read(pin + kValue, 32));
  secure_wipe(d);
  return same && pin_set(pin);
}

bool SecurityObjects::key_proves(ObjectRef key, ByteView challenge, ByteView proof) const {
  if ((flags(key) & kKeyRetired) != 0) return false;
  std::array<std::uint8_t, 16> mac{};
  if (!crypto::aes_cmac(m_.read(key + kValue, m_.u8(key + 4)), challenge, mac)) return false;
  bool same = crypto::equal_ct(mac, proof);
  secure_wipe(mac);
  return same;
}

std::array<std::uint8_t, 16> SecurityObjects::key_mac(ObjectRef key, ByteView message) const {
  std::array<std::uint8_t, 16> mac{};
  if ((flags(key) & kKeyRetired) != 0) return mac;  // never reached: refused before
  // A key of a length CMAC refuses cannot be stored (put() checks it).
  crypto::aes_cmac(m_.read(key + kValue, m_.u8(key + 4)), message, mac);
  return mac;
}

NvmError SecurityObjects::set_tries(ObjectRef o, std::uint8_t tries) {
  return m_.write_u8(o + 7, tries);
}

NvmError SecurityObjects::set_flags(ObjectRef o, std::uint8_t f) {
  return m_.write_u8(o + 2, f);
}

NvmError SecurityObjects::retire_key(ObjectRef key) {
  const std::array<std::uint8_t, 32> zeros{};
  NvmError e = m_.write(key + kValue, zeros);
  if (e == NvmError::none) e = m_.write_u8(key + 4, 0);  // no length: no key
  if (e == NvmError::none) e = set_tries(key, 0);
  if (e == NvmError::none) e = set_flags(key, kKeyRetired);
  return e;
}

NvmError SecurityObjects::set_pin(ObjectRef pin, ByteView value, ByteView salt) {
  crypto::Digest d = bound_digest(salt, pin, value);
  NvmError e = m_.write(pin + kValue, d);
  secure_wipe(d);
  if (e == NvmError::none) e = set_flags(pin, flags(pin) | kPinValueSet | kPinBound);
  if (e == NvmError::none) e = set_tries(pin, retry_limit(pin));
  return e;
}

Result<ObjectRef, sw::Sw> SecurityObjects::put(NodeRef df, ByteView definition, ByteView salt) {
  auto outer = tlv::decode_one(definition);
  if (!outer || outer->encoded_size != definition.size() ||
      (outer->tag != 0xA1 && outer->tag != 0xA2))
    return unexpected(sw::kWrongData);
  auto items = tlv::decode_all(outer->value);
  if (!items) return unexpected(sw::kWrongData);
  const bool is_pin = outer->tag == 0xA1;

  std::array<std::uint8_t, kObjectSize> obj{};
  obj[0] = static_cast<std::uint8_t>(is_pin ? ObjectKind::pin : ObjectKind::key);
  ByteView value;
  bool have_value = false;
  std::uint32_t seen = 0;
  for (const tlv::Tlv& t : *items) {
    const ByteView v = t.value;
    std::uint32_t bit = 0;
    switch (t.tag) {
      case 0x83:  // reference
        bit = 1;
        if (v.size() != 1 || v[0] == 0 || v[0] > kMaxObjectRef) return unexpected(sw::kWrongData);
        obj[1] = v[0];
        break;
      case 0x80:  // PIN format | key algorithm
        bit = 2;
        if (v.size() != 1) return unexpected(sw::kWrongData);
        if (is_pin ? (v[0] < 1 || v[0] > 3) : v[0] != kAlgorithmAes)
          return unexpected(sw::kWrongData);
        obj[3] = v[0];
        break;
      case 0x81:  // PIN length range
        bit = 4;
        if (!is_pin || v.size() != 2 || v[0] == 0 || v[0] > v[1] || v[1] > kMaxPinLength)
          return unexpected(sw::kWrongData);
        obj[4] = v[0];
        obj[5] = v[1];
        break;
      case 0x82:  // retry limit
        bit = 8;
        if (v.size() != 1 || v[0] == 0 || v[0] > 15) return unexpected(sw::kWrongData);
        obj[6] = obj[7] = v[0];
        break;
      case 0x84:  // initial PIN | key value
        bit = 16;
        value = v;
        have_value = true;
        break;
      case 0x85: {  // flags
        bit = 32;
        // The keys of the issuance are the MF's only (specs/card-os.md 7.4).
        const bool in_mf = fs_.parent(df) == 0;
        std::uint8_t allowed =
            is_pin ? kPinActivates : (in_mf ? (kKeyTransport | kKeyPersonalize) : 0);
        if (v.size() != 1 || (v[0] & ~allowed)) return unexpected(sw::kWrongData);
        obj[2] = v[0];
        break;
      }
      case 0x86:  // PIN unblock policy: 01 RR | 02 RR | 03 role set (2 bytes)
        bit = 64;
        if (!is_pin || v.empty()) return unexpected(sw::kWrongData);
        if (v[0] == static_cast<std::uint8_t>(Unblock::role)) {
          const std::uint16_t roles = v.size() == 3 ? load_be16(&v[1]) : 0;
          if (roles == 0 || (roles & ~kRoleBits) != 0) return unexpected(sw::kWrongData);
          obj[8] = v[0];
          store_be16(&obj[kUnblockRoles], roles);
          break;
        }
        if (v.size() != 2 || v[0] > 2 || (v[0] == 0) != (v[1] == 0) || v[1] > kMaxObjectRef)
          return unexpected(sw::kWrongData);
        obj[8] = v[0];
        obj[9] = v[1];
        break;
      default:
        return unexpected(sw::kWrongData);
    }
    if (seen & bit) return unexpected(sw::kWrongData);
    seen |= bit;
  }
  const std::uint32_t required = is_pin ? (1 | 2 | 4 | 8) : (1 | 2 | 8 | 16);
  if ((seen & required) != required) return unexpected(sw::kWrongData);
  if (!is_pin) {
    if (value.size() != 16 && value.size() != 24 && value.size() != 32)
      return unexpected(sw::kWrongData);
    obj[4] = static_cast<std::uint8_t>(value.size());
    std::copy(value.begin(), value.end(), obj.begin() + kValue);
  }

  auto o = store(df, obj);
  secure_wipe(obj);
  if (!o) return o;
  if (is_pin && have_value) {
    if (check_format(*o, value) != sw::kOk) return unexpected(sw::kWrongData);
    if (NvmError e = set_pin(*o, value, salt); e != NvmError::none) return unexpected(to_sw(e));
  }
  return o;
}

Result<ObjectRef, sw::Sw> SecurityObjects::store(NodeRef df, std::span<std::uint8_t> obj) {
  const auto size = static_cast<std::uint32_t>(obj.size());
  // Replace an object with the same kind and reference, in place when its
  // block holds the new one.
  ObjectRef o = find(df, static_cast<ObjectKind>(obj[0]), obj[1]);
  if (o != 0 && heap_.payload_size(o) < size) {
    // An RSA key of another size: unlink the old block and free (wipe) it.
    const std::uint32_t next = m_.u32(o + kObjectNextOffset);
    if (fs_.objects(df) == o) {
      if (auto r = fs_.set_objects(df, next); r != sw::kOk) return unexpected(r);
    } else {
      ObjectRef prev = fs_.objects(df);
      while (m_.u32(prev + kObjectNextOffset) != o) prev = m_.u32(prev + kObjectNextOffset);
      if (NvmError e = m_.write_u32(prev + kObjectNextOffset, next); e != NvmError::none)
        return unexpected(to_sw(e));
    }
    if (NvmError e = heap_.release(o); e != NvmError::none) return unexpected(to_sw(e));
    o = 0;
  }
  if (o == 0) {
    auto a = heap_.allocate(size);
    if (!a) return unexpected(sw::kNotEnoughMemory);
    o = *a;
    store_be32(&obj[kObjectNextOffset], fs_.objects(df));
    if (auto r = fs_.set_objects(df, o); r != sw::kOk) return unexpected(r);
  } else {
    store_be32(&obj[kObjectNextOffset], m_.u32(o + kObjectNextOffset));
    // A block larger than the new object (a shorter RSA key): clear the rest.
    const std::uint32_t capacity = heap_.payload_size(o);
    const ByteView rest = m_.read(o + size, capacity - size);
    if (std::any_of(rest.begin(), rest.end(), [](std::uint8_t b) { return b != 0; }))
      if (NvmError e = m_.fill(o + size, capacity - size, 0); e != NvmError::none)
        return unexpected(to_sw(e));
  }
  if (NvmError e = m_.write(o, obj); e != NvmError::none) return unexpected(to_sw(e));
  return o;
}

Result<ObjectRef, sw::Sw> SecurityObjects::put_ec_key(NodeRef df, std::uint8_t reference,
                                                      const ecc::Scalar& secret) {
  if (reference == 0 || reference > kMaxObjectRef) return unexpected(sw::kIncorrectP1P2);
  std::array<std::uint8_t, kObjectSize> obj{};
  obj[0] = static_cast<std::uint8_t>(ObjectKind::ec_key);
  obj[1] = reference;
  obj[3] = kAlgorithmEcP256;
  obj[4] = static_cast<std::uint8_t>(secret.size());
  std::copy(secret.begin(), secret.end(), obj.begin() + kValue);
  auto o = store(df, obj);
  secure_wipe(obj);
  return o;
}

ecc::Scalar SecurityObjects::ec_secret(ObjectRef key) const {
  ecc::Scalar s{};
  const ByteView v = m_.read(key + kValue, static_cast<std::uint32_t>(s.size()));
  std::copy(v.begin(), v.end(), s.begin());
  return s;
}

Result<ObjectRef, sw::Sw> SecurityObjects::put_rsa_key(NodeRef df, std::uint8_t reference,
                                                       ByteView stored_private) {
  if (reference == 0 || reference > kMaxObjectRef) return unexpected(sw::kIncorrectP1P2);
  if (!rsa::modulus_bits(stored_private)) return unexpected(sw::kWrongData);
  Bytes obj(kValue + stored_private.size(), 0);
  obj[0] = static_cast<std::uint8_t>(ObjectKind::rsa_key);
  obj[1] = reference;
  obj[3] = kAlgorithmRsa;
  store_be16(&obj[kValueLength], static_cast<std::uint16_t>(stored_private.size()));
  std::copy(stored_private.begin(), stored_private.end(), obj.begin() + kValue);
  auto o = store(df, obj);
  secure_wipe(obj);
  return o;
}

Bytes SecurityObjects::rsa_secret(ObjectRef key) const {
  const ByteView v = m_.read(key + kValue, m_.u16(key + kValueLength));
  return Bytes(v.begin(), v.end());
}

}  // namespace juki::card_os
