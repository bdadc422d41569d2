// juki-population, the executable: its commands, determinism of its bytes,
// the --municipality filters, and its exit codes.
#include <catch2/catch.hpp>

#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/run_program.hpp"
#include "support/temp_dir.hpp"

using juki::test::run;
using juki::test::slurp;
using juki::test::TempDir;
using nlohmann::json;

namespace {

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::string keep_municipality(const std::string& text, const std::string& code) {
  std::string out;
  for (const auto& line : split_lines(text))
    if (json::parse(line)["municipality"] == code) out += line + "\n";
  return out;
}

}  // namespace

TEST_CASE("juki-population: municipalities of a small country and of all Japan", "[population]") {
  TempDir dir;
  auto small = run(dir, JUKI_POPULATION,
                   {"--json", "municipalities", "--municipalities", "3", "--residents", "1000"});
  REQUIRE(small.exit == 0);
  const json doc = small.doc();
  REQUIRE(doc["ok"] == true);
  REQUIRE(doc["municipalities"].size() == 3);
  std::set<int> prefectures;
  int residents = 0;
  for (const auto& m : doc["municipalities"]) {
    prefectures.insert(m["prefecture_code"].get<int>());
    residents += m["residents"].get<int>();
  }
  CHECK(prefectures.size() == 2);
  CHECK(residents == 1000);
  CHECK(doc["municipalities"][0]["code"] == "131016");
  CHECK(doc["municipalities"][0]["name"] == "千代田区");
  CHECK(doc["municipalities"][0]["prefecture_server_code"] == "130001");

  auto all = run(dir, JUKI_POPULATION, {"--json", "municipalities"});
  REQUIRE(all.exit == 0);
  CHECK(all.doc()["municipalities"].size() == 1741);
  auto text = run(dir, JUKI_POPULATION, {"municipalities", "--municipalities", "3"});
  REQUIRE(text.exit == 0);
  CHECK(text.out.find("131016  東京都 千代田区") != std::string::npos);
}

TEST_CASE("juki-population: residents are the same bytes for a seed and one municipality a slice",
          "[population]") {
  TempDir dir;
  const std::vector<std::string> base = {"residents", "--seed",           "42", "--residents",
                                         "3000",      "--municipalities", "3"};
  auto first = run(dir, JUKI_POPULATION, base);
  REQUIRE(first.exit == 0);
  auto again = base;
  again.insert(again.end(), {"--out", dir.file("again.jsonl")});
  auto second = run(dir, JUKI_POPULATION, again);
  REQUIRE(second.exit == 0);
  CHECK(slurp(dir.file("again.jsonl")) == first.out);
  CHECK(second.out.find("3000 lines") != std::string::npos);
  const auto lines = split_lines(first.out);
  REQUIRE(lines.size() == 3000);
  for (const auto& line : lines) {
    const json j = json::parse(line);
    REQUIRE(j["reason"] == "code_entry");
    REQUIRE(j["date"] == "2002-08-05");
  }
  auto other = base;
  other[2] = "43";
  CHECK(run(dir, JUKI_POPULATION, other).out != first.out);

  auto only = base;
  only.insert(only.end(), {"--municipality", "131024"});
  auto sliced = run(dir, JUKI_POPULATION, only);
  REQUIRE(sliced.exit == 0);
  CHECK_FALSE(sliced.out.empty());
  CHECK(sliced.out == keep_municipality(first.out, "131024"));
  CHECK(sliced.out.rfind("{\"report\":\"20020805-000001\",\"municipality\":\"131024\"", 0) == 0);
}

