// Versioned schemas: each step once, in order, never on a newer database,
// never twice when two processes migrate at once.
#include <catch2/catch.hpp>
#include <thread>

#include "backend/store/engines.hpp"

using namespace juki::backend::store;
using juki::Result;
using juki::unexpected;
using juki::test::ok;
using juki::test::ScratchStore;

namespace {

// Each step also logs itself, so that applying one twice shows (and its
// CREATE TABLE would fail the second time anyway).
const std::vector<std::string_view> kSteps = {
    "CREATE TABLE residents (code TEXT PRIMARY KEY, name TEXT NOT NULL);"
    "CREATE TABLE applied (step BIGINT NOT NULL);"
    "INSERT INTO applied VALUES (1)",
    "ALTER TABLE residents ADD COLUMN photo {BLOB};"
    "INSERT INTO applied VALUES (2)",
    "CREATE TABLE moves (id {BIGSERIAL_PK}, code TEXT NOT NULL REFERENCES residents (code));"
    "INSERT INTO applied VALUES (3)",
};

std::int64_t applied_count(Connection& db) {
  return ok(db.query_one("SELECT count(*) FROM applied")).integer(0);
}

}  // namespace

TEST_CASE("migrations apply once, in order, and again is nothing to do") {
  const std::string engine = JUKI_EACH_STORE_ENGINE();
  CAPTURE(engine);
  ScratchStore store(engine);
  auto db = store.connect();
  CHECK(ok(schema_version(db, "cs")) == 0);

  const std::span<const std::string_view> all(kSteps);
  const Migrated first = ok(migrate(db, "cs", all.first(2)));
  CHECK(first.before == 0);
  CHECK(first.after == 2);
  CHECK(ok(schema_version(db, "cs")) == 2);
  CHECK(applied_count(db) == 2);

  // A newer program: only the missing step.
  const Migrated second = ok(migrate(db, "cs", all));
  CHECK(second.before == 2);
  CHECK(second.after == 3);
  const Migrated again = ok(migrate(db, "cs", all));
  CHECK(again.before == 3);
  CHECK(again.after == 3);
  CHECK(applied_count(db) == 3);
  const Rows versions =
      ok(db.query("SELECT version, applied_at FROM schema_migrations WHERE schema = $1 ORDER BY "
                  "version",
                  {std::string("cs")}));
  REQUIRE(versions.size() == 3);
  CHECK(versions[2].integer(0) == 3);
  CHECK(versions[2].text(1).size() == 20);  // 2025-01-02T03:04:05Z

  // What the steps made is there: a photo column, a foreign key.
  ok(db.execute("INSERT INTO residents (code, name, photo) VALUES ($1, $2, $3)",
                {std::string("1234567890"), std::string("山田太郎"), juki::Bytes{1, 2, 3}}));
  auto orphan = db.execute("INSERT INTO moves (code) VALUES ($1)", {std::string("0000000000")});
  REQUIRE_FALSE(orphan);
  CHECK(orphan.error().kind == Error::Kind::constraint);

  // Another schema in the same database has versions of its own.
  CHECK(ok(migrate(db, "cache", {"CREATE TABLE cache_entries (k TEXT PRIMARY KEY)"})).after == 1);
  CHECK(ok(schema_version(db, "cs")) == 3);
  CHECK(ok(schema_version(db, "cache")) == 1);
}

TEST_CASE(
    "a database newer than the program is refused, and a failed step leaves the ones before") {
  const std::string engine = JUKI_EACH_STORE_ENGINE();
  CAPTURE(engine);
  ScratchStore store(engine);
  auto db = store.connect();
  const std::span<const std::string_view> all(kSteps);
  ok(migrate(db, "cs", all));

  auto older = migrate(db, "cs", all.first(2));
  REQUIRE_FALSE(older);
  CHECK(older.error().kind == Error::Kind::schema);
  CHECK_THAT(older.error().message,
             Catch::Contains("version 3") && Catch::Contains("cs") && Catch::Contains(engine));
  CHECK(ok(schema_version(db, "cs")) == 3);

  std::vector<std::string_view> broken(kSteps);
  broken.push_back("CREATE TABLE fine (x BIGINT); INSERT INTO applied VALUES (4)");
  broken.push_back("CREATE TABLE half (x BIGINT); INSERT INTO nowhere VALUES (5)");
  auto failed = migrate(db, "cs", broken);
  REQUIRE_FALSE(failed);
  CHECK(failed.error().kind == Error::Kind::invalid);
  CHECK_THAT(failed.error().message, Catch::Contains("step 5"));
  CHECK(ok(schema_version(db, "cs")) == 4);
  CHECK(applied_count(db) == 4);
  // Step 5 left nothing: its table is not there.
  CHECK_FALSE(db.query("SELECT * FROM half"));

  CHECK_FALSE(migrate(db, "", all));
  auto tx = ok(db.begin());
  auto inside = migrate(db, "cs", all);
  REQUIRE_FALSE(inside);
  CHECK(inside.error().kind == Error::Kind::invalid);
}

TEST_CASE("two migrators at once apply each step exactly once") {
  const std::string engine = JUKI_EACH_STORE_ENGINE();
  CAPTURE(engine);
  ScratchStore store(engine);
  // Slow steps widen the window in which both would apply the same one.
  std::vector<std::string> slow;
  for (int step = 1; step <= 4; ++step) {
    std::string sql = step == 1 ? "CREATE TABLE applied (step BIGINT NOT NULL);" : "";
    sql += "CREATE TABLE step_" + std::to_string(step) + " (x BIGINT);";
    sql += "INSERT INTO applied VALUES (" + std::to_string(step) + ");";
    // A little work inside the step: 20,000 rows.
    sql += "INSERT INTO step_" + std::to_string(step) +
           " WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 20000) "
           "SELECT x FROM n";
    slow.push_back(sql);
  }
  const std::vector<std::string_view> steps(slow.begin(), slow.end());

  constexpr int kMigrators = 3;
  std::vector<std::string> failures(kMigrators);
  std::vector<std::thread> migrators;
  for (int m = 0; m < kMigrators; ++m) {
    migrators.emplace_back([&, m] {
      // Each as a process would: its own connection.
      auto db = Connection::open(store.url());
      if (!db) {
        failures[static_cast<std::size_t>(m)] = db.error().message;
        return;
      }
      if (auto done = migrate(*db, "cs", steps); !done) {
        failures[static_cast<std::size_t>(m)] = done.error().message;
      }
    });
  }
  for (auto& t : migrators) t.join();
  for (const auto& f : failures) CHECK(f == "");

  auto db = store.connect();
  CHECK(ok(schema_version(db, "cs")) == 4);
  const Rows applied =
      ok(db.query("SELECT step, count(*) FROM applied GROUP BY step ORDER BY step"));
  REQUIRE(applied.size() == 4);
  for (const Row& r : applied) CHECK(r.integer(1) == 1);
  CHECK(ok(db.query_one("SELECT count(*) FROM schema_migrations")).integer(0) == 4);
}
