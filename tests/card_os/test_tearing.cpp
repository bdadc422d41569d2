// The exhaustive tearing test (ARCHITECTURE.md, "card_os: a card is a pure
// function"): a scripted session runs every state-changing command, and each
// command is cut at every storage write it makes, with several torn prefixes.
// After each cut the card is powered up again and must hold exactly its old
// state or its new one (or, for a secret check, the committed "try consumed"
// state in between), must never get a PIN try or a key attempt back, and the
// power-up's own recovery writes are cut too.
//
// States are compared on the persistent main area (PersistentMemory::read),
// not on raw storage bytes: journal and commit slots legitimately differ.
#include <algorithm>
#include <cstdio>
#include <functional>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "card_os/fs/file_system.hpp"
#include "card_os/security/objects.hpp"
#include "common/layout/juki_ap.hpp"
#include "host_middleware/secure_messaging/secure_messaging.hpp"
#include "host_middleware/session/personalization_session.hpp"
#include "support/test_card.hpp"
#include "support/write_log.hpp"

using namespace juki;
namespace co = juki::card_os;
using co::LifeCycle;

namespace {

// ---------------------------------------------------------------- the rig

// One card image on a medium that can lose power at a chosen write.
// Card -> WriteLog -> FaultInjector -> MemoryStorage.
class Rig {
 public:
  explicit Rig(const Bytes& image) : mem_(image.size()) { load(image); }

  // Puts an image on the medium (the card is unpowered) with a fresh random
  // stream, so every run from the same image is the same run.
  void load(const Bytes& image) {
    end_session();
    card_.reset();
    injector_.disarm();
    REQUIRE(image.size() == mem_.size());
    mem_.bytes() = image;
    random_ = std::make_unique<co::DrbgRandom>(as_bytes("tearing"));
  }

  // Powers up a new chip on the medium; false (with the reason) if it fails.
  bool try_power_up(std::string& why) {
    end_session();
    card_.reset();
    auto c = co::Card::power_up(log_, *random_);
    if (!c.ok()) {
      why = c.error().message();
      failure_ = c.error().error;
      return false;
    }
    card_ = std::move(*c);
    return true;
  }
  void power_up() {
    std::string why;
    const bool up = try_power_up(why);
    INFO("power-up failed: " << why);
    REQUIRE(up);
  }
  co::CardError last_failure() const { return failure_; }

  co::Card& card() {
    REQUIRE(card_ != nullptr);
    return *card_;
  }
  // Under the personalization session while one is open (the host's half:
  // each command wrapped, each answer unwrapped), else plain. A card that
  // lost power answers nothing, and nothing is unwrapped.
  Bytes send(ByteView cmd) {
    if (!session_) return card().transmit(cmd);
    auto wrapped = host::sm::wrap_command(*session_, cmd);
    REQUIRE(wrapped.ok());
    const Bytes raw = card().transmit(*wrapped);
    if (raw.empty()) {
      end_session();
      return raw;
    }
    auto plain = host::sm::unwrap_response(*session_, raw);
    if (!plain) {
      end_session();
      return raw;
    }
    Bytes r = plain->encode();
    // SET STATUS ended the card's half (specs/card-os.md 6.13).
    if (cmd.size() >= 2 && cmd[1] == 0xF0 && sw_of(r) == sw::kOk) end_session();
    return r;
  }
  // Proves the transport key, in plain, and opens the personalization session
  // (specs/secure-channel.md 6) for the commands that follow.
  void open_session(ByteView key, std::uint8_t ref) {
    end_session();
    Bytes challenge = expect("0084000010", sw::kOk);
    auto mac = host::crypto::aes_cmac(key, challenge);
    REQUIRE(mac.ok());
    Bytes r = send(apdu::encode_command(0x00, 0x82, 0x00, ref, *mac));
    INFO("preparation: EXTERNAL AUTHENTICATE " << int{ref} << " -> " << to_hex(r));
    REQUIRE(sw_of(r) == sw::kOk);
    auto keys = host::session::personalization_keys(key, challenge);
    REQUIRE(keys.ok());
    session_ = std::move(*keys);
  }
  void end_session() {
    if (session_) host::sm::wipe(*session_);
    session_.reset();
  }
  Bytes send(const std::string& hex) {
    auto cmd = from_hex(hex);
    REQUIRE(cmd.has_value());
    return send(*cmd);
  }
  static sw::Sw sw_of(const Bytes& r) {
    REQUIRE(r.size() >= 2);
    return static_cast<sw::Sw>(r[r.size() - 2] << 8 | r.back());
  }
  Bytes expect(const std::string& hex, sw::Sw want) {
    Bytes r = send(hex);
    INFO("preparation " << hex << " -> " << to_hex(r));
    REQUIRE(sw_of(r) == want);
    return Bytes(r.begin(), r.end() - 2);
  }
  // GET CHALLENGE, then the EXTERNAL AUTHENTICATE command proving `key`
  // (not sent).
  Bytes proof(ByteView key, std::uint8_t ref) {
    Bytes challenge = expect("0084000010", sw::kOk);
    auto mac = host::crypto::aes_cmac(key, challenge);
    REQUIRE(mac.ok());
    return apdu::encode_command(0x00, 0x82, 0x00, ref, *mac);
  }
  void authenticate(ByteView key, std::uint8_t ref) {
    Bytes r = send(proof(key, ref));
    INFO("preparation: EXTERNAL AUTHENTICATE " << int{ref} << " -> " << to_hex(r));
    REQUIRE(sw_of(r) == sw::kOk);
  }

