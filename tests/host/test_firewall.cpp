// The firewall between the card's applications (ARCHITECTURE.md "Firewall",
// specs/card-os.md 7.3), tested exhaustively on the card with every
// application the project has (the sample application, SEC, JPKI, the Juki AP,
// the card manager, and the three municipal applications the card manager
// installs on the municipality's authorization): for every application context
// (and the MF's), on two channels, every file of every other application, reached by every
// addressing (SELECT by FID, by path, by AID; READ/UPDATE BINARY and RECORD by
// SFI), and the other application's PINs and authentication. The invariants:
//   - no answer carries the content of another application's protected file;
//   - no write lands in another application (checked in the card's memory);
//   - a PIN verified, or an authentication made, in one application is worth
//     nothing in another application or on another channel.
// The applications and their files are read from the card's memory
// (card_os internals), so an application added to the card is covered
// without changing this test. It prints how many attempts it made.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "card_os/card/card_impl.hpp"
#include "card_os/fs/file_system.hpp"
#include "card_os/nvm/heap.hpp"
#include "card_os/nvm/persistent_memory.hpp"
#include "card_os/security/objects.hpp"
#include "common/layout/jpki.hpp"
#include "common/layout/juki_ap.hpp"
#include "issuer_tool/apps/examples.hpp"
#include "issuer_tool/enrolment/card_manager.hpp"
#include "support/secure_card.hpp"

using namespace juki;
using namespace juki::test;
namespace co = juki::card_os;

namespace {

struct Ef {
  std::uint16_t fid = 0;
  std::uint8_t sfi = 0;
  bool records = false;
  bool protected_read = false;  // its read rule is not "always"
  Bytes content;                // transparent: all bytes; records: all records concatenated
};

struct App {
  Bytes aid;
  std::uint16_t fid = 0;           // 0: reachable by AID only
  std::vector<Ef> efs;             // the EFs directly in the application's DF
  std::vector<std::uint8_t> pins;  // references of its PINs
};

// Every application on the card whose memory is `image`, with its EFs and PINs.
std::vector<App> inventory(const Bytes& image) {
  co::MemoryStorage storage(image.size());
  storage.bytes() = image;
  auto opened = co::PersistentMemory::open(storage);
  REQUIRE(opened.ok());
  co::PersistentMemory& m = *opened;
  co::Heap heap(m, co::Superblock::kHeapHeadAt, co::Superblock::kSize, m.capacity());
  co::FileSystem fs(m, heap);
  co::SecurityObjects objects(m, heap, fs);
  std::vector<App> apps;
  const co::NodeRef mf = m.u32(co::Superblock::kMfAt);
  for (co::NodeRef df = fs.first_child(mf); df != 0; df = fs.next_sibling(df)) {
    if (!fs.is_df(df) || fs.name(df).empty()) continue;
    App app;
    app.aid.assign(fs.name(df).begin(), fs.name(df).end());
    app.fid = fs.fid(df);
    for (co::NodeRef n = fs.first_child(df); n != 0; n = fs.next_sibling(n)) {
      if (fs.is_df(n)) continue;
      Ef ef;
      ef.fid = fs.fid(n);
      ef.sfi = fs.sfi(n);
      ef.records = fs.is_record_ef(n);
      ef.protected_read = !fs.rule(n, co::Op::read).is_always();
      if (ef.records) {
        for (std::uint32_t r = 1; r <= fs.record_count(n); ++r) {
          const ByteView rec = fs.read_record(n, r);
          ef.content.insert(ef.content.end(), rec.begin(), rec.end());
        }
      } else {
        const ByteView all = fs.read_binary(n, 0, fs.size(n));
        ef.content.assign(all.begin(), all.end());
      }
      app.efs.push_back(std::move(ef));
    }
    for (std::uint8_t ref = 1; ref <= co::kMaxObjectRef; ++ref)
      if (objects.find(df, co::ObjectKind::pin, ref) != 0) app.pins.push_back(ref);
    apps.push_back(std::move(app));
  }
  return apps;
}

// The municipal applications the card manager installs (issuer_tool/apps),
// with the PIN values their holder sets after install.
const std::vector<std::pair<std::uint8_t, std::string>> kSealPins = {{1, "1357"}};
const std::vector<std::pair<std::uint8_t, std::string>> kLibraryPins = {{1, "24681357"}};
const std::vector<std::pair<std::uint8_t, std::string>> kKioskPins = {{2, "12345678"}, {1, "4321"}};

// The PIN values the test knows (test_card.hpp, secure_layout.hpp, the
// municipal applications above).
std::optional<std::string> pin_value(const App& app, std::uint8_t ref) {
  static const std::map<std::pair<Bytes, std::uint8_t>, std::string> known = [] {
    std::map<std::pair<Bytes, std::uint8_t>, std::string> k = {
        {{host::perso::kSampleAid, 1}, "1234"},
        {{Bytes(std::begin(juki::layout::jpki::kAid), std::end(juki::layout::jpki::kAid)), 1},
         kJpkiAuthPin},
        {{Bytes(std::begin(juki::layout::jpki::kAid), std::end(juki::layout::jpki::kAid)), 2},
         kJpkiSignPin},
        {{Bytes(std::begin(juki::layout::juki_ap::kAid), std::end(juki::layout::juki_ap::kAid)), 1},
         kJukiPassword},
    };
    for (const auto& [aid, pins] : {std::pair{card_manager::seal_registration().aid, kSealPins},
                                    std::pair{card_manager::library_card().aid, kLibraryPins},
                                    std::pair{card_manager::kiosk_access().aid, kKioskPins}})
      for (const auto& [ref, value] : pins) k[{aid, ref}] = value;
    return k;
  }();
  auto it = known.find({app.aid, ref});
  if (it == known.end()) return std::nullopt;
  return it->second;
}

bool contains(const Bytes& haystack, const Bytes& needle) {
  return !needle.empty() && haystack.size() >= needle.size() &&
         std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) !=
             haystack.end();
}

