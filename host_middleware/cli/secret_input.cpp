#include "host_middleware/cli/secret_input.hpp"

#include <termios.h>
#include <unistd.h>

#include <csignal>
#include <iostream>

namespace juki::host::cli {

namespace {

termios g_saved_termios;
volatile std::sig_atomic_t g_echo_off = 0;

extern "C" void restore_echo_and_die(int sig) {
  if (g_echo_off != 0) tcsetattr(STDIN_FILENO, TCSANOW, &g_saved_termios);
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

}  // namespace

std::optional<std::string> read_secret(const std::string& prompt) {
  std::string line;
  if (isatty(STDIN_FILENO) != 0 && tcgetattr(STDIN_FILENO, &g_saved_termios) == 0) {
    std::cerr << prompt << std::flush;
    termios quiet = g_saved_termios;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    g_echo_off = 1;
    auto old_int = std::signal(SIGINT, restore_echo_and_die);
    auto old_term = std::signal(SIGTERM, restore_echo_and_die);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    const bool got = static_cast<bool>(std::getline(std::cin, line));
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &g_saved_termios);
    g_echo_off = 0;
    std::signal(SIGINT, old_int);
    std::signal(SIGTERM, old_term);
    std::cerr << "\n";
    if (!got) return std::nullopt;
    return line;
  }
  if (!std::getline(std::cin, line)) return std::nullopt;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

std::optional<std::string> secret_value(const std::optional<std::string>& given,
                                        const std::string& prompt, bool confirm,
                                        SecretError& error) {
  std::string value;
  if (given) {
    value = *given;
  } else {
    auto v = read_secret(prompt + ": ");
    if (!v) {
      error.message = prompt + ": no input";
      return std::nullopt;
    }
    value = std::move(*v);
    if (confirm && isatty(STDIN_FILENO) != 0) {
      auto again = read_secret(prompt + " again: ");
      if (!again || *again != value) {
        error.message = prompt + ": the two entries differ";
        return std::nullopt;
      }
    }
  }
  if (value.empty()) {
    error.message = prompt + ": empty";
    return std::nullopt;
  }
  return value;
}

}  // namespace juki::host::cli
