// The vpcd wire protocol module: framing codec and the TCP connection.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "simulator/vpcd/connection.hpp"
#include "simulator/vpcd/framing.hpp"
#include "vpcd_peer.hpp"

using namespace juki;
using namespace juki::vpcd;

namespace {

Bytes frame(ByteView payload) {
  auto f = encode(payload);
  REQUIRE(f.ok());
  return *f;
}

// Every payload the decoder gives back, failing the test on a framing error.
std::vector<Bytes> drain(FrameDecoder& d) {
  std::vector<Bytes> out;
  for (;;) {
    auto m = d.next();
    REQUIRE(m.ok());
    if (!m->has_value()) return out;
    out.push_back(**m);
  }
}

}  // namespace

TEST_CASE("encode: 2-byte big-endian length, then the payload") {
  CHECK(frame(Bytes{0x04}) == Bytes{0x00, 0x01, 0x04});
  CHECK(frame(Bytes{0x00, 0xA4, 0x00, 0x0C}) == Bytes{0x00, 0x04, 0x00, 0xA4, 0x00, 0x0C});
  Bytes big(0x1234, 0xAB);
  Bytes f = frame(big);
  REQUIRE(f.size() == 0x1234 + 2);
  CHECK(f[0] == 0x12);
  CHECK(f[1] == 0x34);
  CHECK(frame(Bytes(kMaxPayload, 1)).size() == kMaxPayload + 2);
}

TEST_CASE("encode refuses payloads the length field cannot carry, and empty ones") {
  auto over = encode(Bytes(kMaxPayload + 1, 0));
  REQUIRE_FALSE(over.ok());
  CHECK(over.error() == FramingError::oversize);
  auto empty = encode(Bytes{});
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.error() == FramingError::empty);
  CHECK(std::string(describe(FramingError::oversize)).find("longer") != std::string::npos);
}

TEST_CASE("decoder: a message split between length and payload (vpcd 3.3's two sends)") {
  FrameDecoder d;
  d.feed(Bytes{0x00, 0x05});
  CHECK(drain(d).empty());
  CHECK(d.buffered() == 2);
  d.feed(Bytes{0x00, 0xA4, 0x04, 0x00, 0x00});
  auto got = drain(d);
  REQUIRE(got.size() == 1);
  CHECK(got[0] == Bytes{0x00, 0xA4, 0x04, 0x00, 0x00});
  CHECK(d.buffered() == 0);
}

TEST_CASE("decoder: one byte at a time, and several messages in one read") {
  Bytes stream;
  const std::vector<Bytes> sent = {
      {0x01}, {0x04}, Bytes(300, 0x5A), {0x00, 0x84, 0x00, 0x00, 0x08}, {0x00}};
  for (const Bytes& m : sent) {
    Bytes f = frame(m);
    stream.insert(stream.end(), f.begin(), f.end());
  }
  SECTION("byte by byte") {
    FrameDecoder d;
    std::vector<Bytes> got;
    for (std::uint8_t b : stream) {
      d.feed(Bytes{b});
      for (Bytes& m : drain(d)) got.push_back(m);
    }
    CHECK(got == sent);
  }
  SECTION("all at once") {
    FrameDecoder d;
    d.feed(stream);
    CHECK(drain(d) == sent);
  }
  SECTION("in uneven pieces") {
    FrameDecoder d;
    std::vector<Bytes> got;
    std::size_t at = 0, step = 1;
    while (at < stream.size()) {
      const std::size_t n = std::min(step, stream.size() - at);
      d.feed(ByteView(stream).subspan(at, n));
      at += n;
      step = step * 3 % 17 + 1;
      for (Bytes& m : drain(d)) got.push_back(m);
    }
    CHECK(got == sent);
  }
}

TEST_CASE("decoder: a length above the limit and a zero length are errors") {
  FrameDecoder limited(256);
  limited.feed(Bytes{0x01, 0x01});  // 257
  auto m = limited.next();
  REQUIRE_FALSE(m.ok());
  CHECK(m.error() == FramingError::oversize);

  FrameDecoder d;
  d.feed(Bytes{0x00, 0x00, 0x00, 0x01, 0x01});
  auto e = d.next();
  REQUIRE_FALSE(e.ok());
  CHECK(e.error() == FramingError::empty);
}

TEST_CASE("decoder: a long stream in pieces that never line up with messages") {
  // Exercises the compaction of consumed bytes while a partial message waits.
  Bytes stream;
  for (int i = 0; i < 200; ++i) {
    Bytes f = frame(Bytes(1000, static_cast<std::uint8_t>(i)));
    stream.insert(stream.end(), f.begin(), f.end());
  }
  FrameDecoder d;
  std::vector<Bytes> got;
  for (std::size_t at = 0; at < stream.size(); at += 1500) {
    d.feed(ByteView(stream).subspan(at, std::min<std::size_t>(1500, stream.size() - at)));
    for (Bytes& m : drain(d)) got.push_back(m);
    CHECK(d.buffered() < 1002);
  }
  REQUIRE(got.size() == 200);
  for (int i = 0; i < 200; ++i) CHECK(got[i] == Bytes(1000, static_cast<std::uint8_t>(i)));
}

