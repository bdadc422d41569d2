// Command processing against specs/card-os.md sections 1-3: the answer to
// reset, the order of checks, class and instruction bytes, APDU cases and
// lengths, logical channels.
#include <vector>

#include "support/test_card.hpp"

using namespace juki;
using juki::test::ascii;
using juki::test::hex;
using juki::test::kSelectDemo;
using juki::test::TestCard;

namespace {

// Table 2.2: INS, proprietary class, accepted cases (bit n = case n).
struct CommandCases {
  std::uint8_t ins;
  bool proprietary;
  std::uint8_t cases;
};
constexpr std::uint8_t C1 = 2, C2 = 4, C3 = 8, C4 = 16;
constexpr CommandCases kTable[] = {
    {0xA4, false, C1 | C2 | C3 | C4},
    {0xB0, false, C2},
    {0xD6, false, C3},
    {0xB2, false, C2},
    {0xDC, false, C3},
    {0xE2, false, C3},
    {0x20, false, C1 | C3},
    {0x24, false, C3},
    {0x2C, false, C1 | C3},
    {0x84, false, C2},
    {0x82, false, C3},
    {0x2A, false, C3},
    {0x86, false, C4},
    {0x46, false, C2},
    {0x70, false, C1 | C2},
    {0xE0, false, C3},
    {0xE4, false, C1 | C3},
    {0x04, false, C1 | C3},
    {0x44, false, C1 | C3},
    {0xCA, false, C2},
    {0xDA, false, C3},
    {0xFE, false, C1},
    {0xF0, true, C1},
};

const CommandCases* in_table(std::uint8_t ins) {
  for (const CommandCases& d : kTable)
    if (d.ins == ins) return &d;
  return nullptr;
}

// Section 2.1 step 2, for a SELECT of the MF with only channel 0 open.
sw::Sw expected_for_class(std::uint8_t cla) {
  if (cla == 0xFF || (cla >= 0x20 && cla <= 0x3F) || cla >= 0xA0) return 0x6E00;
  if (cla >= 0x40 && cla <= 0x7F) return 0x6881;
  if (cla & 0x10) return 0x6884;
  if (cla & 0x0C) return 0x6882;
  if (cla & 0x80) return 0x6E00;  // an ISO command with a proprietary class
  return (cla & 0x03) == 0 ? 0x9000 : 0x6881;
}

}  // namespace

// ---------------------------------------------------------------- 1. ATR

TEST_CASE("ATR: exact bytes, TCK and the life-cycle byte in every state", "[apdu][atr]") {
  const std::string head = "3B8C8131FE458073B6215B544A554B4981";
  auto check = [&](TestCard& c, const std::string& lcs_tck) {
    Bytes atr = c.card().atr();
    CHECK(to_hex(atr) == head + lcs_tck);
    std::uint8_t x = 0;
    for (std::size_t i = 1; i < atr.size(); ++i) x ^= atr[i];
    CHECK(x == 0);  // TCK makes T0..TCK XOR to zero
    CHECK(c.transport().atr() == atr);
  };
  TestCard blank;
  check(blank, "0171");
  auto perso = TestCard::personalizing();
  check(*perso, "0373");
  auto issued = TestCard::issued();
  check(*issued, "0474");
  auto active = TestCard::active();
  check(*active, "0575");
  REQUIRE(active->authenticate(test::kAdminKey, 0x02) == 0x9000);
  active->expect("00FE0000", 0x9000);
  check(*active, "0C7C");
  active->power_cycle();
  check(*active, "0C7C");
}

// ---------------------------------------------------------------- 2.1 order of checks

TEST_CASE("order of checks: length, class, instruction, life cycle, case, channel",
          "[apdu][order]") {
  TestCard blank;  // transport-locked: almost nothing is admitted
  // 1 before 2: a malformed APDU with an unsupported class.
  blank.expect("FFA4", 0x6700);
  blank.expect("FFA4000C033F00", 0x6700);
  // 2 before 3.
  blank.expect("FFFF0000", 0x6E00);
  blank.expect("10FF0000", 0x6884);
  blank.expect("0CFF0000", 0x6882);
  blank.expect("41FF0000", 0x6881);
  // 3 before 4.
  blank.expect("00FF0000", 0x6D00);
  blank.expect("80A4000C023F00", 0x6E00);
  blank.expect("00F00004", 0x6E00);
  // 4 before 5 and 6: READ BINARY is not admitted, whatever its case or channel.
  blank.expect("00B00000", 0x6985);
  blank.expect("01B0000001", 0x6985);

  auto c = TestCard::active();
  // 5 before 6: a wrong case on a closed channel.
  c->expect("01B00000", 0x6700);
  // 6 before 7: a closed channel, even for a command that would fail its own checks.
  c->expect("01B0000001", 0x6881);
  c->expect("01A4000C021234", 0x6881);
  c->expect("01A4FF0C", 0x6881);
  // 7: the command's own checks.
  c->expect("00A4FF0C", 0x6A86);
}

