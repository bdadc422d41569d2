// Secure messaging across the wire: the host's half (OpenSSL) against published vectors,
// and against the card's half (mbedTLS). This is the only place the two meet, as bytes.
#include <catch2/catch.hpp>

#include <random>

#include "card_os/security/secure_messaging.hpp"
#include "common/bytes.hpp"
#include "common/iso7816/apdu.hpp"
#include "host_middleware/secure_messaging/secure_messaging.hpp"
#include "support/sm_vectors.hpp"

using namespace juki;
namespace card_sm = juki::card_os::sm;
namespace host_sm = juki::host::sm;
using namespace juki::test::sm_vectors;

namespace {

// A session as both ends derive it from one shared secret (AES-256, our protocol's choice).
struct Session {
  host_sm::SessionKeys host;
  card_sm::SessionKeys card;
};

Session session(card_sm::AesKeySize size = card_sm::AesKeySize::aes256) {
  const Bytes secret = hex("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F");
  auto host = host_sm::derive_session_keys(secret, static_cast<host_sm::AesKeySize>(size));
  REQUIRE(host);
  auto card = card_sm::derive_session_keys(secret, size);
  REQUIRE(host->k_enc == card.k_enc);
  REQUIRE(host->k_mac == card.k_mac);
  return Session{.host = std::move(*host), .card = std::move(card)};
}

bool in_step(const Session& s) {
  return std::equal(s.host.ssc.begin(), s.host.ssc.end(), s.card.ssc.begin());
}

// Host wraps, card unwraps, the card's result matches the plain command field for field.
void round_trip_command(Session& s, ByteView plain, bool canonical = true) {
  auto want = apdu::parse_command(plain);
  REQUIRE(want);
  auto wrapped = host_sm::wrap_command(s.host, plain);
  REQUIRE(wrapped);
  auto outer = apdu::parse_command(*wrapped);
  REQUIRE(outer);
  CHECK(outer->cla == (want->cla | 0x0C));
  CHECK(outer->has_le);
  // Extended when the plain command is, when the protected body needs it, or when the
  // protected answer could pass 256 bytes.
  CHECK(outer->extended == (want->extended || outer->data.size() > 255 ||
                            (want->has_le && want->ne > host_sm::kMaxShortProtectedNe)));
  auto got = card_sm::unwrap_command(s.card, *wrapped);
  REQUIRE(got);
  CHECK(got->cla == want->cla);
  CHECK(got->ins == want->ins);
  CHECK(got->p1 == want->p1);
  CHECK(got->p2 == want->p2);
  CHECK(got->data == Bytes(want->data.begin(), want->data.end()));
  CHECK(got->has_le == want->has_le);
  CHECK(got->ne == want->ne);
  if (want->extended) CHECK(got->extended);
  if (canonical) CHECK(got->encode() == Bytes(plain.begin(), plain.end()));
  CHECK(in_step(s));
}

// Card wraps, host unwraps.
void round_trip_response(Session& s, ByteView data, sw::Sw status) {
  apdu::Response wrapped = card_sm::wrap_response(s.card, data, status);
  CHECK(wrapped.sw == sw::kOk);
  auto got = host_sm::unwrap_response(s.host, wrapped.encode());
  REQUIRE(got);
  CHECK(got->data == Bytes(data.begin(), data.end()));
  CHECK(got->sw == status);
  CHECK(in_step(s));
}

Bytes pattern(std::size_t n, std::uint8_t seed = 0) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(seed + i * 7);
  return b;
}

}  // namespace

TEST_CASE("host KDF reproduces ICAO 9303-11 Appendix G.1 and agrees with the card", "[sm][kdf]") {
  auto keys = host_sm::derive_session_keys(hex(kG1Secret), host_sm::AesKeySize::aes128);
  REQUIRE(keys);
  CHECK(keys->k_enc == hex(kG1KsEnc));
  CHECK(keys->k_mac == hex(kG1KsMac));
  for (auto size :
       {card_sm::AesKeySize::aes128, card_sm::AesKeySize::aes192, card_sm::AesKeySize::aes256}) {
    for (std::uint32_t c : {1u, 2u, 3u}) {
      auto h = host_sm::kdf(hex(kG1Secret), c, static_cast<host_sm::AesKeySize>(size));
      REQUIRE(h);
      CHECK(*h == card_sm::kdf(hex(kG1Secret), c, size));
      CHECK(h->size() == static_cast<std::size_t>(size));
    }
  }
}

