// Juki-net's tiers (specs/network.md), each figure against a floor measured in
// the same run (bench/README.md, "Juki-net"):
//
// - notification throughput end to end: N changes from a CS's outbox through
//   its prefecture to the national server, durable at each tier, over mutual
//   TLS, three server processes; the floor is the same records written by the
//   national store alone, with the same durability and batch size;
// - the initial load of the national server: M residents of the synthetic
//   population, rows per second, and the projection to 125 million;
// - lookups by resident code over mutual TLS at M residents: throughput, p50
//   and p99, against the floor of the store's own point lookup and an empty
//   call on the same channel;
// - each server's peak memory.
//
// On SQLite, and on PostgreSQL (a private cluster scripts/pg-cluster starts,
// or JUKI_BENCH_PG's conninfo). Sizes: JUKI_BENCH_CHANGES (100000),
// JUKI_BENCH_RESIDENTS (a comma list, 1000000), JUKI_BENCH_ENGINES
// (sqlite,postgresql), JUKI_BENCH_SECONDS per lookup run (5),
// JUKI_BENCH_THREADS lookup clients (8).
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

#include "backend/cs/cs_store.hpp"
#include "backend/ledger/ledger.hpp"
#include "backend/population/population.hpp"
#include "backend/store/connection.hpp"
#include "backend/support/processes.hpp"
#include "backend/support/residents.hpp"
#include "backend/support/server_pki.hpp"
#include "backend/trust/tls.hpp"
#include "backend/wire/juki_net.grpc.pb.h"
#include "harness.hpp"

namespace {

using namespace juki;
using namespace juki::backend;
using Clock = std::chrono::steady_clock;
using nlohmann::json;
namespace proto = juki::net::v1;

const std::string kTools = JUKI_TOOLS_DIR;
const std::string kSource = JUKI_SOURCE_DIR;

long setting(const char* name, long fallback) {
  const char* s = std::getenv(name);
  return s && *s ? std::stol(s) : fallback;
}
std::vector<std::string> list_setting(const char* name, const std::string& fallback) {
  const char* s = std::getenv(name);
  std::stringstream in(s && *s ? s : fallback);
  std::vector<std::string> items;
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) items.push_back(item);
  return items;
}
double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}
[[noreturn]] void fail(const std::string& what) {
  std::cerr << "bench_network: " << what << "\n";
  std::exit(1);
}
void must(Result<void, store::Error> r, const std::string& what) {
  if (!r) fail(what + ": " + r.error().message);
}
template <class T, class E>
T must(Result<T, E> r, const std::string& what) {
  if (!r) {
    if constexpr (std::is_same_v<E, std::string>)
      fail(what + ": " + r.error());
    else
      fail(what + ": " + r.error().message);
  }
  return std::move(r).value();
}

// Where the stores live: SQLite files, or databases of one PostgreSQL cluster.
class Stores {
 public:
  Stores(std::string engine, const test::TempDir& dir) : engine_(std::move(engine)), dir_(dir) {
    if (engine_ != "postgresql") return;
    if (const char* given = std::getenv("JUKI_BENCH_PG"); given && *given) {
      admin_ = given;
      return;
    }
    cluster_ = "/tmp/juki-bench-pg-" + std::to_string(getpid());
    FILE* out = popen((kSource + "/scripts/pg-cluster start " + cluster_).c_str(), "r");
    char line[512] = {};
    while (out && std::fgets(line, sizeof line, out)) admin_ = line;
    if (!out || pclose(out) != 0) fail("scripts/pg-cluster start failed");
    while (!admin_.empty() && (admin_.back() == '\n' || admin_.back() == ' ')) admin_.pop_back();
  }
  ~Stores() {
    if (!cluster_.empty())
      std::system(
          (kSource + "/scripts/pg-cluster stop --remove " + cluster_ + " >/dev/null").c_str());
  }
  // A fresh store for `name`.
  std::string fresh(const std::string& name) {
    const std::string unique = name + std::to_string(++count_);
    if (engine_ == "sqlite") return "sqlite:" + dir_.file(unique + ".db");
    auto admin = must(store::Connection::open("postgresql:" + admin_), "PostgreSQL");
    must(admin.execute_script("CREATE DATABASE bench_" + unique + " TEMPLATE template0"),
         "CREATE DATABASE");
    return "postgresql:" + admin_ + " dbname=bench_" + unique;
  }

 private:
  std::string engine_;
  const test::TempDir& dir_;
  std::string admin_, cluster_;
  int count_ = 0;
};

