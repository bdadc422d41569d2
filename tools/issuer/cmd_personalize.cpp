// juki-issuer personalize and spoil: a blank card personalized for a registered
// application (resumed after a removal), or recorded spoiled.
#include "tools/issuer/issuer_cli.hpp"

#include <iostream>

#include "host_middleware/cli/secret_input.hpp"
#include "issuer_tool/issuance/card_certificates.hpp"
#include "issuer_tool/issuance/issue.hpp"

namespace juki::issuer_cli {

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

}  // namespace juki::issuer_cli
