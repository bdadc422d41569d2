// The card's secret comparisons take the same time whatever the wrong value
// (issue 14, specs/card-os.md 7.5): a dudect-style Welch t-test
// (host_middleware/audit/timing) over the real APDU path of an in-process
// card, with two classes of wrong input interleaved in random order, for PIN
// VERIFY (JPKI) and the Juki AP's password, the transport key's proof, the
// MAC of secure messaging and the terminal's signature in mutual
// authentication. A self-test first shows that the same harness finds an
// early-exit comparison of realistic cost in the same path.
//
// Only the command through Card::transmit is timed; choosing the input, the
// host's cryptography, the check of the answer and undoing what the attempt
// spent (a right VERIFY restores the tries, a memory image restored, a power
// cycle ends the authentication count) happen outside the timed region.
#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include "common/iso7816/tlv.hpp"
#include "common/layout/jpki.hpp"
#include "common/layout/juki_ap.hpp"
#include "common/secure_channel.hpp"
#include "host_middleware/audit/timing.hpp"
#include "host_middleware/crypto/host_crypto.hpp"
#include "host_middleware/secure_messaging/secure_messaging.hpp"
#include "host_middleware/session/personalization_session.hpp"
#include "support/secure_card.hpp"
#include "support/test_card.hpp"

using namespace juki;
using namespace juki::test;
using juki::host::audit::describe;
using juki::host::audit::InputClass;
using juki::host::audit::TimingOptions;
using juki::host::audit::TimingReport;
using juki::host::audit::TimingTest;
using juki::host::audit::Verdict;