TEST_CASE("host wraps the published AES command and unwraps the published response (gmrtd)",
          "[sm][kat]") {
  host_sm::SessionKeys cmd{.k_enc = hex(kCmdKEnc),
                           .k_mac = hex(kCmdKMac),
                           .ssc = ssc_of("000000000000000000000000000000ba")};
  auto w = host_sm::wrap_command(cmd, hex(kCmdPlain));
  REQUIRE(w);
  CHECK(to_hex(*w) == to_hex(hex(kCmdProtected)));
  CHECK(cmd.ssc == ssc_of("000000000000000000000000000000bb"));

  host_sm::SessionKeys rsp{.k_enc = hex(kRspKEnc),
                           .k_mac = hex(kRspKMac),
                           .ssc = ssc_of("0000000000000000000000000000000b")};
  auto r = host_sm::unwrap_response(rsp, hex(kRspProtected));
  REQUIRE(r);
  CHECK(r->sw == sw::kOk);
  CHECK(r->data == hex(kRspPlain));
  CHECK(rsp.ssc == ssc_of("0000000000000000000000000000000c"));
}

TEST_CASE("commands of every case, short and extended, survive host wrap and card unwrap",
          "[sm][interop]") {
  for (auto size : {card_sm::AesKeySize::aes128, card_sm::AesKeySize::aes256}) {
    Session s = session(size);
    // Case 1.
    round_trip_command(s, hex("0022F3C1"));
    // Case 2 short: Le 01, 10, 00 (256).
    round_trip_command(s, hex("00B0000001"));
    round_trip_command(s, hex("00B0000010"));
    round_trip_command(s, hex("00B0000000"));
    // Case 3 short: 1, 15, 16, 17, 255 bytes.
    for (std::size_t n : {1, 15, 16, 17, 255})
      round_trip_command(s, apdu::encode_command(0x00, 0xD6, 0x00, 0x00, pattern(n)));
    // Case 4 short.
    round_trip_command(s, apdu::encode_command(0x00, 0x88, 0x00, 0x00, pattern(8), 256));
    round_trip_command(s, apdu::encode_command(0x01, 0xA4, 0x04, 0x00, pattern(16), 0x20));
    // Case 2 extended: Le 0000 (65536), 0100, 1234.
    round_trip_command(s, hex("00B00000000000"));
    round_trip_command(s, hex("00B00000000100"), false);  // Ne 256 re-encodes short
    round_trip_command(s, hex("00B00000001234"));
    // Case 3 extended: a big body, and a small body in the extended form.
    round_trip_command(s, apdu::encode_command(0x00, 0xD6, 0x00, 0x00, pattern(1000)));
    round_trip_command(s, hex("00D60000000005" + to_hex(pattern(5))), false);
    // Case 4 extended.
    round_trip_command(s, apdu::encode_command(0x00, 0x2A, 0x9E, 0x9A, pattern(300), 65536));
    round_trip_command(s, apdu::encode_command(0x00, 0x2A, 0x9E, 0x9A, pattern(20), 4096));
    // Proprietary class and a logical channel keep their other CLA bits.
    round_trip_command(s, apdu::encode_command(0x83, 0x20, 0x00, 0x81, pattern(6)));
  }
}

TEST_CASE("responses survive card wrap and host unwrap", "[sm][interop]") {
  Session s = session();
  for (std::size_t n : {0, 1, 15, 16, 17, 31, 32, 255, 256, 1000, 65000}) {
    round_trip_response(s, pattern(n, static_cast<std::uint8_t>(n)), sw::kOk);
  }
  round_trip_response(s, pattern(3), sw::kEndReached);
  round_trip_response(s, {}, sw::kFileNotFound);
  round_trip_response(s, {}, sw::verify_failed(2));
}

TEST_CASE("the SSC advances in step over many exchanges", "[sm][interop]") {
  Session s = session();
  std::mt19937 rng(20240531);
  for (int i = 0; i < 500; ++i) {
    const std::size_t n = rng() % 3 == 0 ? 0 : rng() % 600;
    const std::uint32_t ne = rng() % 3 == 0 ? 0 : 1 + rng() % 65536;
    const auto ins = static_cast<std::uint8_t>((rng() % 128) * 2);
    round_trip_command(s, apdu::encode_command(0x00, ins, 0x12, 0x34, pattern(n, ins), ne));
    round_trip_response(s, pattern(rng() % 400, ins), static_cast<sw::Sw>(0x9000));
  }
  host_sm::Ssc want{};
  want[14] = 1000 >> 8;
  want[15] = 1000 & 0xFF;
  CHECK(s.host.ssc == want);
}

