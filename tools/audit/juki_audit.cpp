// juki-audit card: the lockout audit of a card in a reader (specs/audit.md):
// each control on a fresh test card, refused on any card not confirmed as a
// test card, and an evidence report (HTML, PDF) with its digest.
#include <CLI/CLI.hpp>

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/iso7816/apdu.hpp"
#include "common/iso7816/status_words.hpp"
#include "common/utc_time.hpp"
#include "host_middleware/audit/evidence.hpp"
#include "host_middleware/audit/timing.hpp"
#include "host_middleware/script/script.hpp"
#include "host_middleware/session/secure_session.hpp"
#include "pki/digest.hpp"
#include "pki/pki.hpp"
#include "tools/cli/card_supply.hpp"
#include "tools/cli/card_values.hpp"
#include "tools/cli/script_inputs.hpp"

extern char** environ;

namespace {

using namespace juki;
namespace audit = juki::host::audit;
namespace script = juki::host::script;
namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;  // a control failed
constexpr int kExitUsage = 2;   // usage, a control script that cannot be read, a report not written
constexpr int kExitCard = 3;    // the card, its reader, pcscd or the simulator could not be reached
constexpr int kExitRefused = 4;  // a card not confirmed as a test card: nothing was sent to it

constexpr const char* kTestTransportKey = "404142434445464748494A4B4C4D4E4F";
constexpr const char* kTestSerial = "0102030405060708";

struct Options {
  std::vector<std::string> paths;
  std::vector<std::string> only;
  bool in_process = false;
  std::string reader;
  std::string sim_socket;
  unsigned sim_slot = 0;
  bool prompt = false;
  int wait_seconds = 120;
  std::vector<std::string> test_cards;
  std::string transport_key = kTestTransportKey;
  std::string serial = kTestSerial;
  std::vector<std::string> sets;
  std::string report_file, pdf_file;
  bool json = false;
  std::string terminal_pki, terminal_prefix;      // a terminal's credentials (mutual-auth)
  std::string auth_app = "D3921000310001010401";  // the application authenticated to
  // timing
  std::string prepare_file;
  bool by_hand = false;  // tear: the operator pulls the card
  std::uint64_t measurements = 6000;
};

struct Stop {
  int exit = kExitUsage;
  std::string message;
};

// A control from a script file.
struct ScriptControl {
  std::string path;
  audit::ControlHeader header;
  script::Script script;
  std::optional<script::Script> preparation;
};

// What the card says of itself before anything destructive: GET DATA of its
// life cycle (DF20) and serial (DF22), at the MF of channel 0.
struct CardIdentity {
  std::string serial;      // 16 hex digits; empty when the card did not give one
  std::string life_cycle;  // "active", "blank (transport-locked)", ...
  std::string answers;     // both answers, for a refusal's message
  // Both GET DATA answered 6985: a Juki card in its transport state, which
  // answers nothing but the transport key (card-os.md 5).
  bool blank = false;
};

Result<CardIdentity, Stop> identify(Transport& card) {
  auto get = [&](std::uint8_t tag) -> Result<Bytes, Stop> {
    auto r = card.transmit(Bytes{0x00, 0xCA, 0xDF, tag, 0x00});
    if (!r) return unexpected(Stop{kExitCard, "reading the card: " + r.error().message});
    return *r;
  };
  const Bytes refused{0x69, 0x85};
  CardIdentity id;
  auto life = get(0x20);
  if (!life) return unexpected(life.error());
  auto serial = get(0x22);
  if (!serial) return unexpected(serial.error());
  id.answers = "DF20 " + to_hex(*life) + ", DF22 " + to_hex(*serial);
  // DF20 01 LL 9000 and DF22 08 SSSSSSSSSSSSSSSS 9000 (card-os.md 6.11)
  const Bytes life_head{0xDF, 0x20, 0x01}, serial_head{0xDF, 0x22, 0x08};
  const bool life_ok = life->size() == 6 &&
                       std::equal(life_head.begin(), life_head.end(), life->begin()) &&
                       (*life)[4] == 0x90 && (*life)[5] == 0x00;
  const bool serial_ok = serial->size() == 13 &&
                         std::equal(serial_head.begin(), serial_head.end(), serial->begin()) &&
                         (*serial)[11] == 0x90 && (*serial)[12] == 0x00;
  id.blank = *life == refused && *serial == refused;
  if (life_ok)
    id.life_cycle = tools::life_cycle_name((*life)[3], false);
  else if (id.blank)
    id.life_cycle = "blank (transport-locked)";
  else
    id.life_cycle = "unknown";
  if (serial_ok) id.serial = to_hex(ByteView(*serial).subspan(3, 8));
  return id;
}

// The gate before any destructive step. A card the audit made must show
// itself blank (else the reader is not the slot it was put in); any other
// card must be named with --test-card (its serial, or `blank` for a card in
// its transport state), or typed back at a terminal. A card that gives no
// serial and is not blank cannot be told apart from a resident's: refused.
Result<std::string, Stop> confirm_test_card(const Options& o, const tools::CardLease& lease,
                                            const CardIdentity& id) {
  auto refuse = [&](const std::string& why) {
    return unexpected(Stop{kExitRefused, "refused: " + why + " (" + id.answers +
                                             "). Nothing was sent to it but the two GET DATA."});
  };
  if (!lease.made_as().empty()) {
    if (id.blank) return "made by this audit: " + lease.made_as();
    return refuse("the card in '" + o.reader + "' is not the blank card this audit made (" +
                  lease.made_as() + "); does --reader name the reader of --sim-slot?");
  }
  if (!id.blank && id.serial.empty())
    return refuse(
        "the card gives no serial and is not a blank Juki card, so it cannot be "
        "confirmed as a test card");
  const std::string word = id.blank ? "blank" : id.serial;
  auto same = [&](std::string text) {
    for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return text == (id.blank ? "BLANK" : word);
  };
  for (const std::string& declared : o.test_cards)
    if (same(declared)) return "declared with --test-card " + declared;
  if (::isatty(STDIN_FILENO) != 0 && ::isatty(STDERR_FILENO) != 0) {
    std::cerr << "juki-audit: the card in the reader: "
              << (id.blank ? std::string("a blank card") : "serial " + id.serial) << ", "
              << id.life_cycle << ".\nThe audit locks its PINs and keys for good. Type "
              << (id.blank ? "'blank'" : "its serial") << " to confirm it is a test card: ";
    std::string typed;
    std::getline(std::cin, typed);
    if (same(typed)) return "typed back by the operator: " + typed;
  }
  return refuse("the card (" + (id.blank ? std::string("blank") : "serial " + id.serial) + ", " +
                id.life_cycle + ") is not confirmed as a test card; name it with --test-card " +
                word + " or type it back at a terminal");
}

Result<std::vector<ScriptControl>, Stop> load_controls(const Options& o,
                                                       const script::Variables& fixed) {
  auto files = tools::script_files(o.paths);
  if (!files) return unexpected(Stop{kExitUsage, files.error()});
  std::vector<ScriptControl> controls;
  for (const std::string& file : *files) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in) return unexpected(Stop{kExitUsage, "cannot read " + file});
    auto header = audit::read_control_header(text.str());
    if (!header) return unexpected(Stop{kExitUsage, file + ": " + header.error()});
    auto parsed = script::parse_file(file, fixed);
    if (!parsed) return unexpected(Stop{kExitUsage, script::format(parsed.error(), file)});
    ScriptControl c{file, *header, std::move(*parsed), std::nullopt};
    if (!c.header.prepare.empty()) {
      const std::string prep = (fs::path(file).parent_path() / c.header.prepare).string();
      auto p = script::parse_file(prep, fixed);
      if (!p) return unexpected(Stop{kExitUsage, script::format(p.error(), prep)});
      c.preparation = std::move(*p);
    }
    controls.push_back(std::move(c));
  }
  return controls;
}