TEST_CASE("class byte: every value of CLA", "[apdu][cla]") {
  auto c = TestCard::active();
  for (int cla = 0; cla < 256; ++cla) {
    Bytes cmd = apdu::encode_command(static_cast<std::uint8_t>(cla), 0xA4, 0x00, 0x0C, hex("3F00"));
    INFO("CLA " << to_hex(Bytes{static_cast<std::uint8_t>(cla)}));
    CHECK(c->sw(cmd) == expected_for_class(static_cast<std::uint8_t>(cla)));
  }
  // With channels 1..3 open, 01..03 reach them.
  for (int i = 1; i <= 3; ++i) c->expect("0070000001", 0x9000);
  for (std::uint8_t cla : {0x01, 0x02, 0x03}) {
    INFO("CLA " << int(cla));
    CHECK(c->sw(apdu::encode_command(cla, 0xA4, 0x00, 0x0C, hex("3F00"))) == 0x9000);
  }
  // Still refused on open channels: proprietary class for an ISO command, SM, chaining.
  c->expect("81A4000C023F00", 0x6E00);
  c->expect("05A4000C023F00", 0x6882);
  c->expect("11A4000C023F00", 0x6884);
}

TEST_CASE("class byte: the proprietary SET STATUS only with CLA 8X", "[apdu][cla]") {
  auto c = TestCard::personalizing();
  c->card().reset();  // no personalization rights: SET STATUS gets as far as 6982
  c->expect("80F00004", 0x6982);
  c->expect("00F00004", 0x6E00);
  c->expect("01F00004", 0x6E00);
  c->expect("84F00004", 0x6882);
  c->expect("88F00004", 0x6882);
  c->expect("90F00004", 0x6884);
  c->expect("81F00004", 0x6881);
  c->expect("C0F00004", 0x6E00);
}

TEST_CASE("instruction byte: unknown INS 6D00, ISO/proprietary class mix 6E00", "[apdu][ins]") {
  auto c = TestCard::active();
  for (int ins = 0; ins < 256; ++ins) {
    const auto i = static_cast<std::uint8_t>(ins);
    const CommandCases* d = in_table(i);
    INFO("INS " << to_hex(Bytes{i}));
    const sw::Sw iso = c->sw(Bytes{0x00, i, 0x00, 0x00});
    const sw::Sw prop = c->sw(Bytes{0x80, i, 0x00, 0x00});
    if (d == nullptr) {
      CHECK(iso == 0x6D00);
      CHECK(prop == 0x6D00);
    } else if (d->proprietary) {
      CHECK(iso == 0x6E00);
    } else {
      CHECK(prop == 0x6E00);
    }
  }
}

TEST_CASE("APDU case: every command refuses the cases it does not take with 6700", "[apdu][case]") {
  // Personalization admits every command, so step 5 is reached by all of them.
  auto c = TestCard::personalizing();
  struct Form {
    int apdu_case;
    const char* body;  // after CLA INS P1 P2
  };
  const Form forms[] = {
      {1, ""},           {2, "10"},       {2, "000010"},         {3, "02AABB"},
      {3, "000002AABB"}, {4, "02AABB10"}, {4, "000002AABB0010"},
  };
  for (const CommandCases& d : kTable) {
    for (const Form& f : forms) {
      if (d.cases & (1u << f.apdu_case)) continue;
      Bytes cmd = {static_cast<std::uint8_t>(d.proprietary ? 0x80 : 0x00), d.ins, 0x00, 0x00};
      Bytes body = hex(f.body);
      cmd.insert(cmd.end(), body.begin(), body.end());
      INFO("command " << to_hex(cmd) << " (case " << f.apdu_case << ")");
      CHECK(c->sw(cmd) == 0x6700);
    }
  }
  CHECK(c->card().life_cycle() == card_os::LifeCycle::personalization);
}

