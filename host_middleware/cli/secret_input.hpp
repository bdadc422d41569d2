// PINs and passwords typed at the counter's or the window's keypad: from the
// terminal without echo, or one line of stdin when it is not a terminal
// (scripts and tests pipe them in). Shared by juki-terminal and juki-issuer.
#pragma once

#include <optional>
#include <string>

namespace juki::host::cli {

// One secret; the prompt goes to stderr (stdout stays for the result).
// nullopt at end of input. An interrupt at the prompt gives the terminal its
// echo back before the process dies.
std::optional<std::string> read_secret(const std::string& prompt);

// `given` if set; else asked for, and on a terminal a new value is asked
// twice (`confirm`). The error says what was wrong: no input, the two entries
// differ, empty.
struct SecretError {
  std::string message;
};
std::optional<std::string> secret_value(const std::optional<std::string>& given,
                                        const std::string& prompt, bool confirm,
                                        SecretError& error);

}  // namespace juki::host::cli
