#include "simulator/sim/simulator.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <system_error>

#include "card_os/card/card.hpp"
#include "card_os/nvm/storage.hpp"
#include "common/system_random.hpp"
#include "simulator/file_storage.hpp"
#include "simulator/sim/control_protocol.hpp"
#include "simulator/sim/trace.hpp"
#include "simulator/vpcd/connection.hpp"

namespace juki::sim {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kFirstBackoff{100};
constexpr milliseconds kMaxBackoff{2000};

std::string errno_text(int err) {
  return std::error_code(err, std::generic_category()).message();
}

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
  std::unique_ptr<juki::sim::FileStorage> storage;
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
};

struct ControlClient {
  UniqueFd fd;
  std::string in;
  std::string out;
  bool closing = false;  // close once `out` is written
};

Result<InsertedCard, std::string> open_image(const std::string& path, juki::RandomSource& random) {
  InsertedCard c;
  std::error_code ec;
  c.image = std::filesystem::absolute(path, ec).lexically_normal().string();
  if (ec) c.image = path;
  // The image must have one writer: two slots (or two simulators) on one file
  // would interleave their journals.
  c.lock = UniqueFd(::open(c.image.c_str(), O_RDONLY | O_CLOEXEC));
  if (c.lock.get() < 0)
    return unexpected("cannot open card image '" + c.image + "': " + errno_text(errno));
  if (::flock(c.lock.get(), LOCK_EX | LOCK_NB) != 0)
    return unexpected("card image '" + c.image + "' is in use (another slot or simulator)");
  auto storage = juki::sim::FileStorage::open(c.image);
  if (!storage) return unexpected(storage.error());
  c.storage = std::move(*storage);
  c.injector = std::make_unique<card_os::FaultInjector>(*c.storage);
  // Power it once, as a reader does at insertion: this checks the image,
  // finishes an interrupted commit and gives the ATR for vpcd's presence polls.
  auto chip = card_os::Card::power_up(*c.injector, random);
  if (!chip) return unexpected("card image '" + c.image + "': " + chip.error().message());
  c.atr = (*chip)->atr();
  c.life_cycle = (*chip)->life_cycle();
  return c;
}

}  // namespace

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

Result<void, std::string> Simulator::Impl::init() {
  if (options_.slots == 0 || options_.slots > kMaxSlots)
    return unexpected("the number of slots must be 1.." + std::to_string(kMaxSlots));
  if (options_.port_base + options_.slots - 1 > 0xFFFF)
    return unexpected(std::string("port base + slots exceeds 65535"));
  slots_.resize(options_.slots);
  for (unsigned i = 0; i < options_.slots; ++i) {
    slots_[i].index = i;
    slots_[i].port = static_cast<std::uint16_t>(options_.port_base + i);
    slots_[i].reader_timeout_ms = options_.reader_timeout_ms;
  }
  if (!options_.trace_file.empty())
    if (auto r = trace_.open(options_.trace_file); !r) return r;
  for (const auto& [index, image] : options_.cards) {
    auto s = slot(index);
    if (!s) return unexpected(s.error());
    if ((*s)->card) return unexpected("two cards for slot " + std::to_string(index));
    auto c = open_image(image, random_);
    if (!c) return unexpected(c.error());
    (*s)->card = std::move(*c);
    trace_.event(index, "insert " + (*s)->card->image);
  }
  if (!options_.control_socket.empty())
    if (auto r = open_control(); !r) return r;
  return {};
}

// ---------------------------------------------------------------- control socket

Result<void, std::string> Simulator::Impl::open_control() {
  const std::string& path = options_.control_socket;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path)
    return unexpected("control socket path too long (" + std::to_string(path.size()) +
                      " bytes, at most " + std::to_string(sizeof addr.sun_path - 1) + ")");
  std::copy(path.begin(), path.end(), addr.sun_path);

  // A socket file left by a simulator that died is stale; a live one is not ours to take.
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      return unexpected("control socket path '" + path + "' exists and is not a socket");
    UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (::connect(probe.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0)
      return unexpected("another simulator is listening on '" + path + "'");
    ::unlink(path.c_str());
  }
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return unexpected("control socket: " + errno_text(errno));
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return unexpected("cannot bind control socket '" + path + "': " + errno_text(errno));
  // Whoever reaches the socket controls the cards: the owner only.
  ::chmod(path.c_str(), 0600);
  if (::listen(fd.get(), 16) != 0)
    return unexpected("cannot listen on control socket '" + path + "': " + errno_text(errno));
  control_ = std::move(fd);
  return {};
}

