// APDU script format: parser, patterns, AES-CMAC and the runner against a
// scripted transport (specs/apdu-script.md).
#include <catch2/catch.hpp>

#include <unistd.h>

#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "card_os/nvm/storage.hpp"
#include "common/iso7816/status_words.hpp"
#include "host_middleware/crypto/host_crypto.hpp"
#include "host_middleware/script/script.hpp"
#include "simulator/in_process.hpp"
#include "support/test_card.hpp"

using namespace juki;
using namespace juki::host;
using namespace juki::host::script;

namespace {

Bytes hex(std::string_view text) {
  auto b = from_hex(text);
  REQUIRE(b);
  return *b;
}

Pattern pat(std::string_view text) {
  auto p = Pattern::parse(text);
  INFO(text);
  REQUIRE(p);
  return *p;
}

bool match(std::string_view pattern, std::string_view actual) {
  return pat(pattern).matches(hex(actual));
}

Script parse_ok(std::string_view text) {
  auto s = parse(text, "t.apdu");
  if (!s) FAIL(format(s.error(), "t.apdu"));
  return *s;
}

// The parse error for `text`; fails the test if it parses.
ParseError parse_err(std::string_view text) {
  auto s = parse(text, "t.apdu");
  INFO(text);
  REQUIRE_FALSE(s);
  return s.error();
}

// Answers commands from a queue and records what it was sent.
class ScriptedTransport final : public Transport {
 public:
  std::deque<Result<Bytes, TransportError>> responses;
  std::vector<Bytes> sent;
  Bytes current_atr = {0x3B, 0x00};
  Bytes next_atr = {0x3B, 0x01};
  int resets = 0, power_cycles = 0;

  void answer(std::string_view h) { responses.emplace_back(hex(h)); }
  void fail(std::string message) {
    responses.emplace_back(unexpected(TransportError{std::move(message)}));
  }

  Result<Bytes, TransportError> transmit(ByteView command) override {
    sent.emplace_back(command.begin(), command.end());
    if (responses.empty()) return unexpected(TransportError{"no scripted response"});
    auto r = std::move(responses.front());
    responses.pop_front();
    return r;
  }
  Result<Bytes, TransportError> reset() override {
    ++resets;
    current_atr = next_atr;
    return current_atr;
  }
  Result<Bytes, TransportError> power_cycle() override {
    ++power_cycles;
    current_atr = next_atr;
    return current_atr;
  }
  Bytes atr() const override { return current_atr; }
  std::string describe() const override { return "scripted"; }
};

}  // namespace

// --- Patterns --------------------------------------------------------------

TEST_CASE("pattern: exact bytes, case-insensitive, spaces between bytes") {
  CHECK(match("9000", "9000"));
  CHECK(match("90 00", "9000"));
  CHECK(match("6a 82", "6A82"));
  CHECK(match(" 6F\t01  9000 ", "6F019000"));
  CHECK_FALSE(match("9000", "6A82"));
  CHECK_FALSE(match("9000", "9001"));
}

TEST_CASE("pattern: length must match exactly without *") {
  CHECK_FALSE(match("9000", "009000"));
  CHECK_FALSE(match("9000", "900000"));
  CHECK_FALSE(match("9000", "90"));
  CHECK_FALSE(match("9000", ""));
  CHECK_FALSE(match(".. 9000", "9000"));
  CHECK_FALSE(match(".. 9000", "01029000"));
}

TEST_CASE("pattern: X nibbles") {
  for (int n = 0; n < 16; ++n) {
    Bytes sw{0x63, static_cast<std::uint8_t>(0xC0 | n)};
    CHECK(pat("63CX").matches(sw));
    CHECK(pat("63cx").matches(sw));
  }
  CHECK_FALSE(match("63CX", "63D0"));
  CHECK_FALSE(match("63CX", "62C0"));
  CHECK(match("X3C1", "F3C1"));
  CHECK_FALSE(match("X3C1", "F4C1"));
  CHECK(match("XX 9000", "A59000"));
  CHECK_FALSE(match("XX 9000", "9000"));
}

TEST_CASE("pattern: .. matches exactly one byte") {
  CHECK(match(".. 9000", "009000"));
  CHECK(match("....9000", "01029000"));
  CHECK(match("6F .. 01 9000", "6FFF019000"));
  CHECK_FALSE(match("6F .. 01 9000", "6FFF029000"));
}

TEST_CASE("pattern: * matches any run, at start, middle and end") {
  // start
  CHECK(match("* 9000", "9000"));
  CHECK(match("* 9000", "0102039000"));
  CHECK_FALSE(match("* 9000", "0102036A82"));
  // middle
  CHECK(match("6F * 9000", "6F9000"));
  CHECK(match("6F * 9000", "6F0A0B9000"));
  CHECK_FALSE(match("6F * 9000", "6E0A0B9000"));
  CHECK_FALSE(match("6F * 9000", "6F90"));  // * cannot share bytes with what follows
  // end
  CHECK(match("6F *", "6F"));
  CHECK(match("6F *", "6F0102"));
  CHECK_FALSE(match("6F *", "70"));
  // alone, repeated, several
  CHECK(match("*", ""));
  CHECK(match("*", "0102"));
  CHECK(match("** 9000", "019000"));
  CHECK(match("* 90 * 00", "0190020300"));
  CHECK(match("* 9000", "9000 9000"));  // backtracking: the last 9000 ends the response
  CHECK(match("* 63CX", "0163C5"));
  CHECK(match("* .. 9000", "019000"));
  CHECK_FALSE(match("* .. 9000", "9000"));
}

