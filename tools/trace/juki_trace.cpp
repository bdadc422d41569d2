// juki-trace: the standard traced to its tests (specs/requirements.md).
//   check   every testable requirement has evidence, and every piece of
//           evidence exists (CTest runs it: the build fails otherwise)
//   report  each requirement with pass, fail, not covered, not implemented or
//           organisational, from the last test run's JUnit files
// Exit: 0 clean / every testable requirement passed, 1 problems / not all
// passed, 2 usage or a file that cannot be read.
#include <CLI/CLI.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "tools/trace/trace.hpp"

namespace {

using namespace juki::trace;

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

struct Inputs {
  std::string root = ".";
  std::string requirements;  // default: ROOT/specs/requirements.md
  std::string programs = "build/default/tests/test-programs.txt";
  bool json = false;
};

// The table and the catalog of tagged tests, or an exit status when a file
// cannot be read (then the tool has said why).
struct Loaded {
  Table table;
  Catalog catalog;
  std::filesystem::path root;
};

std::optional<Loaded> load(const Inputs& in) {
  Loaded loaded;
  std::error_code ec;
  loaded.root = std::filesystem::absolute(in.root, ec).lexically_normal();
  const std::string requirements =
      in.requirements.empty() ? (loaded.root / "specs/requirements.md").string() : in.requirements;
  const auto table_text = read_file(requirements);
  if (!table_text) {
    std::cerr << "juki-trace: cannot read the requirements table " << requirements << ": "
              << std::strerror(errno) << "\n";
    return std::nullopt;
  }
  const auto manifest = read_file(in.programs);
  if (!manifest) {
    std::cerr << "juki-trace: cannot read the test programs' manifest " << in.programs << ": "
              << std::strerror(errno)
              << " (the build writes it: BUILD/tests/test-programs.txt; give --programs)\n";
    return std::nullopt;
  }
  loaded.table = parse_requirements(*table_text, requirements);
  std::vector<Problem> manifest_problems;
  const auto programs = parse_manifest(*manifest, manifest_problems);
  loaded.catalog = list_tagged_tests(programs, run_program);
  for (Problem& p : manifest_problems) p.where = in.programs + p.where.substr(p.where.find(':'));
  loaded.catalog.problems.insert(loaded.catalog.problems.begin(), manifest_problems.begin(),
                                 manifest_problems.end());
  return loaded;
}

void add_inputs(CLI::App& cmd, Inputs& in) {
  cmd.add_option("--root", in.root, "The source tree (scripts are cited from it; default .)");
  cmd.add_option("--requirements", in.requirements,
                 "The requirements table (default ROOT/specs/requirements.md)");
  cmd.add_option("--programs", in.programs,
                 "The test programs' manifest the build writes (default " + in.programs + ")");
  cmd.add_flag("--json", in.json, "Print one JSON document on stdout");
}

int run_check(const Inputs& in) {
  const auto loaded = load(in);
  if (!loaded) return kExitUsage;
  const Check result = check(loaded->table, loaded->catalog, loaded->root);
  if (in.json) {
    nlohmann::json problems = nlohmann::json::array();
    for (const Problem& p : result.problems)
      problems.push_back({{"where", p.where}, {"message", p.message}});
    std::cout << nlohmann::json{{"ok", result.ok()},
                                {"requirements", loaded->table.rows.size()},
                                {"testable", result.testable},
                                {"organisational", result.organisational},
                                {"not_implemented", result.not_implemented},
                                {"with_tests", result.with_tests},
                                {"with_scripts", result.with_scripts},
                                {"problems", problems}}
                     .dump(2)
              << "\n";
  } else {
    for (const Problem& p : result.problems) std::cout << p.where << ": " << p.message << "\n";
    std::cout << loaded->table.rows.size() << " requirements: " << result.testable << " testable ("
              << result.with_tests << " with tagged tests, " << result.with_scripts
              << " with script sections), " << result.not_implemented
              << " testable but not implemented, " << result.organisational << " organisational"
              << (result.ok()
                      ? ""
                      : "; " + std::to_string(result.problems.size()) + " problem(s) -- FAILED")
              << "\n";
  }
  return result.ok() ? kExitOk : kExitFailed;
}

int run_report(const Inputs& in, const std::string& ctest_junit,
               const std::vector<std::string>& script_junits, const std::string& html_file,
               const std::string& source_url) {
  const auto loaded = load(in);
  if (!loaded) return kExitUsage;
  std::string error;
  const auto ctest = read_junit(ctest_junit, error);
  if (!ctest) {
    std::cerr << "juki-trace: " << error << "\n";
    return kExitUsage;
  }
  std::vector<JunitCase> scripts;
  for (const std::string& file : script_junits) {
    const auto cases = read_junit(file, error);
    if (!cases) {
      std::cerr << "juki-trace: " << error << "\n";
      return kExitUsage;
    }
    scripts.insert(scripts.end(), cases->begin(), cases->end());
  }
  const Report report = make_report(loaded->table, loaded->catalog, loaded->root, *ctest, scripts);
  if (!html_file.empty()) {
    std::ofstream out(html_file, std::ios::binary | std::ios::trunc);
    out << to_html(report, source_url);
    out.close();
    if (!out) {
      std::cerr << "juki-trace: cannot write " << html_file << ": " << std::strerror(errno) << "\n";
      return kExitUsage;
    }
  }
  if (in.json)
    std::cout << to_json(report).dump(2) << "\n";
  else
    std::cout << to_text(report);
  return report.all_testable_passed() ? kExitOk : kExitFailed;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "The requirements of the standard (specs/requirements.md) traced to the tests that prove "
      "them.\nExit status: 0 clean (check) or every testable requirement passed (report), 1 "
      "problems or not all passed, 2 usage or an unreadable file.",
      "juki-trace"};
  app.require_subcommand(1);
  Inputs inputs;

  CLI::App* check_cmd = app.add_subcommand(
      "check",
      "Every testable requirement has a test tagged [req:ID] or a script section cited, and "
      "all evidence exists (tags name requirements of the table, cited sections are in their "
      "scripts)");
  add_inputs(*check_cmd, inputs);

  std::string ctest_junit, html_file, source_url;
  std::vector<std::string> script_junits;
  CLI::App* report_cmd = app.add_subcommand(
      "report",
      "Each requirement with pass, fail, not covered, not implemented or organisational, from "
      "the last run (ctest --output-junit FILE; juki-script --junit FILE for the scripts)");
  add_inputs(*report_cmd, inputs);
  report_cmd->add_option("--ctest-junit", ctest_junit, "CTest's JUnit file of the last run")
      ->required();
  report_cmd->add_option("--script-junit", script_junits,
                         "The conformance runner's JUnit file(s) (juki-script --junit)");
  report_cmd->add_option("--html", html_file, "Also write the report as one HTML page");
  report_cmd->add_option("--source-url", source_url,
                         "Link evidence to URL/FILE#LLINE (e.g. a repository browser); "
                         "default: the file's path");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  if (check_cmd->parsed()) return run_check(inputs);
  return run_report(inputs, ctest_junit, script_junits, html_file, source_url);
}
