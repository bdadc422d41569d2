// The Juki AP (住基AP, specs/juki-ap.md) on an in-process card made by
// issuer_tool/enrolment (enrol_juki_ap): the checks of the resident code and
// the card information on every write, the password that activates the card,
// the resident code read by a window terminal after the password under secure
// messaging, and the password re-set by the window's password-reset authority
// (RESET RETRY COUNTER with the unblock policy "role", specs/card-os.md 6.8);
// a power cut at every write of that re-set.
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "common/card_information.hpp"
#include "common/iso7816/apdu.hpp"
#include "common/layout/juki_ap.hpp"
#include "host_middleware/session/secure_session.hpp"
#include "issuer_tool/enrolment/enrolment.hpp"
#include "issuer_tool/enrolment/juki_ap.hpp"
#include "support/secure_card.hpp"
#include "support/torn_medium.hpp"

using namespace juki;
using namespace juki::test;
namespace app_layout = juki::layout::juki_ap;
namespace co = juki::card_os;
using host::session::Credentials;
using host::session::SecureSession;

namespace {

const std::string kSelectJuki = "00A4040C0AD3921000310001010401";
const std::string kResidentCode = "12345678903";  // 1234567890, check digit 3
const std::string kOtherCode = "00000000019";     // 0000000001, check digit 9
const std::string kPassword = "1234";
const std::string kIssueDate = "20240401";

Bytes command(std::uint8_t ins, std::uint8_t p1, std::uint8_t p2, ByteView data = {},
              std::uint32_t ne = 0) {
  return apdu::encode_command(0x00, ins, p1, p2, data, ne);
}
Bytes verify(const std::string& password) {
  return command(0x20, 0x00, app_layout::kPasswordP2, ascii(password));
}
// READ / UPDATE BINARY by SFI (which selects the EF) or of the current EF.
Bytes read_sfi(std::uint8_t sfi, std::uint32_t ne) {
  return command(0xB0, static_cast<std::uint8_t>(0x80 | sfi), 0x00, {}, ne);
}
Bytes read_code() {
  return read_sfi(app_layout::kResidentCodeSfi, app_layout::kResidentCodeSize);
}
Bytes read_info() {
  return read_sfi(app_layout::kCardInfoSfi, app_layout::kCardInfoSize);
}
Bytes update_sfi(std::uint8_t sfi, ByteView data, std::uint8_t offset = 0) {
  return command(0xD6, static_cast<std::uint8_t>(0x80 | sfi), offset, data);
}
Bytes update_current(ByteView data, std::uint16_t offset = 0) {
  return command(0xD6, static_cast<std::uint8_t>(offset >> 8), static_cast<std::uint8_t>(offset),
                 data);
}
Bytes select_fid(std::uint16_t fid) {
  return command(0xA4, 0x02, 0x0C,
                 Bytes{static_cast<std::uint8_t>(fid >> 8), static_cast<std::uint8_t>(fid)});
}
// RESET RETRY COUNTER P1 02 (new password) or 03 (counter only) of the password.
Bytes reset_password(const std::string& new_password) {
  return command(0x2C, 0x02, app_layout::kPasswordP2, ascii(new_password));
}
Bytes reset_counter() {
  return command(0x2C, 0x03, app_layout::kPasswordP2);
}

Bytes info_of(const std::string& municipality, const std::string& issue_date, char face,
              const Bytes& serial = kSerial) {
  auto info = card_information::encode({municipality, issue_date, face, serial});
  REQUIRE(info.ok());
  return *info;
}

// A credential of `role` from the terminal CA, for `application` (municipal-app).
Credentials terminal_for(const Pki& p, pki::Role role, const Bytes& application) {
  pki::LeafRequest request;
  request.authorization.role = role;
  request.authorization.municipality = kMunicipality;
  request.authorization.application = application;
  request.common_name = "municipal application terminal";
  request.days = 30;
  auto leaf = take(pki::issue_new_key(p.terminal_ca, request));
  return {leaf.key, leaf.cert, p.terminal_ca.cert, p.root.cert};
}
// One card with the Juki AP, enrolled once for the whole file; each test
// gets a copy of its memory in the state it needs.
struct Golden {
  Pki p;
  Bytes info;
  std::optional<pki::Certificate> card_certificate;
  Bytes perso;    // personalization: the Juki AP written, powered off (rights gone)
  Bytes issued;   // SET STATUS done: the password has no value
  Bytes active;   // the resident set the password 1234
  Bytes blocked;  // active, the password blocked by three wrong tries

