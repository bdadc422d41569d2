// juki-issuer hand-over, activate and reset-password: the card handed over, its
// password set at the counter's keypad, and the window re-set of a locked password.
#include "tools/issuer/issuer_cli.hpp"

#include <ctime>

#include "common/bytes.hpp"
#include "common/iso7816/apdu.hpp"
#include "common/layout/juki_ap.hpp"
#include "host_middleware/cli/secret_input.hpp"
#include "host_middleware/session/secure_session.hpp"

namespace juki::issuer_cli {

int cmd_hand_over(const Globals& g, const std::string& serial,
                  const std::optional<std::string>& notice, const rec::IdentityCheck& identity,
                  Output& out) {
  auto records = open_records(g);
  if (!records) return fail(out, records.error());
  std::optional<std::string_view> n;
  if (notice) n = *notice;
  auto c = records->hand_over(serial, n, identity, g.actor);
  if (!c) return fail(out, from_records(c.error()));
  print_card(out, *c);
  return kExitOk;
}

namespace {

bool password_format(const std::string& p) {
  return p.size() == juki::layout::juki_ap::kPasswordLength &&
         p.find_first_not_of("0123456789") == std::string::npos;
}

Result<void, Failure> select_juki_ap(juki::Transport& t) {
  const ByteView aid(juki::layout::juki_ap::kAid, sizeof juki::layout::juki_ap::kAid);
  if (auto r = host::perso::exchange(t, apdu::encode_command(0x00, 0xA4, 0x04, 0x0C, aid),
                                     "SELECT Juki AP");
      !r)
    return unexpected(from_perso(r.error()));
  return {};
}

// The card `serial` in the reader (or the image), its Juki AP selected.
Result<std::unique_ptr<tools::CardConnection>, Failure> juki_ap_of(const CardArgs& card_args,
                                                                   const std::string& serial) {
  auto conn = connect(card_args);
  if (!conn) return unexpected(conn.error());
  if (auto same = require_card((*conn)->t(), serial); !same) return unexpected(same.error());
  if (auto r = select_juki_ap((*conn)->t()); !r) return unexpected(r.error());
  return std::move(*conn);
}

// A password the resident types at the keypad (twice on a terminal): 4 digits.
Result<std::string, Failure> typed_password(const std::string& prompt) {
  host::cli::SecretError error;
  auto password = host::cli::secret_value(std::nullopt, prompt, true, error);
  if (!password) return unexpected(usage(error.message));
  if (!password_format(*password)) return unexpected(usage("the password must be 4 digits"));
  return std::move(*password);
}

}  // namespace

// The resident sets the password at the counter's keypad: CHANGE REFERENCE
// DATA P1 = 01 of the Juki AP's password, which activates the card.
int cmd_activate(const Globals& g, const std::string& serial, const CardArgs& card_args,
                 Output& out) {
  auto records = open_records(g);
  if (!records) return fail(out, records.error());
  if (auto known = recorded_in(*records, serial, rec::CardState::handed_over, "handed over");
      !known)
    return fail(out, known.error());
  auto password = typed_password("password (4 digits), typed by the resident");
  if (!password) return fail(out, password.error());

  auto conn = juki_ap_of(card_args, serial);
  if (!conn) return fail(out, conn.error());
  juki::Transport& t = (*conn)->t();
  auto set = host::perso::exchange(
      t,
      apdu::encode_command(0x00, 0x24, 0x01, juki::layout::juki_ap::kPasswordP2,
                           as_bytes(*password)),
      "CHANGE REFERENCE DATA password");
  if (!set) return fail(out, from_perso(set.error()));
  auto c = records->activate(serial, g.actor);
  if (!c) return fail(out, from_records(c.error()));
  print_card(out, *c);
  return kExitOk;
}

// The window re-set of a locked (or forgotten) password (specs/juki-ap.md
// 5): after the identity check, mutual authentication as the password-reset
// authority, then RESET RETRY COUNTER P1 = 02 with the new password the
// resident types, under secure messaging; recorded.
int cmd_reset_password(const Globals& g, const std::string& serial, const std::string& pki_dir,
                       const std::string& terminal, const rec::IdentityCheck& identity,
                       const CardArgs& card_args, Output& out) {
  auto records = open_records(g);
  if (!records) return fail(out, records.error());
  if (auto known = recorded_in(*records, serial, rec::CardState::active, "active"); !known)
    return fail(out, known.error());
  auto credentials = host::session::Credentials::from_pki(pki_dir, terminal);
  if (!credentials) return fail(out, usage(credentials.error()));
  auto password = typed_password("new password (4 digits), typed by the resident");
  if (!password) return fail(out, password.error());

  auto conn = juki_ap_of(card_args, serial);
  if (!conn) return fail(out, conn.error());
  juki::Transport& t = (*conn)->t();
  auto session = host::session::SecureSession::open(t, *credentials,
                                                    static_cast<std::int64_t>(std::time(nullptr)));
  if (!session)
    return fail(
        out, {session.error().kind == host::session::SessionError::Kind::transport ? kExitIo
                                                                                   : kExitRefused,
              "authentication", "mutual authentication: " + session.error().message});
  auto reset = host::perso::exchange(
      **session,
      apdu::encode_command(0x00, 0x2C, 0x02, juki::layout::juki_ap::kPasswordP2,
                           as_bytes(*password)),
      "RESET RETRY COUNTER password");
  if (!reset) return fail(out, from_perso(reset.error()));
  auto recorded = records->record_password_reset(serial, identity, g.actor);
  if (!recorded) return fail(out, from_records(recorded.error()));
  out.doc = {{"ok", true}, {"card", serial}, {"password_reset", true}};
  out.text << "card " << serial << ": the password is re-set (3 tries)\n";
  return kExitOk;
}

}  // namespace juki::issuer_cli
