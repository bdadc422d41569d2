#include "host_middleware/script/report.hpp"

#include <algorithm>
#include <cstdio>
#include <vector>

#include "common/text.hpp"

namespace juki::host::script {

namespace {

using text::xml_escape;

std::string seconds(double ms) {
  char out[32];
  std::snprintf(out, sizeof out, "%.3f", ms / 1000.0);
  return out;
}

std::string where(const RunReport& r, const TraceEntry& e) {
  return (e.file.empty() ? r.source : e.file) + ":" + std::to_string(e.line);
}

// A mismatch as one line: where, what, the command, expected and actual.
std::string describe(const RunReport& r, const TraceEntry& e) {
  std::string out = where(r, e) + ": " + e.what + " mismatch: ";
  if (!e.command.empty()) out += "> " + to_hex(e.command, true) + " ";
  out += "expected " + e.expected + ", got " +
         (e.actual.empty() ? std::string("nothing") : to_hex(e.actual, true));
  if (!e.actual_meaning.empty()) out += " (" + e.actual_meaning + ")";
  return out;
}

// The steps of a run cut at its sections: a case per section.
struct Case {
  std::string name;
  std::vector<const TraceEntry*> steps;
  double from_ms = 0, to_ms = 0;
};

std::vector<Case> cases_of(const RunReport& r) {
  std::vector<Case> cases;
  for (const TraceEntry& e : r.trace) {
    if (e.what == "section" || cases.empty()) {
      Case c;
      c.name = e.what == "section" ? e.section : "(start)";
      c.from_ms = e.at_ms;
      cases.push_back(std::move(c));
      if (e.what == "section") continue;
    }
    cases.back().steps.push_back(&e);
  }
  for (std::size_t i = 0; i < cases.size(); ++i)
    cases[i].to_ms = i + 1 < cases.size() ? cases[i + 1].from_ms : r.duration_ms;
  return cases;
}

std::size_t failures_of(const RunReport& r) {
  return r.mismatches.size();
}

std::string page_head(std::string_view title) {
  return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" +
         xml_escape(title) +
         "</title>\n<style>\n"
         "body{font-family:sans-serif;margin:2em}\n"
         "table{border-collapse:collapse;margin-bottom:2em}\n"
         "td,th{border:1px solid #bbb;padding:2px 6px;text-align:left;vertical-align:top}\n"
         "td.hex{font-family:monospace;word-break:break-all;max-width:40em}\n"
         ".pass{background:#e6f4e6}.fail{background:#f8d7d7}.event{color:#555}\n"
         "</style>\n</head>\n<body>\n<h1>" +
         xml_escape(title) + "</h1>\n";
}

std::string verdict_of(const RunReport& r) {
  return r.ok() ? "pass" : r.aborted ? "stopped" : "fail";
}

// An answer with its status word's meaning.
std::string answer_text(const TraceEntry& e) {
  std::string actual = to_hex(e.actual, true);
  if (!e.actual_meaning.empty()) actual += " (" + e.actual_meaning + ")";
  return actual;
}

std::string milliseconds(double ms) {
  char out[32];
  std::snprintf(out, sizeof out, "%.1f", ms);
  return out;
}

struct JunitTotals {
  std::size_t tests = 0, failures = 0, errors = 0;
};

std::string junit_suites(std::span<const RunReport> reports, JunitTotals& totals) {
  auto& [tests, failures, errors] = totals;
  std::string suites;
  for (const RunReport& r : reports) {
    const auto cases = cases_of(r);
    std::size_t suite_failures = 0;
    std::string body;
    for (const Case& c : cases) {
      std::string failed;
      for (const TraceEntry* e : c.steps)
        if (!e->passed) failed += describe(r, *e) + "\n";
      const bool stopped_here =
          r.aborted && !c.steps.empty() && c.steps.back()->what.rfind("stopped: ", 0) == 0;
      body += "    <testcase classname=\"" + xml_escape(r.source) + "\" name=\"" +
              xml_escape(c.name) + "\" time=\"" + seconds(c.to_ms - c.from_ms) + "\"";
      if (failed.empty() && !stopped_here) {
        body += "/>\n";
        continue;
      }
      body += ">\n";
      if (!failed.empty()) {
        ++suite_failures;
        body += "      <failure type=\"mismatch\" message=\"" +
                xml_escape(failed.substr(0, failed.find('\n'))) + "\">" + xml_escape(failed) +
                "</failure>\n";
      }
      if (stopped_here)
        body += "      <error type=\"stopped\" message=\"" + xml_escape(r.aborted->message) +
                "\">" +
                xml_escape(r.source + ":" + std::to_string(r.aborted->line) + ": " +
                           r.aborted->message) +
                "</error>\n";
      body += "    </testcase>\n";
    }
    const std::size_t suite_errors = r.aborted ? 1 : 0;
    tests += cases.size();
    failures += suite_failures;
    errors += suite_errors;
    suites += "  <testsuite name=\"" + xml_escape(r.source) + "\" tests=\"" +
              std::to_string(cases.size()) + "\" failures=\"" + std::to_string(suite_failures) +
              "\" errors=\"" + std::to_string(suite_errors) + "\" time=\"" +
              seconds(r.duration_ms) + "\" timestamp=\"" + xml_escape(r.started_at) + "\">\n" +
              "    <properties>\n      <property name=\"transport\" value=\"" +
              xml_escape(r.transport) + "\"/>\n      <property name=\"commands\" value=\"" +
              std::to_string(r.commands) + "\"/>\n    </properties>\n" + body + "  </testsuite>\n";
  }
  return suites;
}

std::string junit_document(std::string_view name, const JunitTotals& t, const std::string& suites) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"" + xml_escape(name) +
         "\" tests=\"" + std::to_string(t.tests) + "\" failures=\"" + std::to_string(t.failures) +
         "\" errors=\"" + std::to_string(t.errors) + "\">\n" + suites + "</testsuites>\n";
}

}  // namespace

