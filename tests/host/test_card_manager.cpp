// The card manager (specs/card-manager.md) on an in-process card: the three
// example municipal applications installed on authorizations signed with an
// app-authority key (issuer_tool/apps, OpenSSL) and used by their own rules;
// LIST APPLICATIONS; every refusal (unauthorized, tampered, replayed, over
// quota, malformed), each leaving the card's memory as it was; DELETE
// erasing everything (the memory scanned); LOCK and UNLOCK; system
// applications kept; and INSTALL and DELETE cut at every write.
#include <catch2/catch.hpp>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "card_os/card/card_impl.hpp"
#include "common/iso7816/tlv.hpp"
#include "common/layout/card_manager.hpp"
#include "common/layout/jpki.hpp"
#include "host_middleware/crypto/host_crypto.hpp"
#include "issuer_tool/apps/examples.hpp"
#include "issuer_tool/apps/manifest.hpp"
#include "issuer_tool/enrolment/card_manager.hpp"
#include "support/secure_card.hpp"
#include "support/torn_medium.hpp"

using namespace juki;
using namespace juki::test;
namespace cm = juki::card_manager;
namespace app_layout = juki::layout::manager;
using cm::Operation;

namespace {

const Bytes kManagerAid(std::begin(app_layout::kAid), std::end(app_layout::kAid));
const Bytes kJpkiAid(std::begin(juki::layout::jpki::kAid), std::end(juki::layout::jpki::kAid));
const std::string kSelectManager = "00A4040C07F04A554B4943 4D";

// An authority of `municipality` with `role`, certified by `ca` (a terminal
// CA) for `days` from `not_before`.
cm::Authority authority_of(const pki::KeyAndCert& ca, pki::Role role = pki::Role::app_authority,
                           const std::string& municipality = kMunicipality, int days = 30,
                           std::optional<std::int64_t> not_before = {}) {
  pki::LeafRequest request;
  request.authorization.role = role;
  request.authorization.municipality = municipality;
  if (role == pki::Role::municipal_app) request.authorization.application = kManagerAid;
  request.common_name = "application authority";
  request.days = days;
  request.not_before = not_before;
  auto leaf = take(pki::issue_new_key(ca, request));
  return {leaf.key, leaf.cert, ca.cert};
}

// One card with the sample layout, SEC, JPKI and the card manager (no
// municipal application) for the whole file; each test takes a copy.
struct Golden {
  Pki p;
  pki::KeyAndCert jpki_auth = take(pki::create_jpki_ca(pki::JpkiKind::auth));
  pki::KeyAndCert jpki_sign = take(pki::create_jpki_ca(pki::JpkiKind::sign));
  cm::Authority authority = authority_of(p.terminal_ca);
  Bytes image;

  Golden() {
    TestCard c;
    auto made =
        make_secure_card(c.transport(), sample_secrets(), p.root.cert, p.card_ca,
                         JpkiCas{jpki_auth, jpki_sign}, WithJukiAp::no, WithCardManager::yes);
    INFO((made ? std::string() : made.error().describe()));
    REQUIRE(made.ok());
    image = c.storage().bytes();
  }
};

const Golden& golden() {
  static const Golden g;
  return g;
}

std::unique_ptr<TestCard> manager_card() {
  return TestCard::from_image(golden().image);
}

template <typename T>
T ok(host::perso::Outcome<T> r) {
  INFO((r ? std::string() : r.error().describe()));
  REQUIRE(r.ok());
  return std::move(*r);
}
void ok(host::perso::Outcome<> r) {
  INFO((r ? std::string() : r.error().describe()));
  REQUIRE(r.ok());
}
Bytes signature_of(const cm::Authority& a, const Bytes& manifest) {
  auto s = cm::sign(a.key, manifest);
  INFO((s ? std::string() : s.error()));
  REQUIRE(s.ok());
  return *s;
}

std::vector<cm::Listed> list(TestCard& c) {
  return ok(enrolment::list_applications(c.transport()));
}
std::optional<cm::Listed> listed(TestCard& c, const Bytes& aid) {
  for (const cm::Listed& l : list(c))
    if (l.aid == aid) return l;
  return std::nullopt;
}
enrolment::CardManagerState state(TestCard& c) {
  return ok(enrolment::read_card_manager(c.transport()));
}

// A manifest for `c` with the next sequence number (plus `skip`).
cm::Manifest manifest_for(TestCard& c, Operation op, const Bytes& aid, std::int64_t skip = 0) {
  const auto s = state(c);
  cm::Manifest m;
  m.operation = op;
  m.card_serial = s.serial;
  m.sequence = static_cast<std::uint32_t>(s.sequence + 1 + skip);
  m.aid = aid;
  return m;
}
cm::Manifest install_manifest(TestCard& c, const cm::Application& app) {
  cm::Manifest m = manifest_for(c, Operation::install, app.aid);
  m.application = app;
  return m;
}
Bytes authorization(const cm::Authority& a, const cm::Manifest& m) {
  auto data = cm::authorize(a, m);
  INFO((data ? std::string() : data.error()));
  REQUIRE(data.ok());
  return *data;
}
// The command for `m` signed by the golden authority, the manager selected.
Bytes command_for(TestCard& c, const cm::Manifest& m, const cm::Authority* a = nullptr) {
  const Bytes cmd = cm::command(m.operation, authorization(a ? *a : golden().authority, m));
  c.expect(kSelectManager, 0x9000);
  return cmd;
}

// Sends `cmd` and checks its refusal with `want`: the card's memory (every
// byte of the storage), its free memory and its application list are as
// they were.
void refused(TestCard& c, const Bytes& cmd, sw::Sw want) {
  const std::uint32_t free = c.free_bytes();
  const std::vector<cm::Listed> before = list(c);
  const Bytes image = c.storage().bytes();
  c.expect(kSelectManager, 0x9000);
  const Bytes r = c.send(cmd);
  INFO("answer " << to_hex(r));
  CHECK(TestCard::sw_of(r) == want);
  CHECK(c.storage().bytes() == image);
  CHECK(c.free_bytes() == free);
  const std::vector<cm::Listed> after = list(c);
  REQUIRE(after.size() == before.size());
  for (std::size_t i = 0; i < after.size(); ++i) {
    CHECK(after[i].aid == before[i].aid);
    CHECK(after[i].life_cycle == before[i].life_cycle);
    CHECK(after[i].used == before[i].used);
  }
}

std::vector<cm::GeneratedKey> install(TestCard& c, const cm::Application& app) {
  return ok(enrolment::install_application(c.transport(), golden().authority, app));
}
void manage(TestCard& c, Operation op, const Bytes& aid) {
  ok(enrolment::manage_application(c.transport(), golden().authority, op, aid));
}

std::string select_aid(const Bytes& aid) {
  return to_hex(apdu::encode_command(0x00, 0xA4, 0x04, 0x0C, aid));
}
std::string select_fid(std::uint16_t fid) {
  char s[16];
  std::snprintf(s, sizeof s, "00A4020C02%04X", fid);
  return s;
}
Bytes read_all(TestCard& c, std::uint32_t n) {
  return c.expect(apdu::encode_command(0x00, 0xB0, 0x00, 0x00, {}, n), 0x9000);
}
Bytes padded(const std::string& s, std::size_t n) {
  Bytes b = ascii(s);
  b.resize(n, ' ');
  return b;
}
Bytes change_pin(std::uint8_t p2, const std::string& value) {
  return apdu::encode_command(0x00, 0x24, 0x01, p2, as_bytes(value));
}
Bytes verify_pin(std::uint8_t p2, const std::string& value) {
  return apdu::encode_command(0x00, 0x20, 0x00, p2, as_bytes(value));
}

bool contains(const Bytes& haystack, const Bytes& needle) {
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) !=
         haystack.end();
}
// The card's whole persistent memory (the main area, as the card OS sees it).
Bytes main_area(TestCard& c) {
  const card_os::PersistentMemory& m = c.card().memory();
  const ByteView all = m.read(0, m.capacity());
  return Bytes(all.begin(), all.end());
}

}  // namespace