  Bytes main_area() {
    const co::PersistentMemory& m = card().memory();
    ByteView v = m.read(0, m.capacity());
    return Bytes(v.begin(), v.end());
  }
  const Bytes& image() const { return mem_.bytes(); }
  co::FaultInjector& injector() { return injector_; }
  const std::vector<std::size_t>& write_sizes() const { return log_.sizes; }

 private:
  co::MemoryStorage mem_;
  co::FaultInjector injector_{mem_};
  test::WriteLog log_{injector_};
  std::unique_ptr<co::DrbgRandom> random_;
  std::unique_ptr<co::Card> card_;
  co::CardError failure_ = co::CardError::nvm;
  std::optional<host::sm::SessionKeys> session_;
};

// ---------------------------------------------------------------- secrets watched

// A retry counter the step must never give back.
struct Watch {
  std::string name;
  Bytes key_value;  // a key, found in the main area by its value; empty: PIN 81 of DF 5000
};

const std::string kSelectApp = "00A4040C09F04A554B4944454D4F";
const std::string kSelectMf = "00A4000C023F00";

Watch pin81() {
  return {"PIN 81", {}};
}
Watch key_watch(const std::string& name, const Bytes& value) {
  return {name, value};
}

// Tries left of a key object (security/objects.hpp layout: kind 2 at +0,
// tries left at +7, value at +16), found by its value in the main area.
std::optional<int> key_tries(const Bytes& main, const Bytes& value) {
  constexpr std::size_t kValueAt = 16;
  for (std::size_t o = 0; o + kValueAt + value.size() <= main.size(); ++o)
    if (main[o] == static_cast<std::uint8_t>(co::ObjectKind::key) &&
        std::equal(value.begin(), value.end(),
                   main.begin() + static_cast<std::ptrdiff_t>(o + kValueAt)))
      return main[o + 7];
  return std::nullopt;
}

// Tries left of PIN 81 through the card's own APDUs (changes the selection).
std::optional<int> pin_tries(Rig& rig) {
  const LifeCycle lc = rig.card().life_cycle();
  if (lc != LifeCycle::active && lc != LifeCycle::personalization) return std::nullopt;
  if (Rig::sw_of(rig.send(kSelectApp)) != sw::kOk) return std::nullopt;
  const sw::Sw s = Rig::sw_of(rig.send("00200081"));  // asks, consumes nothing
  if (s == sw::kAuthMethodBlocked) return 0;
  if ((s & 0xFFF0) == sw::kVerifyFailedBase) return s & 0x0F;
  return std::nullopt;  // not set yet, or no such PIN
}

std::vector<std::optional<int>> read_counters(Rig& rig, const std::vector<Watch>& watch,
                                              const Bytes& main) {
  std::vector<std::optional<int>> out;
  for (const Watch& w : watch)
    out.push_back(w.key_value.empty() ? pin_tries(rig) : key_tries(main, w.key_value));
  return out;
}

// ---------------------------------------------------------------- steps

// One state-changing command of the session.
struct Step {
  std::string name;
  // Volatile preparation after each power-up: selections, PINs, key proofs.
  std::function<void(Rig&)> prepare;
  // The command, built after the preparation (a proof needs its challenge).
  std::function<Bytes(Rig&)> command;
  sw::Sw expect = sw::kOk;
  // For a successful secret check: the same check with a wrong secret. Its new
  // state is the committed "try consumed" state the command passes through.
  std::function<Bytes(Rig&)> failing = {};
  std::vector<Watch> watch = {};
  // The expected life cycle after the command.
  std::optional<LifeCycle> life_cycle = std::nullopt;
};

std::function<Bytes(Rig&)> fixed(const std::string& hex) {
  auto cmd = from_hex(hex);
  REQUIRE(cmd.has_value());
  return [c = *cmd](Rig&) { return c; };
}
std::function<Bytes(Rig&)> fixed(Bytes cmd) {
  return [c = std::move(cmd)](Rig&) { return c; };
}
std::function<Bytes(Rig&)> prove(Bytes key, std::uint8_t ref) {
  return [k = std::move(key), ref](Rig& r) { return r.proof(k, ref); };
}
std::function<void(Rig&)> sends(std::vector<std::string> hex) {
  return [h = std::move(hex)](Rig& r) {
    for (const auto& c : h) r.expect(c, sw::kOk);
  };
}
const Bytes kWrongKey = *from_hex("00112233445566778899AABBCCDDEEFF");

// ---------------------------------------------------------------- the oracle

// The states a command may leave, in the order it passes through them: old,
// (try consumed,) new. A later cut may never recover an earlier state than an
// earlier cut did: that would give a consumed try back.
class Oracle {
 public:
  explicit Oracle(std::vector<std::pair<std::string, Bytes>> chain)
      : chain_(std::move(chain)), seen_(chain_.size(), 0) {}