std::string to_junit(std::span<const RunReport> reports, std::string_view suite_name) {
  JunitTotals totals;
  const std::string suites = junit_suites(reports, totals);
  return junit_document(suite_name, totals, suites);
}

std::string to_junit(std::span<const Comparison> comparisons, std::span<const RunReport> candidate,
                     std::string_view suite_name) {
  JunitTotals totals;
  std::string suites = junit_suites(candidate, totals);
  std::size_t failures = 0, errors = 0;
  std::string body;
  for (const Comparison& c : comparisons) {
    body += "    <testcase classname=\"differential\" name=\"" + xml_escape(c.source) + "\"";
    if (c.same()) {
      body += "/>\n";
      continue;
    }
    body += ">\n";
    if (!c.differences.empty()) {
      ++failures;
      const std::string n = std::to_string(c.differences.size());
      body += "      <failure type=\"difference\" message=\"" + n +
              (c.differences.size() == 1 ? " difference" : " differences") + "\">" +
              xml_escape(to_text(c)) + "</failure>\n";
    }
    if (c.diverged) {
      ++errors;
      body += "      <error type=\"diverged\" message=\"" + xml_escape(*c.diverged) + "\"/>\n";
    }
    body += "    </testcase>\n";
  }
  const std::string reference = comparisons.empty() ? "" : comparisons.front().reference_transport;
  suites += "  <testsuite name=\"differential\" tests=\"" + std::to_string(comparisons.size()) +
            "\" failures=\"" + std::to_string(failures) + "\" errors=\"" + std::to_string(errors) +
            "\">\n    <properties>\n      <property name=\"reference\" " + "value=\"" +
            xml_escape(reference) + "\"/>\n    </properties>\n" + body + "  </testsuite>\n";
  totals.tests += comparisons.size();
  totals.failures += failures;
  totals.errors += errors;
  return junit_document(suite_name, totals, suites);
}

std::string to_html(std::span<const RunReport> reports, std::string_view title) {
  std::string out = page_head(title);

  std::size_t failed_scripts = 0;
  for (const RunReport& r : reports) failed_scripts += r.ok() ? 0 : 1;
  out += "<p>" + std::to_string(reports.size()) + " scripts, " +
         std::to_string(reports.size() - failed_scripts) + " passed, " +
         std::to_string(failed_scripts) + " failed.</p>\n";
  out +=
      "<table>\n<tr><th>script</th><th>verdict</th><th>checks passed</th><th>failed</th>"
      "<th>commands</th><th>transport</th></tr>\n";
  for (std::size_t i = 0; i < reports.size(); ++i) {
    const RunReport& r = reports[i];
    out += std::string("<tr class=\"") + (r.ok() ? "pass" : "fail") + "\"><td><a href=\"#s" +
           std::to_string(i) + "\">" + xml_escape(r.source) + "</a></td><td>" + verdict_of(r) +
           "</td><td>" + std::to_string(r.passed) + "</td><td>" + std::to_string(failures_of(r)) +
           "</td><td>" + std::to_string(r.commands) + "</td><td>" + xml_escape(r.transport) +
           "</td></tr>\n";
  }
  out += "</table>\n";

  for (std::size_t i = 0; i < reports.size(); ++i) {
    const RunReport& r = reports[i];
    out += "<h2 id=\"s" + std::to_string(i) + "\">" + xml_escape(r.source) + "</h2>\n<p>" +
           xml_escape(r.transport) + "; started " + xml_escape(r.started_at) + "; " +
           seconds(r.duration_ms) + " s</p>\n";
    if (r.aborted)
      out += "<p class=\"fail\">Stopped at line " + std::to_string(r.aborted->line) + ": " +
             xml_escape(r.aborted->message) + "</p>\n";
    out +=
        "<table>\n<tr><th>ms</th><th>line</th><th>section</th><th>step</th><th>command</th>"
        "<th>expected</th><th>actual</th><th>verdict</th></tr>\n";
    for (const TraceEntry& e : r.trace) {
      const bool compared = !e.expected.empty();
      const char* cls = !compared ? "event" : e.passed ? "pass" : "fail";
      out += std::string("<tr class=\"") + cls + "\"><td>" + milliseconds(e.at_ms) + "</td><td>" +
             xml_escape(where(r, e)) + "</td><td>" + xml_escape(e.section) + "</td><td>" +
             xml_escape(e.what) + "</td><td class=\"hex\">" + to_hex(e.command, true) +
             "</td><td class=\"hex\">" + xml_escape(e.expected) + "</td><td class=\"hex\">" +
             xml_escape(answer_text(e)) + "</td><td>" +
             (!compared  ? ""
              : e.passed ? "pass"
                         : "FAIL") +
             "</td></tr>\n";
    }
    out += "</table>\n";
  }
  return out + "</body>\n</html>\n";
}

