// The output and failure glue of the command-line tools
// (host_middleware/cli/cli_output.hpp): the bytes a failure leaves on stdout
// and stderr and the exit status, which scripts and the tools' tests read.
#include <catch2/catch.hpp>

#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "host_middleware/cli/cli_output.hpp"

using namespace juki::host::cli;

namespace {

// Collects what is written to std::cerr while it lives.
struct CaptureCerr {
  std::ostringstream got;
  std::streambuf* old = std::cerr.rdbuf(got.rdbuf());
  ~CaptureCerr() { std::cerr.rdbuf(old); }
};

std::string printed(const Output& out, bool as_json) {
  std::ostringstream s;
  print(out, as_json, s);
  return s.str();
}

}  // namespace

TEST_CASE("cli_output: text, or the document indented by 2 and a newline", "[cli]") {
  Output out("juki-test");
  out.doc = {{"ok", true}, {"n", 1}};
  out.text << "done\n";
  CHECK(printed(out, false) == "done\n");
  CHECK(printed(out, true) == "{\n  \"n\": 1,\n  \"ok\": true\n}\n");
}

TEST_CASE("cli_output: a failure replaces the output and names the tool on stderr", "[cli]") {
  Output out("juki-test");
  out.doc = {{"ok", true}, {"partial", "result"}};
  out.text << "half a result\n";
  CaptureCerr err;
  CHECK(fail(out, usage("--days must be positive")) == kExitUsage);
  CHECK(fail(out, {kExitIo, "io", "cannot read x"}) == kExitIo);
  CHECK(err.got.str() == "juki-test: --days must be positive\njuki-test: cannot read x\n");
  CHECK(printed(out, false).empty());
  CHECK(printed(out, true) ==
        "{\n  \"error\": {\n    \"kind\": \"io\",\n    \"message\": \"cannot read x\"\n  },\n"
        "  \"ok\": false\n}\n");
}

TEST_CASE("cli_output: CLI11's usage errors exit 2, a good command line goes on", "[cli]") {
  auto parse = [](std::vector<std::string> args) {
    CLI::App app{"test", "juki-test"};
    int n = 0;
    app.add_option("--n", n);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    CaptureCerr err;  // CLI11 explains the error there
    return parse_command_line(app, static_cast<int>(argv.size()), argv.data());
  };
  CHECK(parse({"juki-test", "--n", "3"}) == std::nullopt);
  CHECK(parse({"juki-test", "--bogus"}) == kExitUsage);
  CHECK(parse({"juki-test", "--n", "x"}) == kExitUsage);
}
