#include <catch2/catch.hpp>

#include <deque>
#include <random>

#include "common/bytes.hpp"
#include "common/iso7816/apdu.hpp"
#include "common/iso7816/status_words.hpp"

using namespace juki;
using apdu::Command;
using apdu::parse_command;

namespace {

Bytes hex(std::string_view text) {
  auto b = from_hex(text);
  REQUIRE(b);
  return *b;
}

Bytes seq(std::size_t n, std::uint8_t start = 0) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(start + i);
  return b;
}

Bytes concat(std::initializer_list<ByteView> parts) {
  Bytes out;
  for (ByteView p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// Command::data points into the parsed input, so inputs built inline must outlive the
// checks: this parses a copy kept until the test program ends.
Result<Command, sw::Sw> parse_owned(Bytes raw) {
  static std::deque<Bytes> kept;
  kept.push_back(std::move(raw));
  return parse_command(kept.back());
}

Bytes data_of(const Command& c) {
  return Bytes(c.data.begin(), c.data.end());
}

// Length the parsed fields take on the wire, in the form the parser says was used.
std::size_t wire_size(const Command& c) {
  std::size_t n = 4;
  if (!c.data.empty()) n += (c.extended ? 3 : 1) + c.data.size();
  if (c.has_le) n += c.extended ? (c.data.empty() ? 3 : 2) : 1;
  return n;
}

void check_wrong_length(const Bytes& raw) {
  INFO("APDU " << to_hex(raw, true));
  auto r = parse_command(raw);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error() == sw::kWrongLength);
}

}  // namespace

TEST_CASE("case 1: header only") {
  const Bytes raw = hex("00 A4 04 0C");
  auto r = parse_command(raw);
  REQUIRE(r);
  CHECK(r->cla == 0x00);
  CHECK(r->ins == 0xA4);
  CHECK(r->p1 == 0x04);
  CHECK(r->p2 == 0x0C);
  CHECK(r->p1p2() == 0x040C);
  CHECK(r->apdu_case == 1);
  CHECK(r->data.empty());
  CHECK_FALSE(r->has_le);
  CHECK(r->ne == 0);
  CHECK_FALSE(r->extended);
}

TEST_CASE("case 2 short: Le byte, 00 means 256") {
  auto r = parse_owned(hex("00 B0 81 00 10"));
  REQUIRE(r);
  CHECK(r->apdu_case == 2);
  CHECK(r->has_le);
  CHECK(r->ne == 0x10);
  CHECK(r->data.empty());
  CHECK_FALSE(r->extended);
  CHECK(r->p1p2() == 0x8100);

  auto max = parse_owned(hex("00 B0 00 00 00"));
  REQUIRE(max);
  CHECK(max->apdu_case == 2);
  CHECK(max->ne == 256);

  auto one = parse_owned(hex("00 B0 00 00 01"));
  REQUIRE(one);
  CHECK(one->ne == 1);
  auto ff = parse_owned(hex("00 B0 00 00 FF"));
  REQUIRE(ff);
  CHECK(ff->ne == 255);
}

TEST_CASE("case 3 short: Lc and data") {
  const Bytes raw = hex("00 A4 04 0C 05 D3 92 F0 00 01");
  auto r = parse_command(raw);
  REQUIRE(r);
  CHECK(r->apdu_case == 3);
  CHECK(data_of(*r) == hex("D3 92 F0 00 01"));
  CHECK_FALSE(r->has_le);
  CHECK(r->ne == 0);
  CHECK_FALSE(r->extended);
  // The data is a view into the input, not a copy.
  CHECK(r->data.data() == raw.data() + 5);

  SECTION("one data byte") {
    auto one = parse_owned(hex("00 20 00 80 01 AA"));
    REQUIRE(one);
    CHECK(one->apdu_case == 3);
    CHECK(data_of(*one) == hex("AA"));
  }
  SECTION("255 data bytes") {
    const Bytes d = seq(255);
    auto big = parse_owned(concat({hex("00 D6 00 00 FF"), d}));
    REQUIRE(big);
    CHECK(big->apdu_case == 3);
    CHECK(data_of(*big) == d);
  }
}

