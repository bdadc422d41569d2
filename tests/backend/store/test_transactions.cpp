// Transactions: all or nothing on both engines, whatever ends them.
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "backend/store/engines.hpp"

using namespace juki::backend::store;
using juki::Result;
using juki::unexpected;
using juki::test::ok;
using juki::test::ScratchStore;

namespace {

std::int64_t count(Connection& db, const std::string& table = "t") {
  return ok(db.query_one("SELECT count(*) FROM " + table)).integer(0);
}

}  // namespace

TEST_CASE("a transaction not committed leaves nothing: destroyed, rolled back, or failed") {
  const std::string engine = JUKI_EACH_STORE_ENGINE();
  CAPTURE(engine);
  ScratchStore store(engine);
  auto db = store.connect();
  ok(db.execute_script("CREATE TABLE t (id BIGINT PRIMARY KEY, name TEXT NOT NULL)"));

  SECTION("destroyed without commit") {
    {
      auto tx = ok(db.begin());
      CHECK(db.in_transaction());
      ok(db.execute("INSERT INTO t VALUES ($1, $2)", {1, std::string("a")}));
      ok(db.execute("INSERT INTO t VALUES ($1, $2)", {2, std::string("b")}));
      CHECK(count(db) == 2);  // seen inside
    }
    CHECK_FALSE(db.in_transaction());
    CHECK(count(db) == 0);
  }
  SECTION("rolled back explicitly, and over afterwards") {
    auto tx = ok(db.begin());
    ok(db.execute("INSERT INTO t VALUES ($1, $2)", {1, std::string("a")}));
    tx.rollback();
    CHECK(count(db) == 0);
    auto again = tx.commit();
    REQUIRE_FALSE(again);
    CHECK(again.error().kind == Error::Kind::invalid);
  }
  SECTION("an error dooms it: later statements and the commit are refused, nothing stays") {
    auto tx = ok(db.begin());
    ok(db.execute("INSERT INTO t VALUES ($1, $2)", {1, std::string("a")}));
    auto duplicate = db.execute("INSERT INTO t VALUES ($1, $2)", {1, std::string("again")});
    REQUIRE_FALSE(duplicate);
    CHECK(duplicate.error().kind == Error::Kind::constraint);
    auto after = db.execute("INSERT INTO t VALUES ($1, $2)", {2, std::string("b")});
    REQUIRE_FALSE(after);
    CHECK(after.error().kind == Error::Kind::constraint);  // the first error's kind
    CHECK_THAT(after.error().message, Catch::Contains("failed earlier"));
    auto committed = tx.commit();
    REQUIRE_FALSE(committed);
    CHECK(committed.error().kind == Error::Kind::constraint);
    CHECK_THAT(committed.error().message, Catch::Contains("commit refused"));
    CHECK_FALSE(db.in_transaction());
    CHECK(count(db) == 0);
    // The connection is fine for the next transaction.
    auto next = ok(db.begin());
    ok(db.execute("INSERT INTO t VALUES ($1, $2)", {3, std::string("c")}));
    ok(next.commit());
    CHECK(count(db) == 1);
  }
  SECTION("a failing script inside it") {
    auto tx = ok(db.begin());
    ok(db.execute("INSERT INTO t VALUES ($1, $2)", {1, std::string("a")}));
    CHECK_FALSE(db.execute_script("INSERT INTO t VALUES (2, 'b'); INSERT INTO t VALUES (3, NULL)"));
    CHECK_FALSE(tx.commit());
    CHECK(count(db) == 0);
  }
  SECTION("a script outside a transaction is all or nothing by itself") {
    auto failed = db.execute_script(
        "INSERT INTO t VALUES (1, 'a'); INSERT INTO t VALUES (2, 'b'); INSERT INTO t VALUES (1, "
        "'c')");
    REQUIRE_FALSE(failed);
    CHECK(failed.error().kind == Error::Kind::constraint);
    CHECK(count(db) == 0);
  }
  SECTION("one transaction at a time") {
    auto tx = ok(db.begin());
    auto nested = db.begin();
    REQUIRE_FALSE(nested);
    CHECK(nested.error().kind == Error::Kind::invalid);
    ok(tx.commit());
  }
}

