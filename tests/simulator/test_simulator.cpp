// juki-card-sim end to end against a vpcd stand-in (vpcd_peer.hpp): the
// program runs as a child process, the test plays pcscd's vpcd driver and the
// control client. specs/simulator.md is the contract.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <regex>

#include "sim_harness.hpp"
#include "support/secret_commands.hpp"
#include "vpcd_peer.hpp"

using namespace juki;
using namespace juki::test;

namespace {

const std::string kSelectDemoApp = "00A4040C09F04A554B4944454D4F";
const std::string kSelectProtected = "00A4020C025002";
const std::string kReadBinary = "00B0000020";
const std::string kVerifyRight = "0020008104 31323334";
const std::string kVerifyWrong = "0020008104 39393939";
const std::string kVerifyStatus = "00200081";

std::uint16_t sw_of(const Bytes& r) {
  REQUIRE(r.size() >= 2);
  return static_cast<std::uint16_t>(r[r.size() - 2] << 8 | r.back());
}

// Sends an APDU and returns its status word (the test fails without an answer).
std::uint16_t apdu_sw(VpcdPeer& v, const std::string& apdu) {
  auto r = v.transmit(hex(apdu));
  INFO("APDU " << apdu);
  REQUIRE(r.has_value());
  return sw_of(*r);
}

// The life-cycle byte of our ATR (specs/card-os.md section 1).
std::uint8_t life_cycle_of(const Bytes& atr) {
  REQUIRE(atr.size() == 19);
  REQUIRE(to_hex(ByteView(atr).first(17)) == "3B8C8131FE458073B6215B544A554B4981");
  return atr[17];
}

// Waits until the simulator has handled everything sent to it on `v` (power,
// reset...): it answers in order, so the answer to an ATR request comes last.
void settle(VpcdPeer& v) {
  CHECK(v.atr().size() == 19);
}

// The card left the last APDU unanswered: the simulator handles messages in
// order, so if the next frame after an ATR request is the ATR, no response
// came before it. No timing involved.
void expect_no_answer(VpcdPeer& v, const std::string& apdu) {
  REQUIRE(v.send_split(hex(apdu)));
  v.control(4);
  auto next = v.read_frame();
  REQUIRE(next.has_value());
  INFO("frame after the unanswered APDU: " << to_hex(*next));
  CHECK(next->size() == 19);
  CHECK(life_cycle_of(*next) != 0);
}

// A powered card in slot 0, connected to `v`.
struct Rig {
  TempDir dir;
  VpcdPeer vpcd;
  std::string image = dir.file("card.img");
  std::unique_ptr<SimProcess> sim;

  explicit Rig(bool active = true, std::vector<std::string> extra = {}) {
    make_card_image(image, active);
    start(std::move(extra));
  }
  void start(std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--port-base", std::to_string(vpcd.port()), "--reinsert-delay",
                                  "0", image};
    args.insert(args.end(), extra.begin(), extra.end());
    sim = std::make_unique<SimProcess>(dir, args);
    REQUIRE(vpcd.accept());
    vpcd.power_on();
  }
};

}  // namespace

TEST_CASE("sim: ATR and APDU round trip, and power and reset get no answer") {
  Rig rig;
  VpcdPeer& v = rig.vpcd;
  CHECK(life_cycle_of(v.atr()) == 0x05);
  CHECK(apdu_sw(v, kSelectDemoApp) == 0x9000);
  auto r = v.transmit(hex("00A40204025001 00"));
  REQUIRE(r.has_value());
  CHECK(sw_of(*r) == 0x9000);
  CHECK(r->size() > 2);  // the FCP

  // Reset and power on produce nothing: the next frame is the ATR asked for after them.
  v.reset();
  v.power_on();
  v.reset();
  CHECK(life_cycle_of(v.atr()) == 0x05);

  auto st = rig.sim->status();
  CHECK(st["slots"][0]["connection"] == "connected");
  CHECK(st["slots"][0]["powered"] == true);
  CHECK(st["slots"][0]["life_cycle"] == "active");
  CHECK(st["slots"][0]["apdus"] == 2);
  CHECK(st["slots"][0]["image"] == rig.image);
  CHECK(st["slots"][0]["port"] == v.port());
}

