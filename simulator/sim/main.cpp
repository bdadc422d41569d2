// juki-card-sim: Juki card images in the reader slots of vsmartcard-vpcd, so
// that pcscd and every PC/SC application see them as cards in readers.
// Controlled at run time through a Unix socket (juki-sim-ctl). See
// specs/simulator.md.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "card_os/card/card.hpp"
#include "card_os/nvm/storage.hpp"
#include "common/bytes.hpp"
#include "common/system_random.hpp"
#include "simulator/blank_card.hpp"
#include "simulator/sim/control_protocol.hpp"
#include "simulator/sim/simulator.hpp"

using namespace juki;

namespace {

constexpr int kExitRuntime = 1;
constexpr int kExitUsage = 2;

int fail(int code, const std::string& message) {
  std::fprintf(stderr, "juki-card-sim: %s\n", message.c_str());
  return code;
}

struct CreateArgs {
  std::string image;
  std::string transport_key;
  std::string serial;
  unsigned transport_key_limit = 10;
  bool force = false;
};

// --create: what the chip factory does, into a new image file.
int create_image(const CreateArgs& a) {
  auto key = from_hex(a.transport_key);
  if (!key || (key->size() != 16 && key->size() != 24 && key->size() != 32))
    return fail(kExitUsage, "--transport-key must be 16, 24 or 32 bytes of hex");
  card_os::FactoryProfile profile;
  profile.transport_key = *key;
  profile.transport_key_limit = static_cast<std::uint8_t>(a.transport_key_limit);
  if (!a.serial.empty()) {
    auto serial = from_hex(a.serial);
    if (!serial || serial->size() != 8) return fail(kExitUsage, "--serial must be 8 bytes of hex");
    profile.serial = *serial;
  }
  std::error_code ec;
  struct Lock {
    int fd = -1;
    ~Lock() {
      if (fd >= 0) ::close(fd);
    }
  } lock;
  if (std::filesystem::exists(a.image, ec)) {
    if (!a.force)
      return fail(kExitRuntime, "'" + a.image + "' exists (use --force to overwrite it)");
    // The simulator flocks every image it holds: never truncate one under it.
    lock.fd = ::open(a.image.c_str(), O_RDONLY | O_CLOEXEC);
    if (lock.fd >= 0 && ::flock(lock.fd, LOCK_EX | LOCK_NB) != 0)
      return fail(kExitRuntime, "'" + a.image + "' is in use by a simulator");
  }
  juki::SystemRandom random;
  auto storage = sim::create_blank_image(a.image, profile, random);
  if (!storage) return fail(kExitRuntime, storage.error());
  std::printf("created %s: blank card (transport-locked), %zu bytes\n", a.image.c_str(),
              (*storage)->size());
  return 0;
}

// "1=/path/card.img" -> (1, "/path/card.img").
bool parse_card(const std::string& text, std::pair<unsigned, std::string>& out) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size()) return false;
  unsigned slot = 0;
  for (char c : text.substr(0, eq)) {
    if (c < '0' || c > '9') return false;
    slot = slot * 10 + static_cast<unsigned>(c - '0');
    if (slot >= sim::kMaxSlots) return false;
  }
  out = {slot, text.substr(eq + 1)};
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "juki-card-sim: simulated Juki cards in the reader slots of vsmartcard-vpcd.\n"
      "Slot S connects to vpcd on HOST:PORT_BASE+S while a card is in it. Control it\n"
      "with juki-sim-ctl (specs/simulator.md). Exit status: 0 stopped by SIGINT,\n"
      "SIGTERM or 'shutdown'; 1 runtime error; 2 usage error.\n"};
  app.get_formatter()->column_width(34);

  sim::Options options;
  options.control_socket = sim::default_control_socket();
  std::vector<std::string> images;
  std::vector<std::string> cards;
  unsigned slots = 0;
  unsigned reader_timeout = 0;
  CreateArgs create;

  app.add_option("IMAGE", images, "card images for slots 0, 1, ... in order");
  app.add_option("--card", cards, "put IMAGE into SLOT at start (SLOT=IMAGE, repeatable)");
  app.add_option("--slots", slots,
                 "number of reader slots (default: enough for the cards given, at least 1)")
      ->check(CLI::Range(1u, sim::kMaxSlots));
  app.add_option("--vpcd-host", options.vpcd_host, "address vpcd listens on")
      ->capture_default_str();
  app.add_option("--port-base", options.port_base, "vpcd port of slot 0 (reader.conf CHANNELID)")
      ->capture_default_str();
  app.add_option("--socket", options.control_socket,
                 "control socket ($JUKI_SIM_SOCKET, else $XDG_RUNTIME_DIR/juki-card-sim.sock, "
                 "else /tmp/juki-card-sim-UID.sock)")
      ->capture_default_str();
  app.add_option("--trace", options.trace_file, "append an APDU trace to this file");
  app.add_flag("--trace-secrets", options.trace_secrets,
               "the trace shows the PINs, keys and key proofs commands carry (default: "
               "their data redacted)");
  app.add_option("--reinsert-delay", options.reinsert_delay_ms,
                 "ms a slot stays empty after a removal before it connects again, so vpcd "
                 "notices the removal")
      ->capture_default_str()
      ->check(CLI::Range(0u, 600000u));
  app.add_option("--reader-timeout", reader_timeout,
                 "ms after which an unanswered APDU makes the slot drop and reconnect "
                 "(default: wait forever)")
      ->check(CLI::Range(1u, 600000u));
  app.add_flag("--quiet,-q", options.quiet, "no progress messages on stderr");

  auto* create_opt = app.add_option("--create", create.image,
                                    "make a blank (transport-locked) card image and exit");
  auto* key_opt = app.add_option("--transport-key", create.transport_key,
                                 "the blank card's transport key (hex, 16/24/32 bytes)")
                      ->needs(create_opt);
  create_opt->needs(key_opt);
  app.add_option("--serial", create.serial,
                 "the blank card's serial (hex, 8 bytes; default random)")
      ->needs(create_opt);
  app.add_option("--transport-key-limit", create.transport_key_limit,
                 "wrong transport-key proofs before the card terminates")
      ->capture_default_str()
      ->check(CLI::Range(1u, 15u))
      ->needs(create_opt);
  app.add_flag("--force", create.force, "--create overwrites an existing file")->needs(create_opt);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {
      std::fputs(app.help().c_str(), stdout);
      return 0;
    }
    std::fprintf(stderr, "juki-card-sim: %s\nRun with --help for usage.\n", e.what());
    return kExitUsage;
  }

  if (!create.image.empty()) {
    if (!images.empty() || !cards.empty())
      return fail(kExitUsage, "--create takes no card images to run");
    return create_image(create);
  }

  for (std::size_t i = 0; i < images.size(); ++i)
    options.cards.emplace_back(static_cast<unsigned>(i), images[i]);
  for (const std::string& c : cards) {
    std::pair<unsigned, std::string> card;
    if (!parse_card(c, card)) return fail(kExitUsage, "--card expects SLOT=IMAGE, not '" + c + "'");
    options.cards.push_back(card);
  }
  unsigned needed = 1;
  for (const auto& c : options.cards) needed = std::max(needed, c.first + 1);
  if (slots != 0 && slots < needed)
    return fail(kExitUsage, "--slots " + std::to_string(slots) + " leaves no room for slot " +
                                std::to_string(needed - 1));
  options.slots = slots != 0 ? slots : needed;
  if (reader_timeout != 0) options.reader_timeout_ms = reader_timeout;
  if (static_cast<unsigned>(options.port_base) + options.slots - 1 > 0xFFFF ||
      options.port_base == 0)
    return fail(kExitUsage, "--port-base out of range for the number of slots");

  // Signals arrive as readable data on a signalfd, inside the poll loop: no
  // handler runs between two card writes, and no wake-up is lost.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  if (sigprocmask(SIG_BLOCK, &stop_signals, nullptr) != 0)
    return fail(kExitRuntime, "cannot block SIGINT/SIGTERM");
  const int stop_fd = signalfd(-1, &stop_signals, SFD_CLOEXEC | SFD_NONBLOCK);
  if (stop_fd < 0) return fail(kExitRuntime, "signalfd failed");
  signal(SIGPIPE, SIG_IGN);

  auto simulator = sim::Simulator::create(options);
  if (!simulator) return fail(kExitRuntime, simulator.error());
  auto r = (*simulator)->run(stop_fd);
  simulator->reset();  // closes images and unlinks the control socket
  ::close(stop_fd);
  if (!r) return fail(kExitRuntime, r.error());
  return 0;
}