double since_ms(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// A fresh card for a control, through the gate: what it says of itself goes
// into `result`, and how it was confirmed into `confirmation` and the steps.
Result<std::unique_ptr<tools::CardLease>, Stop> lease_test_card(
    const Options& o, tools::CardSupply& supply, std::size_t index, const std::string& name,
    const std::string& wanted, audit::ControlResult& result, std::string& confirmation,
    std::chrono::steady_clock::time_point t0) {
  auto lease = supply.card_for(index, name, wanted);
  if (!lease)
    return unexpected(Stop{lease.error().unreachable ? kExitCard : kExitUsage,
                           result.id + ": " + lease.error().message});
  result.card = (*lease)->transport().describe();
  auto id = identify((*lease)->transport());
  if (!id) return unexpected(id.error());
  result.serial = id->serial.empty() ? "(unreadable: blank)" : id->serial;
  result.life_cycle = id->life_cycle;
  auto confirmed = confirm_test_card(o, **lease, *id);
  if (!confirmed) return unexpected(confirmed.error());
  confirmation = *confirmed;
  result.steps.push_back({since_ms(t0), "test card: " + *confirmed, {}, {}, {}, true});
  return std::move(*lease);
}

// Runs one script control on a fresh card.
Result<audit::ControlResult, Stop> run_script_control(const Options& o, tools::CardSupply& supply,
                                                      std::size_t index, const ScriptControl& c,
                                                      std::string& confirmation) {
  audit::ControlResult result{c.header.id,
                              c.header.title,
                              c.header.clauses,
                              audit::ControlVerdict::fail,
                              {},
                              {},
                              {},
                              {},
                              utc_now_iso8601(),
                              0,
                              {}};
  const auto t0 = std::chrono::steady_clock::now();
  auto lease = lease_test_card(o, supply, index, c.path,
                               c.header.card.empty() ? "a test card" : c.header.card, result,
                               confirmation, t0);
  if (!lease) return unexpected(lease.error());
  Transport& card = (*lease)->transport();
  // A card this audit made is blank: the control's preparation makes it
  // what the control needs. A brought card is as its owner prepared it.
  if (c.preparation && !(*lease)->made_as().empty()) {
    const script::RunReport prep = script::run(*c.preparation, card);
    auto steps = audit::steps_of(prep, since_ms(t0) - prep.duration_ms);
    result.steps.push_back({steps.empty() ? 0 : steps.front().at_ms,
                            "preparation: " + c.preparation->source,
                            {},
                            {},
                            {},
                            prep.ok()});
    if (!prep.ok()) {
      result.reason = "preparing the card with " + c.preparation->source + " failed";
      result.steps.insert(result.steps.end(), steps.begin(), steps.end());
      result.duration_ms = since_ms(t0);
      return result;
    }
  }
  const double offset = since_ms(t0);
  const script::RunReport run = script::run(c.script, card);
  auto steps = audit::steps_of(run, offset);
  result.steps.insert(result.steps.end(), steps.begin(), steps.end());
  result.verdict = run.ok() ? audit::ControlVerdict::pass : audit::ControlVerdict::fail;
  if (run.aborted)
    result.reason =
        "stopped at line " + std::to_string(run.aborted->line) + ": " + run.aborted->message;
  else if (!run.ok())
    result.reason = std::to_string(run.mismatches.size()) +
                    " answer(s) not as the control expects, the first at line " +
                    std::to_string(run.mismatches[0].line);
  result.duration_ms = since_ms(t0);
  return result;
}

// SELECT of an application by its name, no answer data.
Bytes select_by_name(ByteView aid) {
  return apdu::encode_command(0x00, 0xA4, 0x04, 0x0C, aid);
}
// VERIFY of the Juki password (PIN 01 of the DF, P2 81); empty: its tries.
Bytes verify_password(ByteView value) {
  return apdu::encode_command(0x00, 0x20, 0x00, 0x81, value);
}

// The password of the test card, and its AID, as the password control names them.
struct PasswordCard {
  Bytes aid, password, wrong;
};

// A wrong password the card still compares: the right one with the digit at
// `place` changed (still 4 digits, so no format error spares a try).
Bytes wrong_password(const Bytes& right, std::size_t place) {
  Bytes wrong = right;
  wrong[place] = static_cast<std::uint8_t>(wrong[place] == '9' ? '0' : wrong[place] + 1);
  return wrong;
}

bool digits(const Bytes& b) {
  return std::all_of(b.begin(), b.end(), [](std::uint8_t c) { return c >= '0' && c <= '9'; });
}

// The test card's password (lib/test-card.apdu's 1234 unless --set PW), and
// the PINs a brought card's owner gave: refused where the control scripts,
// which write each VERIFY's length and their own wrong values, cannot use them.
Result<PasswordCard, std::string> password_card(const script::Variables& fixed) {
  struct Rule {
    const char* name;
    std::size_t length;
    bool digits_only;
    const char* scripts_wrong;  // the wrong value the control script sends
  };
  for (const Rule& r : {Rule{"PW", 4, true, "30303030"}, Rule{"PIN1", 4, true, "39393939"},
                        Rule{"PIN2", 6, false, "585858585858"}}) {
    auto it = fixed.find(r.name);
    if (it == fixed.end()) continue;
    if (it->second.size() != r.length || (r.digits_only && !digits(it->second)))
      return unexpected(std::string("--set ") + r.name + ": the audit's scripts are written for " +
                        std::to_string(r.length) + (r.digits_only ? " digits" : " characters") +
                        " (each VERIFY's length)");
    if (to_hex(it->second) == r.scripts_wrong)
      return unexpected(std::string("--set ") + r.name +
                        ": the control script sends this very value as its wrong one");
  }
  PasswordCard pw{from_hex("D3921000310001010401").value(), from_hex("31323334").value(), {}};
  if (auto it = fixed.find("PW"); it != fixed.end()) pw.password = it->second;
  pw.wrong = wrong_password(pw.password, 0);
  return pw;
}

// Tear: a wrong VERIFY of the password with the power cut at its N-th
// persistent write, N = 1, 2, ... until the VERIFY makes fewer writes than N.
// After every cut the card, powered again, must show the old count or the
// new one, never more tries than before, and still take the right password.
audit::ControlResult run_tear_control(const Options& o, tools::ReaderSupply* sim,
                                      const ScriptControl* password, const PasswordCard& pw) {
  audit::ControlResult result{
      "tear",
      "A wrong password VERIFY cut at each of its persistent writes gives no answer and never "
      "gives a try back: after the power returns the card shows the count before or after the "
      "VERIFY, and still takes the right password",
      {"S0 §5-3 パスワード照合・カードロック機能 (a lock that a pulled card could undo is none)",
       "card-os.md 8 (power loss), 6.6; specs/simulator.md 3.1 (tear)"},
      audit::ControlVerdict::not_run,
      {},
      {},
      {},
      {},
      utc_now_iso8601(),
      0,
      {}};
  if (sim == nullptr || sim->options().sim_socket.empty()) {
    result.reason =
        "needs juki-card-sim's control socket (--sim-socket) to cut the power at a chosen write, "
        "or --by-hand to pull the card out by hand";
    return result;
  }
  if (password == nullptr || !password->preparation) {
    result.reason = "needs the password control's script and its preparation (its card)";
    return result;
  }
  const auto t0 = std::chrono::steady_clock::now();
  result.card = "copies of one test card made by this audit, in juki-card-sim slot " +
                std::to_string(sim->options().sim_slot) + " of reader '" + o.reader + "'";
  auto note = [&](std::string text, bool ok = true, Bytes command = {}, Bytes response = {},
                  std::string expected = {}) {
    result.steps.push_back({since_ms(t0), std::move(text), std::move(command), std::move(response),
                            std::move(expected), ok});
  };
  auto fail = [&](std::string why) {
    result.verdict = audit::ControlVerdict::fail;
    result.reason = std::move(why);
    result.duration_ms = since_ms(t0);
    (void)sim->simulator("reader-timeout " + std::to_string(sim->options().sim_slot) + " off");
    (void)sim->simulator("tear " + std::to_string(sim->options().sim_slot) + " off");
  };
  const std::string slot = std::to_string(sim->options().sim_slot);
  const Bytes select = select_by_name(pw.aid);
  const Bytes tries = verify_password({});
  // One exchange, recorded; the answer or nothing.
  auto send = [&](Transport& card, const Bytes& command, const std::string& what,
                  const std::string& expected) -> std::optional<Bytes> {
    auto r = card.transmit(command);
    if (!r) {
      note(what + ": no answer (" + r.error().message + ")", true, command);
      return std::nullopt;
    }
    const bool ok = expected.empty() || to_hex(*r) == expected ||
                    (expected.find('|') != std::string::npos &&
                     ("|" + expected + "|").find("|" + to_hex(*r) + "|") != std::string::npos);
    note(what, ok, command, *r, expected);
    return *r;
  };

  // The master: a blank image made here, prepared as the password control's card.
  auto master = sim->make_blank_image("tear-master");
  if (!master) return fail("making the card: " + master.error().message), result;
  {
    auto lease = sim->insert_image(*master);
    if (!lease) return fail(lease.error().message), result;
    // The gate, as for every control: the card in the reader is the blank one made here.
    auto id = identify((*lease)->transport());
    if (!id) return fail(id.error().message), result;
    std::string confirmation;
    if (auto confirmed = confirm_test_card(o, **lease, *id); !confirmed)
      return fail(confirmed.error().message), result;
    else
      note("test card: " + *confirmed);
    const script::RunReport prep = script::run(*password->preparation, (*lease)->transport());
    note("the test card prepared with " + password->preparation->source, prep.ok());
    if (!prep.ok()) return fail("preparing the test card failed"), result;
    // What the prepared card says of itself: the copies' serial and state.
    auto prepared = identify((*lease)->transport());
    if (!prepared) return fail(prepared.error().message), result;
    result.serial = prepared->serial;
    result.life_cycle = prepared->life_cycle;
  }
  if (auto r = sim->remove_card(); !r) return fail(r.error().message), result;
  // A reader gives up on a mute card after a while: the simulator then drops
  // the card and powers it again, as a real reader's timeout would.
  if (auto r = sim->simulator("reader-timeout " + slot + " 1500"); !r)
    return fail(r.error().message), result;
  note("reader timeout 1500 ms: a torn card is dropped and powered again");

  const std::string before_hex = "63C3";
  int torn = 0;
  constexpr int kMaxCuts = 16;
  for (int n = 1; n <= kMaxCuts; ++n) {
    const std::string copy =
        (fs::path(*master).parent_path() / ("tear-" + std::to_string(n) + ".img")).string();
    std::error_code ec;
    fs::copy_file(*master, copy, fs::copy_options::overwrite_existing, ec);
    if (ec) return fail("copying the card image: " + ec.message()), result;
    auto lease = sim->insert_image(copy);
    if (!lease) return fail(lease.error().message), result;
    Transport& card = (*lease)->transport();
    note("a copy of the test card inserted (" + copy + ")");
    if (!send(card, select, "SELECT the password's application", "9000") ||
        !send(card, tries, "tries before", before_hex))
      return fail("the fresh copy does not show 3 tries"), result;
    if (auto r = sim->simulator("tear " + slot + " " + std::to_string(n)); !r)
      return fail(r.error().message), result;
    note("power cut armed at the VERIFY's persistent write " + std::to_string(n));
    auto answer = send(card, verify_password(pw.wrong), "a wrong password", "");
    if (answer) {
      // Fewer than N writes: no cut. It must have counted, like any wrong try.
      (void)sim->simulator("tear " + slot + " off");
      const bool counted = to_hex(*answer) == "63C2";
      result.steps.back().expected = "63C2";
      result.steps.back().ok = counted;
      if (!counted) return fail("an uncut wrong VERIFY answered " + to_hex(*answer)), result;
      note("the VERIFY makes " + std::to_string(n - 1) +
           " persistent writes: every one of them was cut once");
      break;
    }
    ++torn;
    note("the VERIFY was cut at write " + std::to_string(n) + " and gave no answer");
    lease->reset();  // the old connection went with the card
    // The reader timeout drops the card; the simulator powers it again.
    if (auto back = sim->wait_for_new_card(); !back) return fail(back.error().message), result;
    auto again = sim->reconnect("the same copy, powered again");
    if (!again) return fail(again.error().message), result;
    Transport& powered = (*again)->transport();
    if (!send(powered, select, "SELECT after the power returned", "9000"))
      return fail("the card did not come back after the cut at write " + std::to_string(n)), result;
    auto after =
        send(powered, tries, "tries after the cut: as before or after the VERIFY", "63C3|63C2");
    if (!after || !result.steps.back().ok)
      return fail("after the cut at write " + std::to_string(n) + " the password answers " +
                  (after ? to_hex(*after) : std::string("nothing"))),
             result;
    auto right =
        send(powered, verify_password(pw.password), "the right password still verifies", "9000");
    if (!right || !result.steps.back().ok)
      return fail("after the cut at write " + std::to_string(n) +
                  " the right password is not taken"),
             result;
  }
  if (torn == 0) return fail("no cut ever hit the VERIFY"), result;
  if (torn == kMaxCuts)
    return fail("the VERIFY still wrote after " + std::to_string(kMaxCuts) +
                " cuts: not every write was cut"),
           result;
  (void)sim->simulator("reader-timeout " + slot + " off");
  result.verdict = audit::ControlVerdict::pass;
  result.duration_ms = since_ms(t0);
  return result;
}

// The status word of an answer; 0 when it is shorter than one.
sw::Sw status_of(ByteView answer) {
  auto r = apdu::Response::decode(answer);
  return r ? r->sw : 0;
}

// A Transport that records every exchange as evidence.
class Recording final : public Transport {
 public:
  Recording(Transport& inner, std::vector<audit::EvidenceStep>& steps,
            std::chrono::steady_clock::time_point t0)
      : inner_(inner), steps_(steps), t0_(t0) {}
  Result<Bytes, TransportError> transmit(ByteView command) override {
    auto r = inner_.transmit(command);
    steps_.push_back(
        {since_ms(t0_),
         r ? "exchange (" + sw::meaning(status_of(*r)) + ")" : "no answer: " + r.error().message,
         Bytes(command.begin(), command.end()),
         r ? *r : Bytes{},
         {},
         true});
    return r;
  }
  Result<Bytes, TransportError> reset() override {
    steps_.push_back({since_ms(t0_), "warm reset", {}, {}, {}, true});
    return inner_.reset();
  }
  Result<Bytes, TransportError> power_cycle() override {
    steps_.push_back({since_ms(t0_), "power cycle", {}, {}, {}, true});
    return inner_.power_cycle();
  }
  Bytes atr() const override { return inner_.atr(); }
  std::string describe() const override { return inner_.describe(); }

 private:
  Transport& inner_;
  std::vector<audit::EvidenceStep>& steps_;
  std::chrono::steady_clock::time_point t0_;
};

// A terminal of an impostor PKI: a root of the same name as the real one,
// other keys; so its certificates reach the card's checks of signatures, which
// fail (6300, counted), and not its check of names (6A88, not counted).
Result<host::session::Credentials, std::string> impostor_of(
    const host::session::Credentials& real) {
  auto root = pki::create_root(real.root.common_name());
  if (!root) return unexpected(root.error().message);
  auto ca = pki::create_ca(root->key, root->cert, pki::CaKind::terminal, real.ca.common_name());
  if (!ca) return unexpected(ca.error().message);
  auto authorization = real.certificate.authorization();
  if (!authorization || !*authorization)
    return unexpected(std::string("the terminal certificate carries no authorization"));
  pki::LeafRequest request;
  request.authorization = **authorization;
  request.common_name = "impostor of " + real.certificate.common_name();
  auto leaf = pki::issue_new_key(*ca, request);
  if (!leaf) return unexpected(leaf.error().message);
  return host::session::Credentials{leaf->key, leaf->cert, ca->cert, root->cert};
}

// Mutual authentication's failure limit (secure-channel.md 2.4): three failed
// proofs end authentication, for the right terminal too, until the card is
// powered off; a warm reset does not end it; a power cycle does.
// The terminals and the application of the mutual-authentication control,
// read and made before any card is touched.
struct MutualAuthInputs {
  host::session::Credentials good, impostor;
  Bytes aid;
};

Result<std::optional<MutualAuthInputs>, Stop> mutual_auth_inputs(const Options& o) {
  if (o.terminal_pki.empty()) return std::optional<MutualAuthInputs>{};
  auto good = host::session::Credentials::from_pki(o.terminal_pki, o.terminal_prefix);
  if (!good) return unexpected(Stop{kExitUsage, "--terminal: " + good.error()});
  auto bad = impostor_of(*good);
  if (!bad) return unexpected(Stop{kExitUsage, "making the impostor terminal: " + bad.error()});
  auto aid = from_hex(o.auth_app);
  if (!aid || aid->empty() || aid->size() > 16)
    return unexpected(Stop{kExitUsage, "--auth-app must be an AID of 1 to 16 bytes of hex"});
  return std::optional<MutualAuthInputs>{MutualAuthInputs{*good, *bad, *aid}};
}

Result<audit::ControlResult, Stop> run_mutual_auth_control(
    const Options& o, tools::CardSupply& supply, std::size_t index,
    const std::optional<MutualAuthInputs>& inputs, std::string& confirmation) {
  audit::ControlResult result{
      "mutual-auth",
      "Three failed proofs in mutual authentication end authentication, for the right terminal "
      "too, until the card is powered off; a warm reset does not end it, a power cycle does",
      {"S0 §5-3 相互認証: 「カード利用時には、必ずシステム間の相互認証(公開鍵暗号方式利用)を行い、"
       "カードのなりすまし、偽造、改ざんを防止します」",
       "secure-channel.md 2.4"},
      audit::ControlVerdict::not_run,
      {},
      {},
      {},
      {},
      utc_now_iso8601(),
      0,
      {}};
  if (!inputs) {
    result.reason =
        "needs a terminal's credentials (--terminal-pki DIR --terminal PREFIX) and a card "
        "personalized for mutual authentication, brought to the reader; "
        "tests/host/test_card_hardening.cpp proves it on the in-process card";
    return result;
  }
  const host::session::Credentials* good = &inputs->good;
  const host::session::Credentials* bad = &inputs->impostor;
  const Bytes* aid = &inputs->aid;

  const auto t0 = std::chrono::steady_clock::now();
  auto lease = lease_test_card(o, supply, index, "mutual-auth",
                               "a test card personalized for mutual authentication", result,
                               confirmation, t0);
  if (!lease) return unexpected(lease.error());
  if (!(*lease)->made_as().empty()) {
    result.steps.clear();
    result.reason =
        "needs a card personalized for mutual authentication (its key and certificates from the "
        "terminal's PKI), which the audit cannot make: bring one to a reader without "
        "--sim-socket";
    return result;
  }

  Recording card((*lease)->transport(), result.steps, t0);
  const Bytes select = select_by_name(*aid);
  const auto now = static_cast<std::int64_t>(std::time(nullptr));
  auto expect = [&](std::string what, bool ok) {
    result.steps.push_back({since_ms(t0), std::move(what), {}, {}, ok ? "yes" : "no", ok});
    return ok;
  };
  // Opens a session; the status word it was refused with, 9000 when it opened.
  auto attempt = [&](const host::session::Credentials& who) -> Result<sw::Sw, Stop> {
    auto s = host::session::SecureSession::open(card, who, now);
    if (s) return sw::Sw{0x9000};
    if (s.error().kind == host::session::SessionError::Kind::refused) return s.error().sw;
    return unexpected(Stop{kExitCard, "mutual-auth: " + s.error().message});
  };
  auto select_app = [&]() -> bool {
    auto r = card.transmit(select);
    return expect("the application selected", r && r->size() == 2 && (*r)[0] == 0x90);
  };
  auto fail = [&](std::string why) {
    result.verdict = audit::ControlVerdict::fail;
    result.reason = std::move(why);
    result.duration_ms = since_ms(t0);
    return result;
  };
  if (!select_app()) return fail("the application " + o.auth_app + " cannot be selected");
  for (int i = 1; i <= 3; ++i) {
    auto r = attempt(*bad);
    if (!r) return unexpected(r.error());
    if (!expect("impostor terminal, attempt " + std::to_string(i) + ": refused 6300 (counted)",
                *r == 0x6300))
      return fail("the impostor's attempt " + std::to_string(i) + " was answered " +
                  to_hex(Bytes{static_cast<std::uint8_t>(*r >> 8), static_cast<std::uint8_t>(*r)}));
  }
  auto r = attempt(*good);
  if (!r) return unexpected(r.error());
  if (!expect("the right terminal after three failures: refused 6983", *r == 0x6983))
    return fail("after three failed proofs the right terminal was not refused 6983");
  if (auto reset = card.reset(); !reset) return unexpected(Stop{kExitCard, reset.error().message});
  if (!select_app()) return fail("the application cannot be selected after a warm reset");
  r = attempt(*good);
  if (!r) return unexpected(r.error());
  if (!expect("after a warm reset: still refused 6983", *r == 0x6983))
    return fail("a warm reset ended the lock of mutual authentication");
  if (auto cycled = card.power_cycle(); !cycled)
    return unexpected(Stop{kExitCard, cycled.error().message});
  if (!select_app()) return fail("the application cannot be selected after a power cycle");
  r = attempt(*good);
  if (!r) return unexpected(r.error());
  if (!expect("after a power cycle: the right terminal authenticates", *r == 0x9000))
    return fail("after a power cycle the right terminal is still refused");
  result.verdict = audit::ControlVerdict::pass;
  result.duration_ms = since_ms(t0);
  return result;
}

// The timing audit over PC/SC (specs/audit.md 7): wrong passwords of two
// classes (differing from the right one in the first digit, or in the last),
// in random order, each followed by the right password (untimed) so that no
// try is spent; Welch's t-test on their round-trip times.
Result<audit::ControlResult, Stop> run_timing(const Options& o, tools::CardSupply& supply,
                                              const std::optional<script::Script>& preparation,
                                              const Bytes& password, std::string& confirmation,
                                              audit::TimingReport& figures) {
  audit::ControlResult result{
      "timing-password",
      "A wrong Juki password is refused in a time that does not depend on where it differs from "
      "the right one, as far as the host can measure it through the reader",
      {"card-os.md 7.5 (timing of secret comparisons)",
       "S0 §5-3 パスワード照合 (a password guessed digit by digit through timing is no lock)"},
      audit::ControlVerdict::fail,
      {},
      {},
      {},
      {},
      utc_now_iso8601(),
      0,
      {}};
  const auto t0 = std::chrono::steady_clock::now();
  auto lease = lease_test_card(o, supply, 0, "timing",
                               "an active test card, its password given with --set PW", result,
                               confirmation, t0);
  if (!lease) return unexpected(lease.error());
  Transport& card = (*lease)->transport();
  if (!(*lease)->made_as().empty()) {
    if (!preparation)
      return unexpected(Stop{kExitUsage, "timing: a card the audit makes needs --prepare FILE"});
    const script::RunReport prep = script::run(*preparation, card);
    result.steps.push_back(
        {since_ms(t0), "preparation: " + preparation->source, {}, {}, {}, prep.ok()});
    if (!prep.ok()) {
      result.reason = "preparing the card with " + preparation->source + " failed";
      return result;
    }
  }
  const Bytes aid = from_hex("D3921000310001010401").value();
  const Bytes select = select_by_name(aid);
  const Bytes first = verify_password(wrong_password(password, 0)),
              last = verify_password(wrong_password(password, password.size() - 1));
  const Bytes right = verify_password(password);
  auto selected = card.transmit(select);
  if (!selected || status_of(*selected) != 0x9000) {
    result.reason = "the Juki AP cannot be selected";
    return result;
  }
  result.steps.push_back({since_ms(t0), "the Juki AP selected", select, *selected, "9000", true});
  auto probe = card.transmit(right);
  if (!probe || status_of(*probe) != 0x9000) {
    result.reason = "the password given (PW) is not the card's, or the card is not active: " +
                    (probe ? to_hex(*probe) : probe.error().message);
    return result;
  }
  auto test = audit::TimingTest::create();
  if (!test) return unexpected(Stop{kExitUsage, test.error().message});
  std::random_device seed;
  std::mt19937_64 order(seed());
  const auto started = std::chrono::steady_clock::now();
  for (std::uint64_t i = 0; i < o.measurements; ++i) {
    const auto c = (order() & 1) != 0 ? audit::InputClass::b : audit::InputClass::a;
    const Bytes& command = c == audit::InputClass::a ? first : last;
    const auto before = std::chrono::steady_clock::now();
    auto r = card.transmit(command);
    const auto after = std::chrono::steady_clock::now();
    if (!r) return unexpected(Stop{kExitCard, "timing: " + r.error().message});
    if (status_of(*r) != 0x63C2) {
      result.reason = "a wrong password was answered " + to_hex(*r) + ", not 63C2";
      result.steps.push_back({since_ms(t0), "a wrong password", command, *r, "63C2", false});
      return result;
    }
    (void)test->add(c, std::chrono::duration<double, std::nano>(after - before).count());
    auto back = card.transmit(right);  // the try back, untimed
    if (!back || status_of(*back) != 0x9000) {
      result.reason = "the right password did not give the try back";
      return result;
    }
    if (!o.json && (i + 1) % 1000 == 0)
      std::cerr << "  " << i + 1 << " of " << o.measurements << " measurements\n";
  }
  figures = test->report();
  result.steps.push_back({since_ms(t0),
                          std::to_string(o.measurements) +
                              " wrong passwords in random order, class A differing in the first "
                              "digit, class B in the last; each followed by the right one "
                              "(untimed); measured from the host, in ns, over " +
                              card.describe(),
                          first,
                          {},
                          {},
                          true});
  result.steps.push_back({since_ms(t0), "class B's command", last, {}, {}, true});
  result.steps.push_back(
      {since_ms(t0),
       audit::describe(figures, "ns") + " (" +
           std::to_string(
               std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()) +
           " s)",
       {},
       {},
       {},
       figures.verdict != audit::Verdict::leak});
  result.verdict = figures.verdict == audit::Verdict::no_leak_detected
                       ? audit::ControlVerdict::pass
                       : audit::ControlVerdict::fail;
  result.reason = audit::describe(figures, "ns");
  result.duration_ms = since_ms(t0);
  return result;
}

Result<std::string, std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in) return unexpected("cannot read " + path);
  return text.str();
}

