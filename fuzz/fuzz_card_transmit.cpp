// Fuzzes the whole card: Card::transmit on sequences of APDUs, starting from one of a few
// card images built once per process (blank, personalization, issued, active, and active
// with applications SEC and JPKI, the card manager and a municipal application).
//
// Input format (everything optional; a truncated tail is used as far as it goes):
//
//   byte 0        start state: (b & 0x7F) % 6 picks the image
//                   0 blank (transport-locked, factory state)
//                   1 personalization, empty MF (transport key proved by the harness)
//                   2 personalization, sample layout written but not yet issued (idem)
//                   3 issued (sample layout, password not set)
//                   4 active (sample layout, password 1234)
//                   5 active, the card of tests/support/secure_layout.hpp with JPKI and
//                     the card manager: application SEC (mutual authentication), the
//                     JPKI application (PINs 1234 and ABC123), the card manager
//                     (specs/card-manager.md, municipality 131016) and the seal-
//                     registration application it installed (issuer_tool/apps,
//                     sequence 1, PIN unset); its PKI is made afresh in each process, so
//                     certificates differ between runs, the card's behaviour does not
//                 b & 0x80: in states 1 and 2, do NOT prove the transport key at power-up
//                 A proof of the transport key that the card accepts opens the
//                 personalization session (specs/secure-channel.md 6): the harness then
//                 sends every command for that channel that it can protect under the
//                 session, until a reset, a power cycle, another proof on that channel or
//                 an answer in plain ends it; the invariants below hold for the outer
//                 answer, and 6F00 is refused inside the protection too; an answer in
//                 plain must be one the card gives unprotected (6987, 6988, ...), and a
//                 plain PUT DATA, GENERATE ASYMMETRIC KEY PAIR or SET STATUS never
//                 succeeds
//   then frames, each
//     [L][L bytes]          1 <= L <= 0xFD or L = 0xFF: one command APDU of L bytes
//     [FE][N hi][N lo][N]   one command APDU of N bytes (extended lengths, up to 65535)
//     [00][op]              a harness action, op & 3:
//                             0 warm reset (Card::reset)
//                             1 power cycle: a new Card on the same storage (checked like
//                               the final power-up below)
//                             2 authenticate: GET CHALLENGE then EXTERNAL AUTHENTICATE with
//                               a right AES-CMAC, key (op >> 2) % 3 of {transport 01,
//                               admin 02, password reset key 83}, on channel (op >> 4) & 3
//                             3 with k = (op >> 2) & 7 of 1..4: a signed card-manager
//                               command: the next frame's bytes (as [L][bytes] or
//                               [FE][N hi][N lo][bytes]) are a manifest's value, put in
//                               its 71 TLV, signed by the process's app-authority key and
//                               sent with its certificates as INSTALL (k = 1, Le 0000),
//                               DELETE, LOCK, UNLOCK (k = 2, 3, 4), class 80;
//                               any other k: an empty (0-byte) command
//
// Invariants (__builtin_trap() when broken), beyond ASan/UBSan:
//   - every response has >= 2 bytes (no fault injector here, so the card is never mute);
//   - SW1 is 6X or 9X, never 60 or 61 (the card does no GET RESPONSE chaining), and never 00;
//   - 6F00 is never answered (only Card::transmit's catch-all gives it: an exception escaped
//     a command handler);
//   - no transaction is left open after a command;
//   - after the sequence (and at each power cycle) power_up on the same storage succeeds,
//     sees the same memory contents the running card had (nothing uncommitted was left in
//     RAM) and the same life-cycle state, which never moved backwards.
//
// With JUKI_FUZZ_TRACE set in the environment every exchange is printed to stderr, e.g.
//   JUKI_FUZZ_TRACE=1 build/fuzz/fuzz/fuzz_card_transmit crash-<sha1>
// The seeds are made by fuzz/make_card_corpus.py.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>

#include "card_os/card/card.hpp"
#include "card_os/nvm/persistent_memory.hpp"
#include "card_os/nvm/storage.hpp"
#include "card_os/security/random.hpp"
#include "common/bytes.hpp"
#include "common/iso7816/apdu.hpp"
#include "host_middleware/crypto/host_crypto.hpp"
#include "host_middleware/personalization/personalization.hpp"
#include "host_middleware/secure_messaging/secure_messaging.hpp"
#include "host_middleware/session/personalization_session.hpp"
#include "issuer_tool/apps/examples.hpp"
#include "issuer_tool/apps/manifest.hpp"
#include "issuer_tool/enrolment/card_manager.hpp"
#include "pki/pki.hpp"
#include "simulator/in_process.hpp"
#include "support/secure_layout.hpp"

