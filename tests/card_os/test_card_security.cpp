// Security commands against specs/card-os.md sections 6.6-6.10, 6.12, 7.3 and
// 7.4: VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER, GET CHALLENGE,
// EXTERNAL AUTHENTICATE, the firewall and PUT DATA.
#include <string>

#include "common/iso7816/tlv.hpp"
#include "support/test_card.hpp"

using namespace juki;
using juki::test::ascii;
using juki::test::hex;
using juki::test::kSelectDemo;
using juki::test::TestCard;

namespace {

const std::string kSelectLab = "00A4040C04F04C4142";

// AES-CMAC of a challenge, computed on the host.
Bytes proof(ByteView key, ByteView challenge) {
  auto mac = host::crypto::aes_cmac(key, challenge);
  REQUIRE(mac.ok());
  return *mac;
}
Bytes external_authenticate(std::uint8_t ref, ByteView proof_bytes, std::uint8_t cla = 0x00) {
  return apdu::encode_command(cla, 0x82, 0x00, ref, proof_bytes);
}
// PUT DATA of the template `tag` around `inner` (hex).
Bytes put_data(std::uint8_t tag, const std::string& inner) {
  Bytes value = hex(inner);
  Bytes templ;
  tlv::append(templ, tag, value);
  return apdu::encode_command(0x00, 0xDA, 0x00, tag, templ);
}

}  // namespace

// ---------------------------------------------------------------- 6.6 VERIFY

TEST_CASE("VERIFY: every row of the table", "[security][verify]") {
  auto c = TestCard::lab();
  c->expect(kSelectLab, 0x9000);
  c->expect("00200099", 0x6A88);  // no such PIN
  c->expect("0020009904 31313131", 0x6A88);
  c->expect("00200005", 0x6A88);
  c->expect("00200083", 0x6984);  // no value yet
  c->expect("0020008304 31323334", 0x6984);
  c->expect("00200081", 0x63C3);  // not verified: tries left, nothing consumed
  c->expect("00200081", 0x63C3);
  // Wrong length or format: nothing consumed.
  c->expect("0020008103 313131", 0x6700);
  c->expect("0020008109 313131313131313131", 0x6700);
  c->expect("0020008104 3131313A", 0x6A80);
  c->expect("0020008105 3131314131", 0x6A80);
  c->expect("00200081", 0x63C3);
  // Wrong, then right: the counter is restored.
  c->expect("0020008104 32323232", 0x63C2);
  c->expect("00200081", 0x63C2);
  c->expect("0020008108 3131313131313131", 0x63C1);
  c->expect("0020008104 31313131", 0x9000);
  c->expect("00200081", 0x9000);  // verified on this channel
  c->expect("0020FF81", 0x9000);  // P1 FF: no longer verified
  c->expect("00200081", 0x63C3);
  c->expect("0020FF99", 0x6A88);
  c->expect("00200181", 0x6A86);
  c->expect("0020FE8104 31313131", 0x6A86);
  c->expect("00208081", 0x6A86);
}

TEST_CASE("VERIFY: 63C2, 63C1, 63C0, then blocked for good", "[security][verify][req:K8]") {
  auto c = TestCard::active();
  c->expect(kSelectDemo, 0x9000);
  c->expect("0020008104 39393939", 0x63C2);
  c->expect("0020008104 39393939", 0x63C1);
  c->expect("0020008104 39393939", 0x63C0);
  c->expect("0020008104 31323334", 0x6983);
  c->expect("0020008104 39393939", 0x6983);
  c->expect("00200081", 0x6983);
  c->expect("0020008103 313233", 0x6983);
  auto still_blocked = [&] {
    c->expect("00200081", 0x6983);
    c->expect("0020008104 31323334", 0x6983);
  };
  c->expect(kSelectDemo, 0x9000);  // reselection
  still_blocked();
  c->card().reset();
  c->expect(kSelectDemo, 0x9000);
  still_blocked();
  c->power_cycle();
  c->expect(kSelectDemo, 0x9000);
  still_blocked();
  c->expect("00A4020C025002", 0x9000);
  c->expect("00B0000001", 0x6982);
}

