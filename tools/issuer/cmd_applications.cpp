// juki-issuer intake and register: a resident's application for a card, received
// with the identity check and registered.
#include "tools/issuer/issuer_cli.hpp"

namespace juki::issuer_cli {

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

}  // namespace juki::issuer_cli