namespace {

// ASan and UBSan slow every memory access and check, by amounts that depend
// on the data: timings under them say nothing about the card's code.
#if defined(JUKI_SANITIZE)
constexpr bool kTimingDistorted = true;
#else
constexpr bool kTimingDistorted = false;
#endif
#define SKIP_WHEN_DISTORTED()                                           \
  do {                                                                  \
    if (kTimingDistorted) {                                             \
      WARN("skipped: built with sanitizers, which distort the timing"); \
      return;                                                           \
    }                                                                   \
  } while (false)

using Clock = std::chrono::steady_clock;

// One secret comparison of the card, measured attempt by attempt.
struct Target {
  std::string name;
  // Outside the timed region: readies the card for one attempt with an input
  // of class `c` and returns the command to time.
  std::function<Bytes(InputClass c)> prepare;
  // The timed region: the command through the card's APDU handler.
  std::function<Bytes(const Bytes& command)> attempt;
  // Outside again: checks the answer and undoes what the attempt spent.
  std::function<void(const Bytes& response)> settle;
};

// The test's options for `attempts` measurements: the crops' thresholds
// from the first thousand, and a test counted with at least a twentieth of
// the measurements in each class (at least 100: a t of fewer is not normal).
TimingOptions options_for(std::size_t attempts) {
  TimingOptions o;
  o.calibration = std::min<std::size_t>(1000, attempts);
  o.min_per_class = std::max<std::size_t>(100, attempts / 20);
  return o;
}

// Attempts in random class order (the order's seed: `seed`), each timed with
// the steady clock around the attempt alone. A warm-up of a twentieth of the
// attempts (at most 200) runs first and is not counted: first-touch page
// faults and cold caches.
TimingReport measure(const Target& target, std::size_t attempts, std::uint64_t seed) {
  auto test = TimingTest::create(options_for(attempts));
  REQUIRE(test.ok());
  const std::size_t warm_up = std::min<std::size_t>(200, attempts / 20);
  std::mt19937_64 order(seed);
  for (std::size_t i = 0; i < warm_up + attempts; ++i) {
    const InputClass c = (order() & 1) != 0 ? InputClass::b : InputClass::a;
    const Bytes command = target.prepare(c);
    const auto start = Clock::now();
    const Bytes response = target.attempt(command);
    const auto stop = Clock::now();
    target.settle(response);
    if (i < warm_up) continue;
    const auto ns = std::chrono::duration<double, std::nano>(stop - start).count();
    if (!test->add(c, ns).ok()) FAIL("a measurement the test refuses: " << ns);
  }
  return test->report();
}

// The check of constant-time code: no leak at this sample size. A loaded CI
// machine can still disturb one run in a way the crops do not remove (a
// frequency change landing on one class more than the other), so a leak is
// measured once more, with another order, and only a leak seen twice fails.
// The figures go to the test's output either way (Catch's WARN).
void expect_no_leak(const Target& target, std::size_t attempts) {
  const TimingReport first = measure(target, attempts, 1);
  WARN(target.name << ": " << describe(first, "ns"));
  if (first.verdict == Verdict::leak) {
    const TimingReport again = measure(target, attempts, 2);
    WARN(target.name << " (again): " << describe(again, "ns"));
    CHECK(again.verdict == Verdict::no_leak_detected);
  } else {
    CHECK(first.verdict == Verdict::no_leak_detected);
  }
}

// The self-test's check: the leak is found (once more, with another order,
// before the test fails).
void expect_leak(const Target& target, std::size_t attempts) {
  TimingReport r = measure(target, attempts, 1);
  WARN(target.name << ": " << describe(r, "ns"));
  if (r.verdict != Verdict::leak) {
    r = measure(target, attempts, 2);
    WARN(target.name << " (again): " << describe(r, "ns"));
  }
  CHECK(r.verdict == Verdict::leak);
}

// A wrong value of class A or B beside the right one `right`: the right one
// with its first byte changed (A) or its last (B). An early-exit comparison
// stops at the first byte for A and runs to the end for B.
Bytes first_or_last_wrong(InputClass c, Bytes right) {
  REQUIRE(!right.empty());
  std::uint8_t& b = c == InputClass::a ? right.front() : right.back();
  b ^= 0x01;
  return right;
}

// A fixed wrong value (A) or a fresh random one (B), of the right one's
// length and never the right one: dudect's fixed-versus-random classes. Both
// classes draw, so the work outside the timed region is the same.
Bytes fixed_or_random_wrong(InputClass c, const Bytes& right, const Bytes& fixed,
                            const std::function<Bytes()>& draw) {
  Bytes random = draw();
  while (random == right) random = draw();
  REQUIRE(fixed != right);
  return c == InputClass::a ? fixed : random;
}

std::mt19937_64& input_rng() {
  static std::mt19937_64 rng(14);
  return rng;
}

Bytes random_bytes(std::size_t n) {
  Bytes b(n);
  for (auto& x : b) x = static_cast<std::uint8_t>(input_rng()());
  return b;
}

Bytes random_digits(std::size_t n) {
  Bytes b(n);
  for (auto& x : b) x = static_cast<std::uint8_t>('0' + input_rng()() % 10);
  return b;
}

// The value of a host cryptography result (errors are text there).
template <typename T>
T host_value(Result<T, std::string> r) {
  INFO((r ? std::string() : r.error()));
  REQUIRE(r.ok());
  return std::move(*r);
}

sw::Sw sw_of(const Bytes& response) {
  return TestCard::sw_of(response);
}

// ---------------------------------------------------------------- PINs

// The card of the secure-channel tests with the JPKI application and the Juki
// AP (support/secure_layout.hpp), enrolled under a fresh PKI.
struct PinCard {
  Pki pki;
  pki::KeyAndCert jpki_auth = take(pki::create_jpki_ca(pki::JpkiKind::auth));
  pki::KeyAndCert jpki_sign = take(pki::create_jpki_ca(pki::JpkiKind::sign));
  std::unique_ptr<TestCard> card = std::make_unique<TestCard>();

  PinCard() {
    auto made = make_secure_card(card->transport(), sample_secrets(), pki.root.cert, pki.card_ca,
                                 JpkiCas{jpki_auth, jpki_sign}, WithJukiAp::yes);
    INFO((made ? std::string("ok") : made.error().describe()));
    REQUIRE(made.ok());
    card->power_cycle();
  }
};

Bytes select_aid(ByteView aid) {
  return apdu::encode_command(0x00, 0xA4, 0x04, 0x0C, aid);
}

// VERIFY with `p2` of a PIN whose right value is `right`: each attempt is
// wrong (63CX); settling verifies the right value, which gives the try back
// (check_pin: consumed before the comparison, restored after a match), so
// the card never blocks and every attempt meets the same counter.
Target pin_target(std::string name, TestCard& card, std::uint8_t p2, const Bytes& right,
                  std::function<Bytes(InputClass)> wrong) {
  const Bytes right_command = apdu::encode_command(0x00, 0x20, 0x00, p2, right);
  return Target{std::move(name),
                [=](InputClass c) {
                  Bytes value = wrong(c);
                  REQUIRE(value != right);
                  return apdu::encode_command(0x00, 0x20, 0x00, p2, value);
                },
                [&card](const Bytes& command) { return card.card().transmit(command); },
                [&card, right_command](const Bytes& response) {
                  REQUIRE((sw_of(response) & 0xFFF0) == 0x63C0);
                  REQUIRE(sw_of(card.card().transmit(right_command)) == 0x9000);
                }};
}

// ---------------------------------------------------------------- transport key

// A blank card and its memory image: each attempt runs on a card powered up
// from the image (the transport key's counter untouched), and the image is
// written back after it, for the counter's ten tries would otherwise
// terminate the card.
struct BlankCard {
  std::unique_ptr<TestCard> card = std::make_unique<TestCard>();
  Bytes image = card->storage().bytes();