TEST_CASE("case 4 short: Lc, data and Le, Le 00 means 256") {
  auto r = parse_owned(hex("00 A4 04 00 02 3F 00 1C"));
  REQUIRE(r);
  CHECK(r->apdu_case == 4);
  CHECK(data_of(*r) == hex("3F 00"));
  CHECK(r->has_le);
  CHECK(r->ne == 0x1C);
  CHECK_FALSE(r->extended);

  auto max = parse_owned(hex("00 A4 04 00 02 3F 00 00"));
  REQUIRE(max);
  CHECK(max->apdu_case == 4);
  CHECK(max->ne == 256);

  const Bytes d = seq(255, 7);
  auto big = parse_owned(concat({hex("80 CA 00 00 FF"), d, hex("80")}));
  REQUIRE(big);
  CHECK(big->apdu_case == 4);
  CHECK(data_of(*big) == d);
  CHECK(big->ne == 0x80);
}

TEST_CASE("case 2 extended: 00 then two Le bytes, 0000 means 65536") {
  auto r = parse_owned(hex("00 B0 00 00 00 01 00"));
  REQUIRE(r);
  CHECK(r->apdu_case == 2);
  CHECK(r->extended);
  CHECK(r->has_le);
  CHECK(r->ne == 256);
  CHECK(r->data.empty());

  auto max = parse_owned(hex("00 B0 00 00 00 00 00"));
  REQUIRE(max);
  CHECK(max->apdu_case == 2);
  CHECK(max->extended);
  CHECK(max->ne == 65536);

  auto odd = parse_owned(hex("00 B0 00 00 00 12 34"));
  REQUIRE(odd);
  CHECK(odd->ne == 0x1234);
  auto top = parse_owned(hex("00 B0 00 00 00 FF FF"));
  REQUIRE(top);
  CHECK(top->ne == 0xFFFF);
}

TEST_CASE("case 3 extended: 00, two Lc bytes, data") {
  const Bytes d = seq(300);
  const Bytes raw = concat({hex("00 D6 00 00 00 01 2C"), d});
  auto r = parse_command(raw);
  REQUIRE(r);
  CHECK(r->apdu_case == 3);
  CHECK(r->extended);
  CHECK_FALSE(r->has_le);
  CHECK(r->ne == 0);
  CHECK(data_of(*r) == d);
  CHECK(r->data.data() == raw.data() + 7);

  SECTION("a short amount of data may still use the extended form") {
    auto small = parse_owned(hex("00 D6 00 00 00 00 02 AB CD"));
    REQUIRE(small);
    CHECK(small->apdu_case == 3);
    CHECK(small->extended);
    CHECK(data_of(*small) == hex("AB CD"));
  }
  SECTION("the largest Lc, 65535") {
    const Bytes huge = seq(65535, 1);
    auto r2 = parse_owned(concat({hex("00 D6 00 00 00 FF FF"), huge}));
    REQUIRE(r2);
    CHECK(r2->apdu_case == 3);
    CHECK(r2->data.size() == 65535);
    CHECK(data_of(*r2) == huge);
  }
}

TEST_CASE("case 4 extended: 00, Lc, data, two Le bytes, 0000 means 65536") {
  const Bytes d = seq(256);
  auto r = parse_owned(concat({hex("00 2A 9E 9A 00 01 00"), d, hex("02 00")}));
  REQUIRE(r);
  CHECK(r->apdu_case == 4);
  CHECK(r->extended);
  CHECK(r->has_le);
  CHECK(r->ne == 0x200);
  CHECK(data_of(*r) == d);

  auto max = parse_owned(hex("00 88 00 00 00 00 03 01 02 03 00 00"));
  REQUIRE(max);
  CHECK(max->apdu_case == 4);
  CHECK(max->ne == 65536);
  CHECK(data_of(*max) == hex("01 02 03"));
}

