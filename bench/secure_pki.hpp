// What the secure-channel benchmarks share (bench_session, bench_pcsc): an in-memory PKI
// with a window terminal, the secure test card (tests/support/secure_layout.hpp) in this
// process, and one full session set-up over any transport.
//
//   bench::SecurePki pki;                                    // root, card CA, terminal CA
//   const auto terminal = pki.window_terminal();             // a fresh window terminal
//   bench::InProcessSecureCard card(pki, secrets, serial, "seed");
//   bench::session_setup(*card.transport, terminal);         // SELECT + open + first SM APDU
//
// Failures end the program: die() prints "<program>: <what>" and exits 1.
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "card_os/card/card.hpp"
#include "card_os/nvm/persistent_memory.hpp"
#include "card_os/nvm/storage.hpp"
#include "card_os/security/random.hpp"
#include "common/bytes.hpp"
#include "common/iso7816/apdu.hpp"
#include "common/result.hpp"
#include "host_middleware/personalization/personalization.hpp"
#include "host_middleware/session/secure_session.hpp"
#include "pki/pki.hpp"
#include "simulator/in_process.hpp"
#include "support/secure_layout.hpp"

namespace juki::bench {

[[noreturn]] inline void die(const std::string& what) {
  std::fprintf(stderr, "%s: %s\n", program_invocation_short_name, what.c_str());
  std::exit(1);
}

// The value of `r`, or die with `step` and its error.
template <typename T, typename E>
T take(juki::Result<T, E> r, const char* step) {
  if (!r) {
    if constexpr (std::is_same_v<E, std::string>)
      die(std::string(step) + ": " + r.error());
    else if constexpr (requires { r.error().describe(); })
      die(std::string(step) + ": " + r.error().describe());
    else if constexpr (std::is_enum_v<E>)
      die(std::string(step) + ": error " + std::to_string(static_cast<int>(r.error())));
    else
      die(std::string(step) + ": " + r.error().message);
  }
  return std::move(*r);
}

inline sw::Sw sw_of(const Bytes& r) {
  return r.size() < 2 ? 0 : static_cast<sw::Sw>(r[r.size() - 2] << 8 | r.back());
}

inline std::int64_t unix_now() {
  return static_cast<std::int64_t>(std::time(nullptr));
}

// SELECT of application SEC by name, no answer data.
inline const Bytes kSelectSec = {0x00, 0xA4, 0x04, 0x0C, 0x05, 0xF0, 0x53, 0x45, 0x43, 0x31};
// READ BINARY by SFI of EF 7002 (SFI 2, read: secure messaging), its 15 bytes.
inline const Bytes kReadSmEf = apdu::encode_command(0x00, 0xB0, 0x82, 0x00, {}, 15);

// A Juki-net root with a card CA and a terminal CA, in memory.
struct SecurePki {
  pki::KeyAndCert root = take(pki::create_root(), "create root");
  pki::KeyAndCert card_ca = take(pki::create_ca(root.key, root.cert, pki::CaKind::card), "card CA");
  pki::KeyAndCert terminal_ca =
      take(pki::create_ca(root.key, root.cert, pki::CaKind::terminal), "terminal CA");

  // A new key and its window-terminal certificate (municipality test::kMunicipality).
  host::session::Credentials window_terminal() const {
    pki::LeafRequest request;
    request.authorization.role = pki::Role::window;
    request.authorization.municipality = test::kMunicipality;
    request.common_name = "window 1";
    request.days = 30;
    auto leaf = take(pki::issue_new_key(terminal_ca, request), "terminal key and certificate");
    return {leaf.key, leaf.cert, terminal_ca.cert, root.cert};
  }
};

// The secure test card in this process: manufactured blank (transport key
// secrets.transport_key), made active by test::make_secure_card under `pki`,
// powered off and on again, behind an in-process transport.
struct InProcessSecureCard {
  card_os::MemoryStorage storage;
  card_os::DrbgRandom random;
  std::unique_ptr<juki::sim::InProcessTransport> transport;
  Bytes card_cert_der;

  InProcessSecureCard(const SecurePki& pki, const host::perso::SampleSecrets& secrets,
                      const Bytes& serial, std::string_view seed)
      : storage(card_os::PersistentMemory::storage_size_for(card_os::NvmGeometry{})),
        random(as_bytes(seed)) {
    card_os::FactoryProfile profile;
    profile.transport_key = secrets.transport_key;
    profile.serial = serial;
    if (auto m = card_os::Card::manufacture(storage, profile, random); !m) die(m.error().message());
    {
      auto t = take(juki::sim::InProcessTransport::connect(storage, random), "power-up");
      card_cert_der =
          take(test::make_secure_card(*t, secrets, pki.root.cert, pki.card_ca), "make the card")
              .der();
      if (t->card()->life_cycle() != card_os::LifeCycle::active) die("card not active");
    }  // powered off here
    transport = take(juki::sim::InProcessTransport::connect(storage, random), "power-up");
  }

  Bytes send(const Bytes& apdu) { return take(transport->transmit(apdu), "transmit"); }
};

// One full session set-up on the secure card behind `t`: the plain SELECT of SEC (a fresh
// authentication), SecureSession::open, and the first protected APDU (kReadSmEf). Dies if
// a step fails outright; false if SELECT or the read did not answer 9000, or the read's
// data is not test::kSecret.
inline bool session_setup(juki::Transport& t, const host::session::Credentials& terminal) {
  const Bytes selected = take(t.transmit(kSelectSec), "SELECT SEC");
  auto session = host::session::SecureSession::open(t, terminal, unix_now());
  if (!session) die("SecureSession::open: " + session.error().message);
  const Bytes r = take((*session)->transmit(kReadSmEf), "protected READ BINARY");
  return sw_of(selected) == sw::kOk && sw_of(r) == sw::kOk &&
         Bytes(r.begin(), r.end() - 2) == test::kSecret;
}

}  // namespace juki::bench
