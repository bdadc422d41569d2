// juki-terminal as a user runs it: the real executable on a card image
// (--in-process), its output (text and --json), exit codes and PIN entry from
// a pipe; and its PC/SC error when no pcscd is there.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "card_os/card/card.hpp"
#include "card_os/nvm/persistent_memory.hpp"
#include "card_os/nvm/storage.hpp"
#include "card_os/security/random.hpp"
#include "host_middleware/personalization/personalization.hpp"
#include "host_middleware/transport/in_process.hpp"
#include "support/temp_dir.hpp"
#include "support/test_card.hpp"

using namespace juki;
using nlohmann::json;

namespace {

struct Run {
  int exit = -1;
  std::string out, err;
  json doc() const {
    INFO("stdout: " << out << "\nstderr: " << err);
    REQUIRE(json::accept(out));
    return json::parse(out);
  }
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Runs juki-terminal with `args`, `input` on its stdin, and `env` (NAME=value
// words) in its environment.
Run terminal(const test::TempDir& dir, std::initializer_list<std::string> args,
             const std::string& input = "", const std::string& env = "") {
  {
    std::ofstream in(dir.file("stdin"), std::ios::binary);
    in << input;
  }
  std::string cmd = env + " " + quote(JUKI_TERMINAL);
  for (const std::string& a : args) cmd += " " + quote(a);
  cmd += " <" + quote(dir.file("stdin")) + " >" + quote(dir.file("stdout")) + " 2>" +
         quote(dir.file("stderr"));
  const int status = std::system(cmd.c_str());
  REQUIRE(WIFEXITED(status));
  Run r{WEXITSTATUS(status), slurp(dir.file("stdout")), slurp(dir.file("stderr"))};
  UNSCOPED_INFO("juki-terminal exit " << r.exit << "\nstdout:\n" << r.out << "stderr:\n" << r.err);
  return r;
}

// A card image file holding a blank card (test transport key), or with
// `personalize` the issued sample card (specs/card-os.md "The sample layout").
std::string make_image(const test::TempDir& dir, bool personalize,
                       const std::string& name = "card.img") {
  const std::string path = dir.file(name);
  card_os::FactoryProfile profile;
  profile.transport_key = test::kTransportKey;
  profile.serial = test::kSerial;
  auto storage = card_os::FileStorage::create(
      path, card_os::PersistentMemory::storage_size_for(profile.geometry));
  REQUIRE(storage.ok());
  card_os::DrbgRandom random(as_bytes("terminal test"));
  REQUIRE(card_os::Card::manufacture(**storage, profile, random).ok());
  if (personalize) {
    auto t = host::InProcessTransport::connect(**storage, random);
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
  const std::string env = "PCSCLITE_CSOCK_NAME=" + quote(dir.file("no-pcscd.socket"));
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