  void restore() {
    card->storage().bytes() = image;
    card->power_up();
  }
  Bytes challenge() {
    Bytes r = card->card().transmit(hex("0084000010"));
    REQUIRE(sw_of(r) == 0x9000);
    return TestCard::data_of(r);
  }
};

Bytes cmac(ByteView key, ByteView message) {
  auto mac = host::crypto::aes_cmac(key, message);
  REQUIRE(mac.ok());
  return *mac;
}

// An early-exit comparison, as a naive implementation writes it: it stops
// at the first byte that differs. Every byte costs a read and `work` updates
// through volatile, so that the compiler neither vectorizes nor drops the
// loop: the leak is the bytes compared, times their cost.
volatile std::uint32_t g_leaky_sink = 0;
bool early_exit_equal(ByteView a, ByteView b, int work) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    for (int k = 0; k < work; ++k) g_leaky_sink = g_leaky_sink + 1;
    if (static_cast<const volatile std::uint8_t&>(a[i]) != b[i]) return false;
  }
  return true;
}

// EXTERNAL AUTHENTICATE of the transport key (MF key 01) with a wrong proof.
// With `leak_work`, the timed region also compares the proof sent with the
// right one by early_exit_equal: the self-test's deliberate leak.
Target transport_key_target(std::string name, BlankCard& blank,
                            std::function<Bytes(InputClass, const Bytes&)> wrong,
                            std::optional<int> leak_work = std::nullopt) {
  auto right = std::make_shared<Bytes>();
  auto proof_of = [](const Bytes& command) { return Bytes(command.end() - 16, command.end()); };
  return Target{std::move(name),
                [&blank, wrong, right](InputClass c) {
                  *right = cmac(kTransportKey, blank.challenge());
                  return apdu::encode_command(0x00, 0x82, 0x00, 0x01, wrong(c, *right));
                },
                [&blank, right, leak_work, proof_of](const Bytes& command) {
                  Bytes response = blank.card->card().transmit(command);
                  if (leak_work && early_exit_equal(proof_of(command), *right, *leak_work))
                    response.clear();  // never: the proof is wrong
                  return response;
                },
                [&blank](const Bytes& response) {
                  REQUIRE(sw_of(response) == 0x63C9);  // one of ten tries spent
                  blank.restore();
                }};
}

// ---------------------------------------------------------------- secure messaging

// A personalization session (the transport key's proof, specs/secure-channel.md
// 6) per attempt: a protected command with a wrong MAC ends it (6988), so the
// next attempt proves the key again. The right proofs keep the counter full.
struct SmSession {
  BlankCard blank;
  host::sm::SessionKeys keys;  // host::sm's, the terminal's half

  Bytes open() {
    const Bytes challenge = blank.challenge();
    const Bytes proof = cmac(kTransportKey, challenge);
    REQUIRE(sw_of(blank.card->card().transmit(
                apdu::encode_command(0x00, 0x82, 0x00, 0x01, proof))) == 0x9000);
    auto k = host::session::personalization_keys(kTransportKey, challenge);
    REQUIRE(k.ok());
    keys = std::move(*k);
    // SELECT the MF by FID, protected: its DO'8E' ends the data field.
    auto wrapped = host::sm::wrap_command(keys, hex("00A4000C023F00"));
    REQUIRE(wrapped.ok());
    return *wrapped;
  }
};

constexpr std::size_t kSmMacLength = 8;

