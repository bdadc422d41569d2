#include "host_middleware/audit/evidence.hpp"

#include <cstdio>

#include "common/text.hpp"

namespace juki::host::audit {

namespace {

using text::xml_escape;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

std::string milliseconds(double ms) {
  char out[32];
  std::snprintf(out, sizeof out, "%.1f", ms);
  return out;
}

}  // namespace

Result<ControlHeader, std::string> read_control_header(std::string_view text) {
  ControlHeader h;
  std::size_t line_no = 0;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const std::string_view line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++line_no;
    if (line.empty()) continue;
    if (line.front() != '#') break;  // the first directive ends the header
    const std::string_view body = trim(line.substr(1));
    const auto colon = body.find(':');
    if (colon == std::string_view::npos) continue;  // a plain comment
    const std::string_view key = trim(body.substr(0, colon));
    const std::string value(trim(body.substr(colon + 1)));
    auto once = [&](std::string& field) -> Result<void, std::string> {
      if (!field.empty())
        return unexpected("line " + std::to_string(line_no) + ": '" + std::string(key) +
                          "' given twice");
      if (value.empty())
        return unexpected("line " + std::to_string(line_no) + ": '" + std::string(key) +
                          "' without a value");
      field = value;
      return {};
    };
    Result<void, std::string> r;
    if (key == "control")
      r = once(h.id);
    else if (key == "title")
      r = once(h.title);
    else if (key == "card")
      r = once(h.card);
    else if (key == "prepare")
      r = once(h.prepare);
    else if (key == "clause" && !value.empty())
      h.clauses.push_back(value);
    else if (key == "clause")
      r = unexpected("line " + std::to_string(line_no) + ": 'clause' without a value");
    if (!r) return unexpected(r.error());
  }
  if (h.id.empty()) return unexpected(std::string("no '# control:' line in the header"));
  if (h.title.empty()) return unexpected(std::string("no '# title:' line in the header"));
  if (h.clauses.empty()) return unexpected(std::string("no '# clause:' line in the header"));
  return h;
}

const char* to_string(ControlVerdict v) {
  switch (v) {
    case ControlVerdict::pass:
      return "pass";
    case ControlVerdict::fail:
      return "fail";
    case ControlVerdict::not_run:
      return "not run";
  }
  return "?";
}

std::vector<EvidenceStep> steps_of(const script::RunReport& run, double offset_ms) {
  std::vector<EvidenceStep> steps;
  for (const script::TraceEntry& e : run.trace) {
    EvidenceStep s;
    s.at_ms = offset_ms + e.at_ms;
    s.text = (e.file.empty() ? run.source : e.file) + ":" + std::to_string(e.line) +
             (e.section.empty() ? "" : " [" + e.section + "]") + " " + e.what;
    if (!e.actual_meaning.empty()) s.text += " (" + e.actual_meaning + ")";
    s.command = e.command;
    s.response = e.actual;
    s.expected = e.expected;
    s.ok = e.passed;
    steps.push_back(std::move(s));
  }
  return steps;
}

bool AuditReport::passed() const {
  if (!stopped.empty()) return false;
  bool ran = false;
  for (const ControlResult& c : controls) {
    if (c.verdict == ControlVerdict::fail) return false;
    ran = ran || c.verdict == ControlVerdict::pass;
  }
  return ran;
}

nlohmann::json to_json(const AuditReport& r) {
  nlohmann::json controls = nlohmann::json::array();
  for (const ControlResult& c : r.controls) {
    nlohmann::json steps = nlohmann::json::array();
    for (const EvidenceStep& s : c.steps)
      steps.push_back({{"at_ms", s.at_ms},
                       {"text", s.text},
                       {"command", to_hex(s.command)},
                       {"response", to_hex(s.response)},
                       {"expected", s.expected},
                       {"ok", s.ok}});
    controls.push_back({{"id", c.id},
                        {"title", c.title},
                        {"clauses", c.clauses},
                        {"verdict", to_string(c.verdict)},
                        {"reason", c.reason},
                        {"card", c.card},
                        {"serial", c.serial},
                        {"life_cycle", c.life_cycle},
                        {"started_at", c.started_at},
                        {"duration_ms", c.duration_ms},
                        {"steps", std::move(steps)}});
  }
  return {{"tool", r.tool},
          {"started_at", r.started_at},
          {"finished_at", r.finished_at},
          {"reader", r.reader},
          {"test_card_confirmation", r.test_card_confirmation},
          {"passed", r.passed()},
          {"stopped", r.stopped.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.stopped)},
          {"controls", std::move(controls)}};
}

