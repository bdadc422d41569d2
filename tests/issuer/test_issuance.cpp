// Personalization at the issuance counter (issuer_tool/issuance,
// specs/issuance.md): a blank card becomes an issued Juki card that the
// resident activates and a window terminal accepts; every refusal leaves the
// card unissued; a card that loses power (is removed) at any step is found in
// personalization and resumed to the same result.
#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/layout/juki_ap.hpp"
#include "host_middleware/crypto/host_crypto.hpp"
#include "host_middleware/session/secure_session.hpp"
#include "issuer_tool/issuance/card_certificates.hpp"
#include "issuer_tool/issuance/personalization.hpp"
#include "pki/directory.hpp"
#include "support/issuer.hpp"
#include "support/secure_card.hpp"
#include "support/temp_dir.hpp"
#include "support/torn_medium.hpp"

using namespace juki;
using namespace juki::test;
namespace app_layout = juki::layout::juki_ap;
using issuance::Failure;
using issuance::Step;

namespace {

const std::string kSelectJuki = "00A4040C0AD3921000310001010401";

issuance::CardOrder order() {
  issuance::CardOrder o;
  o.resident_code = "12345678903";
  o.municipality = kMunicipality;
  o.issue_date = "20261124";
  o.face = 'B';
  o.holder = "JUKI HANAKO";
  o.jpki_auth_pin = "1357";
  o.jpki_sign_pin = "HANAKO2026";
  return o;
}

// The card's life cycle now (GET DATA DF20): 01 transport-locked, 03
// personalization, 04 issued, 05 active.
std::uint8_t life_cycle(juki::Transport& t) {
  const Bytes r = via(t, hex("00CADF2000"));
  REQUIRE(r.size() == 6);
  return r[3];
}

// Opens and personalizes the card behind `t`, recording the steps.
Result<issuance::Personalized, Failure> issue(
    juki::Transport& t, std::vector<Step>* steps = nullptr, const issuance::CardOrder& o = order(),
    const issuance::Authorities& authorities = issuer().authorities) {
  auto opened = issuance::open(t, issuer().keys.transport_key);
  if (!opened) return unexpected(opened.error());
  return issuance::personalize(*opened, authorities, issuer().keys, o, [&](Step s) {
    if (steps) steps->push_back(s);
  });
}

// The issuer's authorities written as a juki-pki directory, and loaded back
// from it: personalization then records the cards' certificates there.
struct PkiDirectory {
  TempDir tmp;
  std::string dir = tmp.path.string();
  issuance::Authorities authorities = written(dir);

  static issuance::Authorities written(const std::string& dir) {
    namespace d = pki::directory;
    const auto& i = issuer();
    const std::pair<const pki::KeyAndCert*, std::string> all[] = {
        {&i.p.root, std::string(d::kRootStem)},
        {&i.authorities.card_ca, d::ca_stem(pki::CaKind::card)},
        {&i.authorities.jpki_auth, d::jpki_stem(pki::JpkiKind::auth)},
        {&i.authorities.jpki_sign, d::jpki_stem(pki::JpkiKind::sign)}};
    for (const auto& [authority, stem] : all)
      REQUIRE(d::save_authority(dir, stem, *authority).ok());
    auto loaded = issuance::Authorities::load(dir);
    INFO((loaded ? std::string() : loaded.error()));
    REQUIRE(loaded.ok());
    return std::move(*loaded);
  }
  // The index entry of `cert` in the index of the authority `ca_name`.
  std::optional<pki::directory::IssuedEntry> entry(const std::string& ca_name,
                                                   const pki::Certificate& cert) const {
    auto authority = pki::directory::authority_from_name(ca_name);
    REQUIRE(authority);
    auto ca = take(pki::directory::load_certificate(dir, authority->stem));
    auto index = take(pki::directory::load_index(dir, authority->stem, ca));
    const auto* e = index.find(cert.serial_hex());
    return e ? std::optional(*e) : std::nullopt;
  }
};

Bytes blank_image() {
  TestCard c;
  return c.storage().bytes();
}

// The issued card works: the resident sets the password, which activates it,
// and a window terminal reads the resident code under secure messaging after
// the password.
void check_usable(juki::Transport& t, const issuance::CardOrder& o) {
  REQUIRE(sw_via(t, hex(kSelectJuki)) == 0x9000);
  REQUIRE(sw_via(t, apdu::encode_command(0x00, 0x24, 0x01, app_layout::kPasswordP2,
                                         ascii("2580"))) == 0x9000);
  REQUIRE(life_cycle(t) == 0x05);
  REQUIRE(sw_via(t, hex(kSelectJuki)) == 0x9000);
  auto s =
      host::session::SecureSession::open(t, issuer().p.terminal(pki::Role::window), unix_now());
  INFO((s ? std::string() : s.error().message));
  REQUIRE(s.ok());
  REQUIRE(sw_via(**s, apdu::encode_command(0x00, 0x20, 0x00, app_layout::kPasswordP2,
                                           ascii("2580"))) == 0x9000);
  Bytes expected = ascii(o.resident_code);
  expected.push_back(0x90);
  expected.push_back(0x00);
  CHECK(via(**s, apdu::encode_command(0x00, 0xB0, 0x81, 0x00, {}, 11)) == expected);
}

}  // namespace

