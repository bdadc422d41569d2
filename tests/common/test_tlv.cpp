#include <catch2/catch.hpp>

#include <deque>
#include <random>

#include "common/bytes.hpp"
#include "common/iso7816/tlv.hpp"

using namespace juki;
using tlv::Error;

namespace {

// Decoded TLVs point into their input, so inline inputs are kept until the program ends.
const Bytes& hex(std::string_view text) {
  static std::deque<Bytes> kept;
  auto b = from_hex(text);
  REQUIRE(b);
  kept.push_back(std::move(*b));
  return kept.back();
}

Bytes value_of(const tlv::Tlv& t) {
  return Bytes(t.value.begin(), t.value.end());
}

Bytes concat(std::initializer_list<ByteView> parts) {
  Bytes out;
  for (ByteView p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

void check_error(const Bytes& in, Error expected) {
  INFO("TLV " << to_hex(in, true));
  auto r = tlv::decode_one(in);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error() == expected);
  CHECK_FALSE(tlv::find(in, 0x80));
  // A sequence holding the bad object fails the same way (an empty sequence is fine).
  if (in.empty()) return;
  auto all = tlv::decode_all(in);
  REQUIRE_FALSE(all.ok());
  CHECK(all.error() == expected);
}

}  // namespace

TEST_CASE("one-byte tags with short lengths") {
  const Bytes in = hex("80 02 01 02 FF FF");  // trailing bytes are not decode_one's concern
  auto t = tlv::decode_one(in);
  REQUIRE(t);
  CHECK(t->tag == 0x80);
  CHECK(value_of(*t) == hex("01 02"));
  CHECK(t->encoded_size == 4);
  CHECK(t->value.data() == in.data() + 2);
  CHECK_FALSE(t->constructed());

  auto empty = tlv::decode_one(hex("84 00"));
  REQUIRE(empty);
  CHECK(empty->tag == 0x84);
  CHECK(empty->value.empty());
  CHECK(empty->encoded_size == 2);

  Bytes max_short = hex("53 7F");
  max_short.resize(2 + 0x7F, 0x5A);
  auto m = tlv::decode_one(max_short);
  REQUIRE(m);
  CHECK(m->value.size() == 0x7F);
  CHECK(m->encoded_size == 2 + 0x7F);
}

TEST_CASE("multi-byte tags") {
  auto t2 = tlv::decode_one(hex("5F 24 03 25 12 31"));
  REQUIRE(t2);
  CHECK(t2->tag == 0x5F24);
  CHECK(value_of(*t2) == hex("25 12 31"));
  CHECK(t2->encoded_size == 6);

  auto t9f = tlv::decode_one(hex("9F 7F 01 AA"));
  REQUIRE(t9f);
  CHECK(t9f->tag == 0x9F7F);

  auto t3 = tlv::decode_one(hex("DF 81 01 02 AB CD"));
  REQUIRE(t3);
  CHECK(t3->tag == 0xDF8101);
  CHECK(value_of(*t3) == hex("AB CD"));
  CHECK(t3->encoded_size == 6);

  auto t3b = tlv::decode_one(hex("DF 20 00"));
  REQUIRE(t3b);
  CHECK(t3b->tag == 0xDF20);  // bit 8 clear in the second byte ends the tag

  auto bf = tlv::decode_one(hex("BF 0C 00"));
  REQUIRE(bf);
  CHECK(bf->tag == 0xBF0C);
}

TEST_CASE("constructed is bit 6 of the first tag byte") {
  auto tag_constructed = [](std::uint32_t tag) {
    tlv::Tlv t;
    t.tag = tag;
    return t.constructed();
  };
  CHECK(tag_constructed(0x62));
  CHECK(tag_constructed(0x6F));
  CHECK(tag_constructed(0xA5));
  CHECK(tag_constructed(0x7F21));
  CHECK(tag_constructed(0xBF0C));
  CHECK(tag_constructed(0x7F8101));
  CHECK_FALSE(tag_constructed(0x80));
  CHECK_FALSE(tag_constructed(0x5F24));
  CHECK_FALSE(tag_constructed(0x9F7F));
  CHECK_FALSE(tag_constructed(0xDF2001));
  // Second-byte bits do not count.
  CHECK_FALSE(tag_constructed(0x5F20));
}

TEST_CASE("each length form") {
  auto check_form = [](const Bytes& header, std::size_t length) {
    Bytes in = header;
    in.resize(header.size() + length, 0xC3);
    INFO("header " << to_hex(header, true));
    auto t = tlv::decode_one(in);
    REQUIRE(t);
    CHECK(t->value.size() == length);
    CHECK(t->encoded_size == in.size());
    CHECK(t->value.data() == in.data() + header.size());
  };
  check_form(hex("04 00"), 0);
  check_form(hex("04 01"), 1);
  check_form(hex("04 7F"), 0x7F);
  check_form(hex("04 81 80"), 0x80);
  check_form(hex("04 81 FF"), 0xFF);
  check_form(hex("04 82 01 00"), 0x100);
  check_form(hex("04 82 FF FF"), 0xFFFF);
  check_form(hex("04 83 01 00 00"), 0x10000);
  check_form(hex("04 83 01 23 45"), 0x012345);
  check_form(hex("5F 2B 82 01 2C"), 300);
  check_form(hex("DF 81 01 83 01 00 01"), 0x10001);

  SECTION("non-minimal long forms are accepted") {
    check_form(hex("04 81 05"), 5);
    check_form(hex("04 82 00 05"), 5);
    check_form(hex("04 83 00 00 00"), 0);
  }
}

TEST_CASE("decode errors") {
  SECTION("truncated") {
    check_error({}, Error::truncated);
    check_error(hex("80"), Error::truncated);           // no length
    check_error(hex("5F"), Error::truncated);           // inside a tag
    check_error(hex("DF 81"), Error::truncated);        // inside a three-byte tag
    check_error(hex("5F 24"), Error::truncated);        // no length after a full tag
    check_error(hex("80 81"), Error::truncated);        // 81 without its byte
    check_error(hex("80 82 01"), Error::truncated);     // 82 with one byte
    check_error(hex("80 83 01 00"), Error::truncated);  // 83 with two bytes
    check_error(hex("80 02 01"), Error::truncated);     // value one byte short
    check_error(hex("80 01"), Error::truncated);
    check_error(hex("80 81 80 00"), Error::truncated);
    check_error(hex("80 83 FF FF FF 00"), Error::truncated);
    Bytes almost = hex("80 82 01 00");
    almost.resize(4 + 0xFF);
    check_error(almost, Error::truncated);
  }
  SECTION("bad tag") {
    check_error(hex("00 01 AA"), Error::bad_tag);
    check_error(hex("FF 01 AA"), Error::bad_tag);
    check_error(hex("00"), Error::bad_tag);
    check_error(hex("FF"), Error::bad_tag);
    check_error(hex("1F 81 82 01 01 AA"), Error::bad_tag);  // four tag bytes
    check_error(hex("DF 80 80 00"), Error::bad_tag);
    check_error(hex("DF 81 82"), Error::bad_tag);  // too long whatever would follow
  }
  SECTION("bad length") {
    check_error(hex("80 80 01 02 00 00"), Error::bad_length);  // indefinite
    check_error(hex("80 84 00 00 00 01 AA"), Error::bad_length);
    check_error(hex("80 85 00 00 00 00 01 AA"), Error::bad_length);
    check_error(hex("80 FF"), Error::bad_length);
    check_error(hex("5F 24 80 00 00"), Error::bad_length);
  }
}

TEST_CASE("decode_all takes a whole sequence") {
  const Bytes in = hex("80 01 01 5F 24 02 AA BB A5 03 81 01 FF DF 20 00");
  auto all = tlv::decode_all(in);
  REQUIRE(all);
  REQUIRE(all->size() == 4);
  CHECK((*all)[0].tag == 0x80);
  CHECK(value_of((*all)[0]) == hex("01"));
  CHECK((*all)[1].tag == 0x5F24);
  CHECK(value_of((*all)[1]) == hex("AA BB"));
  CHECK((*all)[2].tag == 0xA5);
  CHECK((*all)[2].constructed());
  CHECK(value_of((*all)[2]) == hex("81 01 FF"));
  CHECK((*all)[3].tag == 0xDF20);
  CHECK((*all)[3].value.empty());

  auto nested = tlv::decode_all((*all)[2].value);
  REQUIRE(nested);
  REQUIRE(nested->size() == 1);
  CHECK((*nested)[0].tag == 0x81);

  auto none = tlv::decode_all({});
  REQUIRE(none);
  CHECK(none->empty());

  SECTION("anything left over is an error") {
    auto trailing = tlv::decode_all(concat({in, hex("80")}));
    REQUIRE_FALSE(trailing);
    CHECK(trailing.error() == Error::truncated);
    auto padding = tlv::decode_all(concat({in, hex("00 00")}));
    REQUIRE_FALSE(padding);
    CHECK(padding.error() == Error::bad_tag);
    auto ff = tlv::decode_all(concat({in, hex("FF")}));
    REQUIRE_FALSE(ff);
    CHECK(ff.error() == Error::bad_tag);
    auto cut = tlv::decode_all(hex("80 01 01 81 03 01 02"));
    REQUIRE_FALSE(cut);
    CHECK(cut.error() == Error::truncated);
  }
}

TEST_CASE("find looks at the top level only") {
  const Bytes fcp_body = hex("82 01 01 83 02 2F 01 A5 03 83 01 77 80 02 00 10 83 01 99");
  auto f = tlv::find(fcp_body, 0x83);
  REQUIRE(f);
  CHECK(value_of(*f) == hex("2F 01"));  // the first match, not the nested one nor the later one
  auto size = tlv::find(fcp_body, 0x80);
  REQUIRE(size);
  CHECK(value_of(*size) == hex("00 10"));
  auto a5 = tlv::find(fcp_body, 0xA5);
  REQUIRE(a5);
  CHECK(a5->encoded_size == 5);
  CHECK_FALSE(tlv::find(fcp_body, 0x88));
  CHECK_FALSE(tlv::find({}, 0x80));
  // A tag that matches only in its low byte is another tag.
  CHECK_FALSE(tlv::find(hex("5F 24 00"), 0x24));
  CHECK(tlv::find(hex("5F 24 00"), 0x5F24));

  SECTION("nullopt on malformed input, even after a match") {
    CHECK_FALSE(tlv::find(hex("83 02 2F 01 80 05 00"), 0x83));
    CHECK_FALSE(tlv::find(hex("83 02 2F"), 0x83));
    CHECK_FALSE(tlv::find(hex("83 80 2F 01 00 00"), 0x83));
    CHECK_FALSE(tlv::find(hex("83 01 2F 00"), 0x83));
  }
}

TEST_CASE("append_tag and append_length use minimal encodings") {
  auto tag = [](std::uint32_t t) {
    Bytes out;
    tlv::append_tag(out, t);
    return out;
  };
  CHECK(tag(0x62) == hex("62"));
  CHECK(tag(0x5F24) == hex("5F 24"));
  CHECK(tag(0xDF2001) == hex("DF 20 01"));

  auto len = [](std::size_t n) {
    Bytes out;
    tlv::append_length(out, n);
    return out;
  };
  CHECK(len(0) == hex("00"));
  CHECK(len(0x7F) == hex("7F"));
  CHECK(len(0x80) == hex("81 80"));
  CHECK(len(0xFF) == hex("81 FF"));
  CHECK(len(0x100) == hex("82 01 00"));
  CHECK(len(0xFFFF) == hex("82 FF FF"));
  CHECK(len(0x10000) == hex("83 01 00 00"));
  CHECK(len(0xFFFFFF) == hex("83 FF FF FF"));
  CHECK(len(0x1000000) == hex("84 01 00 00 00"));  // encodable, but decode_one refuses it

  Bytes out = hex("AA");
  tlv::append(out, 0x9F7F, hex("01 02"));
  CHECK(out == hex("AA 9F 7F 02 01 02"));  // appends, keeps what was there
}

TEST_CASE("Builder builds nested structures") {
  tlv::Builder sa;
  sa.add_u8(0x80, 0x01).add_u8(0x83, 0x77);

  tlv::Builder fcp;
  fcp.add_u8(0x82, 0x01)
      .add_u16(0x83, 0x2F01)
      .add_u16(0x80, 0x0100)
      .add(0x84, hex("D3 92 F0 00 01"))
      .add_raw(sa.wrap(0xA5))
      .add(0x5F24, {});
  const Bytes wrapped = fcp.wrap(0x62);
  CHECK(wrapped == hex("62 1D 82 01 01 83 02 2F 01 80 02 01 00 84 05 D3 92 F0 00 01"
                       " A5 06 80 01 01 83 01 77 5F 24 00"));
  CHECK(fcp.bytes().size() + 2 == wrapped.size());

  auto outer = tlv::decode_all(wrapped);
  REQUIRE(outer);
  REQUIRE(outer->size() == 1);
  CHECK((*outer)[0].tag == 0x62);
  CHECK((*outer)[0].constructed());
  auto fid = tlv::find((*outer)[0].value, 0x83);
  REQUIRE(fid);
  CHECK(value_of(*fid) == hex("2F 01"));
  auto inner = tlv::find((*outer)[0].value, 0xA5);
  REQUIRE(inner);
  auto am = tlv::find(inner->value, 0x83);
  REQUIRE(am);
  CHECK(value_of(*am) == hex("77"));

  SECTION("wrap picks the long length form when the content needs it") {
    tlv::Builder big;
    big.add(0x53, Bytes(200, 0x11));
    const Bytes w = big.wrap(0x70);
    CHECK(w.size() == 1 + 2 + 3 + 200);
    CHECK(Bytes(w.begin(), w.begin() + 6) == hex("70 81 CB 53 81 C8"));
    auto t = tlv::decode_one(w);
    REQUIRE(t);
    CHECK(t->encoded_size == w.size());
  }
  SECTION("an empty builder wraps to an empty constructed object") {
    tlv::Builder none;
    CHECK(none.bytes().empty());
    CHECK(none.wrap(0x62) == hex("62 00"));
  }
}

TEST_CASE("append then decode round trips random tags and lengths") {
  std::mt19937 rng(4242);
  auto pick = [&](std::uint32_t lo, std::uint32_t hi) {
    return std::uniform_int_distribution<std::uint32_t>(lo, hi)(rng);
  };
  auto random_tag = [&]() -> std::uint32_t {
    switch (pick(0, 2)) {
      case 0: {
        std::uint32_t b;
        do b = pick(1, 0xFE);
        while ((b & 0x1F) == 0x1F);
        return b;
      }
      case 1:
        return (pick(0, 6) << 5 | 0x1F) << 8 | pick(0, 0x7F);
      default:
        return ((pick(0, 6) << 5 | 0x1F) << 16) | (pick(0x80, 0xFF) << 8) | pick(0, 0x7F);
    }
  };
  for (int i = 0; i < 3000; ++i) {
    const std::uint32_t tag = random_tag();
    std::size_t n = 0;
    switch (pick(0, 3)) {
      case 0:
        n = pick(0, 0x7F);
        break;
      case 1:
        n = pick(0x80, 0xFF);
        break;
      case 2:
        n = pick(0x100, 0x3000);
        break;
      default:
        n = pick(0, 9) == 0 ? 0x10000 + pick(0, 300) : pick(0, 3);
        break;
    }
    Bytes value(n);
    for (auto& b : value) b = static_cast<std::uint8_t>(rng());
    Bytes out;
    tlv::append(out, tag, value);
    INFO("tag " << std::hex << tag << " length " << std::dec << n);
    auto t = tlv::decode_one(out);
    REQUIRE(t);
    CHECK(t->tag == tag);
    CHECK(value_of(*t) == value);
    CHECK(t->encoded_size == out.size());
    auto found = tlv::find(out, tag);
    REQUIRE(found);
    CHECK(found->encoded_size == out.size());
  }
}

TEST_CASE("random bytes never break the decoder") {
  std::mt19937 rng(17);
  for (int i = 0; i < 20000; ++i) {
    Bytes in(std::uniform_int_distribution<std::size_t>(0, 16)(rng));
    for (auto& b : in) b = static_cast<std::uint8_t>(rng() % 3 == 0 ? rng() % 8 : rng());
    auto all = tlv::decode_all(in);
    if (!all) continue;
    std::size_t total = 0;
    for (const auto& t : *all) {
      total += t.encoded_size;
      Bytes again;
      tlv::append(again, t.tag, t.value);
      auto back = tlv::decode_one(again);
      REQUIRE(back);
      CHECK(back->tag == t.tag);
      CHECK(value_of(*back) == value_of(t));
    }
    CHECK(total == in.size());
  }
}