  // Empty string when `state` is acceptable; otherwise why not.
  std::string judge(const Bytes& state) {
    std::optional<std::size_t> first_match;
    for (std::size_t k = 0; k < chain_.size(); ++k) {
      if (chain_[k].second != state) continue;
      if (!first_match) first_match = k;
      if (k >= reached_) {
        reached_ = k;
        ++seen_[k];
        return {};
      }
    }
    std::ostringstream why;
    if (first_match) {
      why << "the card went back to the " << chain_[*first_match].first
          << " state after an earlier cut had already reached the " << chain_[reached_].first
          << " state: a committed change was undone (for a secret check, a consumed try "
             "was given back)";
      return why.str();
    }
    why << "the state is none of";
    for (const auto& [name, bytes] : chain_)
      why << " " << name << " (" << diff(bytes, state) << ")";
    return why.str();
  }
  std::size_t reached() const { return reached_; }
  // How many cuts recovered the k-th state.
  std::size_t seen(std::size_t k) const { return seen_[k]; }
  std::size_t size() const { return chain_.size(); }
  const std::string& name(std::size_t k) const { return chain_[k].first; }

  static std::string diff(const Bytes& want, const Bytes& got) {
    std::size_t n = 0, first = 0;
    for (std::size_t i = 0; i < want.size() && i < got.size(); ++i)
      if (want[i] != got[i] && n++ == 0) first = i;
    std::ostringstream s;
    s << n << " bytes differ";
    if (n != 0) {
      char at[64];
      std::snprintf(at, sizeof at, ", first at %05zX: %02X instead of %02X", first, got[first],
                    want[first]);
      s << at;
    }
    return s.str();
  }

