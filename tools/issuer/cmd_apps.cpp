// juki-issuer apps: the municipal applications on an active card, listed, and
// installed, deleted, locked or unlocked as the municipality's app-authority.
#include "tools/issuer/issuer_cli.hpp"

#include "common/bytes.hpp"
#include "common/card_information.hpp"
#include "host_middleware/session/secure_session.hpp"
#include "issuer_tool/apps/examples.hpp"
#include "issuer_tool/face/era.hpp"

namespace juki::issuer_cli {

const std::vector<std::string>& municipal_app_names() {
  static const std::vector<std::string> names = {"seal", "library", "kiosk"};
  return names;
}

namespace {

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

}  // namespace

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

}  // namespace juki::issuer_cli
