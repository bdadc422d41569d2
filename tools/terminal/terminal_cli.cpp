// What juki-terminal's commands share (terminal_cli.hpp): the card and its
// helpers, PIN entry, and exchanges as `send` prints them.
#include "tools/terminal/terminal_cli.hpp"

#include <cstdio>
#include <iostream>

#include "common/apdu_text.hpp"
#include "common/iso7816/apdu.hpp"
#include "host_middleware/cli/secret_input.hpp"

namespace juki::terminal_cli {

// ------------------------------------------------------------ the card

Result<std::unique_ptr<Session>, Failure> open_session(const Globals& g, bool reset_on_close) {
  tools::CardOptions o;
  o.in_process = g.in_process;
  o.reader = g.reader;
  o.exclusive = g.exclusive;
  o.reset_on_close = reset_on_close;
  if (g.trace) o.trace = &std::cerr;
  if (g.trace_secrets) o.trace_secrets = apdu_text::Secrets::show;
  auto c = Session::open(o);
  if (!c) return unexpected(from_card(c.error()));
  return std::move(*c);
}

Result<Answer, Failure> card_exchange(Session& s, ByteView command) {
  auto r = s.t().transmit(command);
  if (!r) return unexpected(from_card(s.failure(r.error())));
  auto decoded = apdu::Response::decode(*r);
  if (!decoded) return unexpected(Failure{kExitTransport, "transport", decoded.error()});
  return Answer{std::move(decoded->data), decoded->sw};
}

std::string sw_hex(sw::Sw sw) {
  char s[8];
  std::snprintf(s, sizeof s, "%04X", sw);
  return s;
}
std::string sw_text(sw::Sw sw) {
  return sw_hex(sw) + " " + sw::meaning(sw);
}
bool is_tries_left(sw::Sw sw) {
  return (sw & 0xFFF0) == sw::kVerifyFailedBase;
}

// The byte string a card returns for GET DATA: tag (2 bytes) length value.
Result<Bytes, Failure> get_data(Session& s, std::uint16_t tag, sw::Sw& sw_out) {
  const Bytes cmd = apdu::encode_command(0x00, 0xCA, static_cast<std::uint8_t>(tag >> 8),
                                         static_cast<std::uint8_t>(tag), {}, 256);
  auto a = card_exchange(s, cmd);
  if (!a) return unexpected(a.error());
  sw_out = a->sw;
  if (a->sw != sw::kOk) return Bytes{};
  const Bytes& d = a->data;
  if (d.size() < 3 || load_be16(d.data()) != tag || d[2] != d.size() - 3)
    return unexpected(Failure{kExitCardSaidNo, "card",
                              "GET DATA " + sw_hex(tag) + ": malformed answer " + to_hex(d)});
  return Bytes(d.begin() + 3, d.end());
}

Result<sw::Sw, Failure> select_app(Session& s, ByteView aid) {
  auto a = card_exchange(s, apdu::encode_command(0x00, 0xA4, 0x04, 0x0C, aid));
  if (!a) return unexpected(a.error());
  return a->sw;
}

// ------------------------------------------------------------ PIN entry

// `given` if set, else asked for; on a terminal a new PIN is asked twice.
Result<Bytes, Failure> pin_value(const std::optional<std::string>& given, const std::string& prompt,
                                 bool confirm) {
  host::cli::SecretError error;
  auto value = host::cli::secret_value(given, prompt, confirm, error);
  if (!value) return unexpected(usage(error.message));
  ByteView b = as_bytes(*value);
  return Bytes(b.begin(), b.end());
}

Result<Bytes, Failure> parse_aid(const std::string& text) {
  auto aid = from_hex(text);
  if (!aid || aid->empty() || aid->size() > 16)
    return unexpected(usage("--app must be an AID of 1 to 16 bytes in hex, not '" + text + "'"));
  return *aid;
}

Result<std::uint8_t, Failure> parse_ref(const std::string& text) {
  auto ref = from_hex(text);
  if (!ref || ref->size() != 1)
    return unexpected(usage("the PIN reference must be one byte in hex (81), not '" + text + "'"));
  return (*ref)[0];
}

// Selects the application, or says why not.
Result<void, Failure> require_app(Session& s, ByteView aid) {
  auto sw = select_app(s, aid);
  if (!sw) return unexpected(sw.error());
  if (*sw != sw::kOk)
    return unexpected(
        Failure{kExitCardSaidNo, "card", "SELECT " + to_hex(aid) + ": " + sw_text(*sw)});
  return {};
}

// ------------------------------------------------------------ exchanges, as `send` prints them

// 9000 and 61XX are the card saying yes; anything else is a no.
bool card_said_yes(sw::Sw sw) {
  return (sw >> 8) == 0x90 || (sw >> 8) == 0x61;
}

// One exchange through `t`, printed as `send` prints it: "> command [name]"
// and "< response   SW meaning" in the text, an object in `exchanges`. The
// status word, or why there was none.
Result<sw::Sw, Failure> exchange_and_print(Session& s, juki::Transport& t, ByteView command,
                                           Output& out, json& exchanges) {
  auto r = t.transmit(command);
  if (!r) return unexpected(from_card(s.failure(r.error())));
  auto decoded = apdu::Response::decode(*r);
  if (!decoded) return unexpected(Failure{kExitTransport, "transport", decoded.error()});
  const std::string name = apdu_text::command_name(command[0], command[1]);
  exchanges.push_back({{"command", to_hex(command)},
                       {"name", name},
                       {"response", to_hex(*r)},
                       {"data", to_hex(decoded->data)},
                       {"sw", sw_hex(decoded->sw)},
                       {"meaning", sw::meaning(decoded->sw)}});
  out.text << "> " << to_hex(command, true) << "   [" << name << "]\n"
           << "< " << to_hex(*r, true) << "   " << sw_text(decoded->sw) << "\n";
  return decoded->sw;
}

// Command APDUs in hex, as `send` and `authenticate` take them.
Result<std::vector<Bytes>, Failure> parse_apdus(const std::vector<std::string>& apdus) {
  std::vector<Bytes> commands;
  for (const std::string& text : apdus) {
    auto b = from_hex(text);
    if (!b || b->size() < 4)
      return unexpected(usage("not an APDU (at least CLA INS P1 P2, in hex): '" + text + "'"));
    commands.push_back(std::move(*b));
  }
  return commands;
}

// A failure after some exchanges: the error, and what was exchanged before it.
int fail_keeping(Output& out, const Failure& f, json& exchanges) {
  const int code = fail(out, f);
  out.doc["exchanges"] = std::move(exchanges);
  return code;
}

}  // namespace juki::terminal_cli
