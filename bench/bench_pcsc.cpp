// APDU round trip through PC/SC, pcscd and vpcd (issue 3, "Benchmarks"), for three
// cards measured one after the other in slot 0 of the same private pcscd:
//   echo  juki-echo-card (bench/echo_card.cpp): answers 90 00 to everything, the floor;
//   sim   juki-card-sim with a blank card image;
//   vicc  vsmartcard's Python card (Debian vsmartcard-vpicc), `-t iso7816`.
// The command is GET CHALLENGE for 8 bytes (00 84 00 00 08), which all three answer
// without persistent writes (ours even when transport-locked, specs/card-os.md 4.2).
//
// Per card: start it as a child process, wait for it in the reader, connect and send
// the first APDU (session setup), 100 warm-up APDUs, then N sequential round trips:
// median and p99 latency (µs) and throughput (APDUs/s). Then disconnect, stop the
// child, wait for the card to leave. Ratios: sim median / echo median (target <= 1.10)
// and vicc median / sim median (target > 1).
//
// JUKI_BENCH_PCSC_ROUNDS, when set, replaces N for every card (e.g. 100000 to have
// time to attach strace or perf to a card).
//
// Run outside scripts/with-pcscd (JUKI_PCSC_READERS unset), it runs itself again under
// `scripts/with-pcscd --readers 1 --`. If vicc cannot be started, a line
// "# vicc unavailable: <reason>" replaces its figures.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/bytes.hpp"
#include "harness.hpp"
#include "host_middleware/pcsc/pcsc.hpp"

using namespace juki;
namespace fs = std::filesystem;
namespace pcsc = juki::host::pcsc;
using Clock = std::chrono::steady_clock;

#ifndef JUKI_SOURCE_DIR
#error "JUKI_SOURCE_DIR must be defined (bench/CMakeLists.txt)"
#endif
#ifndef JUKI_ECHO_CARD_PATH
#error "JUKI_ECHO_CARD_PATH must be defined (bench/CMakeLists.txt)"
#endif
#ifndef JUKI_CARD_SIM_PATH
#error "JUKI_CARD_SIM_PATH must be defined (bench/CMakeLists.txt)"
#endif

namespace {

constexpr int kWarmup = 100;
constexpr int kRounds = 2000;
constexpr int kRoundsVicc = 300;                        // vicc takes ~40 ms a round trip
const Bytes kCommand = {0x00, 0x84, 0x00, 0x00, 0x08};  // GET CHALLENGE, 8 bytes
constexpr auto kCardTimeout = std::chrono::milliseconds(20000);

const char* const kViccScript = "/usr/bin/vicc";
const char* const kViccPython = "/usr/bin/python3";
const char* const kViccPath = "/usr/lib/python3/site-packages/virtualsmartcard";
const char* const kCryptodome = "/usr/lib/python3/dist-packages/Cryptodome";

int rounds_override(int fallback) {
  if (const char* env = std::getenv("JUKI_BENCH_PCSC_ROUNDS")) {
    const long v = std::strtol(env, nullptr, 10);
    if (v > 0 && v <= 10'000'000) return static_cast<int>(v);
  }
  return fallback;
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "bench_pcsc: %s\n", what.c_str());
  std::exit(1);
}

// Outside scripts/with-pcscd: run this same program under it.
void reexec_under_with_pcscd(char** argv) {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  const std::string exe = ec ? std::string(argv[0]) : self.string();
  const std::string script = std::string(JUKI_SOURCE_DIR) + "/scripts/with-pcscd";
  std::vector<std::string> args = {"bash", script, "--readers", "1", "--", exe};
  for (int i = 1; argv[i] != nullptr; ++i) args.emplace_back(argv[i]);
  std::vector<char*> cargs;
  for (std::string& a : args) cargs.push_back(a.data());
  cargs.push_back(nullptr);
  std::fflush(stdout);
  ::execvp("bash", cargs.data());
  die("cannot run " + script + ": " + std::strerror(errno));
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "bench_pcsc.XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) die(std::string("mkdtemp: ") + std::strerror(errno));
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// The card process running now, for on_signal: SIGINT/SIGTERM (Ctrl-C, or
// scripts/with-pcscd ending) must not leave it running without its pcscd.
volatile sig_atomic_t g_child_pid = 0;

extern "C" void on_signal(int sig) {
  if (g_child_pid > 0) ::kill(static_cast<pid_t>(g_child_pid), SIGTERM);
  ::_exit(128 + sig);
}

// A child process: stdout to /dev/null (ours carries the BENCH lines), stderr
// to `log`, extra environment variables set.
class Child {
 public:
  static std::optional<Child> spawn(const std::vector<std::string>& argv, const fs::path& log,
                                    const std::map<std::string, std::string>& env = {}) {
    std::vector<std::string> args = argv;
    std::vector<char*> cargs;
    for (std::string& a : args) cargs.push_back(a.data());
    cargs.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0) return std::nullopt;
    if (pid == 0) {
      const int devnull = ::open("/dev/null", O_RDWR);
      const int err = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      if (devnull >= 0) {
        ::dup2(devnull, STDIN_FILENO);
        ::dup2(devnull, STDOUT_FILENO);
      }
      if (err >= 0) ::dup2(err, STDERR_FILENO);
      for (const auto& [name, value] : env) ::setenv(name.c_str(), value.c_str(), 1);
      ::execv(cargs[0], cargs.data());
      std::fprintf(stderr, "exec %s: %s\n", cargs[0], std::strerror(errno));
      ::_exit(127);
    }
    g_child_pid = pid;
    return Child(pid);
  }

  Child(Child&& other) noexcept : pid_(std::exchange(other.pid_, -1)) {}
  Child& operator=(Child&&) = delete;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() { stop(); }

  // Whether it has exited (reaped); its status in `status`.
  bool exited(int* status = nullptr) {
    if (pid_ < 0) return true;
    int st = 0;
    if (::waitpid(pid_, &st, WNOHANG) == pid_) {
      if (g_child_pid == pid_) g_child_pid = 0;
      pid_ = -1;
      if (status != nullptr) *status = st;
      return true;
    }
    return false;
  }

  void stop() {
    if (pid_ < 0) return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 300; ++i) {  // 3 s, then SIGKILL
      if (exited()) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    if (g_child_pid == pid_) g_child_pid = 0;
    pid_ = -1;
  }

 private:
  explicit Child(pid_t pid) : pid_(pid) {}
  pid_t pid_ = -1;
};

