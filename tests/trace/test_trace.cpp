// juki-trace: the requirements table read, the check that fails the build
// when a testable requirement has no evidence or evidence names nothing, and
// the report of a test run (pass, fail, not covered, not implemented,
// organisational).
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <random>

#include "tools/trace/trace.hpp"

namespace {

using namespace juki::trace;
namespace fs = std::filesystem;

const std::string kHeader =
    "| ID | Clause | Requirement | Kind | Scripts | Notes |\n|---|---|---|---|---|---|\n";

// A source tree of its own per test: a script with two sections.
struct Tree {
  fs::path root;
  Tree() {
    std::random_device entropy;
    root = fs::temp_directory_path() / ("juki-trace-test-" + std::to_string(entropy()));
    fs::create_directories(root / "specs/conformance");
    write("specs/conformance/05-password.apdu",
          "# The password\nreset\n== Three wrong tries lock it\n> 00 20 00 80\n"
          "== Re-set at the window  \n> 00 2C 00 80\n== Wrong; then right\n");
  }
  ~Tree() {
    std::error_code ec;
    fs::remove_all(root, ec);
  }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(root / name, std::ios::binary) << text;
  }
};

// Tests as a Catch2 program would list them, without one.
Catalog catalog_of(std::map<std::string, std::vector<std::string>> names_by_id) {
  Catalog c;
  for (auto& [id, names] : names_by_id)
    for (auto& name : names) c.by_id[id].push_back({"test_card", name, "tests/x.cpp:1"});
  return c;
}

bool has_problem(const std::vector<Problem>& problems, std::string_view part) {
  for (const Problem& p : problems)
    if (p.message.find(part) != std::string::npos) return true;
  return false;
}

std::string all_messages(const std::vector<Problem>& problems) {
  std::string out;
  for (const Problem& p : problems) out += p.where + ": " + p.message + "\n";
  return out;
}

const char* kTable =
    "# Requirements\n\nSome prose | with a bar.\n\n"
    "| Kind | Meaning |\n|---|---|\n| testable | other table, ignored |\n\n"
    "| ID | Clause | Requirement | Kind | Scripts | Notes |\n"
    "|---|---|---|---|---|---|\n"
    "| K1 | S0 §5-3C | Three wrong passwords lock the card | testable | "
    "`specs/conformance/05-password.apdu` § Three wrong tries lock it | 3 is the project's |\n"
    "| `K2` | S0 §5-3C | The window re-sets it | testable | "
    "`specs/conformance/05-password.apdu` § Re-set at the window;"
    "`specs/conformance/05-password.apdu` § Three wrong tries lock it | |\n"
    "| K5 | S0 §5-3C | A title with a semicolon | testable | "
    "`specs/conformance/05-password.apdu` § Wrong; then right | |\n"
    "| A3 | S4 第6-7(1) | Erasure after 5 years | testable, not implemented | — | "
    "no erasure job yet |\n"
    "| O1 | S4 第2-1(1) | A responsible organisation | organisational | | people \\| rooms |\n";

}  // namespace

TEST_CASE(
    "trace: the requirement rows of the table with the header, prose and other tables "
    "left alone") {
  const Table t = parse_requirements(kTable, "req.md");
  INFO(all_messages(t.problems));
  REQUIRE(t.problems.empty());
  REQUIRE(t.rows.size() == 5);
  CHECK(t.rows[0].id == "K1");
  CHECK(t.rows[0].clause == "S0 §5-3C");
  CHECK(t.rows[0].kind == Kind::testable);
  REQUIRE(t.rows[0].scripts.size() == 1);
  CHECK(t.rows[0].scripts[0].file == "specs/conformance/05-password.apdu");
  CHECK(t.rows[0].scripts[0].title == "Three wrong tries lock it");
  CHECK(t.rows[0].line == 11);
  CHECK(t.rows[1].id == "K2");  // backticks are not part of the ID
  CHECK(t.rows[1].scripts.size() == 2);
  REQUIRE(t.rows[2].scripts.size() == 1);  // a ';' inside a title does not split it
  CHECK(t.rows[2].scripts[0].title == "Wrong; then right");
  CHECK(t.rows[3].kind == Kind::not_implemented);
  CHECK(t.rows[3].scripts.empty());
  CHECK(t.rows[4].kind == Kind::organisational);
  CHECK(t.rows[4].notes == "people | rooms");
}

