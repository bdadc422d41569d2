// Runs a parsed script over a Transport and reports what did not match.
#include <chrono>
#include <utility>

#include "common/iso7816/status_words.hpp"
#include "common/utc_time.hpp"
#include "host_middleware/script/script.hpp"
#include "host_middleware/session/personalization_session.hpp"

namespace juki::host::script {

namespace {

std::string meaning_of(ByteView response) {
  if (response.size() < 2) return "no status word (response shorter than 2 bytes)";
  return sw::meaning(load_be16(&response[response.size() - 2]));
}

std::string key_ref_text(std::uint8_t ref) {
  return to_hex(ByteView(&ref, 1));
}

class Runner {
 public:
  Runner(const Script& script, Transport& transport, const RunOptions& options)
      : script_(script), transport_(transport), options_(options) {
    report_.source = script.source;
    report_.transport = transport.describe();
  }

  RunReport run() {
    report_.started_at = utc_now_iso8601();
    started_ = std::chrono::steady_clock::now();
    // The ATR the card gave before the script started (`atr` before any reset).
    atr_ = transport_.atr();
    for (const Step& step : script_.steps) {
      line_ = step.line;
      file_ = step.file;
      std::visit([this](const auto& action) { do_step(action); }, step.action);
      if (report_.aborted) break;
    }
    report_.duration_ms = elapsed_ms();
    return std::move(report_);
  }

 private:
  void say(const std::string& text) {
    if (options_.echo)
      options_.echo((file_.empty() ? script_.source : file_) + ":" + std::to_string(line_) + ": " +
                    text);
  }

  double elapsed_ms() const {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started_)
        .count();
  }
  // Records a step that compared nothing (a reset, a section, a session).
  void trace(std::string what, ByteView actual = {}) {
    TraceEntry e;
    e.file = file_;
    e.line = line_;
    e.section = section_;
    e.what = std::move(what);
    e.actual.assign(actual.begin(), actual.end());
    e.at_ms = elapsed_ms();
    report_.trace.push_back(std::move(e));
  }

  void stop(std::string message) {
    say("stopped: " + message);
    trace("stopped: " + message);
    report_.aborted = Abort{file_, line_, section_, std::move(message)};
  }

  // Compares one response or ATR with its pattern and records the outcome.
  bool check(const Pattern& expected, ByteView actual, std::string what, ByteView command,
             bool has_sw) {
    ++report_.checks;
    TraceEntry e;
    e.file = file_;
    e.line = line_;
    e.section = section_;
    e.what = what;
    e.command.assign(command.begin(), command.end());
    e.expected = expected.to_string();
    e.actual.assign(actual.begin(), actual.end());
    e.actual_meaning = has_sw ? meaning_of(actual) : std::string();
    e.passed = expected.matches(actual);
    e.at_ms = elapsed_ms();
    report_.trace.push_back(e);
    if (e.passed) {
      ++report_.passed;
      return true;
    }
    say("MISMATCH (" + what + "): expected " + expected.to_string());
    report_.mismatches.push_back(Mismatch{file_, line_, section_, std::move(what),
                                          Bytes(command.begin(), command.end()),
                                          expected.to_string(), Bytes(actual.begin(), actual.end()),
                                          has_sw ? meaning_of(actual) : std::string()});
    return false;
  }

  // Sends one command and checks its response; nullopt when the response did
  // not come (transport error: the run stops) or did not match.
  std::optional<Bytes> exchange(ByteView command, const Pattern& expected, std::string what) {
    const bool protected_command = session_ && session_->active();
    say("> " + to_hex(command, true) + (protected_command ? "  (protected)" : ""));
    ++report_.commands;
    auto response = protected_command ? session_->transmit(command) : transport_.transmit(command);
    if (!response) {
      stop("transport error: " + response.error().message);
      return std::nullopt;
    }
    say("< " + to_hex(*response, true) + "  (" + meaning_of(*response) + ")");
    if (!check(expected, *response, std::move(what), command, true)) return std::nullopt;
    return std::move(*response);
  }

  void do_step(const Section& s) {
    section_ = s.title;
    say("== " + s.title);
    trace("section");
  }

  void do_step(const Exchange& e) { exchange(e.command, e.expected, "response"); }

  void do_step(const Reset&) {
    session_.reset();
    new_atr("reset", transport_.reset());
  }
  void do_step(const PowerCycle&) {
    session_.reset();
    new_atr("power-cycle", transport_.power_cycle());
  }
  void do_step(const EndSession&) {
    if (session_) say("end-session");
    if (session_) trace("end-session");
    session_.reset();
  }

  void new_atr(const std::string& what, Result<Bytes, TransportError> atr) {
    if (!atr) return stop("transport error: " + what + ": " + atr.error().message);
    atr_ = std::move(*atr);
    say(what + ": ATR " + to_hex(atr_, true));
    trace(what, atr_);
  }

