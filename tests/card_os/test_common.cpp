#include <catch2/catch.hpp>

#include "common/bytes.hpp"
#include "common/result.hpp"

using namespace juki;

TEST_CASE("hex round trip and rejection of malformed hex") {
  auto b = from_hex("00 a1 FF\t10");
  REQUIRE(b);
  CHECK(*b == Bytes{0x00, 0xA1, 0xFF, 0x10});
  CHECK(to_hex(*b) == "00A1FF10");
  CHECK(to_hex(*b, true) == "00 A1 FF 10");
  CHECK_FALSE(from_hex("0"));
  CHECK_FALSE(from_hex("0G"));
  CHECK_FALSE(from_hex("0 0"));
  CHECK(from_hex("")->empty());
}

TEST_CASE("big-endian helpers") {
  Bytes out;
  append_be32(out, 0x01020304);
  append_be16(out, 0xA0B0);
  CHECK(out == Bytes{1, 2, 3, 4, 0xA0, 0xB0});
  CHECK(load_be32(out.data()) == 0x01020304u);
  CHECK(load_be16(out.data() + 4) == 0xA0B0);
}

TEST_CASE("Result carries a value or an error") {
  Result<int, std::string> good = 7;
  Result<int, std::string> bad = unexpected(std::string("nope"));
  REQUIRE(good.ok());
  CHECK(*good == 7);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error() == "nope");
  Result<void, int> v;
  CHECK(v.ok());
  Result<void, int> e = unexpected(3);
  CHECK(e.error() == 3);
}