  Golden() {
    auto c = TestCard::personalizing();
    host::perso::Personalizer perso_(c->transport());
    enrolment::JukiApRequest request;
    request.resident_code = kResidentCode;
    request.municipality = kMunicipality;
    request.issue_date = kIssueDate;
    request.face = 'B';  // the serial: read from the card (GET DATA DF22)
    auto enrolled = enrolment::enrol_juki_ap(perso_, p.root.cert, p.card_ca, request);
    INFO((enrolled ? std::string() : enrolled.error().describe()));
    REQUIRE(enrolled.ok());
    card_certificate.emplace(std::move(*enrolled));
    info = info_of(kMunicipality, kIssueDate, 'B');
    c->power_cycle();
    perso = c->storage().bytes();

    c->open_personalization(kTransportKey);
    c->expect("80F00004", 0x9000);  // SET STATUS: issued
    REQUIRE(c->card().life_cycle() == co::LifeCycle::issued);
    c->power_cycle();
    issued = c->storage().bytes();

    c->expect(kSelectJuki, 0x9000);
    c->expect(command(0x24, 0x01, app_layout::kPasswordP2, ascii(kPassword)), 0x9000);
    REQUIRE(c->card().life_cycle() == co::LifeCycle::active);
    c->power_cycle();
    active = c->storage().bytes();

    c->expect(kSelectJuki, 0x9000);
    for (sw::Sw want : {0x63C2, 0x63C1, 0x63C0, 0x6983}) CHECK(c->sw(verify("0000")) == want);
    c->power_cycle();
    blocked = c->storage().bytes();
  }
};

const Golden& golden() {
  static const Golden g;
  return g;
}

std::unique_ptr<TestCard> card_from(const Bytes& image) {
  auto c = TestCard::from_image(image);
  c->expect(kSelectJuki, 0x9000);
  return c;
}
// The personalization card with the issuer's rights again, the Juki AP selected.
std::unique_ptr<TestCard> perso_card() {
  auto c = TestCard::from_image(golden().perso);
  c->open_personalization(kTransportKey);
  c->expect(kSelectJuki, 0x9000);
  return c;
}

// Mutual authentication in the Juki AP's context on channel 0; with
// `select`, the application is selected (again) first.
std::unique_ptr<SecureSession> session(TestCard& c, const Credentials& cred, bool select = true) {
  if (select) c.expect(kSelectJuki, 0x9000);
  auto s = SecureSession::open(c.transport(), cred, unix_now());
  INFO((s ? std::string() : s.error().message));
  REQUIRE(s.ok());
  return std::move(*s);
}

// The resident code as the issuer reads it (personalization rights).
Bytes stored(TestCard& c, std::uint8_t sfi, std::uint32_t size) {
  return c.expect(read_sfi(sfi, size), 0x9000);
}

// The card's whole persistent memory, to show that a refusal wrote nothing.
Bytes memory(TestCard& c) {
  const co::PersistentMemory& m = c.card().memory();
  const ByteView v = m.read(0, m.capacity());
  return Bytes(v.begin(), v.end());
}

}  // namespace

TEST_CASE("juki ap: enrolment writes the application, and the card is issued without a password",
          "[juki][req:K1][req:K7][req:K17]") {
  const Golden& g = golden();
  auto c = perso_card();
  CHECK(stored(*c, app_layout::kResidentCodeSfi, 11) == ascii(kResidentCode));
  CHECK(stored(*c, app_layout::kCardInfoSfi, 39) == g.info);
  CHECK(std::string(g.info.begin(), g.info.end()) ==
        "131016202404012034040"
        "1B0102030405060708");
  // The card certificate names the issuing municipality, under the card CA.
  REQUIRE(g.card_certificate.has_value());
  auto auth = g.card_certificate->authorization();
  REQUIRE(auth.ok());
  REQUIRE(auth->has_value());
  CHECK((*auth)->role == pki::Role::card);
  CHECK((*auth)->municipality == kMunicipality);
  CHECK(pki::verify_chain(g.p.root.cert, g.p.card_ca.cert, *g.card_certificate, unix_now()).ok());
  c->expect(select_fid(enrolment::kCardCertEf), 0x9000);
  const Bytes der = g.card_certificate->der();
  CHECK(c->expect("00B0000004", 0x9000) == Bytes(der.begin(), der.begin() + 4));

  // Issued: the password has no value, the card is not usable yet.
  auto issued = card_from(g.issued);
  CHECK(issued->sw(verify(kPassword)) == 0x6985);
  CHECK(issued->sw(read_info()) == 0x6985);
  CHECK(issued->expect("00CADF2000", 0x9000) == hex("DF200104"));
}