// ---------------------------------------------------------------- install and use

TEST_CASE("card manager: the example applications take what specs/card-manager.md 8 says",
          "[manager]") {
  CHECK(cm::allocation(cm::seal_registration()) == 840);
  CHECK(cm::seal_registration().quota == 1024);
  CHECK(cm::allocation(cm::library_card()) == 852);
  CHECK(cm::library_card().quota == 1024);
  CHECK(cm::allocation(cm::kiosk_access()) == 1396);
  CHECK(cm::kiosk_access().quota == 1536);
}

TEST_CASE("card manager: the three example applications install and work by their own rules",
          "[manager]") {
  auto c = manager_card();
  const std::uint32_t free = c->free_bytes();
  const std::size_t apps_before = list(*c).size();
  std::uint32_t used = 0;
  for (const cm::Application& app : cm::example_applications()) {
    INFO(app.name);
    const auto keys = install(*c, app);
    REQUIRE(keys.size() == app.keys.size());
    for (std::size_t i = 0; i < keys.size(); ++i) {
      CHECK(keys[i].ref == app.keys[i]);
      CHECK(host::crypto::p256_from_point(keys[i].point).ok());  // a point on P-256
    }
    const auto l = listed(*c, app.aid);
    REQUIRE(l.has_value());
    CHECK(l->fid == app.df);
    CHECK(l->kind == app_layout::kMunicipal);
    CHECK(l->life_cycle == app_layout::kInstalled);  // its PINs wait for the holder
    CHECK(l->quota == app.quota);
    CHECK(l->used == cm::allocation(app));
    CHECK(l->used <= l->quota);
    used += l->used;
  }
  CHECK(list(*c).size() == apps_before + 3);
  // The free memory went down by what they take (a heap block may keep up
  // to 4 bytes of slack).
  CHECK(c->free_bytes() <= free - used);
  CHECK(c->free_bytes() + 4 * 40 >= free - used);
  CHECK(state(*c).sequence == 3);

  SECTION("seal registration: the holder sets the PIN, then reads the registrant") {
    const cm::Application app = cm::seal_registration();
    c->expect(select_aid(app.aid), 0x9000);
    c->expect(select_fid(0x5101), 0x9000);
    CHECK(read_all(*c, 32) == padded(cm::SealRegistration{}.registration_number, 32));
    c->expect("00D6000001AA", 0x6982);  // update: never
    c->expect(select_fid(0x5102), 0x9000);
    c->expect("00B0000040", 0x6982);              // PIN 81 not verified
    c->expect(verify_pin(0x81, "1357"), 0x6984);  // no value yet
    c->expect(change_pin(0x81, "1357"), 0x9000);
    c->expect(change_pin(0x81, "2468"), 0x6985);  // P1 = 01 only while unset
    CHECK(listed(*c, app.aid)->life_cycle == app_layout::kSelectable);
    c->expect(select_aid(app.aid), 0x9000);
    c->expect(verify_pin(0x81, "0000"), 0x63C2);
    c->expect(verify_pin(0x81, "1357"), 0x9000);
    c->expect(select_fid(0x5102), 0x9000);
    CHECK(read_all(*c, 64) == padded(cm::SealRegistration{}.registrant, 64));
    c->expect(apdu::encode_command(0x00, 0xE2, 0x00, 0x18, ascii("2026-01-05 copy issued")),
              0x9000);
    c->expect("00B2011C00", 0x9000);
    c->expect("00DC011C01 AA", 0x6982);  // update: never
    // Nothing of another application from here.
    c->expect(select_fid(0x5201), 0x6A82);
    c->expect("00B0810010", 0x9000);  // SFI 1: its own EF 5101
  }
  SECTION("library card: loans recorded after the PIN, the branch changed") {
    const cm::Application app = cm::library_card();
    c->expect(select_aid(app.aid), 0x9000);
    c->expect("00B0810010", 0x9000);  // the member number, read always
    c->expect("00E2001020" + std::string(64, 'A'), 0x6982);
    c->expect(change_pin(0x81, "24681357"), 0x9000);
    c->expect(verify_pin(0x81, "24681357"), 0x9000);
    const std::string loan = to_hex(padded("ISBN 978-4-00-310101-8", 32));
    c->expect("00E2001020" + loan, 0x9000);
    c->expect("00DC011420" + to_hex(padded("returned", 32)), 0x9000);
    CHECK(c->expect("00B2011400", 0x9000) == padded("returned", 32));
    c->expect("00D6830004 4B414E44", 0x9000);  // EF 5203 by SFI 3, update PIN 81
    c->expect(select_fid(0x5203), 0x9000);
    c->expect(verify_pin(0x81, "12"), 0x6700);  // 4..8 digits
  }
  SECTION("kiosk access: a blocked PIN unblocked with its PUK") {
    const cm::Application app = cm::kiosk_access();
    c->expect(select_aid(app.aid), 0x9000);
    c->expect(change_pin(0x82, "12345678"), 0x9000);  // the PUK
    c->expect(change_pin(0x81, "4321"), 0x9000);
    CHECK(listed(*c, app.aid)->life_cycle == app_layout::kSelectable);
    c->expect(select_aid(app.aid), 0x9000);
    for (const sw::Sw s : {0x63C2, 0x63C1, 0x63C0}) c->expect(verify_pin(0x81, "0000"), s);
    c->expect(verify_pin(0x81, "4321"), 0x6983);
    c->expect(apdu::encode_command(0x00, 0x2C, 0x00, 0x81, as_bytes("123456785678")), 0x9000);
    c->expect(verify_pin(0x81, "5678"), 0x9000);
    c->expect(select_fid(0x5302), 0x9000);
    CHECK(read_all(*c, 8) == cm::KioskAccess{}.permissions);
    c->expect("00E2001810 " + to_hex(padded("2026-01-05 tax", 16)), 0x9000);
    c->expect("00B2011C00", 0x9000);
  }
}

