// Errors: a kind to act on and a message a person can act on, never a crash.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>

#include "backend/store/engines.hpp"

using namespace juki::backend::store;
using juki::Result;
using juki::unexpected;
using juki::test::ok;
using juki::test::ScratchStore;

TEST_CASE("a malformed store URL is refused clearly") {
  for (const std::string url :
       {"", "/tmp/x.db", "mysql:host=x", "sqlite:", "postgres:host=x", "SQLITE:/tmp/x.db"}) {
    CAPTURE(url);
    auto opened = Connection::open(url);
    REQUIRE_FALSE(opened);
    CHECK(opened.error().kind == Error::Kind::invalid);
    CHECK_THAT(opened.error().message,
               Catch::Contains("sqlite:") || Catch::Contains("sqlite:PATH"));
  }
  // A PostgreSQL URL's conninfo is never repeated (it may hold a password).
  auto bad =
      Connection::open("postgresql:host=/nonexistent/juki password=hunter2 connect_timeout=2");
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().message, !Catch::Contains("hunter2"));
  auto nonsense = Connection::open("postgresql:this is = not a conninfo");
  REQUIRE_FALSE(nonsense);
  CHECK(nonsense.error().kind == Error::Kind::invalid);
  CHECK_THAT(nonsense.error().message, Catch::StartsWith("postgresql: malformed conninfo"));
}

TEST_CASE("sqlite::memory: is a private database of one connection") {
  auto db = ok(Connection::open("sqlite::memory:"));
  ok(db.execute_script("CREATE TABLE t (x BIGINT)"));
  CHECK(ok(db.execute("INSERT INTO t VALUES ($1)", {1})) == 1);
  CHECK(ok(db.query_one("SELECT x FROM t")).integer(0) == 1);
  auto other = ok(Connection::open("sqlite::memory:"));
  CHECK_FALSE(other.query("SELECT x FROM t"));
}

TEST_CASE("an unreachable PostgreSQL and an unopenable SQLite file are connection errors") {
  auto unreachable = Connection::open("postgresql:host=/nonexistent/juki dbname=juki");
  REQUIRE_FALSE(unreachable);
  CHECK(unreachable.error().kind == Error::Kind::connection);
  CHECK_THAT(unreachable.error().message, Catch::StartsWith("postgresql: cannot connect") &&
                                              Catch::Contains("/nonexistent/juki"));

  auto pool =
      Pool::open("postgresql:host=/nonexistent/juki dbname=juki", juki::test::pool_options(2));
  REQUIRE_FALSE(pool);
  CHECK(pool.error().kind == Error::Kind::connection);

  auto missing_dir = Connection::open("sqlite:/nonexistent/juki/store.db");
  REQUIRE_FALSE(missing_dir);
  CHECK(missing_dir.error().kind == Error::Kind::connection);
  CHECK_THAT(missing_dir.error().message, Catch::StartsWith("sqlite: cannot open /nonexistent"));

  juki::test::TempDir dir;
  {
    std::FILE* f = std::fopen(dir.file("not-a-db").c_str(), "w");
    REQUIRE(f);
    std::fputs(
        "this is not an SQLite database, and it is long enough to have a header.......\n"
        "..........................................................................\n",
        f);
    std::fclose(f);
  }
  auto garbage = Connection::open("sqlite:" + dir.file("not-a-db"));
  REQUIRE_FALSE(garbage);
  CHECK(garbage.error().kind == Error::Kind::connection);
}

TEST_CASE("PostgreSQL: a database that does not exist is a connection error") {
  const auto engines = juki::test::store_engines();
  if (std::find(engines.begin(), engines.end(), "postgresql") == engines.end()) return;
  const std::string admin = juki::test::test_pg_conninfo();
  auto opened = Connection::open("postgresql:" + admin + " dbname=juki_no_such_database");
  REQUIRE_FALSE(opened);
  CHECK(opened.error().kind == Error::Kind::connection);
  CHECK_THAT(opened.error().message, Catch::Contains("juki_no_such_database"));
}

