// juki-sim-ctl: sends one control command to a running juki-card-sim and
// prints its answer (specs/simulator.md, "Control interface").
// Exit status: 0 ok, 1 the simulator answered "error", 2 usage or connection failure.
#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "simulator/sim/control_client.hpp"
#include "simulator/sim/control_protocol.hpp"

using namespace juki;

namespace {

constexpr int kExitOk = 0;
constexpr int kExitError = 1;
constexpr int kExitUsage = 2;

int usage_error(const std::string& message) {
  std::fprintf(stderr, "juki-sim-ctl: %s\n", message.c_str());
  return kExitUsage;
}

// The simulator resolves paths against its own working directory, which is
// not ours: send absolute paths.
std::string absolute(const std::string& path) {
  std::error_code ec;
  auto p = std::filesystem::absolute(path, ec);
  return ec ? path : p.lexically_normal().string();
}

std::string text_or(const nlohmann::json& j, const char* off) {
  if (j.is_null()) return off;
  if (j.is_string()) return j.get<std::string>();
  return j.dump();
}

// status for people; --json gives the simulator's JSON as it is.
void print_status(const nlohmann::json& st) {
  for (const auto& s : st.value("slots", nlohmann::json::array())) {
    std::printf("slot %s  port %s  %-10s %s\n", s["slot"].dump().c_str(), s["port"].dump().c_str(),
                text_or(s["connection"], "-").c_str(), text_or(s["image"], "(empty)").c_str());
    if (!s["image"].is_null())
      std::printf("        %s, life cycle %s, %s APDUs, %s writes, ATR %s\n",
                  s.value("powered", false) ? "powered" : "unpowered",
                  text_or(s["life_cycle"], "?").c_str(), s["apdus"].dump().c_str(),
                  s["writes"].dump().c_str(), text_or(s["atr"], "-").c_str());
    const auto& f = s["faults"];
    std::printf(
        "        faults: mute %s, latency %s ms, torn %s, tear in %s, remove-after %s, "
        "reader-timeout %s\n",
        f.value("mute", false) ? "on" : "off", f["latency_ms"].dump().c_str(),
        f.value("torn", false) ? "yes" : "no", text_or(f["tear_in"], "-").c_str(),
        text_or(f["remove_after"], "off").c_str(), text_or(f["reader_timeout_ms"], "off").c_str());
  }
  std::printf("trace: %s\n", text_or(st["trace"], "off").c_str());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{std::string("juki-sim-ctl: one command to a running juki-card-sim.\n"
                           "Exit status: 0 ok, 1 the simulator refused (error), 2 usage or "
                           "connection failure.\n\nCommands:\n") +
               sim::control::summary()};
  std::string socket_path = sim::default_control_socket();
  bool json = false;
  int timeout_s = 30;
  std::vector<std::string> words;
  app.add_option("--socket", socket_path, "the simulator's control socket")->capture_default_str();
  app.add_flag("--json", json, "machine-readable output (status: the simulator's JSON)");
  app.add_option("--timeout", timeout_s, "seconds to wait for the answer")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
  app.add_option("COMMAND", words, "the command and its arguments")->required();
  // A word of the command that starts with '-' needs "--" before the command.

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {
      std::fputs(app.help().c_str(), stdout);
      return kExitOk;
    }
    std::fprintf(stderr, "juki-sim-ctl: %s\nRun with --help for usage.\n", e.what());
    return kExitUsage;
  }

  std::string line;
  for (const auto& w : words) line += (line.empty() ? "" : " ") + w;
  auto cmd = sim::control::parse(line);
  if (!cmd) return usage_error(cmd.error());
  if (auto* c = std::get_if<sim::control::Insert>(&*cmd)) c->image = absolute(c->image);
  if (auto* c = std::get_if<sim::control::Swap>(&*cmd)) c->image = absolute(c->image);
  if (auto* c = std::get_if<sim::control::Trace>(&*cmd); c && c->file) c->file = absolute(*c->file);

  auto answer =
      sim::control::ask(socket_path, sim::control::format(*cmd), std::chrono::seconds(timeout_s));
  if (!answer) return usage_error(answer.error());

  const bool is_status = std::holds_alternative<sim::control::Status>(*cmd);
  if (answer->ok && is_status) {
    auto st = nlohmann::json::parse(answer->text, nullptr, false);
    if (st.is_discarded()) return usage_error("status answer is not JSON: " + answer->text);
    if (json)
      std::printf("%s\n", answer->text.c_str());
    else
      print_status(st);
    return kExitOk;
  }
  if (json) {
    nlohmann::json out{{"ok", answer->ok}, {answer->ok ? "answer" : "error", answer->text}};
    std::printf("%s\n", out.dump().c_str());
  } else if (answer->ok && std::holds_alternative<sim::control::Help>(*cmd)) {
    std::printf("%s", sim::control::summary());
  } else if (answer->ok) {
    std::printf("ok%s%s\n", answer->text.empty() ? "" : " ", answer->text.c_str());
  } else {
    std::fprintf(stderr, "error %s\n", answer->text.c_str());
  }
  return answer->ok ? kExitOk : kExitError;
}