TEST_CASE(
    "card manager: LIST APPLICATIONS names every application, its kind, life cycle and memory",
    "[manager]") {
  auto c = manager_card();
  const auto all = list(*c);
  auto find = [&](const Bytes& aid) -> const cm::Listed& {
    auto it =
        std::find_if(all.begin(), all.end(), [&](const cm::Listed& l) { return l.aid == aid; });
    REQUIRE(it != all.end());
    return *it;
  };
  REQUIRE(all.size() == 4);
  CHECK(find(host::perso::kSampleAid).fid == host::perso::kSampleDf);
  CHECK(find(kSecAid).fid == kSecDf);
  CHECK(find(kJpkiAid).fid == 0);  // JPKI's DF has a name only
  CHECK(find(kManagerAid).fid == app_layout::kDf);
  for (const cm::Listed& l : all) {
    INFO(to_hex(l.aid));
    CHECK(l.kind == app_layout::kSystem);
    CHECK(l.life_cycle == app_layout::kSelectable);  // the password and the JPKI PINs are set
    CHECK(l.quota == 0);
    CHECK(l.used > 0);
  }

  // The answer as bytes: E3 templates; Le too short gives its exact length.
  c->expect(kSelectManager, 0x9000);
  const Bytes answer = c->expect("80F2000000", 0x9000);
  REQUIRE(answer.size() < 256);
  CHECK(answer[0] == 0xE3);
  const Bytes sw = c->send("80F2000010");
  CHECK(TestCard::sw_of(sw) == (0x6C00 | answer.size()));
  CHECK(c->expect(
            apdu::encode_command(0x80, 0xF2, 0, 0, {}, static_cast<std::uint32_t>(answer.size())),
            0x9000) == answer);
  c->expect("80F20000", 0x6700);           // no Le
  c->expect("80F2010000", 0x6A86);         // P1
  c->expect("80F20000 01 00 00", 0x6700);  // data
  // Outside its context the card OS answers: no such proprietary command.
  c->expect("00A4000C", 0x9000);
  c->expect("80F2000000", 0x6D00);
  c->expect("80E00000 02 7100", 0x6E00);  // CREATE FILE with a proprietary class
  c->expect("80440000", 0x6E00);
  c->expect(select_aid(kSecAid), 0x9000);
  c->expect("80F2000000", 0x6D00);

  // With municipal applications, and more than a short Le can carry: 6700,
  // the answer needs an extended Le.
  for (const cm::Application& app : cm::example_applications()) install(*c, app);
  CHECK(list(*c).size() == 7);
  for (std::uint8_t i = 0; i < 5 && c->expect(cm::list_command(), 0x9000).size() <= 256; ++i) {
    cm::Application tiny;
    tiny.aid = {0xF0, 0x54, 0x49, 0x4E, 0x59, i};
    tiny.df = static_cast<std::uint16_t>(0x5800 + i);
    tiny.quota = cm::allocation(tiny);
    install(*c, tiny);
  }
  c->expect(kSelectManager, 0x9000);
  REQUIRE(c->expect(cm::list_command(), 0x9000).size() > 256);
  CHECK(c->sw("80F2000000") == 0x6700);
}

TEST_CASE("card manager: the manager's own files are the card OS's, readable and never updated",
          "[manager]") {
  auto c = manager_card();
  c->expect(kSelectManager, 0x9000);
  c->expect(select_fid(app_layout::kMunicipalityEf), 0x9000);
  CHECK(read_all(*c, 6) == ascii(kMunicipality));
  c->expect("00D6000001 30", 0x6982);
  c->expect(select_fid(app_layout::kCounterEf), 0x9000);
  CHECK(read_all(*c, 4) == hex("00000000"));
  c->expect("00D6000001 7F", 0x6982);
  c->expect(select_fid(app_layout::kRegistryEf), 0x9000);
  CHECK(read_all(*c, 8 * 24) == Bytes(8 * 24, 0));
  c->expect(select_fid(app_layout::kTrustAnchorEf), 0x9000);
  c->expect(apdu::encode_command(0x00, 0xE0, 0x00, 0x00,
                                 juki::fcp::encode_fcp(transparent_ef(0x4D09, 4), 0)),
            0x6982);

  // After an install: the counter and the registry entry.
  const cm::Application app = cm::seal_registration();
  install(*c, app);
  c->expect(select_fid(app_layout::kCounterEf), 0x9000);
  CHECK(read_all(*c, 4) == hex("00000001"));
  c->expect(select_fid(app_layout::kRegistryEf), 0x9000);
  Bytes entry = read_all(*c, 24);
  CHECK(entry[0] == app.aid.size());
  CHECK(Bytes(entry.begin() + 1, entry.begin() + 1 + app.aid.size()) == app.aid);
  CHECK(load_be16(&entry[17]) == app.df);
  CHECK(load_be32(&entry[20]) == app.quota);
}

TEST_CASE("card manager: INSTALL without Le answers no data, and the keys still exist",
          "[manager]") {
  auto c = manager_card();
  const cm::Application app = cm::kiosk_access();
  const cm::Manifest m = install_manifest(*c, app);
  const Bytes cmd = cm::command(Operation::install, authorization(golden().authority, m), false);
  c->expect(kSelectManager, 0x9000);
  CHECK(c->expect(cmd, 0x9000).empty());
  CHECK(listed(*c, app.aid)->used == cm::allocation(app));
  // With an Le too short for the keys' points: 6700 before anything changes.
  cm::Application other = cm::library_card();
  const Bytes data = authorization(golden().authority, install_manifest(*c, other));
  Bytes short_le = cm::command(Operation::install, data, false);
  short_le.insert(short_le.end(), {0x00, 0x10});
  refused(*c, short_le, 0x6700);
}

TEST_CASE("card manager: an authorization moves the card's date on, a refused one does not",
          "[manager]") {
  auto c = manager_card();
  auto date = [&]() { return c->card().memory().u64(card_os::Superblock::kCardDateAt); };
  // YYYYMMDDhhmmss, as the card keeps its date (specs/secure-channel.md 2.3).
  auto as_date = [](std::int64_t t) {
    const std::string s = pki::format_time(t);
    return static_cast<std::uint64_t>(std::stoull(s.substr(0, 14)));
  };
  const cm::Authority& a = golden().authority;
  const std::uint64_t before = date();
  refused(*c, command_for(*c, manifest_for(*c, Operation::remove, hex("F0112233445566"))), 0x6A82);
  CHECK(date() == before);
  install(*c, cm::seal_registration());
  const std::uint64_t expected =
      std::max<std::uint64_t>({before, as_date(golden().p.root.cert.not_before()),
                               as_date(a.ca.not_before()), as_date(a.cert.not_before())});
  CHECK(date() == expected);
  CHECK(date() >= as_date(a.cert.not_before()));
}

