// File system commands against specs/card-os.md sections 6.1-6.5, 7.1 and
// 7.2: SELECT, READ/UPDATE BINARY, READ/UPDATE/APPEND RECORD, CREATE FILE,
// DELETE FILE, DEACTIVATE/ACTIVATE FILE and access rules.
#include <algorithm>
#include <string>

#include "common/iso7816/tlv.hpp"
#include "support/test_card.hpp"

using namespace juki;
using juki::fcp::FileType;
using juki::test::ascii;
using juki::test::create_file;
using juki::test::df_spec;
using juki::test::hex;
using juki::test::kSelectDemo;
using juki::test::record_ef;
using juki::test::TestCard;
using juki::test::transparent_ef;

namespace {

// The value of `tag` inside an FCP (62) or FCI (6F) template.
Bytes tag_value(const Bytes& templ, std::uint32_t tag) {
  auto outer = tlv::decode_one(templ);
  REQUIRE(outer.ok());
  REQUIRE(outer->encoded_size == templ.size());
  auto t = tlv::find(outer->value, tag);
  INFO("tag " << std::hex << tag << " in " << to_hex(templ));
  REQUIRE(t.has_value());
  return Bytes(t->value.begin(), t->value.end());
}
bool has_tag(const Bytes& templ, std::uint32_t tag) {
  auto outer = tlv::decode_one(templ);
  REQUIRE(outer.ok());
  return tlv::find(outer->value, tag).has_value();
}
std::uint16_t fid_in(const Bytes& fcp) {
  Bytes v = tag_value(fcp, 0x83);
  REQUIRE(v.size() == 2);
  return load_be16(v.data());
}
std::uint16_t size_in(const Bytes& fcp) {
  Bytes v = tag_value(fcp, 0x80);
  REQUIRE(v.size() == 2);
  return load_be16(v.data());
}
// FCP template 62 around `inner` (hex).
Bytes fcp62(const std::string& inner) {
  Bytes out;
  tlv::append(out, 0x62, hex(inner));
  return out;
}
Bytes create_raw(const Bytes& fcp) {
  return apdu::encode_command(0x00, 0xE0, 0x00, 0x00, fcp);
}
bool memory_contains(TestCard& c, const std::string& text) {
  const auto& m = c.card().memory();
  ByteView all = m.read(0, m.capacity());
  ByteView needle = as_bytes(text);
  return std::search(all.begin(), all.end(), needle.begin(), needle.end()) != all.end();
}

// A tree for the selection tests, made with personalization rights:
//   MF ─ DF 1000 "F04131" ─ EF 1001 (10 bytes), EF 2000 (20 bytes)
//      │                  ├ DF 1100 ─ EF 1001 (11 bytes), EF 1101 (12 bytes)
//      │                  └ DF 1200 "F0413132"
//      └ DF 2000 ─ EF 2001 (21 bytes)
void make_tree(TestCard& c) {
  c.expect(create_file(df_spec(0x1000, hex("F04131"))), 0x9000);
  c.expect(create_file(transparent_ef(0x1001, 10)), 0x9000);
  c.expect(create_file(transparent_ef(0x2000, 20)), 0x9000);
  c.expect(create_file(df_spec(0x1100)), 0x9000);
  c.expect(create_file(transparent_ef(0x1001, 11)), 0x9000);
  c.expect(create_file(transparent_ef(0x1101, 12)), 0x9000);
  c.expect("00A4080C021000", 0x9000);
  c.expect(create_file(df_spec(0x1200, hex("F0413132"))), 0x9000);
  c.expect("00A4000C", 0x9000);
  c.expect(create_file(df_spec(0x2000)), 0x9000);
  c.expect(create_file(transparent_ef(0x2001, 21)), 0x9000);
  c.expect("00A4000C", 0x9000);
}

}  // namespace

// ---------------------------------------------------------------- 6.1 SELECT

TEST_CASE("SELECT P1=00: MF, current DF, child, parent, child of the parent, in order",
          "[fs][select]") {
  auto c = TestCard::personalizing();
  make_tree(*c);
  Bytes mf = c->expect("00A4000400", 0x9000);  // no data: the MF
  CHECK(fid_in(mf) == 0x3F00);
  CHECK(tag_value(mf, 0x82) == hex("38"));
  c->expect("00A40000", 0x9000);

  c->expect("00A4080C0410001100", 0x9000);  // current DF 1100
  // A child of the current DF comes before a child of the parent.
  CHECK(size_in(c->expect("00A40004021001"
                          "00",
                          0x9000)) == 11);
  CHECK(fid_in(c->expect("00A40004021100"
                         "00",
                         0x9000)) == 0x1100);  // the current DF
  CHECK(fid_in(c->expect("00A40004021000"
                         "00",
                         0x9000)) == 0x1000);  // the parent
  // From DF 1000: 2000 is its child EF, before the MF's child DF 2000.
  Bytes ef2000 = c->expect("00A4000402200000", 0x9000);
  CHECK(tag_value(ef2000, 0x82) == hex("01"));
  CHECK(size_in(ef2000) == 20);
  // From DF 1100: 2000 is a child of the parent.
  c->expect("00A4080C0410001100", 0x9000);
  CHECK(size_in(c->expect("00A4000402200000", 0x9000)) == 20);
  // Not searched: a cousin, a grandchild. The selection does not change.
  c->expect("00A4080C0410001100", 0x9000);
  c->expect("00A4000C022001", 0x6A82);
  CHECK(size_in(c->expect("00A4000402110100", 0x9000)) == 12);  // still in DF 1100
  c->expect("00A4080C021000", 0x9000);
  c->expect("00A4000C021101", 0x6A82);
  // 3F00 from anywhere; from the MF its children.
  CHECK(fid_in(c->expect("00A40004023F0000", 0x9000)) == 0x3F00);
  CHECK(tag_value(c->expect("00A4000402200000", 0x9000), 0x82) == hex("38"));
  c->expect("00A4000C022001", 0x9000);
  // FID data not 2 bytes.
  c->expect("00A4000C0110", 0x6700);
  c->expect("00A4000C03100000", 0x6700);
}