std::uint8_t cla_of(int channel) {
  return static_cast<std::uint8_t>(channel);
}

class Firewall {
 public:
  // `card` holds the applications of `apps`; every attempt starts from its
  // memory as it is now.
  Firewall(const Pki& p, std::unique_ptr<TestCard> card, std::vector<App> apps)
      : p_(p), card_(std::move(card)), apps_(std::move(apps)), image_(card_->storage().bytes()) {}

  std::size_t attempts() const { return attempts_; }

  // In context `a` (nullptr: the MF) on `channel`, with everything proved
  // that can be, every file of every other application by every path.
  void from(const App* a, int channel) {
    INFO("context " << (a ? to_hex(a->aid) : std::string("MF")) << " on channel " << channel);
    for (const App& b : apps_) {
      if (a != nullptr && b.aid == a->aid) continue;
      for (const Ef& e : b.efs) {
        INFO("target EF " << e.fid << " of " << to_hex(b.aid));
        enter(a, channel);
        by_fid(a, b, e);
        if (e.sfi != 0) by_sfi(a, b, e);
        enter(a, channel);
        if (b.fid != 0) by_path(b, e);
        enter(a, channel);
        by_aid(b, e);
      }
      enter(a, channel);
      pins_of(b);
      for (std::uint8_t ref : b.pins) {
        enter(a, channel);
        b_pin_verified_in_a(b, ref);
      }
      enter(a, channel);
      authentication_in(b);
    }
    if (a != nullptr) other_channel(*a, channel);
  }

 private:
  // A fresh power-up, the channel open, the context entered and everything
  // in it proved: its PINs, and (the SEC application) a window session.
  void enter(const App* a, int channel) {
    session_.reset();
    card_->storage().bytes() = image_;
    card_->power_cycle();
    channel_ = channel;
    if (channel != 0) REQUIRE(card_->sw(apdu::encode_command(0x00, 0x70, 0x00, channel)) == 0x9000);
    if (a == nullptr) return;
    expect_ok(apdu::encode_command(cla_of(channel), 0xA4, 0x04, 0x0C, a->aid));
    for (std::uint8_t ref : a->pins)
      if (auto v = pin_value(*a, ref))
        expect_ok(apdu::encode_command(cla_of(channel), 0x20, 0x00,
                                       static_cast<std::uint8_t>(0x80 | ref), as_bytes(*v)));
    if (authenticates(*a) && channel == 0) {
      auto s = host::session::SecureSession::open(card_->transport(),
                                                  p_.terminal(pki::Role::window), unix_now());
      INFO((s ? std::string() : s.error().message));
      REQUIRE(s.ok());
      session_ = std::move(*s);
    }
  }

