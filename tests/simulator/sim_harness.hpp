// Runs juki-card-sim (and other programs) as child processes for tests, talks
// to its control socket, and makes card images.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "card_os/card/card.hpp"
#include "card_os/nvm/persistent_memory.hpp"
#include "card_os/nvm/storage.hpp"
#include "card_os/security/random.hpp"
#include "host_middleware/personalization/personalization.hpp"
#include "simulator/file_storage.hpp"
#include "simulator/in_process.hpp"
#include "support/temp_dir.hpp"
#include "support/test_card.hpp"

extern char** environ;

namespace juki::test {

inline std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

// Starts `argv` in directory `cwd` with stdout and stderr to files; returns the pid.
inline pid_t spawn(const std::vector<std::string>& argv, const std::string& out_file,
                   const std::string& err_file, const std::string& cwd) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addchdir_np(&fa, cwd.c_str());
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  REQUIRE(rc == 0);
  return pid;
}

// Exit code of a finished child; -signal when it died of a signal.
inline int wait_exit(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return -WTERMSIG(status);
}

struct Run {
  int code;
  std::string out, err;
};
// Runs a program to completion, in `dir`.
inline Run run(const TempDir& dir, const std::vector<std::string>& argv) {
  const std::string out = dir.file("run.out"), err = dir.file("run.err");
  const int code = wait_exit(spawn(argv, out, err, dir.path.string()));
  return Run{code, read_text(out), read_text(err)};
}

// One request line, one answer line, over a Unix socket; empty when unreachable.
inline std::string ask(const std::string& socket_path, const std::string& line) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, socket_path.c_str(), sizeof a.sun_path - 1);
  std::string reply;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    const std::string req = line + "\n";
    REQUIRE(::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size()));
    char buf[4096];
    while (reply.find('\n') == std::string::npos) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      reply.append(buf, static_cast<std::size_t>(n));
    }
    if (auto nl = reply.find('\n'); nl != std::string::npos) reply.resize(nl);
  }
  ::close(fd);
  return reply;
}

// juki-card-sim as a child process with its control socket in `dir`.
class SimProcess {
 public:
  SimProcess(const TempDir& dir, std::vector<std::string> args, const std::string& name = "sim")
      : socket_(dir.file(name + ".sock")), log_(dir.file(name + ".log")) {
    std::vector<std::string> argv{JUKI_CARD_SIM, "--socket", socket_};
    argv.insert(argv.end(), args.begin(), args.end());
    pid_ = spawn(argv, dir.file(name + ".out"), log_, dir.path.string());
    // Up when the control socket answers.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (ask(socket_, "help").rfind("ok", 0) != 0) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        FAIL("juki-card-sim exited at start: " << read_text(log_));
      }
      REQUIRE(std::chrono::steady_clock::now() < deadline);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  ~SimProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      wait_exit(pid_);
    }
  }
  SimProcess(const SimProcess&) = delete;
  SimProcess& operator=(const SimProcess&) = delete;

  const std::string& socket() const { return socket_; }
  std::string log() const { return read_text(log_); }

  std::string ctl(const std::string& line) {
    const std::string a = ask(socket_, line);
    INFO("control: " << line << " -> " << a);
    return a;
  }
  // Expects "ok ..."; returns the answer.
  std::string ok(const std::string& line) {
    const std::string a = ctl(line);
    INFO("control: " << line << " -> " << a);
    REQUIRE(a.rfind("ok", 0) == 0);
    return a;
  }
  nlohmann::json status() {
    const std::string a = ok("status");
    auto j = nlohmann::json::parse(a.substr(3), nullptr, false);
    REQUIRE_FALSE(j.is_discarded());
    return j;
  }
  // Sends a signal and returns the exit code.
  int stop(int sig = SIGTERM) {
    REQUIRE(pid_ > 0);
    ::kill(pid_, sig);
    const int code = wait_exit(pid_);
    pid_ = -1;
    return code;
  }

 private:
  std::string socket_, log_;
  pid_t pid_ = -1;
};

// A card image file: blank (transport-locked) or active (sample layout,
// password 1234, 3 tries), made in-process.
inline void make_card_image(const std::string& path, bool active) {
  card_os::FactoryProfile profile;
  profile.transport_key = kTransportKey;
  profile.serial = kSerial;
  auto storage = juki::sim::FileStorage::create(
      path, card_os::PersistentMemory::storage_size_for(profile.geometry));
  REQUIRE(storage.ok());
  card_os::DrbgRandom random(as_bytes("simulator test image"));
  REQUIRE(card_os::Card::manufacture(**storage, profile, random).ok());
  if (!active) return;
  auto t = juki::sim::InProcessTransport::connect(**storage, random);
  REQUIRE(t.ok());
  auto perso = host::perso::personalize_sample(**t, sample_secrets());
  INFO((perso ? std::string("ok") : perso.error().describe()));
  REQUIRE(perso.ok());
  REQUIRE((*t)->transmit(hex(kSelectDemo)).ok());
  auto r = (*t)->transmit(hex("0024018104 31323334"));
  REQUIRE(r.ok());
  REQUIRE(*r == Bytes{0x90, 0x00});
}

}  // namespace juki::test
