// The JPKI application (specs/jpki.md) on an in-process card, driven with the
// APDUs OpenSC's `jpki` driver sends; the card enrolled by
// issuer_tool/enrolment (RSA keys made on the card, certified by the JPKI CAs)
// and its signatures checked with OpenSSL against the certificates it holds.
#include <catch2/catch.hpp>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/layout/jpki.hpp"
#include "issuer_tool/enrolment/jpki.hpp"
#include "support/test_card.hpp"
#include "support/torn_medium.hpp"

using namespace juki;
using namespace juki::test;
namespace app_layout = juki::layout::jpki;

namespace {

const std::string kSelectJpki = "00A4040C0AD392F000260100000001";
const std::string kAuthPin = "1234";
const std::string kSignPin = "ABC123";
// SHA-256 DigestInfo prefix (RFC 8017 9.2 note 1) and a digest.
const std::string kDigestInfo =
    "3031300D060960864801650304020105000420"
    "A665A45920422F9D417E4867EFDC4FB8A04A1F3FFF1FA07E998E86F7F7A27AE3";

template <typename T, typename E>
T value_of(Result<T, E> r) {
  REQUIRE(r.ok());
  return std::move(*r);
}

// One enrolled card for the whole file (two RSA-2048 keys made on the card
// take seconds); each test gets a copy of its memory.
struct Golden {
  pki::KeyAndCert auth_ca = value_of(pki::create_jpki_ca(pki::JpkiKind::auth));
  pki::KeyAndCert sign_ca = value_of(pki::create_jpki_ca(pki::JpkiKind::sign));
  std::optional<enrolment::JpkiCertificates> certificates;
  Bytes image;

  Golden() {
    auto card = TestCard::active_with([&](TestCard& c) {
      host::perso::Personalizer perso(c.transport());
      enrolment::JpkiRequest request;
      request.holder = "JUKI TARO";
      request.auth_pin = ascii(kAuthPin);
      request.sign_pin = ascii(kSignPin);
      request.token = ascii("JPKIAPICCTOKEN");
      auto enrolled = enrolment::enrol_jpki(perso, auth_ca, sign_ca, request);
      INFO((enrolled ? std::string() : enrolled.error().describe()));
      REQUIRE(enrolled.ok());
      certificates.emplace(std::move(*enrolled));
    });
    image = card->storage().bytes();
  }
};

const Golden& golden() {
  static const Golden g;
  return g;
}

std::unique_ptr<TestCard> jpki_card() {
  auto c = TestCard::from_image(golden().image);
  c->expect(kSelectJpki, 0x9000);
  return c;
}

std::string select(std::uint16_t fid) {
  char s[16];
  std::snprintf(s, sizeof s, "00A4020C02%04X", fid);
  return s;
}
std::string verify(const std::string& pin) {
  char lc[4];
  std::snprintf(lc, sizeof lc, "%02X", static_cast<unsigned>(pin.size()));
  return "00200080" + std::string(lc) + to_hex(as_bytes(pin));
}
const std::string kSign = "802A008033" + kDigestInfo + "00";

// The whole EF as OpenSC reads a certificate: 4 bytes for the DER length,
// then 256-byte chunks.
Bytes read_certificate(TestCard& c) {
  Bytes head = c.expect("00B0000004", 0x9000);
  REQUIRE(head.size() == 4);
  REQUIRE(head[0] == 0x30);
  REQUIRE(head[1] == 0x82);
  const std::size_t total = 4 + (static_cast<std::size_t>(head[2]) << 8 | head[3]);
  Bytes out;
  while (out.size() < total) {
    const std::size_t n = std::min<std::size_t>(256, total - out.size());
    const Bytes chunk =
        c.expect(apdu::encode_command(0x00, 0xB0, static_cast<std::uint8_t>(out.size() >> 8),
                                      static_cast<std::uint8_t>(out.size()), {},
                                      static_cast<std::uint32_t>(n)),
                 0x9000);
    out.insert(out.end(), chunk.begin(), chunk.end());
  }
  return out;
}

// PKCS#1 v1.5 verification of `signature` over the DigestInfo as given, with
// the certificate's public key (OpenSSL: no hashing, type-1 padding).
bool verifies(const pki::Certificate& cert, const Bytes& digest_info, const Bytes& signature) {
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(cert.public_key().native(), nullptr);
  REQUIRE(ctx != nullptr);
  bool ok = EVP_PKEY_verify_init(ctx) == 1 &&
            EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
            EVP_PKEY_verify(ctx, signature.data(), signature.size(), digest_info.data(),
                            digest_info.size()) == 1;
  EVP_PKEY_CTX_free(ctx);
  return ok;
}

}  // namespace