TEST_CASE(
    "issuance: a blank card becomes an issued Juki card the resident activates and a window "
    "accepts",
    "[issuance][req:K7][req:K17]") {
  TestCard c;
  REQUIRE(c.transport().atr().at(17) == 0x01);  // GET DATA answers 6985 while transport-locked
  std::vector<Step> steps;
  auto made = issue(c.transport(), &steps);
  INFO((made ? std::string() : made.error().describe()));
  REQUIRE(made.ok());
  CHECK(steps == std::vector<Step>{Step::admin_key, Step::juki_ap, Step::jpki, Step::card_manager,
                                   Step::verify, Step::record, Step::issue});
  CHECK(made->serial == kSerial);
  CHECK(made->expiry == "20361124");
  CHECK(made->jpki.auth.subject().find("JUKI HANAKO") != std::string::npos);
  c.power_cycle();
  CHECK(c.transport().atr().at(17) == 0x04);
  CHECK(life_cycle(c.transport()) == 0x04);
  // Issued, not active: nothing of the Juki AP is usable before the password.
  CHECK(c.sw(kSelectJuki) == 0x9000);
  CHECK(c.sw(apdu::encode_command(0x00, 0x20, 0x00, app_layout::kPasswordP2, ascii("2580"))) ==
        0x6985);
  check_usable(c.transport(), order());
}

TEST_CASE(
    "issuance: the certificates put on a card are recorded in their CAs' indexes and kept by the "
    "card's serial, and revoked by it",
    "[issuance][pki]") {
  PkiDirectory pd;
  TestCard c;
  auto made = issue(c.transport(), nullptr, order(), pd.authorities);
  INFO((made ? std::string() : made.error().describe()));
  REQUIRE(made.ok());
  const std::string serial = to_hex(made->serial);
  const std::pair<std::string, const pki::Certificate*> certs[] = {
      {"card", &made->card_certificate},
      {"jpki-auth", &made->jpki.auth},
      {"jpki-sign", &made->jpki.sign}};
  for (const auto& [name, cert] : certs) {
    INFO(name);
    auto e = pd.entry(name, *cert);
    REQUIRE(e);
    CHECK(e->recorded_by == "issue");
    CHECK_FALSE(e->revocation);
    CHECK(e->path == issuance::card_certificate_path(pd.dir, serial, name));
    CHECK(take(pki::read_file(e->path)) == cert->der());
  }

  // Lost: every certificate of the card revoked, by its serial alone.
  auto revoked = issuance::revoke_card_certificates(
      pd.dir, serial, pki::RevocationReason::key_compromise, unix_now());
  REQUIRE(revoked.ok());
  REQUIRE(revoked->size() == 3);
  for (const auto& [name, cert] : certs) {
    auto e = pd.entry(name, *cert);
    REQUIRE(e);
    REQUIRE(e->revocation);
    CHECK(e->revocation->reason == pki::RevocationReason::key_compromise);
  }
  // Again: nothing new, each reported revoked already.
  auto again = issuance::revoke_card_certificates(pd.dir, serial, pki::RevocationReason::superseded,
                                                  unix_now());
  REQUIRE(again.ok());
  for (const auto& r : *again) CHECK(r.already);
  CHECK(pd.entry("card", made->card_certificate)->revocation->reason ==
        pki::RevocationReason::key_compromise);
  // A card the directory does not know.
  auto unknown = issuance::revoke_card_certificates(pd.dir, "0102030405060799",
                                                    pki::RevocationReason::superseded, unix_now());
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().kind == pki::PkiErrorKind::io);
}