TEST_CASE("sim: reset clears volatile state and keeps persistent state") {
  Rig rig;
  VpcdPeer& v = rig.vpcd;
  CHECK(apdu_sw(v, kSelectDemoApp) == 0x9000);
  CHECK(apdu_sw(v, kVerifyWrong) == 0x63C2);
  CHECK(apdu_sw(v, kVerifyRight) == 0x9000);
  CHECK(apdu_sw(v, kSelectProtected) == 0x9000);
  CHECK(apdu_sw(v, kReadBinary) == 0x9000);
  v.reset();
  // The selection and the verified password are gone...
  CHECK(apdu_sw(v, kReadBinary) != 0x9000);
  CHECK(apdu_sw(v, kSelectDemoApp) == 0x9000);
  CHECK(apdu_sw(v, kSelectProtected) == 0x9000);
  CHECK(apdu_sw(v, kReadBinary) == 0x6982);
  // ...the try counter, reset by the right password, is persistent.
  CHECK(apdu_sw(v, kVerifyStatus) == 0x63C3);
}

TEST_CASE("sim: power off drops the volatile state") {
  Rig rig;
  VpcdPeer& v = rig.vpcd;
  CHECK(apdu_sw(v, kSelectDemoApp) == 0x9000);
  CHECK(apdu_sw(v, kVerifyRight) == 0x9000);
  CHECK(apdu_sw(v, kSelectProtected) == 0x9000);
  CHECK(apdu_sw(v, kReadBinary) == 0x9000);
  v.power_off();
  // vpcd polls presence with ATR requests while the card is unpowered: answered.
  CHECK(life_cycle_of(v.atr()) == 0x05);
  CHECK(rig.sim->status()["slots"][0]["powered"] == false);
  // An unpowered card answers no APDU.
  expect_no_answer(v, kSelectDemoApp);
  v.power_on();
  CHECK(apdu_sw(v, kSelectDemoApp) == 0x9000);
  CHECK(apdu_sw(v, kVerifyRight) == 0x9000);
  CHECK(apdu_sw(v, kSelectProtected) == 0x9000);
  CHECK(apdu_sw(v, kReadBinary) == 0x9000);
  // A reset of an unpowered card powers it.
  v.power_off();
  v.reset();
  CHECK(apdu_sw(v, kSelectDemoApp) == 0x9000);
  CHECK(apdu_sw(v, kSelectProtected) == 0x9000);
  CHECK(apdu_sw(v, kReadBinary) == 0x6982);
}

TEST_CASE("sim: what the card committed survives SIGKILL, and SIGTERM and SIGINT exit cleanly") {
  Rig rig;
  CHECK(apdu_sw(rig.vpcd, kSelectDemoApp) == 0x9000);
  CHECK(apdu_sw(rig.vpcd, kVerifyWrong) == 0x63C2);
  CHECK(rig.sim->stop(SIGKILL) == -SIGKILL);

  rig.start();
  CHECK(apdu_sw(rig.vpcd, kSelectDemoApp) == 0x9000);
  CHECK(apdu_sw(rig.vpcd, kVerifyStatus) == 0x63C2);
  CHECK(apdu_sw(rig.vpcd, kVerifyWrong) == 0x63C1);
  CHECK(rig.sim->stop(SIGTERM) == 0);
  // A clean exit removes the control socket and releases the image.
  CHECK_FALSE(std::filesystem::exists(rig.dir.file("sim.sock")));
  CHECK(rig.vpcd.wait_closed());

  rig.start();
  CHECK(apdu_sw(rig.vpcd, kSelectDemoApp) == 0x9000);
  CHECK(apdu_sw(rig.vpcd, kVerifyStatus) == 0x63C1);
  CHECK(rig.sim->stop(SIGINT) == 0);
}

