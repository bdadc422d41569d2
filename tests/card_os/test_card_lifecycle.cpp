// Life cycle against specs/card-os.md sections 4, 5, 6.11, 6.13 and 6.14:
// what each state admits, the transport key, SET STATUS, TERMINATE CARD
// USAGE, GET DATA and personalization rights.
#include <memory>
#include <string>

#include "support/test_card.hpp"

using namespace juki;
using card_os::LifeCycle;
using juki::test::hex;
using juki::test::kSelectDemo;
using juki::test::TestCard;

namespace {

enum State { T, P, I, A, X, kStates };
const char* const kStateNames[kStates] = {"transport-locked", "personalization", "issued", "active",
                                          "terminated"};

// One command of table 2.2 and its answer in each state. In every state the
// card was just reset; issued and active cards then selected the sample
// application, the others are on the MF. 6985 marks "not admitted"; the other
// answers show the command got past the life-cycle check.
struct Probe {
  const char* name;
  const char* apdu;
  sw::Sw in[kStates];
};
const Probe kProbes[] = {
    {"SELECT", "00A4000C023F00", {0x6985, 0x9000, 0x9000, 0x9000, 0x6985}},
    {"READ BINARY", "00B0000001", {0x6985, 0x6986, 0x6985, 0x6986, 0x6985}},
    {"UPDATE BINARY", "00D6000001AA", {0x6985, 0x6986, 0x6985, 0x6986, 0x6985}},
    {"READ RECORD", "00B2010400", {0x6985, 0x6986, 0x6985, 0x6986, 0x6985}},
    {"UPDATE RECORD", "00DC010401AA", {0x6985, 0x6986, 0x6985, 0x6986, 0x6985}},
    {"APPEND RECORD", "00E2000001AA", {0x6985, 0x6986, 0x6985, 0x6986, 0x6985}},
    {"VERIFY", "00200081", {0x6985, 0x6A88, 0x6985, 0x63C3, 0x6985}},
    {"CHANGE REFERENCE DATA P1=00",
     "0024008108 3132333431323334",
     {0x6985, 0x6A88, 0x6985, 0x9000, 0x6985}},
    {"RESET RETRY COUNTER", "002C0381", {0x6985, 0x6A88, 0x6985, 0x6982, 0x6985}},
    {"GET CHALLENGE", "0084000010", {0x9000, 0x9000, 0x9000, 0x9000, 0x6985}},
    {"EXTERNAL AUTHENTICATE",
     "0082010110 00000000000000000000000000000000",
     {0x6A86, 0x6A86, 0x6A86, 0x6A86, 0x6985}},
    {"MANAGE CHANNEL", "00700001", {0x6985, 0x9000, 0x9000, 0x9000, 0x6985}},
    {"CREATE FILE", "00E00000026200", {0x6985, 0x6A80, 0x6985, 0x6A80, 0x6985}},
    {"DELETE FILE", "00E4000002FFFF", {0x6985, 0x6A82, 0x6985, 0x6A82, 0x6985}},
    {"DEACTIVATE FILE", "0004000002FFFF", {0x6985, 0x6A82, 0x6985, 0x6A82, 0x6985}},
    {"ACTIVATE FILE", "0044000002FFFF", {0x6985, 0x6A82, 0x6985, 0x6A82, 0x6985}},
    {"GET DATA DF20", "00CADF2000", {0x6985, 0x9000, 0x9000, 0x9000, 0x9000}},
    {"GET DATA DF21", "00CADF2100", {0x6985, 0x9000, 0x9000, 0x9000, 0x6985}},
    {"GET DATA DF22", "00CADF2200", {0x6985, 0x9000, 0x9000, 0x9000, 0x6985}},
    {"PUT DATA", "00DA00A30100", {0x6985, 0x6A88, 0x6985, 0x6985, 0x6985}},
    {"TERMINATE CARD USAGE", "00FE0000", {0x6985, 0x6982, 0x6982, 0x6982, 0x6985}},
    {"SET STATUS", "80F00004", {0x6985, 0x6982, 0x6985, 0x6985, 0x6985}},
};

std::unique_ptr<TestCard> terminated() {
  auto c = TestCard::active();
  REQUIRE(c->authenticate(test::kAdminKey, 0x02) == 0x9000);
  c->expect("00FE0000", 0x9000);
  return c;
}

std::unique_ptr<TestCard> card_in(State s) {
  switch (s) {
    case T:
      return std::make_unique<TestCard>();
    case P:
      return TestCard::personalizing();
    case I:
      return TestCard::issued();
    case A:
      return TestCard::active();
    default:
      return terminated();
  }
}

LifeCycle life_cycle_of(State s) {
  const LifeCycle v[kStates] = {LifeCycle::transport_locked, LifeCycle::personalization,
                                LifeCycle::issued, LifeCycle::active, LifeCycle::terminated};
  return v[s];
}

// Every probe answers 6985 on a terminated card, but GET DATA DF20.
void check_terminated(TestCard& c) {
  CHECK(c.card().life_cycle() == LifeCycle::terminated);
  CHECK(c.expect("00CADF2000", 0x9000) == hex("DF20010F"));
  CHECK(c.card().atr().at(17) == 0x0C);
  for (const Probe& p : kProbes) {
    INFO(p.name);
    CHECK(c.sw(p.apdu) == p.in[X]);
  }
}

}  // namespace