  // The session while it lasts (a SELECT into another context ends it), then plain.
  juki::Transport& t() {
    if (session_ && !session_->active()) session_.reset();
    return session_ ? static_cast<juki::Transport&>(*session_) : card_->transport();
  }
  void expect_ok(const Bytes& cmd) { REQUIRE(sw_via(t(), cmd) == 0x9000); }
  // One attempt: the answer must not carry a protected content of `b`.
  Bytes attempt(const App& b, const Bytes& cmd) {
    ++attempts_;
    Bytes r = via(t(), cmd);
    for (const Ef& e : b.efs)
      if (e.protected_read && secret(e.content)) {
        INFO("command " << to_hex(cmd) << " answered " << to_hex(r));
        CHECK_FALSE(contains(r, e.content));
      }
    return r;
  }
  // A protected EF's content that no public EF of the card also holds.
  bool secret(const Bytes& content) const {
    for (const App& app : apps_)
      for (const Ef& e : app.efs)
        if (!e.protected_read && contains(e.content, content)) return false;
    return true;
  }
  std::uint8_t cla() const { return cla_of(channel_); }
  // An application holding a trust anchor and a card certificate: a window
  // terminal authenticates in it. (The card manager has a trust anchor only,
  // for authorizations: no session opens there.)
  static bool authenticates(const App& a) {
    auto holds = [&](std::uint16_t fid) {
      return std::any_of(a.efs.begin(), a.efs.end(), [&](const Ef& e) { return e.fid == fid; });
    };
    return holds(0x2F10) && holds(0x2F11);
  }
  bool has_fid(const App* a, std::uint16_t fid) const {
    if (a == nullptr) return false;
    for (const Ef& e : a->efs)
      if (e.fid == fid) return true;
    return fid == a->fid;
  }

  // SELECT of b's EF by its FID from a's context: 6A82 unless a has one too.
  void by_fid(const App* a, const App& b, const Ef& e) {
    const Bytes fid = {static_cast<std::uint8_t>(e.fid >> 8), static_cast<std::uint8_t>(e.fid)};
    const Bytes r = attempt(b, apdu::encode_command(cla(), 0xA4, 0x02, 0x0C, fid));
    if (!has_fid(a, e.fid)) {
      INFO("EF " << e.fid << " of " << to_hex(b.aid));
      CHECK(TestCard::sw_of(r) != 0x9000);
    }
    read_and_write_current(b, e, false);
  }
  // READ/UPDATE by SFI from a's context: a's own EF with that SFI, or nothing.
  void by_sfi(const App*, const App& b, const Ef& e) {
    const auto p1 = static_cast<std::uint8_t>(0x80 | e.sfi);
    if (e.records) {
      attempt(b, apdu::encode_command(cla(), 0xB2, 0x01, static_cast<std::uint8_t>(e.sfi << 3 | 4),
                                      {}, 256));
      write_attempt(
          b, apdu::encode_command(cla(), 0xDC, 0x01, static_cast<std::uint8_t>(e.sfi << 3 | 4),
                                  Bytes(4, 0xEE)));
    } else {
      attempt(b, apdu::encode_command(cla(), 0xB0, p1, 0x00, {}, 256));
      write_attempt(b, apdu::encode_command(cla(), 0xD6, p1, 0x00, Bytes(4, 0xEE)));
    }
  }
  // By path from the MF: the channel enters b's context, a's proofs are gone.
  void by_path(const App& b, const Ef& e) {
    const Bytes path = {static_cast<std::uint8_t>(b.fid >> 8), static_cast<std::uint8_t>(b.fid),
                        static_cast<std::uint8_t>(e.fid >> 8), static_cast<std::uint8_t>(e.fid)};
    attempt(b, apdu::encode_command(cla(), 0xA4, 0x08, 0x0C, path));
    read_and_write_current(b, e, true);
  }
  // By AID, then the EF: b's context, a's proofs are gone.
  void by_aid(const App& b, const Ef& e) {
    attempt(b, apdu::encode_command(cla(), 0xA4, 0x04, 0x0C, b.aid));
    const Bytes fid = {static_cast<std::uint8_t>(e.fid >> 8), static_cast<std::uint8_t>(e.fid)};
    attempt(b, apdu::encode_command(cla(), 0xA4, 0x02, 0x0C, fid));
    read_and_write_current(b, e, true);
  }
  // READ and UPDATE of the current EF: b's protected content never comes
  // (checked by attempt), no write ever lands in b (checked at the end).
  void read_and_write_current(const App& b, const Ef& e, bool in_b) {
    if (e.records) {
      attempt(b, apdu::encode_command(cla(), 0xB2, 0x01, 0x04, {}, 256));
      write_attempt(b, apdu::encode_command(cla(), 0xDC, 0x01, 0x04, Bytes(4, 0xEE)));
      write_attempt(b, apdu::encode_command(cla(), 0xE2, 0x00, 0x00, Bytes(4, 0xEE)));
    } else {
      const Bytes r = attempt(b, apdu::encode_command(cla(), 0xB0, 0x00, 0x00, {}, 256));
      if (in_b && e.protected_read) CHECK(TestCard::sw_of(r) != 0x9000);
      write_attempt(b, apdu::encode_command(cla(), 0xD6, 0x00, 0x00, Bytes(4, 0xEE)));
    }
  }
  // A write attempt: b's files are as they were, in the card's memory.
  void write_attempt(const App& b, const Bytes& cmd) {
    attempt(b, cmd);
    for (const App& now : inventory(card_->storage().bytes()))
      if (now.aid == b.aid) {
        REQUIRE(now.efs.size() == b.efs.size());
        for (std::size_t i = 0; i < b.efs.size(); ++i) {
          INFO("command " << to_hex(cmd) << ", EF " << b.efs[i].fid << " of " << to_hex(b.aid));
          CHECK(now.efs[i].content == b.efs[i].content);
        }
      }
  }