TEST_CASE("sim: tear leaves old or new state and the card mute until power-on") {
  // Every write of a wrong VERIFY (a try-counter change), one run each; then a
  // second tear at the first write of the next power-on (commit recovery).
  bool completed = false;
  int recovery_torn = 0;
  for (int n = 1; n <= 40 && !completed; ++n) {
    INFO("tear at write " << n);
    Rig rig;
    VpcdPeer& v = rig.vpcd;
    CHECK(apdu_sw(v, kSelectDemoApp) == 0x9000);
    REQUIRE(rig.sim->ok("tear 0 " + std::to_string(n)).find("tears") != std::string::npos);
    CHECK(rig.sim->status()["slots"][0]["faults"]["tear_in"] == n);
    REQUIRE(v.send_split(hex(kVerifyWrong)));
    v.control(4);
    auto next = v.read_frame();
    REQUIRE(next.has_value());
    if (next->size() == 2) {
      // The command needed fewer than n writes: it completed untouched.
      CHECK(sw_of(*next) == 0x63C2);
      CHECK(v.read_frame()->size() == 19);  // the ATR asked for
      CHECK(n > 1);
      completed = true;
      continue;
    }
    CHECK(life_cycle_of(*next) == 0x05);  // no response, only the ATR
    auto st = rig.sim->status();
    CHECK(st["slots"][0]["faults"]["torn"] == true);
    CHECK(st["slots"][0]["faults"]["tear_in"].is_null());
    // Mute until the next power-on: a reset does not help.
    expect_no_answer(v, kVerifyStatus);
    v.reset();
    expect_no_answer(v, kVerifyStatus);

    v.power_off();
    rig.sim->ok("tear 0 1");
    v.power_on();
    settle(v);
    if (rig.sim->status()["slots"][0]["faults"]["torn"] == true) {
      // The power-on had a commit to finish and was cut too: still mute.
      ++recovery_torn;
      expect_no_answer(v, kSelectDemoApp);
      v.power_off();
      v.power_on();
      settle(v);
    } else {
      rig.sim->ok("tear 0 off");
    }
    CHECK(rig.sim->status()["slots"][0]["faults"]["torn"] == false);
    CHECK(rig.sim->status()["slots"][0]["faults"]["tear_in"].is_null());
    CHECK(apdu_sw(v, kSelectDemoApp) == 0x9000);
    const auto tries = apdu_sw(v, kVerifyStatus);
    CHECK((tries == 0x63C3 || tries == 0x63C2));  // old or new, nothing else
    // The card works on from either state.
    CHECK(apdu_sw(v, kVerifyRight) == 0x9000);
    CHECK(apdu_sw(v, kSelectProtected) == 0x9000);
    CHECK(apdu_sw(v, kReadBinary) == 0x9000);
    CHECK(rig.sim->stop() == 0);
  }
  CHECK(completed);
  CHECK(recovery_torn > 0);
}

TEST_CASE("sim: mute card answers no APDU but still gives its ATR") {
  Rig rig;
  VpcdPeer& v = rig.vpcd;
  rig.sim->ok("mute 0 on");
  CHECK(rig.sim->status()["slots"][0]["faults"]["mute"] == true);
  expect_no_answer(v, kSelectDemoApp);
  rig.sim->ok("mute 0 off");
  CHECK(apdu_sw(v, kSelectDemoApp) == 0x9000);
  CHECK(rig.sim->status()["slots"][0]["apdus"] == 2);
}