TEST_CASE("juki ap: the request is checked before anything is written", "[juki]") {
  const Golden& g = golden();
  auto refused = [&](enrolment::JukiApRequest r) {
    auto c = TestCard::personalizing();
    host::perso::Personalizer perso(c->transport());
    const std::uint32_t before = c->free_bytes();
    auto e = enrolment::enrol_juki_ap(perso, g.p.root.cert, g.p.card_ca, r);
    REQUIRE_FALSE(e.ok());
    CHECK(e.error().sw == 0);
    CHECK(c->free_bytes() == before);
    return e.error().message;
  };
  enrolment::JukiApRequest r;
  r.resident_code = kResidentCode;
  r.municipality = kMunicipality;
  r.issue_date = kIssueDate;
  r.serial = kSerial;
  auto bad = r;
  bad.resident_code = "12345678904";
  CHECK(refused(bad).find("check digit should be 3") != std::string::npos);
  bad = r;
  bad.municipality = "131017";
  CHECK(refused(bad).find("municipality") != std::string::npos);
  bad = r;
  bad.issue_date = "20230229";
  CHECK(refused(bad).find("issue date") != std::string::npos);
  bad = r;
  bad.face = 'C';
  CHECK(refused(bad).find("face") != std::string::npos);
  bad = r;
  bad.serial = Bytes(7, 1);
  CHECK(refused(bad).find("serial") != std::string::npos);
  // A serial that is not the card's: the card refuses the card information.
  bad = r;
  bad.serial = Bytes(8, 0xEE);
  auto c = TestCard::personalizing();
  host::perso::Personalizer perso(c->transport());
  auto e = enrolment::enrol_juki_ap(perso, g.p.root.cert, g.p.card_ca, bad);
  REQUIRE_FALSE(e.ok());
  CHECK(e.error().sw == 0x6A80);
}

TEST_CASE("juki ap: the resident code is checked on every write, a refused one writes nothing",
          "[juki]") {
  auto c = perso_card();
  const Bytes before = memory(*c);
  auto unchanged = [&] {
    CHECK(memory(*c) == before);
    CHECK(stored(*c, app_layout::kResidentCodeSfi, 11) == ascii(kResidentCode));
  };
  SECTION("a wrong check digit") {
    CHECK(c->sw(update_sfi(app_layout::kResidentCodeSfi, ascii("12345678904"))) == 0x6A80);
    unchanged();
  }
  SECTION("not digits") {
    CHECK(c->sw(update_sfi(app_layout::kResidentCodeSfi, ascii("1234567890A"))) == 0x6A80);
    CHECK(c->sw(update_sfi(app_layout::kResidentCodeSfi, ascii("1234567890 "))) == 0x6A80);
    unchanged();
  }
  SECTION("a partial write: another offset 6A80, another length 6700") {
    CHECK(c->sw(update_sfi(app_layout::kResidentCodeSfi, ascii("3"), 10)) == 0x6A80);
    CHECK(c->sw(update_sfi(app_layout::kResidentCodeSfi, ascii("1234567890"))) == 0x6700);
    c->expect(select_fid(app_layout::kResidentCodeEf), 0x9000);
    CHECK(c->sw(update_current(ascii("3"), 10)) == 0x6A80);
    CHECK(c->sw(update_current(ascii("00000000019"), 1)) == 0x6A80);
    CHECK(c->sw(update_current(ascii("000000000190"))) == 0x6700);
    // Past the end: the card OS's own answer comes first.
    CHECK(c->sw(update_current(ascii("9"), 12)) == 0x6B00);
    unchanged();
  }
  SECTION("a right one replaces it, by SFI or as the current EF") {
    c->expect(update_sfi(app_layout::kResidentCodeSfi, ascii(kOtherCode)), 0x9000);
    CHECK(stored(*c, app_layout::kResidentCodeSfi, 11) == ascii(kOtherCode));
    CHECK(memory(*c) != before);
    c->expect(select_fid(app_layout::kResidentCodeEf), 0x9000);
    c->expect(update_current(ascii(kResidentCode)), 0x9000);
    unchanged();
  }
  SECTION("other EFs of the application are not the application's to check") {
    c->expect(select_fid(enrolment::kTrustAnchorEf), 0x9000);
    c->expect(update_current(ascii("anything")), 0x9000);
  }
}