TEST_CASE("pattern: canonical text parses back to the same pattern") {
  for (std::string_view text :
       {"9000", "63CX", "* 9000", "6F * 9000", ".. .. 9000", "XX", "*", "6F .. 01 *"}) {
    CHECK(pat(text).to_string() == text);
    CHECK(pat(pat(text).to_string()) == pat(text));
  }
  CHECK(pat("6f*90 00").to_string() == "6F * 9000");
  CHECK(pat("x5").to_string() == "X5");
  CHECK(pat("**").to_string() == "*");
  CHECK(Pattern::exact(hex("0102")).to_string() == "0102");
}

TEST_CASE("pattern: malformed text is rejected") {
  CHECK_FALSE(Pattern::parse(""));
  CHECK_FALSE(Pattern::parse("   "));
  CHECK_FALSE(Pattern::parse("900"));    // odd digit count
  CHECK_FALSE(Pattern::parse("9 000"));  // a byte split by a space
  CHECK_FALSE(Pattern::parse("90G0"));
  CHECK_FALSE(Pattern::parse(". 9000"));
  CHECK_FALSE(Pattern::parse("9000."));
  CHECK_FALSE(Pattern::parse("90?0"));
}

// --- Parser: directives ------------------------------------------------------

TEST_CASE("parse: command and expected response") {
  auto s = parse_ok("> 00 a4 00 0C 02 3F00\n< 9000\n");
  CHECK(s.source == "t.apdu");
  REQUIRE(s.steps.size() == 1);
  CHECK(s.steps[0].line == 1);
  auto& e = std::get<Exchange>(s.steps[0].action);
  CHECK(e.command == hex("00A4000C023F00"));
  CHECK(e.expected == pat("9000"));
}

TEST_CASE("parse: comments, blank lines, CRLF, BOM, no final newline") {
  auto s = parse_ok(
      "\xEF\xBB\xBF# a comment line\r\n"
      "\r\n"
      "   \t\n"
      "> 00 B0 00 00 00   # read binary # twice commented\r\n"
      "# between command and response\n"
      "\n"
      "< * 9000 # anything then 9000\n"
      "== Section # comment after title\n"
      "reset#glued comment\n"
      "power-cycle");
  REQUIRE(s.steps.size() == 4);
  CHECK(s.steps[0].line == 4);
  CHECK(std::get<Exchange>(s.steps[0].action).command == hex("00B0000000"));
  CHECK(std::get<Exchange>(s.steps[0].action).expected == pat("* 9000"));
  CHECK(s.steps[1].line == 8);
  CHECK(std::get<Section>(s.steps[1].action).title == "Section");
  CHECK(s.steps[2].line == 9);
  CHECK(std::holds_alternative<Reset>(s.steps[2].action));
  CHECK(s.steps[3].line == 10);
  CHECK(std::holds_alternative<PowerCycle>(s.steps[3].action));
}

TEST_CASE("parse: section titles keep inner spaces and any text") {
  auto s = parse_ok("==  Transport key: wrong key locks after 10 tries  \n==x\n");
  CHECK(std::get<Section>(s.steps[0].action).title ==
        "Transport key: wrong key locks after 10 tries");
  CHECK(std::get<Section>(s.steps[1].action).title == "x");
}

TEST_CASE("parse: reset, power-cycle and keywords in any case") {
  auto s = parse_ok("reset\nRESET\nPower-Cycle\n");
  REQUIRE(s.steps.size() == 3);
  CHECK(std::holds_alternative<Reset>(s.steps[1].action));
  CHECK(std::holds_alternative<PowerCycle>(s.steps[2].action));
}

TEST_CASE("parse: atr") {
  auto s = parse_ok("atr 3B * \n");
  CHECK(std::get<AtrCheck>(s.steps[0].action).expected == pat("3B *"));
}

TEST_CASE("parse: auth with the default and an explicit expectation") {
  auto s = parse_ok(
      "auth 01 404142434445464748494A4B4C4D4E4F\n"
      "auth 81 40414243 44454647 48494A4B 4C4D4E4F 50515253 54555657 expect 63CX\n"
      "AUTH 02 00000000000000000000000000000000 00000000000000000000000000000000 EXPECT 6983\n");
  REQUIRE(s.steps.size() == 3);
  auto& a = std::get<Auth>(s.steps[0].action);
  CHECK(a.key_ref == 0x01);
  CHECK(a.key == hex("404142434445464748494A4B4C4D4E4F"));
  CHECK(a.expected == pat("9000"));
  auto& b = std::get<Auth>(s.steps[1].action);
  CHECK(b.key_ref == 0x81);
  CHECK(b.key.size() == 24);
  CHECK(b.expected == pat("63CX"));
  auto& c = std::get<Auth>(s.steps[2].action);
  CHECK(c.key.size() == 32);
  CHECK(c.expected == pat("6983"));
}

