// The lockout audit's controls and its evidence (specs/audit.md): what a
// control script declares in its header (the control, the clauses it proves,
// the card it needs), the result of each control with every step it took,
// and the report an auditor files: one self-contained HTML page, and JSON.
// No I/O: the tool reads the files, runs the card and writes the report.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/bytes.hpp"
#include "common/result.hpp"
#include "host_middleware/script/script.hpp"

namespace juki::host::audit {

// The header of a control script: `# key: value` comment lines before its
// first directive. `control`, `title` and at least one `clause` are required;
// `clause` may repeat; `card` says what card the control needs; `prepare`
// names the script (relative to the control) that makes that card from a
// blank one.
struct ControlHeader {
  std::string id;
  std::string title;
  std::vector<std::string> clauses;
  std::string card;
  std::string prepare;
};
Result<ControlHeader, std::string> read_control_header(std::string_view script_text);

enum class ControlVerdict : std::uint8_t { pass, fail, not_run };
const char* to_string(ControlVerdict v);

// One thing a control did, in order: a command and the card's answer (with
// what was expected), a reset, or a step the tool took (a tear armed, the
// card pulled, a wait).
struct EvidenceStep {
  double at_ms = 0;  // since the control started
  std::string text;  // "password.apdu:17 [section] response", "tear armed at write 2"
  Bytes command;
  Bytes response;
  std::string expected;  // empty when nothing was compared
  bool ok = true;
};

// The steps of a script run, as evidence (`offset_ms` is when the run
// started, since the control started).
std::vector<EvidenceStep> steps_of(const script::RunReport& run, double offset_ms);

struct ControlResult {
  std::string id;
  std::string title;
  std::vector<std::string> clauses;
  ControlVerdict verdict = ControlVerdict::not_run;
  std::string reason;      // why it failed or did not run; empty on a pass
  std::string card;        // the card's transport, as connected
  std::string serial;      // as the card gave it (hex), or "(blank: unreadable)"
  std::string life_cycle;  // as the card gave it before the control
  std::string started_at;  // UTC, ISO 8601
  double duration_ms = 0;
  std::vector<EvidenceStep> steps;
};

struct AuditReport {
  std::string tool;                    // "juki-audit card"
  std::string started_at;              // UTC, ISO 8601
  std::string finished_at;             // UTC, ISO 8601
  std::string reader;                  // the reader, or "in-process"
  std::string test_card_confirmation;  // how the cards were confirmed as test cards
  std::vector<ControlResult> controls;
  std::string stopped;  // why the audit stopped before its last control; empty if it did not

  // At least one control ran, every control that ran passed, and the audit
  // was not stopped (controls not run do not fail it: the report lists them
  // with the reason; but an audit that ran none proves nothing).
  bool passed() const;
};

std::string to_html(const AuditReport& report);
nlohmann::json to_json(const AuditReport& report);

}  // namespace juki::host::audit