// The protected command with its MAC (the last 8 bytes) replaced.
Target sm_mac_target(std::string name, SmSession& session,
                     std::function<Bytes(InputClass, const Bytes&)> wrong) {
  return Target{
      std::move(name),
      [&session, wrong](InputClass c) {
        Bytes command = session.open();
        auto parsed = apdu::parse_command(command);
        REQUIRE(parsed.ok());
        const ByteView data = parsed->data;
        REQUIRE(data.size() > kSmMacLength + 2);
        REQUIRE(data[data.size() - kSmMacLength - 2] == 0x8E);
        const auto mac_at =
            static_cast<std::size_t>(data.data() - command.data()) + data.size() - kSmMacLength;
        const Bytes mac =
            wrong(c, Bytes(command.begin() + mac_at, command.begin() + mac_at + kSmMacLength));
        std::copy(mac.begin(), mac.end(), command.begin() + mac_at);
        return command;
      },
      [&session](const Bytes& command) { return session.blank.card->card().transmit(command); },
      [](const Bytes& response) { REQUIRE(sw_of(response) == 0x6988); }};
}

// ---------------------------------------------------------------- the terminal's signature

// Mutual authentication up to step 4 per attempt (specs/secure-channel.md 2):
// the two certificates (steps 1, 2), a challenge, and EXTERNAL AUTHENTICATE
// with the terminal's ephemeral key and a wrong signature (6300), which ends
// the authentication. Three failed proofs lock authentication until the power
// goes (2.4): the card is powered again after every third.
struct SignatureCard {
  Pki pki;
  host::session::Credentials terminal = pki.terminal(pki::Role::window);
  std::unique_ptr<TestCard> card = secure_card(pki);
  Bytes ephemeral_point;
  int failures = 0;

  SignatureCard() {
    auto key = host::crypto::generate_p256();
    REQUIRE(key.ok());
    ephemeral_point = host_value(host::crypto::public_point(key->get()));
    select();
  }
  void select() { REQUIRE(sw_of(card->card().transmit(hex(kSelectSec))) == 0x9000); }
  // Steps 1 to 3; the right signature over this attempt's challenge.
  Bytes right_signature() {
    for (const Bytes& der : {terminal.ca.der(), terminal.certificate.der()})
      REQUIRE(sw_of(card->card().transmit(apdu::encode_command(0x00, 0x2A, 0x00, 0xBE, der))) ==
              0x9000);
    Bytes r = card->card().transmit(hex("0084000010"));
    REQUIRE(sw_of(r) == 0x9000);
    const Bytes to_sign =
        secure_channel::terminal_signed_data(TestCard::data_of(r), ephemeral_point);
    return host_value(host::crypto::ecdsa_sign(terminal.key.native(), to_sign));
  }
  Bytes proof(ByteView signature) const {
    tlv::Builder key;
    key.add(0x86, ephemeral_point);
    tlv::Builder b;
    b.add_raw(key.wrap(0x7F49)).add(0x5F37, signature);
    return apdu::encode_command(0x00, 0x82, 0x00, 0x00, b.bytes());
  }
  void failed() {
    if (++failures < 3) return;
    failures = 0;
    card->power_cycle();
    select();
  }
};

Target signature_target(std::string name, SignatureCard& sc,
                        std::function<Bytes(InputClass, const Bytes&)> wrong) {
  return Target{std::move(name),
                [&sc, wrong](InputClass c) { return sc.proof(wrong(c, sc.right_signature())); },
                [&sc](const Bytes& command) { return sc.card->card().transmit(command); },
                [&sc](const Bytes& response) {
                  REQUIRE(sw_of(response) == 0x6300);
                  sc.failed();
                }};
}

}  // namespace

// ---------------------------------------------------------------- tests

namespace {

// Attempts per pair of classes: as many as the time allows (the whole file
// runs in about 20 s on an idle 2-vCPU machine). A PIN's or a MAC's attempt
// takes a few microseconds; the transport key's adds a power-up from the
// image; the signature's needs two certificates verified first (ECDSA on the
// card, milliseconds each).
constexpr std::size_t kPinAttempts = 40000;
constexpr std::size_t kTransportKeyAttempts = 20000;
constexpr std::size_t kSmAttempts = 40000;
constexpr std::size_t kSignatureAttempts = 600;
// The self-test's early-exit comparison: volatile updates per byte, 4 to 6
// ns a byte on a 2-vCPU CI machine, so that the 15 bytes between the classes
// cost some 60 to 90 ns (a bare byte loop, about 1 ns a byte, is found too on
// a quiet machine, with less margin than a loaded one leaves).
constexpr int kLeakWork = 3;

Bytes flip_first_or_last(InputClass c, const Bytes& right) {
  return first_or_last_wrong(c, right);
}

}  // namespace