TEST_CASE("VERIFY: the verified state ends at reset, power-off and reselection",
          "[security][verify][firewall]") {
  auto c = TestCard::lab();
  auto verify = [&] {
    c->expect(kSelectLab, 0x9000);
    c->expect("0020008104 31313131", 0x9000);
    c->expect("00200081", 0x9000);
  };
  SECTION("reset") {
    verify();
    c->card().reset();
    c->expect(kSelectLab, 0x9000);
    c->expect("00200081", 0x63C3);
  }
  SECTION("power-off") {
    verify();
    c->power_cycle();
    c->expect(kSelectLab, 0x9000);
    c->expect("00200081", 0x63C3);
  }
  SECTION("selecting the application again, by name or FID") {
    verify();
    c->expect(kSelectLab, 0x9000);
    c->expect("00200081", 0x63C3);
    verify();
    c->expect("00A4080C026000", 0x9000);
    c->expect("00200081", 0x63C3);
  }
  SECTION("selecting another application, or the MF") {
    verify();
    c->expect(kSelectDemo, 0x9000);
    c->expect(kSelectLab, 0x9000);
    c->expect("00200081", 0x63C3);
    verify();
    c->expect("00A4000C", 0x9000);
    c->expect("00A4010C026000", 0x9000);
    c->expect("00200081", 0x63C3);
  }
  SECTION("not when selecting inside the application") {
    verify();
    c->expect("00A4020C026001", 0x9000);
    c->expect("00200081", 0x9000);
    c->expect("00A4080C0460006100", 0x9000);
    c->expect("00200081", 0x9000);  // from DF 6100, 81 is LAB's PIN
    c->expect("00A4030C", 0x9000);  // the parent: LAB itself, selected again
    c->expect("00200081", 0x63C3);
  }
  SECTION("a global PIN stays until reset") {
    c->expect("0020000104 30303030", 0x9000);
    c->expect(kSelectLab, 0x9000);
    c->expect("00200001", 0x9000);
    c->expect(kSelectDemo, 0x9000);
    c->expect(kSelectLab, 0x9000);
    c->expect("00200001", 0x9000);
    c->card().reset();
    c->expect("00200001", 0x63C3);
  }
}

// ---------------------------------------------------------------- 6.7 CHANGE REFERENCE DATA

TEST_CASE("CHANGE REFERENCE DATA P1=00: right, wrong, blocked, format", "[security][change]") {
  auto c = TestCard::active();
  c->expect(kSelectDemo, 0x9000);
  c->expect("0024009908 3132333435363738", 0x6A88);
  c->expect("0024028108 3132333435363738", 0x6A86);
  c->expect("0024FF8108 3132333435363738", 0x6A86);
  // Lengths and formats: nothing consumed.
  c->expect("0024008104 31323334", 0x6700);
  c->expect("0024008107 31323334353637", 0x6700);
  c->expect("0024008109 313233343536373839", 0x6700);
  c->expect("0024008108 3132333A35363738", 0x6A80);
  c->expect("0024008108 313233343536373A", 0x6A80);  // the new value, before any try
  c->expect("00200081", 0x63C3);
  // Wrong old value.
  c->expect("0024008108 3939393935363738", 0x63C2);
  c->expect("00200081", 0x63C2);
  // Right: new value and counter together, and verified on this channel.
  c->expect("0024008108 3132333435363738", 0x9000);
  c->expect("00200081", 0x9000);
  c->expect("00A4020C025002", 0x9000);
  c->expect("00B0000001", 0x9000);
  c->expect("0020FF81", 0x9000);
  c->expect("00200081", 0x63C3);
  c->expect("0020008104 31323334", 0x63C2);
  c->expect("0020008104 35363738", 0x9000);
  // P1=01 on a PIN that has a value.
  c->expect("0024018104 31323334", 0x6985);
  // Blocked by wrong old values.
  c->power_cycle();
  c->expect(kSelectDemo, 0x9000);
  c->expect("0024008108 3939393931313131", 0x63C2);
  c->expect("0024008108 3939393931313131", 0x63C1);
  c->expect("0024008108 3939393931313131", 0x63C0);
  c->expect("0024008108 3536373831313131", 0x6983);
  c->expect("0020008104 35363738", 0x6983);
}

