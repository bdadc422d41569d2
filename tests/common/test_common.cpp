#include <array>
#include <catch2/catch.hpp>

#include "common/apdu_text.hpp"
#include "common/bytes.hpp"
#include "common/card_information.hpp"
#include "common/check_digits.hpp"
#include "common/result.hpp"
#include "common/secure_wipe.hpp"

using namespace juki;

TEST_CASE("hex round trip and rejection of malformed hex") {
  auto b = from_hex("00 a1 FF\t10");
  REQUIRE(b);
  CHECK(*b == Bytes{0x00, 0xA1, 0xFF, 0x10});
  CHECK(to_hex(*b) == "00A1FF10");
  CHECK(to_hex(*b, true) == "00 A1 FF 10");
  CHECK_FALSE(from_hex("0"));
  CHECK_FALSE(from_hex("0G"));
  CHECK_FALSE(from_hex("0 0"));
  CHECK(from_hex("")->empty());
}

TEST_CASE("big-endian helpers") {
  Bytes out;
  append_be32(out, 0x01020304);
  append_be16(out, 0xA0B0);
  CHECK(out == Bytes{1, 2, 3, 4, 0xA0, 0xB0});
  CHECK(load_be32(out.data()) == 0x01020304u);
  CHECK(load_be16(out.data() + 4) == 0xA0B0);
}

TEST_CASE("Result carries a value or an error") {
  Result<int, std::string> good = 7;
  Result<int, std::string> bad = unexpected(std::string("nope"));
  REQUIRE(good.ok());
  CHECK(*good == 7);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error() == "nope");
  Result<void, int> v;
  CHECK(v.ok());
  Result<void, int> e = unexpected(3);
  CHECK(e.error() == 3);
}

// The project's resident code rule (specs/juki-ap.md 3.1), worked by hand:
// 1234567890 -> P1..P10 = 0 9 8 7 6 5 4 3 2 1, Q = 2 3 4 5 6 7 2 3 4 5,
// sum 195, 195 mod 11 = 8, check digit 11 - 8 = 3.
TEST_CASE("check digits: the resident code, every branch of the rule") {
  using check_digits::resident_code;
  CHECK(resident_code("1234567890") == '3');
  CHECK(resident_code("0000000001") == '9');  // sum 2
  CHECK(resident_code("5000000000") == '8');  // P10 * Q10 = 25, remainder 3
  CHECK(resident_code("0000000005") == '1');  // remainder 10
  CHECK(resident_code("3141592653") == '0');  // sum 177, remainder 1: 0
  CHECK(resident_code("0000000000") == '0');  // remainder 0: 0
  // The same family as the individual number (12 digits): 12345678901 -> 8
  // is its published example; the 10-digit rule is its first 10 weights.
  CHECK(check_digits::resident_code_valid("12345678903"));
  CHECK_FALSE(check_digits::resident_code_valid("12345678904"));
  CHECK_FALSE(check_digits::resident_code_valid("1234567890"));
  CHECK_FALSE(check_digits::resident_code_valid("123456789033"));
  CHECK_FALSE(check_digits::resident_code_valid("1234567890A"));
  CHECK_FALSE(check_digits::resident_code_valid("12345 78903"));
  CHECK_FALSE(resident_code("123456789"));
  CHECK_FALSE(resident_code("123456789X"));
}

TEST_CASE("check digits: the municipality code (specs/pki.md)") {
  CHECK(check_digits::municipality("13000") == '1');
  CHECK(check_digits::municipality("01100") == '2');
  CHECK(check_digits::municipality("13101") == '6');
  CHECK(check_digits::municipality_valid("131016"));
  CHECK_FALSE(check_digits::municipality_valid("131017"));
  CHECK_FALSE(check_digits::municipality_valid("13101"));
  CHECK_FALSE(check_digits::municipality("1310A"));
}

