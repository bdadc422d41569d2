// A personalization-like run of every plain command whose data carries a
// secret (specs/card-os.md 5, 6.6-6.8, 6.10, 6.12, 7.4) on a blank card (the
// objects put under the personalization session, then a plain PUT DATA that
// the card refuses but whose data is secret all the same), for
// the trace tests of the host (TracingTransport) and of the simulator (its
// trace file): which bytes must never be in a trace, and the note each
// command's line must carry instead.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <functional>
#include <string>
#include <vector>

#include "common/bytes.hpp"
#include "host_middleware/crypto/host_crypto.hpp"
#include "host_middleware/session/personalization_session.hpp"
#include "support/test_card.hpp"

namespace juki::test {

struct SecretRun {
  std::vector<Bytes> secrets;      // each value sent plain: PINs, the PUK, the proofs
  std::vector<Bytes> sealed;       // sent only under secure messaging: in no trace, ever
  std::vector<std::string> notes;  // "data redacted (16 bytes: key proof)", one per command
};

// Sends each command with `send`, which returns the response (the test fails
// without one), and checks that the card took it. The card must be blank,
// with the test transport key.
inline SecretRun run_secret_commands(const std::function<Bytes(const Bytes&)>& send) {
  SecretRun run;
  auto ok = [&](const std::string& apdu_hex, const std::string& note) {
    const Bytes r = send(hex(apdu_hex));
    INFO(apdu_hex);
    REQUIRE(r.size() >= 2);
    CHECK(to_hex(ByteView(r).last(2)) == "9000");
    run.notes.push_back("data redacted (" + note + ")");
    return r;
  };
  auto prove = [&](const Bytes& key, const std::string& ref) {
    const Bytes challenge = send(hex("0084000010"));
    REQUIRE(challenge.size() == 18);
    auto proof = host::crypto::aes_cmac(key, ByteView(challenge).first(16));
    REQUIRE(proof.ok());
    run.secrets.push_back(*proof);
    ok("008200" + ref + "10" + to_hex(*proof), "16 bytes: key proof");
    return challenge;
  };
  const std::string pin = "37333931", new_pin = "32353830", puk = "3836343230393735",
                    reset_pin = "31343730", key = "C35E7A19D2468B0F6E31A5C7924D08BE";
  for (const auto& s : {pin, new_pin, puk, reset_pin}) run.secrets.push_back(hex(s));
  run.sealed.push_back(hex(key));

  // The transport key's proof opens the personalization session
  // (specs/secure-channel.md 6): the objects go in under it, encrypted, so
  // nothing of them may show in a trace either.
  const Bytes challenge = prove(kTransportKey, "01");
  auto keys = host::session::personalization_keys(kTransportKey, ByteView(challenge).first(16));
  REQUIRE(keys.ok());
  struct Wire final : juki::Transport {
    const std::function<Bytes(const Bytes&)>& send;
    explicit Wire(const std::function<Bytes(const Bytes&)>& s) : send(s) {}
    Result<Bytes, juki::TransportError> transmit(ByteView c) override {
      return send(Bytes(c.begin(), c.end()));
    }
    Result<Bytes, juki::TransportError> reset() override { return Bytes{}; }
    Result<Bytes, juki::TransportError> power_cycle() override { return Bytes{}; }
    Bytes atr() const override { return {}; }
    std::string describe() const override { return "wire"; }
  } wire(send);
  host::session::SmTransport session(wire, std::move(*keys));
  // PIN 2, the PUK of PIN 1; PIN 1 (7391); key 3 (AES-128): in the MF.
  const std::string put_puk = "00DA00A119 A117 830102 800101 81020808 820105 8408" + puk;
  const std::string put_pin =
      "00DA00A119 A117 830101 800101 81020404 820103 8404" + pin + " 86020102";
  for (const auto& c : {put_puk, put_pin, "00DA00A21D A21B 830103 800101 8410" + key + " 820103"})
    CHECK(to_hex(ByteView(*session.transmit(hex(c))).last(2)) == "9000");
  // The same in plain is refused (and ends the session), but its data is a
  // secret all the same.
  const Bytes refused = send(hex(put_pin));
  CHECK(to_hex(ByteView(refused).last(2)) == "6982");
  run.notes.push_back("data redacted (25 bytes: PIN template)");
  ok("0020000104" + pin, "4 bytes: PIN");
  ok("0024000108" + pin + new_pin, "8 bytes: old and new PIN");
  ok("002C00010C" + puk + reset_pin, "12 bytes: PUK and new PIN");
  ok("002C010108" + puk, "8 bytes: PUK");
  prove(hex(key), "03");
  return run;
}

// Every way a trace could print `secret` in hex: upper and lower case, with
// and without blanks between the bytes.
inline std::vector<std::string> hex_forms(ByteView secret) {
  std::vector<std::string> forms{to_hex(secret), to_hex(secret, true)};
  for (std::size_t i = 0; i < 2; ++i) {
    std::string lower = forms[i];
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    forms.push_back(lower);
  }
  return forms;
}

// The trace holds none of the run's secrets, in any of their hex forms, and
// every command's redaction note; with `shown`, every secret in `form` (the
// trace's own hex: spaced or not) and no redaction note.
inline void check_trace(const std::string& trace, const SecretRun& run, bool shown, bool spaced) {
  INFO(trace);
  for (const Bytes& s : run.sealed)
    for (const std::string& form : hex_forms(s)) CHECK(trace.find(form) == std::string::npos);
  for (const Bytes& s : run.secrets) {
    if (shown) {
      CHECK(trace.find(to_hex(s, spaced)) != std::string::npos);
      continue;
    }
    for (const std::string& form : hex_forms(s)) CHECK(trace.find(form) == std::string::npos);
  }
  if (shown) {
    CHECK(trace.find("redacted") == std::string::npos);
    CHECK(trace.find("secret shown (4 bytes: PIN)") != std::string::npos);
    return;
  }
  std::size_t from = 0;  // the notes in the order of the commands
  for (const std::string& note : run.notes) {
    INFO(note);
    const std::size_t at = trace.find(note, from);
    CHECK(at != std::string::npos);
    if (at != std::string::npos) from = at + note.size();
  }
}

}  // namespace juki::test