TEST_CASE("jpki: OpenSC's bind finds the application and the tries of both PINs", "[jpki]") {
  auto c = jpki_card();
  c->expect(select(app_layout::kAuthPinEf), 0x9000);
  CHECK(c->sw(hex("00200080")) == 0x63C3);
  c->expect(select(app_layout::kSignPinEf), 0x9000);
  CHECK(c->sw(hex("00200080")) == 0x63C5);
  // Verified or not, the empty VERIFY answers the tries (never 9000).
  c->expect(verify(kSignPin), 0x9000);
  CHECK(c->sw(hex("00200080")) == 0x63C5);
  // The token EF: the Juki card's token text, padded with spaces to 32 bytes.
  c->expect(select(app_layout::kTokenEf), 0x9000);
  CHECK(c->expect("00B0000020", 0x9000) == ascii("JPKIAPICCTOKEN                  "));
}

TEST_CASE("jpki: the certificates read as OpenSC reads them", "[jpki][req:K19]") {
  const Golden& g = golden();
  auto c = jpki_card();
  c->expect(select(app_layout::kAuthCertEf), 0x9000);
  CHECK(read_certificate(*c) == g.certificates->auth.der());
  c->expect(select(app_layout::kAuthCaEf), 0x9000);
  CHECK(read_certificate(*c) == g.auth_ca.cert.der());
  c->expect(select(app_layout::kSignCaEf), 0x9000);
  CHECK(read_certificate(*c) == g.sign_ca.cert.der());
  // The signature certificate names its holder: only after the signature PIN.
  c->expect(select(app_layout::kSignCertEf), 0x9000);
  CHECK(c->sw(hex("00B0000004")) == 0x6982);
  c->expect(select(app_layout::kSignPinEf), 0x9000);
  c->expect(verify(kSignPin), 0x9000);
  c->expect(select(app_layout::kSignCertEf), 0x9000);
  CHECK(read_certificate(*c) == g.certificates->sign.der());
  // The card's certificates chain to the JPKI CAs and hold the card's keys.
  CHECK(pki::verify_jpki(g.auth_ca.cert, g.certificates->auth, std::time(nullptr)).ok());
  CHECK(pki::verify_jpki(g.sign_ca.cert, g.certificates->sign, std::time(nullptr)).ok());
}

TEST_CASE("jpki: the authentication key signs after its PIN, as often as asked",
          "[jpki][req:K19]") {
  const Golden& g = golden();
  auto c = jpki_card();
  c->expect(select(app_layout::kAuthKeyEf), 0x9000);
  CHECK(c->sw(hex(kSign)) == 0x6982);  // no PIN yet
  c->expect(select(app_layout::kAuthPinEf), 0x9000);
  c->expect(verify(kAuthPin), 0x9000);
  c->expect(select(app_layout::kAuthKeyEf), 0x9000);
  for (int i = 0; i < 2; ++i) {
    Bytes signature = c->expect(kSign, 0x9000);
    REQUIRE(signature.size() == 256);
    CHECK(verifies(g.certificates->auth, hex(kDigestInfo), signature));
    CHECK_FALSE(verifies(g.certificates->sign, hex(kDigestInfo), signature));
  }
}