TEST_CASE("card information: dates, ten years, the format and its refusals") {
  namespace ci = card_information;
  CHECK(ci::parse_date("20240229").has_value());
  CHECK_FALSE(ci::parse_date("20230229"));  // not a leap year
  CHECK_FALSE(ci::parse_date("21000229"));  // century, not a leap year
  CHECK(ci::parse_date("20000229").has_value());
  CHECK_FALSE(ci::parse_date("20230431"));
  CHECK_FALSE(ci::parse_date("20231301"));
  CHECK_FALSE(ci::parse_date("20230100"));
  CHECK_FALSE(ci::parse_date("18991231"));
  CHECK_FALSE(ci::parse_date("2023-1-1"));
  CHECK(ci::format_date(ci::years_after(*ci::parse_date("20030825"), 10)) == "20130825");
  CHECK(ci::format_date(ci::years_after(*ci::parse_date("20240229"), 10)) == "20340228");

  const Bytes serial = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0xAB};
  auto info = ci::encode({"131016", "20240229", 'B', serial});
  REQUIRE(info.ok());
  const std::string text(info->begin(), info->end());
  CHECK(text ==
        "131016202402292034022"
        "8B01020304050607AB");
  CHECK(info->size() == ci::kSize);
  CHECK(ci::check(*info, serial) == ci::Problem::none);

  auto changed = [&](std::size_t at, std::string_view with) {
    Bytes b = *info;
    std::copy(with.begin(), with.end(), b.begin() + static_cast<std::ptrdiff_t>(at));
    return ci::check(b, serial);
  };
  CHECK(changed(ci::kMunicipalityAt, "131017") == ci::Problem::municipality);
  CHECK(changed(ci::kIssueDateAt, "20240230") == ci::Problem::issue_date);
  CHECK(changed(ci::kExpiryAt, "20340301") == ci::Problem::expiry);  // Feb 29 -> Feb 28
  CHECK(changed(ci::kExpiryAt, "20330228") == ci::Problem::expiry);
  CHECK(changed(ci::kFaceAt, "C") == ci::Problem::face);
  CHECK(changed(ci::kSerialAt, "01020304050607ab") == ci::Problem::serial);  // uppercase only
  CHECK(changed(ci::kSerialAt + 15, "C") == ci::Problem::serial);
  CHECK(ci::check(ByteView(*info).first(38), serial) == ci::Problem::size);
  CHECK(ci::check(*info, Bytes(8, 0)) == ci::Problem::serial);

  CHECK(ci::encode({"131017", "20240101", 'A', serial}).error() == ci::Problem::municipality);
  CHECK(ci::encode({"131016", "20240132", 'A', serial}).error() == ci::Problem::issue_date);
  CHECK(ci::encode({"131016", "99900101", 'A', serial}).error() == ci::Problem::issue_date);
  CHECK(ci::encode({"131016", "20240101", 'C', serial}).error() == ci::Problem::face);
  CHECK(ci::encode({"131016", "20240101", 'A', Bytes(7, 0)}).error() == ci::Problem::serial);
}

namespace {

// apdu_text::secret_in of a command given in hex, its data field from byte `at` on.
apdu_text::Secret secret_of(std::string_view command_hex, std::size_t at = 5) {
  const Bytes c = *from_hex(command_hex);
  return apdu_text::secret_in(c[0], c[1], c[2], c[3], ByteView(c).subspan(std::min(at, c.size())));
}

}  // namespace

TEST_CASE("apdu_text: command names") {
  CHECK(apdu_text::command_name(0x00, 0xA4) == "SELECT");
  CHECK(apdu_text::command_name(0x0C, 0x2C) == "RESET RETRY COUNTER");
  CHECK(apdu_text::command_name(0x80, 0xF0) == "SET STATUS");
  CHECK(apdu_text::command_name(0x80, 0xF2) == "INS F2");
}

TEST_CASE("apdu_text: which commands carry a secret (specs/card-os.md 5, 6.6-6.12)") {
  using S = apdu_text::Secret;
  CHECK(secret_of("0020008104 31323334") == S::pin);
  CHECK(secret_of("00200081") == S::none);                // tries left: no data
  CHECK(secret_of("0020008006 414243313233") == S::pin);  // JPKI's VERIFY of the selected PIN
  CHECK(secret_of("0024000108 3132333435363738") == S::old_and_new_pin);
  CHECK(secret_of("0024018104 31323334") == S::new_pin);
  CHECK(secret_of("002C00810C 383736353433323131323334") == S::puk_and_new_pin);
  CHECK(secret_of("002C018108 3837363534333231") == S::puk);
  CHECK(secret_of("002C028104 31323334") == S::new_pin);
  CHECK(secret_of("002C038104 31323334") == S::pin);  // refused by the card, still typed
  CHECK(secret_of("002C0381") == S::none);
  CHECK(secret_of("00DA00A106 A104 84023132") == S::pin_template);
  CHECK(secret_of("00DA01A106 A104 84023132") == S::pin_template);  // wrong P1, same value
  CHECK(secret_of("00DA00A206 A204 84023132") == S::key_template);
  CHECK(secret_of("00DA000102 0102") == S::none);
  const std::string proof = "00820001 10 000102030405060708090A0B0C0D0E0F";
  CHECK(secret_of(proof) == S::key_proof);
  // Mutual authentication's form carries a public key and a signature...
  CHECK(secret_of("0082000089 7F4943" + std::string(2 * 0x86, 'A')) == S::none);
  // ...but a 16-byte proof that happens to start 7F 49 is still a proof.
  CHECK(secret_of("0082000110 7F49030405060708090A0B0C0D0E0F10") == S::key_proof);
  CHECK(secret_of("00D6000004 31323334") == S::none);
  CHECK(secret_of("00A4040C09 F04A554B4944454D4F") == S::none);
  // Under secure messaging the data travels encrypted (DO'87'): nothing to hide.
  CHECK(secret_of("0C20008113 871101AABBCCDDEEFF00112233445566778899") == S::none);
  CHECK(secret_of("8C2C028104 31323334") == S::none);
  // CLA 04 (SM, header not authenticated) is not that format, and in 4X..7X
  // b4 b3 are the channel number: both count as plain.
  CHECK(secret_of("0420008104 31323334") == S::pin);
  CHECK(secret_of("4C20008104 31323334") == S::pin);
}

