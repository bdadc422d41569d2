// juki-terminal as a user runs it: the real executable on a card image
// (--in-process), its output (text and --json), exit codes and PIN entry from
// a pipe; mutual authentication and secure messaging (authenticate) on a card
// made with the tools (juki-pki, juki-card-sim, juki-make-secure-card); and
// its PC/SC error when no pcscd is there.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "card_os/card/card.hpp"
#include "card_os/nvm/persistent_memory.hpp"
#include "card_os/nvm/storage.hpp"
#include "card_os/security/random.hpp"
#include "host_middleware/personalization/personalization.hpp"
#include "pki/pki.hpp"
#include "simulator/file_storage.hpp"
#include "simulator/in_process.hpp"
#include "support/run_program.hpp"
#include "support/temp_dir.hpp"
#include "support/test_card.hpp"

using namespace juki;
using nlohmann::json;

using test::Run;
using test::run;

namespace {

// Runs juki-terminal.
Run terminal(const test::TempDir& dir, const std::vector<std::string>& args,
             const std::string& input = "", const std::string& env = "") {
  return run(dir, JUKI_TERMINAL, args, input, env);
}

// A card image file holding a blank card (test transport key), or with
// `personalize` the issued sample card (specs/card-os.md "The sample layout").
std::string make_image(const test::TempDir& dir, bool personalize,
                       const std::string& name = "card.img") {
  const std::string path = dir.file(name);
  card_os::FactoryProfile profile;
  profile.transport_key = test::kTransportKey;
  profile.serial = test::kSerial;
  auto storage = juki::sim::FileStorage::create(
      path, card_os::PersistentMemory::storage_size_for(profile.geometry));
  REQUIRE(storage.ok());
  card_os::DrbgRandom random(as_bytes("terminal test"));
  REQUIRE(card_os::Card::manufacture(**storage, profile, random).ok());
  if (personalize) {
    auto t = juki::sim::InProcessTransport::connect(**storage, random);
    REQUIRE(t.ok());
    auto r = host::perso::personalize_sample(**t, test::sample_secrets());
    INFO((r ? std::string("ok") : r.error().describe()));
    REQUIRE(r.ok());
  }
  return path;
}

const std::string kApp = "F04A554B4944454D4F";

}  // namespace

TEST_CASE("juki-terminal: usage errors exit 2, --help exits 0", "[terminal]") {
  test::TempDir dir;
  CHECK(terminal(dir, {"--help"}).exit == 0);
  CHECK(terminal(dir, {}).exit == 2);                         // no subcommand
  CHECK(terminal(dir, {"frobnicate"}).exit == 2);             // unknown subcommand
  CHECK(terminal(dir, {"status", "--bogus"}).exit == 2);      // unknown option
  CHECK(terminal(dir, {"verify", "--ref", "81"}).exit == 2);  // --app missing
  CHECK(terminal(dir, {"--in-process", dir.file("none.img"), "status"}).exit == 2);
  const std::string image = make_image(dir, true);
  CHECK(terminal(dir, {"--in-process", image, "send", "00A4"}).exit == 2);  // not an APDU
  CHECK(terminal(dir, {"--in-process", image, "send", "zz"}).exit == 2);
  CHECK(terminal(dir, {"--in-process", image, "verify", "--app", "XYZ", "--pin", "1"}).exit == 2);
  CHECK(
      terminal(dir, {"--in-process", image, "verify", "--app", kApp, "--ref", "8181", "--pin", "1"})
          .exit == 2);
  CHECK(terminal(dir, {"--in-process", image, "wait", "--removal"}).exit == 2);
  CHECK(terminal(dir, {"--in-process", image, "wait", "--timeout", "-1"}).exit == 2);
  // A PIN asked for on a pipe that has nothing to give.
  CHECK(terminal(dir, {"--in-process", image, "verify", "--app", kApp}, "").exit == 2);
}

