// juki-terminal verify and change-pin: a PIN verified, changed or given its first
// value.
#include "tools/terminal/terminal_cli.hpp"

#include "common/iso7816/apdu.hpp"

namespace juki::terminal_cli {

int cmd_verify(const Globals& g, Output& out, const std::string& app, const std::string& ref_text,
               const std::optional<std::string>& pin_text) {
  auto aid = parse_aid(app);
  if (!aid) return fail(out, aid.error());
  auto ref = parse_ref(ref_text);
  if (!ref) return fail(out, ref.error());
  auto pin = pin_value(pin_text, "PIN", false);
  if (!pin) return fail(out, pin.error());
  // The card is reset when we let go: a PIN verified here must not stay
  // verified for whichever application talks to the card next.
  auto opened = open_session(g, true);
  if (!opened) return fail(out, opened.error());
  Session& s = **opened;
  if (auto selected = require_app(s, *aid); !selected) return fail(out, selected.error());
  auto a = card_exchange(s, apdu::encode_command(0x00, 0x20, 0x00, *ref, *pin));
  if (!a) return fail(out, a.error());
  const bool ok = a->sw == sw::kOk;
  json doc = {{"ok", ok}, {"verified", ok}, {"sw", sw_hex(a->sw)}, {"meaning", sw::meaning(a->sw)}};
  if (is_tries_left(a->sw)) doc["tries_left"] = a->sw & 0x0F;
  if (a->sw == sw::kAuthMethodBlocked) doc["tries_left"] = 0;
  out.doc = std::move(doc);
  if (ok)
    out.text << "PIN verified\n";
  else if (is_tries_left(a->sw))
    out.text << "wrong PIN: " << (a->sw & 0x0F) << " tries left\n";
  else if (a->sw == sw::kAuthMethodBlocked)
    out.text << "PIN blocked\n";
  else
    out.text << "not verified: " << sw_text(a->sw) << "\n";
  return ok ? kExitOk : kExitCardSaidNo;
}

namespace {

// PIN values padded with FF to `pad_to` bytes: the card's format for a
// variable-length PIN in CHANGE REFERENCE DATA (specs/card-os.md 6.7).
Result<Bytes, Failure> padded(Bytes v, std::size_t pad_to) {
  if (pad_to == 0) return v;
  if (v.size() > pad_to)
    return unexpected(usage("a PIN is longer than --pad-to " + std::to_string(pad_to)));
  v.resize(pad_to, 0xFF);
  return v;
}

}  // namespace

int cmd_change_pin(const Globals& g, Output& out, const std::string& app,
                   const std::string& ref_text, const std::optional<std::string>& old_text,
                   const std::optional<std::string>& new_text, bool initial_flag,
                   std::size_t pad_to) {
  auto aid = parse_aid(app);
  if (!aid) return fail(out, aid.error());
  auto ref = parse_ref(ref_text);
  if (!ref) return fail(out, ref.error());
  auto opened = open_session(g, true);
  if (!opened) return fail(out, opened.error());
  Session& s = **opened;

  // First value (P1 01) or change (P1 00)? An issued card only takes the
  // first value; otherwise the PIN says itself whether it has one (6984).
  bool initial = initial_flag;
  if (!initial) {
    sw::Sw sw = 0;
    auto lc = get_data(s, 0xDF20, sw);
    if (!lc) return fail(out, lc.error());
    initial = sw == sw::kOk && lc->size() == 1 && (*lc)[0] == 0x04;
  }
  if (auto selected = require_app(s, *aid); !selected) return fail(out, selected.error());
  if (!initial) {
    auto probe = card_exchange(s, apdu::encode_command(0x00, 0x20, 0x00, *ref));
    if (!probe) return fail(out, probe.error());
    initial = probe->sw == sw::kReferenceDataNotUsable;
  }

  Bytes data;
  if (!initial) {
    auto old_pin = pin_value(old_text, "current PIN", false);
    if (!old_pin) return fail(out, old_pin.error());
    auto p = padded(std::move(*old_pin), pad_to);
    if (!p) return fail(out, p.error());
    data = std::move(*p);
  }
  auto new_pin = pin_value(new_text, "new PIN", true);
  if (!new_pin) return fail(out, new_pin.error());
  auto p = padded(std::move(*new_pin), pad_to);
  if (!p) return fail(out, p.error());
  data.insert(data.end(), p->begin(), p->end());

  auto a = card_exchange(s, apdu::encode_command(0x00, 0x24, initial ? 0x01 : 0x00, *ref, data));
  if (!a) return fail(out, a.error());
  const bool ok = a->sw == sw::kOk;
  json doc = {{"ok", ok},
              {"changed", ok},
              {"mode", initial ? "initial" : "change"},
              {"sw", sw_hex(a->sw)},
              {"meaning", sw::meaning(a->sw)}};
  if (is_tries_left(a->sw)) doc["tries_left"] = a->sw & 0x0F;
  if (ok) {
    // Setting the activation PIN activates an issued card: say so.
    sw::Sw sw = 0;
    auto lc = get_data(s, 0xDF20, sw);
    if (lc && sw == sw::kOk && lc->size() == 1)
      doc["life_cycle"] = life_cycle_name((*lc)[0], false);
  }
  out.text << (ok ? (initial ? "PIN set" : "PIN changed")
               : is_tries_left(a->sw)
                   ? "wrong current PIN: " + std::to_string(a->sw & 0x0F) + " tries left"
                   : "not changed: " + sw_text(a->sw));
  if (doc.contains("life_cycle")) out.text << "; card is " << doc["life_cycle"].get<std::string>();
  out.text << "\n";
  out.doc = std::move(doc);
  return ok ? kExitOk : kExitCardSaidNo;
}

}  // namespace juki::terminal_cli
