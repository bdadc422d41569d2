// Card benchmarks: an active sample card (specs/card-os.md section 10) driven in-process
// through Card::transmit with pre-encoded APDUs (no transport in the hot loop).
//
// Throughput (ops/s): SELECT EF by FID, READ BINARY 256, the SELECT + READ BINARY pair,
// VERIFY right, UPDATE BINARY 256, GET CHALLENGE, and apdu::parse_command alone as the
// floor; ratios "<x>_vs_parse_ratio" say how many parses one command costs.
// Persistent-memory writes per command, from NvmStats deltas: bytes passed to the storage
// per UPDATE BINARY payload byte (N = 1, 16, 64, 256, 1024), per VERIFY right/wrong, per
// APPEND RECORD and per CHANGE REFERENCE DATA.
//
// The card is the sample layout plus one bench EF 5005 (transparent, 2048 bytes, read
// always, update PIN 81) so that UPDATE BINARY of 1024 bytes (extended APDU) has room;
// the card is personalized once, activated with password 1234, then powered up directly.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "card_os/card/card.hpp"
#include "card_os/nvm/persistent_memory.hpp"
#include "card_os/nvm/storage.hpp"
#include "card_os/security/random.hpp"
#include "common/bytes.hpp"
#include "common/iso7816/apdu.hpp"
#include "harness.hpp"
#include "host_middleware/personalization/personalization.hpp"
#include "simulator/in_process.hpp"

using namespace juki;
using card_os::Card;
using card_os::NvmStats;

namespace {

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "bench_card: %s\n", what.c_str());
  std::exit(1);
}

Bytes hex(std::string_view text) {
  auto b = from_hex(text);
  if (!b) die("bad hex in the benchmark: " + std::string(text));
  return *b;
}

const Bytes kTransportKey = hex("404142434445464748494A4B4C4D4E4F");
const Bytes kAdminKey = hex("000102030405060708090A0B0C0D0E0F");
const Bytes kResetKey = hex("F0E1D2C3B4A5968778695A4B3C2D1E0F");
const Bytes kSerial = hex("0102030405060708");
constexpr std::uint16_t kBenchEf = 0x5005;
constexpr std::uint32_t kBenchEfSize = 2048;

sw::Sw sw_of(const Bytes& r) {
  return r.size() < 2 ? 0 : static_cast<sw::Sw>(r[r.size() - 2] << 8 | r.back());
}

template <class T>
void check(const T& outcome, const char* step) {
  if (!outcome) die(std::string(step) + ": " + outcome.error().describe());
}

// The active sample card with the bench EF.
struct BenchCard {
  card_os::MemoryStorage storage;
  card_os::DrbgRandom random;
  std::unique_ptr<Card> card;

  BenchCard()
      : storage(card_os::PersistentMemory::storage_size_for(card_os::NvmGeometry{})),
        random(as_bytes("bench card")) {
    card_os::FactoryProfile profile;
    profile.transport_key = kTransportKey;
    profile.serial = kSerial;
    if (auto m = Card::manufacture(storage, profile, random); !m) die(m.error().message());
    {
      auto t = juki::sim::InProcessTransport::connect(storage, random);
      if (!t) die("power-up: " + t.error().message);
      // One session: the transport key's personalization rights hold throughout.
      host::perso::Personalizer p(**t);
      check(host::perso::write_sample_layout(p, {kTransportKey, kAdminKey, kResetKey}),
            "write_sample_layout");
      check(p.select_fid(host::perso::kSampleDf), "select DF");
      juki::fcp::FileSpec ef;
      ef.fid = kBenchEf;
      ef.size = kBenchEfSize;
      ef.rules.fill(juki::fcp::AccessRule::never());
      ef.rule(juki::fcp::Op::read) = juki::fcp::AccessRule::always();
      ef.rule(juki::fcp::Op::update) = juki::fcp::AccessRule::pin(host::perso::kSamplePinRef);
      check(p.create(ef), "create bench EF");
      check(p.select_mf(), "select MF");
      check(p.finish(), "SET STATUS");
      check(host::perso::exchange(**t, hex("00A4040C09F04A554B4944454D4F"), "select AID"),
            "select AID");
      check(host::perso::exchange(**t, hex("002401810431323334"), "set password"), "set password");
      if ((*t)->card()->life_cycle() != card_os::LifeCycle::active) die("card not active");
    }  // the transport's Card is powered off here
    auto c = Card::power_up(storage, random);
    if (!c) die(c.error().message());
    card = std::move(*c);
  }

