// juki-issuer: the command line of a municipal card issuance counter
// (specs/issuance.md 3): the records of applications and cards (SQLite,
// issuer_tool/records), personalization of blank cards in a PC/SC reader or
// in-process (issuer_tool/issuance), the card face for the print station
// (issuer_tool/face), hand-over, activation at the counter's keypad,
// suspension, loss (with the card's certificates revoked), return, expiry,
// the window check, and municipal applications on an active card.
// Exit: 0 ok, 1 refused (by the records, the card or the window check),
// 2 usage, 3 I/O, storage or a card that went away.
#include <unistd.h>
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "host_middleware/cli/cli_output.hpp"
#include "issuer_tool/enrolment/card_manager.hpp"
#include "records/records.hpp"
#include "tools/issuer/batch_command.hpp"
#include "tools/issuer/issuer_cli.hpp"

namespace {

using namespace juki;
using namespace juki::issuer_cli;

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