using namespace juki;
using card_os::Card;
using card_os::LifeCycle;

namespace {

void require(bool ok) {
  if (!ok) __builtin_trap();
}

// The sample secrets of tests/support/test_card.hpp.
const Bytes kTransportKey = {0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47,
                             0x48, 0x49, 0x4A, 0x4B, 0x4C, 0x4D, 0x4E, 0x4F};
const Bytes kAdminKey = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                         0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F};
const Bytes kResetKey = {0xF0, 0xE1, 0xD2, 0xC3, 0xB4, 0xA5, 0x96, 0x87,
                         0x78, 0x69, 0x5A, 0x4B, 0x3C, 0x2D, 0x1E, 0x0F};
const Bytes kSerial = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};
constexpr std::string_view kSeed = "fuzz_card_transmit";

constexpr int kStates = 6;

Bytes exchange_or_die(juki::Transport& t, std::string_view hex) {
  auto cmd = from_hex(hex);
  require(cmd.has_value());
  auto r = t.transmit(*cmd);
  require(r.ok() && r->size() >= 2 && (*r)[r->size() - 2] == 0x90 && r->back() == 0x00);
  return *r;
}

// The storage bytes of each starting state, built once, and the card manager's
// authority of state 5.
struct Images {
  std::array<Bytes, kStates> bytes;
  std::array<LifeCycle, kStates> life_cycle{};
  std::optional<card_manager::Authority> authority;
};

Bytes make_image(int state, LifeCycle& life_cycle,
                 std::optional<card_manager::Authority>& authority) {
  card_os::NvmGeometry geometry;
  card_os::MemoryStorage storage(card_os::PersistentMemory::storage_size_for(geometry));
  card_os::DrbgRandom random(as_bytes(kSeed));
  card_os::FactoryProfile profile;
  profile.geometry = geometry;
  profile.transport_key = kTransportKey;
  profile.serial = kSerial;
  require(Card::manufacture(storage, profile, random).ok());
  auto t = juki::sim::InProcessTransport::connect(storage, random);
  require(t.ok());
  juki::sim::InProcessTransport& transport = **t;
  const host::perso::SampleSecrets secrets{kTransportKey, kAdminKey, kResetKey};
  switch (state) {
    case 0:
      break;
    case 1: {
      host::perso::Personalizer p(transport);
      require(p.authenticate(kTransportKey, 0x01).ok());
      break;
    }
    case 2: {
      host::perso::Personalizer p(transport);
      require(host::perso::write_sample_layout(p, secrets).ok());
      break;
    }
    case 3:
    case 4:
      require(host::perso::personalize_sample(transport, secrets).ok());
      if (state == 4) {
        exchange_or_die(transport, "00A4040C09F04A554B4944454D4F");
        exchange_or_die(transport, "002401810431323334");
      }
      break;
    case 5: {
      auto ok = [](auto r) {
        require(r.ok());
        return std::move(*r);
      };
      const auto root = ok(pki::create_root());
      const auto card_ca = ok(pki::create_ca(root.key, root.cert, pki::CaKind::card));
      const auto auth_ca = ok(pki::create_jpki_ca(pki::JpkiKind::auth));
      const auto sign_ca = ok(pki::create_jpki_ca(pki::JpkiKind::sign));
      require(test::make_secure_card(transport, secrets, root.cert, card_ca,
                                     test::JpkiCas{auth_ca, sign_ca}, test::WithJukiAp::yes,
                                     test::WithCardManager::yes)
                  .ok());
      const auto terminal_ca = ok(pki::create_ca(root.key, root.cert, pki::CaKind::terminal));
      pki::LeafRequest request;
      request.authorization.role = pki::Role::app_authority;
      request.authorization.municipality = test::kMunicipality;
      request.common_name = "application authority";
      auto leaf = ok(pki::issue_new_key(terminal_ca, request));
      authority = card_manager::Authority{leaf.key, leaf.cert, terminal_ca.cert};
      require(
          enrolment::install_application(transport, *authority, card_manager::seal_registration())
              .ok());
      break;
    }
  }
  life_cycle = transport.card()->life_cycle();
  return storage.bytes();
}

