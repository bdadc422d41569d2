#include "host_middleware/script/differential.hpp"

namespace juki::host::script {

namespace {

// True when the pattern lets cards differ somewhere: "..", "*" or an X nibble.
bool leaves_free(const std::string& pattern_text) {
  auto pattern = Pattern::parse(pattern_text);
  if (!pattern) return false;
  for (const auto& e : pattern->elements())
    if (e.kind != Pattern::Element::Kind::byte || e.mask != 0xFF) return true;
  return false;
}

// The same step of the script. Not the command's bytes: an `auth` proof is
// computed from each card's own challenge.
bool same_step(const TraceEntry& a, const TraceEntry& b) {
  return a.file == b.file && a.line == b.line && a.what == b.what;
}

std::string where(const std::string& source, const std::string& file, std::size_t line) {
  return (file.empty() ? source : file) + ":" + std::to_string(line);
}

std::string stop_reason(const RunReport& r) {
  return r.aborted ? "stopped at " + where(r.source, r.aborted->file, r.aborted->line) + ": " +
                         r.aborted->message
                   : "ran to the end";
}

}  // namespace

Comparison compare(const RunReport& reference, const RunReport& candidate) {
  Comparison c;
  c.source = reference.source;
  c.reference_transport = reference.transport;
  c.candidate_transport = candidate.transport;
  const auto& a = reference.trace;
  const auto& b = candidate.trace;
  std::size_t i = 0;
  auto stopped = [](const TraceEntry& e) { return e.what.rfind("stopped: ", 0) == 0; };
  auto part = [&] {
    c.diverged_at = i;
    c.diverged =
        "the reference " + stop_reason(reference) + "; the candidate " + stop_reason(candidate);
  };
  for (; i < a.size() && i < b.size(); ++i) {
    if (stopped(a[i]) && stopped(b[i]) && a[i].what == b[i].what) continue;  // ended alike
    if (stopped(a[i]) || stopped(b[i])) {
      part();
      return c;
    }
    if (!same_step(a[i], b[i])) {
      c.diverged_at = i;
      c.diverged = "the runs took different steps at " + where(c.source, a[i].file, a[i].line) +
                   " (reference: " + a[i].what + ", candidate " +
                   where(c.source, b[i].file, b[i].line) + ": " + b[i].what + ")";
      return c;
    }
    if (a[i].expected.empty()) continue;  // nothing was checked here
    ++c.compared;
    if (a[i].actual == b[i].actual) continue;
    // Both within the pattern, and the pattern leaves room: free to differ.
    if (a[i].passed && b[i].passed && leaves_free(a[i].expected)) continue;
    c.differences.push_back(Difference{i, a[i].file, a[i].line, a[i].section, a[i].what,
                                       a[i].command, a[i].expected, a[i].actual, b[i].actual,
                                       a[i].actual_meaning, b[i].actual_meaning});
  }
  if (a.size() != b.size() || reference.aborted.has_value() != candidate.aborted.has_value())
    part();
  return c;
}

nlohmann::json to_json(const Comparison& c) {
  nlohmann::json differences = nlohmann::json::array();
  for (const Difference& d : c.differences)
    differences.push_back({{"file", d.file.empty() ? c.source : d.file},
                           {"line", d.line},
                           {"section", d.section},
                           {"what", d.what},
                           {"command", to_hex(d.command)},
                           {"expected", d.expected},
                           {"reference", to_hex(d.reference)},
                           {"reference_meaning", d.reference_meaning},
                           {"candidate", to_hex(d.candidate)},
                           {"candidate_meaning", d.candidate_meaning}});
  return {{"source", c.source},
          {"reference_transport", c.reference_transport},
          {"candidate_transport", c.candidate_transport},
          {"same", c.same()},
          {"compared", c.compared},
          {"differences", std::move(differences)},
          {"diverged", c.diverged ? nlohmann::json(*c.diverged) : nlohmann::json(nullptr)}};
}

std::string to_text(const Comparison& c) {
  std::string out;
  auto answer = [](const Bytes& bytes, const std::string& meaning) {
    std::string s = bytes.empty() ? std::string("nothing") : to_hex(bytes, true);
    return meaning.empty() ? s : s + " (" + meaning + ")";
  };
  for (const Difference& d : c.differences) {
    out += where(c.source, d.file, d.line) + ": ";
    if (!d.section.empty()) out += "[" + d.section + "] ";
    out += d.what + " differs: ";
    if (!d.command.empty()) out += "> " + to_hex(d.command, true) + " ";
    out += "expected " + d.expected + "; reference " + answer(d.reference, d.reference_meaning) +
           "; candidate " + answer(d.candidate, d.candidate_meaning) + "\n";
  }
  if (c.diverged) out += c.source + ": " + *c.diverged + "\n";
  out += c.source + ": " + std::to_string(c.compared) + " steps compared, " +
         std::to_string(c.differences.size()) +
         (c.differences.size() == 1 ? " difference" : " differences") + "\n";
  return out;
}

}  // namespace juki::host::script
