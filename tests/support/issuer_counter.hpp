// An issuance counter run through the executables, for the tests of
// juki-issuer (test_issuer_cli, test_batch): in a fresh directory, a PKI with
// the JPKI CAs (juki-pki), the counter's keys and the records of
// municipality 131016; and what a test arranges on them before what it
// tests (an application registered, a card issued, handed over, activated;
// a batch file run), each through the commands a counter types, each
// required to succeed. The test defines JUKI_ISSUER, JUKI_PKI and
// JUKI_CARD_SIM, the executables' paths.
#pragma once

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "support/run_program.hpp"
#include "support/temp_dir.hpp"

namespace juki::test {

// The card factory's transport key for the counter's blank cards (the
// kTransportKey of test_card.hpp), in hex.
inline const std::string kCounterTransportKey = "404142434445464748494A4B4C4D4E4F";
// JPKI PIN 1 and PIN 2 as the resident types them, a line each.
inline const std::string kResidentPins = "1357\nHANAKO2026\n";
// The password the resident sets at activation.
inline const std::string kResidentPassword = "2580";

struct Counter {
  TempDir dir;
  std::string db = dir.file("records.db");
  std::string pki = dir.file("pki");
  std::string keys = dir.file("keys.json");

  Counter() {
    REQUIRE(run(dir, JUKI_PKI, {"init", pki}).exit == 0);
    REQUIRE(run(dir, JUKI_PKI, {"init-jpki", pki}).exit == 0);
    REQUIRE(issuer({"counter-keys", keys, "--transport-key", kCounterTransportKey}).exit == 0);
    REQUIRE(issuer({"init", "--municipality", "131016"}).exit == 0);
  }

  // juki-issuer on the counter's records as clerk-7 at counter-2; `input` on
  // its stdin, `env` NAME=value words in its environment.
  Run issuer(std::vector<std::string> args, const std::string& input = "",
             const std::string& env = "") {
    args.insert(args.begin(), {"--db", db, "--operator", "clerk-7", "--terminal", "counter-2"});
    return run(dir, JUKI_ISSUER, args, input, env);
  }
  Run json(std::vector<std::string> args, const std::string& input = "") {
    args.insert(args.begin(), "--json");
    return issuer(std::move(args), input);
  }

  // A blank card image (juki-card-sim --create) of the factory batch of `tk`.
  std::string blank_card(const std::string& name, const std::string& tk = kCounterTransportKey) {
    const std::string image = dir.file(name);
    REQUIRE(run(dir, JUKI_CARD_SIM, {"--create", image, "--transport-key", tk}).exit == 0);
    return image;
  }

  // Intake and registration: the application's number and notice number
  // (empty for same-day issuance).
  std::pair<std::string, std::string> registered(const std::string& resident_code,
                                                 bool same_day = false) {
    std::vector<std::string> args = {"intake",
                                     "--resident-code",
                                     resident_code,
                                     "--name",
                                     "住基 花子",
                                     "--kana",
                                     "ジューキ ハナコ",
                                     "--birth-date",
                                     "19900214",
                                     "--sex",
                                     "2",
                                     "--address",
                                     "千代田区1-1",
                                     "--face",
                                     "B",
                                     "--id-document",
                                     "passport"};
    if (same_day) args.push_back("--same-day");
    auto in = json(args);
    REQUIRE(in.exit == 0);
    const std::string id = std::to_string(in.doc()["application"]["id"].get<long>());
    auto reg = json({"register", id});
    REQUIRE(reg.exit == 0);
    const auto notice = reg.doc()["application"]["notice_number"];
    return {id, notice.is_null() ? std::string() : notice.get<std::string>()};
  }

  // Personalization of the card in `image` for the application: its serial.
  std::string personalize(const std::string& id, const std::string& image,
                          const std::string& issue_date = "") {
    std::vector<std::string> args = {"personalize",    id,   "--pki",        pki,
                                     "--counter-keys", keys, "--in-process", image};
    if (!issue_date.empty()) args.insert(args.end(), {"--issue-date", issue_date});
    auto r = json(args, kResidentPins);
    REQUIRE(r.exit == 0);
    return r.doc()["card"]["serial"].get<std::string>();
  }

  std::string card_state(const std::string& serial) {
    auto r = json({"show", "--card", serial});
    REQUIRE(r.exit == 0);
    return r.doc()["card"]["state"].get<std::string>();
  }

  // A card issued for a new application of the person: registered, and a new
  // blank image, card-RESIDENT_CODE.img, personalized (on `issue_date`, or
  // today).
  struct IssuedCard {
    std::string id, notice, image, serial;
  };
  IssuedCard issued(const std::string& resident_code, const std::string& issue_date = "",
                    bool same_day = false) {
    IssuedCard card;
    std::tie(card.id, card.notice) = registered(resident_code, same_day);
    card.image = blank_card("card-" + resident_code + ".img");
    card.serial = personalize(card.id, card.image, issue_date);
    return card;
  }
  // Hand-over against the notice (none for same-day issuance), the passport shown.
  void hand_over(const IssuedCard& card) {
    std::vector<std::string> args = {"hand-over", card.serial, "--id-document", "passport"};
    if (!card.notice.empty()) args.insert(args.end(), {"--notice", card.notice});
    REQUIRE(issuer(args).exit == 0);
  }
  // Activation: the resident sets kResidentPassword.
  void activate(const IssuedCard& card) {
    REQUIRE(issuer({"activate", card.serial, "--in-process", card.image}, kResidentPassword + "\n")
                .exit == 0);
  }
  // A card issued, handed over and activated.
  IssuedCard active(const std::string& resident_code, const std::string& issue_date = "") {
    IssuedCard card = issued(resident_code, issue_date);
    hand_over(card);
    activate(card);
    return card;
  }

  // The applications file of a batch, written 0600 (it holds PINs): its path.
  std::string file(const std::string& text) {
    const std::string path = dir.file("applications.jsonl");
    std::ofstream(path, std::ios::binary) << text;
    std::filesystem::permissions(
        path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    return path;
  }
  // juki-issuer --json batch of `text` with the counter's PKI and keys, and
  // `extra` options ("cards" stands for the directory DIR/cards).
  Run batch(const std::string& text,
            std::vector<std::string> extra = {"--in-process", "cards", "--workers", "2"},
            const std::string& env = "") {
    std::vector<std::string> args = {"--json", "batch",          file(text), "--pki",
                                     pki,      "--counter-keys", keys};
    for (auto& e : extra) args.push_back(e == "cards" ? dir.file("cards") : e);
    return issuer(args, "", env);
  }
};

}  // namespace juki::test
