// Tearing of mutual authentication (specs/secure-channel.md 2.3, 2.4): a
// failing authentication writes nothing at all (its count is volatile), and
// the one write of a succeeding one, the card's date moving forward at step
// 4, is old or new after a power cut at any write, never a mix, and the card
// authenticates afterwards.
//
// The card of support/secure_card.hpp is copied onto a medium that can lose
// power at a chosen write (support/torn_medium.hpp); every write of the
// attempt is cut, with several torn prefixes, and the card is powered up
// again from the same medium to read its date (Superblock::kCardDateAt).
#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "card_os/card/card_impl.hpp"
#include "common/iso7816/apdu.hpp"
#include "host_middleware/session/secure_session.hpp"
#include "simulator/in_process.hpp"
#include "support/secure_card.hpp"
#include "support/torn_medium.hpp"

using namespace juki;
using namespace juki::test;
namespace co = juki::card_os;

namespace {

// Passes commands through and remembers, for each, its INS and the write
// index at which it started.
struct Marker final : juki::Transport {
  juki::Transport& inner;
  TornMedium& medium;
  std::vector<std::pair<std::uint64_t, std::uint8_t>> starts;
  Marker(juki::Transport& t, TornMedium& m) : inner(t), medium(m) {}
  Result<Bytes, juki::TransportError> transmit(ByteView cmd) override {
    starts.emplace_back(medium.writes_since_mark(), cmd.size() > 1 ? cmd[1] : 0);
    return inner.transmit(cmd);
  }
  Result<Bytes, juki::TransportError> reset() override { return inner.reset(); }
  Result<Bytes, juki::TransportError> power_cycle() override { return inner.power_cycle(); }
  Bytes atr() const override { return inner.atr(); }
  std::string describe() const override { return "marker"; }
};

// What an authentication attempt did.
struct Attempt {
  bool cut = false;  // the power was lost during the attempt
  bool opened = false;
  std::optional<host::session::SessionError> error;
  // INS of each command sent and the write (from the attempt's start) it began at.
  std::vector<std::pair<std::uint64_t, std::uint8_t>> commands;
  std::vector<std::size_t> sizes;    // of the attempt's writes (the torn one included)
  std::vector<std::size_t> offsets;  // on the storage

  // The first write of a commit record (to a commit slot: storage layout of
  // card_os/nvm/persistent_memory.hpp), if any.
  std::optional<std::uint64_t> commit_record() const {
    constexpr std::size_t kSlots = co::PersistentMemory::kHeaderSize;
    for (std::uint64_t i = 0; i < offsets.size(); ++i)
      if (offsets[i] >= kSlots && offsets[i] < kSlots + 2 * co::PersistentMemory::kSlotSize)
        return i;
    return std::nullopt;
  }
};

// The card on a medium that can lose power at a chosen write.
class TornCard {
 public:
  explicit TornCard(const Bytes& image) : medium_(image, "secure tearing") {}

  void power_up() { medium_.power_up(); }
  std::uint64_t date() { return medium_.card().memory().u64(co::Superblock::kCardDateAt); }
  sw::Sw sw(ByteView cmd) { return sw_via(medium_.transport(), cmd); }

  // Powers up, selects the application, then tries to authenticate with
  // `cred`, cut at `cut` if given.
  Attempt attempt(const host::session::Credentials& cred, std::optional<Cut> cut = {}) {
    power_up();
    REQUIRE(sw(hex(kSelectSec)) == 0x9000);
    medium_.mark(cut);
    Marker marker(medium_.transport(), medium_);
    auto s = host::session::SecureSession::open(marker, cred, unix_now());
    Attempt a;
    a.cut = medium_.fired();
    a.opened = s.ok();
    if (!s) a.error = s.error();
    a.commands = marker.starts;
    a.sizes = medium_.sizes();
    a.offsets = medium_.offsets();
    return a;
  }

 private:
  TornMedium medium_;
};

// The INS of the command a write belongs to.
std::uint8_t command_of(const Attempt& clean, std::uint64_t write) {
  std::uint8_t ins = 0;
  for (auto [at, i] : clean.commands)
    if (at <= write) ins = i;
  return ins;
}

}  // namespace

TEST_CASE("secure tearing: a failing authentication writes nothing", "[session][tearing]") {
  const Pki p;
  const Pki other("Another Root CA");
  const Pki impostor;  // the root's name, other keys: a failed proof (6300)
  auto c = secure_card(p);
  const Bytes image = c->storage().bytes();
  TornCard card(image);
  for (const auto& [who, sw] : {std::pair{other.terminal(pki::Role::window), sw::Sw{0x6A88}},
                                std::pair{impostor.terminal(pki::Role::window), sw::Sw{0x6300}}}) {
    for (int i = 0; i < 3; ++i) {
      const Attempt a = card.attempt(who);
      REQUIRE(a.error.has_value());
      CHECK(a.error->sw == sw);
      CHECK(a.sizes.empty());  // not one write
    }
  }
}

TEST_CASE("secure tearing: a cut succeeding authentication leaves the card's date old or new",
          "[session][tearing]") {
  const Pki p;
  // A terminal certificate from an hour ahead: step 4 moves the card's date.
  const auto later = p.terminal(pki::Role::window, 30, unix_now() + 3600);
  const auto good = p.terminal(pki::Role::window, 30, unix_now() + 7200);
  auto c = secure_card(p);
  const Bytes image = c->storage().bytes();

  TornCard card(image);
  card.power_up();
  const std::uint64_t old_date = card.date();
  const Attempt clean = card.attempt(later);
  REQUIRE_FALSE(clean.cut);
  {
    INFO((clean.error ? clean.error->message : std::string()));
    REQUIRE(clean.opened);
  }
  card.power_up();
  const std::uint64_t new_date = card.date();
  REQUIRE(new_date > old_date);
  // Step 4 (EXTERNAL AUTHENTICATE, 82), once the terminal proved its key, is
  // the only command that writes.
  REQUIRE_FALSE(clean.sizes.empty());
  std::set<std::uint8_t> writing;
  for (std::uint64_t i = 0; i < clean.sizes.size(); ++i) writing.insert(command_of(clean, i));
  CHECK(writing == std::set<std::uint8_t>{0x82});

  const std::vector<Cut> cuts = cut_points(clean.sizes);
  int olds = 0, news = 0;
  for (const Cut& cut : cuts) {
    INFO("cut at write " << cut.write << " of " << clean.sizes.size() << " ("
                         << clean.sizes[cut.write] << " bytes), " << cut.prefix
                         << " bytes written");
    TornCard torn(image);
    const Attempt a = torn.attempt(later, cut);
    REQUIRE(a.cut);
    REQUIRE_FALSE(a.opened);
    CHECK(a.error->kind == host::session::SessionError::Kind::transport);
    torn.power_up();
    const std::uint64_t date = torn.date();
    CHECK((date == old_date || date == new_date));
    (date == old_date ? olds : news) += 1;
    // The card is whole: the next terminal authenticates.
    const Attempt next = torn.attempt(good);
    INFO((next.error ? next.error->message : std::string()));
    CHECK(next.opened);
  }
  WARN("succeeding attempt: " << cuts.size() << " cut points over " << clean.sizes.size()
                              << " writes; date old after " << olds << ", new after " << news);
  CHECK(olds > 0);
  CHECK(news > 0);
}
