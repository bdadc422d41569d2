// juki-issuer face: the card face of an application's issued card, for the print
// station (SVG, print data, braille).
#include "tools/issuer/issuer_cli.hpp"

#include <fstream>

#include "issuer_tool/face/face.hpp"

namespace juki::issuer_cli {

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

}  // namespace juki::issuer_cli