  void do_step(const AtrCheck& a) {
    say("atr: " + to_hex(atr_, true));
    check(a.expected, atr_, "ATR", {}, false);
  }

  void do_step(const Auth& a) {
    const std::string name = (a.session ? "session " : "auth ") + key_ref_text(a.key_ref);
    // A proof goes plain, and ends any session the runner had: under an
    // issuance key the card would replace it with keys the runner has not.
    if (session_) say("end-session (before " + name + ")");
    session_.reset();
    // GET CHALLENGE for 16 bytes; the answer must be exactly 16 bytes + 9000.
    static const Bytes kGetChallenge{0x00, 0x84, 0x00, 0x00, 0x10};
    static const Pattern kChallenge = [] {
      std::string text;
      for (int i = 0; i < 16; ++i) text += ".. ";
      return *Pattern::parse(text + "9000");
    }();
    auto challenge = exchange(kGetChallenge, kChallenge, "GET CHALLENGE (" + name + ")");
    if (!challenge) return;  // nothing to answer: the mismatch is recorded
    challenge->resize(16);
    auto proof = session::issuance_key_proof(a.key, *challenge);
    if (!proof) return stop("AES-CMAC failed: " + proof.error().message);
    Bytes command{0x00, 0x82, 0x00, a.key_ref, 0x10};
    command.insert(command.end(), proof->begin(), proof->end());
    auto answer = exchange(command, a.expected, "EXTERNAL AUTHENTICATE (" + name + ")");
    if (!a.session || !answer || answer->size() != 2 || (*answer)[0] != 0x90 ||
        (*answer)[1] != 0x00)
      return;
    auto keys = session::personalization_keys(a.key, *challenge);
    if (!keys) return stop("session keys: " + keys.error().message);
    session_ = std::make_unique<session::SmTransport>(transport_, std::move(*keys));
    say("session open: the commands that follow are protected");
    trace("session open");
  }

  const Script& script_;
  Transport& transport_;
  // The personalization session a `session` directive opened, if any.
  std::unique_ptr<session::SmTransport> session_;
  const RunOptions& options_;
  RunReport report_;
  std::chrono::steady_clock::time_point started_;
  std::size_t line_ = 0;
  std::string file_;  // the included file of the current step, if any
  std::string section_;
  Bytes atr_;
};

}  // namespace

RunReport run(const Script& script, Transport& transport, const RunOptions& options) {
  return Runner(script, transport, options).run();
}

nlohmann::json to_json(const RunReport& r) {
  nlohmann::json mismatches = nlohmann::json::array();
  for (const Mismatch& m : r.mismatches) {
    mismatches.push_back({{"file", m.file.empty() ? r.source : m.file},
                          {"line", m.line},
                          {"section", m.section},
                          {"what", m.what},
                          {"command", to_hex(m.command)},
                          {"expected", m.expected},
                          {"actual", to_hex(m.actual)},
                          {"actual_meaning", m.actual_meaning}});
  }
  nlohmann::json aborted = nullptr;
  if (r.aborted)
    aborted = {{"file", r.aborted->file.empty() ? r.source : r.aborted->file},
               {"line", r.aborted->line},
               {"section", r.aborted->section},
               {"message", r.aborted->message}};
  return {{"source", r.source},
          {"transport", r.transport},
          {"ok", r.ok()},
          {"commands", r.commands},
          {"checks", r.checks},
          {"passed", r.passed},
          {"failed", r.mismatches.size()},
          {"mismatches", std::move(mismatches)},
          {"aborted", std::move(aborted)}};
}

std::string to_text(const RunReport& r) {
  auto where = [&](const std::string& file, std::size_t line, const std::string& section) {
    std::string out = (file.empty() ? r.source : file) + ":" + std::to_string(line) + ": ";
    if (!section.empty()) out += "[" + section + "] ";
    return out;
  };
  std::string out;
  for (const Mismatch& m : r.mismatches) {
    out += where(m.file, m.line, m.section) + m.what + " mismatch: ";
    if (!m.command.empty()) out += "> " + to_hex(m.command, true) + " ";
    out += "expected " + m.expected + ", got " +
           (m.actual.empty() ? "nothing" : to_hex(m.actual, true));
    if (!m.actual_meaning.empty()) out += " (" + m.actual_meaning + ")";
    out += '\n';
  }
  if (r.aborted)
    out += where(r.aborted->file, r.aborted->line, r.aborted->section) + r.aborted->message + "\n";
  out += r.source + ": " + std::to_string(r.passed) + " passed, " +
         std::to_string(r.mismatches.size()) + " failed (" + std::to_string(r.commands) +
         (r.commands == 1 ? " command)" : " commands)");
  if (r.aborted) out += ", stopped early";
  return out + '\n';
}

}  // namespace juki::host::script
