// The simulator's control side: the control socket and its clients, and each
// command carried out on the slots (control_protocol.cpp parses them).
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <system_error>

#include "simulator/sim/control_protocol.hpp"
#include "simulator/sim/simulator_impl.hpp"

namespace juki::sim {

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
  if (auto* c = std::get_if<control::Misanswer>(&cmd)) {
    auto s = slot(c->slot);
    if (!s) return fail(s.error());
    (*s)->misanswer = c->rule;
    if (!c->rule) return "ok slot " + std::to_string(c->slot) + " misanswer off";
    return "ok slot " + std::to_string(c->slot) + " answers " + to_hex(c->rule->response) +
           " to commands beginning " + to_hex(c->rule->prefix);
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
    faults["misanswer"] = s.misanswer ? json{{"prefix", to_hex(s.misanswer->prefix)},
                                             {"response", to_hex(s.misanswer->response)}}
                                      : json(nullptr);
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

}  // namespace juki::sim