TEST_CASE("CHANGE REFERENCE DATA: variable-length PIN padded with FF, unset PIN",
          "[security][change]") {
  auto c = TestCard::lab();
  c->expect(kSelectLab, 0x9000);
  c->expect("0024008310 31323334FFFFFFFF31323334FFFFFFFF", 0x6984);  // no value yet
  // PIN 01: 4..8 digits, "1111".
  c->expect("0024008110 31313131FFFFFFFF 3132333435FFFFFF", 0x9000);
  c->expect("00200081", 0x9000);
  c->expect("0020FF81", 0x9000);
  c->expect("0020008104 31313131", 0x63C2);
  c->expect("0020008105 3132333435", 0x9000);
  c->expect("0024008110 3132333435FFFFFF 3132333435363738", 0x9000);
  c->expect("0020008108 3132333435363738", 0x9000);
  c->expect("0024008110 31323334353637FF 3132333435363738", 0x63C2);
  // P1=01 sets a PIN without a value (not an activation PIN: the card stays as it is).
  c->expect("0024018304 3132333A", 0x6A80);
  c->expect("0024018303 313233", 0x6700);
  c->expect("0024018304 37373737", 0x9000);
  c->expect("0024018304 37373737", 0x6985);
  c->expect("0020008304 37373737", 0x9000);
  CHECK(c->expect("00CADF2000", 0x9000) == hex("DF200105"));
}

TEST_CASE("CHANGE REFERENCE DATA P1=01: activation moves issued to active",
          "[security][change][req:K7]") {
  auto c = TestCard::issued();
  c->expect(kSelectDemo, 0x9000);
  c->expect("0024008108 3132333435363738", 0x6985);  // only P1=01 in issued
  c->expect("0020008104 31323334", 0x6985);
  c->expect("0024018104 3132333A", 0x6A80);
  c->expect("0024018103 313233", 0x6700);
  c->expect("0024018105 3132333435", 0x6700);
  CHECK(c->expect("00CADF2000", 0x9000) == hex("DF200104"));
  c->expect("0024018104 31323334", 0x9000);
  CHECK(c->expect("00CADF2000", 0x9000) == hex("DF200105"));
  CHECK(c->card().atr().at(17) == 0x05);
  c->expect("0024018104 31323334", 0x6985);  // it has a value now
  c->expect("0020FF81", 0x9000);
  c->expect("0020008104 31323334", 0x9000);
  c->power_cycle();
  CHECK(c->expect("00CADF2000", 0x9000) == hex("DF200105"));
}

TEST_CASE("CHANGE REFERENCE DATA in issued: only P1=01 on an activation PIN",
          "[security][change][lifecycle][req:K7]") {
  auto c = TestCard::personalizing();
  TestCard::add_lab(*c);
  c->end_session();  // the sample layout opens a session of its own
  auto r = host::perso::personalize_sample(c->transport(), test::sample_secrets());
  REQUIRE(r.ok());
  c->expect(kSelectLab, 0x9000);
  c->expect("0024018304 31323334", 0x6985);  // PIN 03 has no value but does not activate
  c->expect("0024008110 31313131FFFFFFFF3132333435FFFFFF", 0x6985);
  CHECK(c->card().life_cycle() == card_os::LifeCycle::issued);
  c->expect(kSelectDemo, 0x9000);
  c->expect("0024018104 31323334", 0x9000);
  CHECK(c->card().life_cycle() == card_os::LifeCycle::active);
}

TEST_CASE("CHANGE REFERENCE DATA in issued on a missing PIN: 6985",
          "[security][change][lifecycle]") {
  auto c = TestCard::issued();
  CHECK(c->sw("0024008108 3132333435363738") == 0x6985);
  CHECK(c->sw("0024018104 31323334") == 0x6985);
  c->expect(kSelectDemo, 0x9000);
  CHECK(c->sw("0024018504 31323334") == 0x6985);
}

// ---------------------------------------------------------------- 6.8 RESET RETRY COUNTER