// weasyprint (Debian's) turns the HTML report into PDF.
Result<void, std::string> html_to_pdf(const std::string& html, const std::string& pdf) {
  std::vector<std::string> args{"weasyprint", "--quiet", html, pdf};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (int e = ::posix_spawnp(&pid, "weasyprint", nullptr, nullptr, argv.data(), environ); e != 0)
    return unexpected(std::string("cannot run weasyprint (scripts/setup installs it): ") +
                      std::strerror(e));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return unexpected("weasyprint failed on " + html);
  return {};
}

// Tear by hand: the operator pulls the card while the audit sends wrong and
// right passwords in turn, so the pull lands at a moment nobody chose; after
// the card is back it must show the count before or after the VERIFY that
// was cut (3 or 2 tries), and take the right password.
Result<audit::ControlResult, Stop> run_tear_by_hand(const Options& o, tools::ReaderSupply& supply,
                                                    std::size_t index, const PasswordCard& pw,
                                                    std::string& confirmation) {
  audit::ControlResult result{
      "tear",
      "A card pulled by hand while it checks passwords never gives a try back: put back, it "
      "shows the count before or after the VERIFY it was pulled in, and takes the right password",
      {"S0 §5-3 パスワード照合・カードロック機能 (a lock that a pulled card could undo is none)",
       "card-os.md 8 (power loss), 6.6"},
      audit::ControlVerdict::fail,
      {},
      {},
      {},
      {},
      utc_now_iso8601(),
      0,
      {}};
  const auto t0 = std::chrono::steady_clock::now();
  auto lease = lease_test_card(o, supply, index, "tear-by-hand",
                               "an active test card, its password given with --set PW", result,
                               confirmation, t0);
  if (!lease) return unexpected(lease.error());
  auto fail = [&](std::string why) {
    result.reason = std::move(why);
    result.duration_ms = since_ms(t0);
    return result;
  };
  {
    Recording card((*lease)->transport(), result.steps, t0);
    auto selected = card.transmit(select_by_name(pw.aid));
    auto tries = card.transmit(verify_password({}));
    if (!selected || !tries || to_hex(*tries) != "63C3")
      return fail("the card does not show 3 tries of its password before the pull");
    std::cerr << "juki-audit: pull the card out of '" << o.reader
              << "' now; the audit sends wrong and right passwords until it is gone (waiting "
              << o.wait_seconds << " s)\n";
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(o.wait_seconds);
    const std::size_t first_step = result.steps.size();
    bool gone = false;
    while (!gone && std::chrono::steady_clock::now() < deadline) {
      for (const Bytes& value : {pw.wrong, pw.password}) {
        auto r = card.transmit(verify_password(value));
        if (!r) {
          gone = true;
          break;
        }
        const std::string want = value == pw.wrong ? "63C2" : "9000";
        if (to_hex(*r) != want)
          return fail("a password was answered " + to_hex(*r) + ", not " + want);
      }
      // Keep the evidence to the last exchanges before the pull.
      if (!gone && result.steps.size() > first_step + 8)
        result.steps.erase(result.steps.begin() + static_cast<std::ptrdiff_t>(first_step),
                           result.steps.end() - 8);
    }
    if (!gone) {
      result.verdict = audit::ControlVerdict::not_run;
      return fail("the card was not pulled within " + std::to_string(o.wait_seconds) + " s");
    }
  }
  lease->reset();
  std::cerr << "juki-audit: put the card back into '" << o.reader << "'\n";
  result.steps.push_back(
      {since_ms(t0), "the card was pulled; waiting for it to come back", {}, {}, {}, true});
  if (auto back = supply.wait_for_new_card(); !back) return fail(back.error().message);
  auto again = supply.reconnect("");
  if (!again) return fail(again.error().message);
  Recording card((*again)->transport(), result.steps, t0);
  auto selected = card.transmit(select_by_name(pw.aid));
  auto tries = card.transmit(verify_password({}));
  const std::string after = tries ? to_hex(*tries) : "nothing";
  const bool kept = after == "63C3" || after == "63C2";
  result.steps.push_back({since_ms(t0),
                          "tries after the pull: as before or after the VERIFY",
                          {},
                          tries ? *tries : Bytes{},
                          "63C3|63C2",
                          kept});
  if (!selected || !kept) return fail("after the pull the password answers " + after);
  auto right = card.transmit(verify_password(pw.password));
  const bool taken = right && to_hex(*right) == "9000";
  result.steps.push_back({since_ms(t0),
                          "the right password still verifies",
                          {},
                          right ? *right : Bytes{},
                          "9000",
                          taken});
  if (!taken) return fail("after the pull the right password is not taken");
  result.verdict = audit::ControlVerdict::pass;
  result.duration_ms = since_ms(t0);
  return result;
}

