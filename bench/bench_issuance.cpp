// Issuance throughput (specs/issuance.md 3, 4), in-process: what `juki-issuer batch
// --in-process DIR --workers N` does, through the same library (issuance::run_batch over
// in-process readers: blank card images made on the fly as files, one records file in SQLite,
// every card received, registered, personalized, read back and recorded issued).
//
// JUKI_BENCH_ISSUANCE_ROUNDS rounds (3), each: the floor for half a batch of cards, then a
// batch of JUKI_BENCH_ISSUANCE_CARDS cards (20) on 1, 2 and 4 readers. RSA key generation
// varies a lot from card to card (a prime search), so the rounds interleave the phases and
// the figures are medians: the machine's drift meets every phase alike.
//
// 1. issuance_cards_per_minute_{1_reader,2_readers,4_readers}: issued cards over the
//    batch's wall time, median over the rounds (this is a 2-CPU machine: 4 readers show
//    whether more readers than CPUs still help); issuance_batch_N_readers_vs_1_ratio:
//    per round against that round's 1 reader, median.
// 2. issuance_card_ms_*: the time of one card on 1 reader (intake to the issued record),
//    median, min, max over all rounds.
// 3. The floor: on-card key generation alone, timed directly on cards in personalization
//    (blank images of the same kind, transport key proved, one DF): one P-256 and two
//    RSA-2048 GENERATE ASYMMETRIC KEY PAIR, what every issued card needs; median, min,
//    max. issuance_card_vs_keygen_ratio = median card time (1 reader) / median key
//    generation. issuance_keygen_in_flow_*: the GENERATE commands timed inside the 1-reader
//    batches (a timing transport), per card and as a share of the cards' time.
// 4. issuance_record_{ms_median,share}: the record step (specs/issuance.md 2.3, the three
//    certificates into their CAs' indexes and files, with their fsyncs), timed inside the
//    1-reader batches, per card and as a share of the cards' time.
//
// Images, the records file and the PKI directory go to $TMPDIR (default /tmp), which is on
// disk here: the card images fsync at every commit as the simulator's do, and each card's
// three certificates are recorded in the CAs' indexes and kept as files, as juki-issuer does.
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.hpp"
#include "common/check_digits.hpp"
#include "common/system_random.hpp"
#include "harness.hpp"
#include "host_middleware/personalization/personalization.hpp"
#include "issuer_tool/issuance/batch.hpp"
#include "pki/directory.hpp"
#include "pki/pki.hpp"
#include "records/records.hpp"
#include "secure_pki.hpp"
#include "simulator/in_process.hpp"
#include "tools/issuer/in_process_readers.hpp"

using namespace juki;
using bench::die;
using bench::take;
namespace iss = juki::issuance;

namespace {

using Clock = std::chrono::steady_clock;
const Bytes kTransportKey = *from_hex("404142434445464748494A4B4C4D4E4F");
const Bytes kAdminMaster = *from_hex("A0A1A2A3A4A5A6A7A8A9AAABACADAEAF");
const std::string kMunicipality = "131016";
constexpr std::uint8_t kGenerate = 0x46;  // INS of GENERATE ASYMMETRIC KEY PAIR

template <typename E>
void need(const Result<void, E>& r, const char* step) {
  if (!r) die(std::string(step) + ": " + r.error().describe());
}

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

struct Stats {
  double median = 0, min = 0, max = 0;
};
Stats stats(std::vector<double> v) {
  if (v.empty()) die("no samples");
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  const double median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  return {median, v.front(), v.back()};
}

// Times the GENERATE commands that pass through it: key generation inside the flow.
class KeygenTimer final : public juki::Transport {
 public:
  explicit KeygenTimer(juki::Transport& inner) : inner_(inner) {}
  Result<Bytes, juki::TransportError> transmit(ByteView c) override {
    if (c.size() < 2 || c[1] != kGenerate) return inner_.transmit(c);
    const auto start = Clock::now();
    auto r = inner_.transmit(c);
    keygen_ms += ms_since(start);
    return r;
  }
  Result<Bytes, juki::TransportError> reset() override { return inner_.reset(); }
  Result<Bytes, juki::TransportError> power_cycle() override { return inner_.power_cycle(); }
  Bytes atr() const override { return inner_.atr(); }
  std::string describe() const override { return inner_.describe(); }
  double keygen_ms = 0;

 private:
  juki::Transport& inner_;
};

// An in-process reader whose cards pass through a KeygenTimer: each card's key-generation
// time, in the order the cards came.
class TimedReader final : public iss::CardReader {
 public:
  TimedReader(iss::BlankImages& images, std::string name) : inner_(images, std::move(name)) {}
  std::string name() const override { return inner_.name(); }
  Result<juki::Transport*, std::string> next() override {
    flush();
    return wrap(inner_.next());
  }
  Result<juki::Transport*, std::string> reopen() override {
    const double before = timer_ ? timer_->keygen_ms : 0;
    auto t = wrap(inner_.reopen());
    if (timer_) timer_->keygen_ms += before;
    return t;
  }
  void done() override {
    inner_.done();
    flush();
  }
  std::vector<double> keygen_ms;  // one per card