 private:
  std::vector<std::pair<std::string, Bytes>> chain_;
  std::size_t reached_ = 0;
  std::vector<std::size_t> seen_;
};

// ---------------------------------------------------------------- running a step

struct Totals {
  std::size_t steps = 0;
  std::size_t tear_points = 0;
  std::size_t recovery_tear_points = 0;
};

// Torn prefixes of a write of n bytes: nothing, half, all but the last byte.
std::vector<std::size_t> prefixes(std::size_t n) {
  std::vector<std::size_t> p = {0};
  if (n / 2 > 0) p.push_back(n / 2);
  if (n > 1 && n - 1 != n / 2) p.push_back(n - 1);
  return p;
}

// Runs `step` on `image`: once cleanly, then cut at each of its writes.
// Returns the image after the clean run.
Bytes run_step(const Bytes& image, const Step& step, Totals& totals) {
  INFO("step: " << step.name);
  Rig rig(image);

  // The old state and its counters (reading a PIN counter changes the
  // selection, so this run sends no command).
  rig.power_up();
  step.prepare(rig);
  const Bytes old_state = rig.main_area();
  const LifeCycle old_lc = rig.card().life_cycle();
  const auto old_counters = read_counters(rig, step.watch, old_state);

  // The clean run: the new state and the writes in between.
  rig.load(image);
  rig.power_up();
  step.prepare(rig);
  REQUIRE(rig.main_area() == old_state);
  Bytes cmd = step.command(rig);
  const std::uint64_t first_write = rig.injector().writes();
  const Bytes reply = rig.send(cmd);
  {
    INFO("command " << to_hex(cmd) << " -> " << to_hex(reply));
    REQUIRE(Rig::sw_of(reply) == step.expect);
  }
  const std::uint64_t writes = rig.injector().writes() - first_write;
  REQUIRE(writes > 0);  // a state-changing command writes
  const std::vector<std::size_t> sizes(
      rig.write_sizes().begin() + static_cast<std::ptrdiff_t>(first_write),
      rig.write_sizes().end());
  REQUIRE(sizes.size() == writes);
  const Bytes new_state = rig.main_area();
  const LifeCycle new_lc = rig.card().life_cycle();
  if (step.life_cycle) REQUIRE(new_lc == *step.life_cycle);
  const Bytes next_image = rig.image();

  // The committed intermediate of a two-step secret check.
  std::vector<std::pair<std::string, Bytes>> chain = {{"old", old_state}};
  if (step.failing) {
    rig.load(image);
    rig.power_up();
    step.prepare(rig);
    const Bytes r = rig.send(step.failing(rig));
    INFO("failing variant -> " << to_hex(r));
    REQUIRE((Rig::sw_of(r) & 0xFFF0) == sw::kVerifyFailedBase);
    chain.emplace_back("try-consumed", rig.main_area());
  }
  chain.emplace_back("new", new_state);
  Oracle oracle(std::move(chain));

  std::size_t points = 0, recovery_points = 0;
  bool failed = false;
  for (std::uint64_t i = 0; i < writes && !failed; ++i) {
    std::vector<std::size_t> cuts = prefixes(sizes[i]);
    // The last write whole, then the power goes before the answer: everything
    // reached the medium, so the card must come back new.
    const bool last = i + 1 == writes;
    if (last) cuts.push_back(sizes[i]);
    for (const std::size_t prefix : cuts) {
      INFO("cut at write " << i << " of " << writes << " (" << sizes[i] << " bytes), " << prefix
                           << " bytes written");
      rig.load(image);
      rig.power_up();
      step.prepare(rig);
      REQUIRE(rig.main_area() == old_state);
      cmd = step.command(rig);
      rig.injector().arm(rig.injector().writes() + i, prefix);
      const Bytes torn_reply = rig.send(cmd);
      REQUIRE(rig.injector().fired());
      REQUIRE(torn_reply.empty());
      REQUIRE(rig.card().mute());
      const Bytes torn_image = rig.image();

      // Power up again: recovery must succeed.
      std::string why;
      const std::uint64_t before_recovery = rig.injector().writes();
      const bool up = rig.try_power_up(why);
      if (!up) {
        FAIL_CHECK("power-up after the cut failed: " << why);
        failed = true;
        break;
      }
      const std::uint64_t recovery_writes = rig.injector().writes() - before_recovery;
      const std::vector<std::size_t> recovery_sizes(
          rig.write_sizes().begin() + static_cast<std::ptrdiff_t>(before_recovery),
          rig.write_sizes().end());
      const Bytes state = rig.main_area();
      const LifeCycle lc = rig.card().life_cycle();
      ++points;

      // Exactly old, (try consumed,) or new, never going back.
      const std::string verdict = oracle.judge(state);
      if (!verdict.empty()) {  // oracle.judge explains
        FAIL_CHECK(verdict);
        failed = true;
        break;
      }
      if (i == 0 && prefix == 0 && oracle.reached() != 0) {
        FAIL_CHECK("nothing was written, yet the card did not come back in its old state");
        failed = true;
        break;
      }
      const bool is_new = state == new_state;
      if (last && prefix == sizes[i] && !is_new) {
        FAIL_CHECK(
            "every write of the command reached the medium, yet the card did not come "
            "back in its new state");
        failed = true;
        break;
      }
      CHECK((lc == old_lc || lc == new_lc));
      // The card reports its life cycle as it stands (GET DATA DF20).
      if (lc != LifeCycle::transport_locked) {
        const Bytes gd = rig.send("00CADF2000");
        CHECK(Rig::sw_of(gd) == sw::kOk);
        CHECK(gd.size() == 6);
        if (gd.size() == 6) CHECK(gd[3] == static_cast<std::uint8_t>(lc));
      }
      // No counter above its old value, unless the command completed.
      const auto counters = read_counters(rig, step.watch, state);
      for (std::size_t w = 0; w < step.watch.size(); ++w) {
        if (!old_counters[w] || !counters[w]) continue;
        INFO(step.watch[w].name << ": " << *old_counters[w] << " tries left before, "
                                << *counters[w] << " after the cut ("
                                << oracle.name(oracle.reached()) << " state)");
        if (!is_new) CHECK(*counters[w] <= *old_counters[w]);
        if (step.failing == nullptr && !is_new) CHECK(*counters[w] == *old_counters[w]);
      }

      // Cut the power-up's own recovery writes too; the next power-up must
      // come back to the same state.
      for (std::uint64_t r = 0; r < recovery_writes && !failed; ++r) {
        for (const std::size_t q : prefixes(recovery_sizes[r])) {
          INFO("recovery cut at write " << r << " of " << recovery_writes << ", " << q
                                        << " bytes written");
          rig.load(torn_image);
          rig.injector().arm(rig.injector().writes() + r, q);
          std::string ignored;
          const bool up_torn = rig.try_power_up(ignored);
          REQUIRE(rig.injector().fired());
          CHECK_FALSE(up_torn);
          CHECK(rig.last_failure() == co::CardError::power_lost);
          rig.injector().disarm();
          const bool up_again = rig.try_power_up(why);
          ++recovery_points;
          if (!up_again) {
            FAIL_CHECK("power-up after a cut recovery failed: " << why);
            failed = true;
            break;
          }
          if (rig.main_area() != state) {
            FAIL_CHECK("a cut recovery came back in another state than the uncut one: "
                       << Oracle::diff(state, rig.main_area()));
            failed = true;
            break;
          }
        }
      }
      if (failed) break;
    }
  }

  // A successful secret check must commit the consumed try before anything
  // else: a cut between its two steps finds the try consumed.
  if (step.failing && !failed) {
    INFO(
        "no cut found the try consumed: the check does not commit the consumed try "
        "before it compares");
    CHECK(oracle.seen(1) > 0);
  }

  std::ostringstream seen;
  for (std::size_t k = 0; k < oracle.size(); ++k)
    seen << (k ? ", " : "") << oracle.name(k) << " " << oracle.seen(k);
  char line[200];
  std::snprintf(line, sizeof line,
                "tearing: %-64s %2llu writes %3zu tear points (%s), %3zu recovery",
                step.name.c_str(), static_cast<unsigned long long>(writes), points,
                seen.str().c_str(), recovery_points);
  std::cout << line << '\n';
  totals.steps += 1;
  totals.tear_points += points;
  totals.recovery_tear_points += recovery_points;
  return next_image;
}

// A session: each step starts from the image the previous one left.
class Session {
 public:
  Session(Bytes image, Totals& totals) : image_(std::move(image)), totals_(totals) {}
  void step(const Step& s) { image_ = run_step(image_, s, totals_); }
  // Runs a step without carrying its result on (a branch off the session).
  void branch(const Step& s) { (void)run_step(image_, s, totals_); }
  const Bytes& image() const { return image_; }

