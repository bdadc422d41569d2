// juki-terminal status: the card's ATR, life cycle, serial, memory, applications,
// and with --app a PIN's tries left.
#include "tools/terminal/terminal_cli.hpp"

#include <algorithm>
#include <utility>

#include "common/iso7816/apdu.hpp"

namespace juki::terminal_cli {

namespace {

// The sample application (specs/card-os.md "The sample layout"); `status`
// looks for it. The Juki applications join this list when they exist.
struct KnownApp {
  const char* aid;
  const char* label;
};
constexpr KnownApp kKnownApps[] = {{"F04A554B4944454D4F", "sample application JUKIDEMO"}};

// The life-cycle status byte of the ATR's compact-TLV status indicator (tag
// 8), which a card gives in every state, even where GET DATA is refused.
std::optional<std::uint8_t> atr_life_cycle(ByteView atr) {
  if (atr.size() < 2) return std::nullopt;
  std::size_t i = 2;
  std::uint8_t y = atr[1] >> 4;
  const std::size_t historical = atr[1] & 0x0F;
  for (;;) {  // interface bytes TAi TBi TCi TDi
    i += ((y & 1) != 0) + ((y & 2) != 0) + ((y & 4) != 0);
    if ((y & 8) == 0) break;
    if (i >= atr.size()) return std::nullopt;
    y = atr[i++] >> 4;
  }
  if (i + historical > atr.size() || historical == 0 || atr[i] != 0x80) return std::nullopt;
  for (std::size_t at = i + 1; at < i + historical;) {
    const std::uint8_t tag = atr[at] >> 4, len = atr[at] & 0x0F;
    if (at + 1 + len > i + historical) return std::nullopt;
    if (tag == 8 && (len == 1 || len == 3)) return atr[at + 1];
    at += 1 + len;
  }
  return std::nullopt;
}

// What an empty VERIFY says about a PIN (specs/card-os.md 6.6).
json pin_status(sw::Sw sw, std::string& text) {
  json j = {{"sw", sw_hex(sw)}, {"meaning", sw::meaning(sw)}};
  if (is_tries_left(sw)) {
    j["state"] = "tries_left";
    j["tries_left"] = sw & 0x0F;
    text = std::to_string(sw & 0x0F) + " tries left";
  } else if (sw == sw::kAuthMethodBlocked) {
    j["state"] = "blocked";
    j["tries_left"] = 0;
    text = "blocked";
  } else if (sw == sw::kOk) {
    j["state"] = "verified";
    text = "verified in this session";
  } else if (sw == sw::kReferenceDataNotUsable) {
    j["state"] = "not_set";
    text = "no value set yet";
  } else if (sw == sw::kReferenceNotFound) {
    j["state"] = "no_such_pin";
    text = "no such PIN";
  } else if (sw == sw::kConditionsNotSatisfied) {
    j["state"] = "not_available";
    text = "not available in this life-cycle state";
  } else {
    j["state"] = "error";
    text = sw_text(sw);
  }
  return j;
}

}  // namespace

int cmd_status(const Globals& g, Output& out, const std::string& app, const std::string& ref_text) {
  std::optional<Bytes> aid;
  std::uint8_t ref = 0;
  if (!app.empty()) {
    auto a = parse_aid(app);
    if (!a) return fail(out, a.error());
    aid = *a;
    auto r = parse_ref(ref_text);
    if (!r) return fail(out, r.error());
    ref = *r;
  }
  auto opened = open_session(g, false);
  if (!opened) return fail(out, opened.error());
  Session& s = **opened;
  const Bytes atr = s.t().atr();
  json doc = {{"ok", true}, {"transport", s.t().describe()}, {"atr", to_hex(atr)}};
  out.text << "transport    " << s.t().describe() << "\n";
  out.text << "ATR          " << to_hex(atr, true) << "\n";

  sw::Sw sw = 0;
  auto lc = get_data(s, 0xDF20, sw);
  if (!lc) return fail(out, lc.error());
  if (sw == sw::kOk && lc->size() == 1) {
    doc["life_cycle"] = {{"value", (*lc)[0]},
                         {"name", life_cycle_name((*lc)[0], false)},
                         {"source", "GET DATA DF20"}};
    out.text << "life cycle   " << life_cycle_name((*lc)[0], false) << " ("
             << to_hex(ByteView(lc->data(), 1)) << ")\n";
  } else if (auto from_atr = atr_life_cycle(atr)) {
    // Transport-locked cards refuse GET DATA; their ATR still tells.
    doc["life_cycle"] = {
        {"value", *from_atr}, {"name", life_cycle_name(*from_atr, true)}, {"source", "ATR"}};
    out.text << "life cycle   " << life_cycle_name(*from_atr, true) << " (from the ATR)\n";
  } else {
    doc["life_cycle"] = nullptr;
    out.text << "life cycle   unknown (GET DATA DF20: " << sw_text(sw) << ")\n";
  }

  auto serial = get_data(s, 0xDF22, sw);
  if (!serial) return fail(out, serial.error());
  doc["serial"] = sw == sw::kOk ? json(to_hex(*serial)) : json(nullptr);
  out.text << "serial       "
           << (sw == sw::kOk ? to_hex(*serial) : "unavailable (" + sw_text(sw) + ")") << "\n";

  auto memory = get_data(s, 0xDF21, sw);
  if (!memory) return fail(out, memory.error());
  if (sw == sw::kOk && memory->size() == 8) {
    const std::uint32_t capacity = load_be32(memory->data()), free = load_be32(memory->data() + 4);
    doc["memory"] = {{"capacity", capacity}, {"free", free}};
    out.text << "memory       " << free << " of " << capacity << " bytes free\n";
  } else {
    doc["memory"] = nullptr;
    out.text << "memory       unavailable (" << sw_text(sw) << ")\n";
  }

  // Applications: SELECT each known AID (and --app); 6985 means the card's
  // state does not let us look, not that it is missing.
  json apps = json::array();
  std::vector<std::pair<Bytes, std::string>> probe;
  for (const KnownApp& k : kKnownApps) probe.emplace_back(*from_hex(k.aid), k.label);
  if (aid &&
      std::none_of(probe.begin(), probe.end(), [&](const auto& p) { return p.first == *aid; }))
    probe.emplace_back(*aid, "--app");
  bool app_missing = false;
  for (const auto& [id, label] : probe) {
    auto r = select_app(s, id);
    if (!r) return fail(out, r.error());
    json present = *r == sw::kOk             ? json(true)
                   : *r == sw::kFileNotFound ? json(false)
                                             : json(nullptr);
    apps.push_back(
        {{"aid", to_hex(id)}, {"label", label}, {"present", present}, {"sw", sw_hex(*r)}});
    out.text << "application  " << to_hex(id) << " (" << label << "): "
             << (*r == sw::kOk             ? "present"
                 : *r == sw::kFileNotFound ? "absent"
                                           : sw_text(*r))
             << "\n";
    if (aid && id == *aid && *r != sw::kOk) app_missing = true;
  }
  doc["applications"] = std::move(apps);

  int exit = kExitOk;
  if (aid) {
    if (app_missing) {
      doc["pin"] = nullptr;
      out.text << "PIN " << to_hex(ByteView(&ref, 1)) << "       application not selectable\n";
      exit = kExitCardSaidNo;
    } else {
      auto selected = select_app(s, *aid);  // the probe may have moved on to another app
      if (!selected) return fail(out, selected.error());
      auto a = card_exchange(s, apdu::encode_command(0x00, 0x20, 0x00, ref));
      if (!a) return fail(out, a.error());
      std::string text;
      json pin = pin_status(a->sw, text);
      pin["aid"] = to_hex(*aid);
      pin["ref"] = to_hex(ByteView(&ref, 1));
      doc["pin"] = std::move(pin);
      out.text << "PIN " << to_hex(ByteView(&ref, 1)) << "       " << text << "\n";
    }
  }
  doc["ok"] = exit == kExitOk;
  out.doc = std::move(doc);
  return exit;
}

}  // namespace juki::terminal_cli