TEST_CASE("card manager: without its own files the manager answers 6A88", "[manager]") {
  auto c = TestCard::active_with([](TestCard& t) {
    host::perso::Personalizer perso(t.transport());
    juki::fcp::FileSpec df = df_spec(app_layout::kDf, kManagerAid);
    ok(perso.create(df));
    ok(perso.select_mf());
  });
  c->expect(kSelectManager, 0x9000);
  c->expect("80F2000000", 0x6A88);
  c->expect("80E00000 02 7100", 0x6A88);
  c->expect("80E40000 02 7100", 0x6A88);
}

// ---------------------------------------------------------------- refusals

TEST_CASE("card manager: unauthorized installs are refused with 6982 and leave nothing behind",
          "[manager][refusal][req:K4]") {
  auto c = manager_card();
  const Pki& p = golden().p;
  const cm::Application app = cm::library_card();
  const cm::Manifest m = install_manifest(*c, app);
  auto refuse_with = [&](const cm::Authority& a) { refused(*c, command_for(*c, m, &a), 0x6982); };

  SECTION("a chain under another root") {
    const Pki other("Another Root CA");
    refuse_with(authority_of(other.terminal_ca));
  }
  SECTION("roles other than app-authority") {
    refuse_with(authority_of(p.terminal_ca, pki::Role::window));
    refuse_with(authority_of(p.terminal_ca, pki::Role::issuance));
    refuse_with(authority_of(p.terminal_ca, pki::Role::municipal_app));
  }
  SECTION("the authority of another municipality") {
    refuse_with(authority_of(p.terminal_ca, pki::Role::app_authority, "011002"));
  }
  SECTION("an expired authority certificate") {
    refuse_with(authority_of(p.terminal_ca, pki::Role::app_authority, kMunicipality, 1,
                             unix_now() - 10 * 86400));
  }
  SECTION("the authority's CA swapped for another CA of the same root") {
    cm::Authority a = golden().authority;
    a.ca = p.card_ca.cert;
    refuse_with(a);
    a.ca = p.root.cert;
    refuse_with(a);
  }
  SECTION("a terminal CA under another root that copies the names") {
    const Pki other;  // same names, other keys
    refuse_with(authority_of(other.terminal_ca));
  }
  SECTION("signed by a key the certificate does not certify") {
    cm::Authority a = golden().authority;
    a.key = take(pki::PrivateKey::generate());
    refuse_with(a);
  }
  SECTION("a card certificate or a server instead of a terminal") {
    pki::LeafRequest r;
    r.authorization.role = pki::Role::cs;
    r.authorization.municipality = kMunicipality;
    r.common_name = "cs";
    auto cs = take(pki::issue_new_key(p.server_ca, r));
    refuse_with(cm::Authority{cs.key, cs.cert, p.server_ca.cert});
  }
  CHECK(c->free_bytes() > 0);
}

TEST_CASE(
    "card manager: a tampered authorization is refused, whatever byte of the manifest changed",
    "[manager][refusal][req:K4]") {
  auto c = manager_card();
  const cm::Application app = cm::seal_registration();
  const cm::Manifest m = install_manifest(*c, app);
  const Bytes manifest = cm::encode(m);
  const Bytes signature = signature_of(golden().authority, manifest);
  const Bytes cert = golden().authority.cert.der();
  const Bytes ca = golden().authority.ca.der();
  auto header = tlv::decode_one(manifest);
  REQUIRE(header.ok());
  const std::size_t value_at = header->encoded_size - header->value.size();

  const Bytes image = c->storage().bytes();
  c->expect(kSelectManager, 0x9000);
  std::size_t tried = 0;
  for (std::size_t i = 0; i < manifest.size(); ++i) {
    for (std::uint8_t flip : {0x01, 0x80}) {
      Bytes changed = manifest;
      changed[i] ^= flip;
      const sw::Sw s =
          c->sw(cm::command(Operation::install, cm::command_data(changed, signature, cert, ca)));
      INFO("byte " << i << " ^ " << int(flip) << ": " << std::hex << s);
      // A changed tag or length breaks the structure (6A80); any other byte the signature.
      if (i >= value_at)
        CHECK(s == 0x6982);
      else
        CHECK((s == 0x6982 || s == 0x6A80));
      ++tried;
    }
  }
  CHECK(c->storage().bytes() == image);
  // The signature changed, or cut.
  for (std::size_t i : {std::size_t{0}, std::size_t{31}, std::size_t{32}, std::size_t{63}}) {
    Bytes bad = signature;
    bad[i] ^= 0x01;
    CHECK(c->sw(cm::command(Operation::install, cm::command_data(manifest, bad, cert, ca))) ==
          0x6982);
  }
  CHECK(c->sw(cm::command(Operation::install,
                          cm::command_data(manifest, ByteView(signature).first(63), cert, ca))) ==
        0x6A80);
  CHECK(c->storage().bytes() == image);
  WARN("tampered manifests tried: " << tried);
  // The untouched one is good.
  c->expect(cm::command(Operation::install, cm::command_data(manifest, signature, cert, ca)),
            0x9000);
}

TEST_CASE("card manager: replayed authorizations are refused with 6982",
          "[manager][refusal][req:K4]") {
  auto c = manager_card();
  const cm::Application app = cm::kiosk_access();

  SECTION("the same authorization twice, on this card and on another") {
    const Bytes cmd = command_for(*c, install_manifest(*c, app));
    auto twin = manager_card();  // the same card image: same serial, same counter
    c->expect(cmd, 0x9000);
    manage(*c, Operation::remove, app.aid);  // the application is gone, the counter stays
    refused(*c, cmd, 0x6982);
    // A copy of a card (same serial) that has not seen it accepts it once:
    // what anti-replay protects is one card's counter.
    twin->expect(kSelectManager, 0x9000);
    twin->expect(cmd, 0x9000);
    refused(*twin, cmd, 0x6982);
  }
  SECTION("a sequence number not above the counter") {
    install(*c, cm::seal_registration());  // counter 1
    cm::Manifest m = install_manifest(*c, app);
    m.sequence = 1;
    refused(*c, command_for(*c, m), 0x6982);
    m.sequence = 0;
    refused(*c, command_for(*c, m), 0x6982);
    m.sequence = 7;  // numbers may be skipped
    c->expect(command_for(*c, m), 0x9000);
    CHECK(state(*c).sequence == 7);
  }
  SECTION("another card's serial") {
    cm::Manifest m = install_manifest(*c, app);
    m.card_serial = hex("0102030405060709");
    refused(*c, command_for(*c, m), 0x6982);
    m.card_serial = {};
    auto empty = cm::authorize(golden().authority, m);
    REQUIRE(empty.ok());
    refused(*c, cm::command(Operation::install, *empty), 0x6A80);  // not 8 bytes
  }
  SECTION("an authorization for another operation") {
    install(*c, app);
    cm::Manifest lock = manifest_for(*c, Operation::lock, app.aid);
    const Bytes data = authorization(golden().authority, lock);
    c->expect(kSelectManager, 0x9000);
    refused(*c, cm::command(Operation::remove, data), 0x6982);
    refused(*c, cm::command(Operation::unlock, data), 0x6982);
    refused(*c, cm::command(Operation::install, data), 0x6982);
    c->expect(kSelectManager, 0x9000);
    c->expect(cm::command(Operation::lock, data), 0x9000);
  }
}

