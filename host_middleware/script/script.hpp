// APDU scripts: the plain-text conformance format of specs/apdu-script.md
// (commands with expected response patterns, resets, ATR checks, AES-CMAC
// challenge-response), its parser and a runner over any Transport.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/bytes.hpp"
#include "common/result.hpp"
#include "common/transport.hpp"

namespace juki::host::script {

// An expected response or ATR: bytes where a nibble may be X, ".." (any one
// byte) and "*" (any run of bytes, possibly empty). Otherwise exact, length
// included.
class Pattern {
 public:
  struct Element {
    enum class Kind : std::uint8_t { byte, any_byte, any_run };
    Kind kind = Kind::byte;
    std::uint8_t value = 0;    // for Kind::byte: compared under mask
    std::uint8_t mask = 0xFF;  // 0xF0 for "6X"...: the X nibbles are 0 here
    bool operator==(const Element&) const = default;
  };

  // Parses pattern text (no variables: those are the script parser's).
  static Result<Pattern, std::string> parse(std::string_view text);
  // A pattern matching exactly these bytes.
  static Pattern exact(ByteView bytes);

  bool matches(ByteView actual) const;
  // Canonical text, which parses back to the same pattern: "63CX", "* 9000",
  // "6F .. 9000".
  std::string to_string() const;

  const std::vector<Element>& elements() const { return elements_; }
  bool operator==(const Pattern&) const = default;

 private:
  std::vector<Element> elements_;
};

// `> HEX` followed by `< PATTERN`.
struct Exchange {
  Bytes command;
  Pattern expected;
};
// `== TITLE`
struct Section {
  std::string title;
};
// `reset`: warm reset.
struct Reset {};
// `power-cycle`: cold reset.
struct PowerCycle {};
// `atr PATTERN`: checks the ATR of the last reset or power-up.
struct AtrCheck {
  Pattern expected;
};
// `auth KEYREF KEY [expect PATTERN]`: GET CHALLENGE, then EXTERNAL
// AUTHENTICATE with AES-CMAC(KEY, challenge). `session KEYREF KEY [expect
// PATTERN]` is the same and, when the card answers 9000, opens the
// personalization session (specs/secure-channel.md 6): the commands after it
// travel protected.
struct Auth {
  std::uint8_t key_ref = 0;
  Bytes key;         // 16, 24 or 32 bytes
  Pattern expected;  // for the EXTERNAL AUTHENTICATE response; default 9000
  bool session = false;
};
// `end-session`: the runner forgets the session's keys; later commands go plain.
struct EndSession {};

using Action = std::variant<Exchange, Section, Reset, PowerCycle, AtrCheck, Auth, EndSession>;

struct Step {
  std::size_t line = 0;  // 1-based line of the directive (the `>` line for an exchange)
  Action action;
  std::string file;  // the included file it came from; empty: the script itself
};

struct Script {
  std::string source;  // file name, for reports
  std::vector<Step> steps;
};

struct ParseError {
  std::size_t line = 0;  // 1-based; 0 when the error is not tied to a line
  std::string message;
};

// Reads the text of `include PATH` (PATH as written, relative to the
// including script); an error message when it cannot.
using IncludeLoader = std::function<Result<std::string, std::string>(const std::string& path)>;

// Variables by name (`set NAME HEX`, `$NAME`).
using Variables = std::map<std::string, Bytes, std::less<>>;

// Parses a whole script; the first error stops parsing (nothing runs).
// `include` directives need a loader (without one they are an error).
// `fixed` variables are set before the first line and keep their values
// whatever a `set` says: a card's own keys given on the command line
// (juki-conformance --set TK=...) in place of the test keys the scripts name.
Result<Script, ParseError> parse(std::string_view text, std::string source_name,
                                 const IncludeLoader& loader = {}, const Variables& fixed = {});
// Reads and parses a script file; includes are resolved relative to it.
Result<Script, ParseError> parse_file(const std::string& path, const Variables& fixed = {});
// "source:line: message", the way compilers print it.
std::string format(const ParseError& error, std::string_view source_name);

// --- Running -------------------------------------------------------------

struct RunOptions {
  // Called with one line of text per event (command, response with its status
  // word meaning, reset, section, mismatch) when set: the verbose echo.
  std::function<void(std::string_view line)> echo;
};

struct Mismatch {
  std::string file;  // set when the step came from an included file
  std::size_t line = 0;
  std::string section;         // empty before the first `==`
  std::string what;            // "response", "ATR", "GET CHALLENGE (auth 01)", ...
  Bytes command;               // empty for an ATR check
  std::string expected;        // the pattern, canonical text
  Bytes actual;                // the response (or ATR) received
  std::string actual_meaning;  // sw::meaning of its SW1 SW2 (empty for an ATR)
};

// One step of a run as it happened, for the reports that show every step
// (JUnit, HTML): a command and its response, an ATR, a reset, a section.
struct TraceEntry {
  std::string file;  // set when the step came from an included file
  std::size_t line = 0;
  std::string section;
  std::string what;            // "response", "ATR", "reset", "power-cycle", "section", ...
  Bytes command;               // empty unless an APDU was sent
  std::string expected;        // the pattern, canonical text; empty when nothing was compared
  Bytes actual;                // the response or ATR
  std::string actual_meaning;  // sw::meaning of its SW1 SW2 (responses only)
  bool passed = true;          // false for a mismatch
  double at_ms = 0;            // since the run started
};

// Why a run stopped before the end of the script.
struct Abort {
  std::string file;  // set when the step came from an included file
  std::size_t line = 0;
  std::string section;
  std::string message;  // "transport error: card is mute (power lost)"
};

struct RunReport {
  std::string source;
  std::string transport;             // Transport::describe()
  std::size_t commands = 0;          // APDUs sent
  std::size_t checks = 0;            // responses and ATRs compared with a pattern
  std::size_t passed = 0;            // checks that matched
  std::vector<Mismatch> mismatches;  // checks that did not (passed + size == checks)
  std::optional<Abort> aborted;
  std::vector<TraceEntry> trace;  // every step, in order
  std::string started_at;         // UTC, ISO 8601 ("2026-12-07T10:36:53Z")
  double duration_ms = 0;

  bool ok() const { return mismatches.empty() && !aborted; }
};

RunReport run(const Script& script, Transport& transport, const RunOptions& options = {});

// Machine-readable report (schema in specs/apdu-script.md).
nlohmann::json to_json(const RunReport& report);
// Human report: one line per mismatch, the abort if any, then the summary
// line "source: N passed, M failed (C commands)".
std::string to_text(const RunReport& report);

}  // namespace juki::host::script