 private:
  Bytes image_;
  Totals& totals_;
};

Bytes blank_image() {
  const co::NvmGeometry g = test::test_geometry();
  co::MemoryStorage storage(co::PersistentMemory::storage_size_for(g));
  co::DrbgRandom random(as_bytes("tearing factory"));
  co::FactoryProfile profile;
  profile.geometry = g;
  profile.transport_key = test::kTransportKey;
  profile.serial = test::kSerial;
  auto made = co::Card::manufacture(storage, profile, random);
  INFO((made ? std::string() : made.error().message()));
  REQUIRE(made.ok());
  return storage.bytes();
}

// ---------------------------------------------------------------- APDUs

std::string verify(const std::string& pin_hex) {
  return "0020008104" + pin_hex;
}
const std::string k1234 = "31323334";
const std::string k5678 = "35363738";
const std::string k0000 = "30303030";

Bytes put_data(std::uint8_t tag, const Bytes& definition) {
  return apdu::encode_command(0x00, 0xDA, 0x00, tag, definition);
}
Bytes create_file(const co::FileSpec& spec) {
  return apdu::encode_command(0x00, 0xE0, 0x00, 0x00, co::encode_fcp(spec, spec.max_records));
}

co::FileSpec sample_df() {
  co::FileSpec df;
  df.type = co::FileType::df;
  df.fid = host::perso::kSampleDf;
  df.name = host::perso::kSampleAid;
  df.rules.fill(co::AccessRule::never());
  return df;
}
co::FileSpec transparent_ef(std::uint16_t fid, std::uint32_t size) {
  co::FileSpec ef;
  ef.fid = fid;
  ef.size = size;
  ef.rules.fill(co::AccessRule::never());
  ef.rule(co::Op::read) = co::AccessRule::always();
  ef.rule(co::Op::update) = co::AccessRule::pin(host::perso::kSamplePinRef);
  return ef;
}
co::FileSpec record_ef(co::FileType type, std::uint16_t fid, std::uint8_t sfi, std::uint16_t length,
                       std::uint16_t count) {
  co::FileSpec ef;
  ef.type = type;
  ef.fid = fid;
  ef.sfi = sfi;
  ef.record_length = length;
  ef.max_records = count;
  ef.rules.fill(co::AccessRule::never());
  ef.rule(co::Op::read) = co::AccessRule::always();
  ef.rule(co::Op::update) = co::AccessRule::pin(host::perso::kSamplePinRef);
  ef.rule(co::Op::append) = co::AccessRule::pin(host::perso::kSamplePinRef);
  return ef;
}

std::string hex_of(const Bytes& b) {
  return to_hex(b);
}
std::string hex_text(std::string_view text) {
  return to_hex(as_bytes(text));
}
Bytes as_vec(std::string_view text) {
  ByteView v = as_bytes(text);
  return Bytes(v.begin(), v.end());
}

}  // namespace

// ---------------------------------------------------------------- the sessions