TEST_CASE("juki ap: after personalization nobody writes either EF, whatever the content",
          "[juki][req:K17]") {
  const Golden& g = golden();
  auto c = card_from(g.active);
  c->expect(verify(kPassword), 0x9000);
  // Access first: 6982 for a valid content and for an invalid one alike.
  CHECK(c->sw(update_sfi(app_layout::kResidentCodeSfi, ascii(kOtherCode))) == 0x6982);
  CHECK(c->sw(update_sfi(app_layout::kResidentCodeSfi, ascii("12345678904"))) == 0x6982);
  CHECK(c->sw(update_sfi(app_layout::kCardInfoSfi, g.info)) == 0x6982);
  CHECK(c->sw(update_sfi(app_layout::kCardInfoSfi, Bytes(39, '0'))) == 0x6982);
  // Nor under secure messaging, by any role.
  auto s = session(*c, g.p.terminal(pki::Role::issuance));
  CHECK(sw_via(*s, verify(kPassword)) == 0x9000);
  CHECK(sw_via(*s, update_sfi(app_layout::kResidentCodeSfi, ascii(kOtherCode))) == 0x6982);
  // An issued card takes no UPDATE BINARY at all (the card OS's life cycle).
  auto issued = card_from(g.issued);
  CHECK(issued->sw(update_sfi(app_layout::kResidentCodeSfi, ascii(kOtherCode))) == 0x6985);
}

TEST_CASE("juki ap: the card information is checked on every write", "[juki]") {
  const Golden& g = golden();
  auto c = perso_card();
  const Bytes before = memory(*c);
  auto refused = [&](const Bytes& content) {
    CHECK(c->sw(update_sfi(app_layout::kCardInfoSfi, content)) == 0x6A80);
    CHECK(memory(*c) == before);
    CHECK(stored(*c, app_layout::kCardInfoSfi, 39) == g.info);
  };
  auto with = [&](std::size_t at, const std::string& text) {
    Bytes b = g.info;
    std::copy(text.begin(), text.end(), b.begin() + static_cast<std::ptrdiff_t>(at));
    return b;
  };
  namespace ci = card_information;
  SECTION("a wrong municipality check digit") {
    refused(with(ci::kMunicipalityAt, "131017"));
  }
  SECTION("an issue date that is no date") {
    refused(with(ci::kIssueDateAt, "20230229"));
    refused(with(ci::kIssueDateAt, "2024-4-1"));
  }
  SECTION("an expiry that is not ten years later") {
    refused(with(ci::kExpiryAt, "20340331"));
    refused(with(ci::kExpiryAt, "20330401"));
    refused(with(ci::kExpiryAt, "20340402"));
  }
  SECTION("a face other than A or B") {
    refused(with(ci::kFaceAt, "C"));
  }
  SECTION("a serial that is not this card's") {
    refused(info_of(kMunicipality, kIssueDate, 'A', Bytes(8, 0x11)));
    refused(with(ci::kSerialAt, "0102030405060709"));
  }
  SECTION("a partial write") {
    CHECK(c->sw(update_sfi(app_layout::kCardInfoSfi, ByteView(g.info).first(38))) == 0x6700);
    CHECK(c->sw(update_sfi(app_layout::kCardInfoSfi, ascii("A"), ci::kFaceAt)) == 0x6A80);
    CHECK(stored(*c, app_layout::kCardInfoSfi, 39) == g.info);
  }
  SECTION("right ones, the leap day among them (February 29 expires on February 28)") {
    const Bytes leap = info_of("011002", "20240229", 'A');
    CHECK(std::string(leap.begin() + 14, leap.begin() + 22) == "20340228");
    c->expect(update_sfi(app_layout::kCardInfoSfi, leap), 0x9000);
    CHECK(stored(*c, app_layout::kCardInfoSfi, 39) == leap);
    Bytes mar1 = leap;
    const std::string day = "20340301";
    std::copy(day.begin(), day.end(), mar1.begin() + ci::kExpiryAt);
    CHECK(c->sw(update_sfi(app_layout::kCardInfoSfi, mar1)) == 0x6A80);
    c->expect(update_sfi(app_layout::kCardInfoSfi, g.info), 0x9000);
    CHECK(stored(*c, app_layout::kCardInfoSfi, 39) == g.info);
  }
}

