// What the command-line tools share (juki-terminal, juki-pki, juki-issuer):
// their exit statuses, a failure and how it is reported, and what a command
// prints, one JSON document (--json) or text. Kept in one place so that the
// tools fail and print alike.
#pragma once

#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <utility>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

namespace juki::host::cli {

// Exit statuses; each tool's --help says what 1 and 3 mean for it.
constexpr int kExitOk = 0;
constexpr int kExitRefused = 1;  // refused, did not verify, the card said no
constexpr int kExitUsage = 2;
constexpr int kExitIo = 3;  // I/O, storage, PC/SC, a card that went away

// Why a command could not do its job, and the exit status that says so.
struct Failure {
  int exit = kExitRefused;
  std::string kind;  // the JSON error's "kind": "usage", "io", "no_service"...
  std::string message;
};

// A usage error (exit 2).
Failure usage(std::string message);

// What a command prints: a JSON document for --json, text otherwise.
struct Output {
  explicit Output(std::string tool_name) : tool(std::move(tool_name)) {}
  std::string tool;  // names the tool in front of a failure's message on stderr
  nlohmann::json doc = nlohmann::json::object();
  std::ostringstream text;
};

// Replaces the output with {"ok": false, "error": {"kind", "message"}} and no
// text, says "TOOL: message" on stderr, and gives f.exit.
int fail(Output& out, const Failure& f);

// Parses the command line: nullopt to go on, else the exit status (0 after
// --help, 2 after a usage error, which CLI11 has printed).
std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv);

// The document (indented by 2, then a newline) or the text, as it is.
void print(const Output& out, bool as_json, std::ostream& to);

// The end of main: prints the output on stdout and gives `code`.
int finish(const Output& out, bool as_json, int code);

}  // namespace juki::host::cli
