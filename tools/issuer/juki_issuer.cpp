// juki-issuer: the command line of a municipal card issuance counter
// (specs/issuance.md 3): the records of applications and cards (SQLite,
// issuer_tool/records), personalization of blank cards in a PC/SC reader or
// in-process (issuer_tool/issuance), the card face for the print station
// (issuer_tool/face), hand-over, activation at the counter's keypad,
// suspension, loss (with the card's certificates revoked), return, expiry,
// the window check, and municipal applications on an active card.
// Exit: 0 ok, 1 refused (by the records, the card or the window check),
// 2 usage, 3 I/O, storage or a card that went away.
#include <openssl/rand.h>

#include <unistd.h>
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/apdu_text.hpp"
#include "common/bytes.hpp"
#include "common/card_information.hpp"
#include "common/iso7816/apdu.hpp"
#include "common/layout/juki_ap.hpp"
#include "host_middleware/cli/cli_output.hpp"
#include "host_middleware/cli/secret_input.hpp"
#include "host_middleware/personalization/personalization.hpp"
#include "host_middleware/session/secure_session.hpp"
#include "issuer_tool/apps/examples.hpp"
#include "issuer_tool/enrolment/card_manager.hpp"
#include "issuer_tool/face/era.hpp"
#include "issuer_tool/face/face.hpp"
#include "issuer_tool/issuance/card_certificates.hpp"
#include "issuer_tool/issuance/issue.hpp"
#include "issuer_tool/issuance/personalization.hpp"
#include "pki/pki.hpp"
#include "records/records.hpp"
#include "tools/cli/card_connection.hpp"
#include "tools/issuer/batch_command.hpp"
#include "tools/issuer/pki_failure.hpp"