TEST_CASE("malformed lengths give 6700") {
  SECTION("fewer than 4 bytes") {
    check_wrong_length({});
    check_wrong_length(hex("00"));
    check_wrong_length(hex("00 A4"));
    check_wrong_length(hex("00 A4 04"));
  }
  SECTION("short Lc that does not match the body") {
    check_wrong_length(hex("00 A4 04 00 02 3F"));              // data shorter than Lc
    check_wrong_length(hex("00 A4 04 00 05 01 02 03"));        // data shorter than Lc
    check_wrong_length(hex("00 A4 04 00 02 3F 00 00 00"));     // two bytes after the data
    check_wrong_length(hex("00 A4 04 00 01 3F 00 00 00 00"));  // trailing garbage
    check_wrong_length(hex("00 A4 04 00 FF 01"));              // Lc 255, 1 byte
  }
  SECTION("extended form truncated") {
    check_wrong_length(hex("00 B0 00 00 00 01"));                         // 6 bytes: Le cut
    check_wrong_length(hex("00 D6 00 00 00 00 05 01"));                   // Lc 5, 1 data byte
    check_wrong_length(concat({hex("00 D6 00 00 00 01 00"), seq(255)}));  // one short
    check_wrong_length(concat({hex("00 D6 00 00 00 01 00"), seq(256), hex("00")}));  // half an Le
    check_wrong_length(concat({hex("00 D6 00 00 00 01 00"), seq(256), hex("00 00 00")}));
    check_wrong_length(hex("00 D6 00 00 00 FF FF 00"));  // Lc 65535 announced, 1 byte
  }
  SECTION("extended Lc = 0000") {
    check_wrong_length(hex("00 D6 00 00 00 00 00 01"));
    check_wrong_length(hex("00 D6 00 00 00 00 00 01 02"));  // would look like case 4E with Lc 0
    check_wrong_length(hex("00 D6 00 00 00 00 00 00 00"));
  }
  SECTION("short case 4 Le must be one byte") {
    check_wrong_length(hex("00 A4 04 00 02 3F 00 00 00"));
  }
}

TEST_CASE("every accepted APDU of length 0..600 accounts for exactly its bytes") {
  // Every accepted APDU must use exactly the bytes it was given, no more, no fewer.
  std::mt19937 rng(7);
  for (std::size_t len = 0; len <= 600; ++len) {
    for (int b4 : {0x00, 0x01, 0x02, 0x7F, 0x80, 0xFF, static_cast<int>(len & 0xFF),
                   static_cast<int>((len - 5) & 0xFF), static_cast<int>((len - 6) & 0xFF)}) {
      for (int ext : {0, 1, 2}) {
        Bytes raw(len);
        for (auto& b : raw) b = static_cast<std::uint8_t>(rng());
        if (len > 4) raw[4] = static_cast<std::uint8_t>(b4);
        // Make extended Lc match sometimes so cases 3E/4E are reached.
        if (len > 6 && ext > 0) {
          raw[4] = 0;
          store_be16(&raw[5], static_cast<std::uint16_t>(len - (ext == 1 ? 7 : 9)));
        }
        auto r = parse_command(raw);
        if (!r) {
          CHECK(r.error() == sw::kWrongLength);
          continue;
        }
        INFO("APDU " << to_hex(raw, true));
        CHECK(wire_size(*r) == raw.size());
        CHECK(r->has_le == (r->apdu_case == 2 || r->apdu_case == 4));
        CHECK(r->data.empty() == (r->apdu_case <= 2));
        CHECK(r->extended == (len > 6 && raw[4] == 0));
      }
    }
  }
}