TEST_CASE("a committed transaction survives closing and reopening the database", "[req:D21.1]") {
  const std::string engine = JUKI_EACH_STORE_ENGINE();
  CAPTURE(engine);
  ScratchStore store(engine);
  {
    auto db = store.connect();
    ok(db.execute_script("CREATE TABLE t (id BIGINT PRIMARY KEY, name TEXT NOT NULL)"));
    auto tx = ok(db.begin(Isolation::serializable));
    for (int i = 1; i <= 3; ++i) ok(db.execute("INSERT INTO t VALUES ($1, 'x')", {i}));
    ok(tx.commit());
    // And one more, left open when the connection closes: rolled back.
    auto open = ok(db.begin());
    ok(db.execute("INSERT INTO t VALUES ($1, 'y')", {4}));
  }
  auto db = store.connect();
  CHECK(count(db) == 3);
  CHECK(ok(db.query_one("SELECT sum(id) FROM t")).integer(0) == 6);
}

TEST_CASE(
    "run_transaction retries serialization failures: read-modify-write from two threads loses "
    "nothing") {
  const std::string engine = JUKI_EACH_STORE_ENGINE();
  CAPTURE(engine);
  ScratchStore store(engine);
  auto pool = ok(Pool::open(store.url(), juki::test::pool_options(2)));
  {
    auto lease = ok(pool.acquire());
    ok(
        lease->execute_script("CREATE TABLE counter (id BIGINT PRIMARY KEY, n BIGINT NOT NULL);"
                              "INSERT INTO counter VALUES (1, 0);"
                              "CREATE TABLE log (writer BIGINT NOT NULL, seq BIGINT NOT NULL, "
                              "PRIMARY KEY (writer, seq))"));
  }
  constexpr int kEach = 60;
  std::vector<std::string> failures(2);
  auto writer = [&](int who) {
    for (int i = 0; i < kEach; ++i) {
      auto lease = pool.acquire();
      if (!lease) {
        failures[static_cast<std::size_t>(who)] = lease.error().message;
        return;
      }
      // Read, then write what was read plus one: on PostgreSQL only
      // serializable (with retries) makes this safe; SQLite's BEGIN IMMEDIATE
      // serializes the writers.
      RetryPolicy patient;
      patient.attempts = 50;
      auto done = run_transaction(
          **lease, Isolation::serializable, patient, [&](Connection& c) -> Result<void, Error> {
            auto n = c.query_one("SELECT n FROM counter WHERE id = 1");
            if (!n) return unexpected(n.error());
            if (auto w = c.execute("UPDATE counter SET n = $1 WHERE id = 1", {n->integer(0) + 1});
                !w) {
              return unexpected(w.error());
            }
            if (auto w = c.execute("INSERT INTO log VALUES ($1, $2)", {who, i}); !w) {
              return unexpected(w.error());
            }
            return {};
          });
      if (!done) {
        failures[static_cast<std::size_t>(who)] = done.error().message;
        return;
      }
    }
  };
  std::thread a(writer, 0), b(writer, 1);
  a.join();
  b.join();
  CHECK(failures[0] == "");
  CHECK(failures[1] == "");
  auto lease = ok(pool.acquire());
  CHECK(ok(lease->query_one("SELECT n FROM counter")).integer(0) == 2 * kEach);
  CHECK(count(*lease, "log") == 2 * kEach);
}

TEST_CASE("a writer that cannot get the lock in time gets a retryable error") {
  const std::string engine = JUKI_EACH_STORE_ENGINE();
  CAPTURE(engine);
  ScratchStore store(engine);
  ConnectOptions impatient;
  impatient.busy_timeout = std::chrono::milliseconds(100);
  auto holder = store.connect();
  auto waiter = store.connect(impatient);
  ok(
      holder.execute_script("CREATE TABLE t (id BIGINT PRIMARY KEY, x BIGINT); INSERT INTO t "
                            "VALUES (1, 0)"));
  // PostgreSQL waits for a row lock as long as lock_timeout says.
  if (engine == "postgresql") ok(waiter.execute("SET lock_timeout = '100ms'"));

  auto tx = ok(holder.begin());
  ok(holder.execute("UPDATE t SET x = 1 WHERE id = 1"));
  const auto start = std::chrono::steady_clock::now();
  auto blocked = waiter.execute("UPDATE t SET x = 2 WHERE id = 1");
  REQUIRE_FALSE(blocked);
  CHECK(blocked.error().kind == Error::Kind::busy_or_serialization);
  CHECK(blocked.error().retryable());
  CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(90));
  ok(tx.commit());
  // Once the lock is free, the same statement goes through.
  CHECK(ok(waiter.execute("UPDATE t SET x = 2 WHERE id = 1")) == 1);
  CHECK(ok(holder.query_one("SELECT x FROM t")).integer(0) == 2);
}
