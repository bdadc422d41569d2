// Security objects: PINs (reference data with a retry counter) and symmetric
// keys, owned by a DF and stored in persistent memory. Nothing here ever
// returns a PIN or key value: PINs are stored as a salted SHA-256 digest and
// keys are only used in place.
//
// Object layout (kObjectSize bytes), big-endian:
//  0 kind (1 PIN, 2 AES key, 3 P-256 private key, 4 RSA private key)  1 reference (1..31)
//  2 flags  3 format | algorithm  4 min length | key length  5 max length  6 retry limit
//  7 tries left  8 unblock kind  9 unblock reference (kinds 1, 2; else 0)
//  10 value length (u16, RSA keys) | unblock role set (u16, PINs of unblock kind 3) | 0
//  12 next object
// 16 value[32]: PIN digest, AES key bytes, or the P-256 private scalar
// An RSA private key object is longer: 16 + its value length, the value being
// the key's stored form (card_os/security/rsa.hpp, 264 bytes for RSA-2048).
#pragma once

#include <array>
#include <cstdint>

#include "card_os/fs/file_system.hpp"
#include "card_os/nvm/heap.hpp"
#include "card_os/nvm/persistent_memory.hpp"
#include "card_os/security/ecc.hpp"
#include "card_os/security/rsa.hpp"
#include "common/bytes.hpp"
#include "common/iso7816/status_words.hpp"
#include "common/result.hpp"

namespace juki::card_os {

using ObjectRef = std::uint32_t;  // 0 = none

enum class ObjectKind : std::uint8_t { pin = 1, key = 2, ec_key = 3, rsa_key = 4 };

enum class PinFormat : std::uint8_t {
  digits = 1,        // '0'..'9'
  alphanumeric = 2,  // 'A'..'Z', 'a'..'z', '0'..'9'
  bytes = 3,         // any byte value
};

enum class Unblock : std::uint8_t {
  none = 0,  // RESET RETRY COUNTER refused
  pin = 1,   // with an unblocking PIN (PUK) of this DF, given in the command
  key = 2,   // after EXTERNAL AUTHENTICATE with an administrative key
  role = 3,  // by a mutually authenticated terminal of one of a set of roles, under
             // secure messaging (specs/secure-channel.md 4)
};

// Flags of a PIN object.
inline constexpr std::uint8_t kPinValueSet = 0x01;   // reference data present
inline constexpr std::uint8_t kPinActivates = 0x02;  // setting it moves the card to active
// The digest is bound to its object (specs/card-os.md 7.4): set by every
// setting of a value since layout 1's hardening; without it, an older image's
// SHA-256(salt ‖ PIN) is still checked. Never put by PUT DATA.
inline constexpr std::uint8_t kPinBound = 0x04;
// Flags of a key object.
inline constexpr std::uint8_t kKeyTransport = 0x01;    // exhausted: the card terminates
inline constexpr std::uint8_t kKeyPersonalize = 0x02;  // grants personalization rights
// A key of the issuance retired when the card left personalization: its value
// is gone and nothing can prove it (specs/card-os.md 5). Never put by PUT DATA.
inline constexpr std::uint8_t kKeyRetired = 0x80;

inline constexpr std::uint8_t kMaxPinLength = 16;
inline constexpr std::uint8_t kMaxObjectRef = 31;

class SecurityObjects {
 public:
  static constexpr std::uint32_t kObjectSize = 48;

  SecurityObjects(PersistentMemory& m, Heap& heap, FileSystem& fs) : m_(m), heap_(heap), fs_(fs) {}

  // The object with `kind` and `ref` (bits 5..1) owned by `df`, or 0.
  ObjectRef find(NodeRef df, ObjectKind kind, std::uint8_t ref) const;
  // Resolves a reference as ISO 7816-4 P2 qualifies it: b8 = 1 "specific"
  // (searched from `df` up to its application DF), b8 = 0 "global" (the MF).
  ObjectRef resolve(NodeRef df, ObjectKind kind, std::uint8_t p2) const;
  // The DF an object belongs to.
  NodeRef owner_of(ObjectRef o, NodeRef hint_df) const;

