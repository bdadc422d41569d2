// The lockout audit's pure parts (host_middleware/audit/evidence): a control
// script's header, the steps of a run as evidence, and the report.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>

#include "host_middleware/audit/evidence.hpp"
#include "support/temp_dir.hpp"

using namespace juki;
using namespace juki::host::audit;

TEST_CASE("audit header: control, title, clauses, card and prepare before the first directive") {
  auto h = read_control_header(
      "# control: password\n"
      "# title: The password locks\n"
      "# A plain comment: ignored\n"
      "# clause: S0 §5-3\n"
      "#clause:   juki-ap.md 2.1  \n"
      "# card: active\n"
      "# prepare: lib/test-card.apdu\n"
      "set PW 31323334\n"
      "# clause: after the first directive: not the header\n");
  REQUIRE(h);
  CHECK(h->id == "password");
  CHECK(h->title == "The password locks");
  CHECK(h->clauses == std::vector<std::string>{"S0 §5-3", "juki-ap.md 2.1"});
  CHECK(h->card == "active");
  CHECK(h->prepare == "lib/test-card.apdu");
}

TEST_CASE("audit header: what is missing or doubled is refused by name") {
  CHECK(read_control_header("# title: t\n# clause: c\n").error().find("control") !=
        std::string::npos);
  CHECK(read_control_header("# control: x\n# clause: c\n").error().find("title") !=
        std::string::npos);
  CHECK(read_control_header("# control: x\n# title: t\n").error().find("clause") !=
        std::string::npos);
  CHECK(read_control_header("# control: x\n# control: y\n# title: t\n# clause: c\n")
            .error()
            .find("line 2: 'control' given twice") != std::string::npos);
  CHECK(read_control_header("# control:\n").error().find("without a value") != std::string::npos);
  // The header ends at the first directive: a control named after it is none.
  CHECK_FALSE(read_control_header("> 00A4\n< 9000\n# control: x\n# title: t\n# clause: c\n"));
}

TEST_CASE("audit evidence: a run's steps, the report as HTML and JSON, escaped") {
  host::script::RunReport run;
  run.source = "password.apdu";
  run.trace.push_back({"", 12, "Locked", "response", Bytes{0x00, 0x20, 0x00, 0x81}, "6983",
                       Bytes{0x63, 0xC0}, "verification failed, no tries left", false, 5.0});
  const auto steps = steps_of(run, 100.0);
  REQUIRE(steps.size() == 1);
  CHECK(steps[0].at_ms == 105.0);
  CHECK(steps[0].text == "password.apdu:12 [Locked] response (verification failed, no tries left)");
  CHECK_FALSE(steps[0].ok);

  AuditReport report;
  report.tool = "juki-audit card";
  report.reader = "Reader <1> & co";
  report.controls.push_back({"password",
                             "The password locks",
                             {"S0 §5-3 パスワード照合"},
                             ControlVerdict::fail,
                             "1 answer not as expected",
                             "card",
                             "0102",
                             "active",
                             "2026-12-07T00:00:00Z",
                             10,
                             steps});
  report.controls.push_back({"operator-pin",
                             "Operator PIN",
                             {"S4 第4-4(2)"},
                             ControlVerdict::not_run,
                             "no operator card",
                             {},
                             {},
                             {},
                             {},
                             0,
                             {}});
  CHECK_FALSE(report.passed());
  const std::string html = to_html(report);
  CHECK_THAT(html, Catch::Contains("Reader &lt;1&gt; &amp; co"));
  CHECK_THAT(html, Catch::Contains("S0 §5-3 パスワード照合"));
  CHECK_THAT(html, Catch::Contains("00 20 00 81"));
  CHECK_THAT(html, Catch::Contains("FAIL"));
  CHECK_THAT(html, Catch::Contains("not run: no operator card"));
  CHECK_THAT(html, Catch::Contains("1 control(s) failed (1 of 2 controls run)"));
  test::TempDir dir;
  std::ofstream(dir.file("r.html")) << html;
  CHECK(std::system(("xmllint --html --noout " + dir.file("r.html") + " 2>/dev/null").c_str()) ==
        0);
  const auto j = to_json(report);
  CHECK(j["passed"] == false);
  CHECK(j["controls"][0]["verdict"] == "fail");
  CHECK(j["controls"][0]["steps"][0]["command"] == "00200081");
  CHECK(j["controls"][1]["verdict"] == "not run");

  report.controls[0].verdict = ControlVerdict::pass;
  CHECK(report.passed());  // a control not run does not fail the audit
}