namespace {

using namespace juki;
using nlohmann::json;
namespace rec = juki::records;

using host::cli::fail;
using host::cli::Failure;
using host::cli::kExitIo;
using host::cli::kExitOk;
using host::cli::kExitRefused;
using host::cli::kExitUsage;
using host::cli::Output;
using host::cli::usage;
using tools::from_card;

// The card refused (exit 1) or went away (exit 3).
Failure from_perso(const host::perso::Error& e) {
  return {e.transport ? kExitIo : kExitRefused, "card", e.describe()};
}

Failure from_records(const rec::RecordsError& e) {
  const bool io =
      e.kind == rec::RecordsError::Kind::storage || e.kind == rec::RecordsError::Kind::schema;
  const bool input = e.kind == rec::RecordsError::Kind::invalid_input;
  return {io      ? kExitIo
          : input ? kExitUsage
                  : kExitRefused,
          std::string(rec::to_string(e.kind)), e.message};
}

// ------------------------------------------------------------ common options

struct Globals {
  std::string db;
  rec::Actor actor;
  bool json = false;
};

struct CardArgs {
  std::string reader;
  std::string in_process;
  bool trace = false;
  bool trace_secrets = false;
};

void add_card_options(CLI::App* cmd, CardArgs& c) {
  cmd->add_option("--reader", c.reader, "PC/SC reader (default: the first holding a card)");
  cmd->add_option("--in-process", c.in_process,
                  "A card image file in this process instead of PC/SC (juki-card-sim --create)");
  auto* trace = cmd->add_flag("--trace", c.trace,
                              "Every command and response to stderr (the data of PIN and key "
                              "commands redacted)");
  cmd->add_flag("--trace-secrets", c.trace_secrets,
                "With --trace: show the PINs, keys and key proofs commands carry")
      ->needs(trace);
}

Result<std::unique_ptr<tools::CardConnection>, Failure> connect(const CardArgs& c) {
  tools::CardOptions o;
  o.reader = c.reader;
  o.in_process = c.in_process;
  o.reset_on_close = true;  // the card's security state ends with the command
  if (c.trace) o.trace = &std::cerr;
  if (c.trace_secrets) o.trace_secrets = apdu_text::Secrets::show;
  auto conn = tools::CardConnection::open(o);
  if (!conn) return unexpected(from_card(conn.error()));
  return std::move(*conn);
}

Result<rec::Records, Failure> open_records(const Globals& g) {
  auto r = rec::Records::open(g.db);
  if (!r) return unexpected(from_records(r.error()));
  return std::move(*r);
}

std::string today() {
  return rec::japan_date(std::chrono::system_clock::now());
}

// ------------------------------------------------------------ JSON of records

json opt(const std::optional<std::string>& s) {
  return s ? json(*s) : json(nullptr);
}

json to_json(const rec::Application& a) {
  return {{"id", a.id},
          {"state", rec::to_string(a.state)},
          {"kind", rec::to_string(a.kind)},
          {"resident_code", a.person.resident_code},
          {"name", a.person.name},
          {"name_kana", a.person.name_kana},
          {"birth_date", a.person.birth_date},
          {"sex", static_cast<int>(a.person.sex)},
          {"address", a.person.address},
          {"face", std::string(1, a.face)},
          {"braille", a.braille},
          {"same_day", a.same_day},
          {"notice_number", opt(a.notice_number)},
          {"reason", opt(a.reason)},
          {"received_at", a.received_at},
          {"updated_at", a.updated_at}};
}

json to_json(const rec::Card& c) {
  return {{"serial", c.serial},
          {"application", c.application_id},
          {"state", rec::to_string(c.state)},
          {"face", std::string(1, c.face)},
          {"issue_date", opt(c.issue_date)},
          {"expiry_date", opt(c.expiry_date)},
          {"reason", opt(c.reason)},
          {"updated_at", c.updated_at}};
}

json to_json(const rec::Event& e) {
  return {{"sequence", e.sequence},
          {"at", e.at},
          {"operator", e.operator_id},
          {"terminal", e.terminal_id},
          {"action", e.action},
          {"application", e.application_id ? json(*e.application_id) : json(nullptr)},
          {"card", opt(e.card_serial)},
          {"detail", json::parse(e.detail, nullptr, false)}};
}

void print_card(Output& out, const rec::Card& c) {
  out.doc = {{"ok", true}, {"card", to_json(c)}};
  out.text << "card " << c.serial << ": " << rec::to_string(c.state);
  if (c.expiry_date) out.text << " (valid until " << *c.expiry_date << ")";
  if (c.reason) out.text << " (" << *c.reason << ")";
  out.text << "\n";
}

// ------------------------------------------------------------ init, counter keys

int cmd_init(const Globals& g, const std::string& municipality, Output& out) {
  auto r = rec::Records::create(g.db, municipality);
  if (!r) return fail(out, from_records(r.error()));
  out.doc = {{"ok", true}, {"db", g.db}, {"municipality", r->municipality()}};
  out.text << g.db << ": issuance records of municipality " << r->municipality() << "\n";
  return kExitOk;
}

// The counter's keys file: JSON {"transport_key": hex, "admin_master": hex}.
Result<issuance::CounterKeys, Failure> load_keys(const std::string& path) {
  auto keys = issuance::load_counter_keys(path);
  if (!keys)
    return unexpected(keys.error().io ? Failure{kExitIo, "io", keys.error().message}
                                      : usage(keys.error().message));
  return std::move(*keys);
}

int cmd_counter_keys(const std::string& path, const std::string& transport_key, Output& out) {
  auto tk = from_hex(transport_key);
  if (!tk || (tk->size() != 16 && tk->size() != 24 && tk->size() != 32))
    return fail(out, usage("--transport-key must be an AES key: 16, 24 or 32 bytes of hex"));
  Bytes master(16);
  if (RAND_bytes(master.data(), static_cast<int>(master.size())) != 1)
    return fail(out, {kExitIo, "random", "no randomness for the administration master key"});
  const json j = {{"transport_key", to_hex(*tk)}, {"admin_master", to_hex(master)}};
  const std::string text = j.dump(2) + "\n";
  auto written =
      pki::write_new_file(path, Bytes(text.begin(), text.end()), 0600);  // never overwrites
  if (!written) return fail(out, {kExitIo, "io", written.error().message});
  out.doc = {{"ok", true}, {"file", path}};
  out.text << path << ": the counter's keys (0600): the transport key and a new administration "
           << "master key\n";
  return kExitOk;
}

// ------------------------------------------------------------ applications

struct IntakeArgs {
  std::string resident_code, name, kana, birth_date, address, face = "A", document;
  int sex = 0;
  bool braille = false, same_day = false, reissue = false;
  std::optional<std::string> document_number;
};

int cmd_intake(const Globals& g, const IntakeArgs& a, Output& out) {
  if (a.face != "A" && a.face != "B") return fail(out, usage("--face must be A or B"));
  auto records = open_records(g);
  if (!records) return fail(out, records.error());
  rec::ApplicationRequest r;
  r.person = {a.resident_code, a.name, a.kana, a.birth_date, static_cast<rec::Sex>(a.sex),
              a.address};
  r.kind = a.reissue ? rec::ApplicationKind::reissue : rec::ApplicationKind::new_card;
  r.face = a.face[0];
  r.braille = a.braille;
  r.same_day = a.same_day;
  r.identity = {a.document, a.document_number};
  auto in = records->intake(r, g.actor);
  if (!in) return fail(out, from_records(in.error()));
  out.doc = {{"ok", true},
             {"application", to_json(in->application)},
             {"latest_card", in->latest_card ? to_json(*in->latest_card) : json(nullptr)}};
  out.text << "application " << in->application.id << " received ("
           << rec::to_string(in->application.kind) << ", face " << in->application.face << ")\n";
  if (in->latest_card)
    out.text << "the person's latest card: " << in->latest_card->serial << ", "
             << rec::to_string(in->latest_card->state) << "\n";
  return kExitOk;
}

int cmd_register(const Globals& g, std::int64_t id, Output& out) {
  auto records = open_records(g);
  if (!records) return fail(out, records.error());
  auto a = records->register_application(id, g.actor);
  if (!a) return fail(out, from_records(a.error()));
  out.doc = {{"ok", true}, {"application", to_json(*a)}};
  out.text << "application " << a->id << " registered";
  if (a->notice_number) out.text << ": issuance notice number " << *a->notice_number;
  out.text << "\n";
  return kExitOk;
}

// ------------------------------------------------------------ personalization

struct PersonalizeArgs {
  std::int64_t application = 0;
  std::string pki_dir, keys_file;
  std::optional<std::string> holder, issue_date;
  CardArgs card;
};

int cmd_personalize(const Globals& g, const PersonalizeArgs& a, Output& out) {
  auto records = open_records(g);
  if (!records) return fail(out, records.error());
  auto app = records->application(a.application);
  if (!app) return fail(out, from_records(app.error()));
  if (app->state != rec::ApplicationState::registered)
    return fail(out, {kExitRefused, "wrong_state",
                      "application " + std::to_string(app->id) + " is " +
                          std::string(rec::to_string(app->state)) + ", not registered"});
  auto keys = load_keys(a.keys_file);
  if (!keys) return fail(out, keys.error());
  auto authorities = issuance::Authorities::load(a.pki_dir);
  if (!authorities) return fail(out, {kExitIo, "pki", authorities.error()});

  issuance::CardOrder order;
  order.resident_code = app->person.resident_code;
  order.municipality = records->municipality();
  order.issue_date = a.issue_date.value_or(today());
  order.face = app->face;
  order.holder = a.holder.value_or(app->person.name);
  // The resident types the JPKI PINs at the counter's keypad.
  host::cli::SecretError error;
  auto auth_pin = host::cli::secret_value(
      std::nullopt, "JPKI authentication PIN (4 digits), typed by the resident", true, error);
  if (!auth_pin) return fail(out, usage(error.message));
  auto sign_pin = host::cli::secret_value(
      std::nullopt, "JPKI signature PIN (6 to 16 letters and digits), typed by the resident", true,
      error);
  if (!sign_pin) return fail(out, usage(error.message));
  order.jpki_auth_pin = *auth_pin;
  order.jpki_sign_pin = *sign_pin;
  if (auto ok = issuance::check_order(order); !ok) return fail(out, usage(ok.error()));

  auto conn = connect(a.card);
  if (!conn) return fail(out, conn.error());
  int n = 0;
  issuance::IssueProgress progress;
  progress.card = [](const std::string& serial, bool resumed) {
    std::cerr << "juki-issuer: card " << serial << (resumed ? " (resumed)" : "") << "\n";
  };
  progress.step = [&](issuance::Step s) {
    std::cerr << "juki-issuer: [" << ++n << "] " << issuance::step_name(s) << "\n";
  };
  auto issued = issuance::issue_one(*records, (*conn)->t(), app->id, *authorities, *keys, order,
                                    g.actor, progress);
  if (!issued) {
    using Kind = issuance::IssueError::Kind;
    const issuance::IssueError& e = issued.error();
    switch (e.kind) {
      case Kind::open:
        return fail(out, {e.transport() ? kExitIo : kExitRefused,
                          std::string(issuance::kind_name(e.card.kind)), e.describe()});
      case Kind::known_card:
        return fail(out, {kExitRefused, "card_state", e.describe()});
      case Kind::records:
        return fail(out, from_records(e.records));
      case Kind::left_personalizing:
        // Left in personalization: the same command on the same card resumes it.
        return fail(out, {kExitIo,
                          e.card.kind == issuance::Failure::Kind::transport ? "card_removed"
                                                                            : "pki_directory",
                          e.describe() +
                              ": run personalize again on this card to resume (once it is back "
                              "in the reader, or the PKI directory is repaired), or record it "
                              "spoiled (juki-issuer spoil " +
                              e.serial + ")"});
      case Kind::spoiled:
        break;
    }
    return fail(out, {kExitRefused, std::string(issuance::kind_name(e.card.kind)), e.describe()});
  }
  const issuance::Personalized& made = issued->made;
  out.doc = {{"ok", true},
             {"card", to_json(issued->card)},
             {"card_certificate", made.card_certificate.subject()},
             {"jpki_auth_certificate", made.jpki.auth.subject()},
             {"jpki_sign_certificate", made.jpki.sign.subject()},
             {"notice_number", opt(app->notice_number)}};
  out.text << "card " << issued->card.serial << " issued for application " << app->id
           << ", valid until " << made.expiry << "\n";
  return kExitOk;
}

int cmd_spoil(const Globals& g, const std::string& serial, const std::string& reason, Output& out) {
  auto records = open_records(g);
  if (!records) return fail(out, records.error());
  auto c = records->spoil(serial, reason, g.actor);
  if (!c) return fail(out, from_records(c.error()));
  print_card(out, *c);
  return kExitOk;
}

// ------------------------------------------------------------ the face

struct FaceArgs {
  std::int64_t application = 0;
  std::string svg, print_data, municipality_name;
  std::optional<std::string> photo;
};

int cmd_face(const Globals& g, const FaceArgs& a, Output& out) {
  auto records = open_records(g);
  if (!records) return fail(out, records.error());
  auto app = records->application(a.application);
  if (!app) return fail(out, from_records(app.error()));
  auto cards = records->cards_of(app->person.resident_code);
  if (!cards) return fail(out, from_records(cards.error()));
  const rec::Card* card = nullptr;
  for (const rec::Card& c : *cards)
    if (c.application_id == app->id && c.issue_date) card = &c;
  if (card == nullptr)
    return fail(out, {kExitRefused, "wrong_state",
                      "application " + std::to_string(app->id) + " has no issued card yet"});
  face::FaceRequest r;
  r.face = card->face;
  r.name = app->person.name;
  r.name_kana = app->person.name_kana;
  r.birth_date = app->person.birth_date;
  r.sex = static_cast<int>(app->person.sex);
  r.address = app->person.address;
  r.municipality_code = records->municipality();
  r.municipality_name = a.municipality_name.empty() ? records->municipality() : a.municipality_name;
  r.issue_date = *card->issue_date;
  r.serial = card->serial;
  r.photo_path = a.photo.value_or("");
  r.braille = app->braille;
  auto data = face::make_face_data(r);
  if (!data) return fail(out, usage(data.error().message));
  auto write = [&](const std::string& path, const std::string& text) -> bool {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << text;
    return static_cast<bool>(f);
  };
  if (!write(a.svg, face::render_svg(*data)))
    return fail(out, {kExitIo, "io", "cannot write " + a.svg});
  if (!a.print_data.empty() && !write(a.print_data, face::print_data_json(*data) + "\n"))
    return fail(out, {kExitIo, "io", "cannot write " + a.print_data});
  out.doc = {{"ok", true},
             {"card", card->serial},
             {"face", std::string(1, card->face)},
             {"svg", a.svg},
             {"print_data", a.print_data.empty() ? json(nullptr) : json(a.print_data)},
             {"braille", data->braille ? json(data->braille->cells) : json(nullptr)}};
  out.text << "face " << card->face << " of card " << card->serial << ": " << a.svg;
  if (data->braille) out.text << " (braille embossing: " << data->braille->cells << ")";
  out.text << "\n";
  return kExitOk;
}

// ------------------------------------------------------------ hand-over and activation

int cmd_hand_over(const Globals& g, const std::string& serial,
                  const std::optional<std::string>& notice, const rec::IdentityCheck& identity,
                  Output& out) {
  auto records = open_records(g);
  if (!records) return fail(out, records.error());
  std::optional<std::string_view> n;
  if (notice) n = *notice;
  auto c = records->hand_over(serial, n, identity, g.actor);
  if (!c) return fail(out, from_records(c.error()));
  print_card(out, *c);
  return kExitOk;
}

bool password_format(const std::string& p) {
  return p.size() == juki::layout::juki_ap::kPasswordLength &&
         p.find_first_not_of("0123456789") == std::string::npos;
}

// The card in the reader must be `serial` (GET DATA DF22).
Result<void, Failure> require_card(juki::Transport& t, const std::string& serial) {
  auto in_reader = host::perso::exchange(t, apdu::encode_command(0x00, 0xCA, 0xDF, 0x22, {}, 256),
                                         "GET DATA serial");
  if (!in_reader) return unexpected(Failure{kExitIo, "card", in_reader.error().describe()});
  if (in_reader->size() != 11 || to_hex(ByteView(*in_reader).subspan(3)) != serial)
    return unexpected(
        Failure{kExitRefused, "wrong_card",
                "the card in the reader is not " + serial + " (" + to_hex(*in_reader) + ")"});
  return {};
}

Result<void, Failure> select_juki_ap(juki::Transport& t) {
  const ByteView aid(juki::layout::juki_ap::kAid, sizeof juki::layout::juki_ap::kAid);
  if (auto r = host::perso::exchange(t, apdu::encode_command(0x00, 0xA4, 0x04, 0x0C, aid),
                                     "SELECT Juki AP");
      !r)
    return unexpected(from_perso(r.error()));
  return {};
}

// The card `serial` in the reader (or the image), its Juki AP selected.
Result<std::unique_ptr<tools::CardConnection>, Failure> juki_ap_of(const CardArgs& card_args,
                                                                   const std::string& serial) {
  auto conn = connect(card_args);
  if (!conn) return unexpected(conn.error());
  if (auto same = require_card((*conn)->t(), serial); !same) return unexpected(same.error());
  if (auto r = select_juki_ap((*conn)->t()); !r) return unexpected(r.error());
  return std::move(*conn);
}

// The card `serial` as recorded, refused unless it is in `state`.
Result<rec::Card, Failure> recorded_in(rec::Records& records, const std::string& serial,
                                       rec::CardState state, const std::string& wanted) {
  auto known = records.card(serial);
  if (!known) return unexpected(from_records(known.error()));
  if (known->state != state)
    return unexpected(Failure{
        kExitRefused, "wrong_state",
        "card " + serial + " is " + std::string(rec::to_string(known->state)) + ", not " + wanted});
  return std::move(*known);
}

// A password the resident types at the keypad (twice on a terminal): 4 digits.
Result<std::string, Failure> typed_password(const std::string& prompt) {
  host::cli::SecretError error;
  auto password = host::cli::secret_value(std::nullopt, prompt, true, error);
  if (!password) return unexpected(usage(error.message));
  if (!password_format(*password)) return unexpected(usage("the password must be 4 digits"));
  return std::move(*password);
}

// The resident sets the password at the counter's keypad: CHANGE REFERENCE
// DATA P1 = 01 of the Juki AP's password, which activates the card.
int cmd_activate(const Globals& g, const std::string& serial, const CardArgs& card_args,
                 Output& out) {
  auto records = open_records(g);
  if (!records) return fail(out, records.error());
  if (auto known = recorded_in(*records, serial, rec::CardState::handed_over, "handed over");
      !known)
    return fail(out, known.error());
  auto password = typed_password("password (4 digits), typed by the resident");
  if (!password) return fail(out, password.error());

  auto conn = juki_ap_of(card_args, serial);
  if (!conn) return fail(out, conn.error());
  juki::Transport& t = (*conn)->t();
  auto set = host::perso::exchange(
      t,
      apdu::encode_command(0x00, 0x24, 0x01, juki::layout::juki_ap::kPasswordP2,
                           as_bytes(*password)),
      "CHANGE REFERENCE DATA password");
  if (!set) return fail(out, from_perso(set.error()));
  auto c = records->activate(serial, g.actor);
  if (!c) return fail(out, from_records(c.error()));
  print_card(out, *c);
  return kExitOk;
}

// The window re-set of a locked (or forgotten) password (specs/juki-ap.md
// 5): after the identity check, mutual authentication as the password-reset
// authority, then RESET RETRY COUNTER P1 = 02 with the new password the
// resident types, under secure messaging; recorded.
int cmd_reset_password(const Globals& g, const std::string& serial, const std::string& pki_dir,
                       const std::string& terminal, const rec::IdentityCheck& identity,
                       const CardArgs& card_args, Output& out) {
  auto records = open_records(g);
  if (!records) return fail(out, records.error());
  if (auto known = recorded_in(*records, serial, rec::CardState::active, "active"); !known)
    return fail(out, known.error());
  auto credentials = host::session::Credentials::from_pki(pki_dir, terminal);
  if (!credentials) return fail(out, usage(credentials.error()));
  auto password = typed_password("new password (4 digits), typed by the resident");
  if (!password) return fail(out, password.error());

  auto conn = juki_ap_of(card_args, serial);
  if (!conn) return fail(out, conn.error());
  juki::Transport& t = (*conn)->t();
  auto session = host::session::SecureSession::open(t, *credentials,
                                                    static_cast<std::int64_t>(std::time(nullptr)));
  if (!session)
    return fail(
        out, {session.error().kind == host::session::SessionError::Kind::transport ? kExitIo
                                                                                   : kExitRefused,
              "authentication", "mutual authentication: " + session.error().message});
  auto reset = host::perso::exchange(
      **session,
      apdu::encode_command(0x00, 0x2C, 0x02, juki::layout::juki_ap::kPasswordP2,
                           as_bytes(*password)),
      "RESET RETRY COUNTER password");
  if (!reset) return fail(out, from_perso(reset.error()));
  auto recorded = records->record_password_reset(serial, identity, g.actor);
  if (!recorded) return fail(out, from_records(recorded.error()));
  out.doc = {{"ok", true}, {"card", serial}, {"password_reset", true}};
  out.text << "card " << serial << ": the password is re-set (3 tries)\n";
  return kExitOk;
}

// ------------------------------------------------------------ municipal applications

// juki-issuer apps: the municipal applications (市町村独自サービス) the card
// manager installs on a resident's active card (specs/card-manager.md,
// issuer_tool/apps/examples.hpp), each authorized by the municipality's
// app-authority (a terminal certificate with role app-authority).
struct AppsArgs {
  std::string app;     // seal, library, kiosk
  std::string number;  // its own number: seal registration, library member, kiosk access
  std::optional<std::string> registrant, branch;
  std::string pki_dir, authority;
};

const std::vector<std::string>& municipal_app_names() {
  static const std::vector<std::string> names = {"seal", "library", "kiosk"};
  return names;
}

// `value` as the text field `what` of at most `size` bytes (UTF-8), never cut.
Result<std::string, Failure> field(const std::string& what, const std::string& value,
                                   std::size_t size) {
  if (value.empty() || value.size() > size)
    return unexpected(usage(what + " must have 1 to " + std::to_string(size) + " bytes"));
  return value;
}

// The application `a.app` with the resident's data; for the records'
// person `person` (the seal's registrant by default).
Result<card_manager::Application, Failure> municipal_app(const AppsArgs& a,
                                                         const rec::Person& person) {
  if (a.app == "seal") {
    using Seal = card_manager::SealRegistration;
    Seal d;
    auto number = field("--number (the seal registration number)", a.number, Seal::kNumberSize);
    if (!number) return unexpected(number.error());
    d.registration_number = *number;
    const std::string birth = face::format_iso(*card_information::parse_date(person.birth_date));
    auto registrant = field("--registrant", a.registrant.value_or(person.name + " / " + birth),
                            Seal::kRegistrantSize);
    if (!registrant) return unexpected(registrant.error());
    d.registrant = *registrant;
    return card_manager::seal_registration(d);
  }
  if (a.app == "library") {
    using Library = card_manager::LibraryCard;
    Library d;
    auto number = field("--number (the library member number)", a.number, Library::kNumberSize);
    if (!number) return unexpected(number.error());
    d.member_number = *number;
    auto branch = field("--branch", a.branch.value_or(d.branch), Library::kBranchSize);
    if (!branch) return unexpected(branch.error());
    d.branch = *branch;
    return card_manager::library_card(d);
  }
  if (a.app == "kiosk") {
    using Kiosk = card_manager::KioskAccess;
    Kiosk d;
    auto number = field("--number (the kiosk access identifier)", a.number, Kiosk::kAccessIdSize);
    if (!number) return unexpected(number.error());
    d.access_id = *number;
    return card_manager::kiosk_access(d);
  }
  return unexpected(usage("--app must be seal, library or kiosk"));
}

// The AID of the application `name` (its data does not matter).
Result<Bytes, Failure> municipal_aid(const std::string& name) {
  if (name == "seal") return card_manager::seal_registration().aid;
  if (name == "library") return card_manager::library_card().aid;
  if (name == "kiosk") return card_manager::kiosk_access().aid;
  return unexpected(usage("--app must be seal, library or kiosk"));
}

std::string life_cycle_name(std::uint8_t life_cycle) {
  switch (life_cycle) {
    case 0x03:
      return "installed";
    case 0x07:
      return "selectable";
    case 0x83:
      return "locked";
  }
  return to_hex(Bytes{life_cycle});
}

int cmd_apps_list(const Globals& g, const std::string& serial, const CardArgs& card_args,
                  Output& out) {
  auto records = open_records(g);
  if (!records) return fail(out, records.error());
  if (auto known = records->card(serial); !known) return fail(out, from_records(known.error()));
  auto conn = connect(card_args);
  if (!conn) return fail(out, conn.error());
  if (auto same = require_card((*conn)->t(), serial); !same) return fail(out, same.error());
  auto listed = enrolment::list_applications((*conn)->t());
  if (!listed) return fail(out, from_perso(listed.error()));
  json apps = json::array();
  for (const auto& l : *listed) {
    const std::string kind = l.kind == 0x01 ? "system" : "municipal";
    apps.push_back({{"aid", to_hex(l.aid)},
                    {"kind", kind},
                    {"state", life_cycle_name(l.life_cycle)},
                    {"quota", l.quota},
                    {"used", l.used}});
    out.text << to_hex(l.aid) << "  " << kind << "  " << life_cycle_name(l.life_cycle);
    if (l.kind != 0x01) out.text << "  " << l.used << "/" << l.quota << " bytes";
    out.text << "\n";
  }
  out.doc = {{"ok", true}, {"card", serial}, {"applications", apps}};
  return kExitOk;
}

// install, delete, lock or unlock of a municipal application on the active
// card `serial`, authorized by the app-authority PREFIX of `pki_dir`; recorded.
int cmd_apps_change(const Globals& g, card_manager::Operation op, const std::string& serial,
                    const AppsArgs& a, const CardArgs& card_args, Output& out) {
  auto records = open_records(g);
  if (!records) return fail(out, records.error());
  auto card = recorded_in(*records, serial, rec::CardState::active, "active");
  if (!card) return fail(out, card.error());
  auto aid = municipal_aid(a.app);
  if (!aid) return fail(out, aid.error());
  std::optional<card_manager::Application> app;
  if (op == card_manager::Operation::install) {
    auto application = records->application(card->application_id);
    if (!application) return fail(out, from_records(application.error()));
    auto made = municipal_app(a, application->person);
    if (!made) return fail(out, made.error());
    app = std::move(*made);
  }
  auto credentials = host::session::Credentials::from_pki(a.pki_dir, a.authority);
  if (!credentials) return fail(out, usage(credentials.error()));
  const card_manager::Authority authority{credentials->key, credentials->certificate,
                                          credentials->ca};

  auto conn = connect(card_args);
  if (!conn) return fail(out, conn.error());
  juki::Transport& t = (*conn)->t();
  if (auto same = require_card(t, serial); !same) return fail(out, same.error());
  json keys = json::array();
  if (app) {
    auto generated = enrolment::install_application(t, authority, *app);
    if (!generated) return fail(out, from_perso(generated.error()));
    for (const auto& k : *generated) keys.push_back({{"ref", k.ref}, {"point", to_hex(k.point)}});
  } else if (auto done = enrolment::manage_application(t, authority, op, *aid); !done) {
    return fail(out, from_perso(done.error()));
  }
  auto recorded = records->record_application_change(
      serial, std::string(card_manager::operation_name(op)), a.app, to_hex(*aid), g.actor);
  if (!recorded) return fail(out, from_records(recorded.error()));
  out.doc = {{"ok", true},
             {"card", serial},
             {"operation", card_manager::operation_name(op)},
             {"app", a.app},
             {"aid", to_hex(*aid)}};
  if (app) out.doc["keys"] = keys;
  out.text << "card " << serial << ": " << a.app << " (" << to_hex(*aid)
           << "): " << card_manager::operation_name(op) << " done\n";
  return kExitOk;
}

// ------------------------------------------------------------ after issuance

// lost and return with --pki: the card's certificates kept in the PKI
// directory (specs/issuance.md 2.3) are revoked once the record is changed. A
// lost card's keys are out of the holder's hands (keyCompromise); a returned
// or collected card is out of use (cessationOfOperation).
int revoke_card(const std::string& pki_dir, const std::string& what, const rec::Card& card,
                Output& out) {
  const auto reason = what == "lost" ? pki::RevocationReason::key_compromise
                                     : pki::RevocationReason::cessation_of_operation;
  auto revoked =
      issuance::revoke_card_certificates(pki_dir, card.serial, reason, std::time(nullptr));
  if (!revoked) {
    Failure f = issuer_cli::from_pki(revoked.error());
    f.message = "card " + card.serial + " is recorded " + std::string(rec::to_string(card.state)) +
                ", but its certificates were not revoked: " + f.message + " (juki-pki revoke " +
                pki_dir + " CERT)";
    return fail(out, f);
  }
  json list = json::array();
  for (const auto& r : *revoked) {
    list.push_back({{"name", r.name}, {"serial", r.serial}, {"already", r.already}});
    out.text << (r.already ? "already revoked: " : "revoked: ") << r.name << " certificate "
             << r.serial << " (" << pki::revocation_reason_name(reason) << ")\n";
  }
  out.doc["revoked"] = list;
  return kExitOk;
}

int cmd_card_change(const Globals& g, const std::string& what, const std::string& serial,
                    const std::string& reason, const rec::IdentityCheck& identity,
                    const std::string& pki_dir, Output& out) {
  auto records = open_records(g);
  if (!records) return fail(out, records.error());
  Result<rec::Card, rec::RecordsError> c = unexpected(rec::RecordsError{});
  if (what == "suspend")
    c = records->suspend(serial, reason, g.actor);
  else if (what == "lift")
    c = records->lift_suspension(serial, identity, g.actor);
  else if (what == "lost")
    c = records->report_lost(serial, reason, g.actor);
  else
    c = records->return_card(serial, reason, g.actor);
  if (!c) return fail(out, from_records(c.error()));
  print_card(out, *c);
  if (!pki_dir.empty()) return revoke_card(pki_dir, what, *c, out);
  return kExitOk;
}

int cmd_expire(const Globals& g, const std::string& day, Output& out) {
  auto records = open_records(g);
  if (!records) return fail(out, records.error());
  auto expired = records->expire_due(day, g.actor);
  if (!expired) return fail(out, from_records(expired.error()));
  json cards = json::array();
  for (const rec::Card& c : *expired) {
    cards.push_back(to_json(c));
    out.text << "card " << c.serial << " expired (" << c.expiry_date.value_or("?") << ")\n";
  }
  out.doc = {{"ok", true}, {"today", day}, {"expired", cards}};
  out.text << expired->size() << " card(s) expired as of " << day << "\n";
  return kExitOk;
}

// The window's question: may this card be used today?
int cmd_check(const Globals& g, const std::string& serial, const std::string& day, Output& out) {
  auto records = open_records(g);
  if (!records) return fail(out, records.error());
  auto w = records->window_check(serial, day);
  if (!w) return fail(out, from_records(w.error()));
  const bool accepted = w->verdict == rec::WindowCheck::Verdict::accepted;
  out.doc = {{"ok", true},
             {"accepted", accepted},
             {"verdict", rec::to_string(w->verdict)},
             {"why", w->why},
             {"card", w->card ? to_json(*w->card) : json(nullptr)}};
  out.text << "card " << serial << ": " << (accepted ? "accepted" : "refused") << " (" << w->why
           << ")\n";
  return accepted ? kExitOk : kExitRefused;
}

// ------------------------------------------------------------ reading

int cmd_show(const Globals& g, std::optional<std::int64_t> id, std::optional<std::string> serial,
             Output& out) {
  auto records = open_records(g);
  if (!records) return fail(out, records.error());
  if (serial) {
    auto c = records->card(*serial);
    if (!c) return fail(out, from_records(c.error()));
    print_card(out, *c);
    return kExitOk;
  }
  auto a = records->application(*id);
  if (!a) return fail(out, from_records(a.error()));
  auto cards = records->cards_of(a->person.resident_code);
  if (!cards) return fail(out, from_records(cards.error()));
  json js = json::array();
  out.text << "application " << a->id << ": " << rec::to_string(a->state) << ", " << a->person.name
           << " (" << a->person.resident_code << "), face " << a->face;
  if (a->notice_number) out.text << ", notice " << *a->notice_number;
  out.text << "\n";
  for (const rec::Card& c : *cards) {
    if (c.application_id != a->id) continue;
    js.push_back(to_json(c));
    out.text << "  card " << c.serial << ": " << rec::to_string(c.state) << "\n";
  }
  out.doc = {{"ok", true}, {"application", to_json(*a)}, {"cards", js}};
  return kExitOk;
}

int cmd_history(const Globals& g, std::optional<std::int64_t> id, std::optional<std::string> serial,
                Output& out) {
  auto records = open_records(g);
  if (!records) return fail(out, records.error());
  auto events = serial ? records->events_of_card(*serial)
                : id   ? records->events_of_application(*id)
                       : records->events();
  if (!events) return fail(out, from_records(events.error()));
  json js = json::array();
  for (const rec::Event& e : *events) {
    js.push_back(to_json(e));
    out.text << e.sequence << " " << e.at << " " << e.operator_id << "@" << e.terminal_id << " "
             << e.action;
    if (e.application_id) out.text << " application " << *e.application_id;
    if (e.card_serial) out.text << " card " << *e.card_serial;
    out.text << " " << e.detail << "\n";
  }
  out.doc = {{"ok", true}, {"events", js}};
  return kExitOk;
}

int cmd_summary(const Globals& g, Output& out) {
  auto records = open_records(g);
  if (!records) return fail(out, records.error());
  auto s = records->summary();
  if (!s) return fail(out, from_records(s.error()));
  json apps = json::object(), cards = json::object();
  out.text << "applications:";
  for (const auto& [state, n] : s->applications) {
    apps[std::string(rec::to_string(state))] = n;
    out.text << " " << rec::to_string(state) << " " << n;
  }
  out.text << "\ncards:";
  for (const auto& [state, n] : s->cards) {
    cards[std::string(rec::to_string(state))] = n;
    out.text << " " << rec::to_string(state) << " " << n;
  }
  out.text << "\n";
  out.doc = {{"ok", true}, {"applications", apps}, {"cards", cards}};
  return kExitOk;
}

std::string default_terminal() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') return "counter";
  return host;
}

