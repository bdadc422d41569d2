// juki-issuer show, history and summary: reading the records.
#include "tools/issuer/issuer_cli.hpp"

namespace juki::issuer_cli {

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

}  // namespace juki::issuer_cli