 private:
  Result<juki::Transport*, std::string> wrap(Result<juki::Transport*, std::string> t) {
    if (!t) return t;
    timer_ = std::make_unique<KeygenTimer>(**t);
    return static_cast<juki::Transport*>(timer_.get());
  }
  void flush() {
    if (timer_ && timer_->keygen_ms > 0) keygen_ms.push_back(timer_->keygen_ms);
    timer_.reset();
  }
  iss::InProcessReader inner_;
  std::unique_ptr<KeygenTimer> timer_;
};

struct Bench {
  std::string dir;
  std::string db;
  bench::SecurePki pki;
  // As the counter has them: a juki-pki directory, where every card's
  // certificates are recorded before the card is issued (specs/issuance.md 2.3).
  std::optional<iss::Authorities> authorities;
  iss::CounterKeys keys{kTransportKey, kAdminMaster};
  std::unique_ptr<iss::BlankImages> images;
  std::uint64_t next_person = 2000000000;

  Bench() {
    const char* tmp = std::getenv("TMPDIR");
    std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/juki-bench-issuance-XXXXXX";
    if (::mkdtemp(templ.data()) == nullptr) die("mkdtemp " + templ);
    dir = templ;
    db = dir + "/records.db";
    take(records::Records::create(db, kMunicipality), "records");
    namespace d = pki::directory;
    const std::string pki_dir = dir + "/pki";
    std::filesystem::create_directories(pki_dir);
    const std::pair<std::string, pki::KeyAndCert> all[] = {
        {std::string(d::kRootStem), pki.root},
        {d::ca_stem(pki::CaKind::card), pki.card_ca},
        {d::jpki_stem(pki::JpkiKind::auth),
         take(pki::create_jpki_ca(pki::JpkiKind::auth), "JPKI auth CA")},
        {d::jpki_stem(pki::JpkiKind::sign),
         take(pki::create_jpki_ca(pki::JpkiKind::sign), "JPKI sign CA")}};
    for (const auto& [stem, authority] : all)
      if (!d::save_authority(pki_dir, stem, authority)) die("save " + stem);
    auto loaded = iss::Authorities::load(pki_dir);
    if (!loaded) die("authorities: " + loaded.error());
    authorities = std::move(*loaded);
    std::filesystem::create_directories(dir + "/cards");
    images = std::make_unique<iss::BlankImages>(dir + "/cards", kTransportKey);
  }
  ~Bench() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

  // `n` applications of new people (the resident codes never repeat in a run).
  std::vector<iss::BatchApplication> applications(std::size_t n) {
    std::string text;
    for (std::size_t i = 0; i < n; ++i) {
      const std::string ten = std::to_string(next_person++);
      const std::string code = ten + *check_digits::resident_code(ten);
      text += R"({"resident_code":")" + code +
              R"(","name":"住基 花子","kana":"ジューキ ハナコ","birth_date":"19900214",)"
              R"("sex":2,"address":"千代田区1-1","face":"B","id_document":"passport",)"
              R"("holder":"JUKI HANAKO","jpki_auth_pin":"1357","jpki_sign_pin":"HANAKO2026"})"
              "\n";
    }
    auto apps = iss::parse_applications(text, {kMunicipality, "20261124"});
    if (!apps) die("applications: " + apps.error().front().message);
    return std::move(*apps);
  }

  // The record step (the card's certificates into the PKI directory), per
  // card of a 1-reader run: from its start to the start of SET STATUS.
  std::vector<double> record_ms;

  iss::BatchSummary run(std::vector<std::unique_ptr<iss::CardReader>>& readers, std::size_t n) {
    iss::BatchOptions o;
    o.db = db;
    o.actor = {"bench", "bench"};
    std::chrono::steady_clock::time_point record_start;
    if (readers.size() == 1)
      o.observer = [&](const iss::BatchEvent& e) {
        if (e.what != iss::BatchEvent::What::step) return;
        const auto now = std::chrono::steady_clock::now();
        if (e.step == iss::Step::record) record_start = now;
        if (e.step == iss::Step::issue)
          record_ms.push_back(
              std::chrono::duration<double, std::milli>(now - record_start).count());
      };
    auto s = take(iss::run_batch(applications(n), readers, *authorities, keys, o), "run_batch");
    for (const auto& out : s.outcomes)
      if (!out.ok) die("line " + std::to_string(out.line) + ": " + out.reason);
    return s;
  }

  // The floor: one P-256 and two RSA-2048 keys generated on a card in personalization.
  double keygen_floor_ms() {
    juki::SystemRandom random;
    auto image = take(images->make(random), "blank image");
    auto t = take(juki::sim::InProcessTransport::connect(*image.storage, random), "power-up");
    host::perso::Personalizer perso(*t);
    need(perso.authenticate(kTransportKey), "transport key");
    need(perso.select_mf(), "SELECT MF");
    juki::fcp::FileSpec df;
    df.type = juki::fcp::FileType::df;
    df.name = {0xF0, 0x42, 0x45, 0x4E, 0x43, 0x48};  // F0 "BENCH"
    need(perso.create(df), "CREATE FILE");
    const auto start = Clock::now();
    take(perso.generate_ec_key(1), "GENERATE P-256");
    take(perso.generate_rsa_key(2), "GENERATE RSA-2048");
    take(perso.generate_rsa_key(3), "GENERATE RSA-2048");
    return ms_since(start);
  }
};

