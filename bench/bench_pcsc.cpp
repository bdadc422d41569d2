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
// Then, with echo and sim still connected, secure-session set-up over PC/SC (issue 4):
// an in-memory PKI (bench/secure_pki.hpp); the sim's blank card made the secure test card
// (tests/support/secure_layout.hpp) through PC/SC, timed once
// (pcsc_personalize_secure_card_ms), and power-cycled; the same card made in-process
// (MemoryStorage + InProcessTransport) under the same PKI. A set-up is SELECT of SEC,
// SecureSession::open and the first protected APDU (READ BINARY by SFI of EF 7002, its
// 15 bytes checked). One untimed set-up each way counts the APDUs one sends (A, through
// a counting Transport, session_setup_apdus). Then 10 rounds, each a block of 5 set-ups
// over PC/SC, 5 in-process and 5 x A echo round trips, in ABBA order. Medians over the
// rounds: session_setup_pcsc_us, session_setup_inprocess_us, session_setup_echo_rtt_us,
// session_setup_pcsc_floor_us (in-process set-up + A echo round trips of the same round)
// and session_setup_pcsc_vs_floor_ratio (per round, PC/SC / floor; no target). The floor
// leaves out one cost: the simulator fsyncs its image file at every commit (7 commits per
// set-up), the in-process card's memory does not (bench/README.md).
//
// JUKI_BENCH_PCSC_ROUNDS, when set, replaces N for every card (e.g. 100000 to have
// time to attach strace or perf to a card); JUKI_BENCH_PCSC_SESSION_ROUNDS and
// JUKI_BENCH_PCSC_SESSIONS replace the 10 rounds and the 5 set-ups per block.
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
#include "common/transport.hpp"
#include "harness.hpp"
#include "host_middleware/pcsc/pcsc.hpp"
#include "host_middleware/personalization/personalization.hpp"
#include "host_middleware/session/secure_session.hpp"
#include "secure_pki.hpp"
#include "support/secure_layout.hpp"

using namespace juki;
namespace fs = std::filesystem;
namespace pcsc = juki::host::pcsc;
using Clock = std::chrono::steady_clock;
using bench::die;

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
constexpr int kSessionRounds = 10;    // timed blocks of session set-ups per side
constexpr int kSessionsPerBlock = 5;  // session set-ups in one block
// The simulator's blank card (--create --transport-key) and the in-process card.
const char* const kTransportKeyHex = "000102030405060708090A0B0C0D0E0F";
const Bytes kAdminKey = {0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27,
                         0x28, 0x29, 0x2A, 0x2B, 0x2C, 0x2D, 0x2E, 0x2F};
const Bytes kResetKey = {0xF0, 0xE1, 0xD2, 0xC3, 0xB4, 0xA5, 0x96, 0x87,
                         0x78, 0x69, 0x5A, 0x4B, 0x3C, 0x2D, 0x1E, 0x0F};
const Bytes kSerial = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};

const char* const kViccScript = "/usr/bin/vicc";
const char* const kViccPython = "/usr/bin/python3";
const char* const kViccPath = "/usr/lib/python3/site-packages/virtualsmartcard";
const char* const kCryptodome = "/usr/lib/python3/dist-packages/Cryptodome";

// The count in the environment variable `name`, else `fallback`.
int count_override(const char* name, int fallback) {
  if (const char* env = std::getenv(name)) {
    const long v = std::strtol(env, nullptr, 10);
    if (v > 0 && v <= 10'000'000) return static_cast<int>(v);
  }
  return fallback;
}