TEST_CASE("sim: latency delays each response by at least the given time") {
  Rig rig;
  VpcdPeer& v = rig.vpcd;
  rig.sim->ok("latency 0 300");
  CHECK(rig.sim->status()["slots"][0]["faults"]["latency_ms"] == 300);
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(apdu_sw(v, kSelectDemoApp) == 0x9000);
  CHECK(apdu_sw(v, kSelectProtected) == 0x9000);
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  CHECK(elapsed >= std::chrono::milliseconds(600));
  // Messages queued behind a delayed response keep their order.
  REQUIRE(v.send_split(hex(kReadBinary)));
  v.control(4);
  auto first = v.read_frame();
  REQUIRE(first.has_value());
  CHECK(sw_of(*first) == 0x6982);
  CHECK(v.read_frame()->size() == 19);
  rig.sim->ok("latency 0 0");
}

TEST_CASE("sim: misanswer replaces the answer to the commands it names, which still run") {
  Rig rig;
  VpcdPeer& v = rig.vpcd;
  rig.sim->ok("misanswer 0 00A4020C 6A82");
  auto faults = rig.sim->status()["slots"][0]["faults"];
  CHECK(faults["misanswer"]["prefix"] == "00A4020C");
  CHECK(faults["misanswer"]["response"] == "6A82");
  CHECK(apdu_sw(v, kSelectDemoApp) == 0x9000);  // another command: the card's own answer
  CHECK(apdu_sw(v, kSelectProtected) == 0x6A82);
  // The card did select the file: READ BINARY asks for its PIN, as without the rule.
  CHECK(apdu_sw(v, kReadBinary) == 0x6982);
  rig.sim->ok("misanswer 0 off");
  CHECK(rig.sim->status()["slots"][0]["faults"]["misanswer"].is_null());
  CHECK(apdu_sw(v, kSelectProtected) == 0x9000);
}

TEST_CASE("sim: remove-after pulls the card after N more APDUs") {
  Rig rig(true, {"--slots", "1"});
  VpcdPeer& v = rig.vpcd;
  rig.sim->ok("remove-after 0 2");
  CHECK(rig.sim->status()["slots"][0]["faults"]["remove_after"] == 2);
  CHECK(apdu_sw(v, kSelectDemoApp) == 0x9000);
  CHECK(apdu_sw(v, kSelectProtected) == 0x9000);
  // The third command never reaches a card: the connection is closed.
  (void)v.send_split(hex(kReadBinary));  // may already fail: the card is gone
  CHECK(v.wait_closed());
  auto st = rig.sim->status();
  CHECK(st["slots"][0]["image"].is_null());
  CHECK(st["slots"][0]["connection"] == "none");
  CHECK(st["slots"][0]["faults"]["remove_after"].is_null());
  // The image was released: it can go back in.
  rig.sim->ok("insert 0 " + rig.image);
  REQUIRE(v.accept());
}

TEST_CASE("sim: reader-timeout drops and reconnects a slot whose card stays silent") {
  Rig rig(true, {"--reader-timeout", "200"});
  VpcdPeer& v = rig.vpcd;
  CHECK(rig.sim->status()["slots"][0]["faults"]["reader_timeout_ms"] == 200);
  rig.sim->ok("mute 0 on");
  REQUIRE(v.send_split(hex(kSelectDemoApp)));
  CHECK(v.wait_closed());
  REQUIRE(v.accept());  // reconnects: the card is back, unpowered
  rig.sim->ok("mute 0 off");
  v.power_on();
  CHECK(apdu_sw(v, kSelectDemoApp) == 0x9000);
  rig.sim->ok("reader-timeout 0 off");
  CHECK(rig.sim->status()["slots"][0]["faults"]["reader_timeout_ms"].is_null());
}