TEST_CASE("juki ap: the card activates when the resident first sets the password",
          "[juki][req:K7][req:F1]") {
  auto c = card_from(golden().issued);
  // The password's format is checked before anything is written.
  CHECK(c->sw(command(0x24, 0x01, app_layout::kPasswordP2, ascii("12A4"))) == 0x6A80);
  CHECK(c->sw(command(0x24, 0x01, app_layout::kPasswordP2, ascii("12345"))) == 0x6700);
  CHECK(c->card().life_cycle() == co::LifeCycle::issued);
  c->expect(command(0x24, 0x01, app_layout::kPasswordP2, ascii("9876")), 0x9000);
  CHECK(c->card().life_cycle() == co::LifeCycle::active);
  CHECK(c->expect("00CADF2000", 0x9000) == hex("DF200105"));
  // Set once: P1 = 01 again is refused; the password now works.
  CHECK(c->sw(command(0x24, 0x01, app_layout::kPasswordP2, ascii("1111"))) == 0x6985);
  c->power_cycle();
  c->expect(kSelectJuki, 0x9000);
  CHECK(c->sw(verify("9876")) == 0x9000);
  CHECK(c->expect(read_info(), 0x9000) == golden().info);  // read always
}

TEST_CASE("juki ap: the resident code, after the password, to a window terminal under SM",
          "[juki][session][req:K14][req:B10.1]") {
  const Golden& g = golden();
  auto c = card_from(g.active);
  const Bytes code = ascii(kResidentCode);
  SECTION("plain: never, even with the password") {
    CHECK(c->sw(read_code()) == 0x6982);
    c->expect(verify(kPassword), 0x9000);
    CHECK(c->sw(read_code()) == 0x6982);
    CHECK(c->expect(read_info(), 0x9000) == g.info);
  }
  SECTION("a window terminal without the password: 6982") {
    auto s = session(*c, g.p.terminal(pki::Role::window));
    CHECK(sw_via(*s, read_code()) == 0x6982);
  }
  SECTION("a window terminal after the password under SM: the code") {
    auto s = session(*c, g.p.terminal(pki::Role::window));
    CHECK(sw_via(*s, verify("0000")) == 0x63C2);
    CHECK(sw_via(*s, read_code()) == 0x6982);
    CHECK(sw_via(*s, verify(kPassword)) == 0x9000);
    CHECK(via(*s, read_code()) == hex(to_hex(code) + "9000"));
    c->expect(kSelectJuki, 0x9000);  // tries restored by the right one
    CHECK(c->sw(command(0x20, 0x00, app_layout::kPasswordP2)) == 0x63C3);
  }
  SECTION("a plain command ends the session, and the read with it") {
    auto s = session(*c, g.p.terminal(pki::Role::window));
    CHECK(sw_via(*s, verify(kPassword)) == 0x9000);
    CHECK(c->sw(read_info()) == 0x9000);  // plain: the card ends the session
    CHECK(sw_via(*s, read_code()) == 0x6882);
    CHECK(c->sw(read_code()) == 0x6982);  // the password alone is not enough
  }
  SECTION("other roles, with the password: 6982") {
    for (pki::Role role :
         {pki::Role::password_reset, pki::Role::issuance, pki::Role::app_authority}) {
      INFO("role " << pki::role_name(role));
      auto s = session(*c, g.p.terminal(role));
      CHECK(sw_via(*s, verify(kPassword)) == 0x9000);
      CHECK(sw_via(*s, read_code()) == 0x6982);
      CHECK(via(*s, read_info()) == hex(to_hex(g.info) + "9000"));
    }
    // A municipal-application terminal bound to the Juki AP itself: authenticated, no access.
    const Bytes aid(std::begin(app_layout::kAid), std::end(app_layout::kAid));
    auto s = session(*c, terminal_for(g.p, pki::Role::municipal_app, aid));
    CHECK(sw_via(*s, verify(kPassword)) == 0x9000);
    CHECK(sw_via(*s, read_code()) == 0x6982);
  }
  SECTION("a municipal-application terminal of another application: no session (6982)") {
    c->expect(kSelectJuki, 0x9000);
    auto e =
        SecureSession::open(c->transport(), g.p.terminal(pki::Role::municipal_app), unix_now());
    REQUIRE_FALSE(e.ok());
    CHECK(e.error().sw == 0x6982);
  }
  SECTION("the CS, from the server CA, after the password under SM: the code") {
    auto s = session(*c, g.p.server(pki::Role::cs));
    CHECK(sw_via(*s, read_code()) == 0x6982);
    CHECK(sw_via(*s, verify(kPassword)) == 0x9000);
    CHECK(via(*s, read_code()) == hex(to_hex(code) + "9000"));
  }
  SECTION("a prefecture or national server, with the password: 6982") {
    for (pki::Role role : {pki::Role::prefecture, pki::Role::national}) {
      auto s = session(*c, g.p.server(role));
      CHECK(sw_via(*s, verify(kPassword)) == 0x9000);
      CHECK(sw_via(*s, read_code()) == 0x6982);
    }
  }
  SECTION("the password verified on another channel does not count") {
    CHECK(c->expect("0070000001", 0x9000) == hex("01"));
    c->expect("01A4040C0AD3921000310001010401", 0x9000);
    c->expect(apdu::encode_command(0x01, 0x20, 0x00, 0x81, ascii(kPassword)), 0x9000);
    auto s = session(*c, g.p.terminal(pki::Role::window));
    CHECK(sw_via(*s, read_code()) == 0x6982);
  }
  SECTION("the password verified in plain before the session, in the same context, counts") {
    // card-os 7.3: what was verified lasts until the context is left or its
    // application selected again; mutual authentication does not end it.
    c->expect(verify(kPassword), 0x9000);
    auto s = session(*c, g.p.terminal(pki::Role::window), false);
    CHECK(via(*s, read_code()) == hex(to_hex(code) + "9000"));
  }
  SECTION("selecting the application again forgets it") {
    c->expect(verify(kPassword), 0x9000);
    auto s = session(*c, g.p.terminal(pki::Role::window), true);
    CHECK(sw_via(*s, read_code()) == 0x6982);
  }
}