void Simulator::Impl::accept_control() {
  for (;;) {
    const int fd = ::accept4(control_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    clients_.push_back(ControlClient{UniqueFd(fd), {}, {}, false});
  }
}

void Simulator::Impl::service_control(ControlClient& c, short revents) {
  if (revents & (POLLIN | POLLHUP | POLLERR)) {
    char buf[1024];
    bool eof = false;
    for (;;) {
      const ssize_t n = ::recv(c.fd.get(), buf, sizeof buf, 0);
      if (n > 0) {
        c.in.append(buf, static_cast<std::size_t>(n));
        if (c.in.size() > 4 * kMaxControlLine) break;  // handle what we have first
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      eof = true;
      break;
    }
    std::size_t start = 0;
    for (;;) {
      const std::size_t nl = c.in.find('\n', start);
      if (nl == std::string::npos) break;
      c.out += execute(std::string_view(c.in).substr(start, nl - start)) + "\n";
      start = nl + 1;
    }
    c.in.erase(0, start);
    if (c.in.size() > kMaxControlLine) {
      c.out += "error line too long\n";
      c.in.clear();
      c.closing = true;
    }
    if (eof) {
      // A last command without its newline still counts ("echo -n status | nc -U").
      if (!c.in.empty()) c.out += execute(c.in) + "\n";
      c.in.clear();
      c.closing = true;
    }
  }
  while (!c.out.empty()) {
    const ssize_t n = ::send(c.fd.get(), c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (n > 0) {
      c.out.erase(0, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    c.out.clear();  // the client went away
    c.closing = true;
  }
  if (c.closing && c.out.empty()) c.fd.reset();
}

// ---------------------------------------------------------------- commands

std::string Simulator::Impl::execute(std::string_view line) {
  auto parsed = control::parse(line);
  if (!parsed) return "error " + parsed.error();
  const control::Command& cmd = *parsed;
  auto fail = [](const std::string& why) { return "error " + why; };

  if (std::holds_alternative<control::Status>(cmd)) return "ok " + status_json();
  if (std::holds_alternative<control::Help>(cmd)) {
    // One line: the summary's lines joined with "; " (juki-sim-ctl prints its own copy).
    std::string text;
    std::string_view rest = control::summary();
    while (!rest.empty()) {
      std::string_view l = rest.substr(0, rest.find('\n'));
      rest.remove_prefix(std::min(rest.size(), l.size() + 1));
      while (!l.empty() && l.front() == ' ') l.remove_prefix(1);
      text += (text.empty() ? "" : "; ") + std::string(l);
    }
    return "ok " + text;
  }
  if (std::holds_alternative<control::Shutdown>(cmd)) {
    stop_requested_ = true;
    return "ok shutting down";
  }
  if (auto* t = std::get_if<control::Trace>(&cmd)) {
    if (!t->file) {
      trace_.close();
      return "ok trace off";
    }
    std::error_code ec;
    std::string path = std::filesystem::absolute(*t->file, ec).lexically_normal().string();
    if (ec) path = *t->file;
    if (auto r = trace_.open(path); !r) return fail(r.error());
    return "ok trace " + path;
  }
  if (auto* c = std::get_if<control::Insert>(&cmd)) {
    auto s = slot(c->slot);
    if (!s) return fail(s.error());
    if ((*s)->card)
      return fail("slot " + std::to_string(c->slot) + " already holds '" + (*s)->card->image +
                  "' (remove it or use swap)");
    return insert(**s, c->image);
  }
  if (auto* c = std::get_if<control::Remove>(&cmd)) {
    auto s = slot_with_card(c->slot);
    if (!s) return fail(s.error());
    const std::string image = (*s)->card->image;
    remove_card(**s, "removed");
    return "ok slot " + std::to_string(c->slot) + " removed " + image;
  }
  if (auto* c = std::get_if<control::Swap>(&cmd)) {
    auto s = slot(c->slot);
    if (!s) return fail(s.error());
    Slot& sl = **s;
    if (sl.card) {
      std::error_code ec;
      if (std::filesystem::equivalent(sl.card->image, c->image, ec)) {
        remove_card(sl, "swapped out");  // the same file: its lock must go first
        return insert(sl, c->image);
      }
      // Check the new card before the old one leaves, so a bad image changes nothing.
      auto next = open_image(c->image, random_);
      if (!next) return fail(next.error());
      remove_card(sl, "swapped out");
      sl.card = std::move(*next);
      trace_.event(sl.index, "insert " + sl.card->image);
      log(sl, "card " + sl.card->image + " inserted");
      return "ok slot " + std::to_string(sl.index) + " holds " + sl.card->image;
    }
    return insert(sl, c->image);
  }
  if (auto* c = std::get_if<control::Tear>(&cmd)) {
    auto s = slot_with_card(c->slot);
    if (!s) return fail(s.error());
    InsertedCard& card = *(*s)->card;
    if (!c->nth_write) {
      card.injector->disarm();
      card.tear_at.reset();
      return "ok slot " + std::to_string(c->slot) + " tear off";
    }
    const std::uint64_t at = card.injector->writes() + *c->nth_write - 1;
    card.injector->arm(at, c->torn_prefix);
    card.tear_at = at;
    return "ok slot " + std::to_string(c->slot) + " tears at persistent write " +
           std::to_string(*c->nth_write) + " from now";
  }
  if (auto* c = std::get_if<control::Mute>(&cmd)) {
    auto s = slot(c->slot);
    if (!s) return fail(s.error());
    (*s)->mute = c->on;
    return std::string("ok slot ") + std::to_string(c->slot) + " mute " + (c->on ? "on" : "off");
  }
  if (auto* c = std::get_if<control::Latency>(&cmd)) {
    auto s = slot(c->slot);
    if (!s) return fail(s.error());
    (*s)->latency_ms = c->ms;
    return "ok slot " + std::to_string(c->slot) + " latency " + std::to_string(c->ms) + " ms";
  }
  if (auto* c = std::get_if<control::RemoveAfter>(&cmd)) {
    auto s = c->apdus ? slot_with_card(c->slot) : slot(c->slot);
    if (!s) return fail(s.error());
    (*s)->remove_after = c->apdus;
    if (!c->apdus) return "ok slot " + std::to_string(c->slot) + " remove-after off";
    return "ok slot " + std::to_string(c->slot) + " card leaves after " +
           std::to_string(*c->apdus) + " more APDUs";
  }
  if (auto* c = std::get_if<control::ReaderTimeout>(&cmd)) {
    auto s = slot(c->slot);
    if (!s) return fail(s.error());
    (*s)->reader_timeout_ms = c->ms;
    return "ok slot " + std::to_string(c->slot) + " reader-timeout " +
           (c->ms ? std::to_string(*c->ms) + " ms" : std::string("off"));
  }
  return fail("command not implemented");
}

std::string Simulator::Impl::insert(Slot& s, const std::string& image) {
  auto c = open_image(image, random_);
  if (!c) return "error " + c.error();
  s.card = std::move(*c);
  s.backoff = kFirstBackoff;
  s.refused_logged = false;
  trace_.event(s.index, "insert " + s.card->image);
  log(s, "card " + s.card->image + " inserted");
  return "ok slot " + std::to_string(s.index) + " holds " + s.card->image;
}

std::string Simulator::Impl::status_json() const {
  using nlohmann::json;
  json slots = json::array();
  for (const Slot& s : slots_) {
    json j;
    j["slot"] = s.index;
    j["port"] = s.port;
    if (!s.conn)
      j["connection"] = s.card ? "waiting" : "none";
    else
      j["connection"] = s.conn->connecting() ? "connecting" : "connected";
    json faults;
    faults["mute"] = s.mute;
    faults["latency_ms"] = s.latency_ms;
    faults["remove_after"] = s.remove_after ? json(*s.remove_after) : json(nullptr);
    faults["reader_timeout_ms"] = s.reader_timeout_ms ? json(*s.reader_timeout_ms) : json(nullptr);
    if (s.card) {
      const InsertedCard& c = *s.card;
      j["image"] = c.image;
      j["powered"] = c.chip != nullptr && !c.torn;
      j["life_cycle"] = card_os::to_string(c.life_cycle);
      j["atr"] = to_hex(c.atr);
      j["apdus"] = c.apdus;
      j["writes"] = c.injector->writes();
      faults["torn"] = c.torn;
      faults["tear_in"] = c.injector->armed() && c.tear_at
                              ? json(*c.tear_at - c.injector->writes() + 1)
                              : json(nullptr);
    } else {
      j["image"] = nullptr;
      j["powered"] = false;
      j["life_cycle"] = nullptr;
      j["atr"] = nullptr;
      j["apdus"] = 0;
      j["writes"] = 0;
      faults["torn"] = false;
      faults["tear_in"] = nullptr;
    }
    j["faults"] = faults;
    slots.push_back(j);
  }
  json all;
  all["slots"] = slots;
  all["trace"] = trace_.is_open() ? json(trace_.path()) : json(nullptr);
  all["vpcd_host"] = options_.vpcd_host;
  return all.dump();
}

// ---------------------------------------------------------------- vpcd side

void Simulator::Impl::try_connect(Slot& s, Clock::time_point now) {
  auto c = vpcd::Connection::start(options_.vpcd_host, s.port);
  if (!c) {
    if (c.error().kind != vpcd::ConnectionError::Kind::refused || !s.refused_logged)
      log(s, "waiting for vpcd on " + options_.vpcd_host + ":" + std::to_string(s.port) + " (" +
                 c.error().message + ")");
    s.refused_logged = true;
    s.connect_at = now + s.backoff;
    s.backoff = std::min(s.backoff * 2, kMaxBackoff);
    return;
  }
  s.conn = std::move(*c);
  if (!s.conn->connecting()) on_connected(s);
}

void Simulator::Impl::on_connected(Slot& s) {
  s.backoff = kFirstBackoff;
  s.refused_logged = false;
  log(s, "connected to vpcd on " + options_.vpcd_host + ":" + std::to_string(s.port));
  trace_.event(s.index, "connected to vpcd " + options_.vpcd_host + ":" + std::to_string(s.port));
}

void Simulator::Impl::connection_lost(Slot& s, const std::string& why) {
  s.conn.reset();
  s.inbox.clear();
  s.pending.reset();
  s.unanswered_since.reset();
  if (s.card) s.card->chip.reset();  // the reader's contacts are gone: no power
  log(s, "connection to vpcd lost: " + why);
  trace_.event(s.index, "disconnected: " + why);
  s.connect_at = Clock::now() + s.backoff;
  s.backoff = std::min(s.backoff * 2, kMaxBackoff);
}

void Simulator::Impl::remove_card(Slot& s, const std::string& why) {
  if (s.conn) trace_.event(s.index, "disconnected: card " + why);
  s.conn.reset();
  s.inbox.clear();
  s.pending.reset();
  s.unanswered_since.reset();
  s.remove_after.reset();
  if (s.card) {
    log(s, "card " + s.card->image + " " + why);
    trace_.event(s.index, "remove " + s.card->image + " (" + why + ")");
  }
  s.card.reset();
  s.connect_at = Clock::now() + milliseconds(options_.reinsert_delay_ms);
}

void Simulator::Impl::service_timers(Slot& s, Clock::time_point now) {
  if (s.card && !s.conn && now >= s.connect_at) try_connect(s, now);
  if (s.pending && now >= s.pending->first) {
    Bytes r = std::move(s.pending->second);
    s.pending.reset();
    respond(s, r);
    drain(s);
  }
  if (s.conn && s.unanswered_since && s.reader_timeout_ms &&
      now >= *s.unanswered_since + milliseconds(*s.reader_timeout_ms)) {
    // A real reader gives up on a silent card and reports an error; vpcd can
    // only learn that from a closed connection. The card comes back (unpowered)
    // after the reinsert delay, as if pulled and pushed back in.
    log(s, "reader timeout: an APDU stayed unanswered " + std::to_string(*s.reader_timeout_ms) +
               " ms; reconnecting");
    trace_.event(s.index, "reader timeout after " + std::to_string(*s.reader_timeout_ms) +
                              " ms: disconnected, card powered off");
    s.conn.reset();
    s.inbox.clear();
    s.unanswered_since.reset();
    if (s.card) s.card->chip.reset();
    s.connect_at = now + milliseconds(options_.reinsert_delay_ms);
  }
}

std::optional<Clock::time_point> Simulator::Impl::next_deadline() const {
  std::optional<Clock::time_point> t;
  auto consider = [&t](Clock::time_point p) {
    if (!t || p < *t) t = p;
  };
  for (const Slot& s : slots_) {
    if (s.card && !s.conn) consider(s.connect_at);
    if (s.pending) consider(s.pending->first);
    if (s.conn && s.unanswered_since && s.reader_timeout_ms)
      consider(*s.unanswered_since + milliseconds(*s.reader_timeout_ms));
  }
  return t;
}

void Simulator::Impl::service_connection(Slot& s, short revents) {
  if (s.conn->connecting() && (revents & (POLLOUT | POLLERR | POLLHUP))) {
    auto r = s.conn->on_writable();
    if (!r) {
      s.conn.reset();
      if (r.error().kind != vpcd::ConnectionError::Kind::refused || !s.refused_logged)
        log(s, "waiting for vpcd on " + options_.vpcd_host + ":" + std::to_string(s.port) + " (" +
                   r.error().message + ")");
      s.refused_logged = true;
      s.connect_at = Clock::now() + s.backoff;
      s.backoff = std::min(s.backoff * 2, kMaxBackoff);
      return;
    }
    on_connected(s);
    return;
  }
  if (revents & POLLOUT) {
    if (auto r = s.conn->on_writable(); !r) return connection_lost(s, r.error().message);
  }
  if (revents & (POLLIN | POLLHUP | POLLERR)) {
    auto got = s.conn->on_readable();
    if (!got) return connection_lost(s, got.error().message);
    for (Bytes& m : got->messages) s.inbox.push_back(std::move(m));
    drain(s);
    if (got->closed && s.conn) {
      // Messages sent just before the close were handled above.
      connection_lost(s, "closed by vpcd");
    }
  }
}

void Simulator::Impl::drain(Slot& s) {
  while (s.conn && !s.pending && !s.inbox.empty()) {
    Bytes m = std::move(s.inbox.front());
    s.inbox.pop_front();
    handle(s, m);
  }
}

void Simulator::Impl::send(Slot& s, const Bytes& payload) {
  if (!s.conn) return;
  if (auto r = s.conn->send(payload); !r) connection_lost(s, r.error().message);
}

void Simulator::Impl::power_on(Slot& s, const char* what) {
  InsertedCard& c = *s.card;
  c.chip.reset();
  c.torn = false;
  auto chip = card_os::Card::power_up(*c.injector, random_);
  if (!chip) {
    if (chip.error().error == card_os::CardError::power_lost) {
      c.torn = true;
      c.tear_at.reset();
      trace_.event(s.index, std::string(what) +
                                ": power lost at a torn write (mute until the next power-on)");
    } else {
      log(s, "power-on failed: " + chip.error().message());
      trace_.event(s.index, std::string(what) + " failed: " + chip.error().message());
    }
    return;
  }
  c.chip = std::move(*chip);
  c.remember();
  trace_.event(s.index, what, c.atr);
}

void Simulator::Impl::handle(Slot& s, const Bytes& payload) {
  if (!s.card) return;
  InsertedCard& c = *s.card;
  const vpcd::Message m = vpcd::classify(payload);
  if (m.kind != vpcd::Message::Kind::atr) s.unanswered_since.reset();
  switch (m.kind) {
    case vpcd::Message::Kind::power_off:
      c.chip.reset();
      trace_.event(s.index, "power off");
      return;
    case vpcd::Message::Kind::power_on:
      power_on(s, "power on");
      return;
    case vpcd::Message::Kind::reset:
      if (c.torn) {
        trace_.event(s.index, "reset: no effect, the card is torn (mute until power-on)");
      } else if (!c.chip) {
        power_on(s, "reset of an unpowered card: power on");
      } else {
        c.chip->reset();
        trace_.event(s.index, "reset", c.atr);
      }
      return;
    case vpcd::Message::Kind::atr:
      // Also vpcd's presence check, every few hundred ms: answered, never traced.
      c.remember();
      send(s, c.atr);
      return;
    case vpcd::Message::Kind::unknown_control: {
      char text[48];
      std::snprintf(text, sizeof text, "unknown control byte %02X ignored", m.control);
      trace_.event(s.index, text);
      return;
    }
    case vpcd::Message::Kind::apdu:
      handle_apdu(s, m.apdu);
      return;
  }
}

void Simulator::Impl::handle_apdu(Slot& s, ByteView apdu) {
  InsertedCard& c = *s.card;
  ++c.apdus;
  trace_.command(s.index, apdu);
  const char* silent = nullptr;
  if (s.mute)
    silent = "card mute";
  else if (c.torn)
    silent = "card torn (mute until power-on)";
  else if (!c.chip)
    silent = "card not powered";
  if (silent != nullptr) {
    trace_.no_answer(s.index, silent);
    s.unanswered_since = Clock::now();
    after_apdu(s);
    return;
  }
  Bytes response = c.chip->transmit(apdu);
  if (response.empty()) {
    // The fault injector cut the power at a write: whatever was committed is
    // in the image, the rest is gone, and the chip says nothing more.
    c.torn = true;
    c.tear_at.reset();
    trace_.event(s.index, "power lost at persistent write " + std::to_string(c.injector->writes()) +
                              " (tear)");
    trace_.no_answer(s.index, "card torn (mute until power-on)");
    s.unanswered_since = Clock::now();
    after_apdu(s);
    return;
  }
  c.remember();
  if (s.latency_ms > 0) {
    s.pending.emplace(Clock::now() + milliseconds(s.latency_ms), std::move(response));
    return;
  }
  respond(s, response);
}

void Simulator::Impl::respond(Slot& s, const Bytes& response) {
  trace_.response(s.index, response);
  send(s, response);
  after_apdu(s);
}

void Simulator::Impl::after_apdu(Slot& s) {
  if (!s.remove_after || !s.card) return;
  if (--*s.remove_after == 0) remove_card(s, "removed by remove-after");
}

// ---------------------------------------------------------------- loop

Result<void, std::string> Simulator::Impl::run(int stop_fd) {
  enum class Kind { stop, control, client, slot };
  struct Source {
    Kind kind;
    std::size_t index;
  };
  std::vector<pollfd> fds;
  std::vector<Source> sources;
  log("running: " + std::to_string(slots_.size()) + " slot(s), vpcd " + options_.vpcd_host + ":" +
      std::to_string(options_.port_base) +
      (options_.control_socket.empty() ? "" : ", control " + options_.control_socket));

  while (!stop_requested_) {
    const auto now = Clock::now();
    for (Slot& s : slots_) service_timers(s, now);

    fds.clear();
    sources.clear();
    auto add = [&](int fd, short events, Kind kind, std::size_t index) {
      fds.push_back(pollfd{fd, events, 0});
      sources.push_back(Source{kind, index});
    };
    if (stop_fd >= 0) add(stop_fd, POLLIN, Kind::stop, 0);
    if (control_.get() >= 0) add(control_.get(), POLLIN, Kind::control, 0);
    for (std::size_t i = 0; i < clients_.size(); ++i)
      add(clients_[i].fd.get(),
          static_cast<short>(POLLIN | (clients_[i].out.empty() ? 0 : POLLOUT)), Kind::client, i);
    for (std::size_t i = 0; i < slots_.size(); ++i)
      if (slots_[i].conn)
        add(slots_[i].conn->fd(), slots_[i].conn->poll_events(!slots_[i].pending), Kind::slot, i);

    int timeout = -1;
    if (auto t = next_deadline()) {
      const auto wait = std::chrono::ceil<milliseconds>(*t - Clock::now()).count();
      timeout = static_cast<int>(std::clamp<long long>(wait, 0, 60'000));
    }
    const int n = ::poll(fds.data(), fds.size(), timeout);
    if (n < 0) {
      if (errno == EINTR) continue;
      return unexpected("poll: " + errno_text(errno));
    }
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      const Source src = sources[i];
      switch (src.kind) {
        case Kind::stop:
          log("stopping");
          return {};
        case Kind::control:
          accept_control();
          break;
        case Kind::client:
          service_control(clients_[src.index], fds[i].revents);
          break;
        case Kind::slot: {
          Slot& s = slots_[src.index];
          // The connection may have been replaced while handling an earlier fd.
          if (s.conn && s.conn->fd() == fds[i].fd) service_connection(s, fds[i].revents);
          break;
        }
      }
    }
    std::erase_if(clients_, [](const ControlClient& c) { return c.fd.get() < 0; });
  }
  // "shutdown": the answer should reach its client before we go.
  for (ControlClient& c : clients_)
    if (!c.out.empty()) (void)::send(c.fd.get(), c.out.data(), c.out.size(), MSG_NOSIGNAL);
  log("stopping");
  return {};
}

// ---------------------------------------------------------------- facade

Simulator::Simulator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Simulator::~Simulator() = default;

Result<std::unique_ptr<Simulator>, std::string> Simulator::create(const Options& options) {
  auto impl = std::make_unique<Impl>(options);
  if (auto r = impl->init(); !r) return unexpected(r.error());
  return std::unique_ptr<Simulator>(new Simulator(std::move(impl)));
}

Result<void, std::string> Simulator::run(int stop_fd) {
  return impl_->run(stop_fd);
}

std::string Simulator::execute(std::string_view line) {
  return impl_->execute(line);
}

}  // namespace juki::sim
