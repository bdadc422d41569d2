// A stand-in for vsmartcard-vpcd in tests: listens on a loopback port, accepts
// the card's connection and speaks vpcd's side of the protocol, writing the
// length and the payload of each message in two sends as vpcd 3.3 does.
// Blocking calls with generous timeouts; nothing here depends on timing
// otherwise.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <optional>

#include "common/bytes.hpp"

namespace juki::test {

inline constexpr int kGenerousMs = 20000;

class VpcdPeer {
 public:
  // Listens on 127.0.0.1:port; port 0 picks a free one. The test fails if it cannot.
  explicit VpcdPeer(std::uint16_t port = 0) { REQUIRE(listen_on(port)); }
  // nullptr when the port is taken.
  static std::unique_ptr<VpcdPeer> try_listen(std::uint16_t port) {
    std::unique_ptr<VpcdPeer> p(new VpcdPeer(Tag{}));
    if (!p->listen_on(port)) return nullptr;
    return p;
  }
  ~VpcdPeer() {
    close_client();
    if (listener_ >= 0) ::close(listener_);
  }
  VpcdPeer(const VpcdPeer&) = delete;
  VpcdPeer& operator=(const VpcdPeer&) = delete;

  std::uint16_t port() const { return port_; }
  bool connected() const { return client_ >= 0; }

  // Waits for the card to connect (replacing a previous connection).
  bool accept(int timeout_ms = kGenerousMs) {
    pollfd p{listener_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) != 1) return false;
    close_client();
    client_ = ::accept(listener_, nullptr, nullptr);
    return client_ >= 0;
  }

  // False when the card has closed the connection (tests of removal expect that).
  bool send_raw(ByteView bytes) {
    REQUIRE(client_ >= 0);
    std::size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::send(client_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return false;
      done += static_cast<std::size_t>(n);
    }
    return true;
  }
  bool send_split(ByteView payload) {
    std::uint8_t len[2];
    store_be16(len, static_cast<std::uint16_t>(payload.size()));
    return send_raw(ByteView(len, 2)) && send_raw(payload);
  }
  void control(std::uint8_t byte) { REQUIRE(send_split(Bytes{byte})); }
  void power_on() { control(1); }
  void power_off() { control(0); }
  void reset() { control(2); }

  // The next message from the card; nullopt on timeout or when the card closed.
  std::optional<Bytes> read_frame(int timeout_ms = kGenerousMs) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      if (in_.size() >= 2) {
        const std::size_t len = load_be16(in_.data());
        if (in_.size() >= 2 + len) {
          Bytes payload(in_.begin() + 2, in_.begin() + 2 + static_cast<std::ptrdiff_t>(len));
          in_.erase(in_.begin(), in_.begin() + 2 + static_cast<std::ptrdiff_t>(len));
          return payload;
        }
      }
      if (!fill(deadline)) return std::nullopt;
    }
  }

  // An APDU and its response; nullopt when none came.
  std::optional<Bytes> transmit(ByteView apdu, int timeout_ms = kGenerousMs) {
    if (!send_split(apdu)) return std::nullopt;
    return read_frame(timeout_ms);
  }
  Bytes atr() {
    control(4);
    auto a = read_frame();
    REQUIRE(a.has_value());
    return *a;
  }

  // True when the card closes the connection (after any messages it still sends).
  bool wait_closed(int timeout_ms = kGenerousMs) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (client_ >= 0) {
      if (!fill(deadline)) return closed_;
    }
    return true;
  }
  bool closed() const { return closed_; }

  void close_client() {
    if (client_ >= 0) ::close(client_);
    client_ = -1;
    in_.clear();
    closed_ = false;
  }

 private:
  struct Tag {};
  explicit VpcdPeer(Tag) {}

  bool listen_on(std::uint16_t port) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listener_ < 0) return false;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(listener_, 4) != 0) {
      ::close(listener_);
      listener_ = -1;
      return false;
    }
    socklen_t len = sizeof a;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    return true;
  }

  // Reads more bytes; false on timeout or close.
  bool fill(std::chrono::steady_clock::time_point deadline) {
    if (client_ < 0 || closed_) return false;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    if (left <= 0) return false;
    pollfd p{client_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) != 1) return false;
    std::uint8_t buf[4096];
    const ssize_t n = ::recv(client_, buf, sizeof buf, 0);
    if (n <= 0) {
      closed_ = true;
      return false;
    }
    in_.insert(in_.end(), buf, buf + n);
    return true;
  }

  int listener_ = -1;
  int client_ = -1;
  std::uint16_t port_ = 0;
  Bytes in_;
  bool closed_ = false;
};

// Two listeners on consecutive ports (slots 0 and 1 of one simulator).
struct VpcdPair {
  std::unique_ptr<VpcdPeer> first, second;
  VpcdPair() {
    for (int attempt = 0; attempt < 50 && !second; ++attempt) {
      first = std::make_unique<VpcdPeer>();
      if (first->port() == 0xFFFF) continue;
      second = VpcdPeer::try_listen(static_cast<std::uint16_t>(first->port() + 1));
    }
    REQUIRE(second);
  }
};

}  // namespace juki::test