std::string last_line(const fs::path& file) {
  std::ifstream in(file);
  std::string line;
  std::string last;
  while (std::getline(in, line)) {
    if (!line.empty()) last = line;
  }
  return last;
}

struct Figures {
  double median_us = 0;
  double p99_us = 0;
  double apdus_per_s = 0;
  double setup_ms = 0;
  int rounds = 0;
  Bytes first_response;
};

// Measures the card the child puts into the reader; an error message on failure.
Result<Figures, std::string> measure_card(const pcsc::PcscContext& ctx, Child& child,
                                          const fs::path& log, int rounds) {
  auto fail = [&](const std::string& what) -> Result<Figures, std::string> {
    int status = 0;
    std::string why = what;
    if (child.exited(&status)) {
      why += WIFEXITED(status)
                 ? "; the card program exited with status " + std::to_string(WEXITSTATUS(status))
                 : "; the card program was killed by a signal";
    }
    const std::string tail = last_line(log);
    if (!tail.empty()) why += "; its last message: " + tail;
    return unexpected(why);
  };

  // Wait for the card, checking now and then that the child still runs.
  std::optional<pcsc::ReaderState> state;
  const auto deadline = Clock::now() + kCardTimeout;
  while (!state) {
    auto s = ctx.wait_for_card("", std::chrono::milliseconds(250));
    if (s) {
      state = *s;
      break;
    }
    if (s.error().kind != pcsc::ErrorKind::timeout) return fail(s.error().message);
    if (child.exited()) return fail("no card in the reader");
    if (Clock::now() > deadline) return fail("no card in the reader after 20 s");
  }

  Figures f;
  f.rounds = rounds;
  const auto setup_start = Clock::now();
  auto transport = pcsc::PcscTransport::connect(ctx, state->name);
  if (!transport) return fail(transport.error().message);
  auto first = (*transport)->transmit_raw(kCommand);
  const auto setup_stop = Clock::now();
  if (!first) return fail(first.error().message);
  if (first->size() < 2) return fail("a response without a status word");
  f.first_response = *first;
  f.setup_ms = std::chrono::duration<double, std::milli>(setup_stop - setup_start).count();

  for (int i = 0; i < kWarmup; ++i) {
    auto r = (*transport)->transmit_raw(kCommand);
    if (!r) return fail(r.error().message);
  }

  std::vector<double> us(static_cast<std::size_t>(rounds));
  const auto start = Clock::now();
  for (double& t : us) {
    const auto t0 = Clock::now();
    auto r = (*transport)->transmit_raw(kCommand);
    const auto t1 = Clock::now();
    if (!r || r->size() < 2)
      return fail(r ? "a response without a status word" : r.error().message);
    t = std::chrono::duration<double, std::micro>(t1 - t0).count();
  }
  const double total = std::chrono::duration<double>(Clock::now() - start).count();
  (*transport).reset();  // destroys the transport: SCardDisconnect before the card goes

  std::sort(us.begin(), us.end());
  f.median_us = us[us.size() / 2];
  f.p99_us = us[std::min(us.size() - 1, us.size() * 99 / 100)];
  f.apdus_per_s = rounds / std::max(total, 1e-9);

  child.stop();
  auto gone = ctx.wait_for_removal("", std::chrono::milliseconds(10000));
  if (!gone) return unexpected("the card did not leave the reader: " + gone.error().message);
  return f;
}