TEST_CASE("encode_command chooses the short or extended form") {
  CHECK(apdu::encode_command(0x00, 0xA4, 0x04, 0x0C) == hex("00 A4 04 0C"));
  CHECK(apdu::encode_command(0x00, 0xB0, 0x00, 0x00, {}, 256) == hex("00 B0 00 00 00"));
  CHECK(apdu::encode_command(0x00, 0xB0, 0x00, 0x00, {}, 1) == hex("00 B0 00 00 01"));
  CHECK(apdu::encode_command(0x00, 0xA4, 0x00, 0x00, hex("3F 00")) == hex("00 A4 00 00 02 3F 00"));
  CHECK(apdu::encode_command(0x00, 0xA4, 0x00, 0x00, hex("3F 00"), 256) ==
        hex("00 A4 00 00 02 3F 00 00"));
  CHECK(apdu::encode_command(0x00, 0xB0, 0x00, 0x00, {}, 257) == hex("00 B0 00 00 00 01 01"));
  CHECK(apdu::encode_command(0x00, 0xB0, 0x00, 0x00, {}, 65536) == hex("00 B0 00 00 00 00 00"));
  CHECK(apdu::encode_command(0x00, 0xB0, 0x00, 0x00, {}, 65535) == hex("00 B0 00 00 00 FF FF"));

  // Small data with a large Ne: both fields go extended (no mixing of forms).
  CHECK(apdu::encode_command(0x00, 0x88, 0x00, 0x00, hex("01 02"), 300) ==
        hex("00 88 00 00 00 00 02 01 02 01 2C"));
  CHECK(apdu::encode_command(0x00, 0x88, 0x00, 0x00, hex("01 02"), 65536) ==
        hex("00 88 00 00 00 00 02 01 02 00 00"));

  const Bytes d256 = seq(256);
  CHECK(apdu::encode_command(0x00, 0xD6, 0x00, 0x00, d256) ==
        concat({hex("00 D6 00 00 00 01 00"), d256}));
  // Large data with a small Ne: Le goes extended too.
  CHECK(apdu::encode_command(0x00, 0xD6, 0x00, 0x00, d256, 16) ==
        concat({hex("00 D6 00 00 00 01 00"), d256, hex("00 10")}));
  const Bytes d255 = seq(255);
  CHECK(apdu::encode_command(0x00, 0xD6, 0x00, 0x00, d255, 256) ==
        concat({hex("00 D6 00 00 FF"), d255, hex("00")}));

  SECTION("out-of-range inputs") {
    CHECK(apdu::encode_command(0x00, 0xB0, 0x00, 0x00, {}, 70000) == hex("00 B0 00 00 00 00 00"));
    const Bytes too_big(65536, 0xAA);
    CHECK(apdu::encode_command(0x00, 0xD6, 0x00, 0x00, too_big).empty());
    const Bytes max(65535, 0xAA);
    CHECK(apdu::encode_command(0x00, 0xD6, 0x00, 0x00, max).size() == 7 + 65535);
  }
}

TEST_CASE("encode then parse gives the same command, over many random APDUs") {
  std::mt19937 rng(20240601);
  auto pick = [&](std::uint32_t lo, std::uint32_t hi) {
    return std::uniform_int_distribution<std::uint32_t>(lo, hi)(rng);
  };
  int seen[2][5] = {};
  for (int i = 0; i < 5000; ++i) {
    const auto cla = static_cast<std::uint8_t>(pick(0, 255));
    const auto ins = static_cast<std::uint8_t>(pick(0, 255));
    const auto p1 = static_cast<std::uint8_t>(pick(0, 255));
    const auto p2 = static_cast<std::uint8_t>(pick(0, 255));
    std::size_t nc = 0;
    switch (pick(0, 4)) {
      case 0:
        nc = 0;
        break;
      case 1:
        nc = pick(1, 255);
        break;
      case 2:
        nc = pick(256, 1024);
        break;
      case 3:
        nc = pick(0, 1) ? 255 : 256;
        break;
      default:
        nc = pick(0, 9) == 0 ? 65535 : pick(1, 4000);
        break;
    }
    std::uint32_t ne = 0;
    switch (pick(0, 4)) {
      case 0:
        ne = 0;
        break;
      case 1:
        ne = pick(1, 256);
        break;
      case 2:
        ne = pick(257, 65536);
        break;
      case 3:
        ne = pick(0, 1) ? 256 : 65536;
        break;
      default:
        ne = pick(0, 1) ? 257 : 255;
        break;
    }
    Bytes data(nc);
    for (auto& b : data) b = static_cast<std::uint8_t>(rng());

    const Bytes raw = apdu::encode_command(cla, ins, p1, p2, data, ne);
    auto r = parse_command(raw);
    INFO("nc " << nc << " ne " << ne);
    REQUIRE(r);
    CHECK(r->cla == cla);
    CHECK(r->ins == ins);
    CHECK(r->p1 == p1);
    CHECK(r->p2 == p2);
    CHECK(data_of(*r) == data);
    CHECK(r->ne == ne);
    CHECK(r->has_le == (ne != 0));
    const bool extended = nc > 255 || ne > 256;
    CHECK(r->extended == extended);
    const int expected_case = (nc == 0 ? 1 : 3) + (ne == 0 ? 0 : 1);
    CHECK(int{r->apdu_case} == expected_case);
    CHECK(wire_size(*r) == raw.size());
    ++seen[extended][expected_case];
  }
  // The generator really covered all eight forms.
  for (int e = 0; e < 2; ++e) {
    for (int c = 1; c <= 4; ++c) {
      if (e == 1 && c == 1) continue;  // case 1 has no extended form
      INFO("extended " << e << " case " << c);
      CHECK(seen[e][c] > 50);
    }
  }
}