TEST_CASE("juki-terminal: without pcscd every PC/SC command exits 3 with 'no service'",
          "[terminal][pcsc]") {
  test::TempDir dir;
  const std::string env = "PCSCLITE_CSOCK_NAME=" + test::quote(dir.file("no-pcscd.socket"));
  for (auto args : {std::initializer_list<std::string>{"--json", "readers"},
                    std::initializer_list<std::string>{"--json", "status"},
                    std::initializer_list<std::string>{"--json", "wait", "--timeout", "1"},
                    std::initializer_list<std::string>{"send", "--json", "00A4000C023F00"}}) {
    Run r = terminal(dir, args, "", env);
    CHECK(r.exit == 3);
    json doc = r.doc();
    CHECK(doc["ok"] == false);
    CHECK(doc["error"]["kind"] == "no_service");
    CHECK_THAT(doc["error"]["message"].get<std::string>(), Catch::Contains("no-pcscd.socket"));
    CHECK_THAT(r.err, Catch::Contains("pcscd"));
  }
}

TEST_CASE("juki-terminal: readers and wait on an in-process card", "[terminal]") {
  test::TempDir dir;
  const std::string image = make_image(dir, true);
  Run r = terminal(dir, {"--in-process", image, "readers", "--json"});
  CHECK(r.exit == 0);
  json doc = r.doc();
  REQUIRE(doc["readers"].size() == 1);
  CHECK(doc["readers"][0]["card_present"] == true);
  CHECK_THAT(doc["readers"][0]["atr"].get<std::string>(), Catch::StartsWith("3B8C8131FE45"));

  r = terminal(dir, {"--in-process", image, "wait", "--timeout", "1"});
  CHECK(r.exit == 0);
  CHECK_THAT(r.out, Catch::Contains("ATR 3B 8C 81 31"));
}

TEST_CASE("juki-terminal: status of a blank card comes from its ATR", "[terminal]") {
  test::TempDir dir;
  const std::string image = make_image(dir, false);
  Run r = terminal(dir, {"--in-process", image, "--json", "status"});
  CHECK(r.exit == 0);
  json doc = r.doc();
  CHECK(doc["ok"] == true);
  CHECK(doc["life_cycle"]["name"] == "transport-locked");
  CHECK(doc["life_cycle"]["source"] == "ATR");
  CHECK(doc["serial"].is_null());  // a blank card answers only the transport key
  CHECK(doc["memory"].is_null());
  CHECK(doc["applications"][0]["present"].is_null());  // 6985: cannot tell
}

