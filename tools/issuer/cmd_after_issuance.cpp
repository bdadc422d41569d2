// juki-issuer suspend, lift, lost, return (with --pki, the card's certificates
// revoked), expire and check: a card's record after issuance.
#include "tools/issuer/issuer_cli.hpp"

#include <ctime>

#include "issuer_tool/issuance/card_certificates.hpp"
#include "pki/pki.hpp"
#include "tools/issuer/pki_failure.hpp"

namespace juki::issuer_cli {

namespace {

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

}  // namespace

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

}  // namespace juki::issuer_cli
