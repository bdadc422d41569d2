// Internals of juki-terminal, shared by its files (tools/terminal/): the global
// options, the card and its helpers, PIN entry, exchanges as `send` prints them, the commands.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/bytes.hpp"
#include "common/iso7816/status_words.hpp"
#include "common/result.hpp"
#include "common/transport.hpp"
#include "host_middleware/cli/cli_output.hpp"
#include "tools/cli/card_connection.hpp"
#include "tools/cli/card_values.hpp"

namespace juki::terminal_cli {

using nlohmann::json;

using host::cli::fail;
using host::cli::Failure;
using host::cli::kExitOk;
using host::cli::kExitUsage;
using host::cli::Output;
using host::cli::usage;
using tools::from_card;
// This tool's 1 and 3: the card said no; PC/SC or the transport failed.
constexpr int kExitCardSaidNo = host::cli::kExitRefused;
constexpr int kExitTransport = host::cli::kExitIo;

struct Globals {
  bool json = false;
  bool trace = false;
  bool trace_secrets = false;
  bool exclusive = false;
  std::string in_process;  // card image file; empty: PC/SC
  std::string reader;      // empty: the first reader holding a card
};

// ------------------------------------------------------------ the card

// The card: in a PC/SC reader or an image in this process (--trace: every
// exchange to stderr).
using Session = tools::CardConnection;

Result<std::unique_ptr<Session>, Failure> open_session(const Globals& g, bool reset_on_close);

struct Answer {
  Bytes data;
  sw::Sw sw = 0;
};

Result<Answer, Failure> card_exchange(Session& s, ByteView command);

std::string sw_hex(sw::Sw sw);
std::string sw_text(sw::Sw sw);
bool is_tries_left(sw::Sw sw);

// The byte string a card returns for GET DATA: tag (2 bytes) length value.
Result<Bytes, Failure> get_data(Session& s, std::uint16_t tag, sw::Sw& sw_out);

Result<sw::Sw, Failure> select_app(Session& s, ByteView aid);

using tools::life_cycle_name;

// ------------------------------------------------------------ PIN entry

// `given` if set, else asked for; on a terminal a new PIN is asked twice.
Result<Bytes, Failure> pin_value(const std::optional<std::string>& given, const std::string& prompt,
                                 bool confirm);
Result<Bytes, Failure> parse_aid(const std::string& text);
Result<std::uint8_t, Failure> parse_ref(const std::string& text);

// Selects the application, or says why not.
Result<void, Failure> require_app(Session& s, ByteView aid);

// ------------------------------------------------------------ exchanges, as `send` prints them
// used by cmd_send.cpp and cmd_authenticate.cpp

// 9000 and 61XX are the card saying yes; anything else is a no.
bool card_said_yes(sw::Sw sw);

// One exchange through `t`, printed as `send` prints it: "> command [name]"
// and "< response   SW meaning" in the text, an object in `exchanges`. The
// status word, or why there was none.
Result<sw::Sw, Failure> exchange_and_print(Session& s, juki::Transport& t, ByteView command,
                                           Output& out, json& exchanges);

// Command APDUs in hex, as `send` and `authenticate` take them.
Result<std::vector<Bytes>, Failure> parse_apdus(const std::vector<std::string>& apdus);

// A failure after some exchanges: the error, and what was exchanged before it.
int fail_keeping(Output& out, const Failure& f, json& exchanges);

// ------------------------------------------------------------ readers, wait
// cmd_readers.cpp

int cmd_readers(const Globals& g, Output& out);
int cmd_wait(const Globals& g, Output& out, std::optional<double> timeout_s, bool removal);

// ------------------------------------------------------------ status
// cmd_status.cpp

int cmd_status(const Globals& g, Output& out, const std::string& app, const std::string& ref_text);

// ------------------------------------------------------------ send, script
// cmd_send.cpp

int cmd_send(const Globals& g, Output& out, const std::vector<std::string>& apdus);
int cmd_script(const Globals& g, Output& out, const std::vector<std::string>& files, bool verbose);

// ------------------------------------------------------------ verify, change-pin
// cmd_pin.cpp

int cmd_verify(const Globals& g, Output& out, const std::string& app, const std::string& ref_text,
               const std::optional<std::string>& pin_text);
int cmd_change_pin(const Globals& g, Output& out, const std::string& app,
                   const std::string& ref_text, const std::optional<std::string>& old_text,
                   const std::optional<std::string>& new_text, bool initial_flag,
                   std::size_t pad_to);

// ------------------------------------------------------------ authenticate
// cmd_authenticate.cpp

// Where the terminal's credentials are: --terminal PREFIX and --pki DIR name
// the files juki-pki writes; --key, --cert, --ca and --root override them.
struct CredentialFiles {
  std::string pki_dir, terminal, key, cert, ca, root;
};

int cmd_authenticate(const Globals& g, Output& out, const CredentialFiles& files,
                     const std::string& app, const std::vector<std::string>& read_fids,
                     const std::vector<std::string>& apdus, const std::string& records_file);

}  // namespace juki::terminal_cli