TEST_CASE("juki ap: three wrong passwords lock, the window's password reset re-sets it",
          "[juki][session][req:K8][req:K9]") {
  const Golden& g = golden();
  auto c = card_from(g.blocked);
  CHECK(c->sw(verify(kPassword)) == 0x6983);
  CHECK(c->sw(command(0x20, 0x00, app_layout::kPasswordP2)) == 0x6983);
  {
    // A blocked password: no read, whoever asks.
    auto s = session(*c, g.p.terminal(pki::Role::window));
    CHECK(sw_via(*s, verify(kPassword)) == 0x6983);
    CHECK(sw_via(*s, read_code()) == 0x6982);
  }
  auto reset = session(*c, g.p.terminal(pki::Role::password_reset));
  CHECK(sw_via(*reset, reset_password("5678")) == 0x9000);
  // Not verified afterwards, on any channel: the resident proves the new one.
  CHECK(sw_via(*reset, command(0x20, 0x00, app_layout::kPasswordP2)) == 0x63C3);
  CHECK(sw_via(*reset, verify(kPassword)) == 0x63C2);
  CHECK(sw_via(*reset, verify("5678")) == 0x9000);
  CHECK(sw_via(*reset, command(0x20, 0x00, app_layout::kPasswordP2)) == 0x9000);

  auto window = session(*c, g.p.terminal(pki::Role::window));
  CHECK(sw_via(*window, verify("5678")) == 0x9000);
  CHECK(via(*window, read_code()) == hex(to_hex(ascii(kResidentCode)) + "9000"));
  // Persistent.
  c->power_cycle();
  c->expect(kSelectJuki, 0x9000);
  CHECK(c->sw(verify("5678")) == 0x9000);
}