std::string to_html(const AuditReport& r) {
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<title>Lockout audit</title>\n<style>\n"
      "body{font-family:sans-serif;margin:2em}\n"
      "table{border-collapse:collapse;margin-bottom:1.5em}\n"
      "td,th{border:1px solid #bbb;padding:2px 6px;text-align:left;vertical-align:top}\n"
      "td.hex{font-family:monospace;word-break:break-all;max-width:32em}\n"
      ".pass{background:#e6f4e6}.fail{background:#f8d7d7}.notrun{background:#eee}\n"
      "h2{page-break-before:always}\n"
      "</style>\n</head>\n<body>\n<h1>Lockout audit of a Juki card</h1>\n";
  std::size_t run = 0, failed = 0;
  for (const ControlResult& c : r.controls) {
    run += c.verdict == ControlVerdict::not_run ? 0 : 1;
    failed += c.verdict == ControlVerdict::fail ? 1 : 0;
  }
  out += "<table>\n<tr><th>tool</th><td>" + xml_escape(r.tool) +
         "</td></tr>\n<tr><th>started</th><td>" + xml_escape(r.started_at) +
         "</td></tr>\n<tr><th>finished</th><td>" + xml_escape(r.finished_at) +
         "</td></tr>\n<tr><th>reader</th><td>" + xml_escape(r.reader) +
         "</td></tr>\n<tr><th>test cards confirmed</th><td>" +
         xml_escape(r.test_card_confirmation) + "</td></tr>\n<tr><th>verdict</th><td>" +
         (!r.stopped.empty() ? "stopped: " + xml_escape(r.stopped) + "; " : std::string()) +
         (r.passed() ? "every control run passed"
          : run == 0 ? "no control ran"
                     : std::to_string(failed) + " control(s) failed") +
         " (" + std::to_string(run) + " of " + std::to_string(r.controls.size()) +
         " controls run)</td></tr>\n</table>\n";
  out +=
      "<table>\n<tr><th>control</th><th>what it proves</th><th>clauses</th><th>verdict</th></tr>\n";
  for (std::size_t i = 0; i < r.controls.size(); ++i) {
    const ControlResult& c = r.controls[i];
    const char* cls = c.verdict == ControlVerdict::pass   ? "pass"
                      : c.verdict == ControlVerdict::fail ? "fail"
                                                          : "notrun";
    std::string clauses;
    for (const std::string& clause : c.clauses)
      clauses += (clauses.empty() ? "" : "<br>") + xml_escape(clause);
    out += std::string("<tr class=\"") + cls + "\"><td><a href=\"#c" + std::to_string(i) + "\">" +
           xml_escape(c.id) + "</a></td><td>" + xml_escape(c.title) + "</td><td>" + clauses +
           "</td><td>" + to_string(c.verdict) +
           (c.reason.empty() ? "" : ": " + xml_escape(c.reason)) + "</td></tr>\n";
  }
  out += "</table>\n";

  for (std::size_t i = 0; i < r.controls.size(); ++i) {
    const ControlResult& c = r.controls[i];
    out += "<h2 id=\"c" + std::to_string(i) + "\">" + xml_escape(c.id) + ": " +
           to_string(c.verdict) + "</h2>\n<p>" + xml_escape(c.title) + "</p>\n<ul>\n";
    for (const std::string& clause : c.clauses) out += "<li>" + xml_escape(clause) + "</li>\n";
    out += "</ul>\n";
    if (!c.reason.empty()) out += "<p><b>" + xml_escape(c.reason) + "</b></p>\n";
    if (c.verdict == ControlVerdict::not_run) continue;
    out += "<p>Card: " + xml_escape(c.card) + "; serial " + xml_escape(c.serial) +
           "; life cycle before the control " + xml_escape(c.life_cycle) + ". Started " +
           xml_escape(c.started_at) + ", " + milliseconds(c.duration_ms) + " ms.</p>\n";
    out +=
        "<table>\n<tr><th>ms</th><th>step</th><th>command</th><th>expected</th><th>answer</th>"
        "<th></th></tr>\n";
    for (const EvidenceStep& s : c.steps) {
      const char* cls = s.expected.empty() ? "" : s.ok ? " class=\"pass\"" : " class=\"fail\"";
      out += std::string("<tr") + cls + "><td>" + milliseconds(s.at_ms) + "</td><td>" +
             xml_escape(s.text) + "</td><td class=\"hex\">" + to_hex(s.command, true) +
             "</td><td class=\"hex\">" + xml_escape(s.expected) + "</td><td class=\"hex\">" +
             to_hex(s.response, true) + "</td><td>" +
             (s.expected.empty() ? ""
              : s.ok             ? "ok"
                                 : "FAIL") +
             "</td></tr>\n";
    }
    out += "</table>\n";
  }
  return out + "</body>\n</html>\n";
}

}  // namespace juki::host::audit
