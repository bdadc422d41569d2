// Tearing of the mutual-authentication failure counter
// (specs/secure-channel.md 2.4): a power cut at any single persistent write of
// an authentication attempt, a failing one and a succeeding one, never gives a
// failure back. Steps 1, 2 and 4 commit failures+1 before their check and
// failures-1 after it passes; step 5 commits 0.
//
// The card of support/secure_card.hpp is copied onto a medium that can lose
// power at a chosen write (support/torn_medium.hpp);
// every write of the attempt is cut, with several torn prefixes, and the card
// is powered up again from the same medium to read the counter
// (Superblock::kAuthFailuresAt).
#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "card_os/apdu/apdu.hpp"
#include "card_os/card/card_impl.hpp"
#include "host_middleware/session/secure_session.hpp"
#include "host_middleware/transport/in_process.hpp"
#include "support/secure_card.hpp"
#include "support/torn_medium.hpp"

using namespace juki;
using namespace juki::test;
namespace co = juki::card_os;

namespace {

// Passes commands through and remembers, for each, its INS and the write
// index at which it started.
struct Marker final : host::Transport {
  host::Transport& inner;
  TornMedium& medium;
  std::vector<std::pair<std::uint64_t, std::uint8_t>> starts;
  Marker(host::Transport& t, TornMedium& m) : inner(t), medium(m) {}
  Result<Bytes, host::TransportError> transmit(ByteView cmd) override {
    starts.emplace_back(medium.writes_since_mark(), cmd.size() > 1 ? cmd[1] : 0);
    return inner.transmit(cmd);
  }
  Result<Bytes, host::TransportError> reset() override { return inner.reset(); }
  Result<Bytes, host::TransportError> power_cycle() override { return inner.power_cycle(); }
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
  std::uint8_t failures() { return medium_.card().memory().u8(co::Superblock::kAuthFailuresAt); }
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

// The card of secure_card(p), with `failures` consecutive failed
// authentications counted (from clean failing attempts, across power-ups so
// that the per-power-up limit never answers 6983), powered off.
Bytes image_with_failures(const Pki& p, const Pki& other, int failures) {
  auto c = secure_card(p);
  auto bad = other.terminal(pki::Role::window);
  for (int i = 0; i < failures; ++i) {
    if (i % 2 == 0) c->power_cycle();
    CHECK(open_fails(*c, bad).sw == 0x6A88);
  }
  REQUIRE(c->card().memory().u8(co::Superblock::kAuthFailuresAt) == failures);
  return c->storage().bytes();
}

}  // namespace

TEST_CASE("secure tearing: a cut failing authentication never gives a failure back",
          "[session][tearing]") {
  const Pki p;
  const Pki other("Another Root CA");
  const auto bad = other.terminal(pki::Role::window);
  const auto good = p.terminal(pki::Role::window);
  constexpr int kBefore = 4;
  const Bytes image = image_with_failures(p, other, kBefore);

  // The clean failing attempt: step 1 counts the failure, then refuses.
  TornCard card(image);
  const Attempt clean = card.attempt(bad);
  REQUIRE_FALSE(clean.cut);
  REQUIRE(clean.error.has_value());
  REQUIRE(clean.error->sw == 0x6A88);
  REQUIRE(clean.commands.size() == 1);  // PSO VERIFY CERTIFICATE (step 1) only
  REQUIRE_FALSE(clean.sizes.empty());
  card.power_up();
  REQUIRE(card.failures() == kBefore + 1);

  // The count transaction writes its journal, then its commit record (the
  // atomic point), then the main area: the attempt's only writes, all before
  // the certificate is looked at.
  const std::optional<std::uint64_t> record = clean.commit_record();
  REQUIRE(record.has_value());
  REQUIRE(*record > 0);
  REQUIRE(*record + 1 < clean.sizes.size());

  // Every cut: before the commit record is written, the failure is not
  // counted and the check never ran (the card answered nothing); once the
  // record is whole, it is counted; the record itself torn: either. Never
  // less than before, and the card never answers 6A88 to a torn attempt.
  const std::vector<Cut> cuts = cut_points(clean.sizes);
  std::string trace;
  int before_record = 0, torn_record = 0, after_record = 0;
  for (const Cut& cut : cuts) {
    INFO("cut at write " << cut.write << " of " << clean.sizes.size() << " ("
                         << clean.sizes[cut.write] << " bytes), " << cut.prefix
                         << " bytes written; commit record at write " << *record);
    TornCard torn(image);
    const Attempt a = torn.attempt(bad, cut);
    REQUIRE(a.cut);
    REQUIRE(a.error.has_value());
    CHECK(a.error->kind == host::session::SessionError::Kind::transport);
    CHECK(a.error->sw == 0);
    torn.power_up();
    const int after = torn.failures();
    trace += std::to_string(after) + " ";
    if (cut.write < *record) {
      ++before_record;
      CHECK(after == kBefore);
    } else if (cut.write == *record) {
      ++torn_record;
      CHECK((after == kBefore || after == kBefore + 1));
    } else {
      ++after_record;
      CHECK(after == kBefore + 1);
    }
  }
  CHECK(before_record > 0);
  CHECK(after_record > 0);
  WARN("failing attempt: " << cuts.size() << " cut points over " << clean.sizes.size()
                           << " writes (commit record at write " << *record
                           << "); failures after power-up: " << trace);

  // The attacker: cut every attempt, at each cut point in turn, and power up
  // again. The counter grows by at least the attempts cut after their commit
  // record was whole, and at most those plus the ones cut in the record; 15
  // block authentication for good.
  TornCard attacker(image);
  int failures = kBefore, attempts = 0, committed = 0, maybe = 0;
  while (failures < co::kAuthFailuresLimit) {
    REQUIRE(attempts < 1000);
    const Cut cut = cuts[static_cast<std::size_t>(attempts) % cuts.size()];
    INFO("attempt " << attempts << ": cut at write " << cut.write << ", " << cut.prefix
                    << " bytes written");
    const Attempt a = attacker.attempt(bad, cut);
    REQUIRE(a.cut);
    REQUIRE(a.error.has_value());
    CHECK(a.error->sw == 0);
    ++attempts;
    const std::optional<std::uint64_t> r = a.commit_record();
    if (r && *r < cut.write) ++committed;
    if (r && *r == cut.write) ++maybe;
    attacker.power_up();
    const int after = attacker.failures();
    CHECK((after == failures || after == failures + 1));
    CHECK(after >= kBefore + committed);
    CHECK(after <= kBefore + committed + maybe);
    failures = after;
  }
  WARN("attacker: " << attempts << " torn attempts, " << committed
                    << " cut after their commit record, " << maybe
                    << " in it; the counter went from " << kBefore << " to " << failures
                    << ", then blocked for good");
  CHECK(failures == co::kAuthFailuresLimit);
  for (int i = 0; i < 2; ++i) {
    const Attempt a = attacker.attempt(good);
    REQUIRE_FALSE(a.opened);
    CHECK(a.error->sw == 0x6983);
    CHECK(a.sizes.empty());  // refused before counting anything
  }
}

TEST_CASE("secure tearing: a cut succeeding authentication never gives a failure back",
          "[session][tearing]") {
  const Pki p;
  const Pki other("Another Root CA");
  const auto good = p.terminal(pki::Role::window);
  constexpr int kBefore = 2;  // not 0, so that "completed" (0) differs from "before"
  const Bytes image = image_with_failures(p, other, kBefore);

  TornCard card(image);
  const Attempt clean = card.attempt(good);
  REQUIRE_FALSE(clean.cut);
  {
    INFO((clean.error ? clean.error->message : std::string()));
    REQUIRE(clean.opened);
  }
  card.power_up();
  REQUIRE(card.failures() == 0);
  // The steps that write: 2A (steps 1 and 2), 82 (step 4), 86 (step 5).
  std::set<std::uint8_t> writing;
  for (std::uint64_t i = 0; i < clean.sizes.size(); ++i) writing.insert(command_of(clean, i));
  CHECK(writing == std::set<std::uint8_t>{0x2A, 0x82, 0x86});

  const std::vector<Cut> cuts = cut_points(clean.sizes);
  std::map<std::uint8_t, std::string> traces;
  std::map<int, int> outcomes;
  for (const Cut& cut : cuts) {
    const std::uint8_t ins = command_of(clean, cut.write);
    INFO("cut at write " << cut.write << " of " << clean.sizes.size() << " ("
                         << clean.sizes[cut.write] << " bytes), " << cut.prefix
                         << " bytes written, in INS " << std::hex << int{ins});
    TornCard torn(image);
    const Attempt a = torn.attempt(good, cut);
    REQUIRE(a.cut);
    REQUIRE_FALSE(a.opened);
    CHECK(a.error->kind == host::session::SessionError::Kind::transport);
    torn.power_up();
    const int after = torn.failures();
    traces[ins] += std::to_string(after) + " ";
    ++outcomes[after];
    if (ins == 0x86) {
      // Step 5: the take-back of step 4 is committed; 0 once step 5 is.
      CHECK((after == kBefore || after == 0));
    } else {
      // Steps 1, 2, 4: before, or before+1 between the count and the
      // take-back; never less than before without step 5.
      CHECK((after == kBefore || after == kBefore + 1));
    }
  }
  std::ostringstream report;
  for (const auto& [ins, t] : traces) report << std::hex << int{ins} << ": " << t << "; ";
  WARN("succeeding attempt: " << cuts.size() << " cut points over " << clean.sizes.size()
                              << " writes; failures after power-up by INS: " << report.str());
  // Each state was seen: before, counted (before+1), and completed (0).
  CHECK(outcomes[kBefore] > 0);
  CHECK(outcomes[kBefore + 1] > 0);
  CHECK(outcomes[0] > 0);
}