TEST_CASE("juki-terminal: a card's life from issued to active, PIN tries and changes",
          "[terminal]") {
  test::TempDir dir;
  const std::string image = make_image(dir, true);
  // Issued: the sample application is there, its PIN has no value and
  // VERIFY is not admitted in this state.
  Run r =
      terminal(dir, {"--in-process", image, "--json", "status", "--app", kApp, "--pin-ref", "81"});
  CHECK(r.exit == 0);
  json doc = r.doc();
  CHECK(doc["life_cycle"]["name"] == "issued");
  CHECK(doc["life_cycle"]["value"] == 4);
  CHECK(doc["serial"] == "0102030405060708");
  CHECK(doc["memory"]["capacity"].get<std::uint32_t>() >
        doc["memory"]["free"].get<std::uint32_t>());
  CHECK(doc["memory"]["free"].get<std::uint32_t>() > 0);
  CHECK(doc["applications"][0]["aid"] == kApp);
  CHECK(doc["applications"][0]["present"] == true);
  CHECK(doc["pin"]["state"] == "not_available");
  CHECK(doc["pin"]["sw"] == "6985");

  // The resident sets the password: read from the pipe, P1 01, card active.
  r = terminal(dir, {"--in-process", image, "--json", "change-pin", "--app", kApp, "--ref", "81"},
               "1234\n");
  CHECK(r.exit == 0);
  doc = r.doc();
  CHECK(doc["ok"] == true);
  CHECK(doc["mode"] == "initial");
  CHECK(doc["life_cycle"] == "active");
  CHECK(r.out.find("1234") == std::string::npos);
  CHECK(r.out.find("31323334") == std::string::npos);

  r = terminal(dir, {"--in-process", image, "--json", "status", "--app", kApp});
  doc = r.doc();
  CHECK(doc["life_cycle"]["name"] == "active");
  CHECK(doc["pin"]["state"] == "tries_left");
  CHECK(doc["pin"]["tries_left"] == 3);

  // A wrong PIN: the card says no (exit 1) and the count is kept in the image.
  r = terminal(dir, {"--in-process", image, "--json", "verify", "--app", kApp, "--ref", "81",
                     "--pin", "0000"});
  CHECK(r.exit == 1);
  doc = r.doc();
  CHECK(doc["verified"] == false);
  CHECK(doc["sw"] == "63C2");
  CHECK(doc["tries_left"] == 2);
  r = terminal(dir, {"--in-process", image, "status", "--app", kApp});
  CHECK(r.exit == 0);
  CHECK_THAT(r.out, Catch::Contains("2 tries left"));
  CHECK_THAT(r.out, Catch::Contains("life cycle   active"));

  // The right PIN, typed on stdin: verified, counter back to 3.
  r = terminal(dir, {"--in-process", image, "verify", "--app", kApp}, "1234\n");
  CHECK(r.exit == 0);
  CHECK(r.out == "PIN verified\n");
  r = terminal(dir, {"--in-process", image, "--json", "status", "--app", kApp});
  CHECK(r.doc()["pin"]["tries_left"] == 3);

  // Change it: old and new from the pipe, one line each.
  r = terminal(dir, {"--in-process", image, "change-pin", "--app", kApp}, "1234\n5678\n");
  CHECK(r.exit == 0);
  CHECK_THAT(r.out, Catch::StartsWith("PIN changed"));
  r = terminal(dir, {"--in-process", image, "--json", "verify", "--app", kApp, "--pin", "1234"});
  CHECK(r.exit == 1);
  CHECK(r.doc()["tries_left"] == 2);
  r = terminal(dir, {"--in-process", image, "--json", "change-pin", "--app", kApp, "--old", "0000",
                     "--new", "1111"});
  CHECK(r.exit == 1);
  doc = r.doc();
  CHECK(doc["changed"] == false);
  CHECK(doc["tries_left"] == 1);
  r = terminal(dir, {"--in-process", image, "verify", "--app", kApp, "--pin", "5678"});
  CHECK(r.exit == 0);

  // Three wrong: blocked.
  for (int i = 0; i < 3; ++i)
    terminal(dir, {"--in-process", image, "verify", "--app", kApp, "--pin", "9999"});
  r = terminal(dir, {"--in-process", image, "--json", "verify", "--app", kApp, "--pin", "5678"});
  CHECK(r.exit == 1);
  CHECK(r.doc()["sw"] == "6983");
  r = terminal(dir, {"--in-process", image, "--json", "status", "--app", kApp});
  CHECK(r.doc()["pin"]["state"] == "blocked");

  // An application that is not on the card: the card says no.
  r = terminal(dir,
               {"--in-process", image, "--json", "verify", "--app", "F0DEAD", "--pin", "1234"});
  CHECK(r.exit == 1);
  CHECK(r.doc()["error"]["kind"] == "card");
  r = terminal(dir, {"--in-process", image, "--json", "status", "--app", "F0DEAD"});
  CHECK(r.exit == 1);
  doc = r.doc();
  CHECK(doc["applications"][1]["present"] == false);
  CHECK(doc["pin"].is_null());
}