TEST_CASE("parse: variables in commands, patterns, atr, auth and other variables") {
  auto s = parse_ok(
      "set KEY 404142434445464748494A4B4C4D4E4F\n"
      "set REF 01\n"
      "set SW_OK 9000\n"
      "set FID 3F00\n"
      "set SELECT 00A4000C02 $FID   # a variable from a variable\n"
      "> $SELECT\n"
      "< $SW_OK\n"
      "> 00 A4 00 0C 02 ${FID}\n"
      "< * ${SW_OK}\n"
      "atr 3B * $SW_OK\n"
      "auth $REF $KEY expect $SW_OK\n"
      "set FID 2F01   # later lines see the new value\n"
      "> 00A4000C02$FID\n"
      "< 9000\n");
  REQUIRE(s.steps.size() == 5);
  CHECK(std::get<Exchange>(s.steps[0].action).command == hex("00A4000C023F00"));
  CHECK(std::get<Exchange>(s.steps[0].action).expected == pat("9000"));
  CHECK(std::get<Exchange>(s.steps[1].action).command == hex("00A4000C023F00"));
  CHECK(std::get<Exchange>(s.steps[1].action).expected == pat("* 9000"));
  CHECK(std::get<AtrCheck>(s.steps[2].action).expected == pat("3B * 9000"));
  auto& a = std::get<Auth>(s.steps[3].action);
  CHECK(a.key_ref == 0x01);
  CHECK(a.key == hex("404142434445464748494A4B4C4D4E4F"));
  CHECK(a.expected == pat("9000"));
  CHECK(std::get<Exchange>(s.steps[4].action).command == hex("00A4000C022F01"));
}

TEST_CASE("parse: variable names are case-sensitive, and ${} ends a name anywhere") {
  auto s = parse_ok("set a 01\nset A 02\nset a_1 03\nset B 0405\n> $a $A ${a_1}${B}\n< 9000\n");
  CHECK(std::get<Exchange>(s.steps[0].action).command == hex("0102030405"));
}

TEST_CASE("parse: fixed variables keep their value whatever the script sets, in includes too") {
  const Variables fixed{{"TK", hex("000102030405060708090A0B0C0D0E0F")}};
  auto loader = [](const std::string&) -> Result<std::string, std::string> {
    return std::string("set TK 404142434445464748494A4B4C4D4E4F\nauth 01 $TK\n");
  };
  auto s = parse(
      "> 00 $TK\n< 9000\nset TK 404142434445464748494A4B4C4D4E4F\nset OTHER 01\n"
      "> $OTHER $TK\n< 9000\ninclude lib.apdu\n",
      "fixed.apdu", loader, fixed);
  REQUIRE(s);
  REQUIRE(s->steps.size() == 3);
  CHECK(std::get<Exchange>(s->steps[0].action).command ==
        hex("00 000102030405060708090A0B0C0D0E0F"));
  CHECK(std::get<Exchange>(s->steps[1].action).command ==
        hex("01 000102030405060708090A0B0C0D0E0F"));
  CHECK(std::get<Auth>(s->steps[2].action).key == hex("000102030405060708090A0B0C0D0E0F"));
  // A `set` of a fixed name is still checked.
  auto bad = parse("set TK 4G\n", "bad.apdu", {}, fixed);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().line == 1);
}

// --- Parser: errors ------------------------------------------------------------