// The report (HTML, PDF, their digests) and the output; the exit status.
int write_reports(const Options& o, const audit::AuditReport& report, const json& extra) {
  // Each file's SHA-256, also in FILE.sha256 in sha256sum's format (lower-case
  // hex, two spaces, the path relative to FILE.sha256's folder), so that
  // `sha256sum -c` in that folder checks the report and a filed copy alike.
  json digests = json::object();
  std::string sums;
  const fs::path folder =
      o.report_file.empty() ? fs::path() : fs::absolute(o.report_file).parent_path();
  auto digest_of = [&](const std::string& path, const std::string& bytes) {
    std::string hex = to_hex(pki::sha256(bytes));
    for (char& ch : hex) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    digests[path] = hex;
    sums += hex + "  " + fs::absolute(path).lexically_relative(folder).string() + "\n";
  };
  // A report that cannot be written fails the run, but only after the
  // output: the card work is done and what it found is still printed.
  int write_failed = kExitOk;
  auto failed = [&](const std::string& message) {
    std::cerr << "juki-audit: " << message << "\n";
    write_failed = kExitUsage;
  };
  if (!o.report_file.empty()) {
    const std::string html = audit::to_html(report);
    if (auto written = tools::write_text_file(o.report_file, html); !written) {
      failed(written.error());
    } else {
      digest_of(o.report_file, html);
      if (!o.pdf_file.empty()) {
        auto pdf = html_to_pdf(o.report_file, o.pdf_file);
        auto bytes =
            pdf ? read_file(o.pdf_file) : Result<std::string, std::string>(unexpected(pdf.error()));
        if (bytes)
          digest_of(o.pdf_file, *bytes);
        else
          failed(bytes.error());
      }
      if (auto written = tools::write_text_file(o.report_file + ".sha256", sums); !written)
        failed(written.error());
    }
  }

  if (o.json) {
    json doc = audit::to_json(report);
    doc["digests"] = digests;
    if (extra.is_object()) doc.update(extra);
    std::cout << doc.dump(2) << "\n";
  } else {
    for (const audit::ControlResult& c : report.controls)
      std::cout << c.id << ": " << audit::to_string(c.verdict)
                << (c.reason.empty() ? "" : " (" + c.reason + ")") << "\n";
    for (const auto& [file, digest] : digests.items())
      std::cout << "sha256 " << digest.get<std::string>() << "  " << file << "\n";
    std::cout << (report.passed()           ? "audit: every control run passed\n"
                  : !report.stopped.empty() ? "audit: STOPPED\n"
                  : std::none_of(report.controls.begin(), report.controls.end(),
                                 [](const audit::ControlResult& c) {
                                   return c.verdict != audit::ControlVerdict::not_run;
                                 })
                      ? "audit: no control ran, nothing is proved -- FAILED\n"
                      : "audit: a control FAILED\n");
  }
  if (write_failed != kExitOk) return write_failed;
  return report.passed() ? kExitOk : kExitFailed;
}