// ---------------------------------------------------------------- 4.2 admission

TEST_CASE("life cycle: every command in every state is admitted or 6985", "[lifecycle]") {
  for (int s = T; s < kStates; ++s) {
    const auto state = static_cast<State>(s);
    INFO("state " << kStateNames[s]);
    auto c = card_in(state);
    REQUIRE(c->card().life_cycle() == life_cycle_of(state));
    for (const Probe& p : kProbes) {
      INFO(p.name << ": " << p.apdu);
      c->card().reset();
      if (state == I || state == A) c->expect(kSelectDemo, 0x9000);
      CHECK(c->sw(p.apdu) == p.in[s]);
      CHECK(c->card().life_cycle() == life_cycle_of(state));
    }
  }
}

TEST_CASE("transport-locked: EXTERNAL AUTHENTICATE with another key is 6985",
          "[lifecycle][transport][req:K13]") {
  TestCard c;
  c.expect("0084000010", 0x9000);
  CHECK(c.sw("0082000210 00000000000000000000000000000000") == 0x6985);
  c.expect("0084000010", 0x9000);
  CHECK(c.sw("0082001F10 00000000000000000000000000000000") == 0x6985);
  c.expect("0084000010", 0x9000);
  CHECK(c.sw("0082008310 00000000000000000000000000000000") == 0x6985);
}

TEST_CASE("terminated: GET DATA of any tag but DF20 is 6985", "[lifecycle]") {
  auto c = terminated();
  CHECK(c->sw("00CADF2300") == 0x6985);
  CHECK(c->sw("00CA000000") == 0x6985);
}

// ---------------------------------------------------------------- 5 transport key

TEST_CASE("transport key: a right proof releases the lock, the counter returns to 10",
          "[lifecycle][transport][req:K13]") {
  TestCard c;
  CHECK(c.authenticate(test::kAdminKey, 0x01) == 0x63C9);
  CHECK(c.authenticate(test::kResetKey, 0x01) == 0x63C8);
  CHECK(c.card().life_cycle() == LifeCycle::transport_locked);
  c.expect("0082000110 00000000000000000000000000000000", 0x6985);  // no challenge
  CHECK(c.authenticate(test::kTransportKey, 0x01) == 0x9000);
  CHECK(c.card().life_cycle() == LifeCycle::personalization);
  CHECK(c.expect("00CADF2000", 0x9000) == hex("DF200103"));
  CHECK(c.card().atr().at(17) == 0x03);
  CHECK(c.authenticate(test::kAdminKey, 0x01) == 0x63C9);  // back to 10, then one off
  CHECK(c.card().life_cycle() == LifeCycle::personalization);
  c.power_cycle();
  CHECK(c.card().life_cycle() == LifeCycle::personalization);
  CHECK(c.authenticate(test::kTransportKey, 0x81) == 0x9000);  // 81 from the MF: the same key
  CHECK(c.authenticate(test::kAdminKey, 0x01) == 0x63C9);
}