TEST_CASE("sim: insert, remove and swap through the control socket") {
  TempDir dir;
  VpcdPair pair;
  VpcdPeer& a = *pair.first;
  VpcdPeer& b = *pair.second;
  const std::string blank = dir.file("blank.img"), active = dir.file("active.img");
  make_card_image(blank, false);
  make_card_image(active, true);
  const std::string trace = dir.file("events.trace");
  SimProcess sim(dir, {"--slots", "2", "--port-base", std::to_string(a.port()), "--reinsert-delay",
                       "0", "--trace", trace});

  auto st = sim.status();
  REQUIRE(st["slots"].size() == 2);
  CHECK(st["slots"][0]["image"].is_null());
  CHECK(st["slots"][1]["connection"] == "none");
  // An empty slot does not connect: that is how vpcd sees "no card".
  CHECK_FALSE(a.accept(300));

  CHECK(sim.ok("insert 1 " + blank).find(blank) != std::string::npos);
  REQUIRE(b.accept());
  b.power_on();
  CHECK(life_cycle_of(b.atr()) == 0x01);
  CHECK(sim.status()["slots"][1]["life_cycle"] == "transport-locked");

  // One image, one slot.
  CHECK(sim.ctl("insert 0 " + blank).rfind("error", 0) == 0);
  CHECK(sim.ctl("insert 1 " + active).find("already holds") != std::string::npos);
  CHECK(sim.ctl("remove 0").find("empty") != std::string::npos);
  CHECK(sim.ctl("insert 2 " + active).find("no slot 2") != std::string::npos);
  CHECK(sim.ctl("insert 0 " + dir.file("missing.img")).find("cannot open") != std::string::npos);
  {
    std::ofstream junk(dir.file("junk.img"));
    junk << std::string(100000, 'x');
  }
  CHECK(sim.ctl("insert 0 " + dir.file("junk.img")).rfind("error", 0) == 0);
  CHECK(sim.ctl("bogus").rfind("error unknown command", 0) == 0);
  CHECK(sim.ctl(std::string(5000, 'a')) == "error line too long");

  sim.ok("insert 0 " + active);
  REQUIRE(a.accept());
  a.power_on();
  CHECK(life_cycle_of(a.atr()) == 0x05);

  // Swap: the old card leaves (connection closed), the new one arrives.
  sim.ok("remove 0");
  CHECK(a.wait_closed());
  CHECK(sim.ok("swap 1 " + active).find(active) != std::string::npos);
  CHECK(b.wait_closed());
  REQUIRE(b.accept());
  b.power_on();
  CHECK(life_cycle_of(b.atr()) == 0x05);
  CHECK(apdu_sw(b, kSelectDemoApp) == 0x9000);
  // Swapping in the image the slot already holds works too (a fresh insertion).
  sim.ok("swap 1 " + active);
  CHECK(b.wait_closed());
  REQUIRE(b.accept());
  // A bad image in a swap leaves the old card where it is.
  CHECK(sim.ctl("swap 1 " + dir.file("junk.img")).rfind("error", 0) == 0);
  CHECK(sim.status()["slots"][1]["image"] == active);

  sim.ok("remove 1");
  CHECK(b.wait_closed());
  st = sim.status();
  CHECK(st["slots"][0]["image"].is_null());
  CHECK(st["slots"][1]["image"].is_null());
  CHECK(sim.ok("shutdown") == "ok shutting down");
  CHECK(sim.stop() == 0);  // already exiting; the signal changes nothing

  // Insertions, removals and connections are in the trace (--trace).
  std::string events;
  for (const auto& l : read_lines(trace)) events += l.substr(28) + "\n";  // without the time
  const std::string want = "1 * - insert " + blank + "\n" +               //
                           "1 * - connected to vpcd 127.0.0.1:" + std::to_string(b.port()) +  //
                           "\n1 * 3B8C8131FE458073B6215B544A554B49810171 power on\n";
  CHECK(events.rfind(want, 0) == 0);
  CHECK(events.find("0 * - disconnected: card removed\n0 * - remove " + active + " (removed)\n") !=
        std::string::npos);
  CHECK(events.find("1 * - remove " + blank + " (swapped out)\n1 * - insert " + active + "\n") !=
        std::string::npos);
}