TEST_CASE("trace: rows the table cannot hold are problems with their line") {
  const std::string bad =
      kHeader + "| K1 | S0 | text | testable | | |\n" + "| K1 | S0 | again | testable | | |\n" +
      "| K2 | S0 | text | maybe | | |\n" + "| K3 | S0 | text | testable, not implemented | | |\n" +
      "| K4 | S0 | text | testable | 05-password.apdu Three | |\n" + "| K5 | S0 | too few |\n" +
      "| 5K | S0 | text | testable | | |\n";
  const Table t = parse_requirements(bad, "req.md");
  CHECK(t.rows.size() == 1);
  CHECK(t.problems.size() == 6);
  CHECK(has_problem(t.problems, "K1 is in the table twice"));
  CHECK(has_problem(t.problems, "the kind \"maybe\""));
  CHECK(has_problem(t.problems, "K3: a requirement not implemented says why"));
  CHECK(has_problem(t.problems, "`FILE` § TITLE"));
  CHECK(has_problem(t.problems, "this one has 3"));
  CHECK(has_problem(t.problems, "\"5K\" is not an ID"));
  CHECK(t.problems[0].where == "req.md:4");
}

TEST_CASE("trace: the req tags in Catch2's tag list, in upper case") {
  const std::string listing =
      "All available tags:\n   2  [card]\n   1  [req:A1]\n   3  [req:k2.1]\n"
      "   1  [request]\n4 tags\n";
  CHECK(req_ids_in_tag_list(listing) == std::vector<std::string>{"A1", "K2.1"});
}

TEST_CASE("trace: a real Catch2 program lists its tagged tests with their source lines") {
  const Catalog c = list_tagged_tests({{"fixture", JUKI_TRACE_FIXTURE}}, run_program);
  INFO(all_messages(c.problems));
  REQUIRE(c.problems.empty());
  REQUIRE(c.by_id.size() == 2);
  REQUIRE(c.by_id.at("T1").size() == 2);
  CHECK(c.by_id.at("T1")[0].ctest_name() ==
        "fixture:fixture: the card locks after three wrong passwords");
  CHECK(c.by_id.at("T1")[0].location.find("trace_fixture_tagged.cpp:") != std::string::npos);
  REQUIRE(c.by_id.at("T2.1").size() == 1);
  CHECK(c.by_id.at("T2.1")[0].name ==
        "fixture: a second test of the same requirement, and of another");
}

TEST_CASE("trace: a test program that cannot run is a problem, not an empty catalog") {
  const Catalog c = list_tagged_tests({{"gone", "/nonexistent/test_gone"}}, run_program);
  CHECK(c.by_id.empty());
  CHECK(has_problem(c.problems, "cannot run the test program gone"));
}

TEST_CASE("trace: the check passes when every testable requirement has evidence that exists") {
  Tree tree;
  const Table t = parse_requirements(kTable, "req.md");
  const Check result = check(t, catalog_of({{"K1", {"three wrong"}}}), tree.root);
  INFO(all_messages(result.problems));
  CHECK(result.ok());
  CHECK(result.testable == 3);
  CHECK(result.not_implemented == 1);
  CHECK(result.organisational == 1);
  CHECK(result.with_tests == 1);
  CHECK(result.with_scripts == 3);
}

TEST_CASE("trace: the check fails for a testable requirement without evidence") {
  Tree tree;
  const Table t =
      parse_requirements(kHeader + "| K9 | S0 §5-3C | Untested | testable | — | |\n", "req.md");
  const Check result = check(t, catalog_of({}), tree.root);
  CHECK_FALSE(result.ok());
  REQUIRE(result.problems.size() == 1);
  CHECK(result.problems[0].where == "req.md:3");
  CHECK(has_problem(result.problems, "K9 is testable but has no evidence"));
}

