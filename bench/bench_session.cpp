// Secure-channel benchmarks (specs/secure-channel.md), in-process: the card OS's Card
// behind juki::sim::InProcessTransport, the host's SecureSession over it. No PC/SC.
//
// 1. session_setup_us: SELECT of the application, the full mutual authentication
//    (SecureSession::open: VERIFY CERTIFICATE x2, GET CHALLENGE, EXTERNAL AUTHENTICATE,
//    GENERAL AUTHENTICATE) and the first secure-messaging APDU (a protected READ BINARY
//    of a 15-byte EF by SFI), a fresh authentication every time. Against the floor: the
//    sum of the raw cryptographic operations the protocol needs, each measured alone in
//    the same run with the same libraries (card: mbedTLS through card_os::certificate /
//    ecc / sm; host: OpenSSL through pki, host::crypto and host::sm). Each operation is
//    measured alone (floor_*_us, their sum session_crypto_floor_sum_us); then real sessions
//    and "floor sessions" (every operation once, in a row) run in alternating timed blocks
//    (11 rounds of 5 each), and session_setup_us, session_crypto_floor_us and
//    session_vs_floor_ratio are the medians over the rounds: both meet the same load.
// 2. sm_read256_us vs plain_read256_us: READ BINARY of a 256-byte EF whose read rule is
//    "always", plain (no session) and under a session (protected both ways).
//
// The card: tests/support/secure_layout.hpp, the tests' card (application "SEC", DF 7000,
// enrolled by issuer_tool/enrolment); EF 7002 (15 bytes, read: secure messaging, SFI 2) and
// EF 7005 (256 bytes, read: always, SFI 5).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "card_os/card/card.hpp"
#include "card_os/nvm/persistent_memory.hpp"
#include "card_os/nvm/storage.hpp"
#include "card_os/security/certificate.hpp"
#include "card_os/security/ecc.hpp"
#include "card_os/security/random.hpp"
#include "card_os/security/secure_messaging.hpp"
#include "common/bytes.hpp"
#include "common/iso7816/apdu.hpp"
#include "harness.hpp"
#include "host_middleware/crypto/host_crypto.hpp"
#include "host_middleware/personalization/personalization.hpp"
#include "host_middleware/secure_messaging/secure_messaging.hpp"
#include "host_middleware/session/secure_session.hpp"
#include "pki/pki.hpp"
#include "secure_pki.hpp"
#include "simulator/in_process.hpp"
#include "support/secure_layout.hpp"

using namespace juki;
using bench::die;
using bench::kReadSmEf;
using bench::kSelectSec;
using bench::sw_of;
using bench::take;
using bench::unix_now;
using test::kOpenEf;
using test::kSecret;
using test::kSmEf;

namespace {

Bytes hex(std::string_view text) {
  auto b = from_hex(text);
  if (!b) die("bad hex in the benchmark: " + std::string(text));
  return *b;
}

template <class T>
void check(const T& outcome, const char* step) {
  if (!outcome) die(std::string(step) + ": " + outcome.error().describe());
}

const Bytes kTransportKey = hex("404142434445464748494A4B4C4D4E4F");
const Bytes kAdminKey = hex("000102030405060708090A0B0C0D0E0F");
const Bytes kResetKey = hex("F0E1D2C3B4A5968778695A4B3C2D1E0F");
const Bytes kSerial = hex("0102030405060708");
const Bytes kReadOpenEf = apdu::encode_command(0x00, 0xB0, 0x85, 0x00, {}, 256);

// Microseconds per call from a measure() result (median, and the spread of its batches).
struct Us {
  double median, min, max;
};
Us us_of(const bench::Result& r) {
  return {1e6 / r.ops_per_second, 1e6 / r.max_ops_per_second, 1e6 / r.min_ops_per_second};
}
Us measure_us(const std::string& name, auto&& fn) {
  const Us u = us_of(bench::measure(name, fn));
  bench::report(name + "_us", u.median, "us");
  return u;
}

void append(Bytes& out, std::string_view s) {
  out.insert(out.end(), s.begin(), s.end());
}
void append(Bytes& out, ByteView b) {
  out.insert(out.end(), b.begin(), b.end());
}

}  // namespace

