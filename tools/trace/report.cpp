// The traceability report: each requirement with the outcome of its evidence
// in the last test run, as text, JSON or one HTML page.
#include <sstream>

#include "common/text.hpp"
#include "tools/trace/trace.hpp"

namespace juki::trace {
namespace {

// A script's JUnit suite is named by the path it was run as (absolute in
// CTest, relative by hand): the cited FILE matches it when one ends with the
// other at a path boundary.
bool same_script(std::string_view suite, std::string_view file) {
  const auto ends_with = [](std::string_view whole, std::string_view tail) {
    if (tail.size() > whole.size() || whole.substr(whole.size() - tail.size()) != tail)
      return false;
    return whole.size() == tail.size() || whole[whole.size() - tail.size() - 1] == '/';
  };
  return ends_with(suite, file) || ends_with(file, suite);
}

std::string relative_location(const std::string& location, const std::filesystem::path& root) {
  const std::string prefix = root.lexically_normal().string();
  if (prefix.empty() || prefix == ".") return location;
  const std::string with_slash = prefix.back() == '/' ? prefix : prefix + "/";
  if (location.rfind(with_slash, 0) == 0) return location.substr(with_slash.size());
  return location;
}

using text::xml_escape;

// FILE:LINE as a link: SOURCE_URL/FILE#LLINE (the form repository browsers
// take), or the bare FILE when no URL is given.
std::string link_of(const std::string& location, std::string_view source_url) {
  const std::size_t colon = location.rfind(':');
  const std::string file = colon == std::string::npos ? location : location.substr(0, colon);
  const std::string line = colon == std::string::npos ? "" : location.substr(colon + 1);
  std::string url = source_url.empty() ? file : std::string(source_url) + "/" + file;
  if (!source_url.empty() && !line.empty()) url += "#L" + line;
  return url;
}

}  // namespace

std::string_view outcome_name(Outcome outcome) {
  switch (outcome) {
    case Outcome::passed:
      return "passed";
    case Outcome::failed:
      return "failed";
    case Outcome::not_run:
      return "not run";
  }
  return "?";
}

std::string_view status_name(Status status) {
  switch (status) {
    case Status::pass:
      return "pass";
    case Status::fail:
      return "fail";
    case Status::not_covered:
      return "not covered";
    case Status::organisational:
      return "organisational";
    case Status::not_implemented:
      return "not implemented";
  }
  return "?";
}

bool Report::all_testable_passed() const {
  for (const RequirementResult& r : results)
    if (r.requirement.kind == Kind::testable && r.status != Status::pass) return false;
  return true;
}

std::map<Status, std::size_t> Report::counts() const {
  std::map<Status, std::size_t> counts;
  for (const RequirementResult& r : results) ++counts[r.status];
  return counts;
}

Report make_report(const Table& table, const Catalog& catalog, const std::filesystem::path& root,
                   const std::vector<JunitCase>& ctest, const std::vector<JunitCase>& scripts) {
  Report report;
  report.warnings = check(table, catalog, root).problems;
  std::map<std::string, const JunitCase*> ctest_by_name;
  for (const JunitCase& c : ctest) ctest_by_name[c.name] = &c;
  std::map<std::string, std::optional<std::map<std::string, std::size_t>>> sections;

  for (const Requirement& req : table.rows) {
    RequirementResult result{req, Status::not_covered, {}};
    if (req.kind == Kind::organisational) result.status = Status::organisational;
    if (req.kind == Kind::not_implemented) result.status = Status::not_implemented;
    if (req.kind != Kind::testable) {
      report.results.push_back(std::move(result));
      continue;
    }
    if (auto tests = catalog.by_id.find(normalized_id(req.id)); tests != catalog.by_id.end()) {
      for (const TestCase& t : tests->second) {
        Evidence e{"test", t.ctest_name(), relative_location(t.location, root), Outcome::not_run,
                   ""};
        auto run = ctest_by_name.find(e.label);
        if (run == ctest_by_name.end()) run = ctest_by_name.find(t.ctest_name_spaced());
        if (run != ctest_by_name.end()) {
          e.outcome = run->second->outcome;
          e.message = run->second->message;
        }
        result.evidence.push_back(std::move(e));
      }
    }
    for (const ScriptSection& s : req.scripts) {
      auto known = sections.find(s.file);
      if (known == sections.end())
        known = sections.emplace(s.file, script_sections(root / s.file)).first;
      Evidence e{"script", s.file + " § " + s.title, s.file, Outcome::not_run, ""};
      if (known->second)
        if (auto at = known->second->find(s.title); at != known->second->end())
          e.location = s.file + ":" + std::to_string(at->second);
      for (const JunitCase& c : scripts) {
        if (c.name != s.title || !same_script(c.suite, s.file)) continue;
        e.outcome = c.outcome;
        e.message = c.message;
        break;
      }
      result.evidence.push_back(std::move(e));
    }
    std::size_t passed = 0, failed = 0;
    for (const Evidence& e : result.evidence) {
      passed += e.outcome == Outcome::passed;
      failed += e.outcome == Outcome::failed;
    }
    if (failed > 0)
      result.status = Status::fail;
    else if (!result.evidence.empty() && passed == result.evidence.size())
      result.status = Status::pass;
    report.results.push_back(std::move(result));
  }
  return report;
}

std::string to_text(const Report& report) {
  std::ostringstream out;
  for (const RequirementResult& r : report.results) {
    out << r.requirement.id << "  " << status_name(r.status) << "  " << r.requirement.clause << "  "
        << r.requirement.text << "\n";
    if (r.status == Status::not_implemented)
      out << "    not implemented: " << r.requirement.notes << "\n";
    for (const Evidence& e : r.evidence) {
      out << "    " << outcome_name(e.outcome) << "  " << e.kind << "  " << e.label;
      if (!e.location.empty()) out << "  (" << e.location << ")";
      if (e.outcome == Outcome::failed && !e.message.empty()) out << ": " << e.message;
      out << "\n";
    }
    if (r.requirement.kind == Kind::testable && r.evidence.empty()) out << "    no evidence\n";
  }
  for (const Problem& p : report.warnings)
    out << "warning: " << p.where << ": " << p.message << "\n";
  const auto counts = report.counts();
  const auto count = [&](Status s) {
    auto it = counts.find(s);
    return it == counts.end() ? std::size_t{0} : it->second;
  };
  out << "total: " << report.results.size() << " requirements: " << count(Status::pass) << " pass, "
      << count(Status::fail) << " fail, " << count(Status::not_covered) << " not covered, "
      << count(Status::not_implemented) << " not implemented, " << count(Status::organisational)
      << " organisational"
      << (report.all_testable_passed() ? "" : " -- NOT ALL TESTABLE REQUIREMENTS PASSED") << "\n";
  return out.str();
}

nlohmann::json to_json(const Report& report) {
  nlohmann::json requirements = nlohmann::json::array();
  for (const RequirementResult& r : report.results) {
    nlohmann::json evidence = nlohmann::json::array();
    for (const Evidence& e : r.evidence)
      evidence.push_back({{"kind", e.kind},
                          {"label", e.label},
                          {"location", e.location},
                          {"outcome", outcome_name(e.outcome)},
                          {"message", e.message}});
    requirements.push_back({{"id", r.requirement.id},
                            {"clause", r.requirement.clause},
                            {"text", r.requirement.text},
                            {"kind", kind_name(r.requirement.kind)},
                            {"status", status_name(r.status)},
                            {"notes", r.requirement.notes},
                            {"evidence", evidence}});
  }
  nlohmann::json counts = nlohmann::json::object();
  for (Status s : {Status::pass, Status::fail, Status::not_covered, Status::not_implemented,
                   Status::organisational})
    counts[std::string(status_name(s))] = 0;
  for (const auto& [status, n] : report.counts()) counts[std::string(status_name(status))] = n;
  nlohmann::json warnings = nlohmann::json::array();
  for (const Problem& p : report.warnings)
    warnings.push_back({{"where", p.where}, {"message", p.message}});
  return {{"ok", report.all_testable_passed()},
          {"counts", counts},
          {"requirements", requirements},
          {"warnings", warnings}};
}

std::string to_html(const Report& report, std::string_view source_url) {
  std::ostringstream out;
  const auto counts = to_json(report)["counts"];
  out << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
         "<title>Juki: requirements traced to the last test run</title>\n<style>\n"
         "body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;width:100%}\n"
         "td,th{border:1px solid #ccc;padding:4px 6px;vertical-align:top;text-align:left}\n"
         ".pass{background:#dfd}.fail{background:#fcc}.not-covered{background:#fec}\n"
         ".not-implemented{background:#eee}.organisational{background:#eef}\n"
         "ul{margin:0;padding-left:1.2em}code{font-size:90%}\n</style></head><body>\n"
         "<h1>Requirements traced to the last test run</h1>\n<p>";
  bool first = true;
  for (const auto& [name, n] : counts.items()) {
    out << (first ? "" : ", ") << n.get<std::size_t>() << " " << xml_escape(name);
    first = false;
  }
  out << (report.all_testable_passed() ? ": every testable requirement passed."
                                       : ": <strong>not every testable requirement passed."
                                         "</strong>")
      << "</p>\n<table>\n<tr><th>ID</th><th>Clause</th><th>Requirement</th><th>Status</th>"
         "<th>Evidence</th></tr>\n";
  for (const RequirementResult& r : report.results) {
    std::string css(status_name(r.status));
    for (char& c : css)
      if (c == ' ') c = '-';
    out << "<tr id=\"" << xml_escape(r.requirement.id) << "\" class=\"" << css << "\"><td>"
        << xml_escape(r.requirement.id) << "</td><td>" << xml_escape(r.requirement.clause)
        << "</td><td>" << xml_escape(r.requirement.text) << "</td><td>"
        << xml_escape(status_name(r.status)) << "</td><td>";
    if (r.requirement.kind != Kind::testable) out << xml_escape(r.requirement.notes);
    if (!r.evidence.empty()) out << "<ul>";
    for (const Evidence& e : r.evidence) {
      out << "<li>" << xml_escape(outcome_name(e.outcome)) << ": " << e.kind << " ";
      if (e.location.empty())
        out << "<code>" << xml_escape(e.label) << "</code>";
      else
        out << "<a href=\"" << xml_escape(link_of(e.location, source_url)) << "\"><code>"
            << xml_escape(e.label) << "</code></a>";
      if (e.outcome == Outcome::failed && !e.message.empty())
        out << " &mdash; " << xml_escape(e.message);
      out << "</li>";
    }
    if (!r.evidence.empty()) out << "</ul>";
    if (r.requirement.kind == Kind::testable && r.evidence.empty()) out << "no evidence";
    out << "</td></tr>\n";
  }
  out << "</table>\n";
  if (!report.warnings.empty()) {
    out << "<h2>Warnings</h2>\n<ul>\n";
    for (const Problem& p : report.warnings)
      out << "<li><code>" << xml_escape(p.where) << "</code>: " << xml_escape(p.message)
          << "</li>\n";
    out << "</ul>\n";
  }
  out << "</body></html>\n";
  return out.str();
}

}  // namespace juki::trace