TEST_CASE("juki-terminal: send prints responses with their meaning", "[terminal]") {
  test::TempDir dir;
  const std::string image = make_image(dir, true);
  Run r = terminal(dir, {"--in-process", image, "send", "00A4040C09" + kApp, "00CADF2000"});
  CHECK(r.exit == 0);
  CHECK_THAT(r.out, Catch::Contains("> 00 A4 04 0C 09 F0 4A 55 4B 49 44 45 4D 4F   [SELECT]"));
  CHECK_THAT(r.out, Catch::Contains("< 90 00   9000 "));
  CHECK_THAT(r.out, Catch::Contains("< DF 20 01 04 90 00   9000 "));

  r = terminal(dir, {"--in-process", image, "--json", "send", "00CADF2200", "00A4000C02DEAD"});
  CHECK(r.exit == 1);  // the second one is refused
  json doc = r.doc();
  CHECK(doc["ok"] == false);
  REQUIRE(doc["exchanges"].size() == 2);
  CHECK(doc["exchanges"][0]["name"] == "GET DATA");
  CHECK(doc["exchanges"][0]["data"] == "DF22080102030405060708");
  CHECK(doc["exchanges"][0]["sw"] == "9000");
  CHECK(doc["exchanges"][1]["sw"] == "6A82");
  CHECK(!doc["exchanges"][1]["meaning"].get<std::string>().empty());

  // --trace: every exchange on stderr too, stdout unchanged.
  r = terminal(dir, {"--in-process", image, "--trace", "send", "00CADF2000"});
  CHECK(r.exit == 0);
  CHECK_THAT(r.err, Catch::Contains("> 00 CA DF 20 00   [GET DATA]"));
  CHECK_THAT(r.err, Catch::Contains("< DF 20 01 04 90 00"));
}

TEST_CASE("juki-terminal: --trace leaves PINs out, --trace-secrets shows them", "[terminal]") {
  test::TempDir dir;
  const std::string image = make_image(dir, true);
  Run r = terminal(dir, {"--in-process", image, "--trace", "change-pin", "--app", kApp, "--ref",
                         "81", "--initial", "--new", "2468"});
  CHECK(r.exit == 0);
  CHECK_THAT(r.err, Catch::Contains("> 00 24 01 81 04 XX XX XX XX   [CHANGE REFERENCE DATA, data "
                                    "redacted (4 bytes: new PIN)]"));
  CHECK(r.err.find("32 34 36 38") == std::string::npos);

  r = terminal(dir, {"--in-process", image, "--trace", "--trace-secrets", "verify", "--app", kApp,
                     "--pin", "2468"});
  CHECK(r.exit == 0);
  CHECK_THAT(r.err,
             Catch::Contains("> 00 20 00 81 04 32 34 36 38   [VERIFY, secret shown (4 bytes: "
                             "PIN)]"));

  // Without --trace it would mean nothing: a usage error.
  r = terminal(dir, {"--in-process", image, "--trace-secrets", "status"});
  CHECK(r.exit == 2);
}

TEST_CASE("juki-terminal: script runs conformance scripts against the card", "[terminal]") {
  test::TempDir dir;
  SECTION("a blank card passes the transport-key script") {
    const std::string image = make_image(dir, false);
    Run r = terminal(dir, {"--in-process", image, "--json", "script",
                           JUKI_SOURCE_DIR "/specs/conformance/01-transport-key.apdu"});
    CHECK(r.exit == 0);
    json doc = r.doc();
    CHECK(doc["ok"] == true);
    CHECK(doc["failed"] == 0);
    CHECK(doc["passed"].get<int>() > 0);
  }
  SECTION("a blank card passes the password script (it personalizes itself)") {
    const std::string image = make_image(dir, false);
    Run r = terminal(dir, {"--in-process", image, "script",
                           JUKI_SOURCE_DIR "/specs/conformance/05-password.apdu"});
    CHECK(r.exit == 0);
    CHECK_THAT(r.out, Catch::Contains(" 0 failed"));
  }
  SECTION("a mismatch exits 1, a parse error 2") {
    const std::string image = make_image(dir, true);
    {
      std::ofstream f(dir.file("wrong.apdu"));
      f << "> 00CADF2000\n< DF200105 9000\n";
      std::ofstream g(dir.file("broken.apdu"));
      g << "> 00CA\nnot a directive\n";
    }
    Run r = terminal(dir, {"--in-process", image, "--json", "script", dir.file("wrong.apdu")});
    CHECK(r.exit == 1);
    json doc = r.doc();
    CHECK(doc["failed"] == 1);
    CHECK(doc["files"][0]["mismatches"][0]["actual"] == "DF2001049000");
    r = terminal(dir, {"--in-process", image, "script", dir.file("broken.apdu")});
    CHECK(r.exit == 2);
    CHECK_THAT(r.err, Catch::Contains("broken.apdu:"));
  }
}

