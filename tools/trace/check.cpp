// The check that fails the build: no testable requirement without evidence,
// no evidence that names nothing.
#include <set>

#include "tools/trace/trace.hpp"

namespace juki::trace {
namespace {

std::string where_of(const Requirement& r, std::string_view table_name) {
  return std::string(table_name) + ":" + std::to_string(r.line);
}

}  // namespace

Check check(const Table& table, const Catalog& catalog, const std::filesystem::path& root) {
  Check result;
  result.problems = table.problems;
  result.problems.insert(result.problems.end(), catalog.problems.begin(), catalog.problems.end());
  const std::string& table_name = table.source;
  std::map<std::string, std::optional<std::map<std::string, std::size_t>>> scripts;
  std::set<std::string> known;
  for (const Requirement& r : table.rows) {
    const std::string id = normalized_id(r.id);
    known.insert(id);
    const auto tests = catalog.by_id.find(id);
    const bool has_tests = tests != catalog.by_id.end() && !tests->second.empty();
    switch (r.kind) {
      case Kind::testable:
        ++result.testable;
        break;
      case Kind::organisational:
        ++result.organisational;
        break;
      case Kind::not_implemented:
        ++result.not_implemented;
        break;
    }
    if (r.kind != Kind::testable && (has_tests || !r.scripts.empty())) {
      std::string names;
      if (has_tests)
        for (const TestCase& t : tests->second) names += "\n    " + t.ctest_name();
      result.problems.push_back(
          {where_of(r, table_name),
           r.id + " is " + std::string(kind_name(r.kind)) +
               " but evidence claims it; make it testable or drop the evidence" + names});
      continue;
    }
    if (r.kind != Kind::testable) continue;
    if (has_tests) ++result.with_tests;
    if (!r.scripts.empty()) ++result.with_scripts;
    if (!has_tests && r.scripts.empty())
      result.problems.push_back({where_of(r, table_name),
                                 r.id + " is testable but has no evidence: no test tagged [req:" +
                                     r.id + "] and no script section cited"});
    for (const ScriptSection& s : r.scripts) {
      auto it = scripts.find(s.file);
      if (it == scripts.end()) it = scripts.emplace(s.file, script_sections(root / s.file)).first;
      if (!it->second) {
        result.problems.push_back(
            {where_of(r, table_name), r.id + ": the script " + s.file + " does not exist"});
      } else if (!it->second->contains(s.title)) {
        result.problems.push_back({where_of(r, table_name),
                                   r.id + ": " + s.file + " has no section \"" + s.title + "\""});
      }
    }
  }
  // A tag for an ID the table does not have is evidence for nothing: a typo
  // or a requirement renamed under the test.
  for (const auto& [id, tests] : catalog.by_id) {
    if (known.contains(id)) continue;
    for (const TestCase& t : tests)
      result.problems.push_back(
          {t.location.empty() ? t.target : t.location,
           "\"" + t.ctest_name() + "\" is tagged [req:" + id + "], which is not in the table"});
  }
  return result;
}

}  // namespace juki::trace