TEST_CASE("length structure: malformed APDUs answer 6700", "[apdu][length]") {
  auto c = TestCard::active();
  c->expect(test::kSelectDemo, 0x9000);
  REQUIRE(c->sw(hex("0020008104 31323334")) == 0x9000);
  c->expect("00A4020C025001", 0x9000);
  const char* bad[] = {
      "",                          // nothing
      "00",                        // shorter than a header
      "00D6",                      //
      "00D600",                    //
      "00D6000003AABB",            // Lc 3, 2 bytes
      "00D6000002AABB0000",        // two bytes after the data
      "00D6000002AABBCCDD",        // three bytes after the data
      "00B000000000",              // extended marker, Le truncated
      "00D60000000000AA",          // extended Lc 0000 with data
      "00D600000000",              // extended Lc truncated
      "00D60000000003AABB",        // extended Lc 3, 2 bytes
      "00D60000000002AABB10",      // extended case 4 with a short Le
      "00D60000000002AABB001000",  // extended case 4, a byte too many
  };
  for (const char* h : bad) {
    INFO("APDU " << h);
    CHECK(c->sw(hex(h)) == 0x6700);
  }
  // Nothing of the malformed UPDATE BINARYs was written.
  CHECK(c->expect("00B0000002", 0x9000) == hex("4A75"));
}

TEST_CASE("length structure: Le 00 is 256, extended Le 0000 is 65536", "[apdu][length]") {
  auto c = TestCard::active();
  c->expect(test::kSelectDemo, 0x9000);
  c->expect("00A4020C025001", 0x9000);  // 256 bytes
  CHECK(c->expect("00B0000000", 0x9000).size() == 256);
  CHECK(c->expect("00B00000000000", 0x6282).size() == 256);  // extended Le 0000: 65536
  CHECK(c->expect("00B00000000100", 0x9000).size() == 256);  // extended Le 0100
  CHECK(c->expect("00B0000100", 0x6282).size() == 255);
  CHECK(c->expect("00B000000000FF", 0x9000).size() == 255);  // extended case 2
  // Extended case 3 and 4 are understood like the short ones.
  c->expect("00D60000000002 4A75", 0x6982);  // AR(update): PIN 81, not verified
  Bytes fcp = c->expect("00A40004000002 5001 0000", 0x9000);
  REQUIRE(fcp.size() > 2);
  CHECK(fcp[0] == 0x62);
}

// ---------------------------------------------------------------- 3. logical channels

TEST_CASE("MANAGE CHANNEL: open, close and every error", "[apdu][channel]") {
  auto c = TestCard::active();
  CHECK(c->expect("0070000001", 0x9000) == Bytes{0x01});  // the card assigns
  c->expect("00700002", 0x9000);                          // the host assigns
  CHECK(c->expect("0070000000", 0x9000) == Bytes{0x03});  // lowest free; Le 00
  c->expect("0070000001", 0x6A81);                        // none free
  c->expect("00700002", 0x6985);                          // already open
  c->expect("00700001", 0x6985);
  c->expect("00708002", 0x9000);  // close channel 2 from channel 0
  c->expect("00708002", 0x6881);  // not open
  c->expect("02A4000C023F00", 0x6881);
  CHECK(c->expect("0170000001", 0x9000) == Bytes{0x02});  // from channel 1: lowest free
  c->expect("03708000", 0x9000);                          // close the CLA's channel
  c->expect("03A4000C023F00", 0x6881);
  c->expect("03708000", 0x6881);  // a command on a closed channel
  c->expect("0370000001", 0x6881);

  c->expect("00708000", 0x6A86);  // channel 0 cannot be closed
  c->expect("00700004", 0x6881);  // P2 above 3
  c->expect("00708004", 0x6881);
  c->expect("007000FF", 0x6881);
  c->expect("00700100", 0x6A86);  // other P1
  c->expect("00704000", 0x6A86);
  c->expect("0070FF00", 0x6A86);
  // Wrong case for the P1-P2 combination.
  c->expect("00700000", 0x6700);      // card-assigned open needs Le
  c->expect("0070000301", 0x6700);    // host-assigned open takes no Le
  c->expect("0070800101", 0x6700);    // close takes no Le
  c->expect("0070000001AA", 0x6700);  // case 3
  c->expect("00A4000C023F00", 0x9000);

  // The channels are still as the test left them: 0, 1, 2 open, 3 closed.
  c->expect("01A4000C023F00", 0x9000);
  c->expect("02A4000C023F00", 0x9000);
  c->expect("03A4000C023F00", 0x6881);
  // Reset closes every channel but 0.
  c->card().reset();
  c->expect("01A4000C023F00", 0x6881);
  c->expect("02A4000C023F00", 0x6881);
  CHECK(c->expect("0070000001", 0x9000) == Bytes{0x01});
}