int run_card(const Options& o) {
  if (!o.pdf_file.empty() && o.report_file.empty()) {
    std::cerr << "juki-audit: --pdf needs --report (the PDF is made from the HTML report)\n";
    return kExitUsage;
  }
  auto inputs = tools::blank_card_inputs(o.transport_key, o.serial, o.sets);
  if (!inputs) {
    std::cerr << "juki-audit: " << inputs.error() << "\n";
    return kExitUsage;
  }
  const script::Variables& fixed = inputs->fixed;
  auto loaded = load_controls(o, fixed);
  if (!loaded) {
    std::cerr << "juki-audit: " << loaded.error().message << "\n";
    return loaded.error().exit;
  }
  std::vector<ScriptControl>& controls = *loaded;
  auto wanted = [&](const std::string& id) {
    return o.only.empty() || std::find(o.only.begin(), o.only.end(), id) != o.only.end();
  };
  for (const std::string& id : o.only) {
    bool known = id == "tear" || id == "operator-pin" || id == "mutual-auth";
    for (const ScriptControl& c : controls) known = known || c.header.id == id;
    if (!known) {
      std::cerr << "juki-audit: --only " << id << ": no such control\n";
      return kExitUsage;
    }
  }

  // Everything that can be refused is refused before the first card.
  auto mutual_auth = wanted("mutual-auth")
                         ? mutual_auth_inputs(o)
                         : Result<std::optional<MutualAuthInputs>, Stop>(std::nullopt);
  if (!mutual_auth) {
    std::cerr << "juki-audit: " << mutual_auth.error().message << "\n";
    return mutual_auth.error().exit;
  }
  auto pw = password_card(fixed);
  if (!pw) {
    std::cerr << "juki-audit: " << pw.error() << "\n";
    return kExitUsage;
  }

  const card_os::FactoryProfile& profile = inputs->profile;
  std::unique_ptr<tools::CardSupply> supply;
  tools::ReaderSupply* reader_supply = nullptr;
  if (o.in_process) {
    supply = tools::in_memory_supply(profile, "audit");
  } else {
    auto r = std::make_unique<tools::ReaderSupply>(tools::ReaderSupplyOptions{
        "juki-audit", o.reader, o.sim_socket, o.sim_slot, o.prompt, o.wait_seconds, profile});
    reader_supply = r.get();
    supply = std::move(r);
  }

  audit::AuditReport report;
  report.tool = "juki-audit card";
  report.started_at = utc_now_iso8601();
  report.reader = o.in_process ? "in-process simulator cards" : o.reader;
  std::set<std::string> confirmations;
  const ScriptControl* password = nullptr;
  std::size_t index = 0;
  // A control that cannot go on stops the audit; what ran before is still
  // reported, since its cards are spent.
  std::optional<Stop> stopped;
  auto take = [&](Result<audit::ControlResult, Stop> result, const std::string& confirmation) {
    if (!result) {
      stopped = result.error();
      return;
    }
    if (!confirmation.empty()) confirmations.insert(confirmation);
    report.controls.push_back(std::move(*result));
  };
  for (const ScriptControl& c : controls) {
    if (c.header.id == "password") password = &c;
    if (stopped || !wanted(c.header.id)) continue;
    if (!o.json) std::cerr << "[" << c.header.id << "] " << c.header.title << "\n";
    std::string confirmation;
    take(run_script_control(o, *supply, index++, c, confirmation), confirmation);
  }
  if (!stopped && wanted("tear")) {
    if (!o.json) std::cerr << "[tear] power cuts during a wrong password VERIFY\n";
    std::string confirmation;
    if (o.by_hand && reader_supply != nullptr)
      take(run_tear_by_hand(o, *reader_supply, index++, *pw, confirmation), confirmation);
    else
      take(run_tear_control(o, reader_supply, password, *pw), "");
  }
  if (!stopped && wanted("mutual-auth")) {
    if (!o.json) std::cerr << "[mutual-auth] three failed proofs end authentication\n";
    std::string confirmation;
    take(run_mutual_auth_control(o, *supply, index++, *mutual_auth, confirmation), confirmation);
  }
  if (!stopped && wanted("operator-pin"))
    report.controls.push_back(
        {"operator-pin",
         "The operator card's PIN (操作者識別カード及び暗証番号) locks after wrong tries",
         {"S4 第4-4(2), 第4-4(4)"},
         audit::ControlVerdict::not_run,
         "this implementation has no operator card: the window terminal's operator is not "
         "identified by an IC card (NETWORK.md D10), so there is nothing to test",
         {},
         {},
         {},
         {},
         0,
         {}});
  report.finished_at = utc_now_iso8601();
  for (const std::string& c : confirmations)
    report.test_card_confirmation += (report.test_card_confirmation.empty() ? "" : "; ") + c;

  if (stopped) {
    std::cerr << "juki-audit: " << stopped->message << "\n";
    report.stopped = stopped->message;
    (void)write_reports(o, report, {});
    return stopped->exit;
  }
  return write_reports(o, report, {});
}

