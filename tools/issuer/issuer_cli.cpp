// What juki-issuer's commands share (issuer_cli.hpp): errors, the common options,
// the records and the card in the reader, and the JSON of records.
#include "tools/issuer/issuer_cli.hpp"

#include <chrono>
#include <iostream>

#include "common/apdu_text.hpp"
#include "common/bytes.hpp"
#include "common/iso7816/apdu.hpp"

namespace juki::issuer_cli {

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

// ------------------------------------------------------------ the card and its record

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

}  // namespace juki::issuer_cli