class Country {
 public:
  Country() {
    pki_.issue("national", pki::Role::national, "");
    pki_.issue("tokyo", pki::Role::prefecture, "130001");
    pki_.issue("chiyoda", pki::Role::cs, "131016");
  }
  ~Country() { stop(); }

  std::string start(test::ServerProcess& process, const std::string& program,
                    const std::string& name, const std::string& store, json extra = {}) {
    auto f = pki_.files(name);
    json c = {{"listen", "127.0.0.1:0"},
              {"trust",
               {{"root", f.root},
                {"server_ca", f.server_ca},
                {"server_crl", f.server_crl},
                {"certificate", f.certificate},
                {"key", f.key}}},
              {"store", store},
              {"calendar", kSource + "/backend/calendar/japan.json"},
              {"limits", {{"retry_max_ms", 500}, {"max_inflight", 64}}}};
    c.update(extra);
    std::ofstream(dir_.file(name + ".json")) << c.dump(2);
    return process.start(kTools + "/" + program, {"--config", dir_.file(name + ".json")},
                         dir_.file(name + ".log"));
  }
  void stop() {
    for (auto* p : {&cs, &prefecture, &national})
      if (p->running()) p->stop(SIGTERM);
  }
  std::shared_ptr<const trust::TrustStore> trust(const std::string& name) const {
    return std::make_shared<trust::TrustStore>(pki_.trust(name));
  }
  const test::TempDir& dir() const { return dir_; }

  test::ServerProcess national, prefecture, cs;

 private:
  test::ServerPki pki_;
  test::TempDir dir_;
};

proto::ChangeReport birth(int n) {
  proto::ChangeReport r;
  r.set_report("b" + std::to_string(n));
  r.set_municipality("131016");
  r.set_reason(proto::BIRTH);
  r.set_date("2026-01-10");
  auto* id = r.mutable_resident()->mutable_identity();
  id->set_resident_code(test::resident_code(5'000'000 + n));
  id->set_name_kanji("住基 太郎");
  id->set_name_kana("ジュウキ タロウ");
  id->set_birth_date("2026-01-10");
  id->set_sex(proto::MALE);
  id->set_address("東京都千代田区千代田1-" + std::to_string(n));
  r.mutable_resident()->set_household_head("子");
  r.mutable_resident()->set_became_resident_on("2026-01-10");
  r.mutable_resident()->set_address_notified_on("2026-01-12");
  return r;
}

std::int64_t high_water(const std::string& store, const std::string& sender) {
  auto c = store::Connection::open(store);
  if (!c) return -1;
  auto row = c->query_optional("SELECT high_water FROM senders WHERE sender = $1", {sender});
  return row && *row ? (*row)->integer(0) : 0;
}

// --------------------------------------------------------------- notifications

