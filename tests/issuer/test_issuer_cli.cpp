// juki-issuer, the executable, as a counter runs it (specs/issuance.md 3):
// a blank card image issued, handed over, activated and accepted at the
// window, and each refusal the issue names, with its exit code and what the
// records and the card say afterwards. The card is an in-process image
// (juki-card-sim --create); the same commands over PC/SC are in the e2e
// scenario `issuance`.
#include <catch2/catch.hpp>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "common/bytes.hpp"
#include "support/issuer_counter.hpp"
#include "support/run_program.hpp"

using namespace juki::test;

TEST_CASE("juki-issuer: a blank card is issued, handed over, activated and accepted at the window",
          "[issuer-cli][req:K7][req:K17][req:K18]") {
  Counter c;
  const auto card = c.issued("12345678903");
  const auto& [id, notice, image, serial] = card;
  CHECK(notice.size() == 12);
  CHECK(serial.size() == 16);
  CHECK(c.card_state(serial) == "issued");

  auto face = c.json({"face", id, "--svg", c.dir.file("face.svg"), "--print-data",
                      c.dir.file("face.json"), "--municipality-name", "千代田区"});
  REQUIRE(face.exit == 0);
  const std::string svg = slurp(c.dir.file("face.svg"));
  CHECK(svg.find("<svg") != std::string::npos);
  CHECK(svg.find(serial) != std::string::npos);
  CHECK(svg.find("千代田区1-1") != std::string::npos);  // face B: the address
  CHECK(slurp(c.dir.file("face.json")).find("\"expiry_date\"") != std::string::npos);

  c.hand_over(card);
  CHECK(c.card_state(serial) == "handed_over");
  c.activate(card);
  CHECK(c.card_state(serial) == "active");
  auto check = c.json({"check", serial});
  CHECK(check.exit == 0);
  CHECK(check.doc()["verdict"] == "accepted");
  // The activated card: its password is set; a second activation is refused
  // by the records before the card is touched.
  CHECK(c.issuer({"activate", serial, "--in-process", image}, kResidentPassword + "\n").exit == 1);

  // Every change is in the audit trail with who and where.
  auto history = c.json({"history", "--card", serial});
  REQUIRE(history.exit == 0);
  std::vector<std::string> actions;
  const auto events = history.doc()["events"];
  for (const auto& e : events) {
    actions.push_back(e["action"].get<std::string>());
    CHECK(e["operator"] == "clerk-7");
    CHECK(e["terminal"] == "counter-2");
  }
  CHECK(actions == std::vector<std::string>{"begin_personalization", "finish_personalization",
                                            "hand_over", "activate"});
}

TEST_CASE("juki-issuer: same-day issuance hands over without a notice", "[issuer-cli][req:K18]") {
  Counter c;
  const auto card = c.issued("12345678903", "", true);
  CHECK(card.notice.empty());
  CHECK(c.issuer({"hand-over", card.serial, "--id-document", "my-number-card"}).exit == 0);
  CHECK(c.card_state(card.serial) == "handed_over");
}

TEST_CASE("juki-issuer: a duplicate application is refused", "[issuer-cli][refusal][req:K16]") {
  Counter c;
  c.registered("12345678903");
  auto again = c.json({"intake", "--resident-code", "12345678903", "--name", "住基 花子", "--kana",
                       "ジューキ ハナコ", "--birth-date", "19900214", "--sex", "2", "--address",
                       "千代田区1-1", "--id-document", "passport"});
  CHECK(again.exit == 1);
  CHECK(again.doc()["error"]["kind"] == "duplicate_application");
  CHECK(c.json({"summary"}).doc()["applications"]["registered"] == 1);
}