TEST_CASE("SELECT P1=01 child DF, 02 child EF, 03 parent", "[fs][select]") {
  auto c = TestCard::personalizing();
  make_tree(*c);
  c->expect("00A4010C021000", 0x9000);
  c->expect("00A4010C021001", 0x6A82);  // an EF
  c->expect("00A4020C021100", 0x6A82);  // a DF
  c->expect("00A4020C021101", 0x6A82);  // a grandchild
  CHECK(size_in(c->expect("00A4020402100100", 0x9000)) == 10);
  CHECK(fid_in(c->expect("00A4010402110000", 0x9000)) == 0x1100);
  c->expect("00A4010C", 0x6700);
  c->expect("00A4020C", 0x6700);
  c->expect("00A4020C03110111", 0x6700);
  // P1=03: parent of the current DF (an EF being current changes nothing).
  c->expect("00A4020C021101", 0x9000);
  CHECK(fid_in(c->expect("00A4030400", 0x9000)) == 0x1000);
  CHECK(fid_in(c->expect("00A4030400", 0x9000)) == 0x3F00);
  c->expect("00A4030C", 0x6A82);  // the MF has no parent
  c->expect("00A4030C021000", 0x6700);
}

TEST_CASE("SELECT P1=04 by DF name, P1=08/09 by path", "[fs][select]") {
  auto c = TestCard::personalizing();
  make_tree(*c);
  c->expect("00A4020C022001", 0x6A82);
  CHECK(fid_in(c->expect("00A4040400", 0x9000)) == 0x3F00);  // no data: the MF
  c->expect("00A4040C", 0x9000);
  Bytes a1 = c->expect("00A4040403F0413100", 0x9000);
  CHECK(fid_in(a1) == 0x1000);
  CHECK(tag_value(a1, 0x84) == hex("F04131"));
  CHECK(fid_in(c->expect("00A4040404F041313200", 0x9000)) == 0x1200);  // anywhere
  c->expect("00A4040C02F041", 0x6A82);                                 // a prefix is not the name
  c->expect("00A4040C04F0413133", 0x6A82);                             // unknown
  c->expect("00A4040C05F041313200", 0x6A82);                           // longer
  CHECK(fid_in(c->expect("00A4030400", 0x9000)) == 0x1000);            // still in DF 1200
  CHECK(fid_in(c->expect("00A4000400", 0x9000)) == 0x3F00);
  c->expect("00A4040E03F04131", 0x6A82);  // next occurrence: there is none
  c->expect("00A4040203F0413100", 0x6A82);

  // Paths from the MF, with or without 3F00.
  CHECK(fid_in(c->expect("00A4080404100011000"
                         "0",
                         0x9000)) == 0x1100);
  CHECK(fid_in(c->expect("00A40804063F001000110000", 0x9000)) == 0x1100);
  CHECK(size_in(c->expect("00A408040610001100110100", 0x9000)) == 12);
  CHECK(fid_in(c->expect("00A40804023F0000", 0x9000)) == 0x3F00);
  c->expect("00A4080C06100010011101", 0x6A82);  // through an EF
  c->expect("00A4080C0410009999", 0x6A82);
  c->expect("00A4080C", 0x6700);
  c->expect("00A4080C03100011", 0x6700);
  // Paths from the current DF.
  c->expect("00A4080C021000", 0x9000);
  CHECK(size_in(c->expect("00A40904041100110100", 0x9000)) == 12);
  c->expect("00A4080C021000", 0x9000);
  CHECK(fid_in(c->expect("00A4090402110000", 0x9000)) == 0x1100);
  c->expect("00A4000C", 0x9000);
  c->expect("00A4090C021100", 0x6A82);  // not from the MF
  c->expect("00A4090C", 0x6700);
  c->expect("00A4090C0110", 0x6700);
}

TEST_CASE("SELECT P1-P2 errors", "[fs][select]") {
  auto c = TestCard::personalizing();
  make_tree(*c);
  for (const char* h :
       {"00A4050C021000", "00A4060C021000", "00A40A0C021000", "00A4100C021000", "00A4FF0C021000",
        "00A4001C021000", "00A4008C021000", "00A4000802100000", "00A4000D021000", "00A4000F021000",
        "00A4000E021000", "00A40001021000", "00A40803041000110000"}) {
    INFO(h);
    CHECK(c->sw(hex(h)) == 0x6A86);
  }
  CHECK(fid_in(c->expect("00A4000400", 0x9000)) == 0x3F00);  // nothing was selected
}

TEST_CASE("SELECT P1=04 next occurrence without data: 6A82", "[fs][select]") {
  auto c = TestCard::personalizing();
  CHECK(c->sw("00A4040E") == 0x6A82);
  CHECK(c->sw("00A4040200") == 0x6A82);
}

TEST_CASE("SELECT answers: FCI, FCP, none, case 3, 6CXX", "[fs][select]") {
  auto c = TestCard::personalizing();
  make_tree(*c);
  Bytes fci = c->expect("00A4000002100000", 0x9000);
  Bytes fcp = c->expect("00A4000402100000", 0x9000);
  REQUIRE(fci.size() == fcp.size());
  CHECK(fci[0] == 0x6F);
  CHECK(fcp[0] == 0x62);
  CHECK(Bytes(fci.begin() + 1, fci.end()) == Bytes(fcp.begin() + 1, fcp.end()));
  CHECK(c->expect("00A4000C02100000", 0x9000).empty());
  CHECK(c->expect("00A4000402 1000", 0x9000).empty());  // case 3: no data
  CHECK(c->expect("00A4000002 1000", 0x9000).empty());
  // A short Le smaller than the FCP: 6CXX with the exact size, and no data.
  Bytes cmd =
      hex("00A400040210000"
          "5");
  Bytes r = c->send(cmd);
  CHECK(r == Bytes{0x6C, static_cast<std::uint8_t>(fcp.size())});
  cmd.back() = static_cast<std::uint8_t>(fcp.size());
  CHECK(c->expect(cmd, 0x9000) == fcp);
}