// ------------------------------------------------------------ authenticate

namespace {

const std::string kSecApp = "F053454331";
const std::string kSecretHex = "7265736964656E74207265636F7264";  // "resident record"
const std::string kSecretText = "72 65 73 69 64 65 6E 74 20 72 65 63 6F 72 64";

// What an operator has, made with the tools: a PKI (juki-pki init), a window
// terminal of Chiyoda from it (juki-pki issue), and a blank image
// (juki-card-sim --create) made into the secure-channel card
// (juki-make-secure-card: application SEC, EFs 7001..7005).
struct SecureCard {
  test::TempDir dir;
  std::string pki = dir.file("pki");
  std::string image = dir.file("card.img");
  std::string window = pki + "/window";

  SecureCard() {
    REQUIRE(run(dir, JUKI_PKI, {"init", pki}).exit == 0);
    issue(pki, "window", window);
    REQUIRE(run(dir, JUKI_CARD_SIM,
                {"--create", image, "--transport-key", "404142434445464748494A4B4C4D4E4F"})
                .exit == 0);
    REQUIRE(run(dir, JUKI_MAKE_SECURE_CARD, {"--pki", pki, image}).exit == 0);
  }

  // A terminal certificate and key of `role` from `pki_dir`'s terminal CA.
  void issue(const std::string& pki_dir, const std::string& role, const std::string& prefix) {
    REQUIRE(run(dir, JUKI_PKI,
                {"issue", pki_dir, "--ca", "terminal", "--role", role, "--municipality", "131016",
                 "--subject", role + " 1", "--out", prefix})
                .exit == 0);
  }

  // juki-terminal --in-process IMAGE authenticate --pki PKI `args`...
  Run authenticate(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"--in-process", image, "authenticate", "--pki", pki};
    argv.insert(argv.end(), args.begin(), args.end());
    return terminal(dir, argv);
  }
};

bool refused_as_foreign(const json& error) {
  return error["sw"] == "6A88" || error["sw"] == "6300";
}

}  // namespace

TEST_CASE("juki-terminal: authenticate as a window terminal reads what needs the role and SM",
          "[terminal][secure][req:B10.1]") {
  SecureCard c;
  // In plain, the card refuses the file.
  Run r = terminal(c.dir, {"--in-process", c.image, "--json", "send", "00A4040C05" + kSecApp,
                           "00A4020C027001", "00B0000000"});
  CHECK(r.exit == 1);
  CHECK(r.doc()["exchanges"][2]["sw"] == "6982");

  r = c.authenticate({"--terminal", c.window, "--app", kSecApp, "--read", "7001"});
  CHECK(r.exit == 0);
  CHECK_THAT(r.out, Catch::StartsWith("terminal     window, municipality 131016: "));
  CHECK_THAT(r.out, Catch::Contains("window 1"));
  CHECK_THAT(r.out, Catch::Contains("card 0102030405060708, municipality 131016, serial "));
  CHECK_THAT(r.out, Catch::Contains("> 00 A4 02 0C 02 70 01   [SELECT]"));
  CHECK_THAT(r.out, Catch::Contains("> 00 B0 00 00 00   [READ BINARY]"));
  CHECK_THAT(r.out, Catch::Contains("< " + kSecretText + " 62 82   6282 "));
  CHECK(r.err.empty());

  r = c.authenticate({"--json", "--terminal", c.window, "--app", kSecApp, "--read", "7001"});
  CHECK(r.exit == 0);
  json doc = r.doc();
  CHECK(doc["ok"] == true);
  CHECK_THAT(doc["transport"].get<std::string>(), Catch::Contains("secure messaging"));
  const json& who = doc["authenticated"];
  CHECK(who["role"] == "window");
  CHECK(who["municipality"] == "131016");
  CHECK(who["application"] == kSecApp);
  CHECK_THAT(who["terminal"]["subject"].get<std::string>(), Catch::Contains("window 1"));
  CHECK_THAT(who["card"]["subject"].get<std::string>(), Catch::Contains("card 0102030405060708"));
  CHECK(who["card"]["municipality"] == "131016");
  CHECK(who["card"]["serial"].get<std::string>().size() == 32);  // 16 bytes (specs/pki.md)
  REQUIRE(doc["exchanges"].size() == 2);
  CHECK(doc["exchanges"][0]["command"] == "00A4020C027001");
  CHECK(doc["exchanges"][0]["sw"] == "9000");
  CHECK(doc["exchanges"][1]["name"] == "READ BINARY");
  CHECK(doc["exchanges"][1]["data"] == kSecretHex);
  CHECK(doc["exchanges"][1]["sw"] == "6282");  // all of it: the file is shorter than 256

  // Two reads in one session; the second a whole 256-byte EF (Le 00).
  r = c.authenticate(
      {"--json", "--terminal", c.window, "--app", kSecApp, "--read", "7002", "--read", "7005"});
  CHECK(r.exit == 0);
  doc = r.doc();
  REQUIRE(doc["exchanges"].size() == 4);
  CHECK(doc["exchanges"][1]["data"] == kSecretHex);
  std::string all_bytes;
  for (int i = 0; i < 256; ++i) all_bytes += to_hex(Bytes{static_cast<std::uint8_t>(i)});
  CHECK(doc["exchanges"][3]["data"] == all_bytes);
  CHECK(doc["exchanges"][3]["sw"] == "9000");
}