TEST_CASE("transport key: the tenth wrong proof terminates the card for good",
          "[lifecycle][transport][req:K13]") {
  TestCard c;
  for (unsigned left = 9; left >= 1; --left) {
    INFO("left " << left);
    CHECK(c.authenticate(test::kAdminKey, 0x01) == (0x63C0 | left));
    CHECK(c.card().life_cycle() == LifeCycle::transport_locked);
  }
  CHECK(c.authenticate(test::kAdminKey, 0x01) == 0x63C0);
  check_terminated(c);
  c.expect("0084000010", 0x6985);
  c.power_cycle();
  check_terminated(c);
  c.card().reset();
  check_terminated(c);
}

TEST_CASE("transport key: exhausted during personalization, the card terminates",
          "[lifecycle][transport]") {
  auto c = TestCard::personalizing();
  for (unsigned left = 9; left >= 1; --left) {
    INFO("left " << left);
    CHECK(c->authenticate(test::kAdminKey, 0x01) == (0x63C0 | left));
  }
  CHECK(c->card().life_cycle() == LifeCycle::personalization);
  CHECK(c->authenticate(test::kAdminKey, 0x01) == 0x63C0);
  check_terminated(*c);
  c->power_cycle();
  check_terminated(*c);
}

// ---------------------------------------------------------------- 6.13 SET STATUS

TEST_CASE("SET STATUS: rights, an unset activation PIN, P1-P2", "[lifecycle][setstatus]") {
  auto c = TestCard::personalizing();
  c->expect("80F00004", 0x6985);  // no activation PIN at all
  c->expect(test::create_file(test::df_spec(0x1000)), 0x9000);
  host::perso::PinDefinition pin;
  pin.activates_card = true;
  pin.initial_value = test::ascii("1234");
  c->expect(apdu::encode_command(0x00, 0xDA, 0x00, 0xA1, pin.encode()), 0x9000);
  c->expect("80F00004", 0x6985);  // the activation PIN already has a value
  pin.ref = 2;
  pin.activates_card = false;
  pin.initial_value.clear();
  c->expect(apdu::encode_command(0x00, 0xDA, 0x00, 0xA1, pin.encode()), 0x9000);
  c->expect("80F00004", 0x6985);  // unset, but not an activation PIN
  pin.ref = 3;
  pin.activates_card = true;
  c->expect(apdu::encode_command(0x00, 0xDA, 0x00, 0xA1, pin.encode()), 0x9000);
  for (const char* h : {"80F00104", "80F0FF04", "80F00003", "80F00005", "80F00000"}) {
    INFO(h);
    CHECK(c->sw(h) == 0x6A86);
  }
  // Channel 1 has no rights; nor has channel 0 after a reset.
  c->expect("00700001", 0x9000);
  c->expect("81F00004", 0x6982);
  c->card().reset();
  c->expect("80F00004", 0x6982);
  CHECK(c->card().life_cycle() == LifeCycle::personalization);
  c->open_personalization(test::kTransportKey);
  c->expect("80F00004", 0x9000);
  CHECK(c->card().life_cycle() == LifeCycle::issued);
  CHECK(c->expect("00CADF2000", 0x9000) == hex("DF200104"));
  CHECK(c->card().atr().at(17) == 0x04);
  c->expect("80F00004", 0x6985);
  c->power_cycle();
  CHECK(c->card().life_cycle() == LifeCycle::issued);
  // Activation with PIN 03 of DF 1000.
  c->expect("00A4000C021000", 0x9000);
  c->expect("0024018304 35363738", 0x9000);
  CHECK(c->card().life_cycle() == LifeCycle::active);
}

