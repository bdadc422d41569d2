// Server processes for the backend's end-to-end tests and benchmarks: started
// as a user would, their "listening on host:port" line read from stdout,
// stopped with a signal (SIGTERM, or SIGKILL to test a crash). Failures throw
// std::runtime_error (a test reports it as a failure).
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

extern char** environ;

namespace juki::test {

class ServerProcess {
 public:
  ServerProcess() = default;
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;
  ~ServerProcess() { stop(SIGKILL); }

  // Starts `program args...` with stderr to `log`, and waits (up to 30 s)
  // for its "... listening on host:port" line; gives host:port.
  std::string start(const std::string& program, const std::vector<std::string>& args,
                    const std::string& log) {
    int out[2];
    if (pipe(out) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    std::vector<char*> argv{const_cast<char*>(program.c_str())};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, program.c_str(), &actions, nullptr, argv.data(), environ) != 0)
      throw std::runtime_error("cannot start " + program);
    posix_spawn_file_actions_destroy(&actions);
    close(out[1]);
    stdout_ = out[0];

    std::string line;
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (line.find('\n') == std::string::npos) {
      pollfd p{stdout_, POLLIN, 0};
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0)
        throw std::runtime_error(program + " did not say it was listening: " + tail(log));
      char buffer[256];
      const ssize_t n = read(stdout_, buffer, sizeof buffer);
      if (n <= 0) throw std::runtime_error(program + " ended before listening: " + tail(log));
      line.append(buffer, static_cast<std::size_t>(n));
    }
    const auto at = line.find(" listening on ");
    if (at == std::string::npos) throw std::runtime_error(program + " said: " + line);
    return line.substr(at + 14, line.find('\n') - at - 14);
  }

  // Sends `signal` and waits; gives the exit status (or 128 + the signal).
  int stop(int signal = SIGTERM) {
    if (pid_ <= 0) return -1;
    kill(pid_, signal);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    close(stdout_);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  bool running() const { return pid_ > 0 && kill(pid_, 0) == 0; }
  pid_t pid() const { return pid_; }
  // Peak and current resident memory (kB), from /proc; -1 when unknown.
  long peak_kb() const { return status_kb("VmHWM:"); }
  long resident_kb() const { return status_kb("VmRSS:"); }

 private:
  // The end of a log, for a failure's message.
  static std::string tail(const std::string& log) {
    std::ifstream in(log);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return text.size() > 2000 ? "..." + text.substr(text.size() - 2000) : text;
  }
  long status_kb(const std::string& key) const {
    std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
    for (std::string line; std::getline(status, line);)
      if (line.rfind(key, 0) == 0) return std::stol(line.substr(key.size()));
    return -1;
  }
  pid_t pid_ = -1;
  int stdout_ = -1;
};

}  // namespace juki::test
