// The PC/SC layer without a pcscd: T=0 completion (61XX, 6CXX) over a
// scripted raw exchange, PC/SC error mapping, and the "no service" error of a
// context when nothing listens on the socket.
#include <catch2/catch.hpp>

#include <stdlib.h>
#include <unistd.h>
#include <winscard.h>

#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "host_middleware/pcsc/pcsc.hpp"
#include "host_middleware/pcsc/t0.hpp"
#include "support/test_card.hpp"

using namespace juki;
using namespace juki::host;
using namespace juki::host::pcsc;
using juki::test::hex;

namespace {

// Answers from a queue and records every command it was sent.
struct ScriptedCard {
  std::deque<Result<Bytes, TransportError>> answers;
  std::vector<std::string> sent;

  void answer(std::string_view h) { answers.emplace_back(hex(h)); }
  void fail(std::string message) {
    answers.emplace_back(unexpected(TransportError{std::move(message)}));
  }

  RawTransmit raw() {
    return [this](ByteView command) -> Result<Bytes, TransportError> {
      sent.push_back(to_hex(command));
      REQUIRE_FALSE(answers.empty());
      auto r = std::move(answers.front());
      answers.pop_front();
      return r;
    };
  }
};

std::string run(ScriptedCard& card, std::string_view command, const T0Options& options = {}) {
  auto r = exchange_t0(hex(command), card.raw(), options);
  REQUIRE(r.ok());
  CHECK(card.answers.empty());  // every scripted answer was asked for
  return to_hex(*r);
}

std::string run_error(ScriptedCard& card, std::string_view command, const T0Options& options = {}) {
  auto r = exchange_t0(hex(command), card.raw(), options);
  REQUIRE_FALSE(r.ok());
  return r.error().message;
}

}  // namespace

TEST_CASE("with_short_le adds or replaces Le for short cases only", "[pcsc][t0]") {
  auto le = [](std::string_view cmd, std::uint8_t v) -> std::string {
    auto r = with_short_le(hex(cmd), v);
    return r ? to_hex(*r) : "none";
  };
  CHECK(le("00A40000", 0x10) == "00A4000010");                // case 1: added
  CHECK(le("00CADF2000", 0x04) == "00CADF2004");              // case 2S: replaced
  CHECK(le("00A4040C023F00", 0x1C) == "00A4040C023F001C");    // case 3S: added
  CHECK(le("00A40400023F0000", 0x1C) == "00A40400023F001C");  // case 4S: replaced
  CHECK(le("00B0000000FFFF", 0x10) == "none");                // extended case 2E
  CHECK(le("00D6000000000201020000", 0x10) == "none");        // extended case 4E
  CHECK(le("00A4040C053F00", 0x10) == "none");                // Lc and data disagree
  CHECK(le("00A4", 0x10) == "none");                          // not an APDU
}

TEST_CASE("GET RESPONSE keeps the logical channel and drops SM and chaining", "[pcsc][t0]") {
  CHECK(get_response_class(0x00) == 0x00);
  CHECK(get_response_class(0x03) == 0x03);
  CHECK(get_response_class(0x0C) == 0x00);  // SM header: GET RESPONSE goes plain
  CHECK(get_response_class(0x13) == 0x03);  // chaining bit dropped
  CHECK(get_response_class(0x80) == 0x00);  // proprietary: an ISO command on channel 0
  CHECK(get_response_class(0x81) == 0x01);
  CHECK(get_response_class(0x45) == 0x45);  // further interindustry: channel 9
  CHECK(get_response_class(0x65) == 0x45);  // ... with SM dropped
  CHECK(get_response_class(0x5F) == 0x4F);  // ... with chaining dropped
}

TEST_CASE("T=0: plain answers pass through in one exchange", "[pcsc][t0]") {
  ScriptedCard card;
  card.answer("01029000");
  CHECK(run(card, "00B0000002") == "01029000");
  CHECK(card.sent == std::vector<std::string>{"00B0000002"});

  ScriptedCard refused;
  refused.answer("6A82");
  CHECK(run(refused, "00A4000C025001") == "6A82");
  CHECK(refused.sent.size() == 1);
}

