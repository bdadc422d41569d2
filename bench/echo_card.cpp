// juki-echo-card [--port PORT] [--host HOST]
//
// The floor of the PC/SC -> pcscd -> vpcd -> card path for bench_pcsc: a card
// speaking vpcd's protocol (juki_vpcd) that does no work at all. It connects
// to HOST:PORT (default 127.0.0.1:35963, retrying while vpcd is not there),
// answers the ATR request with a fixed T=1 ATR and every APDU with 90 00, and
// ignores power off/on and reset. When vpcd closes the connection it
// connects again. SIGTERM / SIGINT end it (default action).
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "common/bytes.hpp"
#include "simulator/vpcd/connection.hpp"
#include "simulator/vpcd/framing.hpp"

namespace {

using juki::Bytes;
namespace vpcd = juki::vpcd;

// 3B 80 80 01 01: direct convention, no historical bytes; TD1 (T=0) and TD2
// announce T=1 only, so TCK (01) follows.
const Bytes kAtr = {0x3B, 0x80, 0x80, 0x01, 0x01};
const Bytes kOk = {0x90, 0x00};

void usage(std::FILE* out) {
  std::fputs("usage: juki-echo-card [--port PORT] [--host HOST]\n", out);
}

// Serves one connection until it closes, is refused or breaks.
void serve(vpcd::Connection& conn) {
  for (;;) {
    pollfd pfd{conn.fd(), conn.poll_events(), 0};
    if (::poll(&pfd, 1, -1) < 0) continue;  // EINTR
    if ((pfd.revents & POLLOUT) != 0) {
      auto w = conn.on_writable();
      if (!w) return;
    }
    if ((pfd.revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
    auto r = conn.on_readable();
    if (!r) return;
    for (const Bytes& payload : r->messages) {
      const vpcd::Message m = vpcd::classify(payload);
      if (m.kind == vpcd::Message::Kind::atr) {
        if (!conn.send(kAtr)) return;
      } else if (m.kind == vpcd::Message::Kind::apdu) {
        if (!conn.send(kOk)) return;
      }
      // power_off, power_on, reset, unknown control bytes: nothing to answer.
    }
    if (r->closed) return;
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  std::uint16_t port = vpcd::kDefaultPort;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      usage(stdout);
      return 0;
    }
    if ((arg == "--port" || arg == "--host") && i + 1 < argc) {
      const std::string value = argv[++i];
      if (arg == "--host") {
        host = value;
        continue;
      }
      char* end = nullptr;
      const unsigned long p = std::strtoul(value.c_str(), &end, 10);
      if (end == value.c_str() || *end != '\0' || p == 0 || p > 0xFFFF) {
        std::fprintf(stderr, "juki-echo-card: bad port: %s\n", value.c_str());
        return 2;
      }
      port = static_cast<std::uint16_t>(p);
      continue;
    }
    usage(stderr);
    return 2;
  }

  for (;;) {
    auto started = vpcd::Connection::start(host, port);
    if (!started) {
      std::fprintf(stderr, "juki-echo-card: %s\n", started.error().message.c_str());
      return 1;
    }
    vpcd::Connection conn = std::move(*started);
    // A refused connect (vpcd not loaded yet), a closed or broken connection:
    // connect again after a pause.
    serve(conn);
    conn.close();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}
