// Differential runs: the conformance suite on two in-process cards, one of
// whose answers is altered on its way; the comparison names exactly that
// command, and nothing the scripts leave free (random data, serials).
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "host_middleware/script/differential.hpp"
#include "host_middleware/script/report.hpp"
#include "host_middleware/script/script.hpp"
#include "support/temp_dir.hpp"
#include "support/test_card.hpp"

using namespace juki;
using namespace juki::host::script;

namespace {

// A card whose answer to the `nth` command starting with `prefix` is replaced
// on its way back, as a faulty card or reader would give it.
class Misanswering final : public Transport {
 public:
  Misanswering(Transport& inner, Bytes prefix, int nth, Bytes answer)
      : inner_(inner), prefix_(std::move(prefix)), nth_(nth), answer_(std::move(answer)) {}
  Result<Bytes, TransportError> transmit(ByteView command) override {
    auto real = inner_.transmit(command);
    if (command.size() >= prefix_.size() &&
        std::equal(prefix_.begin(), prefix_.end(), command.begin()) && ++seen_ == nth_)
      return answer_;
    return real;
  }
  Result<Bytes, TransportError> reset() override { return inner_.reset(); }
  Result<Bytes, TransportError> power_cycle() override { return inner_.power_cycle(); }
  Bytes atr() const override { return inner_.atr(); }
  std::string describe() const override { return "misanswering " + inner_.describe(); }

 private:
  Transport& inner_;
  Bytes prefix_;
  int nth_;
  Bytes answer_;
  int seen_ = 0;
};

Script conformance(const std::string& name) {
  auto s = parse_file(std::string(JUKI_SOURCE_DIR) + "/specs/conformance/" + name);
  if (!s) FAIL(format(s.error(), name));
  return *s;
}

}  // namespace

TEST_CASE("differential: two cards of other random streams differ nowhere the script fixes") {
  // GET CHALLENGE, session keys and the like differ between the cards; the
  // scripts mark them free, so nothing is reported.
  for (const char* name : {"01-transport-key.apdu", "05-password.apdu", "11-hardening.apdu"}) {
    CAPTURE(name);
    const Script s = conformance(name);
    test::TestCard reference(test::test_geometry(), "reference card");
    test::TestCard candidate(test::test_geometry(), "candidate card");
    const RunReport a = run(s, reference.transport());
    const RunReport b = run(s, candidate.transport());
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    const Comparison c = compare(a, b);
    INFO(to_text(c));
    CHECK(c.same());
    CHECK(c.compared == a.checks);
  }
}

TEST_CASE("differential: a card that answers one command wrong is named for exactly that command") {
  const Script s = conformance("05-password.apdu");
  test::TestCard reference(test::test_geometry(), "reference card");
  test::TestCard card(test::test_geometry(), "candidate card");
  // The second VERIFY (00 20) the script sends is answered 6A88 instead.
  Misanswering candidate(card.transport(), Bytes{0x00, 0x20}, 2, Bytes{0x6A, 0x88});
  const RunReport a = run(s, reference.transport());
  const RunReport b = run(s, candidate);
  const Comparison c = compare(a, b);
  INFO(to_text(c));
  REQUIRE(c.differences.size() == 1);
  CHECK_FALSE(c.diverged);
  const Difference& d = c.differences[0];
  CHECK(d.command.size() >= 2);
  CHECK(d.command[0] == 0x00);
  CHECK(d.command[1] == 0x20);
  CHECK(d.candidate == Bytes{0x6A, 0x88});
  CHECK(d.reference != d.candidate);
  // It is the second VERIFY of the script: the same line as the run's own
  // mismatch on the candidate.
  REQUIRE(b.mismatches.size() == 1);
  CHECK(d.line == b.mismatches[0].line);
  CHECK(d.command == b.mismatches[0].command);
  const auto j = to_json(c);
  CHECK(j["same"] == false);
  CHECK(j["differences"].size() == 1);
  CHECK(j["differences"][0]["candidate"] == "6A88");
  CHECK_THAT(to_text(c), Catch::Contains("; candidate 6A 88 ("));
  CHECK_THAT(to_text(c), Catch::EndsWith(" steps compared, 1 difference\n"));
}