TEST_CASE("jpki: the signature key signs once per verification of its PIN", "[jpki][req:K19]") {
  const Golden& g = golden();
  auto c = jpki_card();
  c->expect(select(app_layout::kSignKeyEf), 0x9000);
  CHECK(c->sw(hex(kSign)) == 0x6982);
  // The authentication PIN is worth nothing for the signature key.
  c->expect(select(app_layout::kAuthPinEf), 0x9000);
  c->expect(verify(kAuthPin), 0x9000);
  c->expect(select(app_layout::kSignKeyEf), 0x9000);
  CHECK(c->sw(hex(kSign)) == 0x6982);

  c->expect(select(app_layout::kSignPinEf), 0x9000);
  c->expect(verify(kSignPin), 0x9000);
  c->expect(select(app_layout::kSignKeyEf), 0x9000);
  // Too much to sign is refused before the verification is spent.
  CHECK(c->sw(hex("802A0080F6" + std::string(492, 'A') + "00")) == 0x6700);
  Bytes signature = c->expect(kSign, 0x9000);
  CHECK(verifies(g.certificates->sign, hex(kDigestInfo), signature));
  CHECK(c->sw(hex(kSign)) == 0x6982);  // spent
  // And with it the right to read the signature certificate.
  c->expect(select(app_layout::kSignCertEf), 0x9000);
  CHECK(c->sw(hex("00B0000004")) == 0x6982);
}

TEST_CASE("jpki: wrong PINs count down and lock, as specified", "[jpki]") {
  auto c = jpki_card();
  SECTION("the authentication PIN: 3 tries") {
    c->expect(select(app_layout::kAuthPinEf), 0x9000);
    CHECK(c->sw(hex(verify("9999"))) == 0x63C2);
    CHECK(c->sw(hex(verify("9999"))) == 0x63C1);
    CHECK(c->sw(hex("00200080")) == 0x63C1);
    CHECK(c->sw(hex(verify("9999"))) == 0x63C0);
    CHECK(c->sw(hex(verify(kAuthPin))) == 0x6983);  // blocked: the right PIN too
    CHECK(c->sw(hex("00200080")) == 0x63C0);        // OpenSC reads "0 tries", not 6983
    c->power_cycle();                               // the count is persistent
    c->expect(kSelectJpki, 0x9000);
    c->expect(select(app_layout::kAuthPinEf), 0x9000);
    CHECK(c->sw(hex("00200080")) == 0x63C0);
    c->expect(select(app_layout::kAuthKeyEf), 0x9000);
    CHECK(c->sw(hex(kSign)) == 0x6982);
  }
  SECTION("the signature PIN: 5 tries, a right one restores them") {
    c->expect(select(app_layout::kSignPinEf), 0x9000);
    for (unsigned left = 4; left >= 1; --left) CHECK(c->sw(hex(verify("WRONG1"))) == 0x63C0 + left);
    c->expect(verify(kSignPin), 0x9000);
    CHECK(c->sw(hex("00200080")) == 0x63C5);
  }
  SECTION("a PIN of the wrong format costs no try") {
    c->expect(select(app_layout::kAuthPinEf), 0x9000);
    CHECK(c->sw(hex("0020008000")) == 0x6700);           // VERIFY has no Le
    CHECK(c->sw(hex(verify("9999") + "00")) == 0x6700);  // nor with data
    CHECK(c->sw(hex(verify("12A4"))) == 0x6A80);
    CHECK(c->sw(hex(verify("12345"))) == 0x6700);
    c->expect(select(app_layout::kSignPinEf), 0x9000);
    CHECK(c->sw(hex(verify("ABC12"))) == 0x6700);    // 5 < 6
    CHECK(c->sw(hex(verify("ABC-123"))) == 0x6A80);  // not a letter or digit
    c->expect(select(app_layout::kAuthPinEf), 0x9000);
    CHECK(c->sw(hex("00200080")) == 0x63C3);
    c->expect(select(app_layout::kSignPinEf), 0x9000);
    CHECK(c->sw(hex("00200080")) == 0x63C5);
  }
}