TEST_CASE("random bytes never break the parser and re-encode consistently") {
  std::mt19937 rng(99);
  for (int i = 0; i < 20000; ++i) {
    Bytes raw(std::uniform_int_distribution<std::size_t>(0, 12)(rng));
    for (auto& b : raw) b = static_cast<std::uint8_t>(rng() % 4 == 0 ? 0 : rng());
    auto r = parse_command(raw);
    if (!r) {
      CHECK(r.error() == sw::kWrongLength);
      continue;
    }
    auto again = parse_owned(apdu::encode_command(r->cla, r->ins, r->p1, r->p2, r->data, r->ne));
    REQUIRE(again);
    CHECK(data_of(*again) == data_of(*r));
    CHECK(again->ne == r->ne);
    CHECK(again->apdu_case == r->apdu_case);
  }
}

TEST_CASE("Response encode and decode") {
  apdu::Response ok;
  CHECK(ok.encode() == hex("90 00"));

  apdu::Response r{hex("01 02 03"), sw::kEndReached};
  CHECK(r.encode() == hex("01 02 03 62 82"));

  auto d = apdu::Response::decode(hex("AA BB 6A 82"));
  REQUIRE(d);
  CHECK(d->data == hex("AA BB"));
  CHECK(d->sw == sw::kFileNotFound);

  auto only_sw = apdu::Response::decode(hex("63 C2"));
  REQUIRE(only_sw);
  CHECK(only_sw->data.empty());
  CHECK(only_sw->sw == sw::verify_failed(2));

  CHECK_FALSE(apdu::Response::decode({}).ok());
  CHECK_FALSE(apdu::Response::decode(hex("90")).ok());
  CHECK_FALSE(apdu::Response::decode(hex("90")).error().empty());

  const Bytes big = seq(1000);
  apdu::Response b{big, 0x6100};
  auto back = apdu::Response::decode(b.encode());
  REQUIRE(back);
  CHECK(back->data == big);
  CHECK(back->sw == 0x6100);
}

TEST_CASE("verify_failed clamps the counter to one nibble") {
  CHECK(sw::verify_failed(0) == 0x63C0);
  CHECK(sw::verify_failed(3) == 0x63C3);
  CHECK(sw::verify_failed(15) == 0x63CF);
  CHECK(sw::verify_failed(200) == 0x63CF);
}

