// The host trace (TracingTransport: juki-terminal's and juki-issuer's --trace,
// juki-demo) prints no PIN, key or key proof unless told to, and says what it
// left out (issue 12; specs/apdu-script.md "The host trace").
#include <catch2/catch.hpp>

#include <sstream>

#include "host_middleware/transport/tracing.hpp"
#include "support/secret_commands.hpp"
#include "support/test_card.hpp"

using namespace juki;
using namespace juki::test;

namespace {

// The secret commands through a TracingTransport on a blank card; the trace.
std::string traced_run(apdu_text::Secrets secrets, SecretRun& run) {
  TestCard card;
  std::ostringstream out;
  host::TracingTransport t(card.transport(), out, secrets);
  run = run_secret_commands([&](const Bytes& command) {
    auto r = t.transmit(command);
    REQUIRE(r.ok());
    return *r;
  });
  return out.str();
}

}  // namespace

TEST_CASE("host trace: the data of PIN and key commands is redacted, its length kept", "[trace]") {
  SecretRun run;
  const std::string trace = traced_run(apdu_text::Secrets::redact, run);
  check_trace(trace, run, false, true);
  CHECK_THAT(trace, Catch::Contains(
                        "  > 00 20 00 01 04 XX XX XX XX   [VERIFY, data redacted (4 bytes: PIN)]\n"
                        "  < 90 00   9000 "));
  std::string xx = "XX";
  for (int i = 1; i < 25; ++i) xx += " XX";
  CHECK_THAT(trace, Catch::Contains("  > 00 DA 00 A1 19 " + xx +
                                    "   [PUT DATA, data redacted (25 bytes: PIN template)]\n"));
  // Everything else as before: the header, Lc, responses in full.
  CHECK_THAT(trace, Catch::Contains("  > 00 84 00 00 10   [GET CHALLENGE]\n  < "));
}

TEST_CASE("host trace: with secrets shown, the values are there and marked", "[trace]") {
  SecretRun run;
  const std::string trace = traced_run(apdu_text::Secrets::show, run);
  check_trace(trace, run, true, true);
  CHECK_THAT(trace, Catch::Contains("  > 00 20 00 01 04 37 33 39 31   [VERIFY, secret shown (4 "
                                    "bytes: PIN)]\n"));
}