TEST_CASE("jpki: malformed and misplaced commands get their status words", "[jpki]") {
  auto c = jpki_card();
  c->expect(select(app_layout::kAuthPinEf), 0x9000);
  c->expect(verify(kAuthPin), 0x9000);
  c->expect(select(app_layout::kAuthCertEf), 0x9000);
  CHECK(c->sw(hex("00200080")) == 0x6986);  // VERIFY P2=80: the current EF is no PIN
  CHECK(c->sw(hex(kSign)) == 0x6986);       // no key EF selected
  c->expect(select(app_layout::kAuthKeyEf), 0x9000);
  CHECK(c->sw(hex("802A00810330313000")) == 0x6A86);
  CHECK(c->sw(hex("802A008000")) == 0x6700);                                 // no data
  CHECK(c->sw(hex("802A008033" + kDigestInfo)) == 0x6700);                   // no Le
  CHECK(c->sw(hex("802A0080F6" + std::string(492, 'A') + "00")) == 0x6700);  // > k - 11
  CHECK(c->sw(hex("00A4020002" + std::string("0017"))) == 0x6A86);  // an internal EF has no FCI
  CHECK(c->sw(hex("00B0000004")) == 0x6986);                        // the key EF is no file to read
  CHECK(c->sw(hex(kSign)) == 0x6986);  // and the READ ended its selection
  // Still usable after all that.
  c->expect(select(app_layout::kAuthKeyEf), 0x9000);
  CHECK(c->expect(kSign, 0x9000).size() == 256);
}

TEST_CASE("jpki: nothing of it outside its application or channel", "[jpki][firewall][req:K5]") {
  auto c = jpki_card();
  c->expect(select(app_layout::kAuthPinEf), 0x9000);
  c->expect(verify(kAuthPin), 0x9000);
  // Another channel: the MF's context, no JPKI; then JPKI again, not verified there.
  CHECK(c->expect("0070000001", 0x9000) == hex("01"));
  CHECK(c->sw(hex("01A4020C020017")) == 0x6A82);
  CHECK(c->sw(hex("812A008033" + kDigestInfo + "00")) == 0x6E00);
  c->expect("01A4040C0AD392F000260100000001", 0x9000);
  c->expect("01A4020C020017", 0x9000);
  CHECK(c->sw(hex("812A008033" + kDigestInfo + "00")) == 0x6982);
  // Channel 0 still holds its verification.
  c->expect(select(app_layout::kAuthKeyEf), 0x9000);
  CHECK(c->expect(kSign, 0x9000).size() == 256);
  // Leaving the application and coming back forgets it (OpenSC relies on it).
  c->expect(kSelectDemo, 0x9000);
  CHECK(c->sw(hex("00A4020C020017")) == 0x6A82);
  c->expect(kSelectJpki, 0x9000);
  c->expect(select(app_layout::kAuthKeyEf), 0x9000);
  CHECK(c->sw(hex(kSign)) == 0x6982);
}

TEST_CASE("jpki: other drivers' applications are not there", "[jpki]") {
  auto c = TestCard::from_image(golden().image);
  // PIV, OpenPGP, SmartCard-HSM, GIDS, IsoApplet, coolkey, MUSCLE, CAC: every SELECT form.
  for (const char* aid :
       {"A000000308", "D27600012401", "E82B0601040181C31F0201", "A000000397425446590201",
        "F276A288BCFBA69D34F31001", "627601FF000000", "A00000000101", "A0000000790100"}) {
    const Bytes name = hex(aid);
    for (std::uint8_t p2 : {0x00, 0x04, 0x0C}) {
      INFO(aid << " P2 " << int(p2));
      CHECK(c->sw(apdu::encode_command(0x00, 0xA4, 0x04, p2, name)) == 0x6A82);
      CHECK(c->sw(apdu::encode_command(0x00, 0xA4, 0x04, p2, name, 256)) == 0x6A82);
    }
  }
}