void print(const std::string& card, const Figures& f) {
  const std::size_t n = f.first_response.size();
  std::fprintf(stderr, "# %s: %d round trips, first response SW %02X%02X, setup %.2f ms\n",
               card.c_str(), f.rounds, f.first_response[n - 2], f.first_response[n - 1],
               f.setup_ms);
  bench::report("pcsc_rtt_median_us_" + card, f.median_us, "us");
  bench::report("pcsc_rtt_p99_us_" + card, f.p99_us, "us");
  bench::report("pcsc_apdus_per_s_" + card, f.apdus_per_s, "APDU/s");
  bench::report("pcsc_session_setup_ms_" + card, f.setup_ms, "ms");
}

// Why vicc cannot run here, or nullopt.
std::optional<std::string> vicc_missing() {
  for (const char* p : {kViccScript, kViccPython, kViccPath, kCryptodome}) {
    if (!fs::exists(p))
      return std::string(p) + " not found (Debian vsmartcard-vpicc, python3-pycryptodome)";
  }
  return std::nullopt;
}

}  // namespace

int main(int /*argc*/, char** argv) {
  if (std::getenv("JUKI_PCSC_READERS") == nullptr) reexec_under_with_pcscd(argv);
  ::signal(SIGINT, on_signal);
  ::signal(SIGTERM, on_signal);

  std::uint16_t port = 35963;
  if (const char* base = std::getenv("JUKI_VPCD_PORT_BASE")) {
    port = static_cast<std::uint16_t>(std::strtoul(base, nullptr, 10));
  }
  const std::string port_text = std::to_string(port);

  auto ctx = pcsc::PcscContext::establish();
  if (!ctx) die(ctx.error().message);

  TempDir tmp;
  std::map<std::string, Figures> results;

  // (a) the echo card
  {
    const fs::path log = tmp.path() / "echo.log";
    auto child = Child::spawn({JUKI_ECHO_CARD_PATH, "--port", port_text}, log);
    if (!child) die("cannot start juki-echo-card");
    auto f = measure_card(*ctx, *child, log, rounds_override(kRounds));
    if (!f) die("echo card: " + f.error());
    results["echo"] = *f;
    print("echo", *f);
  }

  // (b) our simulator, with a blank (transport-locked) card image
  {
    const fs::path image = tmp.path() / "card.img";
    const fs::path log = tmp.path() / "sim.log";
    {
      auto create = Child::spawn({JUKI_CARD_SIM_PATH, "--create", image.string(), "--transport-key",
                                  "000102030405060708090A0B0C0D0E0F"},
                                 log);
      if (!create) die("cannot start juki-card-sim --create");
      int status = 0;
      while (!create->exited(&status)) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        die("juki-card-sim --create failed: " + last_line(log));
      }
    }
    auto child = Child::spawn({JUKI_CARD_SIM_PATH, "--card", "0=" + image.string(), "--port-base",
                               port_text, "--socket", (tmp.path() / "sim.sock").string(), "-q"},
                              log);
    if (!child) die("cannot start juki-card-sim");
    auto f = measure_card(*ctx, *child, log, rounds_override(kRounds));
    if (!f) die("simulator: " + f.error());
    results["sim"] = *f;
    print("sim", *f);
  }

  // (c) vsmartcard's vicc
  if (auto missing = vicc_missing()) {
    std::printf("# vicc unavailable: %s\n", missing->c_str());
  } else {
    // Debian 12's vicc imports `Crypto` (PyCryptodome under its pycrypto name)
    // and its modules live outside sys.path: give it both.
    const fs::path shim = tmp.path() / "pyshim";
    std::error_code ec;
    fs::create_directory(shim, ec);
    fs::create_directory_symlink(kCryptodome, shim / "Crypto", ec);
    std::string pythonpath = std::string(kViccPath) + ":" + shim.string();
    if (const char* old = std::getenv("PYTHONPATH"); old != nullptr && *old != '\0') {
      pythonpath += std::string(":") + old;
    }
    const fs::path log = tmp.path() / "vicc.log";
    auto child = Child::spawn(
        {kViccPython, kViccScript, "-t", "iso7816", "-H", "127.0.0.1", "-P", port_text}, log,
        {{"PYTHONPATH", pythonpath}});
    if (!child) {
      std::printf("# vicc unavailable: cannot start %s\n", kViccPython);
    } else {
      auto f = measure_card(*ctx, *child, log, rounds_override(kRoundsVicc));
      if (!f) {
        std::printf("# vicc unavailable: %s\n", f.error().c_str());
      } else {
        results["vicc"] = *f;
        print("vicc", *f);
      }
    }
  }
  std::fflush(stdout);

  bench::report("pcsc_sim_vs_echo_ratio", results["sim"].median_us / results["echo"].median_us,
                "x");
  if (results.contains("vicc")) {
    bench::report("pcsc_vicc_vs_sim_ratio", results["vicc"].median_us / results["sim"].median_us,
                  "x");
  }
  return 0;
}