TEST_CASE("juki-population: one resident by index or by code", "[population]") {
  TempDir dir;
  const std::vector<std::string> pop = {"--seed", "7", "--residents", "5000"};
  auto all = run(dir, JUKI_POPULATION, {"residents", "--seed", "7", "--residents", "5000"});
  REQUIRE(all.exit == 0);
  const auto lines = split_lines(all.out);
  auto args = std::vector<std::string>{"--json", "resident", "--index", "4321"};
  args.insert(args.end(), pop.begin(), pop.end());
  auto one = run(dir, JUKI_POPULATION, args);
  REQUIRE(one.exit == 0);
  json by_index = one.doc();
  CHECK(by_index["index"] == 4321);
  const json streamed = json::parse(lines[4321]);
  CHECK(by_index["resident"] == streamed["resident"]);
  CHECK(by_index["report"] == streamed["report"]);
  args = {"--json", "resident", "--code", streamed["resident"]["code"]};
  args.insert(args.end(), pop.begin(), pop.end());
  auto by_code = run(dir, JUKI_POPULATION, args);
  REQUIRE(by_code.exit == 0);
  CHECK(by_code.doc()["index"] == 4321);
}

TEST_CASE("juki-population: changes over days and one municipality's share of them",
          "[population]") {
  TempDir dir;
  const std::vector<std::string> base = {
      "changes", "--seed", "9", "--residents", "1000000", "--day", "2026-12-07", "--days", "3"};
  auto all = run(dir, JUKI_POPULATION, base);
  REQUIRE(all.exit == 0);
  const auto lines = split_lines(all.out);
  CHECK(lines.size() > 600);
  std::set<std::string> days;
  for (const auto& line : lines) days.insert(json::parse(line)["date"].get<std::string>());
  CHECK(days == std::set<std::string>{"2026-12-07", "2026-12-08", "2026-12-09"});
  CHECK(run(dir, JUKI_POPULATION, base).out == all.out);

  const std::string code = json::parse(lines.front())["municipality"];
  auto only = base;
  only.insert(only.end(), {"--municipality", code, "--out", dir.file("one.jsonl")});
  auto one = run(dir, JUKI_POPULATION, only);
  REQUIRE(one.exit == 0);
  CHECK(slurp(dir.file("one.jsonl")) == keep_municipality(all.out, code));
}

TEST_CASE("juki-population: usage and refusal and I/O exit codes", "[population]") {
  TempDir dir;
  CHECK(run(dir, JUKI_POPULATION, {"--help"}).exit == 0);
  CHECK(run(dir, JUKI_POPULATION, {}).exit == 2);
  CHECK(run(dir, JUKI_POPULATION, {"residents", "--residents", "1000"}).exit == 2);  // no seed
  CHECK(run(dir, JUKI_POPULATION, {"residents", "--seed", "1", "--residents", "999"}).exit == 2);
  CHECK(run(dir, JUKI_POPULATION,
            {"residents", "--seed", "1", "--residents", "1000", "--base-date", "2002-02-30"})
            .exit == 2);
  CHECK(run(dir, JUKI_POPULATION,
            {"residents", "--seed", "1", "--residents", "1000", "--base-date", "1973-12-31"})
            .exit == 2);  // births before 1868
  CHECK(run(dir, JUKI_POPULATION,
            {"changes", "--seed", "1", "--residents", "1000", "--day", "2001-12-31"})
            .exit == 2);
  CHECK(run(dir, JUKI_POPULATION,
            {"changes", "--seed", "1", "--residents", "1000", "--base-date", "9000-01-01", "--day",
             "9999-12-30", "--days", "3"})
            .exit == 2);  // past 9999-12-31
  CHECK(run(dir, JUKI_POPULATION,
            {"residents", "--seed", "1", "--residents", "1000", "--municipality", "131017"})
            .exit == 2);  // no such code
  auto refused = run(dir, JUKI_POPULATION,
                     {"--json", "residents", "--seed", "1", "--residents", "1000",
                      "--municipalities", "3", "--municipality", "012017"});
  CHECK(refused.exit == 1);
  CHECK(refused.doc()["error"]["kind"] == "not_in_population");
  CHECK(run(dir, JUKI_POPULATION,
            {"residents", "--seed", "1", "--residents", "1000", "--out", "/nonexistent/dir/x"})
            .exit == 3);
  CHECK(run(dir, JUKI_POPULATION,
            {"resident", "--seed", "1", "--residents", "1000", "--index", "1000"})
            .exit == 2);
}