TEST_CASE("juki ap: only the password-reset role under SM re-sets the password",
          "[juki][session][req:K9]") {
  const Golden& g = golden();
  auto c = card_from(g.blocked);
  auto still_blocked = [&] {
    c->expect(kSelectJuki, 0x9000);
    CHECK(c->sw(command(0x20, 0x00, app_layout::kPasswordP2)) == 0x6983);
  };
  SECTION("no session: 6982") {
    CHECK(c->sw(reset_password("5678")) == 0x6982);
    CHECK(c->sw(reset_counter()) == 0x6982);
    still_blocked();
  }
  SECTION("a window terminal, an issuance station: 6982") {
    for (pki::Role role : {pki::Role::window, pki::Role::issuance}) {
      INFO("role " << pki::role_name(role));
      auto s = session(*c, g.p.terminal(role));
      CHECK(sw_via(*s, reset_password("5678")) == 0x6982);
      CHECK(sw_via(*s, reset_counter()) == 0x6982);
    }
    still_blocked();
  }
  SECTION("the password-reset role in plain: the plain command ends the session, 6982") {
    auto s = session(*c, g.p.terminal(pki::Role::password_reset));
    CHECK(c->sw(reset_password("5678")) == 0x6982);
    CHECK(sw_via(*s, reset_password("5678")) == 0x6882);  // the session is gone
    still_blocked();
  }
  SECTION("the password-reset role on another channel") {
    CHECK(c->expect("0070000001", 0x9000) == hex("01"));
    c->expect("01A4040C0AD3921000310001010401", 0x9000);
    auto s = session(*c, g.p.terminal(pki::Role::password_reset));
    CHECK(c->sw(apdu::encode_command(0x01, 0x2C, 0x02, 0x81, ascii("5678"))) == 0x6982);
    still_blocked();
  }
  SECTION("a malformed command changes nothing") {
    auto s = session(*c, g.p.terminal(pki::Role::password_reset));
    CHECK(sw_via(*s, reset_password("12A4")) == 0x6A80);
    CHECK(sw_via(*s, reset_password("12345")) == 0x6700);
    CHECK(sw_via(*s, reset_password("123")) == 0x6700);
    CHECK(sw_via(*s, command(0x2C, 0x02, 0x81)) == 0x6700);                     // no new password
    CHECK(sw_via(*s, command(0x2C, 0x03, 0x81, ascii("5678"))) == 0x6700);      // data with 03
    CHECK(sw_via(*s, command(0x2C, 0x00, 0x81, ascii("12345678"))) == 0x6A86);  // PUK form
    CHECK(sw_via(*s, command(0x2C, 0x01, 0x81, ascii("1234"))) == 0x6A86);
    CHECK(sw_via(*s, command(0x2C, 0x04, 0x81, ascii("1234"))) == 0x6A86);
    CHECK(sw_via(*s, command(0x2C, 0x02, 0x82, ascii("1234"))) == 0x6A88);  // no PIN 02
    CHECK(sw_via(*s, command(0x20, 0x00, 0x81)) == 0x6983);
    // Then a right one: the counter alone (P1 03), the old password back.
    CHECK(sw_via(*s, reset_counter()) == 0x9000);
    CHECK(sw_via(*s, command(0x20, 0x00, 0x81)) == 0x63C3);
    CHECK(sw_via(*s, verify(kPassword)) == 0x9000);
  }
  SECTION("an unblocked password is re-set all the same") {
    auto active = card_from(g.active);
    auto s = session(*active, g.p.terminal(pki::Role::password_reset));
    CHECK(sw_via(*s, verify("0000")) == 0x63C2);
    CHECK(sw_via(*s, verify(kPassword)) == 0x9000);
    CHECK(sw_via(*s, reset_password("4321")) == 0x9000);
    CHECK(sw_via(*s, command(0x20, 0x00, 0x81)) == 0x63C3);  // no longer verified
    CHECK(sw_via(*s, verify(kPassword)) == 0x63C2);
    CHECK(sw_via(*s, verify("4321")) == 0x9000);
  }
}

