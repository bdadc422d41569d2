// A card's TCP connection to vpcd, for a poll() event loop: non-blocking
// connect, vpcd framing both ways, and the socket options that keep a round
// trip fast. vpcd 3.3 writes the length and the payload of a message in two
// sends; with Nagle and delayed ACKs on, each exchange stalls ~40 ms. So
// TCP_NODELAY is set once and TCP_QUICKACK (which Linux clears by itself) is
// re-armed before every read.
#pragma once

#include <poll.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/bytes.hpp"
#include "common/result.hpp"
#include "simulator/vpcd/framing.hpp"

namespace juki::vpcd {

struct ConnectionError {
  enum class Kind : std::uint8_t {
    refused,  // nobody listening (vpcd not loaded yet): retry later
    io,       // socket error
    framing,  // the peer broke the protocol
  };
  Kind kind;
  std::string message;
};

struct Received {
  std::vector<Bytes> messages;  // complete payloads, in order
  bool closed = false;          // the peer closed after sending them
};

class Connection {
 public:
  // Starts a non-blocking connect to host:port (a numeric address or a name).
  // Completion is reported by poll(POLLOUT) and on_writable().
  static Result<Connection, ConnectionError> start(const std::string& host, std::uint16_t port);
  // Adopts a connected socket (for example one from accept()); made non-blocking.
  static Connection adopt(int fd);

  Connection(Connection&& other) noexcept;
  Connection& operator=(Connection&& other) noexcept;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  int fd() const { return fd_; }
  bool connecting() const { return connecting_; }
  bool output_pending() const { return sent_ < out_.size(); }

  // Events to poll for. `want_input` false stops reading (back-pressure: the
  // caller still has messages to work through).
  short poll_events(bool want_input = true) const;

  // poll() reported POLLOUT: completes a pending connect (an error of kind
  // refused when nobody listens), then flushes queued output.
  Result<void, ConnectionError> on_writable();
  // poll() reported POLLIN, POLLHUP or POLLERR: reads everything available.
  Result<Received, ConnectionError> on_readable();
  // Frames a payload and sends it, queueing what the socket does not take.
  Result<void, ConnectionError> send(ByteView payload);

  void close();

 private:
  explicit Connection(int fd, bool connecting);
  Result<void, ConnectionError> flush();
  Result<void, ConnectionError> set_options();

  int fd_ = -1;
  bool connecting_ = false;
  FrameDecoder decoder_;
  Bytes out_;
  std::size_t sent_ = 0;
};

}  // namespace juki::vpcd