  // b's PINs: none is verified in b after proving a's.
  void pins_of(const App& b) {
    attempt(b, apdu::encode_command(cla(), 0xA4, 0x04, 0x0C, b.aid));
    for (std::uint8_t ref : b.pins) {
      const Bytes r = attempt(
          b, apdu::encode_command(cla(), 0x20, 0x00, static_cast<std::uint8_t>(0x80 | ref)));
      INFO("PIN " << int(ref) << " of " << to_hex(b.aid) << ": " << to_hex(r));
      CHECK(TestCard::sw_of(r) != 0x9000);
    }
  }
  // b's PIN value sent with b's reference while in a's context: the
  // reference resolves in a (a's PIN or none), and b's PIN stays unverified.
  void b_pin_verified_in_a(const App& b, std::uint8_t ref) {
    const auto value = pin_value(b, ref);
    if (!value) return;
    attempt(b, apdu::encode_command(cla(), 0x20, 0x00, static_cast<std::uint8_t>(0x80 | ref),
                                    as_bytes(*value)));
    attempt(b, apdu::encode_command(cla(), 0xA4, 0x04, 0x0C, b.aid));
    const Bytes r =
        attempt(b, apdu::encode_command(cla(), 0x20, 0x00, static_cast<std::uint8_t>(0x80 | ref)));
    INFO("PIN " << int(ref) << " of " << to_hex(b.aid) << " after its value in another context");
    CHECK(TestCard::sw_of(r) != 0x9000);
  }

