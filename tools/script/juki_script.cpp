// juki-script: runs APDU scripts (specs/apdu-script.md) against a fresh blank
// in-process card per file. Exit: 0 all passed, 1 mismatches or a transport
// error, 2 usage, I/O or parse error (then nothing runs).
#include <CLI/CLI.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "host_middleware/script/report.hpp"
#include "host_middleware/script/script.hpp"
#include "simulator/blank_card.hpp"

namespace {

using namespace juki;
namespace script = juki::host::script;

// The in-process card's transport key unless --transport-key is given; also
// written in specs/apdu-script.md. A test key: never on a real card.
constexpr const char* kDefaultTransportKey = "404142434445464748494A4B4C4D4E4F";
const Bytes kSerial{0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};

constexpr int kExitOk = 0;
constexpr int kExitMismatch = 1;
constexpr int kExitUsage = 2;

// Runs one script on a blank card made for it. The card's random stream is
// seeded with the file's name (not its path) so a run is reproducible from
// any directory.
std::optional<script::RunReport> run_on_blank_card(const script::Script& s, const Bytes& key,
                                                   const script::RunOptions& options) {
  card_os::FactoryProfile profile;
  profile.transport_key = key;
  profile.serial = kSerial;
  const std::string seed = std::filesystem::path(s.source).filename().string();
  auto card = juki::sim::BlankCardInMemory::make(profile, as_bytes(seed));
  if (!card) {
    std::cerr << "juki-script: " << s.source << ": " << card.error() << "\n";
    return std::nullopt;
  }
  return script::run(s, (*card)->transport(), options);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Runs APDU scripts (specs/apdu-script.md) against a fresh blank in-process card per file.\n"
      "Exit status: 0 all passed, 1 mismatches or transport error, 2 usage/IO/parse error.",
      "juki-script"};
  bool json = false;
  bool verbose = false;
  std::string key_hex = kDefaultTransportKey;
  std::vector<std::string> files;
  std::string junit_file, html_file;
  app.add_flag("--json", json, "Print one JSON report on stdout (echo goes to stderr)");
  app.add_option("--junit", junit_file,
                 "Also write a JUnit XML report to this file (a testcase per section)");
  app.add_option("--html", html_file,
                 "Also write an HTML report with every step of every script to this file");
  app.add_flag("-v,--verbose", verbose, "Echo every command and response with its status word");
  app.add_option("--transport-key", key_hex,
                 "AES transport key of the blank card, hex (default: the test key " +
                     std::string(kDefaultTransportKey) + ")");
  app.add_option("FILE", files, "APDU script files")->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }

  auto key = from_hex(key_hex);
  if (!key || (key->size() != 16 && key->size() != 24 && key->size() != 32)) {
    std::cerr << "juki-script: --transport-key must be 16, 24 or 32 bytes of hex\n";
    return kExitUsage;
  }

  // Read and parse every file before running any: a typo in the last file
  // should not cost a full run of the others.
  std::vector<script::Script> scripts;
  nlohmann::json parse_errors = nlohmann::json::array();
  bool failed = false;
  for (const std::string& file : files) {
    auto parsed = script::parse_file(file);
    if (!parsed) {
      std::cerr << script::format(parsed.error(), file) << "\n";
      parse_errors.push_back(
          {{"source", file}, {"line", parsed.error().line}, {"message", parsed.error().message}});
      failed = true;
      continue;
    }
    scripts.push_back(std::move(*parsed));
  }
  if (failed) {
    if (json) std::cout << nlohmann::json{{"ok", false}, {"errors", parse_errors}}.dump(2) << "\n";
    return kExitUsage;
  }

  std::ostream& echo_out = json ? std::cerr : std::cout;
  script::RunOptions options;
  if (verbose) options.echo = [&](std::string_view line) { echo_out << line << "\n"; };

  nlohmann::json reports = nlohmann::json::array();
  std::vector<script::RunReport> runs;
  std::size_t passed = 0, mismatched = 0, commands = 0;
  bool all_ok = true;
  for (const script::Script& s : scripts) {
    auto report = run_on_blank_card(s, *key, options);
    if (!report) return kExitUsage;
    runs.push_back(*report);
    passed += report->passed;
    mismatched += report->mismatches.size();
    commands += report->commands;
    all_ok = all_ok && report->ok();
    if (json)
      reports.push_back(script::to_json(*report));
    else
      std::cout << script::to_text(*report);
  }
  // The reports are written whatever the verdict: a failed run is the one
  // whose report is read.
  for (const auto& [path, text] :
       {std::pair{junit_file, junit_file.empty() ? "" : script::to_junit(runs, "juki-script")},
        std::pair{html_file,
                  html_file.empty() ? "" : script::to_html(runs, "juki-script: APDU scripts")}}) {
    if (path.empty()) continue;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) {
      std::cerr << "juki-script: cannot write " << path << ": " << std::strerror(errno) << "\n";
      return kExitUsage;
    }
  }
  if (json) {
    std::cout << nlohmann::json{{"ok", all_ok},
                                {"passed", passed},
                                {"failed", mismatched},
                                {"commands", commands},
                                {"files", reports}}
                     .dump(2)
              << "\n";
  } else {
    std::cout << "total: " << passed << " passed, " << mismatched << " failed (" << commands
              << (commands == 1 ? " command)" : " commands)") << (all_ok ? "" : " -- FAILED")
              << "\n";
  }
  return all_ok ? kExitOk : kExitMismatch;
}