TEST_CASE("card manager: installs over quota or beyond the card's memory are refused with 6A84",
          "[manager][refusal]") {
  auto c = manager_card();
  cm::Application app = cm::library_card();

  SECTION("a quota below what the application takes") {
    app.quota = cm::allocation(app) - 1;
    refused(*c, command_for(*c, install_manifest(*c, app)), 0x6A84);
    app.quota = cm::allocation(app);
    c->expect(command_for(*c, install_manifest(*c, app)), 0x9000);
    CHECK(listed(*c, app.aid)->used == app.quota);
  }
  SECTION("a quota above the card's free memory") {
    app.quota = c->free_bytes() + 1;
    refused(*c, command_for(*c, install_manifest(*c, app)), 0x6A84);
    app.quota = c->free_bytes();
    c->expect(command_for(*c, install_manifest(*c, app)), 0x9000);
  }
  SECTION("an install the journal cannot hold in one transaction") {
    // specs/card-manager.md 6.1: with the library card's layout, one file of
    // up to 7644 bytes of contents (bytes that do not repeat) fits the 8 KiB
    // journal, 7645 do not; nor do 10000.
    auto sized = [&](std::uint32_t n) {
      cm::Application big = app;
      big.files[0].spec.size = n;
      big.files[0].contents = Bytes(n, 0x5A);
      for (std::size_t i = 0; i < n; i += 2) big.files[0].contents[i] = 0xA5;
      big.quota = cm::allocation(big);
      return big;
    };
    refused(*c, command_for(*c, install_manifest(*c, sized(10000))), 0x6A84);
    refused(*c, command_for(*c, install_manifest(*c, sized(7645))), 0x6A84);
    c->expect(command_for(*c, install_manifest(*c, sized(7644))), 0x9000);
  }
  SECTION("as many empty EFs as the journal holds") {
    cm::Application many;
    many.aid = hex("F04D414E59");
    many.df = 0x5900;
    for (std::uint16_t i = 1; i <= 87; ++i) {
      cm::FileDefinition f;
      f.spec = transparent_ef(static_cast<std::uint16_t>(0x5900 + i), 4);
      many.files.push_back(f);
    }
    many.quota = cm::allocation(many);
    refused(*c, command_for(*c, install_manifest(*c, many)), 0x6A84);
    many.files.pop_back();  // 86
    many.quota = cm::allocation(many);
    c->expect(command_for(*c, install_manifest(*c, many)), 0x9000);
  }
  SECTION("a full registry") {
    // 8 entries by default: five more tiny applications fill it.
    install(*c, cm::seal_registration());
    install(*c, cm::library_card());
    install(*c, cm::kiosk_access());
    for (std::uint8_t i = 0; i < 5; ++i) {
      cm::Application tiny;
      tiny.aid = {0xF0, 0x54, 0x49, 0x4E, 0x59, i};
      tiny.df = static_cast<std::uint16_t>(0x5800 + i);
      tiny.quota = cm::allocation(tiny);
      install(*c, tiny);
    }
    cm::Application ninth;
    ninth.aid = hex("F054494E5909");
    ninth.df = 0x5809;
    ninth.quota = cm::allocation(ninth);
    refused(*c, command_for(*c, install_manifest(*c, ninth)), 0x6A84);
    manage(*c, Operation::remove, hex("F054494E5902"));  // an entry freed is reused
    install(*c, ninth);
  }
}