TEST_CASE("T=0: 61XX is followed by GET RESPONSE, chained until another SW", "[pcsc][t0]") {
  SECTION("one GET RESPONSE") {
    ScriptedCard card;
    card.answer("6110");
    card.answer("000102030405060708090A0B0C0D0E0F9000");
    CHECK(run(card, "00A40400023F00") == "000102030405060708090A0B0C0D0E0F9000");
    CHECK(card.sent == std::vector<std::string>{"00A40400023F00", "00C0000010"});
  }
  SECTION("chained, with the data of every piece in order") {
    ScriptedCard card;
    card.answer("6104");
    card.answer("AABBCCDD6102");
    card.answer("EEFF6283");  // the last SW is kept, warning or not
    CHECK(run(card, "00B0000000") == "AABBCCDDEEFF6283");
    CHECK(card.sent == std::vector<std::string>{"00B0000000", "00C0000004", "00C0000002"});
  }
  SECTION("6100 asks for 256 bytes with Le 00") {
    ScriptedCard card;
    card.answer("6100");
    card.answer("9000");
    CHECK(run(card, "00B0000000") == "9000");
    CHECK(card.sent.back() == "00C0000000");
  }
  SECTION("data that came with the 61XX is kept") {
    ScriptedCard card;
    card.answer("01026101");
    card.answer("039000");
    CHECK(run(card, "00B0000003") == "0102039000");
  }
  SECTION("on the command's logical channel") {
    ScriptedCard card;
    card.answer("6102");
    card.answer("AAAA9000");
    CHECK(run(card, "03B0000002") == "AAAA9000");
    CHECK(card.sent.back() == "03C0000002");
  }
  SECTION("an error after a 61XX ends the chain with that error") {
    ScriptedCard card;
    card.answer("6102");
    card.answer("6F00");
    CHECK(run(card, "00B0000002") == "6F00");
  }
  SECTION("off: 61XX is the caller's") {
    ScriptedCard card;
    card.answer("6110");
    T0Options off;
    off.get_response = false;
    CHECK(run(card, "00B0000000", off) == "6110");
    CHECK(card.sent.size() == 1);
  }
}

TEST_CASE("T=0: 6CXX repeats the command once with Le = XX", "[pcsc][t0]") {
  SECTION("case 2: Le replaced") {
    ScriptedCard card;
    card.answer("6C04");
    card.answer("DF2001059000");
    CHECK(run(card, "00CADF2001") == "DF2001059000");
    CHECK(card.sent == std::vector<std::string>{"00CADF2001", "00CADF2004"});
  }
  SECTION("case 1: Le added") {
    ScriptedCard card;
    card.answer("6C02");
    card.answer("AABB9000");
    CHECK(run(card, "80CA0000") == "AABB9000");
    CHECK(card.sent.back() == "80CA000002");
  }
  SECTION("case 4: Le replaced") {
    ScriptedCard card;
    card.answer("6C1C");
    card.answer("9000");
    run(card, "00A40400023F0000");
    CHECK(card.sent.back() == "00A40400023F001C");
  }
  SECTION("a second 6CXX is returned, not chased") {
    ScriptedCard card;
    card.answer("6C04");
    card.answer("6C08");
    CHECK(run(card, "00CADF2001") == "6C08");
    CHECK(card.sent.size() == 2);
  }
  SECTION("6CXX then 61XX: both completed") {
    ScriptedCard card;
    card.answer("6C04");
    card.answer("6104");
    card.answer("010203049000");
    CHECK(run(card, "00CADF2001") == "010203049000");
    CHECK(card.sent == std::vector<std::string>{"00CADF2001", "00CADF2004", "00C0000004"});
  }
  SECTION("a GET RESPONSE answered 6CXX is repeated with that Le") {
    ScriptedCard card;
    card.answer("6110");
    card.answer("6C08");
    card.answer("00112233445566779000");
    CHECK(run(card, "00B0000000") == "00112233445566779000");
    CHECK(card.sent == std::vector<std::string>{"00B0000000", "00C0000010", "00C0000008"});
  }
  SECTION("extended commands are never rewritten") {
    ScriptedCard card;
    card.answer("6C10");
    CHECK(run(card, "00B0000000FFFF") == "6C10");
  }
  SECTION("off: 6CXX is the caller's (T=1 cards mean it, and scripts check it)") {
    ScriptedCard card;
    card.answer("6C04");
    T0Options off;
    off.repeat_on_6c = false;
    CHECK(run(card, "00CADF2001", off) == "6C04");
  }
}

TEST_CASE("T=0: broken answers and transport errors", "[pcsc][t0]") {
  SECTION("a response without a status word") {
    ScriptedCard card;
    card.answer("90");
    CHECK_THAT(run_error(card, "00B0000000"), Catch::Contains("at least SW1 SW2"));
  }
  SECTION("a card that never stops answering 61XX") {
    ScriptedCard card;
    T0Options options;
    options.max_get_responses = 5;
    for (int i = 0; i < 6; ++i) card.answer("AA6101");
    CHECK_THAT(run_error(card, "00B0000000", options), Catch::Contains("gave up after 5"));
  }
  SECTION("the reader fails during the chain") {
    ScriptedCard card;
    card.answer("6110");
    card.fail("card removed");
    const std::string m = run_error(card, "00B0000000");
    CHECK_THAT(m, Catch::Contains("GET RESPONSE (after 6110)"));
    CHECK_THAT(m, Catch::Contains("card removed"));
  }
  SECTION("the reader fails at once") {
    ScriptedCard card;
    card.fail("no card");
    CHECK(run_error(card, "00B0000000") == "no card");
  }
}