  ObjectKind kind(ObjectRef o) const { return static_cast<ObjectKind>(m_.u8(o)); }
  std::uint8_t ref(ObjectRef o) const { return m_.u8(o + 1); }
  // Bytes the object takes: kObjectSize, or more for an RSA key.
  std::uint32_t stored_size(ObjectRef o) const {
    return kind(o) == ObjectKind::rsa_key ? 16u + m_.u16(o + 10) : kObjectSize;
  }
  std::uint8_t flags(ObjectRef o) const { return m_.u8(o + 2); }
  std::uint8_t retry_limit(ObjectRef o) const { return m_.u8(o + 6); }
  std::uint8_t tries_left(ObjectRef o) const { return m_.u8(o + 7); }
  bool blocked(ObjectRef o) const { return tries_left(o) == 0; }
  Unblock unblock_kind(ObjectRef o) const { return static_cast<Unblock>(m_.u8(o + 8)); }
  std::uint8_t unblock_ref(ObjectRef o) const { return m_.u8(o + 9); }
  // Unblock kind 3: the role set (access bits, specs/pki.md) that may unblock it.
  std::uint16_t unblock_roles(ObjectRef o) const { return m_.u16(o + 10); }

  // --- PINs ---
  bool pin_set(ObjectRef pin) const { return (flags(pin) & kPinValueSet) != 0; }
  // 6700 for a length outside the policy, 6A80 for a character outside it.
  sw::Sw check_format(ObjectRef pin, ByteView value) const;
  bool pin_matches(ObjectRef pin, ByteView value, ByteView salt) const;  // constant time
  // Fixed-length PINs have min == max; CHANGE REFERENCE DATA splits on it.
  std::uint8_t min_length(ObjectRef pin) const { return m_.u8(pin + 4); }
  std::uint8_t max_length(ObjectRef pin) const { return m_.u8(pin + 5); }

  // --- Keys ---
  // AES-CMAC of `challenge` under the key, compared in constant time.
  bool key_proves(ObjectRef key, ByteView challenge, ByteView proof) const;
  // AES-CMAC of `message` under the key, inside the card only (the
  // personalization session's key agreement); the caller wipes it.
  std::array<std::uint8_t, 16> key_mac(ObjectRef key, ByteView message) const;

  // --- Changes (within a transaction) ---
  NvmError set_tries(ObjectRef o, std::uint8_t tries);
  NvmError set_pin(ObjectRef pin, ByteView value, ByteView salt);  // also restores the counter
  NvmError set_flags(ObjectRef o, std::uint8_t flags);
  // Overwrites a key's value with zeros, blocks it and marks it retired.
  NvmError retire_key(ObjectRef key);

  // PUT DATA object definitions (specs/card-os.md "Security objects"): a PIN
  // (tag A1) or key (tag A2) template. Creates the object in `df`, or replaces
  // the one with the same reference.
  Result<ObjectRef, sw::Sw> put(NodeRef df, ByteView definition, ByteView salt);
  // A P-256 private key generated on the card (GENERATE ASYMMETRIC KEY PAIR),
  // created in `df` or replacing the one with the same reference.
  Result<ObjectRef, sw::Sw> put_ec_key(NodeRef df, std::uint8_t reference,
                                       const ecc::Scalar& secret);
  // The private scalar, for signing and key agreement inside the card only.
  ecc::Scalar ec_secret(ObjectRef key) const;
  // An RSA private key generated on the card, in its stored form
  // (rsa::generate), created in `df` or replacing the one with the same
  // reference. 6A80 for a value that is not a stored RSA key.
  Result<ObjectRef, sw::Sw> put_rsa_key(NodeRef df, std::uint8_t reference,
                                        ByteView stored_private);
  // The stored private key, for signing inside the card only; the caller
  // wipes it (secure_wipe) after use.
  Bytes rsa_secret(ObjectRef key) const;

 private:
  // Writes a complete object (kObjectSize bytes, or more for an RSA key) into
  // `df`, replacing one of the same kind and reference: in place when its
  // block is large enough, else in a new block.
  Result<ObjectRef, sw::Sw> store(NodeRef df, std::span<std::uint8_t> obj);

  PersistentMemory& m_;
  Heap& heap_;
  FileSystem& fs_;
};

// The application DF of a node: the nearest DF at or above it that has a DF
// name, or the MF. Each application DF is its own security context.
NodeRef application_of(const FileSystem& fs, NodeRef node);

}  // namespace juki::card_os