TEST_CASE("trace: the check fails for stale evidence: a section, a script, a tag") {
  Tree tree;
  const Table t = parse_requirements(
      kHeader +
          "| K1 | S0 | a | testable | `specs/conformance/05-password.apdu` § Renamed section | |\n"
          "| K2 | S0 | b | testable | `specs/conformance/99-gone.apdu` § Anything | |\n",
      "req.md");
  const Check result =
      check(t, catalog_of({{"K7", {"a test of a requirement removed"}}}), tree.root);
  INFO(all_messages(result.problems));
  CHECK(result.problems.size() == 3);
  CHECK(has_problem(result.problems, "has no section \"Renamed section\""));
  CHECK(has_problem(result.problems, "99-gone.apdu does not exist"));
  CHECK(has_problem(result.problems, "is tagged [req:K7], which is not in the table"));
}

TEST_CASE("trace: the check fails when tests claim an organisational or unimplemented one") {
  Tree tree;
  const Table t = parse_requirements(kTable, "req.md");
  const Check result =
      check(t, catalog_of({{"K1", {"x"}}, {"A3", {"an erasure test"}}}), tree.root);
  CHECK(result.problems.size() == 1);
  CHECK(has_problem(result.problems, "A3 is testable, not implemented but evidence claims it"));
}

TEST_CASE("trace: JUnit of CTest and of the conformance runner, read with libxml2") {
  const std::string ctest = R"(<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="Linux-c++" tests="3" failures="1" disabled="0" skipped="1">
  <testcase name="test_card: locks" classname="test_card: locks" time="0.1" status="run">
    <system-out>ok</system-out></testcase>
  <testcase name="test_card: &quot;re-set&quot;" classname="x" time="0.1" status="fail">
    <failure message="Failed"/></testcase>
  <testcase name="test_card: skipped" classname="x" time="0" status="notrun">
    <skipped message="Disabled"/></testcase>
</testsuite>)";
  std::string error;
  const auto cases = parse_junit(ctest, error);
  REQUIRE(cases);
  REQUIRE(cases->size() == 3);
  CHECK((*cases)[0].outcome == Outcome::passed);
  CHECK((*cases)[1].name == "test_card: \"re-set\"");
  CHECK((*cases)[1].outcome == Outcome::failed);
  CHECK((*cases)[1].message == "Failed");
  CHECK((*cases)[2].outcome == Outcome::not_run);

  const std::string scripts = R"(<testsuites name="juki-script">
  <testsuite name="/src/specs/conformance/05-password.apdu" tests="2">
    <testcase classname="x" name="Three wrong tries lock it" time="0.001"/>
    <testcase classname="x" name="Re-set at the window" time="0.001">
      <failure type="mismatch" message="line 6: expected 9000">...</failure></testcase>
  </testsuite></testsuites>)";
  const auto sections = parse_junit(scripts, error);
  REQUIRE(sections);
  REQUIRE(sections->size() == 2);
  CHECK((*sections)[0].suite == "/src/specs/conformance/05-password.apdu");
  CHECK((*sections)[1].outcome == Outcome::failed);

  CHECK_FALSE(parse_junit("<testsuite><testcase name='x'>", error));
  CHECK(error.find("not well-formed XML") != std::string::npos);
  CHECK_FALSE(parse_junit("<html/>", error));
  CHECK(error.find("not a JUnit report") != std::string::npos);
}

