// The stored form of a PIN (specs/card-os.md 7.4 and 8.3): salted with the
// card's secret salt and bound to its object, so that equal values do not
// show as equal digests and a digest copied into another object does not
// verify there; an older image's unbound digest still verifies.
#include <catch2/catch.hpp>

#include <algorithm>

#include "card_os/security/crypto.hpp"
#include "card_os/security/objects.hpp"
#include "common/bytes.hpp"
#include "support/card_memory.hpp"

using namespace juki;
using namespace juki::card_os;

namespace {

// A card's memory (support/card_memory.hpp) with PINs put into its MF.
struct Memory : test::CardMemory {
  // PIN `ref`, 4 digits, with `value` (or none).
  ObjectRef put_pin(std::uint8_t ref, ByteView salt, ByteView value = {}) {
    Bytes t = {0xA1, 0x00, 0x83, 0x01, ref,  0x80, 0x01, 0x01,
               0x81, 0x02, 0x04, 0x04, 0x82, 0x01, 0x03};
    if (!value.empty()) {
      t.push_back(0x84);
      t.push_back(static_cast<std::uint8_t>(value.size()));
      t.insert(t.end(), value.begin(), value.end());
    }
    t[1] = static_cast<std::uint8_t>(t.size() - 2);
    Transaction tx(m);
    auto o = objects.put(mf, t, salt);
    REQUIRE(o);
    tx.commit();
    return *o;
  }
  Bytes stored(ObjectRef pin) const {
    ByteView v = m.read(pin + 16, 32);
    return Bytes(v.begin(), v.end());
  }
};

const Bytes kSalt = *from_hex("000102030405060708090A0B0C0D0E0F");
const Bytes kOtherSalt = *from_hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFDFEFF");
const Bytes k1234 = {'1', '2', '3', '4'};

}  // namespace

TEST_CASE("PIN digest: salted with the card's secret, bound to its object", "[security][pin]") {
  Memory mem;
  const ObjectRef a = mem.put_pin(1, kSalt, k1234);
  const ObjectRef b = mem.put_pin(2, kSalt, k1234);
  CHECK(mem.objects.pin_matches(a, k1234, kSalt));
  CHECK(mem.objects.pin_matches(b, k1234, kSalt));
  CHECK((mem.objects.flags(a) & kPinBound) != 0);
  // Equal values, different digests; neither is the unbound SHA-256(salt ‖ PIN).
  CHECK(mem.stored(a) != mem.stored(b));
  const crypto::Digest unbound = crypto::sha256(kSalt, k1234);
  CHECK(mem.stored(a) != Bytes(unbound.begin(), unbound.end()));
  // Another card's salt: no match.
  CHECK_FALSE(mem.objects.pin_matches(a, k1234, kOtherSalt));
  CHECK_FALSE(mem.objects.pin_matches(a, *from_hex("31323335"), kSalt));
  // A's digest copied into B does not make B's value A's.
  {
    const Bytes from_a = mem.stored(a);
    Transaction tx(mem.m);
    REQUIRE(mem.m.write(b + 16, from_a) == NvmError::none);
    tx.commit();
  }
  CHECK_FALSE(mem.objects.pin_matches(b, k1234, kSalt));
  // No PIN in the clear anywhere in the memory.
  const Bytes& image = mem.storage.bytes();
  CHECK(std::search(image.begin(), image.end(), k1234.begin(), k1234.end()) == image.end());
}

TEST_CASE("PIN digest: an older image's unbound digest still verifies, and is bound when set",
          "[security][pin]") {
  Memory mem;
  const ObjectRef pin = mem.put_pin(1, kSalt);
  // As the first release stored it: SHA-256(salt ‖ PIN), value-set flag only.
  {
    const crypto::Digest d = crypto::sha256(kSalt, k1234);
    Transaction tx(mem.m);
    REQUIRE(mem.m.write(pin + 16, d) == NvmError::none);
    REQUIRE(mem.objects.set_flags(pin, kPinValueSet) == NvmError::none);
    tx.commit();
  }
  CHECK(mem.objects.pin_matches(pin, k1234, kSalt));
  CHECK_FALSE(mem.objects.pin_matches(pin, *from_hex("31323335"), kSalt));
  // Changed once, it is bound.
  {
    Transaction tx(mem.m);
    REQUIRE(mem.objects.set_pin(pin, k1234, kSalt) == NvmError::none);
    tx.commit();
  }
  CHECK((mem.objects.flags(pin) & kPinBound) != 0);
  CHECK(mem.objects.pin_matches(pin, k1234, kSalt));
}
