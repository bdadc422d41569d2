#include "simulator/vpcd/connection.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <utility>

namespace juki::vpcd {

namespace {

std::string errno_text(int err) {
  return std::error_code(err, std::generic_category()).message();
}

ConnectionError io_error(const std::string& what, int err) {
  return ConnectionError{ConnectionError::Kind::io, what + ": " + errno_text(err)};
}

bool set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  return flags >= 0 && ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

}  // namespace

Connection::Connection(int fd, bool connecting) : fd_(fd), connecting_(connecting) {}

Connection::Connection(Connection&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      connecting_(other.connecting_),
      decoder_(std::move(other.decoder_)),
      out_(std::move(other.out_)),
      sent_(std::exchange(other.sent_, 0)) {}

Connection& Connection::operator=(Connection&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    connecting_ = other.connecting_;
    decoder_ = std::move(other.decoder_);
    out_ = std::move(other.out_);
    sent_ = std::exchange(other.sent_, 0);
  }
  return *this;
}

Connection::~Connection() {
  close();
}

void Connection::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  connecting_ = false;
  decoder_.clear();
  out_.clear();
  sent_ = 0;
}

Result<Connection, ConnectionError> Connection::start(const std::string& host, std::uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0)
    return unexpected(ConnectionError{ConnectionError::Kind::io,
                                      "cannot resolve '" + host + "': " + ::gai_strerror(rc)});
  const int fd = ::socket(found->ai_family, found->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                          found->ai_protocol);
  if (fd < 0) {
    const int err = errno;
    ::freeaddrinfo(found);
    return unexpected(io_error("socket", err));
  }
  const int rc = ::connect(fd, found->ai_addr, found->ai_addrlen);
  const int err = errno;
  ::freeaddrinfo(found);
  Connection c(fd, true);
  if (rc == 0) {
    c.connecting_ = false;
    if (auto r = c.set_options(); !r) return unexpected(r.error());
  } else if (err == ECONNREFUSED) {
    return unexpected(ConnectionError{ConnectionError::Kind::refused, errno_text(err)});
  } else if (err != EINPROGRESS) {
    return unexpected(io_error("connect", err));
  }
  return c;
}

Connection Connection::adopt(int fd) {
  set_nonblocking(fd);
  Connection c(fd, false);
  (void)c.set_options();  // best effort: a socket that is not TCP still works, only slower
  return c;
}

Result<void, ConnectionError> Connection::set_options() {
  const int one = 1;
  if (::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
    return unexpected(io_error("TCP_NODELAY", errno));
  return {};
}

short Connection::poll_events(bool want_input) const {
  if (fd_ < 0) return 0;
  if (connecting_) return POLLOUT;
  short events = want_input ? POLLIN : 0;
  if (output_pending()) events |= POLLOUT;
  return events;
}

Result<void, ConnectionError> Connection::on_writable() {
  if (connecting_) {
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err == ECONNREFUSED)
      return unexpected(ConnectionError{ConnectionError::Kind::refused, errno_text(err)});
    if (err != 0) return unexpected(io_error("connect", err));
    connecting_ = false;
    if (auto r = set_options(); !r) return r;
  }
  return flush();
}

Result<Received, ConnectionError> Connection::on_readable() {
  Received got;
  std::uint8_t buf[4096];
  for (;;) {
    // Linux drops back to delayed ACKs after a while; re-arm before every read.
    const int one = 1;
    (void)::setsockopt(fd_, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n > 0) {
      decoder_.feed(ByteView(buf, static_cast<std::size_t>(n)));
      if (static_cast<std::size_t>(n) < sizeof buf) break;  // drained; skip a useless EAGAIN
      continue;
    }
    if (n == 0) {
      got.closed = true;
      break;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    if (errno == ECONNRESET) {
      got.closed = true;
      break;
    }
    return unexpected(io_error("recv", errno));
  }
  for (;;) {
    auto m = decoder_.next();
    if (!m) return unexpected(ConnectionError{ConnectionError::Kind::framing, describe(m.error())});
    if (!m->has_value()) break;
    got.messages.push_back(std::move(**m));
  }
  return got;
}

Result<void, ConnectionError> Connection::send(ByteView payload) {
  auto framed = encode(payload);
  if (!framed)
    return unexpected(ConnectionError{ConnectionError::Kind::framing, describe(framed.error())});
  if (!output_pending()) {
    out_.clear();
    sent_ = 0;
  }
  out_.insert(out_.end(), framed->begin(), framed->end());
  if (connecting_) return {};  // sent once the connect completes
  return flush();
}

Result<void, ConnectionError> Connection::flush() {
  while (sent_ < out_.size()) {
    const ssize_t n = ::send(fd_, out_.data() + sent_, out_.size() - sent_, MSG_NOSIGNAL);
    if (n > 0) {
      sent_ += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return {};
    return unexpected(io_error("send", n < 0 ? errno : EIO));
  }
  out_.clear();
  sent_ = 0;
  return {};
}

}  // namespace juki::vpcd