TEST_CASE("apdu_text: a trace line's command, redacted or shown") {
  using apdu_text::Secrets;
  auto traced = [](std::string_view command_hex, std::size_t at, std::size_t size, bool spaced,
                   Secrets secrets) {
    const Bytes c = *from_hex(command_hex);
    return apdu_text::trace_command(c, ByteView(c).subspan(at, size), spaced, secrets);
  };
  auto t = traced("0020008104 31323334", 5, 4, true, Secrets::redact);
  CHECK(t.hex == "00 20 00 81 04 XX XX XX XX");
  CHECK(t.text == "VERIFY, data redacted (4 bytes: PIN)");
  t = traced("0020008104 31323334", 5, 4, true, Secrets::show);
  CHECK(t.hex == "00 20 00 81 04 31 32 33 34");
  CHECK(t.text == "VERIFY, secret shown (4 bytes: PIN)");
  // Le stays; the unspaced form (the simulator's) the same way.
  t = traced("002C028104 31323334 00", 5, 4, false, Secrets::redact);
  CHECK(t.hex == "002C028104XXXXXXXX00");
  CHECK(t.text == "RESET RETRY COUNTER, data redacted (4 bytes: new PIN)");
  // Extended length: the data starts after 00 Lc1 Lc2.
  t = traced("00DA00A2 000003 A20100", 7, 3, false, Secrets::redact);
  CHECK(t.hex == "00DA00A2000003XXXXXX");
  CHECK(t.text == "PUT DATA, data redacted (3 bytes: key template)");
  t = traced("0020008101 31", 5, 1, false, Secrets::redact);
  CHECK(t.text == "VERIFY, data redacted (1 byte: PIN)");
  t = traced("00A4000C02 3F00", 5, 2, true, Secrets::redact);
  CHECK(t.hex == "00 A4 00 0C 02 3F 00");
  CHECK(t.text == "SELECT");

  // Lengths that do not parse: everything after the header is the data.
  const Bytes bad = *from_hex("0020008105 31323334");
  t = apdu_text::trace_command(bad, std::nullopt, true, Secrets::redact);
  CHECK(t.hex == "00 20 00 81 XX XX XX XX XX");
  CHECK(t.text == "VERIFY, data redacted (5 bytes: PIN)");
  t = apdu_text::trace_command(Bytes{0x00}, std::nullopt, false, Secrets::redact);
  CHECK(t.hex == "00");
  CHECK(t.text == "?");
}

TEST_CASE("secure_wipe zeroes every byte it is given, and nothing else") {
  Bytes b = {1, 2, 3, 4, 5, 6};
  secure_wipe(std::span(b).subspan(1, 4));
  CHECK(b == Bytes{1, 0, 0, 0, 0, 6});
  secure_wipe({});  // nothing to wipe
  std::array<std::uint8_t, 3> a{7, 8, 9};
  secure_wipe(a);
  CHECK(a == std::array<std::uint8_t, 3>{});
  // SecretBytes is a byte vector like any other while it lives.
  SecretBytes secret(b.begin(), b.end());
  secret.insert(secret.end(), 100, 0xAA);  // grows: the old buffer is wiped as it goes
  CHECK(secret.size() == 106);
  CHECK(ByteView(secret).first(6).size() == 6);
  CHECK(secret[105] == 0xAA);
}