TEST_CASE("SELECT: FCP content of the sample files", "[fs][select][fcp]") {
  auto c = TestCard::active();
  auto all_tags_known = [](const Bytes& f) {
    auto outer = tlv::decode_one(f);
    REQUIRE(outer.ok());
    auto items = tlv::decode_all(outer->value);
    REQUIRE(items.ok());
    for (const tlv::Tlv& t : *items) {
      INFO("tag " << std::hex << t.tag);
      CHECK((t.tag == 0x80 || t.tag == 0x82 || t.tag == 0x83 || t.tag == 0x84 || t.tag == 0x88 ||
             t.tag == 0x8A || t.tag == 0x86));
    }
  };
  Bytes mf = c->expect("00A40004023F0000", 0x9000);
  all_tags_known(mf);
  CHECK(tag_value(mf, 0x82) == hex("38"));
  CHECK(tag_value(mf, 0x83) == hex("3F00"));
  CHECK(tag_value(mf, 0x8A) == hex("05"));
  CHECK(tag_value(mf, 0x86) == hex("070800020000"));  // terminate: key 02
  CHECK_FALSE(has_tag(mf, 0x80));

  Bytes df = c->expect("00A4040409F04A554B4944454D4F00", 0x9000);
  all_tags_known(df);
  CHECK(tag_value(df, 0x82) == hex("38"));
  CHECK(tag_value(df, 0x83) == hex("5000"));
  CHECK(tag_value(df, 0x84) == hex("F04A554B4944454D4F"));
  CHECK(tag_value(df, 0x8A) == hex("05"));
  CHECK(tag_value(df, 0x86).empty());  // every operation never
  CHECK_FALSE(has_tag(df, 0x80));
  CHECK_FALSE(has_tag(df, 0x88));

  Bytes info = c->expect("00A4000402500100", 0x9000);
  all_tags_known(info);
  CHECK(tag_value(info, 0x80) == hex("0100"));
  CHECK(tag_value(info, 0x82) == hex("01"));
  CHECK(tag_value(info, 0x83) == hex("5001"));
  CHECK(tag_value(info, 0x8A) == hex("05"));
  CHECK(tag_value(info, 0x86) == hex("000000000000"
                                     "010481000000"));
  CHECK_FALSE(has_tag(info, 0x88));
  CHECK_FALSE(has_tag(info, 0x84));

  Bytes history = c->expect("00A4000402500300", 0x9000);
  all_tags_known(history);
  CHECK(tag_value(history, 0x80) == hex("0040"));
  CHECK(tag_value(history, 0x82) == hex("0221001004"));
  CHECK(tag_value(history, 0x83) == hex("5003"));
  CHECK(tag_value(history, 0x88) == hex("18"));
  CHECK(tag_value(history, 0x86) == hex("000481000000"
                                        "010481000000"));

  Bytes log = c->expect("00A4000402500400", 0x9000);
  all_tags_known(log);
  CHECK(tag_value(log, 0x80) == hex("0100"));
  CHECK(tag_value(log, 0x82) == hex("0421002001"));  // one record so far
  CHECK(tag_value(log, 0x88) == hex("20"));
  CHECK(tag_value(log, 0x86) == hex("000000000000"
                                    "010481000000"
                                    "020481000000"));
  // The count follows the records.
  c->expect("0020008104 31323334", 0x9000);
  c->expect("00E2000003 414243", 0x9000);
  CHECK(tag_value(c->expect("00A4000402500400", 0x9000), 0x82) == hex("0421002002"));
}

TEST_CASE("SELECT an EF: its parent becomes the current DF, the current record resets",
          "[fs][select][record]") {
  auto c = TestCard::active();
  c->expect("0020008104 31323334", 0x6A88);  // MF: no PIN 81 to resolve
  c->expect("00A4080C0450005003", 0x9000);
  c->expect("0020008104 31323334", 0x9000);  // DF 5000 is current
  c->expect("00A4020C025001", 0x9000);       // a sibling by P1=02: DF 5000 is current
  c->expect("00A4020C025003", 0x9000);
  c->expect("00B2000400", 0x6A83);
  CHECK(c->expect("00B2020400", 0x9000) == Bytes(16, 0x02));
  CHECK(c->expect("00B2000400", 0x9000) == Bytes(16, 0x02));
  c->expect("00A4020C025003", 0x9000);
  c->expect("00B2000400", 0x6A83);
}

// ---------------------------------------------------------------- 6.2 binary

TEST_CASE("READ/UPDATE BINARY: conditions and offsets", "[fs][binary]") {
  auto c = TestCard::active();
  c->expect(kSelectDemo, 0x9000);
  c->expect("00B0000001", 0x6986);  // no current EF
  c->expect("00D6000001AA", 0x6986);
  c->expect("00A4020C025003", 0x9000);
  c->expect("00B0000001", 0x6981);  // record EF
  c->expect("00D6000001AA", 0x6981);
  c->expect("00A4020C025002", 0x9000);
  c->expect("00B0000001", 0x6982);  // read: PIN 81
  c->expect("00A4020C025001", 0x9000);
  CHECK(c->expect("00B0000004", 0x9000) == ascii("Juki"));
  c->expect("00D6000001AA", 0x6982);  // update: PIN 81
  c->expect("0020008104 31323334", 0x9000);

  // Reading at and over the end of the 256-byte EF.
  CHECK(c->expect("00B000FF01", 0x9000) == Bytes{0x00});
  CHECK(c->expect("00B000FF02", 0x6282) == Bytes{0x00});
  CHECK(c->expect("00B000F000", 0x6282).size() == 16);
  c->expect("00B0010001", 0x6B00);
  c->expect("00B0010000", 0x6B00);
  c->expect("00B07FFF01", 0x6B00);
  // Updating at and over the end.
  c->expect("00D6010101AA", 0x6B00);
  c->expect("00D6010001AA", 0x6A84);
  c->expect("00D600FF02AABB", 0x6A84);
  CHECK(c->expect("00B000FE02", 0x9000) == hex("0000"));  // nothing written
  c->expect("00D600FF01AA", 0x9000);
  CHECK(c->expect("00B000FE00", 0x6282) == hex("00AA"));
  c->expect("00D600101000112233445566778899AABBCCDDEEFF", 0x9000);
  CHECK(c->expect("00B0001010", 0x9000) == hex("00112233445566778899AABBCCDDEEFF"));

  // The secret EF: readable after the PIN, never updatable.
  c->expect("00A4020C025002", 0x9000);
  CHECK(c->expect("00B0000008", 0x9000) == ascii("resident"));
  c->expect("00D6000001AA", 0x6982);
  // SFI: record EF, unknown SFI, b7-b6 set.
  c->expect("00B0830001", 0x6981);
  c->expect("00B0870001", 0x6A82);
  c->expect("00D6870001AA", 0x6A82);
  c->expect("00B0A30001", 0x6A86);
  c->expect("00B0C30001", 0x6A86);
  c->expect("00D6A30001AA", 0x6A86);
}