TEST_CASE(
    "issuance: a card whose certificates cannot be recorded is not issued, and a resume "
    "revokes the certificates of the attempt that never reached an issued card",
    "[issuance][pki][tearing]") {
  PkiDirectory pd;
  const Bytes blank = blank_image();
  // Where SET STATUS starts writing, from a clean run.
  std::uint64_t issue_starts = 0;
  {
    TornMedium m(blank, "issuance");
    m.power_up();
    m.mark();
    auto opened = issuance::open(m.transport(), kTransportKey);
    REQUIRE(opened.ok());
    REQUIRE(
        issuance::personalize(*opened, issuer().authorities, issuer().keys, order(), [&](Step s) {
          if (s == Step::issue) issue_starts = m.writes_since_mark();
        }).ok());
  }
  REQUIRE(issue_starts > 0);

  SECTION("the index cannot be written: the card stays in personalization") {
    namespace d = pki::directory;
    const std::string index = d::index_path(pd.dir, d::jpki_stem(pki::JpkiKind::sign));
    REQUIRE(pki::write_new_file(index, as_bytes(std::string("not an index")), 0644).ok());
    TestCard c;
    std::vector<Step> steps;
    auto made = issue(c.transport(), &steps, order(), pd.authorities);
    REQUIRE_FALSE(made.ok());
    CHECK(made.error().kind == Failure::Kind::pki_directory);
    CHECK(made.error().step == Step::record);
    CHECK(steps.back() == Step::record);
    c.power_cycle();
    CHECK(life_cycle(c.transport()) == 0x03);
    // Repaired, the same card resumes; the first attempt's card certificate,
    // recorded before the JPKI signature CA's index failed, is superseded.
    const auto first_card = take(
        pki::Certificate::load(issuance::card_certificate_path(pd.dir, to_hex(kSerial), "card")));
    REQUIRE(pd.entry("card", first_card));
    std::filesystem::remove(index);
    auto again = issue(c.transport(), nullptr, order(), pd.authorities);
    INFO((again ? std::string() : again.error().describe()));
    REQUIRE(again.ok());
    CHECK(pd.entry("card", first_card)->revocation->reason == pki::RevocationReason::superseded);
    CHECK_FALSE(pd.entry("jpki-sign", again->jpki.sign)->revocation);
    c.power_cycle();
    CHECK(life_cycle(c.transport()) == 0x04);
  }

  SECTION("removed as SET STATUS begins: the resumed card's certificates replace the first") {
    TornMedium m(blank, "issuance");
    m.power_up();
    m.mark(Cut{issue_starts, 0});
    auto first = issue(m.transport(), nullptr, order(), pd.authorities);
    REQUIRE(m.fired());
    REQUIRE_FALSE(first.ok());
    CHECK(first.error().kind == Failure::Kind::transport);
    m.power_up();
    REQUIRE(m.transport().atr().at(17) == 0x03);
    const std::string serial = to_hex(kSerial);
    const auto first_card =
        take(pki::Certificate::load(issuance::card_certificate_path(pd.dir, serial, "card")));
    const auto first_sign =
        take(pki::Certificate::load(issuance::card_certificate_path(pd.dir, serial, "jpki-sign")));

    auto again = issue(m.transport(), nullptr, order(), pd.authorities);
    INFO((again ? std::string() : again.error().describe()));
    REQUIRE(again.ok());
    for (const auto& [name, cert] : {std::pair{std::string("card"), first_card},
                                     std::pair{std::string("jpki-sign"), first_sign}}) {
      auto e = pd.entry(name, cert);
      REQUIRE(e);
      REQUIRE(e->revocation);
      CHECK(e->revocation->reason == pki::RevocationReason::superseded);
    }
    auto now_card = pd.entry("card", again->card_certificate);
    REQUIRE(now_card);
    CHECK_FALSE(now_card->revocation);
    CHECK(take(pki::read_file(issuance::card_certificate_path(pd.dir, serial, "card"))) ==
          again->card_certificate.der());
  }
}