TEST_CASE("status word meanings") {
  CHECK(sw::meaning(sw::kOk) == "success");
  CHECK(sw::meaning(0x63C2) == "verification failed, 2 tries left");
  CHECK(sw::meaning(0x63C1) == "verification failed, 1 try left");
  CHECK(sw::meaning(0x63C0) == "verification failed, no tries left");
  CHECK(sw::meaning(0x63CF) == "verification failed, 15 tries left");
  CHECK(sw::meaning(0x6110) == "16 more bytes available");
  CHECK(sw::meaning(0x6101) == "1 more byte available");
  CHECK(sw::meaning(0x6100) == "256 or more bytes available");
  CHECK(sw::meaning(0x6C20) == "wrong Le; 32 is the exact length");
  CHECK(sw::meaning(0x6C00) == "wrong Le; 256 is the exact length");
  CHECK(sw::meaning(sw::kWrongLength) == "wrong length");
  CHECK(sw::meaning(sw::kFileNotFound) == "file or application not found");
  CHECK(sw::meaning(sw::kSecurityStatusNotSatisfied) == "security status not satisfied");
  CHECK(sw::meaning(0x6A87) == "Nc inconsistent with parameters P1-P2");
  CHECK(sw::meaning(0x6883) == "last command of the chain expected");
  CHECK(sw::meaning(0x6281) == "part of returned data may be corrupted");
  CHECK(sw::meaning(0x6284) == "file control information not formatted according to ISO 7816-4");
  CHECK(sw::meaning(0x6300) == "verification failed");
  CHECK(sw::meaning(0x6400) == "execution error, state unchanged");
  CHECK(sw::meaning(sw::kMemoryFailure) == "memory failure");
  CHECK(sw::meaning(0x6800) == "functions in CLA not supported");

  SECTION("unknown words fall back to their ISO group") {
    CHECK(sw::meaning(0x62F0) == "warning, state unchanged");
    CHECK(sw::meaning(0x6312) == "warning, state changed");
    CHECK(sw::meaning(0x6455) == "execution error, state unchanged");
    CHECK(sw::meaning(0x6502) == "execution error, state changed");
    CHECK(sw::meaning(0x6799) == "wrong length");
    CHECK(sw::meaning(0x6899) == "functions in CLA not supported");
    CHECK(sw::meaning(0x69FF) == "command not allowed");
    CHECK(sw::meaning(0x6AFF) == "wrong parameters P1-P2");
    CHECK(sw::meaning(0x6B12) == "wrong parameters P1-P2");
    CHECK(sw::meaning(0x6D12) == "instruction code not supported or invalid");
    CHECK(sw::meaning(0x6E12) == "class not supported");
    CHECK(sw::meaning(0x6FAB) == "no precise diagnosis");
    CHECK(sw::meaning(0x9123) == "proprietary status (application specific)");
    CHECK(sw::meaning(0x1234) == "not an ISO 7816-4 status word");
  }

  SECTION("every status word the header names has its own meaning") {
    const sw::Sw named[] = {
        sw::kOk,
        sw::kEndReached,
        sw::kSelectedFileDeactivated,
        sw::kVerifyFailedBase,
        sw::kMemoryFailure,
        sw::kWrongLength,
        sw::kChannelNotSupported,
        sw::kSmNotSupported,
        sw::kChainingNotSupported,
        sw::kIncompatibleFileStructure,
        sw::kSecurityStatusNotSatisfied,
        sw::kAuthMethodBlocked,
        sw::kReferenceDataNotUsable,
        sw::kConditionsNotSatisfied,
        sw::kNoCurrentEf,
        sw::kSmDataMissing,
        sw::kSmDataIncorrect,
        sw::kWrongData,
        sw::kFunctionNotSupported,
        sw::kFileNotFound,
        sw::kRecordNotFound,
        sw::kNotEnoughMemory,
        sw::kIncorrectP1P2,
        sw::kReferenceNotFound,
        sw::kFileExists,
        sw::kDfNameExists,
        sw::kWrongP1P2,
        sw::kInsNotSupported,
        sw::kClaNotSupported,
        sw::kNoPreciseDiagnosis,
    };
    for (sw::Sw s : named) {
      const std::string m = sw::meaning(s);
      INFO("SW " << std::hex << s << ": " << m);
      CHECK_FALSE(m.empty());
      // Callers prepend the status word; the text does not repeat it.
      CHECK(m.find(to_hex(Bytes{static_cast<std::uint8_t>(s >> 8),
                                static_cast<std::uint8_t>(s)})) == std::string::npos);
      CHECK(m != "not an ISO 7816-4 status word");
    }
    // Named words within a group say more than the group's generic line.
    for (sw::Sw s : {sw::kEndReached, sw::kSelectedFileDeactivated, sw::kMemoryFailure,
                     sw::kChannelNotSupported, sw::kSmNotSupported, sw::kChainingNotSupported,
                     sw::kIncompatibleFileStructure, sw::kSecurityStatusNotSatisfied,
                     sw::kWrongData, sw::kFileNotFound, sw::kReferenceNotFound}) {
      INFO("SW " << std::hex << s);
      CHECK(sw::meaning(s) != sw::meaning(static_cast<sw::Sw>((s & 0xFF00) | 0xF7)));
    }
  }
}