TEST_CASE("juki-terminal: authenticate then raw APDUs, and --trace shows them protected",
          "[terminal][secure]") {
  SecureCard c;
  // SELECT 7004 and read its 15 bytes; then 7002 (secure messaging only) by SFI.
  Run r = c.authenticate(
      {"--terminal", c.window, "--app", kSecApp, "00A4020C027004", "00B000000F", "00B082000F"});
  CHECK(r.exit == 0);
  CHECK_THAT(r.out, Catch::Contains("> 00 B0 00 00 0F   [READ BINARY]\n< " + kSecretText +
                                    " 90 00   9000 "));
  CHECK_THAT(r.out, Catch::Contains("> 00 B0 82 00 0F   [READ BINARY]\n< " + kSecretText +
                                    " 90 00   9000 "));

  // A raw APDU the card refuses: printed, then exit 1, like send.
  r = c.authenticate({"--json", "--terminal", c.window, "--app", kSecApp, "00A4020C02DEAD"});
  CHECK(r.exit == 1);
  json doc = r.doc();
  CHECK(doc["ok"] == false);
  CHECK(doc["authenticated"]["role"] == "window");
  CHECK(doc["exchanges"][0]["sw"] == "6A82");

  // On the wire: the steps in plain, then CLA 0C and nothing of the record in clear.
  r = terminal(c.dir, {"--in-process", c.image, "--trace", "authenticate", "--pki", c.pki,
                       "--terminal", c.window, "--app", kSecApp, "--read", "7002"});
  CHECK(r.exit == 0);
  CHECK_THAT(r.err, Catch::Contains("> 00 2A 00 BE "));
  CHECK_THAT(r.err, Catch::Contains("> 00 84 00 00 10   [GET CHALLENGE]"));
  CHECK_THAT(r.err, Catch::Contains("> 0C A4 02 0C "));
  CHECK_THAT(r.err, Catch::Contains("> 0C B0 00 00 "));
  CHECK(r.err.find(kSecretText) == std::string::npos);
  CHECK_THAT(r.out, Catch::Contains("< " + kSecretText + " 62 82"));  // stdout: the plain answer
}