TEST_CASE("juki-issuer: a wrong transport key is refused and the card stays blank",
          "[issuer-cli][refusal][req:K13]") {
  Counter c;
  const auto [id, notice] = c.registered("12345678903");
  // A card of another factory batch: its transport key is not the counter's.
  const std::string image = c.blank_card("card.img", "00112233445566778899AABBCCDDEEFF");
  auto r =
      c.json({"personalize", id, "--pki", c.pki, "--counter-keys", c.keys, "--in-process", image},
             kResidentPins);
  CHECK(r.exit == 1);
  CHECK(r.doc()["error"]["kind"] == "wrong transport key");
  CHECK(r.err.find("tries left") != std::string::npos);
  // Nothing recorded: the application is still registered, no card.
  auto show = c.json({"show", id});
  CHECK(show.doc()["application"]["state"] == "registered");
  CHECK(show.doc()["cards"].empty());
  // The right card then works; its trace (--trace) holds no PIN or key.
  r = c.json({"personalize", id, "--pki", c.pki, "--counter-keys", c.keys, "--in-process",
              c.blank_card("good.img"), "--trace"},
             kResidentPins);
  CHECK(r.exit == 0);
  CHECK_THAT(r.err,
             Catch::Contains("[EXTERNAL AUTHENTICATE, data redacted (16 bytes: key proof)]"));
  // Everything after the proof travels under the personalization session
  // (specs/secure-channel.md 6): PUT DATA only as SM ciphertext, never plain.
  CHECK_THAT(r.err, Catch::Contains("  > 0C DA 00 A1 "));
  CHECK(r.err.find("  > 00 DA ") == std::string::npos);
  for (const std::string pin : {"1357", "HANAKO2026"}) {
    CHECK(r.err.find(juki::to_hex(juki::as_bytes(pin), true)) == std::string::npos);
    CHECK(r.err.find(juki::to_hex(juki::as_bytes(pin))) == std::string::npos);
  }
}

TEST_CASE("juki-issuer: a wrong notice number is refused and recorded",
          "[issuer-cli][refusal][req:K18]") {
  Counter c;
  const auto [id, notice, image, serial] = c.issued("12345678903");
  // Another valid notice number (its own check digit): not this application's.
  const std::string other = "00000000000" + std::string(1, '0');
  auto r = c.json({"hand-over", serial, "--notice", other, "--id-document", "passport"});
  CHECK(r.exit == 1);
  CHECK(r.doc()["error"]["kind"] == "wrong_notice_number");
  CHECK(c.card_state(serial) == "issued");
  auto history = c.json({"history", "--card", serial});
  CHECK(history.doc()["events"].back()["action"] == "hand_over_refused");
  // A typo (a wrong check digit) is a usage error and is not recorded.
  std::string typo = notice;
  typo.back() = typo.back() == '9' ? '0' : static_cast<char>(typo.back() + 1);
  CHECK(c.issuer({"hand-over", serial, "--notice", typo, "--id-document", "passport"}).exit == 2);
}

TEST_CASE("juki-issuer: a password of the wrong format is refused before the card",
          "[issuer-cli][refusal][req:F1]") {
  Counter c;
  const auto card = c.issued("12345678903");
  c.hand_over(card);
  const auto& [id, notice, image, serial] = card;
  const std::string before = slurp(image);
  for (const std::string bad : {"12a4", "123", "12345", ""}) {
    auto r = c.issuer({"activate", serial, "--in-process", image}, bad + "\n");
    CHECK(r.exit == 2);
    CHECK(slurp(image) == before);  // the card was not touched
  }
  CHECK(c.card_state(serial) == "handed_over");
  CHECK(c.issuer({"activate", serial, "--in-process", image}, kResidentPassword + "\n").exit == 0);
}

TEST_CASE("juki-issuer: a suspended card is refused at the window, until lifted",
          "[issuer-cli][refusal][req:K11]") {
  Counter c;
  const auto [id, notice, image, serial] = c.active("12345678903", "20260228");
  REQUIRE(run(c.dir, JUKI_PKI,
              {"issue", c.pki, "--ca", "terminal", "--role", "window", "--municipality", "131016",
               "--subject", "window 1", "--out", c.dir.file("window")})
              .exit == 0);
  // The window terminal consulting the records: refused before any authentication.
  auto window = [&] {
    return run(c.dir, JUKI_TERMINAL,
               {"--json", "--in-process", image, "authenticate", "--pki", c.pki, "--terminal",
                c.dir.file("window"), "--records", c.db, "--app", "D3921000310001010401",
                "00A4020C024A02"});
  };
  REQUIRE(window().exit == 0);
  REQUIRE(c.issuer({"suspend", serial, "--reason", "reported lost"}).exit == 0);
  auto check = c.json({"check", serial});
  CHECK(check.exit == 1);
  CHECK(check.doc()["verdict"] == "suspended");
  auto refused = window();
  CHECK(refused.exit == 1);
  CHECK(refused.doc()["error"]["kind"] == "window_check");
  CHECK(refused.doc()["error"]["message"].get<std::string>().find("suspended") !=
        std::string::npos);
  REQUIRE(c.issuer({"lift", serial, "--id-document", "passport"}).exit == 0);
  CHECK(c.issuer({"check", serial}).exit == 0);
  auto accepted = window();
  CHECK(accepted.exit == 0);
  CHECK(accepted.doc()["window_check"]["verdict"] == "accepted");
  // Expired by date: issued 2026-02-28, accepted until 2036-02-28, refused on
  // the 29th (2036 is a leap year).
  CHECK(c.json({"show", "--card", serial}).doc()["card"]["expiry_date"] == "20360228");
  CHECK(c.issuer({"check", serial, "--today", "20360228"}).exit == 0);
  auto expired = c.json({"check", serial, "--today", "20360229"});
  CHECK(expired.exit == 1);
  CHECK(expired.doc()["verdict"] == "expired");
  // An unknown card.
  CHECK(c.json({"check", "0000000000000000"}).doc()["verdict"] == "unknown_card");
}

