// The standard traced to its tests (specs/requirements.md): the requirements
// table, the Catch2 tests tagged [req:ID] in the test programs, the conformance
// scripts' sections, the check that every testable requirement has evidence
// that exists, and the report of the last test run against the table.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace juki::trace {

// Something wrong with the table or its evidence; `where` is FILE:LINE or a
// test program, so an editor or a reader can go there.
struct Problem {
  std::string where;
  std::string message;
};

// ---- The table (specs/requirements.md) ----

enum class Kind {
  testable,         // proved by tests and/or script sections
  organisational,   // a duty of people and rooms, not of software
  not_implemented,  // testable, but the software does not do it yet (Notes say why)
};
std::string_view kind_name(Kind kind);

// A conformance script's section cited as evidence: FILE (from the source
// root) and the title of one of its `== TITLE` lines.
struct ScriptSection {
  std::string file;
  std::string title;
};

struct Requirement {
  std::string id;  // as written (A1, K3, A4.2); tags compare it case-insensitively
  std::string clause;
  std::string text;
  Kind kind = Kind::testable;
  std::vector<ScriptSection> scripts;
  std::string notes;
  std::size_t line = 0;  // in the table's file
};

struct Table {
  std::string source;  // the file's name, for FILE:LINE in problems
  std::vector<Requirement> rows;
  std::vector<Problem> problems;  // rows that could not be read; they are left out
};

// Reads every Markdown table whose header is exactly
// | ID | Clause | Requirement | Kind | Scripts | Notes |; other text is prose.
Table parse_requirements(std::string_view markdown, std::string_view source_name);

// The form a tag carries an ID in: upper case, since Catch2 matches tags
// without regard to case.
std::string normalized_id(std::string_view id);

// ---- The tests tagged [req:ID] ----

// A test program as CMake registered it: its target name (the prefix of its
// CTest names) and the path of the executable.
struct Program {
  std::string target;
  std::string path;
};

// The manifest the build writes (tests/CMakeLists.txt): one "TARGET<TAB>PATH"
// per line.
std::vector<Program> parse_manifest(std::string_view text, std::vector<Problem>& problems);

// Runs PATH with ARGS and gives its standard output, or nullopt when it could
// not be started or was killed by a signal (its exit status is not a verdict:
// Catch2's listings exit with the number of tests they list).
using RunProgram = std::function<std::optional<std::string>(const std::string& path,
                                                            const std::vector<std::string>& args)>;
std::optional<std::string> run_program(const std::string& path,
                                       const std::vector<std::string>& args);

struct TestCase {
  std::string target;
  std::string name;
  std::string location;  // FILE:LINE when Catch2 says, else empty
  // The CTest name catch_discover_tests gives it: TEST_PREFIX "TARGET: "
  // reaches CTest as "TARGET:" (the trailing space is lost on the way), so
  // that is the name; a JUnit name with the space is taken too.
  std::string ctest_name() const { return target + ":" + name; }
  std::string ctest_name_spaced() const { return target + ": " + name; }
};

struct Catalog {
  std::map<std::string, std::vector<TestCase>> by_id;  // normalized ID -> tests tagged with it
  std::vector<Problem> problems;                       // programs that could not be listed
};

// The IDs of the [req:ID] tags in the output of `PROGRAM --list-tags`.
std::vector<std::string> req_ids_in_tag_list(std::string_view list_tags_output);

// Asks each program which [req:ID] tags it has (--list-tags) and which of its
// tests carry each (TAG --list-test-names-only, -v high for the location):
// Catch2's own reading of its tags, nothing parsed out of C++ sources.
Catalog list_tagged_tests(const std::vector<Program>& programs, const RunProgram& run);

// ---- The conformance scripts ----

// The section titles of a script and the line of each (`== TITLE` lines,
// specs/apdu-script.md); nullopt when the file cannot be read.
std::optional<std::map<std::string, std::size_t>> script_sections(
    const std::filesystem::path& file);

// ---- The check (a CTest test, so the build fails) ----

struct Check {
  std::vector<Problem> problems;
  std::size_t testable = 0, organisational = 0, not_implemented = 0;
  std::size_t with_tests = 0, with_scripts = 0;
  bool ok() const { return problems.empty(); }
};

// Every testable requirement has evidence (a tagged test or a script
// section); every cited section and every tag names something that exists;
// an organisational or not-implemented requirement has no tests claiming it.
Check check(const Table& table, const Catalog& catalog, const std::filesystem::path& root);

// ---- The last test run ----

enum class Outcome { passed, failed, not_run };
std::string_view outcome_name(Outcome outcome);

struct JunitCase {
  std::string suite;
  std::string name;
  Outcome outcome = Outcome::passed;
  std::string message;  // the failure's message, when there is one
};

// Reads a JUnit file (CTest's --output-junit, or juki-script --junit) with
// libxml2; error says why when nullopt.
std::optional<std::vector<JunitCase>> parse_junit(std::string_view xml, std::string& error);
std::optional<std::vector<JunitCase>> read_junit(const std::filesystem::path& file,
                                                 std::string& error);

enum class Status { pass, fail, not_covered, organisational, not_implemented };
std::string_view status_name(Status status);

struct Evidence {
  std::string kind;      // "test" or "script"
  std::string label;     // the CTest name, or FILE § TITLE
  std::string location;  // FILE:LINE of the test or the section, when known
  Outcome outcome = Outcome::not_run;
  std::string message;
};

struct RequirementResult {
  Requirement requirement;
  Status status = Status::not_covered;
  std::vector<Evidence> evidence;
};

struct Report {
  std::vector<RequirementResult> results;
  std::vector<Problem> warnings;  // the check's problems: the report is still made
  // True when every requirement of kind testable passed; the tool's exit status.
  bool all_testable_passed() const;
  std::map<Status, std::size_t> counts() const;
};

// A testable requirement passes when all its evidence ran and passed, fails
// when any of it failed, and is not covered when it has none or some of it
// did not run (nothing unrun is taken for a pass).
Report make_report(const Table& table, const Catalog& catalog, const std::filesystem::path& root,
                   const std::vector<JunitCase>& ctest, const std::vector<JunitCase>& scripts);

std::string to_text(const Report& report);
nlohmann::json to_json(const Report& report);
// One page; test and section locations link to SOURCE_URL/FILE#LINE when
// source_url is given (e.g. a repository browser), else to the file path.
std::string to_html(const Report& report, std::string_view source_url);

}  // namespace juki::trace