TEST_CASE("juki-terminal: authenticate refusals by role, PKI and date exit 1 with the status word",
          "[terminal][secure][req:K10]") {
  SecureCard c;
  SECTION("a window terminal may not read the password-reset file") {
    Run r = c.authenticate({"--json", "--terminal", c.window, "--app", kSecApp, "--read", "7003"});
    CHECK(r.exit == 1);
    json doc = r.doc();
    CHECK(doc["ok"] == false);
    CHECK(doc["authenticated"]["role"] == "window");
    CHECK(doc["exchanges"][1]["sw"] == "6982");
    r = c.authenticate({"--terminal", c.window, "--app", kSecApp, "--read", "7003"});
    CHECK(r.exit == 1);
    CHECK_THAT(r.out, Catch::Contains("6982 "));
  }
  SECTION("a password-reset terminal reads it, and not the window's") {
    const std::string reset = c.pki + "/reset";
    c.issue(c.pki, "password-reset", reset);
    Run r = c.authenticate({"--json", "--terminal", reset, "--app", kSecApp, "--read", "7003"});
    CHECK(r.exit == 0);
    json doc = r.doc();
    CHECK(doc["authenticated"]["role"] == "password-reset");
    CHECK(doc["exchanges"][1]["data"] == kSecretHex);
    r = c.authenticate({"--json", "--terminal", reset, "--app", kSecApp, "--read", "7001"});
    CHECK(r.exit == 1);
    CHECK(r.doc()["exchanges"][1]["sw"] == "6982");
  }
  SECTION("a terminal of another PKI is refused by the card") {
    const std::string other = c.dir.file("other");
    REQUIRE(run(c.dir, JUKI_PKI, {"init", other}).exit == 0);
    c.issue(other, "window", other + "/window");
    Run r = terminal(c.dir, {"--in-process", c.image, "--json", "authenticate", "--pki", other,
                             "--terminal", other + "/window", "--app", kSecApp, "--read", "7001"});
    CHECK(r.exit == 1);
    json doc = r.doc();
    CHECK(doc["ok"] == false);
    CHECK(doc["authenticated"].is_null());
    CHECK(doc["error"]["kind"] == "refused");
    CHECK(refused_as_foreign(doc["error"]));
    CHECK(doc.find("exchanges") == doc.end());  // nothing was sent
    CHECK_THAT(r.err, Catch::StartsWith("juki-terminal: authentication refused: "));
    // Its certificate under our terminal CA: the card refuses step 2.
    r = c.authenticate({"--json", "--terminal", other + "/window", "--app", kSecApp});
    CHECK(r.exit == 1);
    CHECK(refused_as_foreign(r.doc()["error"]));
    CHECK_THAT(r.doc()["error"]["message"].get<std::string>(),
               Catch::Contains("VERIFY CERTIFICATE (terminal)"));
    // The card of our PKI checked against the other root: the terminal refuses the card.
    r = c.authenticate({"--json", "--terminal", c.window, "--root", other + "/root.cert.der",
                        "--app", kSecApp, "--read", "7001"});
    CHECK(r.exit == 1);
    doc = r.doc();
    CHECK(doc["error"]["kind"] == "untrusted_card");
    CHECK(doc["authenticated"].is_null());
    CHECK_THAT(r.err, Catch::Contains("did not verify"));
  }
  SECTION("an expired terminal certificate") {
    // juki-pki issues from now on only: the library backdates one, from the PKI's terminal CA.
    auto ca_key = pki::PrivateKey::load(c.pki + "/terminal-ca.key.pem");
    auto ca_cert = pki::Certificate::load(c.pki + "/terminal-ca.cert.der");
    REQUIRE(ca_key.ok());
    REQUIRE(ca_cert.ok());
    pki::LeafRequest request;
    request.authorization.role = pki::Role::window;
    request.authorization.municipality = "131016";
    request.common_name = "expired window";
    request.days = 1;
    request.not_before = static_cast<std::int64_t>(std::time(nullptr)) - 10 * 86400;
    auto leaf = pki::issue_new_key({*ca_key, *ca_cert}, request);
    REQUIRE(leaf.ok());
    const std::string expired = c.pki + "/expired";
    REQUIRE(leaf->key.save(expired + ".key.pem").ok());
    REQUIRE(pki::write_new_file(expired + ".cert.der", leaf->cert.der(), 0644).ok());
    Run r = c.authenticate({"--json", "--terminal", expired, "--app", kSecApp, "--read", "7001"});
    CHECK(r.exit == 1);
    json doc = r.doc();
    CHECK(doc["error"]["kind"] == "refused");
    CHECK(doc["error"]["sw"] == "6984");
    CHECK_THAT(r.err, Catch::Contains("expired"));
  }
  SECTION("without --app: the MF, which has no trust anchor") {
    Run r = c.authenticate({"--json", "--terminal", c.window, "--read", "7001"});
    CHECK(r.exit == 1);
    CHECK(r.doc()["error"]["sw"] == "6A88");
  }
  SECTION("an application that is not on the card") {
    Run r = c.authenticate({"--terminal", c.window, "--app", "F0DEAD"});
    CHECK(r.exit == 1);
    CHECK_THAT(r.err, Catch::Contains("SELECT F0DEAD: 6A82"));
  }
}