TEST_CASE("timing: the harness finds an early-exit comparison in the card's path", "[timing]") {
  SKIP_WHEN_DISTORTED();
  BlankCard blank;
  expect_leak(transport_key_target("self-test, the transport key's proof then an early-exit "
                                   "comparison of it (first byte wrong vs last)",
                                   blank, flip_first_or_last, kLeakWork),
              kTransportKeyAttempts);
}

TEST_CASE("timing: VERIFY of a JPKI PIN and of the Juki AP's password", "[timing]") {
  SKIP_WHEN_DISTORTED();
  PinCard pc;
  TestCard& card = *pc.card;
  auto digits = [](std::size_t n) { return [n] { return random_digits(n); }; };

  REQUIRE(sw_of(card.card().transmit(select_aid(layout::jpki::kAid))) == 0x9000);
  REQUIRE(sw_of(card.card().transmit(hex("00A4020C020018"))) == 0x9000);  // EF 0018: PIN 1
  const Bytes auth_pin = ascii(kJpkiAuthPin);
  expect_no_leak(pin_target("JPKI PIN 1, first digit wrong vs last", card, 0x80, auth_pin,
                            [=](InputClass c) { return first_or_last_wrong(c, auth_pin); }),
                 kPinAttempts);
  expect_no_leak(pin_target("JPKI PIN 1, fixed wrong vs random wrong", card, 0x80, auth_pin,
                            [=](InputClass c) {
                              return fixed_or_random_wrong(c, auth_pin, ascii("0000"), digits(4));
                            }),
                 kPinAttempts);

  REQUIRE(sw_of(card.card().transmit(select_aid(layout::juki_ap::kAid))) == 0x9000);
  const Bytes password = ascii(kJukiPassword);
  const std::uint8_t p2 = layout::juki_ap::kPasswordP2;
  expect_no_leak(pin_target("Juki AP password, first digit wrong vs last", card, p2, password,
                            [=](InputClass c) { return first_or_last_wrong(c, password); }),
                 kPinAttempts);
  expect_no_leak(pin_target("Juki AP password, fixed wrong vs random wrong", card, p2, password,
                            [=](InputClass c) {
                              return fixed_or_random_wrong(c, password, ascii("0000"), digits(4));
                            }),
                 kPinAttempts);
}

TEST_CASE("timing: the transport key's proof on a blank card", "[timing]") {
  SKIP_WHEN_DISTORTED();
  BlankCard blank;
  expect_no_leak(
      transport_key_target("transport key, first byte wrong vs last", blank, flip_first_or_last),
      kTransportKeyAttempts);
  expect_no_leak(transport_key_target("transport key, fixed wrong vs random wrong", blank,
                                      [](InputClass c, const Bytes& right) {
                                        return fixed_or_random_wrong(c, right, Bytes(16, 0), [] {
                                          return random_bytes(16);
                                        });
                                      }),
                 kTransportKeyAttempts);
}

TEST_CASE("timing: the MAC of a command under secure messaging", "[timing]") {
  SKIP_WHEN_DISTORTED();
  SmSession session;
  expect_no_leak(sm_mac_target("SM MAC, first byte wrong vs last", session, flip_first_or_last),
                 kSmAttempts);
  expect_no_leak(sm_mac_target("SM MAC, fixed wrong vs random wrong", session,
                               [](InputClass c, const Bytes& right) {
                                 return fixed_or_random_wrong(c, right, Bytes(kSmMacLength, 0), [] {
                                   return random_bytes(kSmMacLength);
                                 });
                               }),
                 kSmAttempts);
}

TEST_CASE("timing: the card's check of the terminal's signature", "[timing]") {
  SKIP_WHEN_DISTORTED();
  SignatureCard sc;
  expect_no_leak(
      signature_target("terminal signature, first byte wrong vs last", sc, flip_first_or_last),
      kSignatureAttempts);
  // A signature of another challenge: r and s in range, so that the card's
  // check runs through as for any honest terminal's mistake.
  const Bytes stale = sc.right_signature();
  sc.card->power_cycle();
  sc.failures = 0;
  sc.select();
  expect_no_leak(signature_target("terminal signature, fixed wrong vs random wrong", sc,
                                  [&](InputClass c, const Bytes& right) {
                                    return fixed_or_random_wrong(c, right, stale,
                                                                 [] { return random_bytes(64); });
                                  }),
                 kSignatureAttempts);
}