TEST_CASE("card manager: malformed commands and manifests get 6A80, 6700 or 6A86",
          "[manager][refusal]") {
  auto c = manager_card();
  const cm::Application app = cm::seal_registration();
  const cm::Authority& a = golden().authority;
  const cm::Manifest m = install_manifest(*c, app);
  const Bytes manifest = cm::encode(m);
  const Bytes signature = signature_of(a, manifest);
  const Bytes cert = a.cert.der();
  const Bytes ca = a.ca.der();
  const Bytes good = cm::command_data(manifest, signature, cert, ca);

  SECTION("the command") {
    refused(*c, hex("80E00000"), 0x6700);          // no data
    refused(*c, hex("80E0000000"), 0x6700);        // case 2
    refused(*c, hex("80E4000001 00 00"), 0x6700);  // DELETE with Le
    Bytes p1 = cm::command(Operation::install, good);
    p1[2] = 0x01;
    refused(*c, p1, 0x6A86);
    refused(*c, hex("80E00000 02 7100"), 0x6A80);
    refused(*c, hex("80E00000 03 FF FF FF"), 0x6A80);
  }
  SECTION("the four parts") {
    tlv::Builder reordered;
    reordered.add(0x5F37, signature).add_raw(manifest).add(0xA1, cert).add(0xA2, ca);
    refused(*c, cm::command(Operation::install, reordered.bytes()), 0x6A80);
    Bytes extra = good;
    extra.insert(extra.end(), {0x90, 0x00});
    refused(*c, cm::command(Operation::install, extra), 0x6A80);
    tlv::Builder no_ca;
    no_ca.add_raw(manifest).add(0x5F37, signature).add(0xA1, cert);
    refused(*c, cm::command(Operation::install, no_ca.bytes()), 0x6A80);
    refused(*c, cm::command(Operation::install, cm::command_data(manifest, signature, cert, cert)),
            0x6982);  // a leaf where the CA goes: not a CA
  }
  SECTION("signed manifests the card does not accept") {
    auto signed_install = [&](const cm::Application& changed) {
      cm::Manifest mm = m;
      mm.application = changed;
      return cm::command(Operation::install, authorization(a, mm));
    };
    auto raw = [&](const Bytes& value) {
      tlv::Builder b;
      b.add(0x71, value);
      const Bytes bad = b.bytes();
      return cm::command(Operation::install, cm::command_data(bad, signature_of(a, bad), cert, ca));
    };
    cm::Application x = app;
    x.files.push_back(x.files[0]);  // an FID twice
    refused(*c, signed_install(x), 0x6A80);
    x = app;
    x.files[1].spec.sfi = 1;  // an SFI twice
    refused(*c, signed_install(x), 0x6A80);
    x = app;
    x.files[0].spec.type = juki::fcp::FileType::df;  // a DF
    refused(*c, signed_install(x), 0x6A80);
    x = app;
    x.files[0].contents = Bytes(33, 'x');  // contents longer than the EF
    refused(*c, signed_install(x), 0x6A80);
    x = app;
    x.files[2].records = {Bytes(65, 'x')};  // a record longer than its maximum
    refused(*c, signed_install(x), 0x6A80);
    x = app;
    x.pins.push_back(x.pins[0]);  // a PIN reference twice
    refused(*c, signed_install(x), 0x6A80);
    x = app;
    x.pins[0].puk_ref = 9;  // a PUK that is not there
    refused(*c, signed_install(x), 0x6A80);
    x = app;
    x.keys = {1, 1};
    refused(*c, signed_install(x), 0x6A80);
    x = app;
    x.df = 0x3F00;
    refused(*c, signed_install(x), 0x6A80);
    x = app;
    x.files[0].spec.fid = x.df;  // the DF's own FID
    refused(*c, signed_install(x), 0x6A80);
    x = app;
    x.aid = hex("F0010203");  // 4 bytes
    refused(*c, signed_install(x), 0x6A80);

    // Field by field: a PIN with an initial value or the activation flag,
    // an unknown tag, a missing field, fields out of order.
    const std::string head =
        "800101 8108" + to_hex(m.card_serial) + " 8204" + to_hex(hex("00000001"));
    const std::string aid = "4F09" + to_hex(app.aid);
    const std::string df = "83025100 840400001000";
    refused(*c, raw(hex(head + aid + df + "A113 830101 800101 81020404 820103 840431323334")),
            0x6A80);
    refused(*c, raw(hex(head + aid + df + "A110 830101 800101 81020404 820103 850102")), 0x6A80);
    refused(*c, raw(hex(head + aid + df + "A111 830101 800101 81020404 820103 86020201")), 0x6A80);
    refused(*c, raw(hex(head + aid + df + "9F0101")), 0x6A80);
    refused(*c, raw(hex(head + aid + "840400001000")), 0x6A80);
    refused(*c, raw(hex(head + df + aid)), 0x6A80);
    refused(*c, raw(hex(head + aid + df + "A306 830101 800101")), 0x6A80);  // AES: no
    refused(*c, raw(hex("800105 8108" + to_hex(m.card_serial) + " 820400000001" + aid)), 0x6A80);
    refused(*c, raw(hex("800102 8108" + to_hex(m.card_serial) + " 820400000001" + aid + df)),
            0x6A80);  // a delete with an install's fields
    // And the minimal install is accepted: a DF and nothing else.
    c->expect(kSelectManager, 0x9000);
    c->expect(raw(hex(head + aid + df)), 0x9000);
  }
}

TEST_CASE("card manager: existing AIDs and FIDs, unknown and system applications",
          "[manager][refusal]") {
  auto c = manager_card();
  cm::Application app = cm::seal_registration();
  install(*c, app);

  SECTION("an AID or a DF FID already on the card") {
    cm::Application again = app;
    again.df = 0x5900;
    refused(*c, command_for(*c, install_manifest(*c, again)), 0x6A8A);
    again = cm::library_card();
    again.aid = kJpkiAid;  // JPKI's DF name
    again.df = 0x5900;
    refused(*c, command_for(*c, install_manifest(*c, again)), 0x6A8A);
    again = cm::library_card();
    again.df = host::perso::kSampleDf;  // the sample application's FID
    refused(*c, command_for(*c, install_manifest(*c, again)), 0x6A89);
    again.df = app.df;
    refused(*c, command_for(*c, install_manifest(*c, again)), 0x6A89);
  }
  SECTION("an AID that is not on the card") {
    for (Operation op : {Operation::remove, Operation::lock, Operation::unlock})
      refused(*c, command_for(*c, manifest_for(*c, op, hex("F0112233445566"))), 0x6A82);
  }
  SECTION("system applications are neither deleted nor locked") {
    for (const Bytes& aid : {host::perso::kSampleAid, kSecAid, kJpkiAid, kManagerAid})
      for (Operation op : {Operation::remove, Operation::lock, Operation::unlock}) {
        INFO(to_hex(aid) << " " << cm::operation_name(op));
        refused(*c, command_for(*c, manifest_for(*c, op, aid)), 0x6985);
      }
    for (const cm::Listed& l : list(*c))
      if (l.aid != app.aid) CHECK(l.kind == app_layout::kSystem);
  }
  SECTION("a lock of a locked application, an unlock of an unlocked one") {
    refused(*c, command_for(*c, manifest_for(*c, Operation::unlock, app.aid)), 0x6985);
    manage(*c, Operation::lock, app.aid);
    refused(*c, command_for(*c, manifest_for(*c, Operation::lock, app.aid)), 0x6985);
  }
}

TEST_CASE("card manager: only an active card manages applications", "[manager]") {
  // A card in personalization with the manager: its commands answer 6985.
  auto c = TestCard::personalizing();
  host::perso::Personalizer perso(c->transport());
  ok(enrolment::enrol_card_manager(perso, golden().p.root.cert, {kMunicipality}));
  c->expect(kSelectManager, 0x9000);
  c->expect("80F2000000", 0x6985);
  c->expect("80E00000 02 7100", 0x6985);
  c->expect("80E40000 02 7100", 0x6985);
  // Its personalization refuses bad requests.
  CHECK_FALSE(enrolment::enrol_card_manager(perso, golden().p.root.cert, {"131017"}).ok());
}

// ---------------------------------------------------------------- delete, lock