namespace {

// The commands carrying secrets on a blank card in the simulator, traced to a
// file from the start (--trace) or, with --trace-secrets, from the control
// socket's `trace FILE`: the trace's lines without their time.
std::string traced_sim_run(bool trace_secrets, SecretRun& run) {
  TempDir out;
  const std::string trace = out.file("apdu.trace");
  std::vector<std::string> extra{"--trace-secrets"};
  if (!trace_secrets) extra = {"--trace", trace};
  Rig rig(false, extra);
  if (trace_secrets) rig.sim->ok("trace " + trace);
  run = run_secret_commands([&](const Bytes& command) {
    auto r = rig.vpcd.transmit(command);
    REQUIRE(r.has_value());
    return *r;
  });
  CHECK(rig.sim->stop() == 0);  // every line is in the file
  std::string lines;
  for (const auto& l : read_lines(trace)) lines += l.substr(28) + "\n";
  return lines;
}

}  // namespace

TEST_CASE("sim: the trace redacts PINs, keys and key proofs unless --trace-secrets") {
  SecretRun run;
  std::string trace = traced_sim_run(false, run);
  check_trace(trace, run, false, false);
  CHECK_THAT(trace, Catch::Contains("0 > 0020000104XXXXXXXX VERIFY, data redacted (4 bytes: PIN)\n"
                                    "0 < 9000 9000 success\n"));
  CHECK_THAT(trace, Catch::Contains("0 > 0084000010 GET CHALLENGE\n"));

  trace = traced_sim_run(true, run);
  check_trace(trace, run, true, false);
  CHECK_THAT(trace,
             Catch::Contains("0 > 002000010437333931 VERIFY, secret shown (4 bytes: PIN)\n"));
}

TEST_CASE("sim: the card waits for vpcd and connects when it comes up") {
  TempDir dir;
  std::uint16_t port = 0;
  {
    VpcdPeer probe;
    port = probe.port();
  }
  const std::string image = dir.file("card.img");
  make_card_image(image, false);
  SimProcess sim(dir, {"--port-base", std::to_string(port), image});
  CHECK(sim.status()["slots"][0]["connection"] != "connected");
  auto late = VpcdPeer::try_listen(port);
  if (!late) {
    WARN("port " << port << " was taken meanwhile; skipping");
    return;
  }
  REQUIRE(late->accept());
  late->power_on();
  CHECK(life_cycle_of(late->atr()) == 0x01);
  // vpcd goes away and comes back (pcscd restarted): the card reconnects.
  late->close_client();
  REQUIRE(late->accept());
  late->power_on();
  CHECK(life_cycle_of(late->atr()) == 0x01);
  // A broken stream (a zero-length message) drops the connection; it comes back.
  REQUIRE(late->send_raw(Bytes{0x00, 0x00}));
  CHECK(late->wait_closed());
  REQUIRE(late->accept());
  late->power_on();
  CHECK(life_cycle_of(late->atr()) == 0x01);
}