TEST_CASE("PC/SC return values map to error kinds", "[pcsc][errors]") {
  CHECK(classify(SCARD_E_NO_SERVICE) == ErrorKind::no_service);
  CHECK(classify(SCARD_E_SERVICE_STOPPED) == ErrorKind::no_service);
  CHECK(classify(SCARD_E_NO_READERS_AVAILABLE) == ErrorKind::no_reader);
  CHECK(classify(SCARD_E_UNKNOWN_READER) == ErrorKind::no_reader);
  CHECK(classify(SCARD_E_READER_UNAVAILABLE) == ErrorKind::no_reader);
  CHECK(classify(SCARD_E_NO_SMARTCARD) == ErrorKind::no_card);
  CHECK(classify(SCARD_W_REMOVED_CARD) == ErrorKind::card_removed);
  CHECK(classify(SCARD_W_RESET_CARD) == ErrorKind::card_reset);
  CHECK(classify(SCARD_E_SHARING_VIOLATION) == ErrorKind::sharing_violation);
  CHECK(classify(SCARD_E_TIMEOUT) == ErrorKind::timeout);
  CHECK(classify(SCARD_E_CANCELLED) == ErrorKind::cancelled);
  CHECK(classify(SCARD_W_UNRESPONSIVE_CARD) == ErrorKind::unresponsive);
  CHECK(classify(SCARD_W_UNPOWERED_CARD) == ErrorKind::unresponsive);
  CHECK(classify(SCARD_F_COMM_ERROR) == ErrorKind::communication);
  CHECK(classify(SCARD_E_PROTO_MISMATCH) == ErrorKind::communication);
  CHECK(classify(SCARD_E_INVALID_HANDLE) == ErrorKind::other);

  CHECK(std::string(to_string(ErrorKind::no_service)) == "no_service");
  CHECK(std::string(to_string(ErrorKind::sharing_violation)) == "sharing_violation");
}

TEST_CASE("PC/SC error messages say what, where and PC/SC's own words", "[pcsc][errors]") {
  auto check = [](long code, ErrorKind kind, std::string_view says) {
    const PcscError e = make_error(code, "sending a command", "Juki test 00 00");
    INFO(e.message);
    CHECK(e.kind == kind);
    CHECK(e.code == code);
    CHECK_THAT(e.message, Catch::StartsWith("sending a command on reader 'Juki test 00 00': "));
    CHECK_THAT(e.message, Catch::Contains(std::string(says)));
    CHECK_THAT(e.message, Catch::Contains(pcsc_stringify_error(code)));
    CHECK(e.to_transport().message == e.message);
  };
  check(SCARD_E_NO_SMARTCARD, ErrorKind::no_card, "no card in the reader");
  check(SCARD_W_REMOVED_CARD, ErrorKind::card_removed, "the card was removed");
  check(SCARD_E_SHARING_VIOLATION, ErrorKind::sharing_violation, "sharing violation");
  check(SCARD_E_TIMEOUT, ErrorKind::timeout, "timed out");
  check(SCARD_E_UNKNOWN_READER, ErrorKind::no_reader, "no such reader");
  check(SCARD_W_RESET_CARD, ErrorKind::card_reset, "reset by another application");
  check(SCARD_E_NO_SERVICE, ErrorKind::no_service, "is pcscd started?");

  const PcscError no_reader = make_error(SCARD_E_NO_READERS_AVAILABLE, "looking for a reader");
  CHECK(no_reader.message.find("on reader") == std::string::npos);
  CHECK_THAT(no_reader.message, Catch::Contains("no smart card reader is connected"));
  CHECK_THAT(no_reader.message, Catch::Contains("0x8010002E"));
}

TEST_CASE("Without a pcscd the context fails with 'no service'", "[pcsc][context]") {
  // libpcsclite takes the socket path from PCSCLITE_CSOCK_NAME at its first
  // call; nothing listens at this one.
  const std::string socket = "/tmp/juki-test-no-pcscd-" + std::to_string(::getpid()) + "/socket";
  REQUIRE(::setenv("PCSCLITE_CSOCK_NAME", socket.c_str(), 1) == 0);
  auto context = PcscContext::establish();
  REQUIRE_FALSE(context.ok());
  CHECK(context.error().kind == ErrorKind::no_service);
  CHECK(context.error().code == SCARD_E_NO_SERVICE);
  CHECK_THAT(context.error().message, Catch::Contains(socket));
  CHECK_THAT(context.error().message, Catch::Contains("pcscd"));
}