TEST_CASE("card manager: DELETE erases every byte of the application from the card's memory",
          "[manager]") {
  auto c = manager_card();
  const std::uint32_t free = c->free_bytes();
  const auto before = list(*c);
  cm::SealRegistration data;
  data.registration_number = "SEAL-MARKER-REGNO-77";
  data.registrant = "MARKER REGISTRANT HANAKO";
  const cm::Application app = cm::seal_registration(data);
  install(*c, app);
  c->expect(select_aid(app.aid), 0x9000);
  c->expect(change_pin(0x81, "9753"), 0x9000);
  c->expect(verify_pin(0x81, "9753"), 0x9000);
  const Bytes log = ascii("MARKER-LOG-RECORD-0001");
  c->expect(apdu::encode_command(0x00, 0xE2, 0x00, 0x18, log), 0x9000);

  const std::vector<Bytes> markers = {ascii(data.registration_number), ascii(data.registrant), log};
  for (const Bytes& mk : markers) REQUIRE(contains(main_area(*c), mk));

  manage(*c, Operation::remove, app.aid);
  CHECK_FALSE(listed(*c, app.aid).has_value());
  CHECK(list(*c).size() == before.size());
  CHECK(c->free_bytes() == free);
  c->expect(select_aid(app.aid), 0x6A82);
  const Bytes memory = main_area(*c);
  for (const Bytes& mk : markers) {
    INFO(std::string(mk.begin(), mk.end()));
    CHECK_FALSE(contains(memory, mk));
    CHECK_FALSE(contains(c->storage().bytes(), mk));
  }
  // The registry entry is free again, the counter went on.
  c->expect(kSelectManager, 0x9000);
  c->expect(select_fid(app_layout::kRegistryEf), 0x9000);
  CHECK(read_all(*c, 24) == Bytes(24, 0));
  CHECK(state(*c).sequence == 2);
  // Installed again (a new authorization), it starts afresh: no PIN value.
  install(*c, app);
  c->expect(select_aid(app.aid), 0x9000);
  c->expect(verify_pin(0x81, "9753"), 0x6984);
}

TEST_CASE("card manager: a locked application answers as a deactivated DF until unlocked",
          "[manager]") {
  auto c = manager_card();
  const cm::Application app = cm::library_card();
  install(*c, app);
  c->expect(select_aid(app.aid), 0x9000);
  c->expect(change_pin(0x81, "1234"), 0x9000);
  // Channel 1 in the application with its PIN verified.
  CHECK(c->expect("0070000001", 0x9000) == hex("01"));
  c->expect("01A4040C08F04A554B494C4942", 0x9000);
  c->expect("0120008104 31323334", 0x9000);
  c->expect("01B0830020", 0x9000);

  manage(*c, Operation::lock, app.aid);
  CHECK(listed(*c, app.aid)->life_cycle == app_layout::kLocked);
  c->expect("01B0830020", 0x6985);  // nothing inside is usable
  c->expect("0120008100", 0x6700);
  c->expect("01200081", 0x6985);
  c->expect(select_aid(app.aid), 0x6283);
  c->expect(select_fid(0x5201), 0x6283);
  c->expect("00B0000010", 0x6985);
  c->expect("00B0810010", 0x6985);
  c->expect("0020008104 31323334", 0x6985);
  c->expect(apdu::encode_command(0x00, 0xE2, 0x00, 0x10, Bytes(32, 'x')), 0x6985);

  manage(*c, Operation::unlock, app.aid);
  CHECK(listed(*c, app.aid)->life_cycle == app_layout::kSelectable);
  c->expect("01B0830020", 0x9000);     // read always
  c->expect("01D6830001 41", 0x6982);  // the PIN verified before the lock is forgotten
  c->expect(select_aid(app.aid), 0x9000);
  c->expect("0020008104 31323334", 0x9000);
  c->expect("00D6830001 41", 0x9000);
  CHECK(state(*c).sequence == 3);

  // A locked application can be deleted; channel 1, in it, falls back to the MF.
  manage(*c, Operation::lock, app.aid);
  manage(*c, Operation::remove, app.aid);
  CHECK_FALSE(listed(*c, app.aid).has_value());
  c->expect("01B0000001", 0x6986);  // no current EF
  c->expect("01A4020C025201", 0x6A82);
  c->expect("01A4010C024D00", 0x9000);  // the MF's child: the card manager's DF
}

// ---------------------------------------------------------------- tearing

namespace {

// What a torn card holds after power-up: the application whole, or nothing
// of it (the memory as before, the counter as before).
enum class Found { nothing, whole, mixed };

struct Expect {
  cm::Application app;
  std::uint32_t free_without = 0;      // free memory without the application
  std::uint32_t sequence_without = 0;  // the counter without it
  std::uint32_t sequence_with = 0;     // the counter with it
  std::string pin;                     // its PIN 01's value if set, else empty
};

Found inspect(juki::Transport& t, const Expect& e) {
  auto s = ok(enrolment::read_card_manager(t));
  auto all = ok(enrolment::list_applications(t));
  auto it =
      std::find_if(all.begin(), all.end(), [&](const cm::Listed& l) { return l.aid == e.app.aid; });
  auto free_bytes = [&]() {
    const Bytes d = ok(host::perso::exchange(t, hex("00CADF2100"), "GET DATA"));
    return load_be32(&d[7]);
  };
  if (it == all.end()) {
    const bool clean = s.sequence == e.sequence_without && free_bytes() == e.free_without;
    return clean ? Found::nothing : Found::mixed;
  }
  if (s.sequence != e.sequence_with || it->used != cm::allocation(e.app) ||
      it->kind != app_layout::kMunicipal)
    return Found::mixed;
  // Every file there, with its contents.
  if (sw_via(t, hex(select_aid(e.app.aid))) != 0x9000) return Found::mixed;
  if (!e.pin.empty() && sw_via(t, verify_pin(0x81, e.pin)) != 0x9000) return Found::mixed;
  if (e.pin.empty() && sw_via(t, change_pin(0x81, "1111")) != 0x9000) return Found::mixed;
  if (e.pin.empty() && sw_via(t, verify_pin(0x81, "1111")) != 0x9000) return Found::mixed;
  for (const cm::FileDefinition& f : e.app.files) {
    if (f.contents.empty()) continue;
    const Bytes select = {static_cast<std::uint8_t>(f.spec.fid >> 8),
                          static_cast<std::uint8_t>(f.spec.fid)};
    if (sw_via(t, apdu::encode_command(0x00, 0xA4, 0x02, 0x0C, select)) != 0x9000)
      return Found::mixed;
    const Bytes r = via(t, apdu::encode_command(0x00, 0xB0, 0x00, 0x00, {},
                                                static_cast<std::uint32_t>(f.contents.size())));
    if (r.size() != f.contents.size() + 2 ||
        !std::equal(f.contents.begin(), f.contents.end(), r.begin()))
      return Found::mixed;
  }
  return Found::whole;
}

// Runs `cmd` on a card whose memory is `image`, cut at `cut` if given, and
// powers it up again; what it found, and the sizes of the clean run's writes.
Found run(const Bytes& image, const Bytes& cmd, const Expect& e, std::optional<Cut> cut,
          std::vector<std::size_t>* sizes, Bytes* memory) {
  TornMedium m(image, "card manager tearing");
  m.power_up();
  REQUIRE(sw_via(m.transport(), hex(kSelectManager)) == 0x9000);
  m.mark(cut);
  auto r = m.transport().transmit(cmd);
  const bool fired = m.fired();
  if (sizes != nullptr) *sizes = m.sizes();
  if (cut) {
    REQUIRE(fired);
    CHECK_FALSE(r.ok());  // a card that lost power answers nothing
  } else {
    REQUIRE(r.ok());
    REQUIRE(TestCard::sw_of(*r) == 0x9000);
  }
  m.power_up();
  if (memory != nullptr) {
    const card_os::PersistentMemory& pm = m.card().memory();
    const ByteView all = pm.read(0, pm.capacity());
    memory->assign(all.begin(), all.end());
  }
  return inspect(m.transport(), e);
}

}  // namespace

