// APDU round trip through PC/SC, pcscd and vpcd (issue 3, "Benchmarks"), for three
// cards in a private pcscd with two readers:
//   echo  juki-echo-card (bench/echo_card.cpp): answers 90 00 to everything, the floor;
//   sim   juki-card-sim with a blank card image;
//   vicc  vsmartcard's Python card (Debian vsmartcard-vpicc), `-t iso7816`.
// The command is GET CHALLENGE for 8 bytes (00 84 00 00 08), which all three answer
// without persistent writes (ours even when transport-locked, specs/card-os.md 4.2).
//
// echo (reader 0) and sim (reader 1) run at the same time: per card, wait for it in
// its reader, connect and send the first APDU (session setup), 100 warm-up APDUs; then
// N timed round trips per card in alternating blocks of 100 (echo, sim, sim, echo,
// ...), so that both meet the same machine. Then vicc alone in reader 0. Per card:
// median and p99 latency (µs) and throughput (APDUs/s, over the timed blocks). Ratios:
// sim median / echo median (target <= 1.10) and vicc median / sim median (target > 1).
//
// JUKI_BENCH_PCSC_ROUNDS, when set, replaces N for every card (e.g. 100000 to have
// time to attach strace or perf to a card).
//
// Run outside scripts/with-pcscd (JUKI_PCSC_READERS unset), it runs itself again under
// `scripts/with-pcscd --readers 2 --`. If vicc cannot be started, a line
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
constexpr int kBlock = 100;                             // round trips per card before switching
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
  std::vector<std::string> args = {"bash", script, "--readers", "2", "--", exe};
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

// Why a card failed: `what`, plus how its program ended and its last message.
std::string card_failure(const std::string& what, Child& child, const fs::path& log) {
  int status = 0;
  std::string why = what;
  if (child.exited(&status)) {
    why += WIFEXITED(status)
               ? "; the card program exited with status " + std::to_string(WEXITSTATUS(status))
               : "; the card program was killed by a signal";
  }
  const std::string tail = last_line(log);
  if (!tail.empty()) why += "; its last message: " + tail;
  return why;
}

// A card under measurement: its program, its reader, and the connection to it.
struct CardUnderTest {
  std::string name;
  Child child;
  fs::path log;
  std::string reader;
  std::unique_ptr<pcsc::PcscTransport> transport;
  Figures figures;
  std::vector<double> samples_us;
  double busy_s = 0;  // time inside the timed round trips, for APDUs/s
};

// Waits for the card in its reader, connects, times connect + first APDU, and
// sends the warm-up APDUs.
Result<void, std::string> open_session(const pcsc::PcscContext& ctx, CardUnderTest& card) {
  const auto deadline = Clock::now() + kCardTimeout;
  for (;;) {
    auto s = ctx.wait_for_card(card.reader, std::chrono::milliseconds(250));
    if (s) break;
    if (s.error().kind != pcsc::ErrorKind::timeout)
      return unexpected(card_failure(s.error().message, card.child, card.log));
    if (card.child.exited())
      return unexpected(card_failure("no card in the reader", card.child, card.log));
    if (Clock::now() > deadline)
      return unexpected(card_failure("no card in the reader after 20 s", card.child, card.log));
  }
  const auto setup_start = Clock::now();
  auto transport = pcsc::PcscTransport::connect(ctx, card.reader);
  if (!transport) return unexpected(card_failure(transport.error().message, card.child, card.log));
  auto first = (*transport)->transmit_raw(kCommand);
  const auto setup_stop = Clock::now();
  if (!first) return unexpected(card_failure(first.error().message, card.child, card.log));
  if (first->size() < 2)
    return unexpected(card_failure("a response without a status word", card.child, card.log));
  card.transport = std::move(*transport);
  card.figures.first_response = *first;
  card.figures.setup_ms =
      std::chrono::duration<double, std::milli>(setup_stop - setup_start).count();
  for (int i = 0; i < kWarmup; ++i) {
    auto r = card.transport->transmit_raw(kCommand);
    if (!r) return unexpected(card_failure(r.error().message, card.child, card.log));
  }
  return {};
}

