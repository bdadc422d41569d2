// Internals of the simulator shared by its vpcd side (simulator.cpp) and its
// control side (control.cpp): the slots, the cards in them, the control
// clients, and Simulator::Impl. Not for use outside simulator/sim.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "card_os/card/card.hpp"
#include "card_os/nvm/storage.hpp"
#include "common/system_random.hpp"
#include "simulator/file_storage.hpp"
#include "simulator/sim/simulator.hpp"
#include "simulator/sim/trace.hpp"
#include "simulator/vpcd/connection.hpp"

namespace juki::sim {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kFirstBackoff{100};
constexpr milliseconds kMaxBackoff{2000};

std::string errno_text(int err);

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  ~UniqueFd() { reset(); }
  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// A card image in a slot: the file (locked against a second user), the fault
// injector between file and card, and the powered chip when there is one.
struct InsertedCard {
  std::string image;
  UniqueFd lock;
  std::unique_ptr<sim::FileStorage> storage;
  std::unique_ptr<card_os::FaultInjector> injector;  // the card holds a reference
  std::unique_ptr<card_os::Card> chip;               // null while unpowered
  bool torn = false;  // the power was cut at a torn write: mute until the next power-on
  std::optional<std::uint64_t> tear_at;  // injector write index armed by "tear"
  Bytes atr;                             // last known ATR (answered while unpowered)
  card_os::LifeCycle life_cycle = card_os::LifeCycle::transport_locked;
  std::uint64_t apdus = 0;

  void remember() {
    if (chip && !chip->mute()) {
      atr = chip->atr();
      life_cycle = chip->life_cycle();
    }
  }
};

struct Slot {
  unsigned index = 0;
  std::uint16_t port = 0;
  std::optional<InsertedCard> card;
  std::optional<vpcd::Connection> conn;
  std::deque<Bytes> inbox;  // received, not yet handled (a delayed answer holds them back)
  std::optional<std::pair<Clock::time_point, Bytes>> pending;  // delayed response
  std::optional<Clock::time_point> unanswered_since;
  Clock::time_point connect_at{};
  milliseconds backoff = kFirstBackoff;
  bool refused_logged = false;
  // Faults and settings of the slot; they stay across card changes.
  bool mute = false;
  std::uint32_t latency_ms = 0;
  std::optional<std::uint64_t> remove_after;
  std::optional<std::uint32_t> reader_timeout_ms;
  std::optional<control::MisanswerRule> misanswer;
};

struct ControlClient {
  UniqueFd fd;
  std::string in;
  std::string out;
  bool closing = false;  // close once `out` is written
};

Result<InsertedCard, std::string> open_image(const std::string& path, juki::RandomSource& random);

class Simulator::Impl {
 public:
  explicit Impl(Options o) : options_(std::move(o)) {}
  ~Impl() {
    if (control_.get() >= 0) ::unlink(options_.control_socket.c_str());
  }

  Result<void, std::string> init();
  Result<void, std::string> run(int stop_fd);
  std::string execute(std::string_view line);

 private:
  void log(const std::string& text) {
    if (!options_.quiet) std::fprintf(stderr, "juki-card-sim: %s\n", text.c_str());
  }
  void log(const Slot& s, const std::string& text) {
    log("slot " + std::to_string(s.index) + ": " + text);
  }

  Result<void, std::string> open_control();
  void accept_control();
  void service_control(ControlClient& c, short revents);

  void service_timers(Slot& s, Clock::time_point now);
  void try_connect(Slot& s, Clock::time_point now);
  void on_connected(Slot& s);
  void connection_lost(Slot& s, const std::string& why);
  void service_connection(Slot& s, short revents);
  void drain(Slot& s);
  void handle(Slot& s, const Bytes& payload);
  void handle_apdu(Slot& s, ByteView apdu);
  void power_on(Slot& s, const char* what);
  void respond(Slot& s, const Bytes& response);
  void after_apdu(Slot& s);
  void send(Slot& s, const Bytes& payload);
  void remove_card(Slot& s, const std::string& why);
  std::optional<Clock::time_point> next_deadline() const;

  Result<Slot*, std::string> slot(unsigned index) {
    if (index >= slots_.size())
      return unexpected("no slot " + std::to_string(index) + " (slots 0.." +
                        std::to_string(slots_.size() - 1) + ")");
    return &slots_[index];
  }
  Result<Slot*, std::string> slot_with_card(unsigned index) {
    auto s = slot(index);
    if (s && !(*s)->card) return unexpected("slot " + std::to_string(index) + " is empty");
    return s;
  }
  std::string insert(Slot& s, const std::string& image);
  std::string status_json() const;

  Options options_;
  SystemRandom random_;
  TraceFile trace_{options_.trace_secrets ? apdu_text::Secrets::show : apdu_text::Secrets::redact};
  std::vector<Slot> slots_;
  UniqueFd control_;
  std::vector<ControlClient> clients_;
  bool stop_requested_ = false;
};

}  // namespace juki::sim