std::string env_or(const char* name, std::string fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "The issuance counter (specs/issuance.md): issuance records (SQLite), personalization of "
      "blank cards in a reader or in-process, the card face, hand-over, activation, suspension, "
      "loss, return, expiry, the window check and municipal applications on the card.\n"
      "Exit status: 0 ok, 1 refused (by the records, the card or the window check), 2 usage, "
      "3 I/O, storage or a card that went away.",
      "juki-issuer"};
  app.require_subcommand(1);
  app.fallthrough();
  Globals g;
  g.db = env_or("JUKI_ISSUER_DB", "issuance.db");
  g.actor.operator_id = env_or("JUKI_OPERATOR", env_or("USER", "operator"));
  g.actor.terminal_id = env_or("JUKI_TERMINAL", default_terminal());
  app.add_option("--db", g.db, "The records file ($JUKI_ISSUER_DB, else issuance.db)")
      ->capture_default_str();
  app.add_option("--operator", g.actor.operator_id, "Who works the counter ($JUKI_OPERATOR, $USER)")
      ->capture_default_str();
  app.add_option("--terminal", g.actor.terminal_id, "This terminal ($JUKI_TERMINAL, the host name)")
      ->capture_default_str();
  app.add_flag("--json", g.json, "Print one JSON document on stdout");

  std::string municipality;
  auto* init = app.add_subcommand("init", "Create the records file of a municipality");
  init->add_option("--municipality", municipality, "Local government code, 6 digits")->required();

  std::string keys_path, transport_key;
  auto* keys = app.add_subcommand(
      "counter-keys",
      "Write the counter's keys file: the transport key of the blank cards and a "
      "new administration master key (0600, never overwrites)");
  keys->add_option("FILE", keys_path, "The keys file to write")->required();
  keys->add_option("--transport-key", transport_key, "The card factory's transport key (hex)")
      ->required();

  IntakeArgs ia;
  auto* intake =
      app.add_subcommand("intake",
                         "Receive an application, with the identity check (refuses a duplicate "
                         "application and a person who holds a valid card)");
  intake->add_option("--resident-code", ia.resident_code, "11 digits")->required();
  intake->add_option("--name", ia.name, "The name as registered")->required();
  intake->add_option("--kana", ia.kana, "The name in katakana (for braille)")->required();
  intake->add_option("--birth-date", ia.birth_date, "YYYYMMDD")->required();
  intake->add_option("--sex", ia.sex, "ISO/IEC 5218: 1 male, 2 female, 9 not applicable")
      ->required();
  intake->add_option("--address", ia.address, "The address")->required();
  intake->add_option("--face", ia.face, "Face version A or B")->capture_default_str();
  intake->add_flag("--braille", ia.braille, "Braille embossing requested");
  intake->add_flag("--same-day", ia.same_day, "Same-day issuance (no issuance notice)");
  intake->add_flag("--reissue", ia.reissue, "A reissue (the last card lost or returned)");
  intake->add_option("--id-document", ia.document, "The identity document shown")->required();
  intake->add_option("--id-number", ia.document_number, "Its number");

  std::int64_t id = 0;
  auto* reg = app.add_subcommand("register",
                                 "Register an application (assigns the issuance notice number)");
  reg->add_option("APPLICATION", id, "The application's number")->required();

  PersonalizeArgs pa;
  auto* perso = app.add_subcommand(
      "personalize",
      "Personalize a blank card for a registered application (the resident types the JPKI PINs); "
      "the same command on a card that was removed resumes it");
  perso->add_option("APPLICATION", pa.application, "The application's number")->required();
  perso->add_option("--pki", pa.pki_dir, "The juki-pki directory (with init-jpki)")->required();
  perso->add_option("--counter-keys", pa.keys_file, "The counter's keys file")->required();
  perso->add_option("--holder", pa.holder, "The JPKI certificates' name (default: the name)");
  perso->add_option("--issue-date", pa.issue_date, "YYYYMMDD (default: today in Japan)");
  add_card_options(perso, pa.card);

  juki::issuer_cli::BatchArgs batch_args;
  auto* batch = juki::issuer_cli::add_batch_command(app, batch_args);

  std::string serial, reason;
  auto* spoil = app.add_subcommand("spoil", "Record a card left in personalization as spoiled");
  spoil->add_option("SERIAL", serial, "The card's serial (16 hex digits)")->required();
  spoil->add_option("--reason", reason, "Why")->required();

  FaceArgs fa;
  auto* face_cmd = app.add_subcommand(
      "face", "The card face of an application's issued card, for the print station");
  face_cmd->add_option("APPLICATION", fa.application, "The application's number")->required();
  face_cmd->add_option("--svg", fa.svg, "The face as SVG")->required();
  face_cmd->add_option("--print-data", fa.print_data, "The print data as JSON");
  face_cmd->add_option("--photo", fa.photo, "The photo (JPEG or PNG), face B");
  face_cmd->add_option("--municipality-name", fa.municipality_name,
                       "The municipality's name on the face (default: its code)");

  std::optional<std::string> notice;
  rec::IdentityCheck identity;
  auto* hand = app.add_subcommand(
      "hand-over", "Hand an issued card over against the issuance notice, with the identity check");
  hand->add_option("SERIAL", serial, "The card's serial")->required();
  hand->add_option("--notice", notice, "The issuance notice number (not for same-day issuance)");
  hand->add_option("--id-document", identity.document, "The identity document shown")->required();
  hand->add_option("--id-number", identity.number, "Its number");

  CardArgs card_args;
  auto* activate = app.add_subcommand(
      "activate", "The resident sets the password (4 digits) at the keypad: the card is active");
  activate->add_option("SERIAL", serial, "The card's serial")->required();
  add_card_options(activate, card_args);

  std::string reset_pki, reset_terminal;
  auto* reset = app.add_subcommand(
      "reset-password",
      "The window re-set of a locked password, after an identity check: mutual authentication as "
      "the password-reset authority, then the new password the resident types");
  reset->add_option("SERIAL", serial, "The card's serial")->required();
  reset->add_option("--pki", reset_pki, "The juki-pki directory (terminal CA and root)")
      ->required();
  reset
      ->add_option("--terminal", reset_terminal,
                   "The password-reset authority's credentials PREFIX (juki-pki issue --role "
                   "password-reset --out PREFIX)")
      ->required();
  reset->add_option("--id-document", identity.document, "The identity document shown")->required();
  reset->add_option("--id-number", identity.number, "Its number");
  add_card_options(reset, card_args);

  AppsArgs apps_args;
  auto* apps = app.add_subcommand(
      "apps",
      "Municipal applications (市町村独自サービス) on an active card: list, and install, delete, "
      "lock or unlock as the municipality's app-authority (specs/card-manager.md)");
  apps->require_subcommand(1);
  auto* apps_list = apps->add_subcommand("list", "The applications on the card");
  apps_list->add_option("SERIAL", serial, "The card's serial")->required();
  add_card_options(apps_list, card_args);
  const std::pair<card_manager::Operation, const char*> changes[] = {
      {card_manager::Operation::install, "Install a municipal application"},
      {card_manager::Operation::remove, "Delete a municipal application, wiping its data"},
      {card_manager::Operation::lock, "Lock a municipal application (it cannot be selected)"},
      {card_manager::Operation::unlock, "Unlock a locked municipal application"}};
  std::vector<std::pair<card_manager::Operation, CLI::App*>> apps_changes;
  for (const auto& [op, what] : changes) {
    auto* cmd = apps->add_subcommand(std::string(card_manager::operation_name(op)), what);
    cmd->add_option("SERIAL", serial, "The card's serial")->required();
    cmd->add_option("--app", apps_args.app, "seal (印鑑登録証), library or kiosk")
        ->required()
        ->check(CLI::IsMember(municipal_app_names()));
    cmd->add_option("--pki", apps_args.pki_dir, "The juki-pki directory (terminal CA and root)")
        ->required();
    cmd->add_option("--authority", apps_args.authority,
                    "The app-authority's credentials PREFIX (juki-pki issue --role app-authority "
                    "--out PREFIX)")
        ->required();
    if (op == card_manager::Operation::install) {
      cmd->add_option("--number", apps_args.number,
                      "The application's own number: seal registration, library member or kiosk "
                      "access")
          ->required();
      cmd->add_option("--registrant", apps_args.registrant,
                      "seal: the registrant (default: the name and birth date recorded)");
      cmd->add_option("--branch", apps_args.branch, "library: the home branch");
    }
    add_card_options(cmd, card_args);
    apps_changes.emplace_back(op, cmd);
  }

  auto* suspend = app.add_subcommand("suspend", "Suspend a card (一時停止), e.g. reported lost");
  suspend->add_option("SERIAL", serial, "The card's serial")->required();
  suspend->add_option("--reason", reason, "Why")->required();
  auto* lift = app.add_subcommand("lift", "Lift a suspension, after an identity check");
  lift->add_option("SERIAL", serial, "The card's serial")->required();
  lift->add_option("--id-document", identity.document, "The identity document shown")->required();
  lift->add_option("--id-number", identity.number, "Its number");
  auto* lost = app.add_subcommand("lost", "Record a card lost (a reissue may follow)");
  lost->add_option("SERIAL", serial, "The card's serial")->required();
  lost->add_option("--reason", reason, "Circumstances")->required();
  std::string revoke_pki;
  lost->add_option("--pki", revoke_pki,
                   "The juki-pki directory: revoke the card's certificates (keyCompromise)");
  auto* ret = app.add_subcommand("return", "Record a card returned or collected (返納, 回収)");
  ret->add_option("SERIAL", serial, "The card's serial")->required();
  ret->add_option("--reason", reason, "Why")->required();
  ret->add_option("--pki", revoke_pki,
                  "The juki-pki directory: revoke the card's certificates (cessationOfOperation)");

  std::string day = today();
  auto* expire = app.add_subcommand("expire", "Record every card past its expiry date expired");
  expire->add_option("--today", day, "YYYYMMDD (default: today in Japan)")->capture_default_str();
  auto* check = app.add_subcommand(
      "check", "The window check: is the card usable today? (exit 0 accepted, 1 refused)");
  check->add_option("SERIAL", serial, "The card's serial")->required();
  check->add_option("--today", day, "YYYYMMDD (default: today in Japan)")->capture_default_str();

  std::optional<std::int64_t> show_id;
  std::optional<std::string> show_serial;
  auto* show = app.add_subcommand("show", "An application and its cards, or one card");
  show->add_option("APPLICATION", show_id, "The application's number");
  show->add_option("--card", show_serial, "A card's serial instead");
  auto* history =
      app.add_subcommand("history", "The audit trail (all, of an application or a card)");
  history->add_option("APPLICATION", show_id, "The application's number");
  history->add_option("--card", show_serial, "A card's serial instead");
  auto* summary = app.add_subcommand("summary", "How many applications and cards in each state");

  if (auto status = host::cli::parse_command_line(app, argc, argv)) return *status;

  Output out("juki-issuer");
  int code = kExitUsage;
  if (init->parsed())
    code = cmd_init(g, municipality, out);
  else if (keys->parsed())
    code = cmd_counter_keys(keys_path, transport_key, out);
  else if (intake->parsed())
    code = cmd_intake(g, ia, out);
  else if (reg->parsed())
    code = cmd_register(g, id, out);
  else if (perso->parsed())
    code = cmd_personalize(g, pa, out);
  else if (batch->parsed())
    code = juki::issuer_cli::run_batch_command(batch_args, g.db, g.actor, out);
  else if (spoil->parsed())
    code = cmd_spoil(g, serial, reason, out);
  else if (face_cmd->parsed())
    code = cmd_face(g, fa, out);
  else if (hand->parsed())
    code = cmd_hand_over(g, serial, notice, identity, out);
  else if (activate->parsed())
    code = cmd_activate(g, serial, card_args, out);
  else if (reset->parsed())
    code = cmd_reset_password(g, serial, reset_pki, reset_terminal, identity, card_args, out);
  else if (apps_list->parsed())
    code = cmd_apps_list(g, serial, card_args, out);
  else if (apps->parsed()) {
    for (const auto& [op, cmd] : apps_changes)
      if (cmd->parsed()) code = cmd_apps_change(g, op, serial, apps_args, card_args, out);
  } else if (suspend->parsed())
    code = cmd_card_change(g, "suspend", serial, reason, identity, {}, out);
  else if (lift->parsed())
    code = cmd_card_change(g, "lift", serial, reason, identity, {}, out);
  else if (lost->parsed())
    code = cmd_card_change(g, "lost", serial, reason, identity, revoke_pki, out);
  else if (ret->parsed())
    code = cmd_card_change(g, "return", serial, reason, identity, revoke_pki, out);
  else if (expire->parsed())
    code = cmd_expire(g, day, out);
  else if (check->parsed())
    code = cmd_check(g, serial, day, out);
  else if (show->parsed()) {
    if (show_id.has_value() == show_serial.has_value())
      code = fail(out, usage("show: give an APPLICATION or --card SERIAL"));
    else
      code = cmd_show(g, show_id, show_serial, out);
  } else if (history->parsed())
    code = cmd_history(g, show_id, show_serial, out);
  else if (summary->parsed())
    code = cmd_summary(g, out);
  return host::cli::finish(out, g.json, code);
}