TEST_CASE("personalization rights end on every channel with SET STATUS",
          "[lifecycle][setstatus][rights]") {
  auto c = TestCard::personalizing();
  // Channel 1 holds rights of its own, under a personalization session of its own.
  c->expect("00700001", 0x9000);
  test::OnChannel channel1(c->plain_transport(), 1);
  auto s1 = host::session::open_personalization_session(channel1, test::kTransportKey, 0x01);
  REQUIRE(s1.ok());
  test::OnChannel protected1(**s1, 1);
  c->expect(test::create_file(test::transparent_ef(0x2001, 8)), 0x9000);
  CHECK(sw_via(protected1,
               apdu::encode_command(0x00, 0xE0, 0x00, 0x00,
                                    juki::fcp::encode_fcp(test::transparent_ef(0x2002, 8), 0))) ==
        0x9000);
  // The sample layout and SET STATUS on channel 0 (a session of its own),
  // then activation.
  c->end_session();
  auto r = host::perso::personalize_sample(c->transport(), test::sample_secrets());
  REQUIRE(r.ok());
  CHECK(sw_via(protected1, hex("00CADF2000")) == 0x6882);  // channel 1's session ended too
  CHECK(c->card().life_cycle() == LifeCycle::issued);
  c->expect("00DA00A30100", 0x6985);
  c->expect(kSelectDemo, 0x9000);
  c->expect("0024018104 31323334", 0x9000);
  CHECK(c->card().life_cycle() == LifeCycle::active);
  // Rights would satisfy every access rule; none is left on either channel.
  for (std::uint8_t cla : {std::uint8_t{0x00}, std::uint8_t{0x01}}) {
    const std::string h = to_hex(Bytes{cla});
    INFO("CLA " << h);
    c->expect(h + "A4000C022001", 0x9000);
    c->expect(h + "B0000001", 0x6982);
    c->expect(h + "D6000001AA", 0x6982);
    c->expect(h + "E40000", 0x6982);
    c->expect(h + "A4000C", 0x9000);
    c->expect(apdu::encode_command(cla, 0xE0, 0x00, 0x00,
                                   juki::fcp::encode_fcp(test::transparent_ef(0x2003, 8), 0)),
              0x6982);
    c->expect(h + "FE0000", 0x6982);
  }
}

// ---------------------------------------------------------------- 6.14 TERMINATE CARD USAGE

TEST_CASE("TERMINATE CARD USAGE with the card administration key", "[lifecycle][terminate]") {
  auto c = TestCard::active();
  c->expect("00700001", 0x9000);
  c->expect("00FE0000", 0x6982);
  CHECK(c->authenticate(test::kResetKey, 0x02) == 0x63C2);  // wrong key value
  c->expect("00FE0000", 0x6982);
  // Proved on channel 1, it does not count on channel 0.
  Bytes ch = c->expect("0184000010", 0x9000);
  auto mac = host::crypto::aes_cmac(test::kAdminKey, ch);
  REQUIRE(mac.ok());
  c->expect(apdu::encode_command(0x01, 0x82, 0x00, 0x02, *mac), 0x9000);
  c->expect("00FE0000", 0x6982);
  // A global key stays proved in an application.
  REQUIRE(c->authenticate(test::kAdminKey, 0x02) == 0x9000);
  c->expect(kSelectDemo, 0x9000);
  CHECK(c->card().life_cycle() == LifeCycle::active);
  c->expect("00FE0000", 0x9000);
  // The channels were reset.
  c->expect("01CADF2000", 0x6881);
  check_terminated(*c);
  c->power_cycle();
  check_terminated(*c);
}