TEST_CASE("READ/UPDATE BINARY with a short EF identifier", "[fs][binary][sfi]") {
  auto c = TestCard::personalizing();
  c->expect(create_file(df_spec(0x1000)), 0x9000);
  c->expect(create_file(transparent_ef(0x1001, 16, 1)), 0x9000);
  c->expect("00D6000010000102030405060708090A0B0C0D0E0F", 0x9000);
  c->expect(create_file(transparent_ef(0x1002, 8, 2)), 0x9000);
  c->expect("00A4000C021000", 0x9000);
  c->expect("00B0000001", 0x6986);
  CHECK(c->expect("00B0810004", 0x9000) == hex("00010203"));
  CHECK(c->expect("00B0000402", 0x9000) == hex("0405"));  // 1001 is now the current EF
  CHECK(c->expect("00B0810A10", 0x6282) == hex("0A0B0C0D0E0F"));
  c->expect("00B0811001", 0x6B00);
  c->expect("00D68202 02AABB", 0x9000);  // 1002 at offset 2
  CHECK(c->expect("00B0000004", 0x9000) == hex("0000AABB"));
  c->expect("00D68207 02AABB", 0x6A84);
  c->expect("00D68209 01AA", 0x6B00);
  c->expect("00B0830001", 0x6A82);
  c->expect("00A4000C", 0x9000);
  c->expect("00B0810001", 0x6A82);  // SFIs are per DF
}

// ---------------------------------------------------------------- 6.3 records