TEST_CASE("juki-terminal: authenticate with missing or bad credentials exits 2 naming the file",
          "[terminal][secure]") {
  SecureCard c;
  Run r = c.authenticate({"--json", "--terminal", c.pki + "/nobody", "--app", kSecApp});
  CHECK(r.exit == 2);
  CHECK(r.doc()["error"]["kind"] == "credentials");
  CHECK_THAT(r.err, Catch::StartsWith("juki-terminal: "));
  CHECK_THAT(r.err, Catch::Contains("nobody.key.pem"));

  r = c.authenticate({"--app", kSecApp});  // no terminal at all
  CHECK(r.exit == 2);
  CHECK_THAT(r.err, Catch::Contains("--terminal"));

  // --key/--cert/--ca/--root instead of the prefixes, with a root that is not there.
  r = terminal(c.dir, {"--in-process", c.image, "authenticate", "--key", c.window + ".key.pem",
                       "--cert", c.window + ".cert.der", "--ca", c.pki + "/terminal-ca.cert.der",
                       "--root", c.dir.file("missing-root.der"), "--app", kSecApp});
  CHECK(r.exit == 2);
  CHECK_THAT(r.err, Catch::Contains("missing-root.der"));
  // ... and with all four given, it authenticates.
  r = terminal(c.dir, {"--in-process", c.image, "authenticate", "--key", c.window + ".key.pem",
                       "--cert", c.window + ".cert.der", "--ca", c.pki + "/terminal-ca.cert.der",
                       "--root", c.pki + "/root.cert.der", "--app", kSecApp, "--read", "7001"});
  CHECK(r.exit == 0);

  // A certificate that is not the key's; a certificate file that is not one.
  const std::string reset = c.pki + "/reset";
  c.issue(c.pki, "password-reset", reset);
  r = c.authenticate({"--terminal", c.window, "--cert", reset + ".cert.der", "--app", kSecApp});
  CHECK(r.exit == 2);
  CHECK_THAT(r.err, Catch::Contains("reset.cert.der"));
  r = c.authenticate({"--terminal", c.window, "--ca", c.window + ".key.pem", "--app", kSecApp});
  CHECK(r.exit == 2);
  CHECK_THAT(r.err, Catch::Contains("window.key.pem"));

  // A PKI directory that is not there.
  r = terminal(c.dir, {"--in-process", c.image, "authenticate", "--pki", c.dir.file("nopki"),
                       "--terminal", c.window, "--app", kSecApp});
  CHECK(r.exit == 2);
  CHECK_THAT(r.err, Catch::Contains("terminal-ca.cert.der"));

  // Not a FID, not an APDU, not an AID.
  CHECK(c.authenticate({"--terminal", c.window, "--read", "70011"}).exit == 2);
  CHECK(c.authenticate({"--terminal", c.window, "--read", "zz"}).exit == 2);
  CHECK(c.authenticate({"--terminal", c.window, "00B0"}).exit == 2);
  CHECK(c.authenticate({"--terminal", c.window, "--app", "XYZ"}).exit == 2);
}