TEST_CASE("RESET RETRY COUNTER with the key policy", "[security][rrc]") {
  auto c = TestCard::active();
  c->expect(kSelectDemo, 0x9000);
  for (int i = 0; i < 3; ++i) c->sw("0020008104 39393939");
  c->expect("00200081", 0x6983);
  c->expect("002C0099", 0x6A88);
  c->expect("002C0281 04 35353535", 0x6982);  // key 83 not proved
  c->expect("002C0381", 0x6982);
  c->expect("002C0081 08 3132333435353535", 0x6A86);  // PUK P1s
  c->expect("002C0181 04 31323334", 0x6A86);
  c->expect("002C0481 04 31323334", 0x6A86);
  c->expect("002CFF81", 0x6A86);
  c->expect("002C0381 04 31323334", 0x6700);  // data with 03
  c->expect("002C0281", 0x6700);              // none with 02
  // A proof on another channel does not count.
  c->expect("00700001", 0x9000);
  c->expect("01A4040C09F04A554B4944454D4F", 0x9000);
  Bytes ch = c->expect("0184000010", 0x9000);
  c->expect(external_authenticate(0x83, proof(test::kResetKey, ch), 0x01), 0x9000);
  c->expect("002C0381", 0x6982);
  // With the key proved on this channel.
  REQUIRE(c->authenticate(test::kResetKey, 0x83) == 0x9000);
  c->expect("002C0281 04 3535353A", 0x6A80);
  c->expect("002C0281 03 353535", 0x6700);
  c->expect("002C0281 05 3535353535", 0x6700);
  c->expect("00200081", 0x6983);  // nothing was consumed or written
  c->expect("002C0281 04 35353535", 0x9000);
  c->expect("00200081", 0x63C3);  // unblocked, not verified
  c->expect("0020008104 31323334", 0x63C2);
  c->expect("0020008104 35353535", 0x9000);
  // P1=03: the counter only; the PIN is then verified on no channel.
  c->expect("01A4040C09F04A554B4944454D4F", 0x9000);
  c->expect("0120008104 35353535", 0x9000);
  for (int i = 0; i < 3; ++i) c->sw("0020008104 39393939");
  c->expect("00200081", 0x6983);
  c->expect("002C0381", 0x9000);
  c->expect("00200081", 0x63C3);
  c->expect("01200081", 0x63C3);
  c->expect("0020008104 35353535", 0x9000);
}

TEST_CASE("RESET RETRY COUNTER with a PUK", "[security][rrc]") {
  auto c = TestCard::lab();
  c->expect(kSelectLab, 0x9000);
  auto block = [&] {
    for (int i = 0; i < 3; ++i) c->sw("0020008104 39393939");
    c->expect("00200081", 0x6983);
  };
  block();
  c->expect("002C0281 04 32323232", 0x6A86);  // key P1s
  c->expect("002C0381", 0x6A86);
  c->expect("002C0181", 0x6700);
  c->expect("002C0081", 0x6700);
  c->expect("002C0081 08 3837363534333231", 0x6700);  // PUK without a new PIN
  c->expect("002C0181 08 383736353433323A", 0x6A80);  // PUK format: nothing consumed
  c->expect("002C0081 10 3837363534333231 3232323AFFFFFFFF", 0x6A80);  // new PIN format
  c->expect("002C0181 07 38373635343332", 0x6700);
  c->expect("00200082", 0x63C3);
  c->expect("00200081", 0x6983);
  // PUK and new PIN.
  c->expect("002C0081 10 3837363534333231 32323232FFFFFFFF", 0x9000);
  c->expect("00200081", 0x63C3);
  c->expect("0020008104 32323232", 0x9000);
  // PUK only: the counter.
  block();
  c->expect("002C0181 08 3837363534333231", 0x9000);
  c->expect("00200081", 0x63C3);
  c->expect("0020008104 32323232", 0x9000);
  // Wrong PUKs count down the PUK's own counter and block it.
  block();
  c->expect("002C0181 08 3131313131313131", 0x63C2);
  c->expect("00200082", 0x63C2);
  c->expect("002C0081 10 3131313131313131 33333333FFFFFFFF", 0x63C1);
  c->expect("002C0181 08 3131313131313131", 0x63C0);
  c->expect("002C0181 08 3837363534333231", 0x6983);
  c->expect("00200082", 0x6983);
  c->expect("00200081", 0x6983);
  c->power_cycle();
  c->expect(kSelectLab, 0x9000);
  c->expect("002C0181 08 3837363534333231", 0x6983);
}

TEST_CASE("RESET RETRY COUNTER: no policy, PUK without a value", "[security][rrc]") {
  auto c = TestCard::lab();
  c->expect(kSelectLab, 0x9000);
  c->expect("002C0083 08 3131313131313131", 0x6985);  // PIN 03: no policy
  c->expect("002C0183 04 31313131", 0x6985);
  c->expect("002C0283 04 31313131", 0x6985);
  c->expect("002C0383", 0x6985);
  c->expect("002C0182 08 3837363534333231", 0x6985);  // the PUK itself: no policy
  c->expect("002C0184 04 31323334", 0x6984);          // PIN 04: its PUK 03 has no value
  c->expect("002C0084 08 3132333434343434", 0x6984);
  c->expect("0020008404 34343434", 0x9000);
}