TEST_CASE("tearing: every state-changing command, cut at every write") {
  using host::perso::KeyDefinition;
  using host::perso::PinDefinition;
  Totals totals;
  const Bytes blank = blank_image();
  const Watch tk = key_watch("transport key", test::kTransportKey);
  const Watch admin = key_watch("admin key 02", test::kAdminKey);
  const Watch reset = key_watch("reset key 83", test::kResetKey);
  const Watch pin = pin81();
  auto nothing = [](Rig&) {};

  // --- Session 1: a blank card whose transport key is guessed ten times.
  {
    Session s(blank, totals);
    for (int k = 1; k <= 10; ++k) {
      Step wrong{"EXTERNAL AUTHENTICATE transport key, wrong " + std::to_string(k) + "/10", nothing,
                 prove(kWrongKey, 0x01), sw::verify_failed(10 - k)};
      wrong.watch = {tk};
      wrong.life_cycle = k == 10 ? LifeCycle::terminated : LifeCycle::transport_locked;
      s.step(wrong);
    }
  }

  // --- Session 2: the life of a card, blank to terminated.
  Session s(blank, totals);
  s.step({.name = "EXTERNAL AUTHENTICATE transport key, wrong",
          .prepare = nothing,
          .command = prove(kWrongKey, 0x01),
          .expect = sw::verify_failed(9),
          .watch = {tk}});
  s.step({.name = "EXTERNAL AUTHENTICATE transport key, right (locked -> perso)",
          .prepare = nothing,
          .command = prove(test::kTransportKey, 0x01),
          .expect = sw::kOk,
          .failing = prove(kWrongKey, 0x01),
          .watch = {tk},
          .life_cycle = LifeCycle::personalization});

  // Personalization: the issuer's rights come from the transport-key proof,
  // which is volatile, so every step proves it again.
  auto perso = [](std::vector<std::string> then) {
    return [then](Rig& r) {
      r.open_session(test::kTransportKey, 0x01);
      for (const auto& c : then) r.expect(c, sw::kOk);
    };
  };
  const std::string select_df = "00A4000C025000";
  s.step(
      {.name = "PUT DATA key 02 (MF)",
       .prepare = perso({kSelectMf}),
       .command = fixed(put_data(
           0xA2, KeyDefinition{.ref = 0x02, .value = test::kAdminKey, .retry_limit = 3}.encode())),
       .watch = {tk}});
  s.step({.name = "CREATE FILE DF 5000 (perso)",
          .prepare = perso({kSelectMf}),
          .command = fixed(create_file(sample_df()))});
  s.step({.name = "PUT DATA PIN 81",
          .prepare = perso({kSelectMf, select_df}),
          .command = fixed(put_data(0xA1, PinDefinition{.ref = 0x01,
                                                        .format = 1,
                                                        .min_length = 4,
                                                        .max_length = 4,
                                                        .retry_limit = 3,
                                                        .activates_card = true,
                                                        .unblock_kind = 2,
                                                        .unblock_ref = 0x03,
                                                        .initial_value = {}}
                                              .encode()))});
  s.step({.name = "PUT DATA key 83",
          .prepare = perso({kSelectMf, select_df}),
          .command = fixed(put_data(
              0xA2,
              KeyDefinition{.ref = 0x03, .value = test::kResetKey, .retry_limit = 3}.encode()))});
  s.step({.name = "CREATE FILE EF 5001 (perso)",
          .prepare = perso({kSelectMf, select_df}),
          .command = fixed(create_file(transparent_ef(0x5001, 256)))});
  s.step({.name = "UPDATE BINARY 5001 (perso)",
          .prepare = perso({kSelectMf, select_df, "00A4020C025001"}),
          .command = fixed("00D6000020" + hex_text("Juki card OS sample application "))});
  s.step({.name = "CREATE FILE EF 5003 linear fixed (perso)",
          .prepare = perso({kSelectMf, select_df}),
          .command = fixed(create_file(record_ef(co::FileType::linear_fixed, 0x5003, 3, 16, 4)))});
  for (int k = 1; k <= 4; ++k) {
    const std::string rec = hex_of(Bytes(16, static_cast<std::uint8_t>(k)));
    s.step({.name = "APPEND RECORD 5003 #" + std::to_string(k) + " (perso)",
            .prepare = perso({kSelectMf, select_df}),
            .command = fixed("00E2001810" + rec)});
  }
  s.step(
      {.name = "CREATE FILE EF 5004 linear variable (perso)",
       .prepare = perso({kSelectMf, select_df}),
       .command = fixed(create_file(record_ef(co::FileType::linear_variable, 0x5004, 4, 32, 8)))});
  s.step({.name = "APPEND RECORD 5004 (perso)",
          .prepare = perso({kSelectMf, select_df}),
          .command = fixed("00E2002006697373756564")});  // "issued"

  // A file that comes and goes: deactivated, activated, deleted.
  s.step({.name = "CREATE FILE EF 5005 (perso)",
          .prepare = perso({kSelectMf, select_df}),
          .command = fixed(create_file(transparent_ef(0x5005, 64)))});
  s.step({.name = "DEACTIVATE FILE 5005",
          .prepare = perso({kSelectMf, select_df}),
          .command = fixed("0004000002"
                           "5005")});
  s.step({.name = "ACTIVATE FILE 5005",
          .prepare = perso({kSelectMf, select_df}),
          .command = fixed("0044000002"
                           "5005")});
  s.step({.name = "DELETE FILE 5005",
          .prepare = perso({kSelectMf, select_df}),
          .command = fixed("00E4000002"
                           "5005")});
  // A DF with a PIN, a key and a file, deleted as a whole.
  co::FileSpec scratch = sample_df();
  scratch.fid = 0x6000;
  scratch.name = *from_hex("F04A554B4953435241");
  s.step({.name = "CREATE FILE DF 6000 (perso)",
          .prepare = perso({kSelectMf}),
          .command = fixed(create_file(scratch))});
  s.step({.name = "PUT DATA PIN 81 with value (DF 6000)",
          .prepare = perso({kSelectMf, "00A4000C026000"}),
          .command = fixed(put_data(0xA1, PinDefinition{.ref = 0x01,
                                                        .format = 1,
                                                        .min_length = 4,
                                                        .max_length = 8,
                                                        .retry_limit = 5,
                                                        .initial_value = *from_hex(k0000)}
                                              .encode()))});
  s.step({.name = "PUT DATA PIN 81 replaced in place (DF 6000)",
          .prepare = perso({kSelectMf, "00A4000C026000"}),
          .command = fixed(put_data(0xA1, PinDefinition{.ref = 0x01,
                                                        .format = 2,
                                                        .min_length = 6,
                                                        .max_length = 12,
                                                        .retry_limit = 9,
                                                        .initial_value = as_vec("SECRET")}
                                              .encode()))});
  s.step({.name = "CREATE FILE EF 6001 (perso)",
          .prepare = perso({kSelectMf, "00A4000C026000"}),
          .command = fixed(create_file(transparent_ef(0x6001, 100)))});
  s.step({.name = "DELETE FILE DF 6000 (with its objects and EF)",
          .prepare = perso({kSelectMf}),
          .command = fixed("00E4000002"
                           "6000")});

  // The Juki AP (specs/juki-ap.md): its password with the unblock policy
  // "role" (the re-set itself needs a session: tests/host/test_juki_ap.cpp
  // cuts it), and the resident code EF, whose every write the application's
  // code checks before the card OS writes it in one transaction: a cut leaves
  // the old code or the new one.
  namespace juki_ap = juki::layout::juki_ap;
  co::FileSpec juki_df = sample_df();
  juki_df.fid = juki_ap::kDf;
  juki_df.name.assign(std::begin(juki_ap::kAid), std::end(juki_ap::kAid));
  const std::string select_juki = "00A4000C024A00";
  s.step({.name = "CREATE FILE DF 4A00 Juki AP (perso)",
          .prepare = perso({kSelectMf}),
          .command = fixed(create_file(juki_df))});
  s.step(
      {.name = "PUT DATA PIN 81 unblocked by role password-reset (Juki AP)",
       .prepare = perso({kSelectMf, select_juki}),
       .command = fixed(put_data(0xA1, PinDefinition{.ref = juki_ap::kPasswordRef,
                                                     .format = 1,
                                                     .min_length = 4,
                                                     .max_length = 4,
                                                     .retry_limit = 3,
                                                     .activates_card = true,
                                                     .unblock_kind = 3,
                                                     .unblock_roles = juki_ap::kPasswordResetters,
                                                     .initial_value = {}}
                                           .encode()))});
  co::FileSpec resident = transparent_ef(juki_ap::kResidentCodeEf, juki_ap::kResidentCodeSize);
  resident.sfi = juki_ap::kResidentCodeSfi;
  resident.rule(co::Op::read) = co::AccessRule{
      co::AccessRule::kPin | co::AccessRule::kRole | co::AccessRule::kSecureMessaging,
      juki_ap::kPasswordP2, 0, juki_ap::kResidentCodeReaders};
  resident.rule(co::Op::update) = co::AccessRule::never();
  s.step({.name = "CREATE FILE EF 4A01 resident code (perso)",
          .prepare = perso({kSelectMf, select_juki}),
          .command = fixed(create_file(resident))});
  s.step({.name = "UPDATE BINARY 4A01 resident code (perso, checked)",
          .prepare = perso({kSelectMf, select_juki, "00A4020C024A01"}),
          .command = fixed("00D600000B" + hex_text("12345678903"))});
  s.step({.name = "UPDATE BINARY SFI 1 another resident code (perso, checked)",
          .prepare = perso({kSelectMf, select_juki}),
          .command = fixed("00D681000B" + hex_text("00000000019"))});

  // A branch: TERMINATE CARD USAGE during personalization.
  s.branch({.name = "TERMINATE CARD USAGE (perso -> terminated)",
            .prepare = perso({kSelectMf}),
            .command = fixed("00FE0000"),
            .life_cycle = LifeCycle::terminated});

  s.step({.name = "SET STATUS (perso -> issued)",
          .prepare = perso({kSelectMf}),
          .command = fixed("80F00004"),
          .life_cycle = LifeCycle::issued});

  // A branch: TERMINATE CARD USAGE of an issued card, with the admin key.
  s.branch({.name = "TERMINATE CARD USAGE (issued -> terminated)",
            .prepare =
                [](Rig& r) {
                  r.expect(kSelectMf, sw::kOk);
                  r.authenticate(test::kAdminKey, 0x02);
                },
            .command = fixed("00FE0000"),
            .watch = {admin},
            .life_cycle = LifeCycle::terminated});

  s.step({.name = "CHANGE REFERENCE DATA P1=01 (issued -> active)",
          .prepare = sends({kSelectApp}),
          .command = fixed("0024018104" + k1234),
          .life_cycle = LifeCycle::active});

  // The active card: PIN checks.
  const auto app = sends({kSelectApp});
  const auto app_verified = sends({kSelectApp, verify(k1234)});
  s.step({.name = "VERIFY right (3 tries left)",
          .prepare = app,
          .command = fixed(verify(k1234)),
          .failing = fixed(verify(k0000)),
          .watch = {pin}});
  s.step({.name = "VERIFY wrong (3 -> 2)",
          .prepare = app,
          .command = fixed(verify(k0000)),
          .expect = sw::verify_failed(2),
          .watch = {pin}});
  s.step({.name = "VERIFY right (2 -> 3)",
          .prepare = app,
          .command = fixed(verify(k1234)),
          .failing = fixed(verify(k0000)),
          .watch = {pin}});

  // Data updates behind the PIN.
  Bytes text(200);
  for (std::size_t i = 0; i < text.size(); ++i) text[i] = static_cast<std::uint8_t>(i * 7 + 1);
  s.step({.name = "UPDATE BINARY 5001, 200 bytes at offset 10",
          .prepare = sends({kSelectApp, verify(k1234), "00A4020C025001"}),
          .command = fixed(apdu::encode_command(0x00, 0xD6, 0x00, 0x0A, text))});
  s.step({.name = "UPDATE RECORD 5003 #2 (SFI 3)",
          .prepare = app_verified,
          .command = fixed("00DC021C10" + hex_of(Bytes(16, 0xA5)))});
  s.step({.name = "APPEND RECORD 5004 (SFI 4)",
          .prepare = app_verified,
          .command = fixed("00E2002010" + hex_of(Bytes(16, 0x5A)))});
  s.step({.name = "UPDATE RECORD 5004 #1, longer (SFI 4)",
          .prepare = app_verified,
          .command = fixed("00DC012420" + hex_of(Bytes(32, 0x3C)))});

  // CHANGE REFERENCE DATA.
  s.step({.name = "CHANGE REFERENCE DATA wrong old PIN (3 -> 2)",
          .prepare = app,
          .command = fixed("0024008108" + k0000 + k5678),
          .expect = sw::verify_failed(2),
          .watch = {pin}});
  s.step({.name = "CHANGE REFERENCE DATA 1234 -> 5678 (2 -> 3)",
          .prepare = app,
          .command = fixed("0024008108" + k1234 + k5678),
          .failing = fixed("0024008108" + k0000 + k5678),
          .watch = {pin}});

  // The reset key 83 of the application.
  s.step({.name = "EXTERNAL AUTHENTICATE key 83, wrong",
          .prepare = app,
          .command = prove(kWrongKey, 0x83),
          .expect = sw::verify_failed(2),
          .watch = {reset}});
  s.step({.name = "EXTERNAL AUTHENTICATE key 83",
          .prepare = app,
          .command = prove(test::kResetKey, 0x83),
          .failing = prove(kWrongKey, 0x83),
          .watch = {reset}});

  // Block the PIN, then unblock it with the reset key.
  for (int left = 2; left >= 0; --left)
    s.step({.name = "VERIFY wrong (" + std::to_string(left + 1) + " -> " + std::to_string(left) +
                    (left == 0 ? ", blocks)" : ")"),
            .prepare = app,
            .command = fixed(verify(k0000)),
            .expect = sw::verify_failed(static_cast<unsigned>(left)),
            .watch = {pin}});
  s.step({.name = "RESET RETRY COUNTER P1=02 after key 83 (blocked -> 1234)",
          .prepare =
              [](Rig& r) {
                r.expect(kSelectApp, sw::kOk);
                r.authenticate(test::kResetKey, 0x83);
              },
          .command = fixed("002C028104" + k1234),
          .watch = {pin, reset}});
  s.step({.name = "VERIFY right after the unblock",
          .prepare = app,
          .command = fixed(verify(k1234)),
          .failing = fixed(verify(k0000)),
          .watch = {pin}});

  // The card administration key 02 of the MF, and the end.
  s.step({.name = "EXTERNAL AUTHENTICATE key 02, wrong",
          .prepare = sends({kSelectMf}),
          .command = prove(kWrongKey, 0x02),
          .expect = sw::verify_failed(2),
          .watch = {admin}});
  s.step({.name = "EXTERNAL AUTHENTICATE key 02",
          .prepare = sends({kSelectMf}),
          .command = prove(test::kAdminKey, 0x02),
          .failing = prove(kWrongKey, 0x02),
          .watch = {admin}});
  s.step({.name = "TERMINATE CARD USAGE (active -> terminated)",
          .prepare =
              [](Rig& r) {
                r.expect(kSelectMf, sw::kOk);
                r.authenticate(test::kAdminKey, 0x02);
              },
          .command = fixed("00FE0000"),
          .watch = {admin, tk},
          .life_cycle = LifeCycle::terminated});

  std::cout << "tearing: " << totals.tear_points << " tear points checked in " << totals.steps
            << " commands, and " << totals.recovery_tear_points
            << " cuts of the power-up recovery\n";
  CHECK(totals.tear_points > 0);
}

