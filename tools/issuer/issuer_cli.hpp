// Internals of juki-issuer, shared by its files (tools/issuer/): the options
// every command takes, the records and the card, the JSON of records, and the commands.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "common/transport.hpp"
#include "host_middleware/cli/cli_output.hpp"
#include "host_middleware/personalization/personalization.hpp"
#include "issuer_tool/enrolment/card_manager.hpp"
#include "issuer_tool/issuance/personalization.hpp"
#include "records/records.hpp"
#include "tools/cli/card_connection.hpp"

namespace juki::issuer_cli {

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
Failure from_perso(const host::perso::Error& e);
Failure from_records(const rec::RecordsError& e);

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

void add_card_options(CLI::App* cmd, CardArgs& c);
Result<std::unique_ptr<tools::CardConnection>, Failure> connect(const CardArgs& c);
Result<rec::Records, Failure> open_records(const Globals& g);
std::string today();

// ------------------------------------------------------------ the card and its record

// The card in the reader must be `serial` (GET DATA DF22).
Result<void, Failure> require_card(juki::Transport& t, const std::string& serial);

// The card `serial` as recorded, refused unless it is in `state`.
Result<rec::Card, Failure> recorded_in(rec::Records& records, const std::string& serial,
                                       rec::CardState state, const std::string& wanted);

// ------------------------------------------------------------ JSON of records

json opt(const std::optional<std::string>& s);
json to_json(const rec::Application& a);
json to_json(const rec::Card& c);
json to_json(const rec::Event& e);
void print_card(Output& out, const rec::Card& c);

// ------------------------------------------------------------ init, counter keys
// cmd_init.cpp

int cmd_init(const Globals& g, const std::string& municipality, Output& out);
// The counter's keys file: JSON {"transport_key": hex, "admin_master": hex}.
Result<issuance::CounterKeys, Failure> load_keys(const std::string& path);
int cmd_counter_keys(const std::string& path, const std::string& transport_key, Output& out);

// ------------------------------------------------------------ applications
// cmd_applications.cpp

struct IntakeArgs {
  std::string resident_code, name, kana, birth_date, address, face = "A", document;
  int sex = 0;
  bool braille = false, same_day = false, reissue = false;
  std::optional<std::string> document_number;
};

int cmd_intake(const Globals& g, const IntakeArgs& a, Output& out);
int cmd_register(const Globals& g, std::int64_t id, Output& out);

// ------------------------------------------------------------ personalization
// cmd_personalize.cpp

struct PersonalizeArgs {
  std::int64_t application = 0;
  std::string pki_dir, keys_file;
  std::optional<std::string> holder, issue_date;
  CardArgs card;
};

int cmd_personalize(const Globals& g, const PersonalizeArgs& a, Output& out);
int cmd_spoil(const Globals& g, const std::string& serial, const std::string& reason, Output& out);

// ------------------------------------------------------------ the face
// cmd_face.cpp

struct FaceArgs {
  std::int64_t application = 0;
  std::string svg, print_data, municipality_name;
  std::optional<std::string> photo;
};

int cmd_face(const Globals& g, const FaceArgs& a, Output& out);

// ------------------------------------------------------------ hand-over and activation
// cmd_hand_over.cpp

int cmd_hand_over(const Globals& g, const std::string& serial,
                  const std::optional<std::string>& notice, const rec::IdentityCheck& identity,
                  Output& out);
int cmd_activate(const Globals& g, const std::string& serial, const CardArgs& card_args,
                 Output& out);
int cmd_reset_password(const Globals& g, const std::string& serial, const std::string& pki_dir,
                       const std::string& terminal, const rec::IdentityCheck& identity,
                       const CardArgs& card_args, Output& out);

// ------------------------------------------------------------ municipal applications
// cmd_apps.cpp

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

const std::vector<std::string>& municipal_app_names();
int cmd_apps_list(const Globals& g, const std::string& serial, const CardArgs& card_args,
                  Output& out);
// install, delete, lock or unlock of a municipal application on the active
// card `serial`, authorized by the app-authority PREFIX of `pki_dir`; recorded.
int cmd_apps_change(const Globals& g, card_manager::Operation op, const std::string& serial,
                    const AppsArgs& a, const CardArgs& card_args, Output& out);

// ------------------------------------------------------------ after issuance
// cmd_after_issuance.cpp

int cmd_card_change(const Globals& g, const std::string& what, const std::string& serial,
                    const std::string& reason, const rec::IdentityCheck& identity,
                    const std::string& pki_dir, Output& out);
int cmd_expire(const Globals& g, const std::string& day, Output& out);
// The window's question: may this card be used today?
int cmd_check(const Globals& g, const std::string& serial, const std::string& day, Output& out);

// ------------------------------------------------------------ reading
// cmd_reading.cpp

int cmd_show(const Globals& g, std::optional<std::int64_t> id, std::optional<std::string> serial,
             Output& out);
int cmd_history(const Globals& g, std::optional<std::int64_t> id, std::optional<std::string> serial,
                Output& out);
int cmd_summary(const Globals& g, Output& out);

}  // namespace juki::issuer_cli