TEST_CASE("RESET RETRY COUNTER: a PUK or key that does not exist", "[security][rrc]") {
  auto c = TestCard::personalizing();
  c->expect(test::create_file(test::df_spec(0x1000)), 0x9000);
  host::perso::PinDefinition pin;
  pin.initial_value = ascii("1234");
  pin.unblock_kind = 1;  // PUK: PIN 09, which is not there
  pin.unblock_ref = 9;
  c->expect(apdu::encode_command(0x00, 0xDA, 0x00, 0xA1, pin.encode()), 0x9000);
  pin.ref = 2;
  pin.unblock_kind = 2;  // key 09, which is not there either
  c->expect(apdu::encode_command(0x00, 0xDA, 0x00, 0xA1, pin.encode()), 0x9000);
  c->expect("002C0181 04 31323334", 0x6984);
  c->expect("002C0081 08 3132333435363738", 0x6984);
  c->expect("002C0382", 0x6982);
  c->expect("002C0282 04 35363738", 0x6982);
}

// ---------------------------------------------------------------- 6.9 GET CHALLENGE

TEST_CASE("GET CHALLENGE: 8, 16 or 32 bytes, else 6C10", "[security][challenge]") {
  auto c = TestCard::active();
  CHECK(c->expect("0084000008", 0x9000).size() == 8);
  Bytes a = c->expect("0084000010", 0x9000);
  Bytes b = c->expect("0084000010", 0x9000);
  CHECK(a.size() == 16);
  CHECK(a != b);
  CHECK(c->expect("0084000020", 0x9000).size() == 32);
  CHECK(c->expect("00840000000010", 0x9000).size() == 16);  // extended Le
  for (const char* h : {"0084000001", "0084000007", "008400000F", "0084000011", "008400001F",
                        "0084000021", "0084000000", "00840000000000"}) {
    INFO(h);
    CHECK(c->send(h) == hex("6C10"));
  }
  c->expect("0084010010", 0x6A86);
  c->expect("0084000110", 0x6A86);
}

// ---------------------------------------------------------------- 6.10 EXTERNAL AUTHENTICATE

TEST_CASE("EXTERNAL AUTHENTICATE: challenge rules, errors, counter", "[security][auth]") {
  auto c = TestCard::active();
  c->expect(kSelectDemo, 0x9000);
  const Bytes zero(16, 0);
  c->expect(external_authenticate(0x83, zero), 0x6985);  // no challenge
  c->expect(external_authenticate(0x9F, zero), 0x6A88);
  c->expect(apdu::encode_command(0x00, 0x82, 0x01, 0x83, zero), 0x6A86);
  // Consumed by any other command in between.
  for (const char* between :
       {"00CADF2000", "00A4020C025001", "00200081", "00B0000001", "00A4020C029999"}) {
    INFO("between: " << between);
    Bytes ch = c->expect("0084000010", 0x9000);
    c->send(between);
    c->expect(external_authenticate(0x83, proof(test::kResetKey, ch)), 0x6985);
    c->expect(kSelectDemo, 0x9000);
  }
  // Proof length: 6700, the challenge is gone, no try is consumed.
  Bytes ch = c->expect("0084000010", 0x9000);
  c->expect(apdu::encode_command(0x00, 0x82, 0x00, 0x83, Bytes(8, 0)), 0x6700);
  c->expect(external_authenticate(0x83, proof(test::kResetKey, ch)), 0x6985);
  ch = c->expect("0084000010", 0x9000);
  c->expect(apdu::encode_command(0x00, 0x82, 0x00, 0x83, Bytes(17, 0)), 0x6700);
  // Wrong: 63C2; the attempt consumed the challenge.
  ch = c->expect("0084000010", 0x9000);
  c->expect(external_authenticate(0x83, zero), 0x63C2);
  c->expect(external_authenticate(0x83, proof(test::kResetKey, ch)), 0x6985);
  // Right: 9000 and the counter back to 3.
  REQUIRE(c->authenticate(test::kResetKey, 0x83) == 0x9000);
  ch = c->expect("0084000010", 0x9000);
  c->expect(external_authenticate(0x83, zero), 0x63C2);
  // 8- and 32-byte challenges are proved the same way.
  ch = c->expect("0084000008", 0x9000);
  c->expect(external_authenticate(0x83, proof(test::kResetKey, ch)), 0x9000);
  ch = c->expect("0084000020", 0x9000);
  c->expect(external_authenticate(0x83, proof(test::kResetKey, ch)), 0x9000);
  // The wrong key blocks after three failures, for good.
  CHECK(c->authenticate(test::kAdminKey, 0x83) == 0x63C2);
  CHECK(c->authenticate(test::kAdminKey, 0x83) == 0x63C1);
  CHECK(c->authenticate(test::kAdminKey, 0x83) == 0x63C0);
  CHECK(c->authenticate(test::kResetKey, 0x83) == 0x6983);
  c->power_cycle();
  c->expect(kSelectDemo, 0x9000);
  CHECK(c->authenticate(test::kResetKey, 0x83) == 0x6983);
  c->expect("002C0381", 0x6982);
}