TEST_CASE("juki-issuer: a card the records know already is not personalized again",
          "[issuer-cli][refusal]") {
  Counter c;
  const std::string image = c.issued("12345678903").image;
  const auto [id2, notice2] = c.registered("98765432103");
  auto r =
      c.json({"personalize", id2, "--pki", c.pki, "--counter-keys", c.keys, "--in-process", image},
             kResidentPins);
  CHECK(r.exit == 1);
  CHECK(r.doc()["error"]["kind"] == "card state");  // issued already: never touched again
}

TEST_CASE("juki-issuer: a password locked by three wrong tries is re-set at the window",
          "[issuer-cli][req:K8][req:K9]") {
  Counter c;
  const auto [id, notice, image, serial] = c.active("12345678903");
  const std::string& pki = c.pki;
  for (const auto& [role, out] : {std::pair{"password-reset", "reset"}, {"window", "window"}})
    REQUIRE(run(c.dir, JUKI_PKI,
                {"issue", pki, "--ca", "terminal", "--role", role, "--municipality", "131016",
                 "--subject", std::string(role) + " 1", "--out", c.dir.file(out)})
                .exit == 0);
  auto verify = [&](const std::string& password) {
    return run(c.dir, JUKI_TERMINAL,
               {"--in-process", image, "verify", "--app", "D3921000310001010401"}, password + "\n")
        .exit;
  };
  for (int i = 0; i < 3; ++i) CHECK(verify("0000") == 1);
  CHECK(verify(kResidentPassword) == 1);  // blocked: the right password no longer helps
  auto reset = [&](const std::string& prefix, const std::string& password) {
    return c.json({"reset-password", serial, "--pki", pki, "--terminal", c.dir.file(prefix),
                   "--id-document", "passport", "--in-process", image},
                  password + "\n");
  };
  // A window terminal has no right to re-set it; a bad format never reaches the card.
  auto by_window = reset("window", "1470");
  CHECK(by_window.exit == 1);
  CHECK(by_window.doc()["error"]["message"].get<std::string>().find("6982") != std::string::npos);
  CHECK(reset("reset", "14a0").exit == 2);
  CHECK(verify(kResidentPassword) == 1);
  auto done = reset("reset", "1470");
  CHECK(done.exit == 0);
  CHECK(verify("1470") == 0);
  CHECK(verify(kResidentPassword) == 1);
  auto history = c.json({"history", "--card", serial});
  CHECK(history.doc()["events"].back()["action"] == "password_reset");
}

TEST_CASE("juki-issuer: a lost card's certificates are revoked by its serial, and published",
          "[issuer-cli][pki]") {
  Counter c;
  const auto card = c.active("12345678903");
  const std::string kept = c.pki + "/cards/" + card.serial;
  for (const char* name : {"card", "jpki-auth", "jpki-sign"})
    REQUIRE(std::filesystem::exists(kept + "/" + name + ".cert.der"));
  const std::string sign = kept + "/jpki-sign.cert.der";
  CHECK(run(c.dir, JUKI_PKI, {"verify", c.pki, sign}).exit == 0);

  auto lost = c.json({"lost", card.serial, "--reason", "lost on a train", "--pki", c.pki});
  REQUIRE(lost.exit == 0);
  const auto doc = lost.doc();
  CHECK(doc["card"]["state"] == "lost");
  REQUIRE(doc["revoked"].size() == 3);
  for (const auto& r : doc["revoked"]) CHECK(r["already"] == false);
  REQUIRE(run(c.dir, JUKI_PKI, {"crl", c.pki, "--ca", "jpki-sign"}).exit == 0);
  auto verified = run(c.dir, JUKI_PKI, {"--json", "verify", c.pki, sign});
  CHECK(verified.exit == 1);
  CHECK(verified.doc()["error"]["kind"] == "revoked");

  // Found and returned: recorded, its certificates revoked already.
  auto returned = c.json({"return", card.serial, "--reason", "found", "--pki", c.pki});
  REQUIRE(returned.exit == 0);
  const auto again = returned.doc();
  REQUIRE(again["revoked"].size() == 3);
  for (const auto& r : again["revoked"]) CHECK(r["already"] == true);

  // A card whose certificates the directory does not keep: recorded, then exit 3.
  const auto other = c.active("98765432103");
  std::filesystem::remove_all(c.pki + "/cards/" + other.serial);
  auto missing = c.json({"lost", other.serial, "--reason", "stolen", "--pki", c.pki});
  CHECK(missing.exit == 3);
  CHECK(missing.doc()["error"]["kind"] == "io");
  CHECK(c.card_state(other.serial) == "lost");
}

