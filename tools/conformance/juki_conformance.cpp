// juki-conformance: the conformance suite (specs/conformance/) against a card
// under test: a simulator card in this process, or a card in a PC/SC reader,
// with a fresh blank card for each script; in differential mode the same
// scripts also run on a simulator card here and every difference is reported
// (specs/apdu-script.md, "The conformance runner").
#include <CLI/CLI.hpp>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/system_random.hpp"
#include "host_middleware/script/differential.hpp"
#include "host_middleware/script/report.hpp"
#include "host_middleware/script/script.hpp"
#include "tools/cli/card_supply.hpp"
#include "tools/cli/script_inputs.hpp"

namespace {

using namespace juki;
namespace script = juki::host::script;
namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;  // a mismatch, a difference, a run that stopped
constexpr int kExitUsage = 2;   // usage, a file that cannot be read or parsed
constexpr int kExitCard = 3;    // the card, its reader or the simulator could not be reached

// The suite's test transport key and serial (specs/apdu-script.md): never on
// a real card.
constexpr const char* kTestTransportKey = "404142434445464748494A4B4C4D4E4F";
constexpr const char* kTestSerial = "0102030405060708";

struct Options {
  std::vector<std::string> paths;
  std::string reader;  // empty: in-process
  bool in_reader = false;
  std::string sim_socket;
  unsigned sim_slot = 0;
  bool prompt = false;
  int wait_seconds = 120;
  bool differential = false;
  std::string transport_key = kTestTransportKey;
  std::string serial = kTestSerial;
  std::vector<std::string> sets;
  std::string prepare_file;
  bool json = false;
  bool verbose = false;
  std::string junit_file, html_file;
};

// A failure that ends the run before its reports: what and the exit status.
struct Stop {
  int exit = kExitUsage;
  std::string message;
};

// Runs the --prepare script on a card the runner made (not reported; it
// must pass, or the card is not what the scripts expect). A card brought to
// a reader is in the state its owner brought it.
Result<void, Stop> prepare(tools::CardLease& card, const script::Script* preparation) {
  if (preparation == nullptr || card.made_as().empty()) return {};
  const script::RunReport r = script::run(*preparation, card.transport());
  if (r.ok()) return {};
  std::string why = r.aborted
                        ? r.aborted->message
                        : std::to_string(r.mismatches.size()) + " mismatches, the first at " +
                              (r.mismatches[0].file.empty() ? r.source : r.mismatches[0].file) +
                              ":" + std::to_string(r.mismatches[0].line);
  return unexpected(Stop{kExitFailed, "preparing " + card.transport().describe() + " with " +
                                          r.source + " failed: " + why});
}

// The card for a script, prepared.
Result<std::unique_ptr<tools::CardLease>, Stop> card_for(tools::CardSupply& supply, std::size_t i,
                                                         const std::string& name,
                                                         const script::Script* preparation) {
  auto card = supply.card_for(i, name, "a fresh blank card");
  if (!card)
    return unexpected(Stop{card.error().unreachable ? kExitCard : kExitUsage,
                           name + ": " + card.error().message});
  if (auto ready = prepare(**card, preparation); !ready) return unexpected(ready.error());
  return std::move(*card);
}

struct Outcome {
  script::RunReport candidate;
  std::optional<script::RunReport> reference;
  std::optional<script::Comparison> comparison;
  bool ok() const { return candidate.ok() && (!comparison || comparison->same()); }
};

int run(const Options& o) {
  auto inputs = tools::blank_card_inputs(o.transport_key, o.serial, o.sets);
  if (!inputs) {
    std::cerr << "juki-conformance: " << inputs.error() << "\n";
    return kExitUsage;
  }
  const script::Variables& fixed = inputs->fixed;
  auto files = tools::script_files(o.paths);
  if (!files) {
    std::cerr << "juki-conformance: " << files.error() << "\n";
    return kExitUsage;
  }
  // Every file is parsed before any runs: a typo in the last should not cost
  // a run of the others on cards that are then spent.
  std::vector<script::Script> scripts;
  bool parsed_all = true;
  for (const std::string& file : *files) {
    auto parsed = script::parse_file(file, fixed);
    if (!parsed) {
      std::cerr << script::format(parsed.error(), file) << "\n";
      parsed_all = false;
      continue;
    }
    scripts.push_back(std::move(*parsed));
  }
  std::optional<script::Script> preparation;
  if (!o.prepare_file.empty()) {
    auto parsed = script::parse_file(o.prepare_file, fixed);
    if (!parsed) {
      std::cerr << script::format(parsed.error(), o.prepare_file) << "\n";
      parsed_all = false;
    } else {
      preparation = std::move(*parsed);
    }
  }
  if (!parsed_all) return kExitUsage;
  const script::Script* prep = preparation ? &*preparation : nullptr;

  const card_os::FactoryProfile& profile = inputs->profile;
  std::unique_ptr<tools::CardSupply> candidates;
  if (o.in_reader)
    candidates = std::make_unique<tools::ReaderSupply>(tools::ReaderSupplyOptions{
        "juki-conformance", o.reader, o.sim_socket, o.sim_slot, o.prompt, o.wait_seconds, profile});
  else
    candidates = tools::in_memory_supply(profile, "candidate");
  auto references = tools::in_memory_supply(profile, "reference");

  std::ostream& echo_out = o.json ? std::cerr : std::cout;
  script::RunOptions options;
  if (o.verbose) options.echo = [&](std::string_view line) { echo_out << line << "\n"; };

  std::vector<Outcome> outcomes;
  // A card that cannot be had stops the run; the scripts that ran are still
  // reported (their cards are spent), and the exit status is the stop's.
  std::optional<Stop> stopped;
  for (std::size_t i = 0; i < scripts.size() && !stopped; ++i) {
    const script::Script& s = scripts[i];
    if (!o.json) std::cerr << "[" << i + 1 << "/" << scripts.size() << "] " << s.source << "\n";
    auto card = card_for(*candidates, i, s.source, prep);
    if (!card) {
      stopped = card.error();
      break;
    }
    Outcome outcome{script::run(s, (*card)->transport(), options), std::nullopt, std::nullopt};
    if (o.differential) {
      auto reference = card_for(*references, i, s.source, prep);
      if (!reference) {
        stopped = reference.error();
        break;
      }
      outcome.reference = script::run(s, (*reference)->transport(), {});
      outcome.comparison = script::compare(*outcome.reference, outcome.candidate);
    }
    outcomes.push_back(std::move(outcome));
  }

  std::vector<script::RunReport> candidate_runs, reference_runs;
  std::vector<script::Comparison> comparisons;
  for (const Outcome& x : outcomes) {
    candidate_runs.push_back(x.candidate);
    if (x.reference) reference_runs.push_back(*x.reference);
    if (x.comparison) comparisons.push_back(*x.comparison);
  }
  if (!o.junit_file.empty()) {
    const std::string xml = o.differential
                                ? script::to_junit(comparisons, candidate_runs, "juki-conformance")
                                : script::to_junit(candidate_runs, "juki-conformance");
    if (auto written = tools::write_text_file(o.junit_file, xml); !written) {
      std::cerr << "juki-conformance: " << written.error() << "\n";
      return kExitUsage;
    }
  }
  if (!o.html_file.empty()) {
    const std::string html =
        o.differential ? script::to_html(comparisons, reference_runs, candidate_runs,
                                         "juki-conformance: differential run")
                       : script::to_html(candidate_runs, "juki-conformance: the card under test");
    if (auto written = tools::write_text_file(o.html_file, html); !written) {
      std::cerr << "juki-conformance: " << written.error() << "\n";
      return kExitUsage;
    }
  }

  bool all_ok = !stopped;
  std::size_t passed = 0, mismatched = 0, differences = 0, commands = 0;
  json files_json = json::array();
  for (const Outcome& x : outcomes) {
    all_ok = all_ok && x.ok();
    passed += x.candidate.passed;
    mismatched += x.candidate.mismatches.size();
    commands += x.candidate.commands;
    if (x.comparison) differences += x.comparison->differences.size();
    if (o.json) {
      json j = script::to_json(x.candidate);
      if (x.comparison) j["differential"] = script::to_json(*x.comparison);
      files_json.push_back(std::move(j));
    } else {
      std::cout << script::to_text(x.candidate);
      if (x.comparison) std::cout << script::to_text(*x.comparison);
    }
  }
  const std::string card = outcomes.empty() ? "" : outcomes.front().candidate.transport;
  if (o.json) {
    json doc{{"ok", all_ok},       {"card", card},         {"scripts", outcomes.size()},
             {"passed", passed},   {"failed", mismatched}, {"commands", commands},
             {"files", files_json}};
    if (o.differential) doc["differences"] = differences;
    if (stopped) {
      doc["ok"] = false;
      doc["stopped"] = stopped->message;
    }
    std::cout << doc.dump(2) << "\n";
  } else {
    std::cout << "total: " << outcomes.size() << " scripts on " << card << ": " << passed
              << " checks passed, " << mismatched << " failed (" << commands << " commands)";
    if (o.differential) std::cout << "; " << differences << " differences from the simulator";
    std::cout << (all_ok ? "" : " -- FAILED") << "\n";
  }
  if (stopped) {
    std::cerr << "juki-conformance: stopped after " << outcomes.size() << " of " << scripts.size()
              << " scripts: " << stopped->message << "\n";
    return stopped->exit;
  }
  return all_ok ? kExitOk : kExitFailed;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Runs the conformance suite (specs/conformance/) against a card under test, a fresh blank\n"
      "card per script: a simulator card in this process (default), or a card in a PC/SC reader.\n"
      "With --differential every script also runs on a simulator card here, and every answer\n"
      "that differs beyond the scripts' wildcards is reported with both traces.\n"
      "Exit status: 0 all passed, 1 a mismatch, a difference or a run that stopped, 2 usage or\n"
      "a script that cannot be read or parsed, 3 the card, its reader or the simulator could\n"
      "not be reached.",
      "juki-conformance"};
  Options o;
  app.add_option("PATH", o.paths,
                 "APDU scripts, or directories whose *.apdu files run in name order")
      ->required();
  auto* reader = app.add_option("--reader", o.reader,
                                "The card under test is in this PC/SC reader (a name or part of "
                                "one; default: a simulator card in this process)");
  app.add_option("--sim-socket", o.sim_socket,
                 "The reader is a juki-card-sim slot: a new blank card (--transport-key, "
                 "--serial) is put in it for each script through this control socket")
      ->needs(reader);
  app.add_option("--sim-slot", o.sim_slot, "The simulator's slot of the reader")
      ->capture_default_str()
      ->check(CLI::Range(0, 63));
  app.add_flag("--prompt", o.prompt,
               "Before each script after the first, ask for a fresh blank card in the reader and "
               "wait until it is there (without it every script runs on the same card)")
      ->needs(reader)
      ->excludes("--sim-socket");
  app.add_option("--wait", o.wait_seconds, "Seconds to wait for a card to leave or come")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
  app.add_flag("--differential", o.differential,
               "Also run every script on a simulator card in this process (the reference) and "
               "report every difference of status word or data");
  app.add_option("--transport-key", o.transport_key,
                 "AES transport key of the blank cards, hex; the scripts' TK takes this value "
                 "(default: the suite's test key)");
  app.add_option("--serial", o.serial,
                 "Serial of the blank simulator cards made here, hex (default " +
                     std::string(kTestSerial) + ", the serial scripts 09 and 10 are written for)");
  app.add_option("--set", o.sets,
                 "NAME=HEX: the scripts' variable NAME takes this value whatever they set "
                 "(repeatable)");
  app.add_option("--prepare", o.prepare_file,
                 "Before each script, run this script on every card the runner makes (the "
                 "simulator's), e.g. lib/sample-card.apdu for scripts that expect an issued card; "
                 "a card brought to a reader is not prepared");
  app.add_flag("--json", o.json, "Print one JSON report on stdout");
  app.add_option("--junit", o.junit_file, "Also write a JUnit XML report to this file");
  app.add_option("--html", o.html_file,
                 "Also write an HTML report with every step (and, differential, both traces)");
  app.add_flag("-v,--verbose", o.verbose, "Echo every command and response of the card under test");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  o.in_reader = reader->count() > 0;
  return run(o);
}
