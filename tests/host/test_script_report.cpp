// Every step of a script run, in order, and the reports made of it: JUnit XML
// (a testcase per section, a failure per mismatching section, an error where
// a run stopped) and a self-contained HTML page, escaped whatever a script
// holds.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <deque>
#include <fstream>
#include <string>

#include "host_middleware/script/report.hpp"
#include "host_middleware/script/script.hpp"
#include "support/temp_dir.hpp"

using namespace juki;
using namespace juki::host::script;

namespace {

// Answers from a queue; an empty queue is a transport error.
class Answers final : public Transport {
 public:
  std::deque<Bytes> responses;
  void answer(std::string_view h) { responses.push_back(*from_hex(h)); }
  Result<Bytes, TransportError> transmit(ByteView) override {
    if (responses.empty()) return unexpected(TransportError{"card removed"});
    auto r = std::move(responses.front());
    responses.pop_front();
    return r;
  }
  Result<Bytes, TransportError> reset() override { return Bytes{0x3B, 0x01}; }
  Result<Bytes, TransportError> power_cycle() override { return Bytes{0x3B, 0x02}; }
  Bytes atr() const override { return {0x3B, 0x00}; }
  std::string describe() const override { return "answers <test> & co"; }
};

Script parsed(std::string_view text, std::string name) {
  auto s = parse(text, std::move(name));
  REQUIRE(s);
  return *s;
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("a run's trace holds every step in order, with its verdict and time") {
  Answers t;
  t.answer("9000");
  t.answer("6A82");
  auto r = run(
      parsed("> 00A4000C023F00\n< 9000\n== Read <EF>\nreset\n> 00B0000000\n< 9000\n", "a.apdu"), t);
  REQUIRE(r.trace.size() == 4);
  CHECK(r.trace[0].what == "response");
  CHECK(r.trace[0].passed);
  CHECK(r.trace[0].command == *from_hex("00A4000C023F00"));
  CHECK(r.trace[0].expected == "9000");
  CHECK(r.trace[1].what == "section");
  CHECK(r.trace[1].section == "Read <EF>");
  CHECK(r.trace[2].what == "reset");
  CHECK(r.trace[2].actual == Bytes{0x3B, 0x01});
  CHECK(r.trace[2].expected.empty());
  CHECK(r.trace[3].line == 5);
  CHECK_FALSE(r.trace[3].passed);
  CHECK(r.trace[3].actual == Bytes{0x6A, 0x82});
  for (std::size_t i = 1; i < r.trace.size(); ++i) CHECK(r.trace[i].at_ms >= r.trace[i - 1].at_ms);
  CHECK(r.duration_ms >= r.trace.back().at_ms);
  CHECK(r.started_at.size() == 20);  // 2026-12-07T10:36:53Z
  CHECK(r.started_at.back() == 'Z');
}

TEST_CASE(
    "JUnit: a testcase per section, failures where responses differ, an error where it stopped") {
  Answers t;
  t.answer("9000");  // (start): passes
  t.answer("6A82");  // Selection: fails
  t.answer("9000");
  auto failing = run(parsed("> 00A4\n< 9000\n"
                            "== Selection\n> 00A4000C022F01\n< 9000\n> 00A4\n< 9000\n"
                            "== Reading \"quoted\" & <tagged>\n> 00B0000000\n< * 9000\n",
                            "b.apdu"),
                     t);  // the fourth command finds no answer: stopped
  Answers u;
  u.answer("9000");
  auto passing = run(parsed("== Only\n> 00A4\n< 9000\n", "c.apdu"), u);
  const std::vector<RunReport> reports{failing, passing};
  const std::string xml = to_junit(reports, "suite & more");

  CHECK(
      xml.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"suite &amp; more\" "
                "tests=\"4\" failures=\"1\" errors=\"1\">",
                0) == 0);
  CHECK(count(xml, "<testsuite ") == 2);
  CHECK(count(xml, "<testcase ") == 4);
  CHECK_THAT(xml,
             Catch::Contains("<testsuite name=\"b.apdu\" tests=\"3\" failures=\"1\" errors=\"1\""));
  CHECK_THAT(xml, Catch::Contains("<testcase classname=\"b.apdu\" name=\"Selection\""));
  CHECK_THAT(xml, Catch::Contains("b.apdu:4: response mismatch: &gt; 00 A4 00 0C 02 2F 01 expected "
                                  "9000, got 6A 82"));
  CHECK_THAT(xml, Catch::Contains("name=\"Reading &quot;quoted&quot; &amp; &lt;tagged&gt;\""));
  CHECK_THAT(xml,
             Catch::Contains("<error type=\"stopped\" message=\"transport error: card removed\""));
  CHECK_THAT(xml, Catch::Contains(
                      "<property name=\"transport\" value=\"answers &lt;test&gt; &amp; co\"/>"));
  CHECK_THAT(xml,
             Catch::Contains("<testsuite name=\"c.apdu\" tests=\"1\" failures=\"0\" errors=\"0\""));

  // Well-formed XML, as a CI system's parser reads it.
  test::TempDir dir;
  std::ofstream(dir.file("report.xml")) << xml;
  CHECK(std::system(("xmllint --noout " + dir.file("report.xml")).c_str()) == 0);
}

TEST_CASE("HTML: every step of every script, escaped, with the verdicts") {
  Answers t;
  t.answer("9000");
  t.answer("6A82");
  auto r =
      run(parsed("== <script>alert(1)</script>\n> 00A4\n< 9000\n> 00B0\n< 9000\n", "d.apdu"), t);
  const std::vector<RunReport> reports{r};
  const std::string html = to_html(reports, "Vendor X & card Y");
  CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK_THAT(html, Catch::Contains("<title>Vendor X &amp; card Y</title>"));
  CHECK_THAT(html, Catch::Contains("1 scripts, 0 passed, 1 failed."));
  CHECK_FALSE(html.find("<script>") != std::string::npos);
  CHECK_THAT(html, Catch::Contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
  CHECK(count(html, "<tr class=\"pass\"><td>") == 1);  // the 00A4 step
  CHECK(count(html, "<tr class=\"fail\"><td>") == 2);  // the summary row and the 00B0 step
  CHECK_THAT(html, Catch::Contains("00 B0"));
  CHECK_THAT(html, Catch::Contains("6A 82 ("));
  CHECK_THAT(html, Catch::Contains(">FAIL</td>"));
  test::TempDir dir;
  std::ofstream(dir.file("report.html")) << html;
  CHECK(std::system(
            ("xmllint --html --noout " + dir.file("report.html") + " 2>/dev/null").c_str()) == 0);
}