TEST_CASE(
    "juki-issuer apps: municipal applications installed, locked, listed and deleted on an "
    "active card as the municipality's app-authority, recorded",
    "[issuer-cli]") {
  Counter c;
  const auto card = c.active("12345678903");
  for (const auto& [role, out] : {std::pair{"app-authority", "apps"}, {"window", "window"}})
    REQUIRE(run(c.dir, JUKI_PKI,
                {"issue", c.pki, "--ca", "terminal", "--role", role, "--municipality", "131016",
                 "--subject", std::string(role) + " 1", "--out", c.dir.file(out)})
                .exit == 0);
  auto apps = [&](std::vector<std::string> args, const std::string& authority = "apps") {
    args.insert(args.begin() + 1, card.serial);
    args.insert(args.begin(), "apps");
    if (args[1] != "list")
      args.insert(args.end(), {"--pki", c.pki, "--authority", c.dir.file(authority)});
    args.insert(args.end(), {"--in-process", card.image});
    return c.json(args);
  };
  auto listed = [&] {
    auto r = apps({"list"});
    REQUIRE(r.exit == 0);
    std::map<std::string, std::string> states;
    const auto doc = r.doc();  // kept: a range-for over a part of a temporary dangles
    for (const auto& a : doc["applications"])
      states[a["aid"].get<std::string>()] = a["state"].get<std::string>();
    return states;
  };
  const std::string seal = "F04A554B495345414C", library = "F04A554B494C4942";
  CHECK(listed().count(seal) == 0);

  auto installed = apps({"install", "--app", "seal", "--number", "131016-SEAL-0042"});
  REQUIRE(installed.exit == 0);
  CHECK(installed.doc()["aid"] == seal);
  CHECK(installed.doc()["keys"].size() == 1);
  REQUIRE(apps({"install", "--app", "library", "--number", "LIB-1", "--branch", "Kanda"}).exit ==
          0);
  REQUIRE(apps({"lock", "--app", "library"}).exit == 0);
  auto states = listed();
  CHECK(states[seal] == "installed");
  CHECK(states[library] == "locked");

  // Refusals: a window's key (the card says 6982), a number too long for
  // its file, a card that is not active; nothing changes or is recorded.
  auto by_window = apps({"delete", "--app", "seal"}, "window");
  CHECK(by_window.exit == 1);
  CHECK(by_window.doc()["error"]["message"].get<std::string>().find("6982") != std::string::npos);
  CHECK(apps({"install", "--app", "kiosk", "--number", std::string(17, '7')}).exit == 2);
  CHECK(listed().count(seal) == 1);

  REQUIRE(apps({"delete", "--app", "seal"}).exit == 0);
  CHECK(listed().count(seal) == 0);

  const auto history = c.json({"history", "--card", card.serial}).doc();
  std::vector<std::string> changes;
  for (const auto& e : history["events"])
    if (e["action"] == "municipal_application")
      changes.push_back(e["detail"]["operation"].get<std::string>() + " " +
                        e["detail"]["app"].get<std::string>());
  CHECK(changes ==
        std::vector<std::string>{"install seal", "install library", "lock library", "delete seal"});

  REQUIRE(c.issuer({"suspend", card.serial, "--reason", "reported lost"}).exit == 0);
  auto suspended = apps({"unlock", "--app", "library"});
  CHECK(suspended.exit == 1);
  CHECK(suspended.doc()["error"]["kind"] == "wrong_state");
}