TEST_CASE("issuance: the card's administration key is derived from its serial and terminates it",
          "[issuance]") {
  auto a = issuance::admin_key(kAdminMaster, kSerial);
  auto b = issuance::admin_key(kAdminMaster, *from_hex("0102030405060709"));
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->size() == 16);
  CHECK(*a != *b);
  // SP 800-108 counter mode with AES-CMAC, one block, computed here by hand.
  Bytes input = {0x01};
  for (char ch : std::string("JUKI card admin")) input.push_back(static_cast<std::uint8_t>(ch));
  input.push_back(0x00);
  input.insert(input.end(), kSerial.begin(), kSerial.end());
  input.push_back(0x00);
  input.push_back(0x80);
  CHECK(*a == *host::crypto::aes_cmac(kAdminMaster, input));
  CHECK_FALSE(issuance::admin_key(Bytes(15, 0), kSerial).ok());

  TestCard c;
  REQUIRE(issue(c.transport()).ok());
  c.power_cycle();
  CHECK(c.authenticate(*b, 0x02) != 0x9000);  // another card's key
  CHECK(c.authenticate(*a, 0x02) == 0x9000);
  CHECK(c.sw("00FE0000") == 0x9000);  // TERMINATE CARD USAGE (collection)
  CHECK(life_cycle(c.transport()) == 0x0F);
}

TEST_CASE("issuance: an order is checked before any card is touched", "[issuance][refusal]") {
  std::vector<std::pair<std::string, std::function<void(issuance::CardOrder&)>>> bad = {
      {"resident code", [](auto& o) { o.resident_code = "12345678901"; }},
      {"resident code", [](auto& o) { o.resident_code = "1234567890"; }},
      {"municipality", [](auto& o) { o.municipality = "131017"; }},
      {"issue date", [](auto& o) { o.issue_date = "20260230"; }},
      {"face", [](auto& o) { o.face = 'C'; }},
      {"holder", [](auto& o) { o.holder.clear(); }},
      {"authentication PIN", [](auto& o) { o.jpki_auth_pin = "12a4"; }},
      {"authentication PIN", [](auto& o) { o.jpki_auth_pin = "12345"; }},
      {"signature PIN", [](auto& o) { o.jpki_sign_pin = "ABC12"; }},
      {"signature PIN", [](auto& o) { o.jpki_sign_pin = "ABC-1234"; }},
  };
  for (const auto& [field, change] : bad) {
    issuance::CardOrder o = order();
    change(o);
    auto checked = issuance::check_order(o);
    REQUIRE_FALSE(checked.ok());
    CHECK(checked.error().find(field) != std::string::npos);
    // personalize() refuses it too, and sends nothing after open().
    TestCard c;
    auto opened = issuance::open(c.transport(), kTransportKey);
    REQUIRE(opened.ok());
    const Bytes before = c.storage().bytes();
    auto made = issuance::personalize(*opened, issuer().authorities, issuer().keys, o);
    REQUIRE_FALSE(made.ok());
    CHECK(made.error().kind == Failure::Kind::order);
    CHECK(c.storage().bytes() == before);
  }
}

TEST_CASE("issuance: a wrong transport key is refused, costs a try and leaves the card locked",
          "[issuance][refusal][req:K13]") {
  TestCard c;
  auto opened = issuance::open(c.transport(), *from_hex("00112233445566778899AABBCCDDEEFF"));
  REQUIRE_FALSE(opened.ok());
  CHECK(opened.error().kind == Failure::Kind::wrong_transport_key);
  CHECK(opened.error().step == Step::open);
  CHECK((opened.error().sw & 0xFFF0) == 0x63C0);
  CHECK(opened.error().message.find("tries left") != std::string::npos);
  c.power_cycle();
  CHECK(c.transport().atr().at(17) == 0x01);
  // The right key still opens it.
  REQUIRE(issue(c.transport()).ok());
}