TEST_CASE("trace: the report says pass, fail, not covered, not implemented, organisational") {
  Tree tree;
  const Table t =
      parse_requirements(std::string(kTable) + "| K3 | S0 | Locked for good | testable | — | |\n" +
                             "| K4 | S0 | Half run | testable | — | |\n",
                         "req.md");
  const Catalog c =
      catalog_of({{"K1", {"locks"}}, {"K3", {"re-set fails"}}, {"K4", {"locks", "never ran"}}});
  // CTest's names are TARGET:NAME; one with a space after the colon is taken too.
  std::vector<JunitCase> ctest{{"", "test_card:locks", Outcome::passed, ""},
                               {"", "test_card: re-set fails", Outcome::failed, "Failed"}};
  std::vector<JunitCase> scripts{
      {"/elsewhere/specs/conformance/05-password.apdu", "Three wrong tries lock it",
       Outcome::passed, ""},
      {"specs/conformance/05-password.apdu", "Re-set at the window", Outcome::passed, ""}};
  const Report r = make_report(t, c, tree.root, ctest, scripts);
  REQUIRE(r.results.size() == 7);
  std::map<std::string, Status> status;
  for (const auto& x : r.results) status[x.requirement.id] = x.status;
  CHECK(status["K1"] == Status::pass);  // its test and its section passed
  CHECK(status["K2"] == Status::pass);  // two sections, both passed
  CHECK(status["A3"] == Status::not_implemented);
  CHECK(status["O1"] == Status::organisational);
  CHECK(status["K3"] == Status::fail);         // a failed test fails the requirement
  CHECK(status["K4"] == Status::not_covered);  // one of its tests did not run
  CHECK(status["K5"] == Status::not_covered);  // its section is not in the scripts' JUnit
  CHECK_FALSE(r.all_testable_passed());
  CHECK(r.counts().at(Status::pass) == 2);

  const std::string text = to_text(r);
  CHECK(text.find("K3  fail") != std::string::npos);
  CHECK(text.find("failed  test  test_card:re-set fails  (tests/x.cpp:1): Failed") !=
        std::string::npos);
  CHECK(text.find("not run  test  test_card:never ran") != std::string::npos);
  CHECK(text.find("not implemented: no erasure job yet") != std::string::npos);
  CHECK(text.find("-- NOT ALL TESTABLE REQUIREMENTS PASSED") != std::string::npos);

  const nlohmann::json json = to_json(r);
  CHECK(json["ok"] == false);
  CHECK(json["counts"]["fail"] == 1);
  CHECK(json["counts"]["not covered"] == 2);
  CHECK(json["requirements"][0]["evidence"][1]["location"] ==
        "specs/conformance/05-password.apdu:3");

  const std::string html = to_html(r, "https://example.org/juki/blob/main");
  CHECK(html.find("<tr id=\"K3\" class=\"fail\">") != std::string::npos);
  CHECK(html.find("href=\"https://example.org/juki/blob/main/tests/x.cpp#L1\"") !=
        std::string::npos);
}

TEST_CASE("trace: a report where every testable requirement passed") {
  Tree tree;
  const Table t = parse_requirements(kHeader + "| K1 | S0 | a | testable | — | |\n", "req.md");
  const Report r = make_report(t, catalog_of({{"K1", {"locks"}}}), tree.root,
                               {{"", "test_card:locks", Outcome::passed, ""}}, {});
  CHECK(r.all_testable_passed());
  CHECK(to_text(r).find("K1  pass") != std::string::npos);
}

TEST_CASE("trace: juki-trace's exit statuses: 0 clean, 1 problems or not passed, 2 usage") {
  Tree tree;
  const auto run = [&](const std::string& args) {
    const std::string command =
        std::string(JUKI_TRACE_TOOL) + " " + args + " >" + (tree.root / "out").string() + " 2>&1";
    const int status = std::system(command.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  tree.write("programs.txt", std::string("fixture\t") + JUKI_TRACE_FIXTURE + "\n");
  tree.write("specs/requirements.md", kHeader + "| T1 | S0 | locks | testable | — | |\n" +
                                          "| T2.1 | S0 | again | testable | — | |\n");
  const std::string common =
      "--root " + tree.root.string() + " --programs " + (tree.root / "programs.txt").string();
  CHECK(run("--help") == 0);
  CHECK(run("") == 2);
  CHECK(run("check --no-such-option") == 2);
  CHECK(run("check --root " + tree.root.string() + " --programs /nonexistent") == 2);
  CHECK(run("check " + common) == 0);

  tree.write("specs/requirements.md", kHeader + "| T1 | S0 | locks | testable | — | |\n" +
                                          "| T2.1 | S0 | again | testable | — | |\n" +
                                          "| T3 | S0 | untested | testable | — | |\n");
  CHECK(run("check " + common) == 1);

  tree.write("junit.xml",
             "<testsuite>"
             "<testcase name='fixture:fixture: the card locks after three wrong passwords' "
             "status='run'/>"
             "<testcase name='fixture:fixture: a second test of the same requirement, and of "
             "another' status='fail'><failure message='Failed'/></testcase></testsuite>");
  CHECK(run("report " + common + " --ctest-junit " + (tree.root / "junit.xml").string() +
            " --html " + (tree.root / "report.html").string()) == 1);
  CHECK(fs::exists(tree.root / "report.html"));
  CHECK(run("report " + common) == 2);  // --ctest-junit is required
  CHECK(run("report " + common + " --ctest-junit " + (tree.root / "nothing.xml").string()) == 2);
}