// `rounds` timed round trips, each timed on its own around SCardTransmit.
Result<void, std::string> timed_rounds(CardUnderTest& card, int rounds) {
  const auto start = Clock::now();
  for (int i = 0; i < rounds; ++i) {
    const auto t0 = Clock::now();
    auto r = card.transport->transmit_raw(kCommand);
    const auto t1 = Clock::now();
    if (!r || r->size() < 2)
      return unexpected(card_failure(r ? "a response without a status word" : r.error().message,
                                     card.child, card.log));
    card.samples_us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  card.busy_s += std::chrono::duration<double>(Clock::now() - start).count();
  return {};
}

// Median, p99 and APDUs/s from the samples; disconnects, stops the card's
// program and waits for the reader to empty.
Result<void, std::string> close_session(const pcsc::PcscContext& ctx, CardUnderTest& card) {
  card.transport.reset();  // SCardDisconnect before the card goes
  std::vector<double>& us = card.samples_us;
  std::sort(us.begin(), us.end());
  Figures& f = card.figures;
  f.rounds = static_cast<int>(us.size());
  f.median_us = us[us.size() / 2];
  f.p99_us = us[std::min(us.size() - 1, us.size() * 99 / 100)];
  f.apdus_per_s = static_cast<double>(us.size()) / std::max(card.busy_s, 1e-9);
  card.child.stop();
  auto gone = ctx.wait_for_removal(card.reader, std::chrono::milliseconds(10000));
  if (!gone) return unexpected("the card did not leave the reader: " + gone.error().message);
  return {};
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

// The reader names scripts/with-pcscd announces, one per line.
std::vector<std::string> reader_names() {
  std::vector<std::string> names;
  std::string all =
      std::getenv("JUKI_PCSC_READERS") != nullptr ? std::getenv("JUKI_PCSC_READERS") : "";
  std::size_t at = 0;
  while (at < all.size()) {
    const std::size_t nl = std::min(all.find('\n', at), all.size());
    if (nl > at) names.push_back(all.substr(at, nl - at));
    at = nl + 1;
  }
  return names;
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
  const std::vector<std::string> readers = reader_names();
  if (readers.size() < 2) die("two readers are needed (scripts/with-pcscd --readers 2)");

  auto ctx = pcsc::PcscContext::establish();
  if (!ctx) die(ctx.error().message);

  TempDir tmp;
  const int rounds = rounds_override(kRounds);

  // The echo card in reader 0 and the simulator (a blank, transport-locked
  // card) in reader 1, both at once: their round trips alternate in blocks,
  // so both see the same machine (load, CPU frequency, caches) and the ratio
  // compares like with like.
  const fs::path image = tmp.path() / "card.img";
  {
    const fs::path log = tmp.path() / "create.log";
    auto create = Child::spawn({JUKI_CARD_SIM_PATH, "--create", image.string(), "--transport-key",
                                "000102030405060708090A0B0C0D0E0F"},
                               log);
    if (!create) die("cannot start juki-card-sim --create");
    int status = 0;
    while (!create->exited(&status)) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
      die("juki-card-sim --create failed: " + last_line(log));
  }
  auto echo_child =
      Child::spawn({JUKI_ECHO_CARD_PATH, "--port", std::to_string(port)}, tmp.path() / "echo.log");
  if (!echo_child) die("cannot start juki-echo-card");
  CardUnderTest echo{
      "echo", std::move(*echo_child), tmp.path() / "echo.log", readers[0], {}, {}, {}, 0};
  auto sim_child =
      Child::spawn({JUKI_CARD_SIM_PATH, "--card", "0=" + image.string(), "--port-base",
                    std::to_string(port + 1), "--socket", (tmp.path() / "sim.sock").string(), "-q"},
                   tmp.path() / "sim.log");
  if (!sim_child) die("cannot start juki-card-sim");
  CardUnderTest sim{"sim", std::move(*sim_child), tmp.path() / "sim.log", readers[1], {}, {}, {},
                    0};

  for (CardUnderTest* card : {&echo, &sim}) {
    if (auto r = open_session(*ctx, *card); !r) die(card->name + ": " + r.error());
  }
  // ABBA order, so neither card always goes first after a switch.
  const int blocks = std::max(1, rounds / kBlock);
  for (int b = 0; b < blocks; ++b) {
    const int n = b + 1 < blocks ? kBlock : rounds - kBlock * (blocks - 1);
    CardUnderTest& first = (b % 2 == 0) ? echo : sim;
    CardUnderTest& second = (b % 2 == 0) ? sim : echo;
    for (CardUnderTest* card : {&first, &second}) {
      if (auto r = timed_rounds(*card, n); !r) die(card->name + ": " + r.error());
    }
  }
  for (CardUnderTest* card : {&echo, &sim}) {
    if (auto r = close_session(*ctx, *card); !r) die(card->name + ": " + r.error());
    print(card->name, card->figures);
  }

  // vsmartcard's vicc afterwards, alone in reader 0: it is two orders of
  // magnitude slower, so interleaving would add nothing.
  std::optional<Figures> vicc;
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
        {kViccPython, kViccScript, "-t", "iso7816", "-H", "127.0.0.1", "-P", std::to_string(port)},
        log, {{"PYTHONPATH", pythonpath}});
    if (!child) {
      std::printf("# vicc unavailable: cannot start %s\n", kViccPython);
    } else {
      CardUnderTest card{"vicc", std::move(*child), log, readers[0], {}, {}, {}, 0};
      auto r = open_session(*ctx, card);
      if (r) r = timed_rounds(card, rounds_override(kRoundsVicc));
      if (r) r = close_session(*ctx, card);
      if (!r) {
        std::printf("# vicc unavailable: %s\n", r.error().c_str());
      } else {
        vicc = card.figures;
        print("vicc", *vicc);
      }
    }
  }
  std::fflush(stdout);

  bench::report("pcsc_sim_vs_echo_ratio", sim.figures.median_us / echo.figures.median_us, "x");
  if (vicc) bench::report("pcsc_vicc_vs_sim_ratio", vicc->median_us / sim.figures.median_us, "x");
  return 0;
}
