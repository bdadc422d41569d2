// juki-terminal authenticate: mutual authentication as a terminal, then files and
// APDUs under secure messaging; with --records, the window's check first.
#include "tools/terminal/terminal_cli.hpp"

#include <chrono>
#include <ctime>
#include <utility>

#include "common/apdu_text.hpp"
#include "common/iso7816/apdu.hpp"
#include "host_middleware/session/secure_session.hpp"
#include "pki/directory.hpp"
#include "pki/pki.hpp"
#include "records/records.hpp"

namespace juki::terminal_cli {

namespace {

Result<host::session::Credentials, Failure> load_credentials(const CredentialFiles& f) {
  auto pick = [](const std::string& given, const std::string& base, const char* suffix) {
    if (!given.empty()) return given;
    return base.empty() ? std::string() : base + suffix;
  };
  const std::string key = pick(f.key, f.terminal, ".key.pem");
  const std::string cert = pick(f.cert, f.terminal, ".cert.der");
  namespace d = pki::directory;
  auto in_pki = [&](const std::string& given, std::string_view stem) {
    if (!given.empty() || f.pki_dir.empty()) return given;
    return d::cert_path(f.pki_dir, stem);
  };
  const std::string ca = in_pki(f.ca, d::ca_stem(pki::CaKind::terminal));
  const std::string root = in_pki(f.root, d::kRootStem);
  if (key.empty()) return unexpected(usage("no terminal key: give --terminal PREFIX or --key PEM"));
  if (cert.empty())
    return unexpected(usage("no terminal certificate: give --terminal PREFIX or --cert DER"));
  if (ca.empty())
    return unexpected(usage("no terminal CA certificate: give --pki DIR or --ca DER"));
  if (root.empty()) return unexpected(usage("no root certificate: give --pki DIR or --root DER"));
  auto credentials = host::session::Credentials::load(key, cert, ca, root);
  if (!credentials) return unexpected(Failure{kExitUsage, "credentials", credentials.error()});
  return std::move(*credentials);
}

// What a refusal during authentication most likely means
// (specs/secure-channel.md 2.1, 2.2, 2.4).
std::string refusal_hint(sw::Sw sw) {
  switch (sw) {
    case sw::kSecurityStatusNotSatisfied:
      return "wrong role: the card does not admit this terminal's role here (or a municipal-app "
             "certificate is for another application)";
    case sw::kReferenceNotFound:
      return "the card does not know this PKI: its trust anchor did not issue the terminal CA, or "
             "the selected application (the MF without --app) has no trust anchor, key or "
             "certificate";
    case sw::kAuthenticationFailed:
      return "a signature did not verify: a terminal of another PKI, or a key that is not the "
             "certificate's";
    case sw::kReferenceDataNotUsable:
      return "a certificate has expired against the card's date";
    case sw::kAuthMethodBlocked:
      return "authentication is blocked: 3 failures since power-up (power the card off and on) "
             "or 15 in a row (for good)";
    case sw::kWrongData:
      return "the card does not accept the certificate (not a Juki-net terminal CA or terminal "
             "certificate)";
    case sw::kConditionsNotSatisfied:
      return "a step out of order, or the card's state does not allow authentication";
    case sw::kInsNotSupported:
    case sw::kClaNotSupported:
    case sw::kFunctionNotSupported:
      return "the card does not support mutual authentication";
    default:
      return {};
  }
}

json optional_json(const std::optional<std::string>& v) {
  return v ? json(*v) : json(nullptr);
}

// The terminal's side of who authenticated: role, municipality, subject.
json terminal_identity(const pki::Certificate& certificate) {
  json j = {{"role", nullptr},
            {"municipality", nullptr},
            {"application", nullptr},
            {"subject", certificate.subject()},
            {"serial", certificate.serial_hex()}};
  auto auth = certificate.authorization();
  if (auth && *auth) {
    const pki::Authorization& a = **auth;
    j["role"] = std::string(pki::role_name(a.role));
    j["municipality"] = optional_json(a.municipality);
    if (a.application) j["application"] = to_hex(*a.application);
  }
  return j;
}

// The window's check in the issuance records (specs/issuance-records.md):
// the card in the reader must be recorded active and not past its expiry
// today (in Japan). Its verdict, for the output.
Result<json, Failure> window_check(Session& s, const std::string& records_file) {
  sw::Sw sw = 0;
  auto serial = get_data(s, 0xDF22, sw);
  if (!serial) return unexpected(serial.error());
  if (sw != sw::kOk || serial->size() != 8)
    return unexpected(Failure{kExitCardSaidNo, "card", "GET DATA DF22 (serial): " + sw_text(sw)});
  auto records = records::Records::open(records_file);
  if (!records) return unexpected(Failure{kExitTransport, "records", records.error().message});
  const std::string hex = to_hex(*serial);
  auto w = records->window_check(hex, records::japan_date(std::chrono::system_clock::now()));
  if (!w) return unexpected(Failure{kExitTransport, "records", w.error().message});
  if (w->verdict != records::WindowCheck::Verdict::accepted)
    return unexpected(Failure{kExitCardSaidNo, "window_check",
                              "the issuance records refuse card " + hex + ": " + w->why});
  return json{{"serial", hex}, {"verdict", records::to_string(w->verdict)}, {"why", w->why}};
}

}  // namespace

int cmd_authenticate(const Globals& g, Output& out, const CredentialFiles& files,
                     const std::string& app, const std::vector<std::string>& read_fids,
                     const std::vector<std::string>& apdus, const std::string& records_file) {
  using host::session::SessionError;
  std::optional<Bytes> aid;
  if (!app.empty()) {
    auto a = parse_aid(app);
    if (!a) return fail(out, a.error());
    aid = std::move(*a);
  }
  std::vector<Bytes> fids;
  for (const std::string& text : read_fids) {
    auto fid = from_hex(text);
    if (!fid || fid->size() != 2)
      return fail(
          out, usage("--read takes a file identifier of 4 hex digits (7001), not '" + text + "'"));
    fids.push_back(std::move(*fid));
  }
  auto commands = parse_apdus(apdus);
  if (!commands) return fail(out, commands.error());
  auto credentials = load_credentials(files);
  if (!credentials) return fail(out, credentials.error());

  // The card is reset when we let go: the session and the role it grants
  // end with this command.
  auto opened = open_session(g, true);
  if (!opened) return fail(out, opened.error());
  Session& s = **opened;
  std::optional<json> checked;
  if (!records_file.empty()) {
    auto verdict = window_check(s, records_file);
    if (!verdict) return fail(out, verdict.error());
    checked = std::move(*verdict);
  }
  if (aid)
    if (auto selected = require_app(s, *aid); !selected) return fail(out, selected.error());

  // Steps 1 to 5 in plain on the session's transport (--trace shows them),
  // then everything under secure messaging.
  auto session = host::session::SecureSession::open(s.t(), *credentials,
                                                    static_cast<std::int64_t>(std::time(nullptr)));
  if (!session) {
    const SessionError& e = session.error();
    Failure f{kExitCardSaidNo, "", e.message};
    switch (e.kind) {
      case SessionError::Kind::transport:
        f = from_card(s.failure(juki::TransportError{e.message}));
        break;
      case SessionError::Kind::refused:
        f.kind = "refused";
        f.message = "authentication refused: " + e.message;
        if (const std::string hint = refusal_hint(e.sw); !hint.empty()) f.message += ": " + hint;
        break;
      case SessionError::Kind::untrusted_card:
        f.kind = "untrusted_card";
        f.message = "the card's certificate chain or signature did not verify: " + e.message;
        break;
      case SessionError::Kind::protocol:
        f.kind = "protocol";
        f.message = "authentication failed, the card's answer is malformed: " + e.message;
        break;
    }
    const int code = fail(out, f);
    out.doc["authenticated"] = nullptr;
    if (e.kind == SessionError::Kind::refused) {
      out.doc["error"]["sw"] = sw_hex(e.sw);
      out.doc["error"]["meaning"] = sw::meaning(e.sw);
    }
    return code;
  }
  host::session::SecureSession& secure = **session;

  json terminal = terminal_identity(credentials->certificate);
  const pki::Certificate& card_cert = secure.card().certificate;
  const pki::Authorization& card_auth = secure.card().authorization;
  json authenticated = {{"role", terminal["role"]},
                        {"municipality", terminal["municipality"]},
                        {"terminal", terminal},
                        {"application", aid ? json(to_hex(*aid)) : json(nullptr)},
                        {"card",
                         {{"subject", card_cert.subject()},
                          {"serial", card_cert.serial_hex()},
                          {"municipality", optional_json(card_auth.municipality)},
                          {"not_after", pki::format_time(card_cert.not_after())}}}};
  auto text_or = [](const json& v, const char* none) {
    return v.is_string() ? v.get<std::string>() : std::string(none);
  };
  out.text << "terminal     " << text_or(terminal["role"], "(no role)") << ", municipality "
           << text_or(terminal["municipality"], "none") << ": "
           << terminal["subject"].get<std::string>() << "\n";
  out.text << "card         " << card_cert.subject() << ", municipality "
           << card_auth.municipality.value_or("none") << ", serial " << card_cert.serial_hex()
           << "\n";
  out.text << "session      mutually authenticated, secure messaging on (" << s.t().describe()
           << ")\n";

  json exchanges = json::array();
  bool all_ok = true;
  auto keep_on = [&](const Failure& f) {
    const int code = fail_keeping(out, f, exchanges);
    out.doc["authenticated"] = std::move(authenticated);
    return code;
  };
  // Sends one command under secure messaging; an error once the session is gone.
  auto send = [&](ByteView c) -> Result<sw::Sw, Failure> {
    if (!secure.active())
      return unexpected(Failure{kExitCardSaidNo, "session_ended",
                                "the card ended the secure session; the remaining commands "
                                "were not sent"});
    return exchange_and_print(s, secure, c, out, exchanges);
  };
  for (const Bytes& fid : fids) {
    auto selected = send(apdu::encode_command(0x00, 0xA4, 0x02, 0x0C, fid));
    if (!selected) return keep_on(selected.error());
    if (*selected != sw::kOk) {
      all_ok = false;  // nothing to read: READ BINARY would read another file
      continue;
    }
    auto read = send(apdu::encode_command(0x00, 0xB0, 0x00, 0x00, {}, 256));
    if (!read) return keep_on(read.error());
    // 6282: the file is shorter than 256 bytes, and all of it came.
    all_ok = all_ok && (*read == sw::kOk || *read == sw::kEndReached);
  }
  for (const Bytes& c : *commands) {
    auto sw = send(c);
    if (!sw) return keep_on(sw.error());
    all_ok = all_ok && card_said_yes(*sw);
  }
  out.doc = {{"ok", all_ok},
             {"transport", secure.describe()},
             {"window_check", checked ? std::move(*checked) : json(nullptr)},
             {"authenticated", std::move(authenticated)},
             {"exchanges", std::move(exchanges)}};
  return all_ok ? kExitOk : kExitCardSaidNo;
}

}  // namespace juki::terminal_cli