  Bytes send(const Bytes& apdu) { return card->transmit(apdu); }
  // Hot-loop send: the response size, counting answers other than 9000 (checked after
  // each measurement, so a loop that silently failed can't pass for a fast one).
  std::size_t send_ok(const Bytes& apdu) {
    const Bytes r = card->transmit(apdu);
    failures += sw_of(r) != sw::kOk;
    return r.size();
  }
  void check_no_failures(const char* what) const {
    if (failures != 0) die(std::string(what) + ": a command in the hot loop did not answer 9000");
  }
  std::uint64_t failures = 0;
  // Sends and insists on the status word (setup steps, outside timing).
  void expect(const Bytes& apdu, sw::Sw want) {
    const Bytes r = send(apdu);
    if (sw_of(r) != want) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "%04X", sw_of(r));
      die(to_hex(apdu) + " answered " + buf + " (expected another SW)");
    }
  }
  NvmStats stats() const { return card->memory().stats(); }
};

// Average NvmStats delta of `n` runs of fn.
struct Writes {
  double bytes = 0, commits = 0;
};
template <class Fn>
Writes writes_per_call(BenchCard& bc, int n, Fn&& fn) {
  const NvmStats before = bc.stats();
  for (int i = 0; i < n; ++i) fn(i);
  const NvmStats after = bc.stats();
  const double d = n;
  return {static_cast<double>(after.bytes_written - before.bytes_written) / d,
          static_cast<double>(after.commits - before.commits) / d};
}

void report_writes(const std::string& name, const Writes& w, bool commits = true) {
  bench::report(name + "_bytes_written", w.bytes, "B");
  if (commits) bench::report(name + "_commits", w.commits, "commits");
}

// UPDATE BINARY at offset 0 of the current EF (short APDU up to 255 bytes,
// extended above). The payload has no runs of equal bytes, which the journal
// would store as fill entries: this measures the cost of arbitrary data.
// Payloads with different keys differ in every byte.
Bytes update_binary(std::size_t n, std::uint8_t key) {
  Bytes payload(n);
  for (std::size_t i = 0; i < n; ++i) payload[i] = static_cast<std::uint8_t>(i * 131 + 17) ^ key;
  return apdu::encode_command(0x00, 0xD6, 0x00, 0x00, payload);
}

}  // namespace