const Images& images() {
  static const Images built = [] {
    Images im;
    for (int s = 0; s < kStates; ++s) im.bytes[s] = make_image(s, im.life_cycle[s], im.authority);
    require(im.life_cycle[0] == LifeCycle::transport_locked);
    require(im.life_cycle[1] == LifeCycle::personalization);
    require(im.life_cycle[2] == LifeCycle::personalization);
    require(im.life_cycle[3] == LifeCycle::issued);
    require(im.life_cycle[4] == LifeCycle::active);
    require(im.life_cycle[5] == LifeCycle::active);
    return im;
  }();
  return built;
}

bool trace() {
  static const bool on = std::getenv("JUKI_FUZZ_TRACE") != nullptr;
  return on;
}

int rank(LifeCycle s) {
  switch (s) {
    case LifeCycle::transport_locked:
      return 0;
    case LifeCycle::personalization:
      return 1;
    case LifeCycle::issued:
      return 2;
    case LifeCycle::active:
      return 3;
    case LifeCycle::terminated:
      return 4;
  }
  __builtin_trap();
}

// One input's run: storage, randomness and the powered card.
class Run {
 public:
  explicit Run(const Bytes& image) : storage_(image.size()), random_(as_bytes(kSeed)) {
    storage_.bytes() = image;
    power_up();
    life_cycle_ = card_->life_cycle();
  }

  // Sends `command`: under the personalization session when one is open and
  // the command is for its channel and can be protected, else as it is.
  Bytes send(ByteView command) {
    if (session_ && !command.empty() && (command[0] & 0x0C) == 0 &&
        (command[0] & 0x03) == session_channel_ && (command[0] & 0xE0) != 0xE0) {
      auto wrapped = host::sm::wrap_command(*session_, command);
      if (wrapped) {
        Bytes r = send_raw(*wrapped);
        auto plain = host::sm::unwrap_response(*session_, r);
        if (!plain) {
          // Only a status word the card answers in plain to a protected
          // command; anything else is a fault of the card's wrapping.
          require(plain.error().kind == host::sm::Error::Kind::card_status &&
                  host::session::answered_in_plain(plain.error().sw));
          end_session();  // the card answered in plain: its session is over
          return r;
        }
        Bytes inner = plain->encode();
        // The invariants hold for the answer inside the protection too.
        require(!(inner.size() == 2 && inner[0] == 0x6F && inner[1] == 0x00));
        return inner;
      }
    }
    return send_raw(command);
  }

  Bytes send_raw(ByteView command) {
    Bytes r = card_->transmit(command);
    if (trace()) std::fprintf(stderr, "> %s\n< %s\n", to_hex(command).c_str(), to_hex(r).c_str());
    require(r.size() >= 2);
    require(!card_->mute());
    const std::uint8_t sw1 = r[r.size() - 2];
    require((sw1 & 0xF0) == 0x60 || (sw1 & 0xF0) == 0x90);
    require(sw1 != 0x60 && sw1 != 0x61);
    require(!(sw1 == 0x6F && r.back() == 0x00));
    // Personalization rights hold only under the session (specs/card-os.md
    // 4.3): in plain, PUT DATA, GENERATE ASYMMETRIC KEY PAIR and SET STATUS
    // never succeed.
    if (command.size() >= 2 && (command[0] & 0x0C) == 0 && ok(r))
      require(command[1] != 0xDA && command[1] != 0x46 &&
              !(command[1] == 0xF0 && (command[0] & 0x80) != 0));
    require(!card_->memory().in_transaction());
    const LifeCycle now = card_->life_cycle();
    require(rank(now) >= rank(life_cycle_));
    life_cycle_ = now;
    return r;
  }

  void end_session() {
    if (session_) host::sm::wipe(*session_);
    session_.reset();
  }

  static bool ok(const Bytes& r) {
    return r.size() >= 2 && r[r.size() - 2] == 0x90 && r.back() == 0x00;
  }

  // GET CHALLENGE + EXTERNAL AUTHENTICATE with the right CMAC.
  // In plain; a proof of the transport key (the one issuance key here) that
  // the card accepts opens the personalization session on that channel.
  void authenticate(ByteView key, std::uint8_t ref, std::uint8_t channel) {
    const std::uint8_t cla = channel & 0x03;
    const Bytes challenge_cmd = {cla, 0x84, 0x00, 0x00, 0x10};
    if (session_ && session_channel_ == cla) end_session();  // these two go plain
    Bytes r = send_raw(challenge_cmd);
    if (!ok(r) || r.size() != 18) return;
    const ByteView challenge = ByteView(r).first(16);
    auto mac = host::crypto::aes_cmac(key, challenge);
    require(mac.ok());
    if (!ok(send_raw(apdu::encode_command(cla, 0x82, 0x00, ref, *mac)))) return;
    if (!std::equal(key.begin(), key.end(), kTransportKey.begin(), kTransportKey.end()) ||
        (ref & 0x1F) != 0x01)
      return;
    auto keys = host::session::personalization_keys(key, challenge);
    require(keys.ok());
    end_session();
    session_ = std::move(*keys);
    session_channel_ = cla;
  }