std::string to_html(std::span<const Comparison> comparisons, std::span<const RunReport> reference,
                    std::span<const RunReport> candidate, std::string_view title) {
  std::string out = page_head(title);
  const std::size_t n = std::min({comparisons.size(), reference.size(), candidate.size()});
  std::size_t different = 0;
  for (std::size_t i = 0; i < n; ++i) different += comparisons[i].same() ? 0 : 1;
  out += "<p>" + std::to_string(n) +
         " scripts run on both cards: " + std::to_string(n - different) + " answered alike, " +
         std::to_string(different) + " differently.</p>\n";
  if (n > 0)
    out += "<p>Reference: " + xml_escape(comparisons[0].reference_transport) +
           ". Card under test: " + xml_escape(comparisons[0].candidate_transport) + ".</p>\n";
  out +=
      "<table>\n<tr><th>script</th><th>differences</th><th>runs parted</th><th>reference</th>"
      "<th>card under test</th></tr>\n";
  for (std::size_t i = 0; i < n; ++i) {
    const Comparison& c = comparisons[i];
    out += std::string("<tr class=\"") + (c.same() ? "pass" : "fail") + "\"><td><a href=\"#d" +
           std::to_string(i) + "\">" + xml_escape(c.source) + "</a></td><td>" +
           std::to_string(c.differences.size()) + "</td><td>" +
           xml_escape(c.diverged.value_or("")) + "</td><td>" + verdict_of(reference[i]) +
           "</td><td>" + verdict_of(candidate[i]) + "</td></tr>\n";
  }
  out += "</table>\n";

  for (std::size_t i = 0; i < n; ++i) {
    const Comparison& c = comparisons[i];
    const RunReport& a = reference[i];
    const RunReport& b = candidate[i];
    out += "<h2 id=\"d" + std::to_string(i) + "\">" + xml_escape(c.source) + "</h2>\n";
    if (c.diverged) out += "<p class=\"fail\">" + xml_escape(*c.diverged) + "</p>\n";
    // Step by step while the runs took the same steps; from where they parted
    // on, the rest of the reference's run, then the rest of the card's.
    const std::size_t paired =
        std::min({c.diverged_at.value_or(a.trace.size()), a.trace.size(), b.trace.size()});
    std::vector<bool> differs(paired, false);
    for (const Difference& d : c.differences)
      if (d.step < differs.size()) differs[d.step] = true;
    out +=
        "<table>\n<tr><th>ms</th><th>line</th><th>section</th><th>step</th><th>command</th>"
        "<th>expected</th><th>reference</th><th>card under test</th><th>verdict</th></tr>\n";
    struct Row {
      const TraceEntry* reference;
      const TraceEntry* candidate;
      bool differs;
    };
    std::vector<Row> rows;
    for (std::size_t k = 0; k < paired; ++k) rows.push_back({&a.trace[k], &b.trace[k], differs[k]});
    for (std::size_t k = paired; k < a.trace.size(); ++k)
      rows.push_back({&a.trace[k], nullptr, true});
    for (std::size_t k = paired; k < b.trace.size(); ++k)
      rows.push_back({nullptr, &b.trace[k], true});
    for (const Row& row : rows) {
      const TraceEntry* ea = row.reference;
      const TraceEntry* eb = row.candidate;
      const TraceEntry& e = eb != nullptr ? *eb : *ea;
      const bool compared = !e.expected.empty();
      const char* cls = row.differs ? "fail" : compared ? "pass" : "event";
      out += std::string("<tr class=\"") + cls + "\"><td>" + milliseconds(e.at_ms) + "</td><td>" +
             xml_escape(where(eb != nullptr ? b : a, e)) + "</td><td>" + xml_escape(e.section) +
             "</td><td>" + xml_escape(e.what) + "</td><td class=\"hex\">" +
             to_hex(e.command, true) + "</td><td class=\"hex\">" + xml_escape(e.expected) +
             "</td><td class=\"hex\">" + (ea != nullptr ? xml_escape(answer_text(*ea)) : "") +
             "</td><td class=\"hex\">" + (eb != nullptr ? xml_escape(answer_text(*eb)) : "") +
             "</td><td>" +
             (row.differs && ea != nullptr && eb != nullptr ? "DIFFERS"
              : row.differs ? (ea != nullptr ? "reference only" : "card only")
              : compared    ? "same"
                            : "") +
             "</td></tr>\n";
    }
    out += "</table>\n";
  }
  return out + "</body>\n</html>\n";
}

}  // namespace juki::host::script