TEST_CASE("replayed and reordered commands fail the MAC", "[sm][negative]") {
  Session s = session();
  auto first = host_sm::wrap_command(s.host, hex("00B0000010"));
  REQUIRE(first);
  REQUIRE(card_sm::unwrap_command(s.card, *first));
  round_trip_response(s, pattern(16), sw::kOk);

  SECTION("replay of an earlier protected APDU") {
    auto again = card_sm::unwrap_command(s.card, *first);
    REQUIRE_FALSE(again);
    CHECK(again.error() == sw::kSmDataIncorrect);
  }
  SECTION("two APDUs swapped") {
    auto a = host_sm::wrap_command(s.host, hex("00B0000010"));
    REQUIRE(a);
    host_sm::increment_ssc(s.host.ssc);  // the response the terminal would have read
    auto b = host_sm::wrap_command(s.host, hex("00B0001010"));
    REQUIRE(b);
    auto got = card_sm::unwrap_command(s.card, *b);
    REQUIRE_FALSE(got);
    CHECK(got.error() == sw::kSmDataIncorrect);
    // And the first one, delivered late, does not get through either.
    auto late = card_sm::unwrap_command(s.card, *a);
    REQUIRE_FALSE(late);
    CHECK(late.error() == sw::kSmDataIncorrect);
  }
  SECTION("a retry after a failure cannot succeed") {
    auto a = host_sm::wrap_command(s.host, apdu::encode_command(0, 0xD6, 0, 0, pattern(20)));
    REQUIRE(a);
    Bytes bad = *a;
    bad[8] ^= 0x01;  // inside DO'87'
    CHECK(card_sm::unwrap_command(s.card, bad).error() == sw::kSmDataIncorrect);
    CHECK(card_sm::unwrap_command(s.card, *a).error() == sw::kSmDataIncorrect);
  }
}

TEST_CASE("host refuses tampered and unprotected responses", "[sm][negative]") {
  Session s = session();
  REQUIRE(card_sm::unwrap_command(s.card, *host_sm::wrap_command(s.host, hex("00B0000020"))));
  const Bytes good = card_sm::wrap_response(s.card, pattern(32), sw::kOk).encode();
  // Layout: 87 31 01 <48 ct> 99 02 90 00 8E 08 <8 mac> 90 00
  auto unwrap = [&](ByteView raw) {
    host_sm::SessionKeys h = s.host;  // each attempt at the same counter
    return host_sm::unwrap_response(h, raw);
  };
  REQUIRE(unwrap(good));

  auto kind_of = [&](ByteView raw) {
    auto r = unwrap(raw);
    REQUIRE_FALSE(r);
    return r.error().kind;
  };
  using K = host_sm::Error::Kind;
  Bytes a = good;
  a[good.size() - 3] ^= 0x01;  // MAC
  CHECK(kind_of(a) == K::bad_mac);
  a = good;
  a[10] ^= 0x40;  // ciphertext
  CHECK(kind_of(a) == K::bad_mac);
  a = good;
  a[53] = 0x62;  // DO'99' status word
  CHECK(kind_of(a) == K::bad_mac);
  a = good;
  a[good.size() - 2] = 0x6A;  // outer status word differs from DO'99'
  CHECK(kind_of(a) == K::malformed);
  CHECK(kind_of(ByteView(good).first(good.size() - 5)) == K::malformed);  // truncated
  a = Bytes(good.begin() + 51, good.end());  // DO'87' dropped: MAC no longer covers it
  CHECK(kind_of(a) == K::bad_mac);
  a = Bytes(good.begin(), good.begin() + 51);  // only DO'87'
  a.push_back(0x90);
  a.push_back(0x00);
  CHECK(kind_of(a) == K::malformed);

  // The card refused our SM and answered in the clear: an SM error on the host side.
  for (sw::Sw plain : {sw::kSmDataMissing, sw::kSmDataIncorrect, sw::kOk}) {
    Bytes raw;
    append_be16(raw, plain);
    auto r = unwrap(raw);
    REQUIRE_FALSE(r);
    CHECK(r.error().kind == K::card_status);
    CHECK(r.error().sw == plain);
  }
  // A response protected at another counter value (a replayed earlier response).
  host_sm::SessionKeys later = s.host;
  host_sm::increment_ssc(later.ssc);
  host_sm::increment_ssc(later.ssc);
  auto replay = host_sm::unwrap_response(later, good);
  REQUIRE_FALSE(replay);
  CHECK(replay.error().kind == K::bad_mac);
}

TEST_CASE("host refuses to wrap what it cannot protect", "[sm][negative]") {
  Session s = session();
  using K = host_sm::Error::Kind;
  CHECK(host_sm::wrap_command(s.host, hex("0CB0000010")).error().kind == K::bad_command);
  CHECK(host_sm::wrap_command(s.host, hex("00B1000010")).error().kind == K::bad_command);
  CHECK(host_sm::wrap_command(s.host, hex("00B000")).error().kind == K::bad_command);
  CHECK(s.host.ssc == host_sm::Ssc{});  // nothing was sent, nothing consumed
  host_sm::SessionKeys bad{.k_enc = Bytes(15), .k_mac = Bytes(15), .ssc = {}};
  CHECK(host_sm::wrap_command(bad, hex("00D6000001AA")).error().kind == K::crypto);
}
