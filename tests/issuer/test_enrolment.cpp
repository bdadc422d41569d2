// issuer_tool/enrolment: a card application enrolled for mutual authentication
// (specs/secure-channel.md 2.0), on an in-memory card.
#include <catch2/catch.hpp>

#include "issuer_tool/enrolment/enrolment.hpp"
#include "support/secure_card.hpp"

using namespace juki;
using namespace juki::test;

namespace {

enrolment::AuthenticationRequest request_for(std::uint16_t df) {
  enrolment::AuthenticationRequest r;
  r.df = df;
  r.municipality = kMunicipality;
  r.common_name = "card under test";
  return r;
}

// READ BINARY of EF `fid` of DF 7000 (read always): `size` bytes.
Bytes read_ef(TestCard& c, std::uint16_t fid, std::size_t size) {
  c.expect("00A4000C023F00", 0x9000);
  c.expect("00A4000C027000", 0x9000);
  c.expect(select_ef(fid), 0x9000);
  return c.expect(
      apdu::encode_command(0x00, 0xB0, 0x00, 0x00, {}, static_cast<std::uint32_t>(size)), 0x9000);
}

}  // namespace

TEST_CASE("enrolment: the card's own key is certified and the chain written",
          "[enrolment][req:K1]") {
  const Pki p;
  auto c = TestCard::personalizing();
  host::perso::Personalizer perso(c->transport());
  REQUIRE(perso.create(df_spec(0x7000, kSecAid)).ok());
  auto cert = enrolment::enrol_authentication(perso, p.root.cert, p.card_ca, request_for(0x7000));
  INFO((cert ? std::string() : cert.error().describe()));
  REQUIRE(cert.ok());

  auto verified = pki::verify_chain(p.root.cert, p.card_ca.cert, *cert, unix_now());
  INFO((verified ? std::string() : verified.error().message));
  REQUIRE(verified.ok());
  auto auth = take(cert->authorization());
  REQUIRE(auth.has_value());
  CHECK(auth->role == pki::Role::card);
  CHECK(auth->municipality == kMunicipality);
  CHECK(cert->common_name() == "card under test");

  for (const auto& [fid, der] : {std::pair{enrolment::kTrustAnchorEf, p.root.cert.der()},
                                 std::pair{enrolment::kCardCertEf, cert->der()},
                                 std::pair{enrolment::kCardCaEf, p.card_ca.cert.der()}}) {
    INFO("EF " << fid);
    CHECK(read_ef(*c, fid, der.size()) == der);
  }

  // The certified key is the card's: a second key made on the card differs.
  c->expect("00A4000C023F00", 0x9000);
  c->expect("00A4000C027000", 0x9000);
  Bytes second = c->expect("0046000200", 0x9000);
  CHECK(Bytes(second.begin() + 5, second.end()) != cert->public_point());
}

TEST_CASE("enrolment: refusals come back as the failing step", "[enrolment]") {
  const Pki p;
  SECTION("an active card makes no keys") {
    auto c = TestCard::active();
    host::perso::Personalizer perso(c->transport());
    auto r = enrolment::enrol_authentication(perso, p.root.cert, p.card_ca,
                                             request_for(host::perso::kSampleDf));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().step == "GENERATE ASYMMETRIC KEY PAIR 01");
    CHECK(r.error().sw == 0x6985);
  }
  SECTION("a transport-locked card: not even the MF is selected") {
    TestCard c;
    host::perso::Personalizer perso(c.transport());
    auto r = enrolment::enrol_authentication(perso, p.root.cert, p.card_ca, request_for(0x7000));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().step == "SELECT MF");
    CHECK(r.error().sw == 0x6985);
  }
  SECTION("an application that does not exist") {
    auto c = TestCard::personalizing();
    host::perso::Personalizer perso(c->transport());
    auto r = enrolment::enrol_authentication(perso, p.root.cert, p.card_ca, request_for(0x7000));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().sw == 0x6A82);
  }
  SECTION("a municipality the PKI refuses: nothing is written after the key") {
    auto c = TestCard::personalizing();
    host::perso::Personalizer perso(c->transport());
    REQUIRE(perso.create(df_spec(0x7000, kSecAid)).ok());
    auto request = request_for(0x7000);
    request.municipality = "131017";  // wrong check digit
    auto r = enrolment::enrol_authentication(perso, p.root.cert, p.card_ca, request);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().step == "card certificate");
    c->expect("00A4000C023F00", 0x9000);
    c->expect("00A4000C027000", 0x9000);
    c->expect(select_ef(enrolment::kTrustAnchorEf), 0x6A82);
  }
}
