// juki-terminal: a window terminal's command line for a card in a PC/SC
// reader, or for a card image in this process (--in-process IMAGE), with the
// same commands: readers, wait, status, send, script, verify, change-pin, and
// authenticate (mutual authentication as a terminal, then secure messaging).
// Exit: 0 ok, 1 the card said no (or a script mismatch), 2 usage, 3 PC/SC or
// transport failure.
#include <termios.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/apdu_text.hpp"
#include "common/bytes.hpp"
#include "common/iso7816/apdu.hpp"
#include "common/iso7816/status_words.hpp"
#include "host_middleware/cli/cli_output.hpp"
#include "host_middleware/cli/secret_input.hpp"
#include "host_middleware/pcsc/pcsc.hpp"
#include "host_middleware/script/script.hpp"
#include "host_middleware/session/secure_session.hpp"
#include "pki/directory.hpp"
#include "pki/pki.hpp"
#include "records/records.hpp"
#include "tools/cli/card_connection.hpp"

namespace {

using namespace juki;
using nlohmann::json;
namespace pcsc = juki::host::pcsc;
namespace script = juki::host::script;

using host::cli::fail;
using host::cli::Failure;
using host::cli::kExitOk;
using host::cli::kExitUsage;
using host::cli::Output;
using host::cli::usage;
using tools::from_card;
// This tool's 1 and 3: the card said no; PC/SC or the transport failed.
constexpr int kExitCardSaidNo = host::cli::kExitRefused;
constexpr int kExitTransport = host::cli::kExitIo;

// The sample application (specs/card-os.md "The sample layout"); `status`
// looks for it. The Juki applications join this list when they exist.
struct KnownApp {
  const char* aid;
  const char* label;
};
constexpr KnownApp kKnownApps[] = {{"F04A554B4944454D4F", "sample application JUKIDEMO"}};

struct Globals {
  bool json = false;
  bool trace = false;
  bool trace_secrets = false;
  bool exclusive = false;
  std::string in_process;  // card image file; empty: PC/SC
  std::string reader;      // empty: the first reader holding a card
};

Failure from_pcsc(const pcsc::PcscError& e) {
  return from_card(tools::from_pcsc(e));
}

// ------------------------------------------------------------ the card

// The card: in a PC/SC reader or an image in this process (--trace: every
// exchange to stderr).
using Session = tools::CardConnection;

Result<std::unique_ptr<Session>, Failure> open_session(const Globals& g, bool reset_on_close) {
  tools::CardOptions o;
  o.in_process = g.in_process;
  o.reader = g.reader;
  o.exclusive = g.exclusive;
  o.reset_on_close = reset_on_close;
  if (g.trace) o.trace = &std::cerr;
  if (g.trace_secrets) o.trace_secrets = apdu_text::Secrets::show;
  auto c = Session::open(o);
  if (!c) return unexpected(from_card(c.error()));
  return std::move(*c);
}

struct Answer {
  Bytes data;
  sw::Sw sw = 0;
};

Result<Answer, Failure> card_exchange(Session& s, ByteView command) {
  auto r = s.t().transmit(command);
  if (!r) return unexpected(from_card(s.failure(r.error())));
  auto decoded = apdu::Response::decode(*r);
  if (!decoded) return unexpected(Failure{kExitTransport, "transport", decoded.error()});
  return Answer{std::move(decoded->data), decoded->sw};
}

std::string sw_hex(sw::Sw sw) {
  char s[8];
  std::snprintf(s, sizeof s, "%04X", sw);
  return s;
}
std::string sw_text(sw::Sw sw) {
  return sw_hex(sw) + " " + sw::meaning(sw);
}
bool is_tries_left(sw::Sw sw) {
  return (sw & 0xFFF0) == sw::kVerifyFailedBase;
}

// The byte string a card returns for GET DATA: tag (2 bytes) length value.
Result<Bytes, Failure> get_data(Session& s, std::uint16_t tag, sw::Sw& sw_out) {
  const Bytes cmd = apdu::encode_command(0x00, 0xCA, static_cast<std::uint8_t>(tag >> 8),
                                         static_cast<std::uint8_t>(tag), {}, 256);
  auto a = card_exchange(s, cmd);
  if (!a) return unexpected(a.error());
  sw_out = a->sw;
  if (a->sw != sw::kOk) return Bytes{};
  const Bytes& d = a->data;
  if (d.size() < 3 || load_be16(d.data()) != tag || d[2] != d.size() - 3)
    return unexpected(Failure{kExitCardSaidNo, "card",
                              "GET DATA " + sw_hex(tag) + ": malformed answer " + to_hex(d)});
  return Bytes(d.begin() + 3, d.end());
}

Result<sw::Sw, Failure> select_app(Session& s, ByteView aid) {
  auto a = card_exchange(s, apdu::encode_command(0x00, 0xA4, 0x04, 0x0C, aid));
  if (!a) return unexpected(a.error());
  return a->sw;
}

// Life-cycle byte to name: GET DATA DF20 values (specs/card-os.md 4.1) and the
// ATR's ISO status-indicator values (section 1).
const char* life_cycle_name(std::uint8_t v, bool from_atr) {
  switch (v) {
    case 0x01:
      return "transport-locked";
    case 0x03:
      return "personalization";
    case 0x04:
      return "issued";
    case 0x05:
      return "active";
    case 0x0C:
      return from_atr ? "terminated" : "unknown";
    case 0x0F:
      return from_atr ? "unknown" : "terminated";
    default:
      return "unknown";
  }
}

// The life-cycle status byte of the ATR's compact-TLV status indicator (tag
// 8), which a card gives in every state, even where GET DATA is refused.
std::optional<std::uint8_t> atr_life_cycle(ByteView atr) {
  if (atr.size() < 2) return std::nullopt;
  std::size_t i = 2;
  std::uint8_t y = atr[1] >> 4;
  const std::size_t historical = atr[1] & 0x0F;
  for (;;) {  // interface bytes TAi TBi TCi TDi
    i += ((y & 1) != 0) + ((y & 2) != 0) + ((y & 4) != 0);
    if ((y & 8) == 0) break;
    if (i >= atr.size()) return std::nullopt;
    y = atr[i++] >> 4;
  }
  if (i + historical > atr.size() || historical == 0 || atr[i] != 0x80) return std::nullopt;
  for (std::size_t at = i + 1; at < i + historical;) {
    const std::uint8_t tag = atr[at] >> 4, len = atr[at] & 0x0F;
    if (at + 1 + len > i + historical) return std::nullopt;
    if (tag == 8 && (len == 1 || len == 3)) return atr[at + 1];
    at += 1 + len;
  }
  return std::nullopt;
}

// What an empty VERIFY says about a PIN (specs/card-os.md 6.6).
json pin_status(sw::Sw sw, std::string& text) {
  json j = {{"sw", sw_hex(sw)}, {"meaning", sw::meaning(sw)}};
  if (is_tries_left(sw)) {
    j["state"] = "tries_left";
    j["tries_left"] = sw & 0x0F;
    text = std::to_string(sw & 0x0F) + " tries left";
  } else if (sw == sw::kAuthMethodBlocked) {
    j["state"] = "blocked";
    j["tries_left"] = 0;
    text = "blocked";
  } else if (sw == sw::kOk) {
    j["state"] = "verified";
    text = "verified in this session";
  } else if (sw == sw::kReferenceDataNotUsable) {
    j["state"] = "not_set";
    text = "no value set yet";
  } else if (sw == sw::kReferenceNotFound) {
    j["state"] = "no_such_pin";
    text = "no such PIN";
  } else if (sw == sw::kConditionsNotSatisfied) {
    j["state"] = "not_available";
    text = "not available in this life-cycle state";
  } else {
    j["state"] = "error";
    text = sw_text(sw);
  }
  return j;
}

// ------------------------------------------------------------ PIN entry

// `given` if set, else asked for; on a terminal a new PIN is asked twice.
Result<Bytes, Failure> pin_value(const std::optional<std::string>& given, const std::string& prompt,
                                 bool confirm) {
  host::cli::SecretError error;
  auto value = host::cli::secret_value(given, prompt, confirm, error);
  if (!value) return unexpected(usage(error.message));
  ByteView b = as_bytes(*value);
  return Bytes(b.begin(), b.end());
}

Result<Bytes, Failure> parse_aid(const std::string& text) {
  auto aid = from_hex(text);
  if (!aid || aid->empty() || aid->size() > 16)
    return unexpected(usage("--app must be an AID of 1 to 16 bytes in hex, not '" + text + "'"));
  return *aid;
}

Result<std::uint8_t, Failure> parse_ref(const std::string& text) {
  auto ref = from_hex(text);
  if (!ref || ref->size() != 1)
    return unexpected(usage("the PIN reference must be one byte in hex (81), not '" + text + "'"));
  return (*ref)[0];
}

// Selects the application, or says why not.
Result<void, Failure> require_app(Session& s, ByteView aid) {
  auto sw = select_app(s, aid);
  if (!sw) return unexpected(sw.error());
  if (*sw != sw::kOk)
    return unexpected(
        Failure{kExitCardSaidNo, "card", "SELECT " + to_hex(aid) + ": " + sw_text(*sw)});
  return {};
}

// ------------------------------------------------------------ commands

int cmd_readers(const Globals& g, Output& out) {
  json list = json::array();
  if (!g.in_process.empty()) {
    auto s = open_session(g, false);
    if (!s) return fail(out, s.error());
    const Bytes atr = (*s)->t().atr();
    list.push_back({{"name", (*s)->t().describe()},
                    {"card_present", true},
                    {"in_use", false},
                    {"exclusive", false},
                    {"mute", false},
                    {"atr", to_hex(atr)}});
    out.text << (*s)->t().describe() << ": card, ATR " << to_hex(atr, true) << "\n";
  } else {
    auto context = pcsc::PcscContext::establish();
    if (!context) return fail(out, from_pcsc(context.error()));
    auto states = context->reader_states();
    if (!states) return fail(out, from_pcsc(states.error()));
    for (const pcsc::ReaderState& r : *states) {
      list.push_back({{"name", r.name},
                      {"card_present", r.card_present},
                      {"in_use", r.in_use},
                      {"exclusive", r.exclusive},
                      {"mute", r.mute},
                      {"atr", r.card_present ? json(to_hex(r.atr)) : json(nullptr)}});
      out.text << r.name << ": ";
      if (!r.card_present)
        out.text << "empty";
      else if (r.mute)
        out.text << "card (mute)";
      else
        out.text << "card, ATR " << to_hex(r.atr, true);
      if (r.exclusive)
        out.text << " [in exclusive use]";
      else if (r.in_use)
        out.text << " [in use]";
      out.text << "\n";
    }
    if (states->empty()) out.text << "no readers\n";
  }
  out.doc = {{"ok", true}, {"readers", std::move(list)}};
  return kExitOk;
}

int cmd_wait(const Globals& g, Output& out, std::optional<double> timeout_s, bool removal) {
  if (timeout_s && *timeout_s < 0) return fail(out, usage("--timeout must not be negative"));
  if (!g.in_process.empty()) {
    // An image is always "in the reader": insertion is immediate, removal never comes.
    if (removal) return fail(out, usage("an in-process card is never removed"));
    auto s = open_session(g, false);
    if (!s) return fail(out, s.error());
    const std::string atr = to_hex((*s)->t().atr());
    out.doc = {{"ok", true}, {"event", "inserted"}, {"reader", (*s)->t().describe()}, {"atr", atr}};
    out.text << "card in " << (*s)->t().describe() << ", ATR " << to_hex((*s)->t().atr(), true)
             << "\n";
    return kExitOk;
  }
  auto context = pcsc::PcscContext::establish();
  if (!context) return fail(out, from_pcsc(context.error()));
  pcsc::Timeout timeout;
  if (timeout_s) timeout = std::chrono::milliseconds(static_cast<long long>(*timeout_s * 1000.0));
  auto r = removal ? context->wait_for_removal(g.reader, timeout)
                   : context->wait_for_card(g.reader, timeout);
  if (!r) return fail(out, from_pcsc(r.error()));
  out.doc = {{"ok", true},
             {"event", removal ? "removed" : "inserted"},
             {"reader", r->name},
             {"atr", removal ? json(nullptr) : json(to_hex(r->atr))}};
  if (removal)
    out.text << (r->name.empty() ? std::string("no card in any reader")
                                 : "no card in '" + r->name + "'")
             << "\n";
  else
    out.text << "card in '" << r->name << "', ATR " << to_hex(r->atr, true)
             << (r->mute ? " (mute)" : "") << "\n";
  return kExitOk;
}

int cmd_status(const Globals& g, Output& out, const std::string& app, const std::string& ref_text) {
  std::optional<Bytes> aid;
  std::uint8_t ref = 0;
  if (!app.empty()) {
    auto a = parse_aid(app);
    if (!a) return fail(out, a.error());
    aid = *a;
    auto r = parse_ref(ref_text);
    if (!r) return fail(out, r.error());
    ref = *r;
  }
  auto opened = open_session(g, false);
  if (!opened) return fail(out, opened.error());
  Session& s = **opened;
  const Bytes atr = s.t().atr();
  json doc = {{"ok", true}, {"transport", s.t().describe()}, {"atr", to_hex(atr)}};
  out.text << "transport    " << s.t().describe() << "\n";
  out.text << "ATR          " << to_hex(atr, true) << "\n";

  sw::Sw sw = 0;
  auto lc = get_data(s, 0xDF20, sw);
  if (!lc) return fail(out, lc.error());
  if (sw == sw::kOk && lc->size() == 1) {
    doc["life_cycle"] = {{"value", (*lc)[0]},
                         {"name", life_cycle_name((*lc)[0], false)},
                         {"source", "GET DATA DF20"}};
    out.text << "life cycle   " << life_cycle_name((*lc)[0], false) << " ("
             << to_hex(ByteView(lc->data(), 1)) << ")\n";
  } else if (auto from_atr = atr_life_cycle(atr)) {
    // Transport-locked cards refuse GET DATA; their ATR still tells.
    doc["life_cycle"] = {
        {"value", *from_atr}, {"name", life_cycle_name(*from_atr, true)}, {"source", "ATR"}};
    out.text << "life cycle   " << life_cycle_name(*from_atr, true) << " (from the ATR)\n";
  } else {
    doc["life_cycle"] = nullptr;
    out.text << "life cycle   unknown (GET DATA DF20: " << sw_text(sw) << ")\n";
  }

  auto serial = get_data(s, 0xDF22, sw);
  if (!serial) return fail(out, serial.error());
  doc["serial"] = sw == sw::kOk ? json(to_hex(*serial)) : json(nullptr);
  out.text << "serial       "
           << (sw == sw::kOk ? to_hex(*serial) : "unavailable (" + sw_text(sw) + ")") << "\n";

  auto memory = get_data(s, 0xDF21, sw);
  if (!memory) return fail(out, memory.error());
  if (sw == sw::kOk && memory->size() == 8) {
    const std::uint32_t capacity = load_be32(memory->data()), free = load_be32(memory->data() + 4);
    doc["memory"] = {{"capacity", capacity}, {"free", free}};
    out.text << "memory       " << free << " of " << capacity << " bytes free\n";
  } else {
    doc["memory"] = nullptr;
    out.text << "memory       unavailable (" << sw_text(sw) << ")\n";
  }

  // Applications: SELECT each known AID (and --app); 6985 means the card's
  // state does not let us look, not that it is missing.
  json apps = json::array();
  std::vector<std::pair<Bytes, std::string>> probe;
  for (const KnownApp& k : kKnownApps) probe.emplace_back(*from_hex(k.aid), k.label);
  if (aid &&
      std::none_of(probe.begin(), probe.end(), [&](const auto& p) { return p.first == *aid; }))
    probe.emplace_back(*aid, "--app");
  bool app_missing = false;
  for (const auto& [id, label] : probe) {
    auto r = select_app(s, id);
    if (!r) return fail(out, r.error());
    json present = *r == sw::kOk             ? json(true)
                   : *r == sw::kFileNotFound ? json(false)
                                             : json(nullptr);
    apps.push_back(
        {{"aid", to_hex(id)}, {"label", label}, {"present", present}, {"sw", sw_hex(*r)}});
    out.text << "application  " << to_hex(id) << " (" << label << "): "
             << (*r == sw::kOk             ? "present"
                 : *r == sw::kFileNotFound ? "absent"
                                           : sw_text(*r))
             << "\n";
    if (aid && id == *aid && *r != sw::kOk) app_missing = true;
  }
  doc["applications"] = std::move(apps);

  int exit = kExitOk;
  if (aid) {
    if (app_missing) {
      doc["pin"] = nullptr;
      out.text << "PIN " << to_hex(ByteView(&ref, 1)) << "       application not selectable\n";
      exit = kExitCardSaidNo;
    } else {
      auto selected = select_app(s, *aid);  // the probe may have moved on to another app
      if (!selected) return fail(out, selected.error());
      auto a = card_exchange(s, apdu::encode_command(0x00, 0x20, 0x00, ref));
      if (!a) return fail(out, a.error());
      std::string text;
      json pin = pin_status(a->sw, text);
      pin["aid"] = to_hex(*aid);
      pin["ref"] = to_hex(ByteView(&ref, 1));
      doc["pin"] = std::move(pin);
      out.text << "PIN " << to_hex(ByteView(&ref, 1)) << "       " << text << "\n";
    }
  }
  doc["ok"] = exit == kExitOk;
  out.doc = std::move(doc);
  return exit;
}

// 9000 and 61XX are the card saying yes; anything else is a no.
bool card_said_yes(sw::Sw sw) {
  return (sw >> 8) == 0x90 || (sw >> 8) == 0x61;
}

// One exchange through `t`, printed as `send` prints it: "> command [name]"
// and "< response   SW meaning" in the text, an object in `exchanges`. The
// status word, or why there was none.
Result<sw::Sw, Failure> exchange_and_print(Session& s, juki::Transport& t, ByteView command,
                                           Output& out, json& exchanges) {
  auto r = t.transmit(command);
  if (!r) return unexpected(from_card(s.failure(r.error())));
  auto decoded = apdu::Response::decode(*r);
  if (!decoded) return unexpected(Failure{kExitTransport, "transport", decoded.error()});
  const std::string name = apdu_text::command_name(command[0], command[1]);
  exchanges.push_back({{"command", to_hex(command)},
                       {"name", name},
                       {"response", to_hex(*r)},
                       {"data", to_hex(decoded->data)},
                       {"sw", sw_hex(decoded->sw)},
                       {"meaning", sw::meaning(decoded->sw)}});
  out.text << "> " << to_hex(command, true) << "   [" << name << "]\n"
           << "< " << to_hex(*r, true) << "   " << sw_text(decoded->sw) << "\n";
  return decoded->sw;
}

// Command APDUs in hex, as `send` and `authenticate` take them.
Result<std::vector<Bytes>, Failure> parse_apdus(const std::vector<std::string>& apdus) {
  std::vector<Bytes> commands;
  for (const std::string& text : apdus) {
    auto b = from_hex(text);
    if (!b || b->size() < 4)
      return unexpected(usage("not an APDU (at least CLA INS P1 P2, in hex): '" + text + "'"));
    commands.push_back(std::move(*b));
  }
  return commands;
}

// A failure after some exchanges: the error, and what was exchanged before it.
int fail_keeping(Output& out, const Failure& f, json& exchanges) {
  const int code = fail(out, f);
  out.doc["exchanges"] = std::move(exchanges);
  return code;
}

int cmd_send(const Globals& g, Output& out, const std::vector<std::string>& apdus) {
  auto commands = parse_apdus(apdus);
  if (!commands) return fail(out, commands.error());
  auto opened = open_session(g, false);
  if (!opened) return fail(out, opened.error());
  Session& s = **opened;
  json exchanges = json::array();
  bool all_ok = true;
  for (const Bytes& c : *commands) {
    auto sw = exchange_and_print(s, s.t(), c, out, exchanges);
    if (!sw) return fail_keeping(out, sw.error(), exchanges);
    all_ok = all_ok && card_said_yes(*sw);
  }
  out.doc = {{"ok", all_ok}, {"transport", s.t().describe()}, {"exchanges", std::move(exchanges)}};
  return all_ok ? kExitOk : kExitCardSaidNo;
}

// ------------------------------------------------------------ authenticate

// Where the terminal's credentials are: --terminal PREFIX and --pki DIR name
// the files juki-pki writes; --key, --cert, --ca and --root override them.
struct CredentialFiles {
  std::string pki_dir, terminal, key, cert, ca, root;
};

Result<host::session::Credentials, Failure> load_credentials(const CredentialFiles& f) {
  auto pick = [](const std::string& given, const std::string& base, const char* suffix) {
    if (!given.empty()) return given;
    return base.empty() ? std::string() : base + suffix;
  };
  const std::string key = pick(f.key, f.terminal, ".key.pem");
  const std::string cert = pick(f.cert, f.terminal, ".cert.der");
  namespace d = pki::directory;
  auto in_pki = [&](const std::string& given, std::string_view stem) {
    if (!given.empty() || f.pki_dir.empty()) return given;
    return d::cert_path(f.pki_dir, stem);
  };
  const std::string ca = in_pki(f.ca, d::ca_stem(pki::CaKind::terminal));
  const std::string root = in_pki(f.root, d::kRootStem);
  if (key.empty()) return unexpected(usage("no terminal key: give --terminal PREFIX or --key PEM"));
  if (cert.empty())
    return unexpected(usage("no terminal certificate: give --terminal PREFIX or --cert DER"));
  if (ca.empty())
    return unexpected(usage("no terminal CA certificate: give --pki DIR or --ca DER"));
  if (root.empty()) return unexpected(usage("no root certificate: give --pki DIR or --root DER"));
  auto credentials = host::session::Credentials::load(key, cert, ca, root);
  if (!credentials) return unexpected(Failure{kExitUsage, "credentials", credentials.error()});
  return std::move(*credentials);
}

// What a refusal during authentication most likely means
// (specs/secure-channel.md 2.1, 2.2, 2.4).
std::string refusal_hint(sw::Sw sw) {
  switch (sw) {
    case sw::kSecurityStatusNotSatisfied:
      return "wrong role: the card does not admit this terminal's role here (or a municipal-app "
             "certificate is for another application)";
    case sw::kReferenceNotFound:
      return "the card does not know this PKI: its trust anchor did not issue the terminal CA, or "
             "the selected application (the MF without --app) has no trust anchor, key or "
             "certificate";
    case sw::kAuthenticationFailed:
      return "a signature did not verify: a terminal of another PKI, or a key that is not the "
             "certificate's";
    case sw::kReferenceDataNotUsable:
      return "a certificate has expired against the card's date";
    case sw::kAuthMethodBlocked:
      return "authentication is blocked: 3 failures since power-up (power the card off and on) "
             "or 15 in a row (for good)";
    case sw::kWrongData:
      return "the card does not accept the certificate (not a Juki-net terminal CA or terminal "
             "certificate)";
    case sw::kConditionsNotSatisfied:
      return "a step out of order, or the card's state does not allow authentication";
    case sw::kInsNotSupported:
    case sw::kClaNotSupported:
    case sw::kFunctionNotSupported:
      return "the card does not support mutual authentication";
    default:
      return {};
  }
}

json optional_json(const std::optional<std::string>& v) {
  return v ? json(*v) : json(nullptr);
}

// The terminal's side of who authenticated: role, municipality, subject.
json terminal_identity(const pki::Certificate& certificate) {
  json j = {{"role", nullptr},
            {"municipality", nullptr},
            {"application", nullptr},
            {"subject", certificate.subject()},
            {"serial", certificate.serial_hex()}};
  auto auth = certificate.authorization();
  if (auth && *auth) {
    const pki::Authorization& a = **auth;
    j["role"] = std::string(pki::role_name(a.role));
    j["municipality"] = optional_json(a.municipality);
    if (a.application) j["application"] = to_hex(*a.application);
  }
  return j;
}

// The window's check in the issuance records (specs/issuance-records.md):
// the card in the reader must be recorded active and not past its expiry
// today (in Japan). Its verdict, for the output.
Result<json, Failure> window_check(Session& s, const std::string& records_file) {
  sw::Sw sw = 0;
  auto serial = get_data(s, 0xDF22, sw);
  if (!serial) return unexpected(serial.error());
  if (sw != sw::kOk || serial->size() != 8)
    return unexpected(Failure{kExitCardSaidNo, "card", "GET DATA DF22 (serial): " + sw_text(sw)});
  auto records = records::Records::open(records_file);
  if (!records) return unexpected(Failure{kExitTransport, "records", records.error().message});
  const std::string hex = to_hex(*serial);
  auto w = records->window_check(hex, records::japan_date(std::chrono::system_clock::now()));
  if (!w) return unexpected(Failure{kExitTransport, "records", w.error().message});
  if (w->verdict != records::WindowCheck::Verdict::accepted)
    return unexpected(Failure{kExitCardSaidNo, "window_check",
                              "the issuance records refuse card " + hex + ": " + w->why});
  return json{{"serial", hex}, {"verdict", records::to_string(w->verdict)}, {"why", w->why}};
}

int cmd_authenticate(const Globals& g, Output& out, const CredentialFiles& files,
                     const std::string& app, const std::vector<std::string>& read_fids,
                     const std::vector<std::string>& apdus, const std::string& records_file) {
  using host::session::SessionError;
  std::optional<Bytes> aid;
  if (!app.empty()) {
    auto a = parse_aid(app);
    if (!a) return fail(out, a.error());
    aid = std::move(*a);
  }
  std::vector<Bytes> fids;
  for (const std::string& text : read_fids) {
    auto fid = from_hex(text);
    if (!fid || fid->size() != 2)
      return fail(
          out, usage("--read takes a file identifier of 4 hex digits (7001), not '" + text + "'"));
    fids.push_back(std::move(*fid));
  }
  auto commands = parse_apdus(apdus);
  if (!commands) return fail(out, commands.error());
  auto credentials = load_credentials(files);
  if (!credentials) return fail(out, credentials.error());

  // The card is reset when we let go: the session and the role it grants
  // end with this command.
  auto opened = open_session(g, true);
  if (!opened) return fail(out, opened.error());
  Session& s = **opened;
  std::optional<json> checked;
  if (!records_file.empty()) {
    auto verdict = window_check(s, records_file);
    if (!verdict) return fail(out, verdict.error());
    checked = std::move(*verdict);
  }
  if (aid)
    if (auto selected = require_app(s, *aid); !selected) return fail(out, selected.error());

  // Steps 1 to 5 in plain on the session's transport (--trace shows them),
  // then everything under secure messaging.
  auto session = host::session::SecureSession::open(s.t(), *credentials,
                                                    static_cast<std::int64_t>(std::time(nullptr)));
  if (!session) {
    const SessionError& e = session.error();
    Failure f{kExitCardSaidNo, "", e.message};
    switch (e.kind) {
      case SessionError::Kind::transport:
        f = from_card(s.failure(juki::TransportError{e.message}));
        break;
      case SessionError::Kind::refused:
        f.kind = "refused";
        f.message = "authentication refused: " + e.message;
        if (const std::string hint = refusal_hint(e.sw); !hint.empty()) f.message += ": " + hint;
        break;
      case SessionError::Kind::untrusted_card:
        f.kind = "untrusted_card";
        f.message = "the card's certificate chain or signature did not verify: " + e.message;
        break;
      case SessionError::Kind::protocol:
        f.kind = "protocol";
        f.message = "authentication failed, the card's answer is malformed: " + e.message;
        break;
    }
    const int code = fail(out, f);
    out.doc["authenticated"] = nullptr;
    if (e.kind == SessionError::Kind::refused) {
      out.doc["error"]["sw"] = sw_hex(e.sw);
      out.doc["error"]["meaning"] = sw::meaning(e.sw);
    }
    return code;
  }
  host::session::SecureSession& secure = **session;

  json terminal = terminal_identity(credentials->certificate);
  const pki::Certificate& card_cert = secure.card().certificate;
  const pki::Authorization& card_auth = secure.card().authorization;
  json authenticated = {{"role", terminal["role"]},
                        {"municipality", terminal["municipality"]},
                        {"terminal", terminal},
                        {"application", aid ? json(to_hex(*aid)) : json(nullptr)},
                        {"card",
                         {{"subject", card_cert.subject()},
                          {"serial", card_cert.serial_hex()},
                          {"municipality", optional_json(card_auth.municipality)},
                          {"not_after", pki::format_time(card_cert.not_after())}}}};
  auto text_or = [](const json& v, const char* none) {
    return v.is_string() ? v.get<std::string>() : std::string(none);
  };
  out.text << "terminal     " << text_or(terminal["role"], "(no role)") << ", municipality "
           << text_or(terminal["municipality"], "none") << ": "
           << terminal["subject"].get<std::string>() << "\n";
  out.text << "card         " << card_cert.subject() << ", municipality "
           << card_auth.municipality.value_or("none") << ", serial " << card_cert.serial_hex()
           << "\n";
  out.text << "session      mutually authenticated, secure messaging on (" << s.t().describe()
           << ")\n";

  json exchanges = json::array();
  bool all_ok = true;
  auto keep_on = [&](const Failure& f) {
    const int code = fail_keeping(out, f, exchanges);
    out.doc["authenticated"] = std::move(authenticated);
    return code;
  };
  // Sends one command under secure messaging; an error once the session is gone.
  auto send = [&](ByteView c) -> Result<sw::Sw, Failure> {
    if (!secure.active())
      return unexpected(Failure{kExitCardSaidNo, "session_ended",
                                "the card ended the secure session; the remaining commands "
                                "were not sent"});
    return exchange_and_print(s, secure, c, out, exchanges);
  };
  for (const Bytes& fid : fids) {
    auto selected = send(apdu::encode_command(0x00, 0xA4, 0x02, 0x0C, fid));
    if (!selected) return keep_on(selected.error());
    if (*selected != sw::kOk) {
      all_ok = false;  // nothing to read: READ BINARY would read another file
      continue;
    }
    auto read = send(apdu::encode_command(0x00, 0xB0, 0x00, 0x00, {}, 256));
    if (!read) return keep_on(read.error());
    // 6282: the file is shorter than 256 bytes, and all of it came.
    all_ok = all_ok && (*read == sw::kOk || *read == sw::kEndReached);
  }
  for (const Bytes& c : *commands) {
    auto sw = send(c);
    if (!sw) return keep_on(sw.error());
    all_ok = all_ok && card_said_yes(*sw);
  }
  out.doc = {{"ok", all_ok},
             {"transport", secure.describe()},
             {"window_check", checked ? std::move(*checked) : json(nullptr)},
             {"authenticated", std::move(authenticated)},
             {"exchanges", std::move(exchanges)}};
  return all_ok ? kExitOk : kExitCardSaidNo;
}

int cmd_script(const Globals& g, Output& out, const std::vector<std::string>& files, bool verbose) {
  std::vector<script::Script> scripts;
  json errors = json::array();
  for (const std::string& file : files) {
    auto parsed = script::parse_file(file);
    if (!parsed) {
      std::cerr << script::format(parsed.error(), file) << "\n";
      errors.push_back(
          {{"source", file}, {"line", parsed.error().line}, {"message", parsed.error().message}});
      continue;
    }
    scripts.push_back(std::move(*parsed));
  }
  if (!errors.empty()) {
    out.doc = {{"ok", false}, {"errors", std::move(errors)}};
    return kExitUsage;
  }
  auto opened = open_session(g, false);
  if (!opened) return fail(out, opened.error());
  Session& s = **opened;

  script::RunOptions options;
  if (verbose) options.echo = [](std::string_view line) { std::cerr << line << "\n"; };
  json reports = json::array();
  std::size_t passed = 0, mismatched = 0, commands = 0;
  bool aborted = false;
  // Every file runs against the same card, one after the other: the
  // conformance scripts each expect a blank card with the test transport key,
  // which is the operator's to provide.
  for (const script::Script& sc : scripts) {
    const script::RunReport report = script::run(sc, s.t(), options);
    passed += report.passed;
    mismatched += report.mismatches.size();
    commands += report.commands;
    aborted = aborted || report.aborted.has_value();
    reports.push_back(script::to_json(report));
    out.text << script::to_text(report);
  }
  const bool ok = mismatched == 0 && !aborted;
  out.doc = {{"ok", ok},
             {"transport", s.t().describe()},
             {"passed", passed},
             {"failed", mismatched},
             {"commands", commands},
             {"files", std::move(reports)}};
  out.text << "total: " << passed << " passed, " << mismatched << " failed (" << commands
           << (commands == 1 ? " command)" : " commands)") << (ok ? "" : " -- FAILED") << "\n";
  if (aborted) return kExitTransport;
  return ok ? kExitOk : kExitCardSaidNo;
}

int cmd_verify(const Globals& g, Output& out, const std::string& app, const std::string& ref_text,
               const std::optional<std::string>& pin_text) {
  auto aid = parse_aid(app);
  if (!aid) return fail(out, aid.error());
  auto ref = parse_ref(ref_text);
  if (!ref) return fail(out, ref.error());
  auto pin = pin_value(pin_text, "PIN", false);
  if (!pin) return fail(out, pin.error());
  // The card is reset when we let go: a PIN verified here must not stay
  // verified for whichever application talks to the card next.
  auto opened = open_session(g, true);
  if (!opened) return fail(out, opened.error());
  Session& s = **opened;
  if (auto selected = require_app(s, *aid); !selected) return fail(out, selected.error());
  auto a = card_exchange(s, apdu::encode_command(0x00, 0x20, 0x00, *ref, *pin));
  if (!a) return fail(out, a.error());
  const bool ok = a->sw == sw::kOk;
  json doc = {{"ok", ok}, {"verified", ok}, {"sw", sw_hex(a->sw)}, {"meaning", sw::meaning(a->sw)}};
  if (is_tries_left(a->sw)) doc["tries_left"] = a->sw & 0x0F;
  if (a->sw == sw::kAuthMethodBlocked) doc["tries_left"] = 0;
  out.doc = std::move(doc);
  if (ok)
    out.text << "PIN verified\n";
  else if (is_tries_left(a->sw))
    out.text << "wrong PIN: " << (a->sw & 0x0F) << " tries left\n";
  else if (a->sw == sw::kAuthMethodBlocked)
    out.text << "PIN blocked\n";
  else
    out.text << "not verified: " << sw_text(a->sw) << "\n";
  return ok ? kExitOk : kExitCardSaidNo;
}

// PIN values padded with FF to `pad_to` bytes: the card's format for a
// variable-length PIN in CHANGE REFERENCE DATA (specs/card-os.md 6.7).
Result<Bytes, Failure> padded(Bytes v, std::size_t pad_to) {
  if (pad_to == 0) return v;
  if (v.size() > pad_to)
    return unexpected(usage("a PIN is longer than --pad-to " + std::to_string(pad_to)));
  v.resize(pad_to, 0xFF);
  return v;
}

int cmd_change_pin(const Globals& g, Output& out, const std::string& app,
                   const std::string& ref_text, const std::optional<std::string>& old_text,
                   const std::optional<std::string>& new_text, bool initial_flag,
                   std::size_t pad_to) {
  auto aid = parse_aid(app);
  if (!aid) return fail(out, aid.error());
  auto ref = parse_ref(ref_text);
  if (!ref) return fail(out, ref.error());
  auto opened = open_session(g, true);
  if (!opened) return fail(out, opened.error());
  Session& s = **opened;

  // First value (P1 01) or change (P1 00)? An issued card only takes the
  // first value; otherwise the PIN says itself whether it has one (6984).
  bool initial = initial_flag;
  if (!initial) {
    sw::Sw sw = 0;
    auto lc = get_data(s, 0xDF20, sw);
    if (!lc) return fail(out, lc.error());
    initial = sw == sw::kOk && lc->size() == 1 && (*lc)[0] == 0x04;
  }
  if (auto selected = require_app(s, *aid); !selected) return fail(out, selected.error());
  if (!initial) {
    auto probe = card_exchange(s, apdu::encode_command(0x00, 0x20, 0x00, *ref));
    if (!probe) return fail(out, probe.error());
    initial = probe->sw == sw::kReferenceDataNotUsable;
  }

  Bytes data;
  if (!initial) {
    auto old_pin = pin_value(old_text, "current PIN", false);
    if (!old_pin) return fail(out, old_pin.error());
    auto p = padded(std::move(*old_pin), pad_to);
    if (!p) return fail(out, p.error());
    data = std::move(*p);
  }
  auto new_pin = pin_value(new_text, "new PIN", true);
  if (!new_pin) return fail(out, new_pin.error());
  auto p = padded(std::move(*new_pin), pad_to);
  if (!p) return fail(out, p.error());
  data.insert(data.end(), p->begin(), p->end());

  auto a = card_exchange(s, apdu::encode_command(0x00, 0x24, initial ? 0x01 : 0x00, *ref, data));
  if (!a) return fail(out, a.error());
  const bool ok = a->sw == sw::kOk;
  json doc = {{"ok", ok},
              {"changed", ok},
              {"mode", initial ? "initial" : "change"},
              {"sw", sw_hex(a->sw)},
              {"meaning", sw::meaning(a->sw)}};
  if (is_tries_left(a->sw)) doc["tries_left"] = a->sw & 0x0F;
  if (ok) {
    // Setting the activation PIN activates an issued card: say so.
    sw::Sw sw = 0;
    auto lc = get_data(s, 0xDF20, sw);
    if (lc && sw == sw::kOk && lc->size() == 1)
      doc["life_cycle"] = life_cycle_name((*lc)[0], false);
  }
  out.text << (ok ? (initial ? "PIN set" : "PIN changed")
               : is_tries_left(a->sw)
                   ? "wrong current PIN: " + std::to_string(a->sw & 0x0F) + " tries left"
                   : "not changed: " + sw_text(a->sw));
  if (doc.contains("life_cycle")) out.text << "; card is " << doc["life_cycle"].get<std::string>();
  out.text << "\n";
  out.doc = std::move(doc);
  return ok ? kExitOk : kExitCardSaidNo;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Window terminal command line for a Juki card in a PC/SC reader (or a card image "
      "in-process).\n"
      "Exit status: 0 ok, 1 the card said no or a script mismatched, 2 usage, 3 PC/SC or "
      "transport failure.",
      "juki-terminal"};
  app.require_subcommand(1);
  app.fallthrough();  // global options may follow the subcommand
  Globals g;
  app.add_flag("--json", g.json, "Print one JSON document on stdout");
  auto* trace = app.add_flag("--trace", g.trace,
                             "Write every APDU and response to stderr (the data of PIN and key "
                             "commands redacted)");
  app.add_flag("--trace-secrets", g.trace_secrets,
               "With --trace: show the PINs, keys and key proofs commands carry")
      ->needs(trace);
  app.add_option("--in-process", g.in_process,
                 "Use this card image file in-process instead of PC/SC")
      ->check(CLI::ExistingFile);
  app.add_option("--reader", g.reader,
                 "Reader name, or a part of it only one reader has (default: the first reader "
                 "holding a card)");
  app.add_flag("--exclusive", g.exclusive, "Connect in exclusive mode (default: shared)");

  auto* readers = app.add_subcommand("readers", "List the readers, their cards and ATRs");

  auto* wait = app.add_subcommand("wait", "Wait for a card to be inserted (or removed)");
  std::optional<double> timeout;
  bool removal = false;
  wait->add_option("--timeout", timeout, "Give up after this many seconds (exit 3)");
  wait->add_flag("--removal", removal, "Wait for the card to be removed instead");

  auto* status = app.add_subcommand(
      "status", "ATR, life cycle, serial, memory, applications, and PIN tries left with --app");
  std::string app_aid, ref = "81";
  status->add_option("--app", app_aid, "AID of an application whose PIN to check (hex)");
  status->add_option("--pin-ref,--ref", ref, "PIN reference as VERIFY's P2 (hex)")
      ->capture_default_str();

  auto* send = app.add_subcommand("send", "Send raw APDUs (hex) and print the responses");
  std::vector<std::string> apdus;
  send->add_option("APDU", apdus, "Command APDUs in hex, one per argument")->required();

  auto* run = app.add_subcommand(
      "script", "Run APDU scripts (specs/apdu-script.md) against the card, one after the other");
  std::vector<std::string> files;
  bool verbose = false;
  run->add_option("FILE", files, "APDU script files")->required()->check(CLI::ExistingFile);
  run->add_flag("-v,--verbose", verbose, "Echo every step to stderr");

  auto* verify = app.add_subcommand("verify", "Verify a PIN (asked for without echo if not given)");
  std::optional<std::string> pin;
  verify->add_option("--app", app_aid, "AID of the PIN's application (hex)")->required();
  verify->add_option("--ref,--pin-ref", ref, "PIN reference as VERIFY's P2 (hex)")
      ->capture_default_str();
  verify->add_option("--pin", pin,
                     "The PIN (visible to other users of this machine: prefer "
                     "the prompt)");

  auto* change = app.add_subcommand(
      "change-pin", "Change a PIN, or set its first value (asked for without echo if not given)");
  std::optional<std::string> old_pin, new_pin;
  bool initial = false;
  std::size_t pad_to = 0;
  change->add_option("--app", app_aid, "AID of the PIN's application (hex)")->required();
  change->add_option("--ref,--pin-ref", ref, "PIN reference as P2 (hex)")->capture_default_str();
  change->add_option("--old", old_pin, "The current PIN");
  change->add_option("--new", new_pin, "The new PIN");
  change->add_flag("--initial", initial,
                   "Set the first value (P1 01) without asking the card whether it has one");
  change->add_option("--pad-to", pad_to,
                     "Pad each value with FF to this length (variable-length PINs)");

  auto* authenticate = app.add_subcommand(
      "authenticate",
      "Authenticate as a terminal (mutual authentication, specs/secure-channel.md), then send "
      "--read files and APDUs under secure messaging");
  CredentialFiles credential_files;
  std::vector<std::string> reads, secure_apdus;
  std::string records_file;
  authenticate->add_option(
      "--pki", credential_files.pki_dir,
      "PKI directory (juki-pki init): its terminal-ca.cert.der and root.cert.der");
  authenticate->add_option("--terminal", credential_files.terminal,
                           "Terminal credentials PREFIX (juki-pki issue --out): PREFIX.key.pem "
                           "and PREFIX.cert.der");
  authenticate->add_option("--key", credential_files.key,
                           "The terminal's private key (PEM), instead of --terminal's");
  authenticate->add_option("--cert", credential_files.cert,
                           "The terminal certificate (DER), instead of --terminal's");
  authenticate->add_option("--ca", credential_files.ca,
                           "The terminal CA certificate (DER), instead of --pki's");
  authenticate->add_option("--root", credential_files.root,
                           "The root certificate the card's chain must end at (DER), instead of "
                           "--pki's");
  authenticate->add_option("--app", app_aid,
                           "SELECT this application (AID, hex) in plain first (default: the "
                           "selected one, the MF after power-up)");
  authenticate
      ->add_option("--read", reads,
                   "Read this EF (FID, 4 hex digits) under secure messaging: SELECT and READ "
                   "BINARY of up to 256 bytes; repeatable, sent before the APDUs")
      ->allow_extra_args(false);
  authenticate->add_option("--records", records_file,
                           "Consult these issuance records first (juki-issuer's file): a card "
                           "not recorded active, or past its expiry, is refused (exit 1) before "
                           "any authentication");
  authenticate->add_option("APDU", secure_apdus,
                           "Command APDUs in hex, sent under secure messaging after the --reads");

  if (auto status = host::cli::parse_command_line(app, argc, argv)) return *status;

  Output out("juki-terminal");
  int code = kExitUsage;
  if (readers->parsed())
    code = cmd_readers(g, out);
  else if (wait->parsed())
    code = cmd_wait(g, out, timeout, removal);
  else if (status->parsed())
    code = cmd_status(g, out, app_aid, ref);
  else if (send->parsed())
    code = cmd_send(g, out, apdus);
  else if (run->parsed())
    code = cmd_script(g, out, files, verbose);
  else if (verify->parsed())
    code = cmd_verify(g, out, app_aid, ref, pin);
  else if (change->parsed())
    code = cmd_change_pin(g, out, app_aid, ref, old_pin, new_pin, initial, pad_to);
  else if (authenticate->parsed())
    code = cmd_authenticate(g, out, credential_files, app_aid, reads, secure_apdus, records_file);
  return host::cli::finish(out, g.json, code);
}