TEST_CASE("logical channels: each has its own selection and current record", "[apdu][channel]") {
  auto c = TestCard::active();
  c->expect("00700001", 0x9000);
  c->expect(test::kSelectDemo, 0x9000);
  c->expect("00A4020C025001", 0x9000);
  c->expect("01A4040C09F04A554B4944454D4F", 0x9000);
  c->expect("01A4020C025004", 0x9000);
  CHECK(c->expect("00B0000004", 0x9000) == ascii("Juki"));
  c->expect("01B0000004", 0x6981);  // channel 1 is on the record EF
  CHECK(c->expect("01B2010400", 0x9000) == ascii("issued"));
  c->expect("00B2010400", 0x6981);
  // Current record: channel 1 has record 1; channel 0, on 5004 now, has none.
  c->expect("00A4020C025004", 0x9000);
  c->expect("00B2000400", 0x6A83);
  CHECK(c->expect("01B2000400", 0x9000) == ascii("issued"));
}

TEST_CASE("logical channels: a PIN verified on one channel does not count on another",
          "[apdu][channel][security]") {
  auto c = TestCard::active();
  c->expect("00700001", 0x9000);
  c->expect(test::kSelectDemo, 0x9000);
  c->expect("01A4040C09F04A554B4944454D4F", 0x9000);
  c->expect("00A4020C025002", 0x9000);  // read: PIN 81
  c->expect("01A4020C025002", 0x9000);

  SECTION("verified on channel 0") {
    c->expect("0020008104 31323334", 0x9000);
    CHECK(c->expect("00B0000008", 0x9000) == ascii("resident"));
    c->expect("01B0000008", 0x6982);
    c->expect("01200081", 0x63C3);
    c->expect("00200081", 0x9000);
  }
  SECTION("verified on channel 1") {
    c->expect("0120008104 31323334", 0x9000);
    CHECK(c->expect("01B0000008", 0x9000) == ascii("resident"));
    c->expect("00B0000008", 0x6982);
    c->expect("00200081", 0x63C3);
    // Resetting the state on channel 1 leaves channel 0 alone, and back.
    c->expect("0020008104 31323334", 0x9000);
    c->expect("0120FF81", 0x9000);
    c->expect("01B0000008", 0x6982);
    c->expect("00B0000008", 0x9000);
  }
  SECTION("closing and reopening a channel forgets its state") {
    c->expect("0120008104 31323334", 0x9000);
    c->expect("00708001", 0x9000);
    c->expect("00700001", 0x9000);
    c->expect("01A4040C09F04A554B4944454D4F", 0x9000);
    c->expect("01200081", 0x63C3);
  }
}

TEST_CASE("logical channels: opened from channel 0 the MF, from another its selection",
          "[apdu][channel]") {
  auto c = TestCard::active();
  c->expect(test::kSelectDemo, 0x9000);
  c->expect("00A4020C025001", 0x9000);
  c->expect("0020008104 31323334", 0x9000);
  // From channel 0: the MF, no EF, nothing verified.
  CHECK(c->expect("0070000001", 0x9000) == Bytes{0x01});
  c->expect("01B0000001", 0x6986);
  c->expect("01A4020C025001", 0x6A82);  // 5001 is no child of the MF
  c->expect("01A4010C025000", 0x9000);  // 5000 is

  // Channel 1 in DF 5000 with EF 5001 current and the PIN verified.
  c->expect("01A4020C025001", 0x9000);
  c->expect("0120008104 31323334", 0x9000);
  // From channel 1: the same DF and EF, but not its security state.
  CHECK(c->expect("0170000001", 0x9000) == Bytes{0x02});
  CHECK(c->expect("02B0000004", 0x9000) == ascii("Juki"));
  c->expect("02200081", 0x63C3);
  c->expect("02A4020C025002", 0x9000);  // an EF of DF 5000: the DF was inherited
  c->expect("02B0000008", 0x6982);
  c->expect("01A4020C025002", 0x9000);
  c->expect("01B0000008", 0x9000);
  // Host-assigned from channel 2: inherits channel 2's EF 5002.
  c->expect("02700003", 0x9000);
  c->expect("03B0000008", 0x6982);
  c->expect("0320008104 31323334", 0x9000);
  CHECK(c->expect("03B0000008", 0x9000) == ascii("resident"));
}