int main() {
  using bench::measure;
  using bench::report;

  std::unique_ptr<BenchCard> made;
  const double build_s = bench::time_once([&] { made = std::make_unique<BenchCard>(); });
  BenchCard& bc = *made;
  report("card_build_ms", build_s * 1e3, "ms");

  const Bytes select_aid = hex("00A4040C09F04A554B4944454D4F");
  const Bytes select_5001 = hex("00A4020C025001");
  const Bytes select_bench = hex("00A4020C025005");
  const Bytes read_256 = hex("00B0000000");
  const Bytes verify_right = hex("002000810431323334");
  const Bytes verify_wrong = hex("002000810430303030");
  const Bytes get_challenge = hex("0084000010");
  const Bytes update_256_a = update_binary(256, 0x55);
  const Bytes update_256_b = update_binary(256, 0xAA);

  bc.expect(select_aid, sw::kOk);
  bc.expect(select_5001, sw::kOk);
  bc.expect(read_256, sw::kOk);
  if (bc.send(read_256).size() != 258) die("READ BINARY did not return 256 bytes");
  bc.expect(verify_right, sw::kOk);

  // ---- throughput
  const auto parse = measure("apdu_parse_select", [&] {
    auto c = apdu::parse_command(select_5001);
    return c.ok() ? c->p1p2() : 0;
  });
  const auto select = measure("select_ef_fid", [&] { return bc.send_ok(select_5001); });
  bc.check_no_failures("select_ef_fid");
  const auto read = measure("read_binary_256", [&] { return bc.send_ok(read_256); });
  bc.check_no_failures("read_binary_256");
  const auto pair = measure("select_read_pairs_per_s",
                            [&] { return bc.send_ok(select_5001) + bc.send_ok(read_256); });
  bc.check_no_failures("select_read_pairs_per_s");
  const auto challenge = measure("get_challenge_16", [&] { return bc.send_ok(get_challenge); });
  bc.check_no_failures("get_challenge_16");
  const auto verify = measure("verify_right", [&] { return bc.send_ok(verify_right); });
  bc.check_no_failures("verify_right");
  bc.expect(select_bench, sw::kOk);
  bc.expect(update_256_a, sw::kOk);
  bool flip = false;
  const auto update = measure("update_binary_256", [&] {
    flip = !flip;
    return bc.send_ok(flip ? update_256_a : update_256_b);
  });
  bc.check_no_failures("update_binary_256");
  bc.expect(select_5001, sw::kOk);
  bc.expect(read_256, sw::kOk);  // still sane after the hot loops

  report("select_vs_parse_ratio", parse.ops_per_second / select.ops_per_second, "ratio");
  report("read_binary_vs_parse_ratio", parse.ops_per_second / read.ops_per_second, "ratio");
  report("select_read_vs_parse_ratio", parse.ops_per_second / pair.ops_per_second, "ratio");
  report("get_challenge_vs_parse_ratio", parse.ops_per_second / challenge.ops_per_second, "ratio");
  report("verify_right_vs_parse_ratio", parse.ops_per_second / verify.ops_per_second, "ratio");
  report("update_binary_256_vs_parse_ratio", parse.ops_per_second / update.ops_per_second, "ratio");
  // The target: >= 1,000,000 SELECT + READ BINARY pairs per second on one core.
  report("select_read_pairs_vs_target_ratio", pair.ops_per_second / 1e6, "ratio");

  // ---- persistent-memory writes per command
  constexpr int kRuns = 16;
  const Writes reads = writes_per_call(bc, kRuns, [&](int) {
    bc.send(select_5001);
    bc.send(read_256);
  });
  report_writes("select_read_pair", reads, false);

  bc.expect(select_bench, sw::kOk);
  double written_256 = 0, written_1024 = 0;
  for (std::size_t n : {1, 16, 64, 256, 1024}) {
    const Bytes a = update_binary(n, 0x33), b = update_binary(n, 0xCC);
    bc.expect(a, sw::kOk);  // every measured update changes every payload byte
    const Writes w = writes_per_call(bc, kRuns, [&](int i) { bc.expect(i % 2 ? a : b, sw::kOk); });
    const std::string name = "update_binary_" + std::to_string(n);
    report(name + "_bytes_written_per_payload_byte", w.bytes / static_cast<double>(n), "ratio");
    report_writes(name, w, false);  // one commit each
    if (n == 256) written_256 = w.bytes;
    if (n == 1024) written_1024 = w.bytes;
  }
  // What one more payload byte costs, the fixed per-commit overhead aside.
  report("update_binary_marginal_bytes_written_per_payload_byte",
         (written_1024 - written_256) / (1024 - 256), "ratio");

  bc.expect(verify_right, sw::kOk);  // counter at its limit
  report_writes("verify_right",
                writes_per_call(bc, kRuns, [&](int) { bc.expect(verify_right, sw::kOk); }));
  // Wrong then right, alternately, so the PIN never blocks; measured apart.
  Writes wrong{}, right_after_wrong{};
  for (int i = 0; i < kRuns; ++i) {
    const Writes w = writes_per_call(bc, 1, [&](int) { bc.expect(verify_wrong, 0x63C2); });
    const Writes r = writes_per_call(bc, 1, [&](int) { bc.expect(verify_right, sw::kOk); });
    wrong.bytes += w.bytes / kRuns;
    wrong.commits += w.commits / kRuns;
    right_after_wrong.bytes += r.bytes / kRuns;
    right_after_wrong.commits += r.commits / kRuns;
  }
  report_writes("verify_wrong", wrong);
  report_writes("verify_right_after_wrong", right_after_wrong);

  // CHANGE REFERENCE DATA 1234 -> 5678 -> 1234 ...
  const Bytes change_to_5678 = hex("00240081083132333435363738");
  const Bytes change_to_1234 = hex("00240081083536373831323334");
  report_writes("change_reference_data", writes_per_call(bc, kRuns, [&](int i) {
                  bc.expect(i % 2 ? change_to_1234 : change_to_5678, sw::kOk);
                }));

  // APPEND RECORD of 16 bytes to EF 5004 (linear variable, 8 x 32, one record at issuance):
  // the 7 appends that fit.
  const Bytes append_16 =
      apdu::encode_command(0x00, 0xE2, 0x00, 4 << 3, as_bytes("0123456789abcdef"));
  report_writes("append_record_16",
                writes_per_call(bc, 7, [&](int) { bc.expect(append_16, sw::kOk); }));
  bc.expect(append_16, sw::kNotEnoughMemory);
  return 0;
}