TEST_CASE("sim: the trace file has one line per command, response and event") {
  Rig rig;
  VpcdPeer& v = rig.vpcd;
  const std::string trace = rig.dir.file("apdu.trace");
  const std::string atr = to_hex(v.atr());  // ATR requests are not traced
  CHECK(rig.sim->ok("trace " + trace) == "ok trace " + trace);
  CHECK(rig.sim->status()["trace"] == trace);
  CHECK(apdu_sw(v, kSelectDemoApp) == 0x9000);
  CHECK(apdu_sw(v, kVerifyWrong) == 0x63C2);
  v.reset();
  v.power_off();
  v.power_on();
  v.control(0x03);
  rig.sim->ok("mute 0 on");
  expect_no_answer(v, kSelectDemoApp);
  rig.sim->ok("trace off");
  rig.sim->ok("mute 0 off");
  CHECK(apdu_sw(v, kSelectDemoApp) == 0x9000);  // not traced any more

  const auto lines = read_lines(trace);
  REQUIRE(lines.size() == 10);
  const std::string ts = R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)";
  const std::vector<std::string> want = {
      ts + " 0 > 00A4040C09F04A554B4944454D4F SELECT",
      ts + " 0 < 9000 9000 success",
      ts + " 0 > 0020008104XXXXXXXX VERIFY, data redacted \\(4 bytes: PIN\\)",
      ts + " 0 < 63C2 63C2 verification failed, 2 tries left",
      ts + " 0 \\* " + atr + " reset",
      ts + " 0 \\* - power off",
      ts + " 0 \\* " + atr + " power on",
      ts + " 0 \\* - unknown control byte 03 ignored",
      ts + " 0 > 00A4040C09F04A554B4944454D4F SELECT",
      ts + " 0 ! - no answer: card mute",
  };
  for (std::size_t i = 0; i < want.size(); ++i) {
    INFO("line " << i << ": " << lines[i]);
    CHECK(std::regex_match(lines[i], std::regex(want[i])));
  }
}

TEST_CASE("sim: command line") {
  TempDir dir;
  const std::string sim = JUKI_CARD_SIM;
  auto help = run(dir, {sim, "--help"});
  CHECK(help.code == 0);
  CHECK(help.out.find("--port-base") != std::string::npos);
  CHECK(help.out.find("--create") != std::string::npos);

  CHECK(run(dir, {sim, "--no-such-option"}).code == 2);
  CHECK(run(dir, {sim, "--slots", "0"}).code == 2);
  CHECK(run(dir, {sim, "--card", "nonsense"}).code == 2);
  CHECK(run(dir, {sim, "--slots", "1", "--card", "1=x.img"}).code == 2);
  CHECK(run(dir, {sim, "--create", dir.file("x.img")}).code == 2);  // no transport key

  // --create makes a blank card image, and refuses to overwrite one.
  const std::string image = dir.file("new.img");
  auto made = run(dir, {sim, "--create", image, "--transport-key",
                        "404142434445464748494A4B4C4D4E4F", "--serial", "0102030405060708"});
  CHECK(made.code == 0);
  CHECK(made.out.find("transport-locked") != std::string::npos);
  CHECK(std::filesystem::file_size(image) ==
        card_os::PersistentMemory::storage_size_for(card_os::NvmGeometry{}));
  auto again =
      run(dir, {sim, "--create", image, "--transport-key", "404142434445464748494A4B4C4D4E4F"});
  CHECK(again.code == 1);
  CHECK(again.err.find("exists") != std::string::npos);
  CHECK(run(dir, {sim, "--create", image, "--transport-key", "0011", "--force"}).code == 2);

  // Runtime errors: exit 1 with a message.
  auto missing = run(dir, {sim, "--socket", dir.file("s.sock"), dir.file("missing.img")});
  CHECK(missing.code == 1);
  CHECK(missing.err.find("cannot open card image") != std::string::npos);
  auto bad_socket = run(dir, {sim, "--socket", dir.file("no/such/dir/s.sock"), image});
  CHECK(bad_socket.code == 1);
  CHECK(bad_socket.err.find("control socket") != std::string::npos);
}

TEST_CASE("sim: a second simulator cannot take the socket or the image") {
  TempDir dir;
  VpcdPeer v;
  const std::string image = dir.file("card.img");
  make_card_image(image, false);
  SimProcess first(dir, {"--port-base", std::to_string(v.port()), image});
  auto same_socket = run(dir, {JUKI_CARD_SIM, "--socket", first.socket(), "--slots", "1"});
  CHECK(same_socket.code == 1);
  CHECK(same_socket.err.find("another simulator") != std::string::npos);
  auto same_image = run(dir, {JUKI_CARD_SIM, "--socket", dir.file("other.sock"), image});
  CHECK(same_image.code == 1);
  CHECK(same_image.err.find("in use") != std::string::npos);
  auto overwrite = run(dir, {JUKI_CARD_SIM, "--create", image, "--force", "--transport-key",
                             "404142434445464748494A4B4C4D4E4F"});
  CHECK(overwrite.code == 1);
  CHECK(overwrite.err.find("in use") != std::string::npos);
}