int rounds_override(int fallback) {
  return count_override("JUKI_BENCH_PCSC_ROUNDS", fallback);
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

// A Transport that passes everything on to `inner`, counting the commands and noting
// the largest command and answer.
class CountingTransport final : public juki::Transport {
 public:
  explicit CountingTransport(juki::Transport& inner) : inner_(inner) {}
  Result<Bytes, juki::TransportError> transmit(ByteView command) override {
    ++commands;
    largest_command = std::max(largest_command, command.size());
    auto r = inner_.transmit(command);
    if (r) largest_response = std::max(largest_response, r->size());
    return r;
  }
  Result<Bytes, juki::TransportError> reset() override { return inner_.reset(); }
  Result<Bytes, juki::TransportError> power_cycle() override { return inner_.power_cycle(); }
  Bytes atr() const override { return inner_.atr(); }
  std::string describe() const override { return inner_.describe(); }

  int commands = 0;
  std::size_t largest_command = 0;
  std::size_t largest_response = 0;

 private:
  juki::Transport& inner_;
};

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void print_spread(const char* name, const std::vector<double>& v) {
  std::fprintf(stderr, "# %s: min %.4g, max %.4g over %zu rounds\n", name,
               *std::min_element(v.begin(), v.end()), *std::max_element(v.begin(), v.end()),
               v.size());
}

// Mutual authentication over PC/SC: the simulator's blank card is made the secure test
// card (tests/support/secure_layout.hpp) through PC/SC, the same card is made in this
// process under the same PKI, and full session set-ups (SELECT SEC, SecureSession::open,
// the first protected READ BINARY) run on both in alternating blocks, with as many echo
// round trips as one set-up sends APDUs: in-process set-up + those round trips is the
// floor of a set-up over PC/SC. Both cards stay connected.
void session_setup_phase(CardUnderTest& echo, CardUnderTest& sim) {
  const bench::SecurePki pki;
  const host::session::Credentials terminal = pki.window_terminal();
  const host::perso::SampleSecrets secrets{*from_hex(kTransportKeyHex), kAdminKey, kResetKey};

  // Personalization through PC/SC, timed once.
  {
    CountingTransport counted(*sim.transport);
    const auto start = Clock::now();
    auto cert = test::make_secure_card(counted, secrets, pki.root.cert, pki.card_ca);
    const auto stop = Clock::now();
    if (!cert) die("sim: making the secure card over PC/SC: " + cert.error().describe());
    std::fprintf(stderr, "# sim: made the secure card over PC/SC in %d APDUs\n", counted.commands);
    bench::report("pcsc_personalize_secure_card_ms",
                  std::chrono::duration<double, std::milli>(stop - start).count(), "ms");
    if (auto r = sim.transport->power_cycle(); !r)
      die(card_failure("power cycle: " + r.error().message, sim.child, sim.log));
  }
  bench::InProcessSecureCard local(pki, secrets, kSerial, "bench pcsc card");

  // One untimed set-up on each (a warm-up): how many APDUs one sends.
  CountingTransport over_pcsc(*sim.transport);
  CountingTransport in_process(*local.transport);
  if (!bench::session_setup(over_pcsc, terminal))
    die("sim: session set-up over PC/SC: SELECT or the protected READ BINARY failed");
  if (!bench::session_setup(in_process, terminal))
    die("session set-up in-process: SELECT or the protected READ BINARY failed");
  const int apdus = over_pcsc.commands;
  if (in_process.commands != apdus)
    die("a session set-up sent " + std::to_string(apdus) + " APDUs over PC/SC but " +
        std::to_string(in_process.commands) + " in-process");
  std::fprintf(stderr,
               "# session set-up: %d APDUs (T=%d), largest command %zu bytes, largest answer %zu "
               "bytes\n",
               apdus, sim.transport->protocol(), over_pcsc.largest_command,
               over_pcsc.largest_response);

  const int rounds = count_override("JUKI_BENCH_PCSC_SESSION_ROUNDS", kSessionRounds);
  const int per_block = count_override("JUKI_BENCH_PCSC_SESSIONS", kSessionsPerBlock);
  const int echo_trips = per_block * apdus;
  std::uint64_t failures = 0;
  auto setups_us = [&](juki::Transport& t) {
    return bench::time_once([&] {
             for (int i = 0; i < per_block; ++i) failures += !bench::session_setup(t, terminal);
           }) *
           1e6 / per_block;
  };
  auto echo_us = [&] {
    return bench::time_once([&] {
             for (int i = 0; i < echo_trips; ++i) {
               auto r = echo.transport->transmit(kCommand);
               if (!r) die(card_failure("echo: " + r.error().message, echo.child, echo.log));
               failures += bench::sw_of(*r) != sw::kOk;
             }
           }) *
           1e6 / echo_trips;
  };
  for (int i = 0; i < apdus; ++i) failures += !echo.transport->transmit(kCommand);

  // Per round: a block over PC/SC, one in-process, one of echo round trips, in ABBA
  // order so that no side always comes first.
  std::vector<double> pcsc_us, local_us, rtt_us, floor_us, ratios;
  for (int round = 0; round < rounds; ++round) {
    double p = 0;
    double l = 0;
    double e = 0;
    if (round % 2 == 0) {
      p = setups_us(over_pcsc);
      l = setups_us(in_process);
      e = echo_us();
    } else {
      e = echo_us();
      l = setups_us(in_process);
      p = setups_us(over_pcsc);
    }
    pcsc_us.push_back(p);
    local_us.push_back(l);
    rtt_us.push_back(e);
    floor_us.push_back(l + apdus * e);
    ratios.push_back(p / (l + apdus * e));
  }
  if (failures != 0) die("a timed session set-up or echo round trip failed");
  const int sessions = 1 + rounds * per_block;
  if (over_pcsc.commands != sessions * apdus || in_process.commands != sessions * apdus)
    die("the session set-ups did not all send " + std::to_string(apdus) + " APDUs");

  print_spread("session_setup_pcsc_us", pcsc_us);
  print_spread("session_setup_inprocess_us", local_us);
  print_spread("session_setup_echo_rtt_us", rtt_us);
  print_spread("session_setup_pcsc_vs_floor_ratio", ratios);
  bench::report("session_setup_pcsc_us", median_of(pcsc_us), "us");
  bench::report("session_setup_inprocess_us", median_of(local_us), "us");
  bench::report("session_setup_apdus", apdus, "APDUs");
  bench::report("session_setup_echo_rtt_us", median_of(rtt_us), "us");
  bench::report("session_setup_pcsc_floor_us", median_of(floor_us), "us");
  bench::report("session_setup_pcsc_vs_floor_ratio", median_of(ratios), "x");
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
    auto create = Child::spawn(
        {JUKI_CARD_SIM_PATH, "--create", image.string(), "--transport-key", kTransportKeyHex}, log);
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
  session_setup_phase(echo, sim);
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
