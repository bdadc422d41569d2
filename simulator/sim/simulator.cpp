// The simulator's vpcd side: reader slots talking vpcd framing to pcscd, the
// cards' power and APDUs, faults as they strike, and the poll() loop.
#include "simulator/sim/simulator.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <system_error>

#include "simulator/sim/control_protocol.hpp"
#include "simulator/sim/simulator_impl.hpp"

namespace juki::sim {

std::string errno_text(int err) {
  return std::error_code(err, std::generic_category()).message();
}

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
  auto storage = sim::FileStorage::open(c.image);
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
  if (s.misanswer && apdu.size() >= s.misanswer->prefix.size() &&
      std::equal(s.misanswer->prefix.begin(), s.misanswer->prefix.end(), apdu.begin())) {
    trace_.event(s.index, "misanswer: the card's own answer, replaced", response);
    response = s.misanswer->response;
  }
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