TEST_CASE("EXTERNAL AUTHENTICATE: the challenge belongs to its channel", "[security][auth]") {
  auto c = TestCard::active();
  c->expect("00700001", 0x9000);
  c->expect(kSelectDemo, 0x9000);
  c->expect("01A4040C09F04A554B4944454D4F", 0x9000);
  // A command on another channel does not consume it.
  Bytes ch = c->expect("0084000010", 0x9000);
  c->expect("01CADF2000", 0x9000);
  c->expect("01A4020C025001", 0x9000);
  c->expect(external_authenticate(0x83, proof(test::kResetKey, ch)), 0x9000);
  // A challenge of channel 1 is not one of channel 0.
  ch = c->expect("0184000010", 0x9000);
  c->expect(external_authenticate(0x83, proof(test::kResetKey, ch)), 0x6985);
  c->expect(external_authenticate(0x83, proof(test::kResetKey, ch), 0x01), 0x9000);
}

// 6.9: any command that passes the class check on the channel takes the
// challenge away, whatever its outcome: also one refused at the instruction,
// life-cycle or case check, MANAGE CHANNEL, and a GET CHALLENGE that fails.
TEST_CASE("EXTERNAL AUTHENTICATE: any command in between consumes the challenge",
          "[security][auth]") {
  auto c = TestCard::active();
  c->expect(kSelectDemo, 0x9000);
  for (const char* between : {"00FF0000", "00B00000", "00DA00A10100", "00700001", "00708001",
                              "0084000001", "0084010010", "80A4000C023F00"}) {
    INFO("between: " << between);
    Bytes ch = c->expect("0084000010", 0x9000);
    c->send(between);
    CHECK(c->sw(external_authenticate(0x83, proof(test::kResetKey, ch))) == 0x6985);
  }
  // Refused at the class check: not a command of this channel, the challenge stays.
  for (const char* between : {"0CA4000C023F00", "10A4000C023F00", "FFA4000C023F00"}) {
    INFO("between: " << between);
    Bytes ch = c->expect("0084000010", 0x9000);
    c->send(between);
    CHECK(c->sw(external_authenticate(0x83, proof(test::kResetKey, ch))) == 0x9000);
  }
}

// ---------------------------------------------------------------- 7.3 firewall

TEST_CASE("firewall: PINs and keys stay in their application", "[security][firewall][req:K5]") {
  auto c = TestCard::lab();
  c->expect("00700001", 0x9000);
  // Channel 0 in JUKIDEMO with its PIN 81, channel 1 in LAB.
  c->expect(kSelectDemo, 0x9000);
  c->expect("0020008104 31323334", 0x9000);
  c->expect("01A4040C04F04C4142", 0x9000);
  c->expect("01A4080C06600061006101", 0x9000);  // read: LAB's PIN 81
  c->expect("01B0000001", 0x6982);
  c->expect("01200081", 0x63C3);
  // On channel 0 too: going to LAB, JUKIDEMO's PIN 81 is not LAB's PIN 81.
  c->expect("00A4080C06600061006101", 0x9000);
  c->expect("00B0000001", 0x6982);
  c->expect("00200081", 0x63C3);
  // Specific references resolve up to the application, never beyond.
  c->expect(kSelectDemo, 0x9000);
  c->expect("00200082", 0x6A88);                                 // LAB's PUK
  c->expect(external_authenticate(0x85, Bytes(16, 0)), 0x6A88);  // LAB's key
  c->expect("00A4040C05F04C414232", 0x9000);                     // LAB2 inside LAB
  c->expect("00200081", 0x6A88);
  c->expect("00200082", 0x6A88);
  c->expect("0084000010", 0x9000);
  c->expect(external_authenticate(0x85, Bytes(16, 0)), 0x6A88);
  c->expect("00200001", 0x63C3);  // a global reference is the MF's
  // A key proved in an application is forgotten when the channel leaves it.
  c->expect(kSelectDemo, 0x9000);
  REQUIRE(c->authenticate(test::kResetKey, 0x83) == 0x9000);
  c->expect("00A4000C", 0x9000);
  c->expect(kSelectDemo, 0x9000);
  c->expect("002C0381", 0x6982);
  REQUIRE(c->authenticate(test::kResetKey, 0x83) == 0x9000);
  c->expect("00A4020C025001", 0x9000);  // an EF of the same application
  c->expect("002C0381", 0x9000);
  c->expect(kSelectLab, 0x9000);
  c->expect("00200082", 0x63C3);
  c->expect("00A4080C0460006100", 0x9000);  // unnamed DF inside LAB
  c->expect("00200082", 0x63C3);
}