TEST_CASE("READ/UPDATE RECORD on a linear fixed EF", "[fs][record]") {
  auto c = TestCard::active();
  c->expect(kSelectDemo, 0x9000);
  c->expect("00B2011C00", 0x6982);  // read: PIN 81
  c->expect(
      "00DC011C10"
      "00000000000000000000000000000000",
      0x6982);
  c->expect("0020008104 31323334", 0x9000);
  c->expect("00B2010400", 0x6986);  // no current EF
  c->expect("00DC010401AA", 0x6986);
  c->expect("00E2000001AA", 0x6986);
  CHECK(c->expect("00B2011C00", 0x9000) == Bytes(16, 0x01));
  CHECK(c->expect("00B2041C10", 0x9000) == Bytes(16, 0x04));
  CHECK(c->expect("00B2011C11", 0x9000) == Bytes(16, 0x01));  // more Le is fine
  CHECK(c->send("00B2011C08") == hex("6C10"));                // less: 6CXX, no data
  CHECK(c->send("00B2011C0F") == hex("6C10"));
  c->expect("00B2051C10", 0x6A83);
  c->expect("00B2FF1C10", 0x6A83);
  // The SFI made 5003 current.
  CHECK(c->expect("00B2030400", 0x9000) == Bytes(16, 0x03));
  CHECK(c->expect("00B2000400", 0x9000) == Bytes(16, 0x03));
  // UPDATE: exactly the record length.
  c->expect(apdu::encode_command(0x00, 0xDC, 0x02, 0x04, Bytes(15, 0xAA)), 0x6700);
  c->expect(apdu::encode_command(0x00, 0xDC, 0x02, 0x04, Bytes(17, 0xAA)), 0x6700);
  c->expect("00DC020401AA", 0x6700);
  c->expect(
      "00DC050410"
      "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      0x6A83);
  c->expect(
      "00DC020410"
      "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      0x9000);
  CHECK(c->expect("00B2000400", 0x9000) == Bytes(16, 0xAA));  // record 2 is current
  c->expect(
      "00DC001C10"
      "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB",
      0x9000);  // current via SFI
  CHECK(c->expect("00B2020400", 0x9000) == Bytes(16, 0xBB));
  CHECK(c->expect("00B2010400", 0x9000) == Bytes(16, 0x01));
  // APPEND: AR(append) of 5003 is never.
  c->expect(
      "00E2000010"
      "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC",
      0x6982);
  // Not a record EF, unknown SFI.
  c->expect("00A4020C025001", 0x9000);
  c->expect("00B2010400", 0x6981);
  c->expect("00DC010401AA", 0x6981);
  c->expect("00E2000001AA", 0x6981);
  c->expect("00B2012C00", 0x6A82);
  c->expect("00DC012C01AA", 0x6A82);
  c->expect("00E2002801AA", 0x6A82);
}

TEST_CASE("READ RECORD: a failing read leaves the current record", "[fs][record]") {
  auto c = TestCard::active();
  c->expect(kSelectDemo, 0x9000);
  c->expect("0020008104 31323334", 0x9000);
  CHECK(c->expect("00B2021C00", 0x9000) == Bytes(16, 0x02));
  c->expect("00B2051C00", 0x6A83);
  CHECK(c->sw("00B2000400") == 0x9000);
  c->expect("00B2021C00", 0x9000);
  c->expect("00B2050400", 0x6A83);
  CHECK(c->send("00B2000400") == hex("02020202020202020202020202020202"
                                     "9000"));
  CHECK(c->send("00B2030401") == hex("6C10"));
  CHECK(c->send("00B2000400") == hex("02020202020202020202020202020202"
                                     "9000"));
}

TEST_CASE("READ/UPDATE/APPEND RECORD: P1-P2 rules", "[fs][record]") {
  auto c = TestCard::active();
  c->expect(kSelectDemo, 0x9000);
  c->expect("0020008104 31323334", 0x9000);
  c->expect("00A4020C025004", 0x9000);
  for (const char* h :
       {"00B2010000", "00B2010100", "00B2010500", "00B2010700", "00B201FC00", "00B201FF00",
        "00DC010001AA", "00DC010301AA", "00DC01FC01AA", "00E2010001AA", "00E2FF0001AA",
        "00E2000401AA", "00E2000101AA", "00E200F801AA", "00E200FC01AA"}) {
    INFO(h);
    CHECK(c->sw(hex(h)) == 0x6A86);
  }
  CHECK(c->expect("00B2012400", 0x9000) == ascii("issued"));  // nothing appended
  c->expect("00B2022400", 0x6A83);
}

TEST_CASE("linear variable records: lengths, APPEND until full, no stale bytes", "[fs][record]") {
  auto c = TestCard::active();
  c->expect(kSelectDemo, 0x9000);
  CHECK(c->expect("00B2012400", 0x9000) == ascii("issued"));  // read always
  c->expect("00E2002001AA", 0x6982);                          // append: PIN 81
  c->expect("00DC012401AA", 0x6982);
  c->expect("0020008104 31323334", 0x9000);
  // Lengths 1..32.
  c->expect(apdu::encode_command(0x00, 0xE2, 0x00, 0x20, Bytes(33, 0x33)), 0x6700);
  c->expect(apdu::encode_command(0x00, 0xDC, 0x01, 0x24, Bytes(33, 0x33)), 0x6700);
  c->expect("00DC022401AA", 0x6A83);
  c->expect(apdu::encode_command(0x00, 0xE2, 0x00, 0x20, Bytes(32, 0x32)), 0x9000);
  CHECK(c->expect("00B2000400", 0x9000) == Bytes(32, 0x32));  // APPEND made record 2 current
  c->expect("00E2000001AA", 0x9000);
  CHECK(c->expect("00B2000400", 0x9000) == hex("AA"));
  CHECK(c->send("00B2030400") == hex("AA9000"));
  for (std::uint8_t i = 4; i <= 8; ++i) c->expect(Bytes{0x00, 0xE2, 0x00, 0x00, 0x01, i}, 0x9000);
  c->expect("00E2000001AA", 0x6A84);  // full
  CHECK(c->expect("00B2080400", 0x9000) == Bytes{0x08});
  c->expect("00B2090400", 0x6A83);

  // A shorter record replaces a longer one entirely.
  c->expect(
      "00DC012410"
      "51524A4B4C4D4E4F5051525354555657",
      0x9000);
  CHECK(c->expect("00B2012400", 0x9000) == hex("51524A4B4C4D4E4F5051525354555657"));
  CHECK(test::TestCard::sw_of(c->send("00B201240F")) == 0x6C10);
  c->expect("00DC012403 78797A", 0x9000);
  CHECK(c->expect("00B2012400", 0x9000) == ascii("xyz"));
  CHECK(c->send("00B2012402") == hex("6C03"));
  CHECK(c->expect("00B2012403", 0x9000) == ascii("xyz"));
  CHECK_FALSE(memory_contains(*c, "JKLMNOPQRSTUVW"));
}

// ---------------------------------------------------------------- 6.4 CREATE FILE

TEST_CASE("CREATE FILE: every malformed FCP answers 6A80 and creates nothing", "[fs][create]") {
  auto c = TestCard::personalizing();
  const std::uint32_t free = c->free_bytes();
  const char* bad[] = {
      "",                                   // no 82
      "80011083021001",                     // no 82
      "820101 83021001",                    // transparent without 80
      "820101 800110",                      // transparent without 83
      "820101 800100 83021001",             // size 0
      "820101 80028000 83021001",           // size 32768
      "820101 8003000010 83021001",         // 80 of 3 bytes
      "820101 8000 83021001",               // 80 empty
      "82050221001004",                     // record EF without 83
      "82050221001004 83021001 80020041",   // 80 not length x records
      "82050221000004 83021001",            // record length 0
      "82050221010004 83021001",            // record length 256
      "82050221001000 83021001",            // no records
      "820502210010FF 83021001",            // 255 records
      "82050220001004 83021001",            // data coding byte
      "82050321001004 83021001",            // unknown structure
      "82050121001004 83021001",            // transparent in the 5-byte form
      "82020100 800110 83021001",           // 82 of 2 bytes
      "820102 83021001",                    // linear fixed in the 1-byte form
      "820139 83021001",                    // unknown descriptor
      "820138",                             // DF without 83 or 84
      "820138 83021001 800110",             // DF with 80
      "820138 83021001 880108",             // DF with 88
      "820101 800110 83021001 8403F04131",  // EF with a DF name
      "820138 8400",                        // empty name
      "820138 841101020304050607080910111213141516"
      "17",                                                   // name of 17 bytes
      "820101 800110 830110",                                 // FID of 1 byte
      "820101 800110 83020000",                               // reserved FIDs
      "820101 800110 83023F00",                               //
      "820101 800110 83023FFF",                               //
      "820101 800110 8302FFFF",                               //
      "820138 83023F00",                                      //
      "820101 800110 83021001 880100",                        // SFI 0
      "820101 800110 83021001 8801F8",                        // SFI 31
      "820101 800110 83021001 880109",                        // SFI with b3-b1 set
      "820101 800110 83021001 88020800",                      // 88 of 2 bytes
      "820101 800110 83021001 8A0103",                        // life cycle other than 04/05
      "820101 800110 83021001 8A0101",                        //
      "820101 800110 83021001 8A020505",                      //
      "820101 800110 83021001 86050000000000",                // rules not 6 x n
      "820101 800110 83021001 8606002000000000",              // unknown flag
      "820101 800110 83021001 8606004000000000",              //
      "820101 800110 83021001 8606080000000000",              // operation 08
      "820101 800110 83021001 8606FF0000000000",              //
      "820101 800110 83021001 860C000000000000000400810000",  // operation twice
      "820101 800110 83021001 8606000081000000",              // PIN ref without the PIN flag
      "820101 800110 83021001 8606000000810000",              // key ref without the key flag
      "820101 800110 83021001 8606000000000001",              // roles without the role flag
      "820101 800110 83021001 8606000400000000",              // PIN flag, reference 00
      "820101 800110 83021001 8606000800000000",              // key flag, reference 00
      "820101 800110 83021001 850100",                        // unknown tag
      "820101 800110 83021001 C00100",                        // unknown tag
      "820101 800110 83021001 83021002",                      // repeated tag
      "820101 800110 820101 83021001",                        //
      "820101 800110 83021001 8A0105 8A0105",                 //
      "820101 800110 830210",                                 // truncated TLV
  };
  for (const char* inner : bad) {
    INFO("FCP 62 " << inner);
    CHECK(c->sw(create_raw(fcp62(inner))) == 0x6A80);
  }
  // Not a 62 template, or bytes after it.
  Bytes good = fcp62("820101 800110 83021001");
  Bytes fci = good;
  fci[0] = 0x6F;
  CHECK(c->sw(create_raw(fci)) == 0x6A80);
  Bytes trailing = good;
  trailing.push_back(0x00);
  CHECK(c->sw(create_raw(trailing)) == 0x6A80);
  CHECK(c->free_bytes() == free);
  c->expect("00A4000C021001", 0x6A82);
  c->expect("00A4000C021002", 0x6A82);

  // The same templates made valid; 80 of one byte is accepted.
  c->expect(create_raw(good), 0x9000);
  CHECK(tag_value(c->expect("00A4000402100100", 0x9000), 0x80) == hex("0010"));
  c->expect(create_raw(fcp62("82050221001004 83021002 80020040")), 0x9000);
  c->expect(create_raw(fcp62("8205042100FF02 83021003")), 0x9000);
  c->expect(create_raw(fcp62("820502210001FE 83021005")), 0x9000);
  c->expect(create_raw(fcp62("820101 80027FFF 83021004 8801F0 8A0104")), 0x9000);
  c->expect("00A4000C021004", 0x6283);
  c->expect(create_raw(fcp62("820138 8410"
                             "0102030405060708090A0B0C0D0E0F10")),
            0x9000);
}

TEST_CASE("CREATE FILE: an access-rule reference with b7-b6 set is 6A80", "[fs][create]") {
  auto c = TestCard::personalizing();
  CHECK(c->sw(create_raw(fcp62("820101 800110 83021001 8606000441000000"))) == 0x6A80);
  CHECK(c->sw(create_raw(fcp62("820101 800110 83021002 8606000800A10000"))) == 0x6A80);
  CHECK(c->sw(create_raw(fcp62("820101 800110 83021003 8606000420000000"))) == 0x6A80);
}

TEST_CASE("CREATE FILE: P1-P2, rights, deactivated DF, existing FID/SFI/name", "[fs][create]") {
  auto c = TestCard::personalizing();
  const Bytes fcp = juki::fcp::encode_fcp(transparent_ef(0x1001, 16, 1), 0);
  c->expect(apdu::encode_command(0x00, 0xE0, 0x01, 0x00, fcp), 0x6A86);
  c->expect(apdu::encode_command(0x00, 0xE0, 0x00, 0x01, fcp), 0x6A86);

  c->expect(create_file(df_spec(0x1000, hex("F04131"))), 0x9000);  // becomes current
  c->expect(create_file(transparent_ef(0x1001, 16, 1)), 0x9000);   // current EF
  c->expect("00B0000001", 0x9000);
  const std::uint32_t free = c->free_bytes();
  c->expect(create_file(transparent_ef(0x1001, 8)), 0x6A89);  // FID used
  c->expect(create_file(df_spec(0x1001)), 0x6A89);
  c->expect(create_file(transparent_ef(0x1002, 8, 1)), 0x6A89);    // SFI used
  c->expect(create_file(transparent_ef(0x1000, 8)), 0x6A89);       // the DF's own FID
  c->expect(create_file(df_spec(0x1100, hex("F04131"))), 0x6A8A);  // name used
  c->expect(create_file(df_spec(0, hex("F04131"))), 0x6A8A);
  c->expect(create_file(transparent_ef(0x1002, 8, 2)), 0x9000);
  c->expect(create_file(df_spec(0x1100)), 0x9000);
  c->expect(create_file(df_spec(0x1200, hex("F04132"))), 0x9000);  // inside DF 1100
  c->expect("00A4000C", 0x9000);
  c->expect(create_file(df_spec(0x2000, hex("F04132"))), 0x6A8A);  // anywhere on the card
  c->expect(create_file(transparent_ef(0x1000, 8)), 0x6A89);       // in the MF: DF 1000
  c->expect(create_file(transparent_ef(0x1001, 8, 1)), 0x9000);    // another DF: free
  CHECK(c->free_bytes() < free);

  // A deactivated current DF.
  c->expect("00A4000C021000", 0x9000);
  c->expect("00040000", 0x9000);
  c->expect("00A4000C021000", 0x6283);
  c->expect(create_file(transparent_ef(0x1003, 8)), 0x6985);
  c->expect(create_raw(fcp62("820101")), 0x6A80);  // the FCP is checked first
  c->expect("00440000", 0x9000);
  c->expect(create_file(transparent_ef(0x1003, 8)), 0x9000);

  // No rights: reset ends them.
  c->card().reset();
  c->expect(create_file(transparent_ef(0x3001, 8)), 0x6982);
  c->expect(create_raw(fcp62("820101")), 0x6A80);
  c->expect(create_file(transparent_ef(0x1000, 8)), 0x6982);  // rights before existence
}

TEST_CASE("CREATE FILE: a name-only DF inside a name-only DF", "[fs][create]") {
  auto c = TestCard::personalizing();
  c->expect(create_file(df_spec(0, hex("F04131"))), 0x9000);
  c->expect(create_file(transparent_ef(0x1001, 8)), 0x9000);
  c->expect("00A4040C03F04131", 0x9000);
  CHECK(c->sw(create_file(df_spec(0, hex("F0413132")))) == 0x9000);
  CHECK(c->sw("00A4040C04F0413132") == 0x9000);
}

TEST_CASE("CREATE FILE in the active state under AR(create)", "[fs][create][rules]") {
  auto c = TestCard::lab();
  c->expect("00A4000C", 0x9000);
  c->expect(create_file(transparent_ef(0x3001, 8)), 0x6982);  // MF: never
  c->expect(kSelectDemo, 0x9000);
  c->expect("0020008104 31323334", 0x9000);
  c->expect(create_file(transparent_ef(0x5005, 8)), 0x6982);  // DF 5000: never
  c->expect("00A4040C04F04C4142", 0x9000);
  juki::fcp::FileSpec spec = transparent_ef(0x6004, 8);
  spec.rule(juki::fcp::Op::read) = juki::fcp::AccessRule::always();
  c->expect(create_file(spec), 0x6982);  // LAB: PIN 81
  c->expect("0020008104 31313131", 0x9000);
  c->expect(create_file(spec), 0x9000);
  CHECK(c->expect("00B0000008", 0x9000) == Bytes(8, 0x00));  // the new EF is current
}

TEST_CASE("CREATE FILE: 6A84 when memory runs out, and nothing changes", "[fs][create][memory]") {
  auto c = TestCard::personalizing();
  CHECK(Bytes(c->expect("00CADF2100", 0x9000)).size() == 11);
  std::uint16_t fid = 0x1000;
  int failures = 0;
  for (std::uint32_t size = 0x7FFF; size >= 1;) {
    const std::uint32_t before = c->free_bytes();
    const sw::Sw s = c->sw(create_file(transparent_ef(fid, size)));
    if (s == 0x9000) {
      ++fid;
      continue;
    }
    INFO("EF of " << size << " bytes with " << before << " free");
    REQUIRE(s == 0x6A84);
    ++failures;
    CHECK(c->free_bytes() == before);
    c->expect(apdu::encode_command(
                  0x00, 0xA4, 0x00, 0x0C,
                  Bytes{static_cast<std::uint8_t>(fid >> 8), static_cast<std::uint8_t>(fid)}),
              0x6A82);
    size /= 2;
  }
  CHECK(failures == 15);
  // DFs take a node only; then PINs take an object only.
  for (;; ++fid) {
    c->expect("00A4000C", 0x9000);
    const std::uint32_t before = c->free_bytes();
    const sw::Sw s = c->sw(create_file(df_spec(fid)));
    if (s == 0x9000) continue;
    REQUIRE(s == 0x6A84);
    CHECK(c->free_bytes() == before);
    break;
  }
  c->expect("00A4000C", 0x9000);
  for (std::uint8_t ref = 1;; ++ref) {
    REQUIRE(ref <= 31);
    host::perso::PinDefinition pin;
    pin.ref = ref;
    const std::uint32_t before = c->free_bytes();
    const sw::Sw s = c->sw(apdu::encode_command(0x00, 0xDA, 0x00, 0xA1, pin.encode()));
    if (s == 0x9000) continue;
    REQUIRE(s == 0x6A84);
    CHECK(c->free_bytes() == before);
    c->expect(apdu::encode_command(0x00, 0x20, 0x00, ref), 0x6A88);
    break;
  }
  CHECK(c->free_bytes() < 100);
  CHECK(c->expect("00CADF2100", 0x9000).size() == 11);
  // Whatever was created is intact: the first, largest EF is there.
  CHECK(tag_value(c->expect("00A4000402100000", 0x9000), 0x80) == hex("7FFF"));
}

// ---------------------------------------------------------------- 6.5 DELETE, (DE)ACTIVATE

TEST_CASE("DELETE FILE: subtree, memory returned and wiped, channels, PINs", "[fs][delete]") {
  auto c = TestCard::personalizing();
  c->expect(create_file(transparent_ef(0x2000, 4)), 0x9000);
  c->expect("00A4000C", 0x9000);
  const std::uint32_t free = c->free_bytes();
  auto build = [&] {
    c->expect(create_file(df_spec(0x1000)), 0x9000);
    host::perso::PinDefinition pin;
    pin.initial_value = ascii("9876");
    c->expect(apdu::encode_command(0x00, 0xDA, 0x00, 0xA1, pin.encode()), 0x9000);
    c->expect(create_file(transparent_ef(0x1001, 32)), 0x9000);
    c->expect(apdu::encode_command(0x00, 0xD6, 0x00, 0x00, ascii("SECRETPATTERN-0123456789")),
              0x9000);
    c->expect("00A4000C021000", 0x9000);
    c->expect(create_file(df_spec(0x1100)), 0x9000);
    c->expect(create_file(transparent_ef(0x1101, 16)), 0x9000);
  };
  build();
  CHECK(c->free_bytes() < free);
  // Channel 1 inside the subtree, with the DF's PIN verified; channel 0 too.
  c->expect("00700001", 0x9000);
  c->expect("01A4080C06100011001101", 0x9000);
  c->expect("0120008104 39383736", 0x9000);
  c->expect("00A4080C021000", 0x9000);
  c->expect("0020008104 39383736", 0x9000);
  c->expect("00E40000", 0x9000);  // the current DF, and everything below it

  c->expect("00A4080C021000", 0x6A82);
  c->expect("00A4080C0410001100", 0x6A82);
  CHECK(c->free_bytes() == free);
  CHECK_FALSE(memory_contains(*c, "SECRETPATTERN"));
  // Both channels fell back to the MF.
  c->expect("00B0000001", 0x6986);
  c->expect("01B0000001", 0x6986);
  c->expect("00A4020C022000", 0x9000);
  c->expect("01A4020C022000", 0x9000);
  // The same DF and PIN again: nothing of the old verification survives.
  c->expect("00A4000C", 0x9000);
  build();
  c->expect("00A4080C021000", 0x9000);
  c->expect("00200081", 0x63C3);
  c->expect("01A4080C021000", 0x9000);
  c->expect("01200081", 0x63C3);
}

TEST_CASE("DELETE FILE: an EF by FID or as the current EF, errors", "[fs][delete]") {
  auto c = TestCard::personalizing();
  const std::uint32_t free = c->free_bytes();
  c->expect(create_file(transparent_ef(0x1001, 16)), 0x9000);
  c->expect(create_file(transparent_ef(0x1002, 16)), 0x9000);
  c->expect("00E4000001", 0x6700);
  c->expect("00E4000003100100", 0x6700);
  c->expect("00E40100", 0x6A86);
  c->expect("00E4000102 1001", 0x6A86);
  c->expect("00E4000002 1003", 0x6A82);
  c->expect("00E4000002 1001", 0x9000);  // a child of the current DF (the MF)
  c->expect("00A4000C021001", 0x6A82);
  c->expect("00A4000C021002", 0x9000);
  c->expect("00040000", 0x9000);  // a deactivated file can be deleted
  c->expect("00E40000", 0x9000);  // the current EF
  c->expect("00A4000C021002", 0x6A82);
  CHECK(c->free_bytes() == free);
  c->expect("00B0000001", 0x6986);
  c->expect("00E40000", 0x6985);  // the MF
  c->expect("00A4000C023F00", 0x9000);
  c->expect("00E40000", 0x6985);
  c->expect(create_file(transparent_ef(0x1001, 16)), 0x9000);
  c->card().reset();  // no rights
  c->expect("00E4000002 1001", 0x6982);
  c->expect("00A4000C021001", 0x9000);
}

TEST_CASE("DELETE FILE: an EF larger than the journal", "[fs][delete][memory]") {
  auto c = TestCard::personalizing();
  const std::uint32_t free = c->free_bytes();
  c->expect(create_file(transparent_ef(0x1001, 0x6000)), 0x9000);
  c->expect("00D6500004 DEADBEEF", 0x9000);
  CHECK(c->sw("00E40000") == 0x9000);
  CHECK(c->sw("00A4000C021001") == 0x6A82);
  CHECK(c->free_bytes() == free);
}

TEST_CASE("DEACTIVATE FILE of a DF: nothing inside it is usable until it is activated",
          "[fs][lcs]") {
  auto c = TestCard::personalizing();
  c->expect(create_file(df_spec(0x1000, hex("F0414243"))), 0x9000);
  // PIN 01 of the DF: 4 digits "1234", 3 tries.
  c->expect("00DA00A1 15 A113 830101 800101 81020404 820103 840431323334", 0x9000);
  c->expect(create_file(transparent_ef(0x1001, 4, 1)), 0x9000);
  c->expect("00D6000004 01020304", 0x9000);
  c->expect(create_file(df_spec(0x1100)), 0x9000);
  c->expect(create_file(transparent_ef(0x1101, 4)), 0x9000);
  c->expect("00A4000C021000", 0x9000);
  c->expect("00040000", 0x9000);  // the DF

  // The DF and everything below it select with 6283; contents, PINs and
  // CREATE FILE answer 6985.
  c->expect("00A4040C04F0414243", 0x6283);
  c->expect("00A4000C021001", 0x6283);
  c->expect("00B0000004", 0x6985);
  c->expect("00D6000001AA", 0x6985);
  c->expect("00B0810004", 0x6985);
  c->expect("00A4080C06100011001101", 0x6283);  // a file in a DF below it
  c->expect("00B0000004", 0x6985);
  c->expect("0020008104 31323334", 0x6985);
  c->expect("00200081", 0x6985);
  c->expect("0024008108 3132333435363738", 0x6985);
  c->expect(create_file(transparent_ef(0x1102, 4)), 0x6985);
  c->expect("00A4000C021000", 0x6283);

  // Activated again: all of it is back.
  c->expect("00A4000C", 0x9000);
  c->expect("0044000002 1000", 0x9000);
  c->expect("00A4040C04F0414243", 0x9000);
  c->expect("0020008104 31323334", 0x9000);
  c->expect("00A4000C021001", 0x9000);
  CHECK(c->expect("00B0000004", 0x9000) == hex("01020304"));
}

TEST_CASE("DEACTIVATE/ACTIVATE FILE: 6283 on select, 6985 on contents", "[fs][lcs]") {
  auto c = TestCard::personalizing();
  c->expect(create_file(df_spec(0x1000)), 0x9000);
  c->expect(create_file(transparent_ef(0x1001, 8, 1)), 0x9000);
  c->expect("00D6000004 01020304", 0x9000);
  c->expect(create_file(record_ef(FileType::linear_variable, 0x1002, 8, 4, 2)), 0x9000);
  c->expect("00E2000002 AABB", 0x9000);
  c->expect("00A4000C021001", 0x9000);
  c->expect("00040000", 0x9000);  // the current EF
  Bytes fcp = c->expect("00A4000402100100", 0x6283);
  CHECK(tag_value(fcp, 0x8A) == hex("04"));
  c->expect("00A4000C021001", 0x6283);
  c->expect("00B0000001", 0x6985);
  c->expect("00D6000001AA", 0x6985);
  c->expect("00B0810001", 0x6985);
  c->expect("00440000", 0x9000);
  CHECK(tag_value(c->expect("00A4000402100100", 0x9000), 0x8A) == hex("05"));
  CHECK(c->expect("00B0000004", 0x9000) == hex("01020304"));

  c->expect("0004000002 1002", 0x9000);  // a child by FID
  c->expect("00B2011400", 0x6985);
  c->expect("00DC011401CC", 0x6985);
  c->expect("00E2001001CC", 0x6985);
  c->expect("00A4000C021002", 0x6283);
  c->expect("00B2010400", 0x6985);
  c->expect("0044000002 1002", 0x9000);
  CHECK(c->expect("00B2010400", 0x9000) == hex("AABB"));
  // The current DF when no EF is current.
  c->expect("00A4000C021000", 0x9000);
  c->expect("00040000", 0x9000);
  c->expect("00A4000C021000", 0x6283);
  c->expect("00A4000C", 0x9000);
  c->expect("0044000002 1000", 0x9000);
  c->expect("00A4000C021000", 0x9000);
  // Errors.
  for (const char* ins : {"04", "44"}) {
    INFO("INS " << ins);
    c->expect(std::string("00") + ins + "0100", 0x6A86);
    c->expect(std::string("00") + ins + "000102 1001", 0x6A86);
    c->expect(std::string("00") + ins + "000001 10", 0x6700);
    c->expect(std::string("00") + ins + "000003 100100", 0x6700);
    c->expect(std::string("00") + ins + "000002 1003", 0x6A82);
  }
  c->card().reset();  // no rights
  c->expect("00A4080C0410001001", 0x9000);
  c->expect("00040000", 0x6982);
  c->expect("00440000", 0x6982);
}

// ---------------------------------------------------------------- 7.2 access rules

TEST_CASE("access rules: never, PIN, key, both, secure messaging, global PIN", "[fs][rules]") {
  auto c = TestCard::lab();
  c->expect("00A4040C04F04C4142", 0x9000);
  // 6001: read key 85; update PIN 81 and key 85.
  c->expect("00A4020C026001", 0x9000);
  c->expect("00B0000001", 0x6982);
  c->expect("00D6000001AA", 0x6982);
  c->expect("0020008104 31313131", 0x9000);
  c->expect("00D6000001AA", 0x6982);  // the PIN alone is not enough
  c->expect("00B0000001", 0x6982);
  REQUIRE(c->authenticate(test::kLabKey, 0x85) == 0x9000);
  c->expect("00D6000001AA", 0x9000);
  CHECK(c->expect("00B0000001", 0x9000) == hex("AA"));
  c->expect("00040000", 0x6982);  // deactivate: never
  c->expect("00E40000", 0x6982);  // delete: never
  // 6002: secure messaging cannot be met, whatever else holds.
  c->expect("00A4020C026002", 0x9000);
  c->expect("00B0000001", 0x6982);
  c->expect("00D6000001AA", 0x6982);
  // 6003: read with the global PIN 01; deactivate/activate PIN 81; delete key 85.
  c->expect("00A4020C026003", 0x9000);
  c->expect("00B0000001", 0x6982);
  c->expect("0020000104 30303030", 0x9000);
  c->expect("00B0000001", 0x9000);
  c->expect("00040000", 0x9000);
  c->expect("00A4020C026003", 0x6283);
  c->expect("00440000", 0x9000);
  // 6101 in the unnamed DF 6100 of LAB: PIN 81 is LAB's.
  c->expect("00A4080C06600061006101", 0x9000);
  CHECK(c->expect("00B0000008", 0x9000) == Bytes(8, 0x00));
}

TEST_CASE("access rules: a verification counts only while it holds", "[fs][rules]") {
  auto c = TestCard::lab();
  c->expect("00A4040C04F04C4142", 0x9000);
  c->expect("00A4080C06600061006101", 0x9000);
  c->expect("00B0000001", 0x6982);
  c->expect("0020008104 31313131", 0x9000);
  c->expect("00B0000001", 0x9000);
  c->expect("0020FF81", 0x9000);
  c->expect("00B0000001", 0x6982);
  // DELETE under AR(delete) = key 85.
  c->expect("00A4080C0460006003", 0x9000);
  c->expect("00E40000", 0x6982);
  REQUIRE(c->authenticate(test::kLabKey, 0x85) == 0x9000);
  c->expect("00E40000", 0x9000);
  c->expect("00A4020C026003", 0x6A82);
  // 6201 in the nested application LAB2: PIN 81 does not reach LAB's.
  c->expect("00A4040C05F04C414232", 0x9000);
  c->expect("00200081", 0x6A88);
  c->expect("00A4020C026201", 0x9000);
  c->expect("00B0000001", 0x6982);
}
