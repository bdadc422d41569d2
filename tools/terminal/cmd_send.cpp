// juki-terminal send and script: command APDUs given in hex, or APDU scripts
// (specs/apdu-script.md), against the card.
#include "tools/terminal/terminal_cli.hpp"

#include <iostream>
#include <string_view>

#include "host_middleware/script/script.hpp"

namespace juki::terminal_cli {

namespace script = juki::host::script;

int cmd_send(const Globals& g, Output& out, const std::vector<std::string>& apdus) {
  auto commands = parse_apdus(apdus);
  if (!commands) return fail(out, commands.error());
  auto opened = open_session(g, false);
  if (!opened) return fail(out, opened.error());
  Session& s = **opened;
  json exchanges = json::array();
  bool all_ok = true;
  for (const Bytes& c : *commands) {
    auto sw = exchange_and_print(s, s.t(), c, out, exchanges);
    if (!sw) return fail_keeping(out, sw.error(), exchanges);
    all_ok = all_ok && card_said_yes(*sw);
  }
  out.doc = {{"ok", all_ok}, {"transport", s.t().describe()}, {"exchanges", std::move(exchanges)}};
  return all_ok ? kExitOk : kExitCardSaidNo;
}

int cmd_script(const Globals& g, Output& out, const std::vector<std::string>& files, bool verbose) {
  std::vector<script::Script> scripts;
  json errors = json::array();
  for (const std::string& file : files) {
    auto parsed = script::parse_file(file);
    if (!parsed) {
      std::cerr << script::format(parsed.error(), file) << "\n";
      errors.push_back(
          {{"source", file}, {"line", parsed.error().line}, {"message", parsed.error().message}});
      continue;
    }
    scripts.push_back(std::move(*parsed));
  }
  if (!errors.empty()) {
    out.doc = {{"ok", false}, {"errors", std::move(errors)}};
    return kExitUsage;
  }
  auto opened = open_session(g, false);
  if (!opened) return fail(out, opened.error());
  Session& s = **opened;

  script::RunOptions options;
  if (verbose) options.echo = [](std::string_view line) { std::cerr << line << "\n"; };
  json reports = json::array();
  std::size_t passed = 0, mismatched = 0, commands = 0;
  bool aborted = false;
  // Every file runs against the same card, one after the other: the
  // conformance scripts each expect a blank card with the test transport key,
  // which is the operator's to provide.
  for (const script::Script& sc : scripts) {
    const script::RunReport report = script::run(sc, s.t(), options);
    passed += report.passed;
    mismatched += report.mismatches.size();
    commands += report.commands;
    aborted = aborted || report.aborted.has_value();
    reports.push_back(script::to_json(report));
    out.text << script::to_text(report);
  }
  const bool ok = mismatched == 0 && !aborted;
  out.doc = {{"ok", ok},
             {"transport", s.t().describe()},
             {"passed", passed},
             {"failed", mismatched},
             {"commands", commands},
             {"files", std::move(reports)}};
  out.text << "total: " << passed << " passed, " << mismatched << " failed (" << commands
           << (commands == 1 ? " command)" : " commands)") << (ok ? "" : " -- FAILED") << "\n";
  if (aborted) return kExitTransport;
  return ok ? kExitOk : kExitCardSaidNo;
}

}  // namespace juki::terminal_cli
