// The control protocol parser (specs/simulator.md, "Control interface").
#include <stdlib.h>

#include <catch2/catch.hpp>

#include "simulator/sim/control_protocol.hpp"

using namespace juki::sim;
using namespace juki::sim::control;

namespace {

Command ok(std::string_view line) {
  auto c = parse(line);
  INFO(line << " -> " << (c ? std::string("ok") : c.error()));
  REQUIRE(c.ok());
  // Every command survives format() and parse() again.
  auto again = parse(format(*c));
  REQUIRE(again.ok());
  CHECK(*again == *c);
  return *c;
}

std::string error_of(std::string_view line) {
  auto c = parse(line);
  INFO(line);
  REQUIRE_FALSE(c.ok());
  return c.error();
}

}  // namespace

TEST_CASE("control: every command") {
  CHECK(ok("status") == Command(Status{}));
  CHECK(ok("help") == Command(Help{}));
  CHECK(ok("shutdown") == Command(Shutdown{}));
  CHECK(ok("insert 0 /tmp/card.img") == Command(Insert{0, "/tmp/card.img"}));
  CHECK(ok("remove 3") == Command(Remove{3}));
  CHECK(ok("swap 1 b.img") == Command(Swap{1, "b.img"}));
  CHECK(ok("tear 0 5") == Command(Tear{0, 5, 0}));
  CHECK(ok("tear 0 1 7") == Command(Tear{0, 1, 7}));
  CHECK(ok("tear 0 off") == Command(Tear{0, std::nullopt, 0}));
  CHECK(ok("mute 2 on") == Command(Mute{2, true}));
  CHECK(ok("mute 2 off") == Command(Mute{2, false}));
  CHECK(ok("latency 0 30") == Command(Latency{0, 30}));
  CHECK(ok("latency 0 0") == Command(Latency{0, 0}));
  CHECK(ok("remove-after 1 4") == Command(RemoveAfter{1, 4}));
  CHECK(ok("remove-after 1 off") == Command(RemoveAfter{1, std::nullopt}));
  CHECK(ok("reader-timeout 0 1500") == Command(ReaderTimeout{0, 1500}));
  CHECK(ok("reader-timeout 0 off") == Command(ReaderTimeout{0, std::nullopt}));
  CHECK(ok("misanswer 0 00A4 6A82") ==
        Command(Misanswer{0, MisanswerRule{{0x00, 0xA4}, {0x6A, 0x82}}}));
  CHECK(ok("misanswer 1 0020008104 0102039000") ==
        Command(Misanswer{
            1, MisanswerRule{{0x00, 0x20, 0x00, 0x81, 0x04}, {0x01, 0x02, 0x03, 0x90, 0x00}}}));
  CHECK(ok("misanswer 0 off") == Command(Misanswer{0, std::nullopt}));
  CHECK(ok("trace /tmp/t.log") == Command(Trace{"/tmp/t.log"}));
  CHECK(ok("trace off") == Command(Trace{std::nullopt}));
}

TEST_CASE("control: blanks, CR and paths with blanks") {
  CHECK(ok("  status  ") == Command(Status{}));
  CHECK(ok("status\r") == Command(Status{}));
  CHECK(ok("insert\t0\t/tmp/my card.img  ") == Command(Insert{0, "/tmp/my card.img"}));
  CHECK(ok("trace /tmp/a b/trace.log") == Command(Trace{"/tmp/a b/trace.log"}));
}

TEST_CASE("control: errors say what is wrong") {
  CHECK(error_of("").find("empty") != std::string::npos);
  CHECK(error_of("frobnicate 1").find("unknown command 'frobnicate'") != std::string::npos);
  CHECK(error_of("STATUS").find("unknown command") != std::string::npos);
  CHECK(error_of("insert").find("missing SLOT") != std::string::npos);
  CHECK(error_of("insert 0").find("missing IMAGE") != std::string::npos);
  CHECK(error_of("insert x a.img").find("SLOT must be a number") != std::string::npos);
  CHECK(error_of("remove -1").find("SLOT must be a number") != std::string::npos);
  CHECK(error_of("remove 64").find("SLOT must be a number") != std::string::npos);
  CHECK(error_of("remove 0 now").find("unexpected 'now'") != std::string::npos);
  CHECK(error_of("tear 0").find("missing N") != std::string::npos);
  CHECK(error_of("tear 0 0").find("N must be a number from 1") != std::string::npos);
  CHECK(error_of("tear 0 1 70000").find("PREFIX") != std::string::npos);
  CHECK(error_of("tear 0 1 2 3").find("unexpected") != std::string::npos);
  CHECK(error_of("mute 0 yes").find("'on' or 'off'") != std::string::npos);
  CHECK(error_of("latency 0 +5").find("MS must be a number") != std::string::npos);
  CHECK(error_of("latency 0 600001").find("MS") != std::string::npos);
  CHECK(error_of("remove-after 0 0").find("N must be") != std::string::npos);
  CHECK(error_of("reader-timeout 0 0").find("MS must be") != std::string::npos);
  CHECK(error_of("misanswer 0").find("missing PREFIX") != std::string::npos);
  CHECK(error_of("misanswer 0 00A4").find("missing RESPONSE") != std::string::npos);
  CHECK(error_of("misanswer 0 00A 6A82").find("PREFIX must be") != std::string::npos);
  CHECK(error_of("misanswer 0 00A4 90").find("RESPONSE must be 2 to 258") != std::string::npos);
  CHECK(error_of("misanswer 0 00A4 6A82 9000").find("unexpected") != std::string::npos);
  CHECK(error_of("misanswer 0 " + std::string(2 * 262, '0') + " 9000").find("PREFIX") !=
        std::string::npos);
  CHECK(error_of("trace").find("missing FILE") != std::string::npos);
  CHECK(error_of("status now").find("unexpected") != std::string::npos);
  CHECK(error_of("insert 0 a\x01.img").find("control character") != std::string::npos);
  CHECK(error_of(std::string(5000, 'a')).find("too long") != std::string::npos);
  CHECK(error_of("latency 0 99999999999999999999999").find("MS") != std::string::npos);
}

TEST_CASE("control: the default socket path follows the environment") {
  ::setenv("JUKI_SIM_SOCKET", "/tmp/x.sock", 1);
  CHECK(default_control_socket() == "/tmp/x.sock");
  ::unsetenv("JUKI_SIM_SOCKET");
  ::setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
  CHECK(default_control_socket() == "/run/user/1000/juki-card-sim.sock");
  ::unsetenv("XDG_RUNTIME_DIR");
  CHECK(default_control_socket().rfind("/tmp/juki-card-sim-", 0) == 0);
}

TEST_CASE("control: the summary lists every verb") {
  const std::string s = summary();
  for (const char* verb :
       {"insert", "remove", "swap", "status", "tear", "mute", "latency", "remove-after",
        "reader-timeout", "misanswer", "trace", "help", "shutdown"})
    CHECK(s.find(verb) != std::string::npos);
}