int main() {
  const bench::SecurePki p;
  const host::session::Credentials terminal = p.window_terminal();
  bench::InProcessSecureCard card(p, {kTransportKey, kAdminKey, kResetKey}, kSerial,
                                  "bench session card");
  std::uint64_t failures = 0;

  // ---------------------------------------------------------- 1. session set-up
  // A fresh authentication each call: SELECT starts a new one.
  auto setup_once = [&] {
    const bool ok = bench::session_setup(*card.transport, terminal);
    failures += !ok;
    return ok;
  };
  setup_once();
  if (failures != 0) die("session set-up: SELECT or the protected READ BINARY failed");

  // ---------------------------------------------------------- the floor's inputs
  const Bytes root_der = p.root.cert.der();
  const Bytes terminal_ca_der = terminal.ca.der();
  const Bytes terminal_der = terminal.certificate.der();
  const Bytes card_ca_der = p.card_ca.cert.der();
  const Bytes& card_der = card.card_cert_der;
  const auto anchor_info = take(card_os::certificate::parse(root_der), "parse root (card)");
  const auto terminal_ca_info =
      take(card_os::certificate::parse(terminal_ca_der), "parse terminal CA (card)");
  if (!card_os::certificate::signed_by(terminal_ca_info, anchor_info.key))
    die("terminal CA not signed by root (card)");

  card_os::DrbgRandom card_random(as_bytes("bench session floor"));
  const auto card_static = card_os::ecc::generate(card_random);  // stands for key 01
  const auto card_ephemeral = card_os::ecc::generate(card_random);
  const auto host_ephemeral = take(host::crypto::generate_p256(), "host ephemeral");
  const Bytes host_point = take(host::crypto::public_point(host_ephemeral.get()), "host point");
  const Bytes challenge(16, 0x5A);

  Bytes terminal_signed;  // step 4
  append(terminal_signed, "JUKI-TA1");
  append(terminal_signed, challenge);
  append(terminal_signed, host_point);
  const Bytes terminal_signature =
      take(host::crypto::ecdsa_sign(terminal.key.native(), terminal_signed), "terminal sign");
  const Bytes terminal_point = terminal.certificate.public_point();
  if (!card_os::ecc::verify(terminal_point, terminal_signed, terminal_signature))
    die("terminal signature does not verify (card)");

  Bytes card_signed;  // step 5
  append(card_signed, "JUKI-CA1");
  append(card_signed, challenge);
  append(card_signed, host_point);
  append(card_signed, card_ephemeral.point);
  append(card_signed, challenge);
  const auto card_signature = card_os::ecc::sign(card_static.secret, card_signed, card_random);
  if (!host::crypto::ecdsa_verify(card_static.point, card_signed, card_signature))
    die("card signature does not verify (host)");

  const auto z = card_os::ecc::ecdh(card_ephemeral.secret, host_point, card_random);
  if (!z) die("card ECDH failed");
  const Bytes z_bytes(z->begin(), z->end());
  if (take(host::crypto::ecdh(host_ephemeral.get(), card_ephemeral.point), "host ECDH") != z_bytes)
    die("card and host ECDH disagree");

  // One SM exchange at the session's start (SSC 0): host wrap, card unwrap + wrap, host
  // unwrap. Each measured call starts again from the keys at SSC 0.
  const auto host_keys0 =
      take(host::sm::derive_session_keys(z_bytes, host::sm::AesKeySize::aes256), "host keys");
  const auto card_keys0 =
      card_os::sm::derive_session_keys(z_bytes, card_os::sm::AesKeySize::aes256);
  Bytes wrapped_command, wrapped_response;
  {
    auto hk = host_keys0;
    auto ck = card_keys0;
    wrapped_command = take(host::sm::wrap_command(hk, kReadSmEf), "host wrap");
    auto plain = card_os::sm::unwrap_command(ck, wrapped_command);
    if (!plain) die("card unwrap failed");
    wrapped_response = card_os::sm::wrap_response(ck, kSecret, sw::kOk).encode();
    auto back = take(host::sm::unwrap_response(hk, wrapped_response), "host unwrap");
    if (back.data != kSecret) die("SM round trip changed the data");
  }

  // ---------------------------------------------------------- card side (mbedTLS)
  // Each operation is measured alone (floor_*_us), and all of them in a row make one
  // "floor session", timed interleaved with real sessions below.
  std::vector<std::pair<std::string, std::function<void()>>> ops;
  auto op = [&](std::string name, auto fn) {
    ops.emplace_back(std::move(name), [fn]() mutable { bench::detail::call(fn); });
  };
  std::uint64_t bad = 0;
  op("floor_card_anchor_parse", [&] {
    auto a = card_os::certificate::parse(root_der);
    bad += !a;
    return a.ok();
  });
  op("floor_card_cert_parse_verify_x2", [&] {
    auto ca = card_os::certificate::parse(terminal_ca_der);
    auto leaf = card_os::certificate::parse(terminal_der);
    bad += !ca || !leaf || !card_os::certificate::signed_by(*ca, anchor_info.key) ||
           !card_os::certificate::signed_by(*leaf, ca->key);
  });
  op("floor_card_ecdsa_verify",
     [&] { bad += !card_os::ecc::verify(terminal_point, terminal_signed, terminal_signature); });
  op("floor_card_keygen", [&] { return card_os::ecc::generate(card_random).point[1]; });
  op("floor_card_ecdh", [&] {
    auto s = card_os::ecc::ecdh(card_ephemeral.secret, host_point, card_random);
    bad += !s;
    return s ? (*s)[0] : 0;
  });
  op("floor_card_ecdsa_sign",
     [&] { return card_os::ecc::sign(card_static.secret, card_signed, card_random)[0]; });
  op("floor_card_kdf_x2", [&] {
    return card_os::sm::derive_session_keys(z_bytes, card_os::sm::AesKeySize::aes256).k_mac[0];
  });
  op("floor_card_sm_unwrap_wrap", [&] {
    auto k = card_keys0;
    auto plain = card_os::sm::unwrap_command(k, wrapped_command);
    bad += !plain;
    return card_os::sm::wrap_response(k, kSecret, sw::kOk).data.size();
  });

  // ---------------------------------------------------------- host side (OpenSSL)
  op("floor_host_keygen", [&] {
    auto k = host::crypto::generate_p256();
    bad += !k;
    if (!k) return std::size_t{0};
    auto pt = host::crypto::public_point(k->get());
    bad += !pt;
    return pt ? pt->size() : 0;
  });
  op("floor_host_ecdsa_sign", [&] {
    auto s = host::crypto::ecdsa_sign(terminal.key.native(), terminal_signed);
    bad += !s;
    return s ? s->size() : 0;
  });
  const std::int64_t now = unix_now();
  op("floor_host_card_chain", [&] {
    auto leaf = pki::Certificate::from_der(card_der);
    auto ca = pki::Certificate::from_der(card_ca_der);
    bad += !leaf || !ca || !pki::verify_chain(terminal.root, *ca, *leaf, now);
  });
  op("floor_host_ecdsa_verify",
     [&] { bad += !host::crypto::ecdsa_verify(card_static.point, card_signed, card_signature); });
  op("floor_host_ecdh", [&] {
    auto s = host::crypto::ecdh(host_ephemeral.get(), card_ephemeral.point);
    bad += !s;
    return s ? s->size() : 0;
  });
  op("floor_host_kdf_x2", [&] {
    auto k = host::sm::derive_session_keys(z_bytes, host::sm::AesKeySize::aes256);
    bad += !k;
    return k ? k->k_mac.size() : 0;
  });
  op("floor_host_sm_wrap_unwrap", [&] {
    auto k = host_keys0;
    auto w = host::sm::wrap_command(k, kReadSmEf);
    auto r = host::sm::unwrap_response(k, wrapped_response);
    bad += !w || !r;
    return r ? r->data.size() : 0;
  });
  double floor_sum_us = 0;
  for (auto& [name, fn] : ops) floor_sum_us += measure_us(name, fn).median;
  if (bad != 0) die("a floor operation failed in its hot loop");
  bench::report("session_crypto_floor_sum_us", floor_sum_us, "us");

  // Real sessions and floor sessions in alternating timed blocks, so that both meet the
  // same machine state (a shared VM's load drifts); medians over the rounds.
  constexpr int kRounds = 11;
  constexpr int kPerBlock = 5;
  std::vector<double> setup_us, floor_us, ratios;
  for (int round = 0; round < kRounds; ++round) {
    const double s = bench::time_once([&] {
                       for (int i = 0; i < kPerBlock; ++i) bench::do_not_optimize(setup_once());
                     }) *
                     1e6 / kPerBlock;
    const double f = bench::time_once([&] {
                       for (int i = 0; i < kPerBlock; ++i)
                         for (auto& entry : ops) entry.second();
                     }) *
                     1e6 / kPerBlock;
    setup_us.push_back(s);
    floor_us.push_back(f);
    ratios.push_back(s / f);
  }
  if (failures != 0) die("session set-up: a step failed in the hot loop");
  if (bad != 0) die("a floor operation failed in its hot loop");
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  auto spread = [](const char* name, const std::vector<double>& v) {
    std::fprintf(stderr, "# %s: min %.4g, max %.4g over %zu rounds\n", name,
                 *std::min_element(v.begin(), v.end()), *std::max_element(v.begin(), v.end()),
                 v.size());
  };
  spread("session_setup_us", setup_us);
  spread("session_crypto_floor_us", floor_us);
  spread("session_vs_floor_ratio", ratios);
  bench::report("session_setup_us", median(setup_us), "us");
  bench::report("session_crypto_floor_us", median(floor_us), "us");
  bench::report("session_vs_floor_ratio", median(ratios), "ratio");

  // ---------------------------------------------------------- 2. SM overhead, 256 bytes
  failures = 0;
  failures += sw_of(card.send(kSelectSec)) != sw::kOk;  // no session
  const Us plain = measure_us("plain_read256", [&] {
    const Bytes r = card.send(kReadOpenEf);
    failures += sw_of(r) != sw::kOk || r.size() != 258;
    return r.size();
  });
  if (failures != 0) die("plain READ BINARY 256 did not answer 9000 with 256 bytes");

  failures += sw_of(card.send(kSelectSec)) != sw::kOk;
  auto session = take(host::session::SecureSession::open(*card.transport, terminal, unix_now()),
                      "SecureSession::open");
  const Us protected_read = measure_us("sm_read256", [&] {
    auto r = session->transmit(kReadOpenEf);
    if (!r) die("protected READ BINARY 256: " + r.error().message);
    failures += sw_of(*r) != sw::kOk || r->size() != 258;
    return r->size();
  });
  if (failures != 0) die("protected READ BINARY 256 did not answer 9000 with 256 bytes");
  bench::report("sm_read256_overhead_ratio", protected_read.median / plain.median, "ratio");
  return 0;
}