TEST_CASE("sim: a stale control socket is replaced") {
  TempDir dir;
  const std::string path = dir.file("sim.sock");
  {
    // Leave a socket file nobody listens on, as a killed simulator does.
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    ::close(fd);
  }
  SimProcess sim(dir, {"--slots", "1"});
  CHECK(sim.ok("status").find("\"slots\"") != std::string::npos);
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
}

TEST_CASE("juki-sim-ctl: answers, exit codes and --json") {
  TempDir dir;
  VpcdPeer v;
  const std::string image = dir.file("card.img");
  make_card_image(image, true);
  SimProcess sim(dir, {"--port-base", std::to_string(v.port()), "--reinsert-delay", "0", image});
  REQUIRE(v.accept());
  const std::string ctl = JUKI_SIM_CTL;
  const std::string sock = sim.socket();

  auto help = run(dir, {ctl, "--help"});
  CHECK(help.code == 0);
  CHECK(help.out.find("remove-after") != std::string::npos);

  auto status = run(dir, {ctl, "--socket", sock, "status"});
  CHECK(status.code == 0);
  CHECK(status.out.find("slot 0") != std::string::npos);
  CHECK(status.out.find(image) != std::string::npos);

  auto json = run(dir, {ctl, "--socket", sock, "--json", "status"});
  CHECK(json.code == 0);
  auto j = nlohmann::json::parse(json.out, nullptr, false);
  REQUIRE_FALSE(j.is_discarded());
  CHECK(j["slots"][0]["image"] == image);

  auto mute = run(dir, {ctl, "--socket", sock, "mute", "0", "on"});
  CHECK(mute.code == 0);
  CHECK(mute.out == "ok slot 0 mute on\n");
  auto mute_json = run(dir, {ctl, "--socket", sock, "--json", "mute", "0", "off"});
  CHECK(mute_json.code == 0);
  CHECK(nlohmann::json::parse(mute_json.out)["ok"] == true);

  // The simulator refuses: exit 1, message on stderr.
  auto refused = run(dir, {ctl, "--socket", sock, "insert", "0", image});
  CHECK(refused.code == 1);
  CHECK(refused.err.find("error slot 0 already holds") == 0);
  auto refused_json = run(dir, {ctl, "--socket", sock, "--json", "remove", "5"});
  CHECK(refused_json.code == 1);
  CHECK(nlohmann::json::parse(refused_json.out)["ok"] == false);

  // Relative paths are made absolute before they are sent.
  auto rel = run(dir, {ctl, "--socket", sock, "trace", "rel.trace"});
  CHECK(rel.code == 0);
  CHECK(rel.out == "ok trace " + dir.file("rel.trace") + "\n");
  run(dir, {ctl, "--socket", sock, "trace", "off"});

  // Usage and connection failures: exit 2.
  CHECK(run(dir, {ctl, "--socket", sock}).code == 2);
  CHECK(run(dir, {ctl, "--socket", sock, "frobnicate"}).code == 2);
  CHECK(run(dir, {ctl, "--socket", sock, "mute", "0", "maybe"}).code == 2);
  auto nobody = run(dir, {ctl, "--socket", dir.file("nobody.sock"), "status"});
  CHECK(nobody.code == 2);
  CHECK(nobody.err.find("cannot reach the simulator") != std::string::npos);

  // The same through the environment variable.
  ::setenv("JUKI_SIM_SOCKET", sock.c_str(), 1);
  CHECK(run(dir, {ctl, "status"}).code == 0);
  ::unsetenv("JUKI_SIM_SOCKET");
}