TEST_CASE("juki ap: the unblock policy role as PUT DATA takes it", "[juki]") {
  auto c = TestCard::personalizing();
  auto put = [&](const std::string& policy) {
    return c->sw("00DA00A1 14 A1 12 830101 800101 81020404 820103 86" + policy);
  };
  CHECK(put("03 030004") == 0x9000);
  CHECK(put("03 030021") == 0x9000);
  CHECK(put("03 030000") == 0x6A80);  // no role
  CHECK(put("03 030100") == 0x6A80);  // reserved bits 8..15
  CHECK(c->sw("00DA00A1 13 A1 11 830101 800101 81020404 820103 86 02 0300") == 0x6A80);
  CHECK(c->sw("00DA00A1 15 A1 13 830101 800101 81020404 820103 86 04 03000400") == 0x6A80);
  CHECK(put("03 040004") == 0x6A80);  // kind 4: none such
  // The personalization library encodes it so.
  host::perso::PinDefinition d;
  d.unblock_kind = 3;
  d.unblock_roles = app_layout::kPasswordResetters;
  CHECK(to_hex(d.encode()) == "A112830101800101810204048201038603030004");
  // The Juki AP's password as specs/juki-ap.md 2.1 writes it.
  d.activates_card = true;
  CHECK(to_hex(d.encode()) == "A115830101800101810204048201038501028603030004");
}

TEST_CASE("juki ap: a re-set cut at every write leaves the old password blocked or the new one",
          "[juki][tearing]") {
  const Golden& g = golden();
  const auto reset_terminal = g.p.terminal(pki::Role::password_reset);
  // Powers the medium up, authenticates as the password-reset authority and
  // sends the re-set, cut at `cut` if given. Returns the main area before the
  // command (after the session's own writes).
  struct Run {
    Bytes before;
    bool fired = false;
    std::vector<std::size_t> sizes;
  };
  auto run = [&](TornMedium& m, std::optional<Cut> cut) {
    m.power_up();
    REQUIRE(sw_via(m.transport(), hex(kSelectJuki)) == 0x9000);
    auto s = SecureSession::open(m.transport(), reset_terminal, unix_now());
    REQUIRE(s.ok());
    Run r;
    const co::PersistentMemory& mem = m.card().memory();
    ByteView area = mem.read(0, mem.capacity());
    r.before.assign(area.begin(), area.end());
    m.mark(cut);
    auto answer = (*s)->transmit(reset_password("5678"));
    r.fired = m.fired();
    if (!cut) {
      REQUIRE(answer.ok());
      REQUIRE(TestCard::sw_of(*answer) == 0x9000);
    }
    r.sizes = m.sizes();
    return r;
  };
  auto main_area = [](TornMedium& m) {
    const co::PersistentMemory& mem = m.card().memory();
    ByteView area = mem.read(0, mem.capacity());
    return Bytes(area.begin(), area.end());
  };

  TornMedium clean(g.blocked, "juki tearing");
  const Run first = run(clean, std::nullopt);
  clean.power_up();
  const Bytes after = main_area(clean);
  REQUIRE_FALSE(first.sizes.empty());
  REQUIRE(after != first.before);

  int old_states = 0, new_states = 0;
  for (const Cut& cut : cut_points(first.sizes)) {
    INFO("cut at write " << cut.write << " of " << first.sizes.size() << ", " << cut.prefix
                         << " bytes written");
    TornMedium m(g.blocked, "juki tearing");
    const Run r = run(m, cut);
    REQUIRE(r.fired);
    REQUIRE(r.before == first.before);
    m.power_up();
    const Bytes state = main_area(m);
    const bool is_old = state == first.before, is_new = state == after;
    CHECK((is_old || is_new));
    old_states += is_old;
    new_states += is_new;
    // And the card says the same: blocked, or the new password.
    REQUIRE(sw_via(m.transport(), hex(kSelectJuki)) == 0x9000);
    CHECK(sw_via(m.transport(), verify("5678")) == (is_new ? 0x9000 : 0x6983));
  }
  CHECK(old_states > 0);
  CHECK(new_states > 0);
  WARN("password re-set: " << first.sizes.size() << " writes, " << old_states
                           << " cuts came back blocked, " << new_states << " re-set");
}