TEST_CASE("TERMINATE CARD USAGE in personalization and issued", "[lifecycle][terminate]") {
  SECTION("with personalization rights") {
    auto c = TestCard::personalizing();
    c->expect("00FE0000", 0x9000);
    check_terminated(*c);
  }
  SECTION("issued, with the administration key") {
    auto c = TestCard::issued();
    c->card().reset();
    c->expect("00FE0000", 0x6982);
    REQUIRE(c->authenticate(test::kAdminKey, 0x02) == 0x9000);
    c->expect("00FE0000", 0x9000);
    check_terminated(*c);
  }
}

// ---------------------------------------------------------------- 6.11 GET DATA

TEST_CASE("GET DATA: life cycle, memory, serial, other tags, short Le", "[lifecycle][getdata]") {
  auto c = TestCard::personalizing();
  CHECK(c->expect("00CADF2000", 0x9000) == hex("DF200103"));
  Bytes mem = c->expect("00CADF2100", 0x9000);
  REQUIRE(mem.size() == 11);
  CHECK(Bytes(mem.begin(), mem.begin() + 7) == hex("DF21080001"
                                                   "0000"));
  const std::uint32_t free = load_be32(&mem[7]);
  CHECK(free > 60000);
  CHECK(free < 65536 - 64);
  CHECK(c->expect("00CADF2200", 0x9000) == hex("DF22080102030405060708"));
  c->expect(test::create_file(test::transparent_ef(0x1001, 1000)), 0x9000);
  CHECK(c->free_bytes() <= free - 1000);
  // Short Le: 6CXX with the exact size.
  CHECK(c->send("00CADF2001") == hex("6C04"));
  CHECK(c->send("00CADF2003") == hex("6C04"));
  CHECK(c->expect("00CADF2004", 0x9000) == hex("DF200103"));
  CHECK(c->send("00CADF210A") == hex("6C0B"));
  CHECK(c->send("00CADF2201") == hex("6C0B"));
  CHECK(c->expect("00CADF220B", 0x9000).size() == 11);
  CHECK(c->expect("00CADF2200000B", 0x9000).size() == 11);  // extended Le
  // An extended Le too small: 6700, as in every command (specs/card-os.md 2.3).
  CHECK(c->send("00CADF22000001") == hex("6700"));

  // Other tags.
  for (const char* h : {"00CADF2300", "00CADF1F00", "00CA000000", "00CA9F7F00", "00CA00DF00",
                        "00CA5F5000", "00CAFFFF00"}) {
    INFO(h);
    CHECK(c->sw(h) == 0x6A88);
  }
  auto i = TestCard::issued();
  CHECK(i->expect("00CADF2000", 0x9000) == hex("DF200104"));
  CHECK(i->expect("00CADF2200", 0x9000) == hex("DF22080102030405060708"));
  auto a = TestCard::active();
  CHECK(a->expect("00CADF2000", 0x9000) == hex("DF200105"));
  CHECK(a->expect("00CADF2100", 0x9000).size() == 11);
}

// ---------------------------------------------------------------- 4.1 no way back

TEST_CASE("life cycle: no way back", "[lifecycle]") {
  auto c = TestCard::active();
  CHECK(c->authenticate(test::kTransportKey, 0x01) == 0x6985);  // retired: refused, nothing counted
  CHECK(c->card().life_cycle() == LifeCycle::active);
  c->expect("80F00004", 0x6985);
  c->expect("00DA00A30100", 0x6985);
  c->expect(test::create_file(test::transparent_ef(0x2001, 8)), 0x6982);
  CHECK(c->card().life_cycle() == LifeCycle::active);
  auto p = TestCard::personalizing();
  REQUIRE(p->authenticate(test::kTransportKey, 0x01) == 0x9000);
  CHECK(p->card().life_cycle() == LifeCycle::personalization);
}
