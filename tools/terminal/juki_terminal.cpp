// juki-terminal: a window terminal's command line for a card in a PC/SC
// reader, or for a card image in this process (--in-process IMAGE), with the
// same commands: readers, wait, status, send, script, verify, change-pin, and
// authenticate (mutual authentication as a terminal, then secure messaging).
// Exit: 0 ok, 1 the card said no (or a script mismatch), 2 usage, 3 PC/SC or
// transport failure.
#include <CLI/CLI.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "host_middleware/cli/cli_output.hpp"
#include "tools/terminal/terminal_cli.hpp"

using namespace juki;
using namespace juki::terminal_cli;

int main(int argc, char** argv) {
  CLI::App app{
      "Window terminal command line for a Juki card in a PC/SC reader (or a card image "
      "in-process).\n"
      "Exit status: 0 ok, 1 the card said no or a script mismatched, 2 usage, 3 PC/SC or "
      "transport failure.",
      "juki-terminal"};
  app.require_subcommand(1);
  app.fallthrough();  // global options may follow the subcommand
  Globals g;
  app.add_flag("--json", g.json, "Print one JSON document on stdout");
  auto* trace = app.add_flag("--trace", g.trace,
                             "Write every APDU and response to stderr (the data of PIN and key "
                             "commands redacted)");
  app.add_flag("--trace-secrets", g.trace_secrets,
               "With --trace: show the PINs, keys and key proofs commands carry")
      ->needs(trace);
  app.add_option("--in-process", g.in_process,
                 "Use this card image file in-process instead of PC/SC")
      ->check(CLI::ExistingFile);
  app.add_option("--reader", g.reader,
                 "Reader name, or a part of it only one reader has (default: the first reader "
                 "holding a card)");
  app.add_flag("--exclusive", g.exclusive, "Connect in exclusive mode (default: shared)");

  auto* readers = app.add_subcommand("readers", "List the readers, their cards and ATRs");

  auto* wait = app.add_subcommand("wait", "Wait for a card to be inserted (or removed)");
  std::optional<double> timeout;
  bool removal = false;
  wait->add_option("--timeout", timeout, "Give up after this many seconds (exit 3)");
  wait->add_flag("--removal", removal, "Wait for the card to be removed instead");

  auto* status = app.add_subcommand(
      "status", "ATR, life cycle, serial, memory, applications, and PIN tries left with --app");
  std::string app_aid, ref = "81";
  status->add_option("--app", app_aid, "AID of an application whose PIN to check (hex)");
  status->add_option("--pin-ref,--ref", ref, "PIN reference as VERIFY's P2 (hex)")
      ->capture_default_str();

  auto* send = app.add_subcommand("send", "Send raw APDUs (hex) and print the responses");
  std::vector<std::string> apdus;
  send->add_option("APDU", apdus, "Command APDUs in hex, one per argument")->required();

  auto* run = app.add_subcommand(
      "script", "Run APDU scripts (specs/apdu-script.md) against the card, one after the other");
  std::vector<std::string> files;
  bool verbose = false;
  run->add_option("FILE", files, "APDU script files")->required()->check(CLI::ExistingFile);
  run->add_flag("-v,--verbose", verbose, "Echo every step to stderr");

  auto* verify = app.add_subcommand("verify", "Verify a PIN (asked for without echo if not given)");
  std::optional<std::string> pin;
  verify->add_option("--app", app_aid, "AID of the PIN's application (hex)")->required();
  verify->add_option("--ref,--pin-ref", ref, "PIN reference as VERIFY's P2 (hex)")
      ->capture_default_str();
  verify->add_option("--pin", pin,
                     "The PIN (visible to other users of this machine: prefer "
                     "the prompt)");

  auto* change = app.add_subcommand(
      "change-pin", "Change a PIN, or set its first value (asked for without echo if not given)");
  std::optional<std::string> old_pin, new_pin;
  bool initial = false;
  std::size_t pad_to = 0;
  change->add_option("--app", app_aid, "AID of the PIN's application (hex)")->required();
  change->add_option("--ref,--pin-ref", ref, "PIN reference as P2 (hex)")->capture_default_str();
  change->add_option("--old", old_pin, "The current PIN");
  change->add_option("--new", new_pin, "The new PIN");
  change->add_flag("--initial", initial,
                   "Set the first value (P1 01) without asking the card whether it has one");
  change->add_option("--pad-to", pad_to,
                     "Pad each value with FF to this length (variable-length PINs)");

  auto* authenticate = app.add_subcommand(
      "authenticate",
      "Authenticate as a terminal (mutual authentication, specs/secure-channel.md), then send "
      "--read files and APDUs under secure messaging");
  CredentialFiles credential_files;
  std::vector<std::string> reads, secure_apdus;
  std::string records_file;
  authenticate->add_option(
      "--pki", credential_files.pki_dir,
      "PKI directory (juki-pki init): its terminal-ca.cert.der and root.cert.der");
  authenticate->add_option("--terminal", credential_files.terminal,
                           "Terminal credentials PREFIX (juki-pki issue --out): PREFIX.key.pem "
                           "and PREFIX.cert.der");
  authenticate->add_option("--key", credential_files.key,
                           "The terminal's private key (PEM), instead of --terminal's");
  authenticate->add_option("--cert", credential_files.cert,
                           "The terminal certificate (DER), instead of --terminal's");
  authenticate->add_option("--ca", credential_files.ca,
                           "The terminal CA certificate (DER), instead of --pki's");
  authenticate->add_option("--root", credential_files.root,
                           "The root certificate the card's chain must end at (DER), instead of "
                           "--pki's");
  authenticate->add_option("--app", app_aid,
                           "SELECT this application (AID, hex) in plain first (default: the "
                           "selected one, the MF after power-up)");
  authenticate
      ->add_option("--read", reads,
                   "Read this EF (FID, 4 hex digits) under secure messaging: SELECT and READ "
                   "BINARY of up to 256 bytes; repeatable, sent before the APDUs")
      ->allow_extra_args(false);
  authenticate->add_option("--records", records_file,
                           "Consult these issuance records first (juki-issuer's file): a card "
                           "not recorded active, or past its expiry, is refused (exit 1) before "
                           "any authentication");
  authenticate->add_option("APDU", secure_apdus,
                           "Command APDUs in hex, sent under secure messaging after the --reads");

  if (auto status = host::cli::parse_command_line(app, argc, argv)) return *status;

  Output out("juki-terminal");
  int code = kExitUsage;
  if (readers->parsed())
    code = cmd_readers(g, out);
  else if (wait->parsed())
    code = cmd_wait(g, out, timeout, removal);
  else if (status->parsed())
    code = cmd_status(g, out, app_aid, ref);
  else if (send->parsed())
    code = cmd_send(g, out, apdus);
  else if (run->parsed())
    code = cmd_script(g, out, files, verbose);
  else if (verify->parsed())
    code = cmd_verify(g, out, app_aid, ref, pin);
  else if (change->parsed())
    code = cmd_change_pin(g, out, app_aid, ref, old_pin, new_pin, initial, pad_to);
  else if (authenticate->parsed())
    code = cmd_authenticate(g, out, credential_files, app_aid, reads, secure_apdus, records_file);
  return host::cli::finish(out, g.json, code);
}