TEST_CASE("parse errors carry the line and say what is wrong") {
  struct Case {
    const char* text;
    std::size_t line;
    const char* needle;  // part of the message
  };
  const Case cases[] = {
      {"< 9000\n", 1, "without a command"},
      {"> 00A4\nreset\n", 2, "response to the command on line 1"},
      {"> 00A4\n== S\n< 9000\n", 2, "response to the command on line 1"},
      {"> 00A4\n> 00B0\n", 2, "response to the command on line 1"},
      {"\n\n> 00A4 # no response\n\n", 3, "without an expected response"},
      {">\n< 9000\n", 1, "no bytes"},
      {"> 00A4 0\n< 9000\n", 1, "incomplete byte"},
      {"> 00A4 0G\n< 9000\n", 1, "unexpected character 'G'"},
      {"> 00A4 XX\n< 9000\n", 1, "wildcards"},
      {"> 00A4 *\n< 9000\n", 1, "wildcards"},
      {"> 00A4 ..\n< 9000\n", 1, "wildcards"},
      {"> 00A4\n<\n", 2, "empty pattern"},
      {"> 00A4\n< 90 0\n", 2, "incomplete byte"},
      {"> 00A4\n< 9000 .\n", 2, "lone '.'"},
      {"> 00A4\n< 90\xE3\x81\x82\n", 2, "'\\xE3'"},
      {"==\n", 1, "section title missing"},
      {"== # only a comment\n", 1, "section title missing"},
      {"reset now\n", 1, "unexpected text after \"reset\""},
      {"power-cycle 1\n", 1, "unexpected text after \"power-cycle\""},
      {"atr\n", 1, "atr: pattern missing"},
      {"atr 3B 0\n", 1, "incomplete byte"},
      {"auth\n", 1, "KEYREF and KEY missing"},
      {"auth 0101 404142434445464748494A4B4C4D4E4F\n", 1, "KEYREF must be one hex byte"},
      {"auth 0X 404142434445464748494A4B4C4D4E4F\n", 1, "KEYREF must be one hex byte"},
      {"auth 01\n", 1, "16, 24 or 32 bytes, got 0"},
      {"auth 01 4041424344454647\n", 1, "16, 24 or 32 bytes, got 8"},
      {"auth 01 404142434445464748494A4B4C4D4E4F 00\n", 1, "got 17"},
      {"auth 01 404142434445464748494A4B4C4D4E4X\n", 1, "wildcards"},
      {"auth 01 404142434445464748494A4B4C4D4E4F expect\n", 1, "pattern missing after"},
      {"auth 01 404142434445464748494A4B4C4D4E4F expect 6\n", 1, "incomplete byte"},
      {"set\n", 1, "NAME and HEX missing"},
      {"set K\n", 1, "value missing"},
      {"set 1K 00\n", 1, "invalid variable name"},
      {"set K-1 00\n", 1, "invalid variable name"},
      {"set K 0\n", 1, "incomplete byte"},
      {"set K 9X\n", 1, "wildcards"},
      {"> 00A4 $NOPE\n< 9000\n", 1, "undefined variable $NOPE"},
      {"set K 01\n> 00A4\n< 90 $k\n", 3, "undefined variable $k"},
      {"> 00A4 $\n< 9000\n", 1, "'$' must be followed by a variable name"},
      {"> 00A4 ${K\n< 9000\n", 1, "unterminated"},
      {"> 00A4 ${1K}\n< 9000\n", 1, "invalid variable name"},
      {"set K 01\n> 00A4 $K-\n< 9000\n", 2, "unexpected character '-'"},
      {"atr $X\n", 1, "undefined variable $X"},
      {"auth $R 404142434445464748494A4B4C4D4E4F\n", 1, "undefined variable $R"},
      {"transmit 00A4\n", 1, "unknown directive \"transmit\""},
      {"9000\n", 1, "unknown directive"},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    ParseError e = parse_err(c.text);
    CHECK(e.line == c.line);
    CHECK_THAT(e.message, Catch::Contains(c.needle));
  }
}

TEST_CASE("a variable is only known from its set line on") {
  ParseError e = parse_err("> $K\n< 9000\nset K 01\n");
  CHECK(e.line == 1);
}

TEST_CASE("parse error format is file:line: message") {
  CHECK(format(ParseError{12, "boom"}, "a/b.apdu") == "a/b.apdu:12: boom");
  CHECK(format(ParseError{0, "boom"}, "a/b.apdu") == "a/b.apdu: boom");
}

// --- AES-CMAC ---------------------------------------------------------------

TEST_CASE("AES-CMAC: RFC 4493 examples (AES-128)") {
  const Bytes key = hex("2b7e151628aed2a6abf7158809cf4f3c");
  const Bytes m =
      hex("6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51"
          "30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710");
  auto mac = [&](std::size_t len) {
    auto r = crypto::aes_cmac(key, ByteView(m).first(len));
    REQUIRE(r);
    return *r;
  };
  CHECK(mac(0) == hex("bb1d6929e95937287fa37d129b756746"));   // Example 1
  CHECK(mac(16) == hex("070a16b46b4d4144f79bdd9dd04a287c"));  // Example 2
  CHECK(mac(40) == hex("dfa66747de9ae63030ca32611497c827"));  // Example 3
  CHECK(mac(64) == hex("51f0bebf7e3b9d92fc49741779363cfe"));  // Example 4
}