// The oracle itself must be able to fail: a mix of two states, and a try
// given back, are both caught.
TEST_CASE("tearing: the oracle rejects mixed states and given-back tries") {
  const Bytes old_state = {1, 2, 3, 3};
  const Bytes consumed = {1, 2, 3, 2};
  const Bytes new_state = {9, 9, 3, 3};
  {
    Oracle o({{"old", old_state}, {"new", new_state}});
    CHECK(o.judge(old_state).empty());
    CHECK_FALSE(o.judge(Bytes{9, 2, 3, 3}).empty());  // half applied
    CHECK(o.judge(new_state).empty());
    CHECK_FALSE(o.judge(old_state).empty());  // back to old after new
  }
  {
    Oracle o({{"old", old_state}, {"try-consumed", consumed}, {"new", old_state}});
    CHECK(o.judge(old_state).empty());
    CHECK(o.judge(consumed).empty());
    CHECK(o.judge(old_state).empty());  // the check succeeded: new == old is fine
    CHECK_FALSE(o.judge(consumed).empty());
  }
  {
    Oracle o({{"old", old_state}, {"try-consumed", consumed}, {"new", new_state}});
    CHECK(o.judge(consumed).empty());
    const std::string why = o.judge(old_state);
    CHECK(why.find("given back") != std::string::npos);
  }
}
