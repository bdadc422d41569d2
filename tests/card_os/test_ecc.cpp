// The card's P-256 operations (card_os/security/ecc) against published
// vectors, and the refusals that authentication relies on.
#include <catch2/catch.hpp>

#include <string>

#include "card_os/security/ecc.hpp"
#include "card_os/security/random.hpp"
#include "common/bytes.hpp"

using namespace juki;
using namespace juki::card_os;

namespace {

Bytes hex(const std::string& s) {
  auto b = from_hex(s);
  REQUIRE(b.has_value());
  return *b;
}

ByteView text(const char* s) {
  return ByteView(reinterpret_cast<const std::uint8_t*>(s), std::char_traits<char>::length(s));
}

ecc::Scalar scalar(const std::string& s) {
  const Bytes b = hex(s);
  REQUIRE(b.size() == ecc::kScalarSize);
  ecc::Scalar out{};
  std::copy(b.begin(), b.end(), out.begin());
  return out;
}

// RFC 6979 appendix A.2.5: the P-256 key and its SHA-256 signatures.
const std::string kRfcPoint =
    "04"
    "60FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB6"
    "7903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299";
const std::string kRfcSample =  // message "sample"
    "EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716"
    "F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8";
const std::string kRfcTest =  // message "test"
    "F1ABB023518351CD71D881567B1EA663ED3EFCF6C5132B354F28D3B0B7D38367"
    "019F4113742A2B14BD25926B49C649155F267E60D3814B4C0CC84250E46F0083";

}  // namespace

TEST_CASE("ecc: ECDSA P-256 verifies the RFC 6979 A.2.5 signatures, and nothing else", "[ecc]") {
  const Bytes point = hex(kRfcPoint);
  CHECK(ecc::verify(point, text("sample"), hex(kRfcSample)));
  CHECK(ecc::verify(point, text("test"), hex(kRfcTest)));
  CHECK_FALSE(ecc::verify(point, text("sample"), hex(kRfcTest)));  // other message
  Bytes tampered = hex(kRfcSample);
  tampered[40] ^= 0x01;
  CHECK_FALSE(ecc::verify(point, text("sample"), tampered));
  Bytes short_sig = hex(kRfcSample);
  short_sig.pop_back();
  CHECK_FALSE(ecc::verify(point, text("sample"), short_sig));
  Bytes off_curve = point;
  off_curve[64] ^= 0x01;
  CHECK_FALSE(ecc::verify(off_curve, text("sample"), hex(kRfcSample)));
}

TEST_CASE("ecc: ECDH P-256 matches the NIST CAVS ECC CDH vector", "[ecc]") {
  // NIST CAVS 14.1, ECC CDH primitive, P-256 COUNT = 0.
  const Bytes peer =
      hex("04"
          "700c48f77f56584c5cc632ca65640db91b6bacce3a4df6b42ce7cc838833d287"
          "db71e509e3fd9b060ddb20ba5c51dcc5948d46fbf640dfe0441782cab85fa4ac");
  const ecc::Scalar d = scalar("7d7dc5f71eb29ddaf80d6214632eeae03d9058af1fb6d22ed80badb62bc1a534");
  DrbgRandom random(hex("00112233"));
  auto z = ecc::ecdh(d, peer, random);
  REQUIRE(z.has_value());
  CHECK(to_hex(*z) ==
        to_hex(hex("46fc62106420ff012e54a434fbdd2d25ccc5852060561e68040dd7778997bd7b")));
}

TEST_CASE("ecc: generated keys sign and agree, and invalid points are refused", "[ecc]") {
  DrbgRandom random(hex("0102030405060708"));
  const ecc::KeyPair a = ecc::generate(random);
  const ecc::KeyPair b = ecc::generate(random);
  CHECK(a.point != b.point);
  CHECK(ecc::valid_point(a.point));

  const ecc::Signature sig = ecc::sign(a.secret, text("JUKI-CA1 message"), random);
  CHECK(ecc::verify(a.point, text("JUKI-CA1 message"), sig));
  CHECK_FALSE(ecc::verify(b.point, text("JUKI-CA1 message"), sig));

  auto ab = ecc::ecdh(a.secret, b.point, random);
  auto ba = ecc::ecdh(b.secret, a.point, random);
  REQUIRE(ab.has_value());
  REQUIRE(ba.has_value());
  CHECK(*ab == *ba);

  // Off the curve, compressed, the point at infinity, wrong length: refused,
  // so an invalid-curve attack on ECDH gets nothing.
  Bytes off = Bytes(a.point.begin(), a.point.end());
  off[64] ^= 0x01;
  CHECK_FALSE(ecc::valid_point(off));
  CHECK_FALSE(ecc::ecdh(a.secret, off, random).has_value());
  Bytes compressed(a.point.begin(), a.point.begin() + 33);
  compressed[0] = 0x02;
  CHECK_FALSE(ecc::valid_point(compressed));
  CHECK_FALSE(ecc::valid_point(Bytes{0x00}));
  CHECK_FALSE(ecc::valid_point(Bytes(65, 0x00)));
}