TEST_CASE("classify: 1-byte payloads are control bytes, longer ones APDUs") {
  CHECK(classify(Bytes{0x00}).kind == Message::Kind::power_off);
  CHECK(classify(Bytes{0x01}).kind == Message::Kind::power_on);
  CHECK(classify(Bytes{0x02}).kind == Message::Kind::reset);
  CHECK(classify(Bytes{0x04}).kind == Message::Kind::atr);
  auto unknown = classify(Bytes{0x03});
  CHECK(unknown.kind == Message::Kind::unknown_control);
  CHECK(unknown.control == 0x03);
  const Bytes apdu{0x00, 0xA4};
  auto a = classify(apdu);
  CHECK(a.kind == Message::Kind::apdu);
  CHECK(a.apdu.size() == 2);
  CHECK(a.apdu.data() == apdu.data());
  CHECK(std::string(describe(Message::Kind::atr)) == "ATR request");
}

TEST_CASE("Connection: connects, sets TCP_NODELAY, frames both ways") {
  test::VpcdPeer vpcd;
  auto c = Connection::start("127.0.0.1", vpcd.port());
  REQUIRE(c.ok());
  REQUIRE(vpcd.accept(10000));
  // Finish the non-blocking connect.
  for (int i = 0; i < 100 && c->connecting(); ++i) {
    pollfd p{c->fd(), c->poll_events(), 0};
    REQUIRE(::poll(&p, 1, 10000) == 1);
    REQUIRE(c->on_writable().ok());
  }
  REQUIRE_FALSE(c->connecting());
  int nodelay = 0;
  socklen_t len = sizeof nodelay;
  REQUIRE(::getsockopt(c->fd(), IPPROTO_TCP, TCP_NODELAY, &nodelay, &len) == 0);
  CHECK(nodelay != 0);

  // vpcd 3.3 style: length and payload in two sends.
  REQUIRE(vpcd.send_split(Bytes{0x00, 0xB0, 0x00, 0x00, 0x04}));
  REQUIRE(vpcd.send_split(Bytes{0x04}));
  std::vector<Bytes> got;
  while (got.size() < 2) {
    pollfd p{c->fd(), c->poll_events(), 0};
    REQUIRE(::poll(&p, 1, 10000) == 1);
    auto r = c->on_readable();
    REQUIRE(r.ok());
    REQUIRE_FALSE(r->closed);
    for (auto& m : r->messages) got.push_back(m);
  }
  CHECK(got[0] == Bytes{0x00, 0xB0, 0x00, 0x00, 0x04});
  CHECK(got[1] == Bytes{0x04});

  REQUIRE(c->send(Bytes{0x90, 0x00}).ok());
  auto answer = vpcd.read_frame(10000);
  REQUIRE(answer.has_value());
  CHECK(*answer == Bytes{0x90, 0x00});

  // The peer goes away: reported as closed, not as an error.
  vpcd.close_client();
  bool closed = false;
  for (int i = 0; i < 100 && !closed; ++i) {
    pollfd p{c->fd(), c->poll_events(), 0};
    REQUIRE(::poll(&p, 1, 10000) == 1);
    auto r = c->on_readable();
    REQUIRE(r.ok());
    closed = r->closed;
  }
  CHECK(closed);
}

TEST_CASE("Connection: nobody listening is 'refused'") {
  // A port that was free a moment ago.
  std::uint16_t port = 0;
  {
    test::VpcdPeer probe;
    port = probe.port();
  }
  auto c = Connection::start("127.0.0.1", port);
  if (c.ok()) {
    REQUIRE(c->connecting());
    pollfd p{c->fd(), c->poll_events(), 0};
    REQUIRE(::poll(&p, 1, 10000) == 1);
    auto r = c->on_writable();
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ConnectionError::Kind::refused);
  } else {
    CHECK(c.error().kind == ConnectionError::Kind::refused);
  }
}

TEST_CASE("Connection: a broken stream is a framing error") {
  test::VpcdPeer vpcd;
  auto c = Connection::start("127.0.0.1", vpcd.port());
  REQUIRE(c.ok());
  REQUIRE(vpcd.accept(10000));
  REQUIRE(vpcd.send_raw(Bytes{0x00, 0x00}));
  for (int i = 0; i < 100; ++i) {
    pollfd p{c->fd(), static_cast<short>(c->poll_events() | POLLIN), 0};
    REQUIRE(::poll(&p, 1, 10000) == 1);
    if (c->connecting()) {
      REQUIRE(c->on_writable().ok());
      continue;
    }
    auto r = c->on_readable();
    if (r.ok()) continue;
    CHECK(r.error().kind == ConnectionError::Kind::framing);
    return;
  }
  FAIL("no framing error reported");
}