namespace {

// The golden card after `commands` (hex, each answered with any SW), powered off.
Bytes image_after(const std::vector<std::string>& commands) {
  auto c = TestCard::from_image(golden().image);
  for (const std::string& cmd : commands) c->send(cmd);
  return c->storage().bytes();
}

// The tries the card reports for the PIN behind internal EF `pin_ef` (63CX).
unsigned tries(juki::Transport& t, std::uint16_t pin_ef) {
  REQUIRE(sw_via(t, hex(kSelectJpki)) == 0x9000);
  REQUIRE(sw_via(t, hex(select(pin_ef))) == 0x9000);
  const sw::Sw s = sw_via(t, hex("00200080"));
  REQUIRE((s & 0xFFF0) == 0x63C0);
  return s & 0x0F;
}

// Every write of `verify_cmd` (on PIN EF `pin_ef` of a card whose memory is
// `image`) cut, with several torn prefixes: after power-up the tries are one
// of `allowed`. Returns the number of cuts made.
std::size_t tear_every_write(const Bytes& image, std::uint16_t pin_ef,
                             const std::string& verify_cmd, const std::set<unsigned>& allowed) {
  auto run = [&](std::optional<Cut> cut, std::vector<std::size_t>* sizes) {
    TornMedium m(image, "jpki tearing");
    m.power_up();
    REQUIRE(sw_via(m.transport(), hex(kSelectJpki)) == 0x9000);
    REQUIRE(sw_via(m.transport(), hex(select(pin_ef))) == 0x9000);
    m.mark(cut);
    auto r = m.transport().transmit(hex(verify_cmd));
    const bool fired = m.fired();
    if (sizes != nullptr) *sizes = m.sizes();
    if (cut) {
      REQUIRE(fired);
      CHECK_FALSE(r.ok());  // no answer from a card that lost power
    }
    m.power_up();
    const unsigned left = tries(m.transport(), pin_ef);
    INFO("cut at write " << (cut ? cut->write : 0) << " prefix " << (cut ? cut->prefix : 0));
    CHECK(allowed.count(left) == 1);
  };
  std::vector<std::size_t> sizes;
  run(std::nullopt, &sizes);
  REQUIRE_FALSE(sizes.empty());
  const auto cuts = cut_points(sizes);
  for (const Cut& cut : cuts) run(cut, nullptr);
  return cuts.size();
}

}  // namespace

TEST_CASE("jpki tearing: a cut VERIFY never gives a try back", "[jpki][tearing]") {
  std::size_t cuts = 0;
  SECTION("a wrong authentication PIN: 3 tries, then 3 or 2") {
    const Bytes image = image_after({});
    cuts = tear_every_write(image, app_layout::kAuthPinEf, verify("9999"), {3, 2});
  }
  SECTION("the right signature PIN after two wrong: 3 left, then 3, 2 or 5") {
    const Bytes image = image_after(
        {kSelectJpki, select(app_layout::kSignPinEf), verify("WRONG1"), verify("WRONG2")});
    // 3 (old), 2 (the try taken before the comparison, not yet given back), 5 (new).
    cuts = tear_every_write(image, app_layout::kSignPinEf, verify(kSignPin), {3, 2, 5});
  }
  SECTION("the last wrong authentication PIN: 1 left, then 1 or 0 (blocked)") {
    const Bytes image =
        image_after({kSelectJpki, select(app_layout::kAuthPinEf), verify("0000"), verify("0000")});
    cuts = tear_every_write(image, app_layout::kAuthPinEf, verify("0000"), {1, 0});
  }
  CHECK(cuts > 0);
}