void notification_throughput(const std::string& engine, Stores& stores, long changes) {
  Country country;
  // The CS's outbox, filled before the clock starts.
  const std::string cs_store = stores.fresh("cs");
  {
    auto cs = must(cs::CsStore::open(must(store::Connection::open(cs_store), "CS store"), "131016"),
                   "CS store");
    const auto today = *calendar::Date::parse("2026-12-07");
    for (long first = 1; first <= changes; first += 1000) {
      std::vector<proto::ChangeReport> reports;
      for (long n = first; n < std::min(changes + 1, first + 1000); ++n)
        reports.push_back(birth(static_cast<int>(n)));
      must(cs.record(reports, 1796605200, today), "recording reports");
    }
  }

  // The floor: the national store alone, the same changes in batches of 500.
  double floor_rate = 0;
  {
    auto cs = must(cs::CsStore::open(must(store::Connection::open(cs_store), "CS store"), "131016"),
                   "CS store");
    auto changes_out = must(cs.outbox_after(0, static_cast<std::size_t>(changes)), "outbox");
    auto ledger =
        must(ledger::Ledger::open(
                 must(store::Connection::open(stores.fresh("floor")), "floor store"), {false, 10}),
             "floor ledger");
    trust::Peer signer;
    signer.code = "131016";
    signer.fingerprint = Bytes(32, 7);
    signer.certificate = Bytes{0x30, 0x00};
    const auto start = Clock::now();
    for (std::size_t at = 0; at < changes_out.size(); at += 500) {
      proto::NotificationBatch batch;
      batch.set_sender("131016");
      for (std::size_t i = at; i < std::min(changes_out.size(), at + 500); ++i)
        *batch.add_changes() = changes_out[i];
      proto::Envelope envelope;
      envelope.set_kind(proto::NOTIFICATION_BATCH);
      batch.SerializeToString(envelope.mutable_payload());
      must(ledger.deliver(envelope, batch, signer, 0), "floor delivery");
    }
    floor_rate = static_cast<double>(changes) / seconds_since(start);
  }

  // End to end: three processes, durable at each tier, over mutual TLS; the
  // clock runs from the CS's start, the upper tiers already listening.
  const std::string national_store = stores.fresh("national");
  const std::string national = country.start(country.national, "juki-national", "national",
                                             national_store, {{"tier", "national"}});
  const std::string prefecture = country.start(
      country.prefecture, "juki-prefecture", "tokyo", stores.fresh("tokyo"),
      {{"tier", "prefecture"}, {"code", "130001"}, {"upstream", {{"address", national}}}});
  const auto start = Clock::now();
  country.start(country.cs, "juki-cs", "chiyoda", cs_store,
                {{"tier", "cs"},
                 {"code", "131016"},
                 {"upstream", {{"address", prefecture}, {"code", "130001"}}}});
  while (high_water(national_store, "131016") < changes) {
    if (seconds_since(start) > 3600) fail("the national server did not get every change");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const double rate = static_cast<double>(changes) / seconds_since(start);
  const std::string tag = "notify_" + engine;
  bench::report(tag + "_floor_national_store_alone", floor_rate, "changes/s");
  bench::report(tag + "_end_to_end", rate, "changes/s");
  bench::report(tag + "_ratio", rate / floor_rate, "x_floor");
  bench::report(tag + "_peak_rss_cs", country.cs.peak_kb(), "kB");
  bench::report(tag + "_peak_rss_prefecture", country.prefecture.peak_kb(), "kB");
  bench::report(tag + "_peak_rss_national", country.national.peak_kb(), "kB");
}

// --------------------------------------------------------------- load and lookups

struct Latencies {
  std::vector<double> micros;
  double seconds = 0;
  double rate() const { return static_cast<double>(micros.size()) / seconds; }
  double percentile(double p) {
    if (micros.empty()) return 0;
    std::sort(micros.begin(), micros.end());
    return micros[std::min(micros.size() - 1, static_cast<std::size_t>(p * micros.size()))];
  }
};

// `threads` clients calling `call` for `seconds`; each call's latency.
Latencies hammer(int threads, double seconds, const std::function<bool(std::mt19937_64&)>& call) {
  Latencies all;
  std::mutex mutex;
  std::vector<std::thread> workers;
  std::atomic<bool> failed{false};
  const auto start = Clock::now();
  const auto until = start + std::chrono::duration<double>(seconds);
  for (int t = 0; t < threads; ++t)
    workers.emplace_back([&, t] {
      std::mt19937_64 random(static_cast<std::uint64_t>(t) * 7919);
      std::vector<double> mine;
      while (Clock::now() < until) {
        const auto begin = Clock::now();
        if (!call(random)) failed = true;
        mine.push_back(std::chrono::duration<double, std::micro>(Clock::now() - begin).count());
      }
      std::lock_guard lock(mutex);
      all.micros.insert(all.micros.end(), mine.begin(), mine.end());
    });
  for (auto& w : workers) w.join();
  all.seconds = seconds_since(start);
  if (failed) fail("a call failed");
  return all;
}

void load_and_lookups(const std::string& engine, Stores& stores, long residents) {
  Country country;
  const std::string national_store = stores.fresh("national");
  const std::string size = residents >= 1'000'000 && residents % 1'000'000 == 0
                               ? std::to_string(residents / 1'000'000) + "m"
                               : std::to_string(residents / 1'000) + "k";
  const std::string tag = engine + "_" + size;
  auto population = must(
      population::Population::create(
          {1, static_cast<std::uint64_t>(residents), {}, *calendar::Date::parse("2002-08-05")}),
      "population");
  {
    auto ledger =
        must(ledger::Ledger::open(must(store::Connection::open(national_store), "national store"),
                                  {false, 10}),
             "national ledger");
    std::uint64_t index = 0;
    population::Resident resident;
    const auto& geography = population.geography();
    const auto start = Clock::now();
    auto loaded = must(ledger.load([&](ledger::Ledger::InitialRecord& r) {
      if (index == population.size()) return false;
      population.resident(index++, resident);
      r.municipality = geography[resident.municipality].code;
      auto& id = r.identity;
      id.set_resident_code(resident.code);
      id.set_name_kanji(resident.name_kanji);
      id.set_name_kana(resident.name_kana);
      id.set_birth_date(resident.birth_date.to_string());
      id.set_sex(resident.sex == population::Sex::male ? proto::MALE : proto::FEMALE);
      id.set_address(resident.address);
      r.change_date = "2002-08-05";
      if (index % 1'000'000 == 0)
        std::cerr << "bench_network: loaded " << index << " of " << population.size() << "\n";
      return true;
    }),
                       "initial load");
    const double seconds = seconds_since(start);
    bench::report("national_load_" + tag + "_rows", static_cast<double>(loaded) / seconds,
                  "rows/s");
    bench::report("national_load_" + tag + "_time", seconds, "s");
    bench::report("national_load_" + tag + "_projected_125m",
                  125e6 / (static_cast<double>(loaded) / seconds) / 60.0, "min");
  }

  // The floor, part one: the store's own point lookup, in this process.
  double store_lookup_us = 0;
  {
    auto ledger = must(
        ledger::Ledger::open(must(store::Connection::open(national_store), "store"), {false, 10}),
        "ledger");
    std::mt19937_64 random(42);
    const int n = 20'000;
    const auto start = Clock::now();
    for (int i = 0; i < n; ++i) {
      auto found = ledger.lookup(population.code_of(random() % population.size()));
      if (!found || found->status() != proto::FOUND) fail("a loaded resident was not found");
    }
    store_lookup_us = seconds_since(start) * 1e6 / n;
  }

  const std::string address = country.start(
      country.national, "juki-national", "national", national_store,
      {{"tier", "national"}, {"limits", {{"max_inflight", 64}, {"store_connections", 8}}}});
  // Prefecture servers' clients, as the CSs' lookups arrive (specs/network.md
  // 6.8): JUKI_BENCH_CHANNELS connections (1), the threads spread over them.
  const int channels = static_cast<int>(setting("JUKI_BENCH_CHANNELS", 1));
  std::vector<std::unique_ptr<proto::IdentityLookup::Stub>> stubs;
  for (int i = 0; i < channels; ++i)
    stubs.push_back(proto::IdentityLookup::NewStub(trust::open_channel(
        address,
        trust::channel_credentials(country.trust("tokyo"), pki::Role::national, "", nullptr),
        true)));
  std::atomic<unsigned> next_stub{0};
  const auto call = [&](const std::string& code, proto::LookupReply& reply) {
    thread_local unsigned mine = next_stub++;
    proto::LookupRequest request;
    request.set_resident_code(code);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return stubs[mine % stubs.size()]->Lookup(&context, request, &reply);
  };
  const auto lookup = [&](std::mt19937_64& random) {
    proto::LookupReply reply;
    auto status = call(population.code_of(random() % population.size()), reply);
    return status.ok() && reply.status() == proto::FOUND;
  };
  // The floor, part two: an empty call on the same channel: the caller's
  // check, then a refusal of a code with a wrong check digit, no store.
  const auto empty = [&](std::mt19937_64&) {
    proto::LookupReply reply;
    return call("00000000001", reply).error_code() == grpc::StatusCode::INVALID_ARGUMENT;
  };
  const int threads = static_cast<int>(setting("JUKI_BENCH_THREADS", 8));
  const double seconds = static_cast<double>(setting("JUKI_BENCH_SECONDS", 5));
  hammer(threads, 1.0, lookup);  // warm: connections, caches
  auto floor = hammer(threads, seconds / 2, empty);
  auto lookups = hammer(threads, seconds, lookup);
  bench::report("lookup_" + tag + "_floor_store_point_lookup", store_lookup_us, "us");
  bench::report("lookup_" + tag + "_floor_empty_call", floor.rate(), "calls/s");
  bench::report("lookup_" + tag + "_floor_empty_call_p50", floor.percentile(0.50) / 1000, "ms");
  bench::report("lookup_" + tag, lookups.rate(), "lookups/s");
  bench::report("lookup_" + tag + "_ratio", lookups.rate() / floor.rate(), "x_floor");
  bench::report("lookup_" + tag + "_p50", lookups.percentile(0.50) / 1000, "ms");
  bench::report("lookup_" + tag + "_p99", lookups.percentile(0.99) / 1000, "ms");
  bench::report("lookup_" + tag + "_peak_rss_national", country.national.peak_kb(), "kB");
}

}  // namespace

int main() {
  trust::require_tls13();
  const long changes = setting("JUKI_BENCH_CHANGES", 100'000);
  for (const auto& engine : list_setting("JUKI_BENCH_ENGINES", "sqlite,postgresql")) {
    test::TempDir dir;
    Stores stores(engine, dir);
    notification_throughput(engine, stores, changes);
    for (const auto& size : list_setting("JUKI_BENCH_RESIDENTS", "1000000"))
      load_and_lookups(engine, stores, std::stol(size));
  }
  return 0;
}