std::size_t from_env(const char* name, std::size_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  char* end = nullptr;
  const long n = std::strtol(v, &end, 10);
  if (*end != '\0' || n < 1 || n > 10000) die(std::string(name) + " must be 1..10000");
  return static_cast<std::size_t>(n);
}

}  // namespace

int main() {
  using bench::report;
  const std::size_t cards = from_env("JUKI_BENCH_ISSUANCE_CARDS", 20);
  const std::size_t rounds = from_env("JUKI_BENCH_ISSUANCE_ROUNDS", 3);
  constexpr std::size_t kReaders[] = {1, 2, 4};
  Bench b;
  std::fprintf(stderr,
               "# bench_issuance: %zu rounds of %zu cards per reader count, images and "
               "records in %s\n",
               rounds, cards, b.dir.c_str());

  std::vector<double> floor, card_ms, in_flow;
  double total_card_ms = 0, total_keygen_ms = 0;
  std::vector<std::vector<double>> per_minute(std::size(kReaders)), ratio(std::size(kReaders));
  for (std::size_t round = 0; round < rounds; ++round) {
    // The floor, then 1, 2 and 4 readers: each round meets the machine as it is then.
    for (std::size_t i = 0; i < (cards + 1) / 2; ++i) floor.push_back(b.keygen_floor_ms());
    for (std::size_t k = 0; k < std::size(kReaders); ++k) {
      std::vector<std::unique_ptr<iss::CardReader>> readers;
      for (std::size_t w = 0; w < kReaders[k]; ++w)
        readers.push_back(std::make_unique<TimedReader>(*b.images, "reader " + std::to_string(w)));
      const iss::BatchSummary s = b.run(readers, cards);
      per_minute[k].push_back(s.cards_per_minute);
      ratio[k].push_back(s.cards_per_minute / per_minute[0].back());
      std::fprintf(stderr, "# round %zu, %zu reader(s): %.1f cards/min\n", round + 1, kReaders[k],
                   s.cards_per_minute);
      if (kReaders[k] != 1) continue;
      // One reader: each card's time, and its GENERATE commands timed in the flow.
      for (const auto& o : s.outcomes) {
        card_ms.push_back(o.seconds * 1000);
        total_card_ms += o.seconds * 1000;
      }
      for (double ms : static_cast<TimedReader&>(*readers[0]).keygen_ms) {
        in_flow.push_back(ms);
        total_keygen_ms += ms;
      }
    }
  }

  const Stats card = stats(card_ms);
  const Stats keygen = stats(floor);
  const Stats flow = stats(in_flow);
  for (std::size_t k = 0; k < std::size(kReaders); ++k) {
    const Stats pm = stats(per_minute[k]);
    const std::string n = std::to_string(kReaders[k]);
    const std::string readers = kReaders[k] == 1 ? "_1_reader" : "_" + n + "_readers";
    std::fprintf(stderr, "# %s reader(s): %.1f .. %.1f cards/min over %zu rounds\n", n.c_str(),
                 pm.min, pm.max, rounds);
    report("issuance_cards_per_minute" + readers, pm.median, "cards/min");
    if (kReaders[k] == 1) continue;
    const Stats r = stats(ratio[k]);
    std::fprintf(stderr, "# %s readers vs 1: %.3f .. %.3f\n", n.c_str(), r.min, r.max);
    report("issuance_batch_" + n + "_readers_vs_1_ratio", r.median, "x");
  }
  report("issuance_card_ms_median", card.median, "ms");
  report("issuance_card_ms_min", card.min, "ms");
  report("issuance_card_ms_max", card.max, "ms");
  report("issuance_keygen_floor_ms_median", keygen.median, "ms");
  report("issuance_keygen_floor_ms_min", keygen.min, "ms");
  report("issuance_keygen_floor_ms_max", keygen.max, "ms");
  report("issuance_keygen_floor_cards_per_minute", 60000.0 / keygen.median, "cards/min");
  report("issuance_card_vs_keygen_ratio", card.median / keygen.median, "x");
  report("issuance_keygen_in_flow_ms_median", flow.median, "ms");
  report("issuance_keygen_in_flow_share", total_keygen_ms / total_card_ms, "ratio");
  // What recording the certificates in the PKI directory costs each card.
  const Stats record = stats(b.record_ms);
  double total_record_ms = 0;
  for (double ms : b.record_ms) total_record_ms += ms;
  report("issuance_record_ms_median", record.median, "ms");
  report("issuance_record_share", total_record_ms / total_card_ms, "ratio");
  return 0;
}