TEST_CASE("card manager tearing: an INSTALL cut at any write leaves no application or all of it",
          "[manager][tearing]") {
  auto c = manager_card();
  Expect e{cm::seal_registration(), c->free_bytes(), state(*c).sequence, 0, ""};
  const Bytes cmd = command_for(*c, install_manifest(*c, e.app));
  e.sequence_with = e.sequence_without + 1;
  const Bytes image = c->storage().bytes();

  std::vector<std::size_t> sizes;
  REQUIRE(run(image, cmd, e, std::nullopt, &sizes, nullptr) == Found::whole);
  REQUIRE_FALSE(sizes.empty());
  int nothing = 0, whole = 0;
  for (const Cut& cut : cut_points(sizes)) {
    INFO("cut at write " << cut.write << " of " << sizes.size() << ", " << cut.prefix
                         << " bytes written");
    const Found f = run(image, cmd, e, cut, nullptr, nullptr);
    CHECK(f != Found::mixed);
    (f == Found::whole ? whole : nothing) += 1;
  }
  CHECK(nothing > 0);
  CHECK(whole > 0);
  WARN("install: " << sizes.size() << " writes, " << nothing + whole << " cuts: " << nothing
                   << " left nothing, " << whole << " the whole application");
}

TEST_CASE("card manager tearing: a DELETE cut at any write leaves the application whole or gone",
          "[manager][tearing]") {
  auto c = manager_card();
  cm::SealRegistration data;
  data.registration_number = "SEAL-TORN-REGNO-31";
  data.registrant = "TORN REGISTRANT";
  Expect e{cm::seal_registration(data), c->free_bytes(), 0, 0, "8642"};
  install(*c, e.app);
  c->expect(select_aid(e.app.aid), 0x9000);
  c->expect(change_pin(0x81, e.pin), 0x9000);
  e.sequence_with = state(*c).sequence;
  e.sequence_without = e.sequence_with + 1;
  const Bytes cmd = command_for(*c, manifest_for(*c, Operation::remove, e.app.aid));
  const Bytes image = c->storage().bytes();
  const std::vector<Bytes> markers = {ascii(data.registration_number), ascii(data.registrant)};

  std::vector<std::size_t> sizes;
  Bytes memory;
  REQUIRE(run(image, cmd, e, std::nullopt, &sizes, &memory) == Found::nothing);
  for (const Bytes& mk : markers) CHECK_FALSE(contains(memory, mk));
  int gone = 0, whole = 0;
  for (const Cut& cut : cut_points(sizes)) {
    INFO("cut at write " << cut.write << " of " << sizes.size() << ", " << cut.prefix
                         << " bytes written");
    const Found f = run(image, cmd, e, cut, nullptr, &memory);
    CHECK(f != Found::mixed);
    if (f == Found::nothing) {
      ++gone;
      for (const Bytes& mk : markers)
        CHECK_FALSE(contains(memory, mk));  // wiped, not just unlinked
    } else {
      ++whole;
    }
  }
  CHECK(gone > 0);
  CHECK(whole > 0);
  WARN("delete: " << sizes.size() << " writes, " << gone + whole << " cuts: " << gone
                  << " left it gone, " << whole << " whole");
}

TEST_CASE("card manager tearing: a LOCK or UNLOCK cut at any write leaves the old state or the new",
          "[manager][tearing]") {
  auto c = manager_card();
  const cm::Application app = cm::library_card();
  install(*c, app);
  c->expect(select_aid(app.aid), 0x9000);
  c->expect(change_pin(0x81, "2468"), 0x9000);
  REQUIRE(listed(*c, app.aid)->life_cycle == app_layout::kSelectable);

  // Each cut leaves the application in `before` with the counter unmoved, or
  // in `after` with the counter at the manifest's number: never locked on an
  // old counter (an authorization good twice) nor the other way round.
  auto torn = [&](Operation op, std::uint8_t before, std::uint8_t after) {
    const std::uint32_t old_sequence = state(*c).sequence;
    const Bytes cmd = command_for(*c, manifest_for(*c, op, app.aid));
    const Bytes image = c->storage().bytes();
    auto inspect_after = [&](TornMedium& m) {
      m.power_up();
      const auto s = ok(enrolment::read_card_manager(m.transport()));
      const auto all = ok(enrolment::list_applications(m.transport()));
      auto it = std::find_if(all.begin(), all.end(),
                             [&](const cm::Listed& l) { return l.aid == app.aid; });
      REQUIRE(it != all.end());
      if (it->life_cycle == before && s.sequence == old_sequence) return 0;
      if (it->life_cycle == after && s.sequence == old_sequence + 1) return 1;
      FAIL("life cycle " << int(it->life_cycle) << " with counter " << s.sequence);
      return -1;
    };
    std::vector<std::size_t> sizes;
    {
      TornMedium m(image, "lock tearing");
      m.power_up();
      REQUIRE(sw_via(m.transport(), hex(kSelectManager)) == 0x9000);
      m.mark(std::nullopt);
      REQUIRE(sw_via(m.transport(), cmd) == 0x9000);
      sizes = m.sizes();
      REQUIRE(inspect_after(m) == 1);
    }
    REQUIRE_FALSE(sizes.empty());
    int old_state = 0, new_state = 0;
    for (const Cut& cut : cut_points(sizes)) {
      INFO(operation_name(op) << " cut at write " << cut.write << " of " << sizes.size() << ", "
                              << cut.prefix << " bytes written");
      TornMedium m(image, "lock tearing");
      m.power_up();
      REQUIRE(sw_via(m.transport(), hex(kSelectManager)) == 0x9000);
      m.mark(cut);
      CHECK_FALSE(m.transport().transmit(cmd).ok());
      REQUIRE(m.fired());
      (inspect_after(m) == 1 ? new_state : old_state) += 1;
    }
    CHECK(old_state > 0);
    CHECK(new_state > 0);
    WARN(operation_name(op) << ": " << sizes.size() << " writes, " << old_state + new_state
                            << " cuts: " << old_state << " left it as it was, " << new_state
                            << " done");
    c->storage().bytes() = image;  // then the operation, uncut, for the next round
    c->power_cycle();
    c->expect(kSelectManager, 0x9000);
    c->expect(cmd, 0x9000);
  };
  torn(Operation::lock, app_layout::kSelectable, app_layout::kLocked);
  torn(Operation::unlock, app_layout::kLocked, app_layout::kSelectable);
}
