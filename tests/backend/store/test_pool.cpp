// The pool: shared by threads, bounded waits, connections handed back clean.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "backend/store/engines.hpp"

using namespace juki::backend::store;
using juki::Result;
using juki::unexpected;
using juki::test::ok;
using juki::test::ScratchStore;

TEST_CASE("concurrent writers through a pool lose nothing") {
  const std::string engine = JUKI_EACH_STORE_ENGINE();
  CAPTURE(engine);
  ScratchStore store(engine);
  // A short busy timeout on SQLite: writers wait for each other's lock, and
  // when they give up, the retry picks them up.
  auto options = juki::test::pool_options(3);
  options.connect.busy_timeout = std::chrono::milliseconds(200);
  auto pool = ok(Pool::open(store.url(), options));
  CHECK(pool.size() == 3);
  CHECK(pool.engine() == engine);
  {
    auto lease = ok(pool.acquire());
    ok(lease->execute_script(
        "CREATE TABLE events (id {BIGSERIAL_PK}, writer BIGINT NOT NULL, seq BIGINT NOT NULL);"
        "CREATE TABLE totals (writer BIGINT PRIMARY KEY, n BIGINT NOT NULL)"));
  }
  constexpr int kThreads = 3;
  constexpr int kEach = 150;
  std::vector<std::string> failures(kThreads);
  auto writer = [&](int who) {
    auto& failure = failures[static_cast<std::size_t>(who)];
    for (int i = 0; i < kEach && failure.empty(); ++i) {
      auto lease = pool.acquire();
      if (!lease) {
        failure = lease.error().message;
        break;
      }
      if (i % 2 == 0) {
        // A statement on its own (autocommit), retried when busy.
        for (int attempt = 1;; ++attempt) {
          auto w = (*lease)->execute("INSERT INTO events (writer, seq) VALUES ($1, $2)", {who, i});
          if (w) break;
          if (!w.error().retryable() || attempt == 20) {
            failure = w.error().message;
            break;
          }
          pause_before_retry({}, attempt);
        }
      } else {
        auto done = run_transaction(**lease, [&](Connection& c) -> Result<void, Error> {
          if (auto w = c.execute("INSERT INTO events (writer, seq) VALUES ($1, $2)", {who, i});
              !w) {
            return unexpected(w.error());
          }
          if (auto w = c.execute(
                  "INSERT INTO totals (writer, n) VALUES ($1, 1) ON CONFLICT (writer) DO UPDATE "
                  "SET n = totals.n + 1",
                  {who});
              !w) {
            return unexpected(w.error());
          }
          return {};
        });
        if (!done) failure = done.error().message;
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(writer, t);
  for (auto& t : threads) t.join();
  for (const auto& f : failures) CHECK(f == "");

  auto lease = ok(pool.acquire());
  CHECK(ok(lease->query_one("SELECT count(*), count(DISTINCT id) FROM events")).integer(0) ==
        kThreads * kEach);
  CHECK(ok(lease->query_one("SELECT count(DISTINCT id) FROM events")).integer(0) ==
        kThreads * kEach);
  const Rows totals = ok(lease->query("SELECT writer, n FROM totals ORDER BY writer"));
  REQUIRE(totals.size() == kThreads);
  for (const Row& r : totals) CHECK(r.integer(1) == kEach / 2);
}

TEST_CASE("an exhausted pool says so after its timeout, and serves again when a lease ends") {
  const std::string engine = JUKI_EACH_STORE_ENGINE();
  CAPTURE(engine);
  ScratchStore store(engine);
  auto pool =
      ok(Pool::open(store.url(), juki::test::pool_options(2, std::chrono::milliseconds(150))));
  auto first = ok(pool.acquire());
  auto second = ok(pool.acquire());
  CHECK(pool.idle() == 0);

  const auto start = std::chrono::steady_clock::now();
  auto third = pool.acquire();
  const auto waited = std::chrono::steady_clock::now() - start;
  REQUIRE_FALSE(third);
  CHECK(third.error().kind == Error::Kind::busy_or_serialization);
  CHECK(third.error().retryable());
  CHECK_THAT(third.error().message, Catch::Contains("pool exhausted") &&
                                        Catch::Contains("all 2 connections") &&
                                        Catch::Contains("150 ms") && Catch::Contains(engine));
  CHECK(waited >= std::chrono::milliseconds(140));
  CHECK(waited < std::chrono::seconds(5));

  // A waiter gets the connection another thread gives back.
  std::thread giver([lease = std::move(first)]() mutable {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    auto done = std::move(lease);
  });
  auto waiting = pool.acquire(std::chrono::seconds(5));
  giver.join();
  REQUIRE(waiting);

  auto none = Pool::open(store.url(), juki::test::pool_options(0));
  REQUIRE_FALSE(none);
  CHECK(none.error().kind == Error::Kind::invalid);
}

TEST_CASE("a connection comes back to the pool without the transaction its user left open") {
  const std::string engine = JUKI_EACH_STORE_ENGINE();
  CAPTURE(engine);
  ScratchStore store(engine);
  auto pool = ok(Pool::open(store.url(), juki::test::pool_options(1)));
  {
    auto lease = ok(pool.acquire());
    ok(lease->execute_script("CREATE TABLE t (x BIGINT)"));
    // Opened by hand, behind the Transaction's back.
    ok(lease->execute("BEGIN"));
    ok(lease->execute("INSERT INTO t VALUES (1)"));
  }
  auto lease = ok(pool.acquire());
  CHECK(ok(lease->query_one("SELECT count(*) FROM t")).integer(0) == 0);
  auto tx = ok(lease->begin());  // and a new one can begin
  ok(tx.commit());
}

TEST_CASE("a lost PostgreSQL connection is a connection error, and the pool replaces it") {
  const auto engines = juki::test::store_engines();
  if (std::find(engines.begin(), engines.end(), "postgresql") == engines.end()) return;
  ScratchStore store("postgresql");
  auto pool = ok(Pool::open(store.url(), juki::test::pool_options(1)));
  auto admin = store.connect();
  {
    auto lease = ok(pool.acquire());
    const auto pid = ok(lease->query_one("SELECT pg_backend_pid()")).integer(0);
    auto tx = ok(lease->begin());
    ok(lease->execute_script("CREATE TABLE t (x BIGINT)"));
    // What a server restart or a network cut does to it. (pg_terminate_backend
    // takes an INTEGER, and a parameter is a BIGINT.)
    CHECK(
        ok(admin.query_one("SELECT pg_terminate_backend(CAST($1 AS INTEGER))", {pid})).integer(0) ==
        1);
    auto lost = lease->query("SELECT 1");
    REQUIRE_FALSE(lost);
    CHECK(lost.error().kind == Error::Kind::connection);
    CHECK_THAT(lost.error().message, Catch::StartsWith("postgresql: \"SELECT 1\""));
    CHECK_FALSE(lease->usable());
    CHECK_FALSE(tx.commit());
  }
  CHECK(pool.idle() == 0);  // not handed out again
  auto fresh = ok(pool.acquire());
  CHECK(fresh->usable());
  CHECK(ok(fresh->query_one("SELECT 1 + $1", {1})).integer(0) == 2);
  CHECK_FALSE(fresh->query("SELECT * FROM t"));  // the lost transaction left nothing
}