TEST_CASE("bad SQL: the kind, the engine and the statement's first words") {
  const std::string engine = JUKI_EACH_STORE_ENGINE();
  CAPTURE(engine);
  ScratchStore store(engine);
  auto db = store.connect();
  ok(
      db.execute_script("CREATE TABLE t (id BIGINT PRIMARY KEY, name TEXT NOT NULL UNIQUE, "
                        "age BIGINT CHECK (age >= 0))"));

  auto syntax = db.execute("SELEKT * FROM t WHERE id = $1", {1});
  REQUIRE_FALSE(syntax);
  CHECK(syntax.error().kind == Error::Kind::invalid);
  CHECK_THAT(syntax.error().message,
             Catch::StartsWith(engine + ": \"SELEKT * FROM t WHERE id = $1\": "));

  auto no_table = db.query("SELECT * FROM missing_table");
  REQUIRE_FALSE(no_table);
  CHECK(no_table.error().kind == Error::Kind::invalid);
  CHECK_THAT(no_table.error().message, Catch::Contains("missing_table"));

  auto two = db.execute("INSERT INTO t VALUES (1, 'a', 1); INSERT INTO t VALUES (2, 'b', 2)");
  REQUIRE_FALSE(two);
  CHECK(two.error().kind == Error::Kind::invalid);
  CHECK(ok(db.query_one("SELECT count(*) FROM t")).integer(0) == 0);

  auto token = db.execute_script("CREATE TABLE u (x {MONEY})");
  REQUIRE_FALSE(token);
  CHECK(token.error().kind == Error::Kind::invalid);
  CHECK_THAT(token.error().message, Catch::Contains("{MONEY}"));

  auto script_params = db.execute_script("INSERT INTO t VALUES ($1, 'a', 1)");
  REQUIRE_FALSE(script_params);
  CHECK(script_params.error().kind == Error::Kind::invalid);

  // Long statements are cut in the message.
  std::string longer = "SELECT id FROM t WHERE name = 'x' AND " + std::string(500, ' ') +
                       "nonsense_column_that_does_not_exist = 1 AND age = 2 AND id = 3";
  auto cut = db.query(longer);
  REQUIRE_FALSE(cut);
  CHECK(cut.error().message.size() < 400);
  CHECK_THAT(cut.error().message, Catch::Contains("SELECT id FROM t WHERE name = 'x' AND non"));
}

TEST_CASE("constraint violations are classified as constraint on both engines") {
  const std::string engine = JUKI_EACH_STORE_ENGINE();
  CAPTURE(engine);
  ScratchStore store(engine);
  auto db = store.connect();
  ok(db.execute_script(
      "CREATE TABLE t (id BIGINT PRIMARY KEY, name TEXT NOT NULL UNIQUE, age BIGINT CHECK (age >= "
      "0));"
      "CREATE TABLE child (id BIGINT PRIMARY KEY, parent BIGINT NOT NULL REFERENCES t (id))"));
  ok(db.execute("INSERT INTO t VALUES ($1, $2, $3)", {1, std::string("a"), 1}));
  const std::vector<std::pair<std::string, std::vector<Value>>> refusals = {
      {"INSERT INTO t VALUES ($1, $2, $3)", {1, std::string("b"), 1}},   // primary key
      {"INSERT INTO t VALUES ($1, $2, $3)", {2, std::string("a"), 1}},   // unique
      {"INSERT INTO t VALUES ($1, $2, $3)", {3, nullptr, 1}},            // not null
      {"INSERT INTO t VALUES ($1, $2, $3)", {4, std::string("c"), -1}},  // check
      {"INSERT INTO child VALUES ($1, $2)", {1, 99}},                    // foreign key
  };
  for (const auto& [sql, values] : refusals) {
    CAPTURE(sql);
    auto refused = db.execute(sql, values);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().kind == Error::Kind::constraint);
    CHECK_FALSE(refused.error().retryable());
    CHECK_THAT(refused.error().message, Catch::StartsWith(engine + ": \"INSERT INTO"));
  }
  CHECK(ok(db.query_one("SELECT count(*) FROM t")).integer(0) == 1);
}

TEST_CASE("statements are prepared once per SQL text and reused") {
  const std::string engine = JUKI_EACH_STORE_ENGINE();
  CAPTURE(engine);
  ScratchStore store(engine);
  auto db = store.connect();
  ok(db.execute_script("CREATE TABLE t (id BIGINT PRIMARY KEY, b {BLOB})"));
  const std::size_t before = db.cached_statements();
  for (int i = 0; i < 50; ++i) {
    ok(db.execute("INSERT INTO t (id, b) VALUES ($1, $2)", {i, juki::Bytes{1}}));
    CHECK(ok(db.query_one("SELECT count(*) FROM t WHERE id <= $1", {i})).integer(0) == i + 1);
  }
  CHECK(db.cached_statements() == before + 2);
  // A NULL where bytes were is another kind of parameter on PostgreSQL, and
  // still works.
  ok(db.execute("INSERT INTO t (id, b) VALUES ($1, $2)", {100, nullptr}));
  CHECK(ok(db.query_one("SELECT count(*) FROM t WHERE b IS NULL")).integer(0) == 1);
  // Beyond the cache's room, statements still run (prepared for one use).
  for (int i = 0; i < 600; ++i) {
    ok(db.query_one("SELECT " + std::to_string(i) + " + $1", {1}));
  }
  CHECK(db.cached_statements() <= 512);
  CHECK(ok(db.query_one("SELECT 1000 + $1", {1})).integer(0) == 1001);
}

TEST_CASE("an error kind has a name") {
  CHECK(kind_name(Error::Kind::constraint) == "constraint");
  CHECK(kind_name(Error::Kind::busy_or_serialization) == "busy_or_serialization");
  CHECK(kind_name(Error::Kind::schema) == "schema");
  CHECK(is_valid_text("東京"));
  CHECK_FALSE(is_valid_text(std::string("\0", 1)));
  CHECK_FALSE(is_valid_text("\xF4\x90\x80\x80"));  // beyond U+10FFFF
  CHECK(is_valid_text("\xF4\x8F\xBF\xBF"));
}
