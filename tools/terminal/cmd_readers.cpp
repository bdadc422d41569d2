// juki-terminal readers and wait: the readers and their cards, and waiting for a
// card to be inserted or removed.
#include "tools/terminal/terminal_cli.hpp"

#include <chrono>

#include "host_middleware/pcsc/pcsc.hpp"

namespace juki::terminal_cli {

namespace {

namespace pcsc = juki::host::pcsc;

Failure from_pcsc(const pcsc::PcscError& e) {
  return from_card(tools::from_pcsc(e));
}

}  // namespace

int cmd_readers(const Globals& g, Output& out) {
  json list = json::array();
  if (!g.in_process.empty()) {
    auto s = open_session(g, false);
    if (!s) return fail(out, s.error());
    const Bytes atr = (*s)->t().atr();
    list.push_back({{"name", (*s)->t().describe()},
                    {"card_present", true},
                    {"in_use", false},
                    {"exclusive", false},
                    {"mute", false},
                    {"atr", to_hex(atr)}});
    out.text << (*s)->t().describe() << ": card, ATR " << to_hex(atr, true) << "\n";
  } else {
    auto context = pcsc::PcscContext::establish();
    if (!context) return fail(out, from_pcsc(context.error()));
    auto states = context->reader_states();
    if (!states) return fail(out, from_pcsc(states.error()));
    for (const pcsc::ReaderState& r : *states) {
      list.push_back({{"name", r.name},
                      {"card_present", r.card_present},
                      {"in_use", r.in_use},
                      {"exclusive", r.exclusive},
                      {"mute", r.mute},
                      {"atr", r.card_present ? json(to_hex(r.atr)) : json(nullptr)}});
      out.text << r.name << ": ";
      if (!r.card_present)
        out.text << "empty";
      else if (r.mute)
        out.text << "card (mute)";
      else
        out.text << "card, ATR " << to_hex(r.atr, true);
      if (r.exclusive)
        out.text << " [in exclusive use]";
      else if (r.in_use)
        out.text << " [in use]";
      out.text << "\n";
    }
    if (states->empty()) out.text << "no readers\n";
  }
  out.doc = {{"ok", true}, {"readers", std::move(list)}};
  return kExitOk;
}

int cmd_wait(const Globals& g, Output& out, std::optional<double> timeout_s, bool removal) {
  if (timeout_s && *timeout_s < 0) return fail(out, usage("--timeout must not be negative"));
  if (!g.in_process.empty()) {
    // An image is always "in the reader": insertion is immediate, removal never comes.
    if (removal) return fail(out, usage("an in-process card is never removed"));
    auto s = open_session(g, false);
    if (!s) return fail(out, s.error());
    const std::string atr = to_hex((*s)->t().atr());
    out.doc = {{"ok", true}, {"event", "inserted"}, {"reader", (*s)->t().describe()}, {"atr", atr}};
    out.text << "card in " << (*s)->t().describe() << ", ATR " << to_hex((*s)->t().atr(), true)
             << "\n";
    return kExitOk;
  }
  auto context = pcsc::PcscContext::establish();
  if (!context) return fail(out, from_pcsc(context.error()));
  pcsc::Timeout timeout;
  if (timeout_s) timeout = std::chrono::milliseconds(static_cast<long long>(*timeout_s * 1000.0));
  auto r = removal ? context->wait_for_removal(g.reader, timeout)
                   : context->wait_for_card(g.reader, timeout);
  if (!r) return fail(out, from_pcsc(r.error()));
  out.doc = {{"ok", true},
             {"event", removal ? "removed" : "inserted"},
             {"reader", r->name},
             {"atr", removal ? json(nullptr) : json(to_hex(r->atr))}};
  if (removal)
    out.text << (r->name.empty() ? std::string("no card in any reader")
                                 : "no card in '" + r->name + "'")
             << "\n";
  else
    out.text << "card in '" << r->name << "', ATR " << to_hex(r->atr, true)
             << (r->mute ? " (mute)" : "") << "\n";
  return kExitOk;
}

}  // namespace juki::terminal_cli