  // Mutual authentication in b's context: only SEC holds what it needs; a
  // session from elsewhere is never established in b.
  void authentication_in(const App& b) {
    enter(nullptr, 0);
    ++attempts_;
    REQUIRE(card_->sw(apdu::encode_command(0x00, 0xA4, 0x04, 0x0C, b.aid)) == 0x9000);
    auto s = host::session::SecureSession::open(card_->transport(), p_.terminal(pki::Role::window),
                                                unix_now());
    INFO("authentication in " << to_hex(b.aid) << ": "
                              << (s ? std::string("established") : s.error().message));
    CHECK(s.ok() == authenticates(b));
    // A protected command where no session exists: 6882.
    ++attempts_;
    if (!s) CHECK(card_->sw(hex("0CB0000000")) == 0x6882);
  }
  // a proved on `channel`: on the other channel, in a too, nothing of it counts.
  void other_channel(const App& a, int channel) {
    const int other = channel == 0 ? 1 : 0;
    enter(&a, channel);
    if (other != 0) REQUIRE(sw_via(t(), apdu::encode_command(0x00, 0x70, 0x00, other)) == 0x9000);
    session_.reset();  // the other channel's commands go plain
    REQUIRE(card_->sw(apdu::encode_command(cla_of(other), 0xA4, 0x04, 0x0C, a.aid)) == 0x9000);
    for (const Ef& e : a.efs) {
      if (!e.protected_read || e.records) continue;
      const Bytes fid = {static_cast<std::uint8_t>(e.fid >> 8), static_cast<std::uint8_t>(e.fid)};
      card_->send(apdu::encode_command(cla_of(other), 0xA4, 0x02, 0x0C, fid));
      ++attempts_;
      const Bytes r = card_->send(apdu::encode_command(cla_of(other), 0xB0, 0x00, 0x00, {}, 256));
      INFO("EF " << e.fid << " of " << to_hex(a.aid) << " on channel " << other);
      CHECK(TestCard::sw_of(r) != 0x9000);
    }
  }

  const Pki& p_;
  std::unique_ptr<TestCard> card_;
  std::vector<App> apps_;
  Bytes image_;
  std::unique_ptr<host::session::SecureSession> session_;
  int channel_ = 0;
  std::size_t attempts_ = 0;
};

}  // namespace

TEST_CASE("firewall: no application reaches another's files, PINs or authentication",
          "[firewall][req:K5][req:K14]") {
  const Pki p;
  const auto auth_ca = take(pki::create_jpki_ca(pki::JpkiKind::auth));
  const auto sign_ca = take(pki::create_jpki_ca(pki::JpkiKind::sign));
  auto card = std::make_unique<TestCard>();
  REQUIRE(make_secure_card(card->transport(), sample_secrets(), p.root.cert, p.card_ca,
                           JpkiCas{auth_ca, sign_ca}, WithJukiAp::yes, WithCardManager::yes)
              .ok());
  card->power_cycle();
  // The three municipal applications, installed by the card manager on the
  // municipality's authorization, their PINs set by the holder.
  const auto cred = p.terminal(pki::Role::app_authority);
  const card_manager::Authority authority{cred.key, cred.certificate, cred.ca};
  for (const auto& [app, pins] : {std::pair{card_manager::seal_registration(), kSealPins},
                                  std::pair{card_manager::library_card(), kLibraryPins},
                                  std::pair{card_manager::kiosk_access(), kKioskPins}}) {
    auto installed = enrolment::install_application(card->transport(), authority, app);
    INFO((installed ? std::string() : installed.error().describe()));
    REQUIRE(installed.ok());
    REQUIRE(card->sw(apdu::encode_command(0x00, 0xA4, 0x04, 0x0C, app.aid)) == 0x9000);
    for (const auto& [ref, value] : pins)
      REQUIRE(card->sw(apdu::encode_command(0x00, 0x24, 0x01, static_cast<std::uint8_t>(0x80 | ref),
                                            as_bytes(value))) == 0x9000);
  }
  card->power_cycle();
  const Bytes before = card->storage().bytes();
  const std::vector<App> apps = inventory(before);
  // The sample application, SEC, JPKI, the Juki AP, the card manager and the
  // three municipal ones.
  REQUIRE(apps.size() >= 8);
  // The resident code is among the protected contents no other context may see.
  bool resident_code = false;
  for (const App& a : apps)
    for (const Ef& e : a.efs)
      resident_code |= e.protected_read && e.content == ascii(kJukiResidentCode);
  REQUIRE(resident_code);

  Firewall f(p, std::move(card), apps);
  for (int channel : {0, 1}) {
    f.from(nullptr, channel);
    for (const App& a : apps) f.from(&a, channel);
  }
  std::printf("firewall: %zu attempts over %zu applications and the MF, on 2 channels\n",
              f.attempts(), apps.size());
  CHECK(f.attempts() > 1000);
}