TEST_CASE("issuance: a card that is not blank is refused without a command",
          "[issuance][refusal]") {
  TestCard c;
  REQUIRE(issue(c.transport()).ok());
  c.power_cycle();
  const Bytes before = c.storage().bytes();
  auto again = issuance::open(c.transport(), kTransportKey);
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().kind == Failure::Kind::card_state);
  CHECK(again.error().message == "the card is issued already");
  CHECK(c.storage().bytes() == before);
}

TEST_CASE("issuance: a card without room for everything is refused and never issued",
          "[issuance][refusal]") {
  card_os::NvmGeometry small = test_geometry();
  small.capacity = 8 * 1024;
  TestCard c(small);
  std::vector<Step> steps;
  auto made = issue(c.transport(), &steps);
  REQUIRE_FALSE(made.ok());
  CHECK(made.error().kind == Failure::Kind::refused);
  CHECK(made.error().sw == 0x6A84);
  CHECK(steps.back() != Step::issue);
  c.power_cycle();
  CHECK(life_cycle(c.transport()) == 0x03);  // in personalization, not issued
}

TEST_CASE(
    "issuance: a card removed at any step is found in personalization, resumed, and issued "
    "the same",
    "[issuance][tearing]") {
  const Bytes blank = blank_image();
  // The clean run's writes, and where each step starts among them.
  std::vector<std::size_t> sizes;
  std::map<Step, std::uint64_t> step_starts;
  {
    TornMedium m(blank, "issuance");
    m.power_up();
    m.mark();
    auto made = issue(m.transport(), nullptr);
    REQUIRE(made.ok());
    sizes = m.sizes();
  }
  {
    TornMedium m(blank, "issuance");
    m.power_up();
    m.mark();
    auto opened = issuance::open(m.transport(), kTransportKey);
    REQUIRE(opened.ok());
    auto made = issuance::personalize(*opened, issuer().authorities, issuer().keys, order(),
                                      [&](Step s) { step_starts[s] = m.writes_since_mark(); });
    REQUIRE(made.ok());
  }
  REQUIRE(step_starts.size() == 7);
  // Cuts: the first and a middle write of every step, and the last write.
  std::vector<Cut> cuts;
  std::vector<std::uint64_t> ends;
  for (auto it = step_starts.begin(); it != step_starts.end(); ++it) {
    auto next = std::next(it);
    const std::uint64_t end = next == step_starts.end() ? sizes.size() : next->second;
    if (end <= it->second) continue;  // a step that writes nothing (verify)
    cuts.push_back({it->second, 0});
    cuts.push_back({(it->second + end) / 2, sizes[(it->second + end) / 2] / 2});
  }
  cuts.push_back({sizes.size() - 1, sizes.back() - 1});
  int resumed = 0;
  for (const Cut& cut : cuts) {
    INFO("removed at write " << cut.write << " of " << sizes.size());
    TornMedium m(blank, "issuance");
    m.power_up();
    m.mark(cut);
    auto made = issue(m.transport());
    REQUIRE(m.fired());
    REQUIRE_FALSE(made.ok());
    CHECK(made.error().kind == Failure::Kind::transport);
    m.power_up();
    const std::uint8_t state = m.transport().atr().at(17);
    if (state == 0x04) {
      // The cut came after SET STATUS committed: issued, and complete.
      check_usable(m.transport(), order());
      continue;
    }
    CHECK(state == 0x03);  // the transport key was proved before the first write
    std::vector<Step> steps;
    auto again = issue(m.transport(), &steps);
    INFO((again ? std::string() : again.error().describe()));
    REQUIRE(again.ok());
    CHECK(steps.front() == Step::roll_back);
    ++resumed;
    m.power_up();
    CHECK(life_cycle(m.transport()) == 0x04);
    check_usable(m.transport(), order());
  }
  CHECK(resumed >= 5);
  WARN("issuance: " << sizes.size() << " writes, " << cuts.size() << " removals, " << resumed
                    << " resumed from personalization");
}