TEST_CASE("differential: a card that stops answering is reported where the runs part") {
  const Script s = conformance("05-password.apdu");
  test::TestCard reference(test::test_geometry(), "reference card");
  test::TestCard card(test::test_geometry(), "candidate card");
  // An empty answer: no status word, so the runner stops... no: a mismatch.
  // A transport that fails after a few commands stops the run instead.
  class Pulled final : public Transport {
   public:
    explicit Pulled(Transport& inner) : inner_(inner) {}
    Result<Bytes, TransportError> transmit(ByteView command) override {
      if (++sent_ > 5) return unexpected(TransportError{"card removed"});
      return inner_.transmit(command);
    }
    Result<Bytes, TransportError> reset() override { return inner_.reset(); }
    Result<Bytes, TransportError> power_cycle() override { return inner_.power_cycle(); }
    Bytes atr() const override { return inner_.atr(); }
    std::string describe() const override { return "pulled"; }

   private:
    Transport& inner_;
    int sent_ = 0;
  } pulled(card.transport());
  const RunReport a = run(s, reference.transport());
  const RunReport b = run(s, pulled);
  const Comparison c = compare(a, b);
  INFO(to_text(c));
  CHECK(c.differences.empty());
  REQUIRE(c.diverged);
  CHECK_THAT(*c.diverged,
             Catch::Contains("the reference ran to the end; the candidate stopped at"));
  CHECK_THAT(*c.diverged, Catch::Contains("card removed"));
  // The report pairs steps only up to there; the rest of each run is its own.
  REQUIRE(c.diverged_at);
  const std::vector<Comparison> cs{c};
  const std::vector<RunReport> as{a}, bs{b};
  const std::string html = to_html(cs, as, bs, "pulled");
  CHECK_THAT(html, Catch::Contains("reference only"));
  CHECK_THAT(html, Catch::Contains("card only"));
  CHECK_THAT(html, !Catch::Contains("DIFFERS"));
}

TEST_CASE("differential reports: JUnit names the differing script, HTML shows both answers") {
  const Script s = conformance("05-password.apdu");
  const Script same = conformance("01-transport-key.apdu");
  test::TestCard reference_card(test::test_geometry(), "reference card");
  test::TestCard card(test::test_geometry(), "candidate card");
  Misanswering candidate(card.transport(), Bytes{0x00, 0x20}, 2, Bytes{0x6A, 0x88});
  test::TestCard reference_card2(test::test_geometry(), "reference card 2");
  test::TestCard card2(test::test_geometry(), "candidate card 2");
  const std::vector<RunReport> reference{run(s, reference_card.transport()),
                                         run(same, reference_card2.transport())};
  const std::vector<RunReport> candidates{run(s, candidate), run(same, card2.transport())};
  const std::vector<Comparison> comparisons{compare(reference[0], candidates[0]),
                                            compare(reference[1], candidates[1])};
  REQUIRE(comparisons[0].differences.size() == 1);
  REQUIRE(comparisons[1].same());

  const std::string xml = to_junit(comparisons, candidates, "vendor run");
  // The candidate's own cases, then one case per script in "differential".
  CHECK_THAT(xml, Catch::Contains("<testsuite name=\"differential\" tests=\"2\" failures=\"1\""));
  CHECK_THAT(xml, Catch::Contains("<failure type=\"difference\" message=\"1 difference\">"));
  CHECK_THAT(xml, Catch::Contains("candidate 6A 88"));
  CHECK_THAT(xml, Catch::Contains("name=\"" + same.source + "\"/>"));
  test::TempDir dir;
  std::ofstream(dir.file("diff.xml")) << xml;
  CHECK(std::system(("xmllint --noout " + dir.file("diff.xml")).c_str()) == 0);

  const std::string html = to_html(comparisons, reference, candidates, "Vendor <X>");
  CHECK_THAT(html, Catch::Contains("Vendor &lt;X&gt;"));
  CHECK_THAT(html, Catch::Contains("2 scripts run on both cards: 1 answered alike, 1 differently"));
  // Exactly one step is marked, with both answers in its row.
  std::size_t marked = 0;
  for (auto at = html.find("DIFFERS"); at != std::string::npos; at = html.find("DIFFERS", at + 1))
    ++marked;
  CHECK(marked == 1);
  const auto row = html.rfind("<tr", html.find("DIFFERS"));
  const std::string marked_row = html.substr(row, html.find("</tr>", row) - row);
  CHECK_THAT(marked_row, Catch::Contains("6A 88"));
  const auto& d = comparisons[0].differences[0];
  CHECK_THAT(marked_row, Catch::Contains(to_hex(d.reference, true)));  // both answers, one row
  CHECK_THAT(marked_row, Catch::Contains("class=\"fail\""));
  std::ofstream(dir.file("diff.html")) << html;
  CHECK(std::system(("xmllint --html --noout " + dir.file("diff.html") + " 2>/dev/null").c_str()) ==
        0);
}