int run_timing_command(const Options& o) {
  if (!o.pdf_file.empty() && o.report_file.empty()) {
    std::cerr << "juki-audit: --pdf needs --report (the PDF is made from the HTML report)\n";
    return kExitUsage;
  }
  auto inputs = tools::blank_card_inputs(o.transport_key, o.serial, o.sets);
  if (!inputs) {
    std::cerr << "juki-audit: " << inputs.error() << "\n";
    return kExitUsage;
  }
  const script::Variables& fixed = inputs->fixed;
  std::optional<script::Script> preparation;
  if (!o.prepare_file.empty()) {
    auto parsed = script::parse_file(o.prepare_file, fixed);
    if (!parsed) {
      std::cerr << script::format(parsed.error(), o.prepare_file) << "\n";
      return kExitUsage;
    }
    preparation = std::move(*parsed);
  }
  auto pw = password_card(fixed);
  if (!pw) {
    std::cerr << "juki-audit: " << pw.error() << "\n";
    return kExitUsage;
  }
  const Bytes password = pw->password;

  const card_os::FactoryProfile& profile = inputs->profile;
  std::unique_ptr<tools::CardSupply> supply;
  if (o.in_process)
    supply = tools::in_memory_supply(profile, "timing");
  else
    supply = std::make_unique<tools::ReaderSupply>(tools::ReaderSupplyOptions{
        "juki-audit", o.reader, o.sim_socket, o.sim_slot, false, o.wait_seconds, profile});

  audit::AuditReport report;
  report.tool = "juki-audit timing";
  report.started_at = utc_now_iso8601();
  report.reader = o.in_process ? "in-process simulator card" : o.reader;
  std::string confirmation;
  audit::TimingReport figures;
  auto result = run_timing(o, *supply, preparation, password, confirmation, figures);
  if (!result) {
    std::cerr << "juki-audit: " << result.error().message << "\n";
    return result.error().exit;
  }
  report.controls.push_back(std::move(*result));
  report.finished_at = utc_now_iso8601();
  report.test_card_confirmation = confirmation;
  json timing{
      {"verdict", std::string(audit::verdict_name(figures.verdict))},
      {"measurements", figures.measurements},
      {"max_abs_t", figures.max_abs_t},
      {"threshold", figures.threshold},
      {"tests_counted", figures.tests_counted},
      {"p_value", figures.p_value},
      {"p_value_bound", figures.p_value_bound},
      {"false_alarm_bound", figures.false_alarm_bound},
      {"detectable_difference_ns",
       figures.detectable_difference ? json(*figures.detectable_difference) : json(nullptr)}};
  return write_reports(o, report, {{"timing", timing}});
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "The audit of a card's security controls (specs/audit.md).\n"
      "Exit status: 0 every control run passed, 1 a control failed, 2 usage, a control script\n"
      "that cannot be read or a report not written, 3 the card, its reader or the simulator\n"
      "could not be reached, 4 refused: the card is not confirmed as a test card.",
      "juki-audit"};
  app.require_subcommand(1);
  Options o;
  CLI::App* card = app.add_subcommand(
      "card",
      "The lockout controls, each on a fresh test card: the control scripts given (specs/audit), "
      "and the tear, mutual-authentication and operator-card controls");
  card->add_option("PATH", o.paths, "Control scripts, or directories of them (specs/audit)")
      ->required();
  card->add_option("--only", o.only, "Run only these controls (ids, repeatable)");
  auto* reader = card->add_option("--reader", o.reader, "The cards are in this PC/SC reader");
  card->add_flag("--in-process", o.in_process,
                 "The cards are simulator cards made in this process (no tear)")
      ->excludes(reader);
  card->add_option("--sim-socket", o.sim_socket,
                   "The reader is a juki-card-sim slot: the audit makes each test card itself "
                   "and swaps it in, and can cut the power (tear)")
      ->needs(reader);
  card->add_option("--sim-slot", o.sim_slot, "The simulator's slot of the reader")
      ->capture_default_str()
      ->check(CLI::Range(0, 63));
  card->add_flag("--prompt", o.prompt,
                 "Before each control after the first, ask for a fresh test card in the reader")
      ->needs(reader)
      ->excludes("--sim-socket");
  card->add_flag("--by-hand", o.by_hand,
                 "tear: the operator pulls the card by hand while the audit checks passwords "
                 "(a real reader)")
      ->needs(reader)
      ->excludes("--sim-socket");
  card->add_option("--wait", o.wait_seconds, "Seconds to wait for a card to leave or come")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
  card->add_option("--test-card", o.test_cards,
                   "A serial (hex, as GET DATA DF22 gives it) or 'blank': cards the audit may "
                   "lock (repeatable); otherwise the serial is asked for at the terminal");
  card->add_option("--transport-key", o.transport_key,
                   "Transport key of the blank cards (the scripts' TK; default the test key)");
  card->add_option("--serial", o.serial, "Serial of the cards the audit makes (hex)")
      ->capture_default_str();
  card->add_option("--set", o.sets,
                   "NAME=HEX: a script variable (PW, PIN1, PIN2: a brought card's PINs)");
  card->add_option("--report", o.report_file,
                   "Write the evidence report (HTML) here, and its SHA-256 to FILE.sha256");
  card->add_option("--pdf", o.pdf_file, "Also write the report as PDF (weasyprint)");
  card->add_flag("--json", o.json, "Print the report as JSON on stdout");
  card->add_option("--terminal-pki", o.terminal_pki,
                   "mutual-auth: the PKI directory of the terminal (juki-pki init)");
  card->add_option("--terminal", o.terminal_prefix,
                   "mutual-auth: the terminal's files PREFIX.key.pem, PREFIX.cert.der (juki-pki "
                   "issue --out PREFIX)")
      ->needs("--terminal-pki");
  card->add_option("--auth-app", o.auth_app,
                   "mutual-auth: the AID of the application to authenticate to (default the "
                   "Juki AP)")
      ->capture_default_str();
  CLI::App* timing = app.add_subcommand(
      "timing",
      "The time a wrong password takes, by where it differs from the right one (first digit or "
      "last), measured through the reader: a dudect-style t-test with its confidence");
  auto* timing_reader = timing->add_option("--reader", o.reader, "The card is in this reader");
  timing->add_flag("--in-process", o.in_process, "A simulator card made in this process")
      ->excludes(timing_reader);
  timing
      ->add_option("--sim-socket", o.sim_socket,
                   "The reader is a juki-card-sim slot: the audit makes the test card")
      ->needs(timing_reader);
  timing->add_option("--sim-slot", o.sim_slot, "The simulator's slot")->check(CLI::Range(0, 63));
  timing->add_option("--prepare", o.prepare_file,
                     "The script that makes a card the audit made an active test card "
                     "(specs/audit/lib/test-card.apdu)");
  timing->add_option("--measurements", o.measurements, "Wrong passwords to time")
      ->capture_default_str()
      ->check(CLI::Range(std::uint64_t{2500}, std::uint64_t{10'000'000}));
  timing->add_option("--test-card", o.test_cards, "As for card");
  timing->add_option("--set", o.sets, "NAME=HEX: PW, the card's password (default 1234)");
  timing->add_option("--transport-key", o.transport_key, "As for card");
  timing->add_option("--serial", o.serial, "As for card");
  timing->add_option("--wait", o.wait_seconds, "As for card")->check(CLI::Range(1, 3600));
  timing->add_option("--report", o.report_file, "As for card");
  timing->add_option("--pdf", o.pdf_file, "As for card");
  timing->add_flag("--json", o.json, "As for card, with the figures under 'timing'");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  if (!o.in_process && o.reader.empty()) {
    std::cerr << "juki-audit: give --reader NAME (or --in-process)\n";
    return kExitUsage;
  }
  if (timing->parsed()) return run_timing_command(o);
  return run_card(o);
}