  // A new Card on the same storage: it must come up, with exactly the memory and life
  // cycle the running card had.
  void power_cycle() {
    if (trace()) std::fprintf(stderr, "power cycle\n");
    end_session();
    const card_os::PersistentMemory& before = card_->memory();
    const ByteView was = before.read(0, before.capacity());
    const Bytes contents(was.begin(), was.end());
    const LifeCycle state = card_->life_cycle();
    card_.reset();
    power_up();
    const card_os::PersistentMemory& after = card_->memory();
    require(after.capacity() == contents.size());
    const ByteView now = after.read(0, after.capacity());
    require(std::equal(now.begin(), now.end(), contents.begin()));
    require(card_->life_cycle() == state);
  }

  Card& card() { return *card_; }

 private:
  void power_up() {
    auto c = Card::power_up(storage_, random_);
    require(c.ok());
    card_ = std::move(*c);
  }

  card_os::MemoryStorage storage_;
  card_os::DrbgRandom random_;
  std::unique_ptr<Card> card_;
  LifeCycle life_cycle_ = LifeCycle::transport_locked;
  std::optional<host::sm::SessionKeys> session_;  // the host's half of the personalization session
  std::uint8_t session_channel_ = 0;
};

// A card-manager command (specs/card-manager.md 3) for operation k (1..4) whose
// manifest has `value`, signed by `authority`.
Bytes signed_command(const card_manager::Authority& authority, std::uint8_t k, ByteView value) {
  Bytes manifest = {0x71};
  const std::size_t n = value.size();
  if (n < 0x80) {
    manifest.push_back(static_cast<std::uint8_t>(n));
  } else if (n < 0x100) {
    manifest.insert(manifest.end(), {0x81, static_cast<std::uint8_t>(n)});
  } else {
    manifest.insert(manifest.end(),
                    {0x82, static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)});
  }
  manifest.insert(manifest.end(), value.begin(), value.end());
  auto signature = card_manager::sign(authority.key, manifest);
  require(signature.ok());
  const Bytes data =
      card_manager::command_data(manifest, *signature, authority.cert.der(), authority.ca.der());
  return card_manager::command(static_cast<card_manager::Operation>(k), data);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  images();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const Images& im = images();
  const int state = (data[0] & 0x7F) % kStates;
  Run run(im.bytes[state]);
  if ((state == 1 || state == 2) && (data[0] & 0x80) == 0) run.authenticate(kTransportKey, 0x01, 0);

  std::size_t i = 1;
  while (i < size) {
    const std::uint8_t l = data[i++];
    if (l == 0x00) {  // harness action
      const std::uint8_t op = i < size ? data[i++] : 0;
      switch (op & 0x03) {
        case 0:
          if (trace()) std::fprintf(stderr, "reset\n");
          run.end_session();
          run.card().reset();
          break;
        case 1:
          run.power_cycle();
          break;
        case 2: {
          static constexpr std::uint8_t kRefs[3] = {0x01, 0x02, 0x83};
          const std::size_t k = static_cast<std::size_t>(op >> 2) % 3;
          const Bytes* keys[3] = {&kTransportKey, &kAdminKey, &kResetKey};
          run.authenticate(*keys[k], kRefs[k], static_cast<std::uint8_t>((op >> 4) & 0x03));
          break;
        }
        case 3: {
          const std::uint8_t k = (op >> 2) & 7;
          if (k < 1 || k > 4) {
            run.send(ByteView{});
            break;
          }
          // The manifest's value: the next frame.
          if (i >= size) break;
          std::size_t n = data[i++];
          if (n == 0xFE) {
            if (size - i < 2) break;
            n = load_be16(data + i);
            i += 2;
          }
          n = std::min(n, size - i);
          run.send(signed_command(*im.authority, k, ByteView(data + i, n)));
          i += n;
          break;
        }
      }
      continue;
    }
    std::size_t n = l;
    if (l == 0xFE) {  // 2-byte length
      if (size - i < 2) break;
      n = load_be16(data + i);
      i += 2;
    }
    n = std::min(n, size - i);
    run.send(ByteView(data + i, n));
    i += n;
  }
  run.power_cycle();  // the image is always consistent
  return 0;
}