// ---------------------------------------------------------------- 6.12 PUT DATA

TEST_CASE("PUT DATA: template errors answer 6A80 and define nothing", "[security][putdata]") {
  auto c = TestCard::personalizing();
  c->expect(test::create_file(test::df_spec(0x1000)), 0x9000);
  const std::uint32_t free = c->free_bytes();
  const char* bad_pins[] = {
      "800101 81020404 820103",                      // no 83
      "830101 81020404 820103",                      // no 80
      "830101 800101 820103",                        // no 81
      "830101 800101 81020404",                      // no 82
      "830100 800101 81020404 820103",               // reference 0
      "830120 800101 81020404 820103",               // reference 32
      "83020101 800101 81020404 820103",             //
      "830101 800100 81020404 820103",               // format 0
      "830101 800104 81020404 820103",               // format 4
      "830101 800101 81020004 820103",               // minimum 0
      "830101 800101 81020504 820103",               // minimum > maximum
      "830101 800101 81020411 820103",               // maximum 17
      "830101 800101 810104 820103",                 // 81 of 1 byte
      "830101 800101 81020404 820100",               // retry limit 0
      "830101 800101 81020404 820110",               // retry limit 16
      "830101 800101 81020404 820103 84043132333A",  // initial value not digits
      "830101 800101 81020404 820103 8403313233",    // initial value too short
      "830101 800101 81020404 820103 850101",        // flag 01 (a key flag)
      "830101 800101 81020404 820103 850104",        //
      "830101 800101 81020404 820103 86020302",      // unblock kind 3
      "830101 800101 81020404 820103 860101",        // 86 of 1 byte
      "830101 800101 81020404 820103 86020100",      // unblock reference 0
      "830101 800101 81020404 820103 86020120",      // unblock reference 32
      "830101 800101 81020404 820103 870100",        // unknown tag
      "830101 830101 800101 81020404 820103",        // repeated tag
      "830101 800101 81020404 820103 820103",        //
      "830101 800101 81020404 8201",                 // truncated
  };
  for (const char* inner : bad_pins) {
    INFO("A1 " << inner);
    CHECK(c->sw(put_data(0xA1, inner)) == 0x6A80);
  }
  const std::string key16 = "8410000102030405060708090A0B0C0D0E0F";
  const std::string bad_keys[] = {
      "800101 820103 " + key16,                                       // no 83
      "830102 820103 " + key16,                                       // no 80
      "830102 800101 820103",                                         // no 84
      "830102 800101 " + key16,                                       // no 82
      "830100 800101 820103 " + key16,                                // reference 0
      "830120 800101 820103 " + key16,                                // reference 32
      "830102 800102 820103 " + key16,                                // algorithm 2
      "830102 800101 820100 " + key16,                                // retry limit 0
      "830102 800101 820110 " + key16,                                // retry limit 16
      "830102 800101 820103 840F000102030405060708090A0B0C0D0E",      // 15 bytes
      "830102 800101 820103 8411000102030405060708090A0B0C0D0E0F10",  // 17 bytes
      "830102 800101 820103 850104 " + key16,                         // unknown flag
      "830102 800101 820103 81020404 " + key16,                       // a PIN tag
      "830102 800101 820103 86020103 " + key16,                       //
      "830102 800101 820103 870100 " + key16,                         // unknown tag
      "830102 800101 800101 820103 " + key16,                         // repeated tag
  };
  for (const std::string& inner : bad_keys) {
    INFO("A2 " << inner);
    CHECK(c->sw(put_data(0xA2, inner)) == 0x6A80);
  }
  // The template tag must be P2's; nothing after it.
  Bytes pin_as_key = put_data(0xA1, "830101 800101 81020404 820103");
  pin_as_key[3] = 0xA2;
  CHECK(c->sw(pin_as_key) == 0x6A80);
  Bytes key_as_pin = put_data(0xA2, "830102 800101 820103 " + key16);
  key_as_pin[3] = 0xA1;
  CHECK(c->sw(key_as_pin) == 0x6A80);
  Bytes trailing = put_data(0xA1, "830101 800101 81020404 820103");
  trailing.push_back(0x00);
  trailing[4] += 1;
  CHECK(c->sw(trailing) == 0x6A80);
  // P1-P2.
  c->expect("00DA00A305A3038301 01", 0x6A88);
  c->expect("00DA01A105A1038301 01", 0x6A88);
  c->expect("00DA000005A1038301 01", 0x6A88);
  CHECK(c->free_bytes() == free);
  c->expect("00200081", 0x6A88);
  c->expect("00200001", 0x6A88);

  // Valid ones.
  c->expect(put_data(0xA1, "830101 800101 81020404 820103 840431323334"), 0x9000);
  c->expect(put_data(0xA2, "830102 800101 820103 " + key16), 0x9000);
  c->expect(
      put_data(0xA2, "830103 800101 820103 8418000102030405060708090A0B0C0D0E0F1011121314151617"),
      0x9000);
  c->expect("00200081", 0x63C3);
}