TEST_CASE("AES-CMAC: NIST SP 800-38B examples for AES-192 and AES-256") {
  const Bytes m = hex("6bc1bee22e409f96e93d7e117393172a");
  auto k192 = crypto::aes_cmac(hex("8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b"), m);
  auto k256 =
      crypto::aes_cmac(hex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4"), m);
  REQUIRE(k192);
  REQUIRE(k256);
  CHECK(*k192 == hex("9e99a7bf31e710900662f65e617c5184"));
  CHECK(*k256 == hex("28a7023f452e8f82bd4bf28d8c37c35c"));
}

TEST_CASE("AES-CMAC: other key lengths are refused") {
  CHECK_FALSE(crypto::aes_cmac(Bytes(15), Bytes{}));
  CHECK_FALSE(crypto::aes_cmac(Bytes(0), Bytes{}));
}

// --- Runner ----------------------------------------------------------------

TEST_CASE("run: matching responses pass and count") {
  ScriptedTransport t;
  t.answer("9000");
  t.answer("6F0102039000");
  auto s = parse_ok("> 00A4000C023F00\n< 9000\n> 00B0000000\n< 6F * 9000\n");
  RunReport r = run(s, t);
  CHECK(r.ok());
  CHECK(r.source == "t.apdu");
  CHECK(r.transport == "scripted");
  CHECK(r.commands == 2);
  CHECK(r.checks == 2);
  CHECK(r.passed == 2);
  CHECK(r.mismatches.empty());
  CHECK_FALSE(r.aborted);
  REQUIRE(t.sent.size() == 2);
  CHECK(t.sent[0] == hex("00A4000C023F00"));
  CHECK(t.sent[1] == hex("00B0000000"));
}

TEST_CASE("run: a mismatch is reported with line, section, command, pattern and SW meaning") {
  ScriptedTransport t;
  t.answer("6A82");
  t.answer("9000");
  auto s = parse_ok(
      "== Selection\n"
      "> 00A4000C022F01\n"
      "< 9000\n"
      "> 00A4000C023F00\n"
      "< 9000\n");
  RunReport r = run(s, t);
  CHECK_FALSE(r.ok());
  CHECK(r.commands == 2);
  CHECK(r.checks == 2);
  CHECK(r.passed == 1);
  REQUIRE(r.mismatches.size() == 1);
  const Mismatch& m = r.mismatches[0];
  CHECK(m.line == 2);
  CHECK(m.section == "Selection");
  CHECK(m.what == "response");
  CHECK(m.command == hex("00A4000C022F01"));
  CHECK(m.expected == "9000");
  CHECK(m.actual == hex("6A82"));
  CHECK(m.actual_meaning == sw::meaning(0x6A82));

  auto j = to_json(r);
  CHECK(j["ok"] == false);
  CHECK(j["source"] == "t.apdu");
  CHECK(j["transport"] == "scripted");
  CHECK(j["commands"] == 2);
  CHECK(j["checks"] == 2);
  CHECK(j["passed"] == 1);
  CHECK(j["failed"] == 1);
  CHECK(j["aborted"].is_null());
  REQUIRE(j["mismatches"].size() == 1);
  CHECK(j["mismatches"][0]["line"] == 2);
  CHECK(j["mismatches"][0]["section"] == "Selection");
  CHECK(j["mismatches"][0]["what"] == "response");
  CHECK(j["mismatches"][0]["command"] == "00A4000C022F01");
  CHECK(j["mismatches"][0]["expected"] == "9000");
  CHECK(j["mismatches"][0]["actual"] == "6A82");
  CHECK(j["mismatches"][0]["actual_meaning"] == sw::meaning(0x6A82));

  std::string text = to_text(r);
  CHECK_THAT(text, Catch::Contains("t.apdu:2: [Selection] response mismatch: > 00 A4 00 0C 02 2F "
                                   "01 expected 9000, got 6A 82 (" +
                                   sw::meaning(0x6A82) + ")\n"));
  CHECK_THAT(text, Catch::EndsWith("t.apdu: 1 passed, 1 failed (2 commands)\n"));
}

TEST_CASE("run: a short response is a mismatch, not a crash") {
  ScriptedTransport t;
  t.answer("90");
  RunReport r = run(parse_ok("> 00A4\n< *\n> 00A4\n< 9000\n"), t);
  // "*" accepts even a one-byte answer; the second command gets no response.
  CHECK(r.passed == 1);
  REQUIRE(r.aborted);
  t.responses.clear();
  t.answer("90");
  r = run(parse_ok("> 00A4\n< 9000\n"), t);
  REQUIRE(r.mismatches.size() == 1);
  CHECK_THAT(r.mismatches[0].actual_meaning, Catch::Contains("no status word"));
}

TEST_CASE("run: a transport error stops the script and is reported") {
  ScriptedTransport t;
  t.answer("9000");
  t.fail("card removed");
  auto s = parse_ok(
      "> 00A4000C023F00\n< 9000\n"
      "== Reading\n"
      "> 00B0000000\n< * 9000\n"
      "> 00B0000000\n< * 9000\n");
  RunReport r = run(s, t);
  CHECK_FALSE(r.ok());
  CHECK(r.commands == 2);
  CHECK(r.checks == 1);
  CHECK(r.passed == 1);
  CHECK(r.mismatches.empty());
  REQUIRE(r.aborted);
  CHECK(r.aborted->line == 4);
  CHECK(r.aborted->section == "Reading");
  CHECK(r.aborted->message == "transport error: card removed");
  CHECK(t.sent.size() == 2);  // the third command was never sent
  auto j = to_json(r);
  CHECK(j["aborted"]["line"] == 4);
  CHECK(j["aborted"]["message"] == "transport error: card removed");
  CHECK_THAT(to_text(r), Catch::Contains("t.apdu:4: [Reading] transport error: card removed\n"));
  CHECK_THAT(to_text(r), Catch::Contains("stopped early"));
}

TEST_CASE("run: reset and power-cycle reach the transport, and atr checks the current ATR") {
  ScriptedTransport t;
  t.current_atr = hex("3B00");
  t.next_atr = hex("3B01");
  auto s = parse_ok(
      "atr 3B00        # the initial ATR\n"
      "atr 3B01        # mismatch\n"
      "reset\n"
      "atr 3B01\n"
      "atr 3B *\n"
      "power-cycle\n"
      "atr 3B 0X\n");
  RunReport r = run(s, t);
  CHECK(t.resets == 1);
  CHECK(t.power_cycles == 1);
  CHECK(r.commands == 0);
  CHECK(r.checks == 5);
  CHECK(r.passed == 4);
  REQUIRE(r.mismatches.size() == 1);
  CHECK(r.mismatches[0].line == 2);
  CHECK(r.mismatches[0].what == "ATR");
  CHECK(r.mismatches[0].command.empty());
  CHECK(r.mismatches[0].actual == hex("3B00"));
  CHECK(r.mismatches[0].actual_meaning.empty());
}

TEST_CASE("run: auth sends GET CHALLENGE, then EXTERNAL AUTHENTICATE with the CMAC") {
  const Bytes key = hex("404142434445464748494A4B4C4D4E4F");
  const Bytes challenge = hex("000102030405060708090A0B0C0D0E0F");
  ScriptedTransport t;
  t.answer(to_hex(challenge) + "9000");
  t.answer("9000");
  t.answer(to_hex(challenge) + "9000");
  t.answer("63C4");
  auto s = parse_ok(
      "set KEY 404142434445464748494A4B4C4D4E4F\n"
      "auth 01 $KEY\n"
      "auth 02 $KEY expect 63CX\n");
  RunReport r = run(s, t);
  CHECK(r.ok());
  CHECK(r.commands == 4);
  CHECK(r.passed == 4);
  REQUIRE(t.sent.size() == 4);
  CHECK(t.sent[0] == hex("0084000010"));
  Bytes ext = hex("0082000110");
  auto mac = crypto::aes_cmac(key, challenge);
  REQUIRE(mac);
  ext.insert(ext.end(), mac->begin(), mac->end());
  CHECK(t.sent[1] == ext);
  CHECK(t.sent[2] == hex("0084000010"));
  CHECK(t.sent[3][3] == 0x02);
}

TEST_CASE("run: auth reports a failed EXTERNAL AUTHENTICATE against its pattern") {
  ScriptedTransport t;
  t.answer("000102030405060708090A0B0C0D0E0F 9000");
  t.answer("63C9");
  RunReport r = run(parse_ok("== Transport key\nauth 01 404142434445464748494A4B4C4D4E4F\n"), t);
  REQUIRE(r.mismatches.size() == 1);
  CHECK(r.mismatches[0].line == 2);
  CHECK(r.mismatches[0].section == "Transport key");
  CHECK(r.mismatches[0].what == "EXTERNAL AUTHENTICATE (auth 01)");
  CHECK(r.mismatches[0].expected == "9000");
  CHECK(r.mismatches[0].actual == hex("63C9"));
  CHECK(r.mismatches[0].command.size() == 21);
}

TEST_CASE("run: auth stops at a bad challenge and the script goes on") {
  ScriptedTransport t;
  t.answer("6D00");                   // GET CHALLENGE not supported
  t.answer("0102030405060708 9000");  // challenge too short
  t.answer("9000");
  auto s = parse_ok(
      "auth 01 404142434445464748494A4B4C4D4E4F\n"
      "auth 01 404142434445464748494A4B4C4D4E4F\n"
      "> 00A4000C023F00\n< 9000\n");
  RunReport r = run(s, t);
  CHECK(r.commands == 3);  // no EXTERNAL AUTHENTICATE was sent
  CHECK(r.checks == 3);
  CHECK(r.passed == 1);
  REQUIRE(r.mismatches.size() == 2);
  CHECK(r.mismatches[0].what == "GET CHALLENGE (auth 01)");
  CHECK(r.mismatches[0].command == hex("0084000010"));
  CHECK(r.mismatches[0].actual == hex("6D00"));
  CHECK(r.mismatches[1].line == 2);
  CHECK(r.mismatches[1].actual == hex("01020304050607089000"));
  CHECK_FALSE(r.aborted);
}

TEST_CASE("run: the echo shows every command and response with its meaning") {
  ScriptedTransport t;
  t.answer("6A82");
  std::vector<std::string> lines;
  RunOptions options;
  options.echo = [&](std::string_view line) { lines.emplace_back(line); };
  RunReport r = run(parse_ok("== S\n> 00A4000C022F01\n< 9000\nreset\n"), t, options);
  CHECK(r.mismatches.size() == 1);
  REQUIRE(lines.size() == 5);
  CHECK(lines[0] == "t.apdu:1: == S");
  CHECK(lines[1] == "t.apdu:2: > 00 A4 00 0C 02 2F 01");
  CHECK(lines[2] == "t.apdu:2: < 6A 82  (" + sw::meaning(0x6A82) + ")");
  CHECK(lines[3] == "t.apdu:2: MISMATCH (response): expected 9000");
  CHECK(lines[4] == "t.apdu:4: reset: ATR 3B 01");
}

// --- Against an in-process card ----------------------------------------------

TEST_CASE("run: a script against a blank in-process card") {
  test::TestCard card;
  auto s = parse_ok(
      "set KEY 404142434445464748494A4B4C4D4E4F   # the test transport key\n"
      "set WRONG 404142434445464748494A4B4C4D4E40\n"
      "== Transport key\n"
      "atr 3B * 81 01 ..                           # life cycle: transport locked\n"
      "auth 01 $WRONG expect 63CX\n"
      "auth 01 $KEY\n"
      "> 00 A4 00 0C 02 3F 00\n"
      "< 9000\n"
      "power-cycle\n"
      "atr 3B * 81 03 ..                           # personalization\n"
      "reset\n"
      "atr 3B * 81 03 ..\n");
  std::vector<std::string> echo;
  RunOptions options;
  options.echo = [&](std::string_view line) { echo.emplace_back(line); };
  RunReport r = run(s, card.transport(), options);
  INFO(to_text(r));
  CHECK(r.ok());
  CHECK(r.transport == "in-process card");
  CHECK(r.commands == 5);
  CHECK(r.checks == 8);
  CHECK(r.passed == 8);
  CHECK_FALSE(echo.empty());
}

TEST_CASE("run: mismatches against a real card name the status word") {
  test::TestCard card;
  auto s = parse_ok(
      "auth 01 404142434445464748494A4B4C4D4E40   # wrong key, expected to pass\n"
      "> 00 A4 00 0C 02 2F 77\n"
      "< 9000\n");
  RunReport r = run(s, card.transport());
  CHECK_FALSE(r.aborted);
  REQUIRE(r.mismatches.size() == 2);
  CHECK(r.mismatches[0].what == "EXTERNAL AUTHENTICATE (auth 01)");
  REQUIRE(r.mismatches[0].actual.size() == 2);
  CHECK(r.mismatches[0].actual[0] == 0x63);
  CHECK(r.mismatches[0].actual_meaning == sw::meaning(load_be16(r.mismatches[0].actual.data())));
  CHECK(r.mismatches[1].line == 2);
}

TEST_CASE("in-process transport: reset, power cycle, and a card that loses power") {
  card_os::NvmGeometry g;
  card_os::MemoryStorage medium(card_os::PersistentMemory::storage_size_for(g));
  card_os::DrbgRandom random(as_bytes("in-process transport"));
  card_os::FactoryProfile profile;
  profile.geometry = g;
  profile.transport_key = test::kTransportKey;
  profile.serial = test::kSerial;
  REQUIRE(card_os::Card::manufacture(medium, profile, random).ok());
  card_os::FaultInjector storage(medium);
  auto connected = sim::InProcessTransport::connect(storage, random);
  REQUIRE(connected);
  sim::InProcessTransport& t = **connected;
  CHECK(t.describe() == "in-process card");
  const Bytes atr = t.atr();
  REQUIRE(atr.size() > 2);
  CHECK(atr[0] == 0x3B);

  auto reset = t.reset();
  REQUIRE(reset);
  CHECK(*reset == atr);
  auto cold = t.power_cycle();
  REQUIRE(cold);
  CHECK(*cold == atr);
  CHECK(t.atr() == atr);

  // Cut the power at the first persistent write of a failed proof (the
  // retry counter goes down): the card goes mute.
  auto challenge = t.transmit(hex("0084000010"));
  REQUIRE(challenge);
  REQUIRE(challenge->size() == 18);
  storage.arm(storage.writes());
  auto torn = t.transmit(hex("0082000110 00000000000000000000000000000000"));
  REQUIRE(storage.fired());
  REQUIRE_FALSE(torn);
  CHECK(torn.error().message == "card is mute (power lost)");
  CHECK(t.atr().empty());
  auto again = t.transmit(hex("0084000010"));
  REQUIRE_FALSE(again);
  CHECK(again.error().message == "card is mute (power lost)");
  auto warm = t.reset();
  REQUIRE_FALSE(warm);
  CHECK_THAT(warm.error().message, Catch::Contains("power-cycle"));

  // A script sees the same thing as a transport error and stops.
  RunReport r = run(parse_ok("> 0084000010\n< * 9000\n> 0084000010\n< * 9000\n"), t);
  REQUIRE(r.aborted);
  CHECK(r.aborted->line == 1);
  CHECK(r.aborted->message == "transport error: card is mute (power lost)");
  r = run(parse_ok("== Recovery\nreset\natr *\n"), t);
  REQUIRE(r.aborted);
  CHECK(r.aborted->line == 2);
  CHECK(r.aborted->section == "Recovery");
  CHECK_THAT(r.aborted->message, Catch::StartsWith("transport error: reset: card is mute"));
  CHECK(r.checks == 0);

  storage.disarm();
  auto back = t.power_cycle();
  REQUIRE(back);
  CHECK(*back == atr);
  auto fresh = t.transmit(hex("0084000010"));
  REQUIRE(fresh);
  CHECK(fresh->size() == 18);
}

TEST_CASE("run: the example of specs/apdu-script.md passes on a blank in-process card") {
  std::ifstream in(JUKI_SOURCE_DIR "/specs/apdu-script.md");
  REQUIRE(in);
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string doc = buffer.str();
  const std::string open = "## Example\n\n```\n";
  const auto start = doc.find(open);
  REQUIRE(start != std::string::npos);
  const auto end = doc.find("```", start + open.size());
  REQUIRE(end != std::string::npos);
  auto s = parse(std::string_view(doc).substr(start + open.size(), end - start - open.size()),
                 "example.apdu");
  REQUIRE(s);
  test::TestCard card;
  RunReport r = run(*s, card.transport());
  INFO(to_text(r));
  CHECK(r.ok());
  CHECK(r.commands == 5);
  CHECK(r.checks == 7);
}

// ---------------------------------------------------------------- include

namespace {
// A loader over an in-memory set of files, recording what it was asked for.
struct FakeFiles {
  std::map<std::string, std::string> files;
  std::vector<std::string> asked;
  IncludeLoader loader() {
    return [this](const std::string& path) -> Result<std::string, std::string> {
      asked.push_back(path);
      auto it = files.find(path);
      if (it == files.end()) return unexpected(std::string("no such file"));
      return it->second;
    };
  }
};
}  // namespace

TEST_CASE("include: steps run in place and variables carry over to the includer") {
  FakeFiles fs;
  fs.files["lib/keys.apdu"] = "set K 0102\n> 00A4000C023F00\n< 9000\ninclude more.apdu\n";
  fs.files["lib/more.apdu"] = "set L $K 03\n";
  auto s = parse("include lib/keys.apdu\n> 00B0 $L\n< 9000\n", "main.apdu", fs.loader());
  REQUIRE(s);
  REQUIRE(s->steps.size() == 2);
  CHECK(s->steps[0].file == "lib/keys.apdu");
  CHECK(s->steps[0].line == 2);
  CHECK(s->steps[1].file.empty());
  CHECK(std::get<Exchange>(s->steps[1].action).command == hex("00B0010203"));
  // Nested includes resolve relative to the including file.
  CHECK(fs.asked == std::vector<std::string>{"lib/keys.apdu", "lib/more.apdu"});
}

TEST_CASE("include: errors name the included file and stop parsing") {
  FakeFiles fs;
  fs.files["bad.apdu"] = "> 00A4\n";
  fs.files["loop.apdu"] = "include loop.apdu\n";
  auto e = parse("# x\ninclude bad.apdu\n", "main.apdu", fs.loader());
  REQUIRE_FALSE(e);
  CHECK(e.error().line == 2);
  CHECK_THAT(e.error().message, Catch::Contains("bad.apdu:1:"));
  auto missing = parse("include none.apdu\n", "main.apdu", fs.loader());
  REQUIRE_FALSE(missing);
  CHECK_THAT(missing.error().message, Catch::Contains("no such file"));
  auto loop = parse("include loop.apdu\n", "main.apdu", fs.loader());
  REQUIRE_FALSE(loop);
  CHECK_THAT(loop.error().message, Catch::Contains("nested more than 8"));
  auto no_loader = parse("include x.apdu\n", "main.apdu");
  REQUIRE_FALSE(no_loader);
  CHECK_THAT(no_loader.error().message, Catch::Contains("not available"));
  CHECK_FALSE(parse("include\n", "main.apdu", fs.loader()));
}

TEST_CASE("include: a mismatch inside an included file is reported there") {
  FakeFiles fs;
  fs.files["lib.apdu"] = "\n> 00A4000C023F00\n< 9000\n";
  auto s = parse("include lib.apdu\n", "main.apdu", fs.loader());
  REQUIRE(s);
  ScriptedTransport t;
  t.answer("6A82");
  RunReport r = run(*s, t);
  REQUIRE(r.mismatches.size() == 1);
  CHECK(r.mismatches[0].file == "lib.apdu");
  CHECK(r.mismatches[0].line == 2);
  CHECK_THAT(to_text(r), Catch::Contains("lib.apdu:2:"));
  CHECK(to_json(r)["mismatches"][0]["file"] == "lib.apdu");
}

TEST_CASE("parse_file reads includes relative to the script's folder") {
  const std::string dir = "/tmp/juki-test-include-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir + "/lib");
  std::ofstream(dir + "/lib/a.apdu") << "set A 3F00\n";
  std::ofstream(dir + "/main.apdu") << "include lib/a.apdu\n> 00A4000C02 $A\n< 9000\n";
  auto s = parse_file(dir + "/main.apdu");
  std::filesystem::remove_all(dir);
  REQUIRE(s);
  CHECK(std::get<Exchange>(s->steps[0].action).command == hex("00A4000C023F00"));
  auto missing = parse_file(dir + "/main.apdu");
  REQUIRE_FALSE(missing);
  CHECK_THAT(missing.error().message, Catch::Contains("cannot read"));
}