TEST_CASE("PUT DATA: replacing an object, rights, states", "[security][putdata]") {
  auto c = TestCard::personalizing();
  c->expect(test::create_file(test::df_spec(0x1000)), 0x9000);
  host::perso::PinDefinition pin;
  pin.initial_value = ascii("1234");
  c->expect(apdu::encode_command(0x00, 0xDA, 0x00, 0xA1, pin.encode()), 0x9000);
  c->expect("00700001", 0x9000);
  c->expect("01A4080C021000", 0x9000);
  c->expect("0120008104 31323334", 0x9000);
  c->expect("0020008104 31323334", 0x9000);
  const std::uint32_t free = c->free_bytes();
  pin.initial_value = ascii("5678");
  c->expect(apdu::encode_command(0x00, 0xDA, 0x00, 0xA1, pin.encode()), 0x9000);
  CHECK(c->free_bytes() == free);  // replaced, not added
  c->expect("00200081", 0x63C3);   // no longer verified on any channel
  c->expect("01200081", 0x63C3);
  c->expect("0020008104 31323334", 0x63C2);
  c->expect("0020008104 35363738", 0x9000);
  // Channel 1 has no personalization rights.
  c->expect(apdu::encode_command(0x01, 0xDA, 0x00, 0xA1, pin.encode()), 0x6982);
  c->expect(apdu::encode_command(0x01, 0xE0, 0x00, 0x00,
                                 juki::fcp::encode_fcp(test::transparent_ef(0x1001, 8), 0)),
            0x6982);
  // Nor has channel 0 after a reset or power cycle.
  c->card().reset();
  c->expect(apdu::encode_command(0x00, 0xDA, 0x00, 0xA1, pin.encode()), 0x6982);
  c->expect("00DA00A1 03 A10100", 0x6982);  // rights before the template
  c->open_personalization(test::kTransportKey);
  c->expect(apdu::encode_command(0x00, 0xDA, 0x00, 0xA1, pin.encode()), 0x9000);
  c->power_cycle();
  c->expect(apdu::encode_command(0x00, 0xDA, 0x00, 0xA1, pin.encode()), 0x6982);
  // Outside personalization: 6985, whatever the rights.
  auto a = TestCard::active();
  a->expect(apdu::encode_command(0x00, 0xDA, 0x00, 0xA1, pin.encode()), 0x6985);
  CHECK(a->authenticate(test::kTransportKey, 0x01) == 0x6985);  // retired at SET STATUS
  a->expect(apdu::encode_command(0x00, 0xDA, 0x00, 0xA1, pin.encode()), 0x6985);
  auto i = TestCard::issued();
  i->expect(apdu::encode_command(0x00, 0xDA, 0x00, 0xA1, pin.encode()), 0x6985);
}
