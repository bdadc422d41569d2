// Values in and out, SQL written once: both engines give back what they were
// given, whatever the placeholders' order and the dialect's words.
#include <catch2/catch.hpp>
#include <limits>

#include "backend/store/engines.hpp"
#include "backend/store/sql_text.hpp"

using namespace juki::backend::store;
using juki::Bytes;
using juki::Result;
using juki::unexpected;
using juki::test::ok;
using juki::test::ScratchStore;

namespace {

constexpr std::string_view kValuesTable =
    "CREATE TABLE v (id BIGINT PRIMARY KEY, i BIGINT, t TEXT, b {BLOB})";

}  // namespace

TEST_CASE(
    "values round-trip: NULL, int64 extremes, Japanese text, bytes with NUL and invalid UTF-8") {
  const std::string engine = JUKI_EACH_STORE_ENGINE();
  CAPTURE(engine);
  ScratchStore store(engine);
  auto db = store.connect();
  CHECK(db.engine() == engine);
  ok(db.execute_script(kValuesTable));

  const std::int64_t lowest = std::numeric_limits<std::int64_t>::min();
  const std::int64_t highest = std::numeric_limits<std::int64_t>::max();
  const std::string japanese = "住民基本台帳カード 〒100-0001 東京都千代田区 𠮷野家";
  const Bytes binary = {0x00, 0xFF, 0xC0, 0x80, 0xED, 0xA0, 0x80, 0x00, '\\', 'x', '\n', 0x00};
  const std::string sql = "INSERT INTO v (id, i, t, b) VALUES ($1, $2, $3, $4)";
  CHECK(ok(db.execute(sql, {1, lowest, japanese, binary})) == 1);
  CHECK(ok(db.execute(sql, {2, highest, std::string(""), Bytes{}})) == 1);
  CHECK(ok(db.execute(sql, {3, nullptr, nullptr, nullptr})) == 1);
  CHECK(ok(db.execute(
            sql, {4, 0, std::string("tab\there\nnewline \\ back'slash\""), Bytes{0x00}})) == 1);

  const Rows rows = ok(db.query("SELECT id, i, t, b FROM v ORDER BY id"));
  REQUIRE(rows.size() == 4);
  CHECK(rows[0].integer(1) == lowest);
  CHECK(rows[0].text(2) == japanese);
  CHECK(rows[0].bytes(3) == binary);
  CHECK(rows[1].integer(1) == highest);
  // Empty is not NULL, on either engine.
  CHECK_FALSE(rows[1].is_null(2));
  CHECK(rows[1].text(2).empty());
  CHECK_FALSE(rows[1].is_null(3));
  CHECK(rows[1].bytes(3).empty());
  CHECK(rows[2].is_null(1));
  CHECK(rows[2].is_null(2));
  CHECK(rows[2].is_null(3));
  CHECK(rows[2].optional_integer(1) == std::nullopt);
  CHECK(rows[2].optional_text(2) == std::nullopt);
  CHECK(rows[2].optional_bytes(3) == std::nullopt);
  CHECK(rows[3].text(2) == "tab\there\nnewline \\ back'slash\"");
  CHECK(rows[3].bytes(3) == Bytes{0x00});
  CHECK(rows[3].optional_integer(1) == 0);

  // Found by value, too: a bytes parameter compares as bytes.
  CHECK(ok(db.query_one("SELECT id FROM v WHERE b = $1", {binary})).integer(0) == 1);
  CHECK(ok(db.query_one("SELECT id FROM v WHERE t = $1", {japanese})).integer(0) == 1);
  CHECK(ok(db.query_one("SELECT id FROM v WHERE i = $1", {lowest})).integer(0) == 1);

  // A count, a sum (NUMERIC on PostgreSQL) and a comparison read as integers on both.
  const Row summary =
      ok(db.query_one("SELECT count(*), sum(id), max(id) > 3 FROM v WHERE id >= $1", {1}));
  CHECK(summary.integer(0) == 4);
  CHECK(summary.integer(1) == 10);
  CHECK(summary.integer(2) == 1);

  // Asking a column for what it does not hold is the caller's bug.
  CHECK_THROWS_AS(rows[0].text(1), ColumnTypeError);
  CHECK_THROWS_AS(rows[0].bytes(2), ColumnTypeError);
  CHECK_THROWS_AS(rows[0].integer(2), ColumnTypeError);
  CHECK_THROWS_AS(rows[0].value(9), ColumnTypeError);
}

TEST_CASE("text must be valid UTF-8 without NUL on both engines (Bytes carry anything)") {
  const std::string engine = JUKI_EACH_STORE_ENGINE();
  CAPTURE(engine);
  ScratchStore store(engine);
  auto db = store.connect();
  ok(db.execute_script(kValuesTable));
  for (const std::string& bad : {std::string("a\0b", 3), std::string("\xC0\x80"),
                                 std::string("\xED\xA0\x80"), std::string("\xFF")}) {
    auto refused = db.execute("INSERT INTO v (id, t) VALUES (1, $1)", {bad});
    REQUIRE_FALSE(refused);
    CHECK(refused.error().kind == Error::Kind::invalid);
    CHECK_THAT(refused.error().message, Catch::Contains("not valid UTF-8"));
  }
  CHECK(ok(db.query_one("SELECT count(*) FROM v")).integer(0) == 0);
}

TEST_CASE("placeholders: out of order, repeated, and left alone inside quotes and comments") {
  const std::string engine = JUKI_EACH_STORE_ENGINE();
  CAPTURE(engine);
  ScratchStore store(engine);
  auto db = store.connect();
  ok(db.execute_script(kValuesTable));

  // $2 before $1.
  CHECK(ok(db.execute("INSERT INTO v (t, id) VALUES ($2, $1)", {7, std::string("seven")})) == 1);
  const Row seven = ok(db.query_one("SELECT id, t FROM v WHERE id = $1", {7}));
  CHECK(seven.integer(0) == 7);
  CHECK(seven.text(1) == "seven");

  // $1 twice, $3 before $2, and $1 / {BLOB} in a literal and a comment are text.
  const Row row = ok(db.query_one(
      "SELECT $1 || '-' || $3 || '-' || $2 || '-' || $1, '$1 {BLOB}' -- $2 {NOTATOKEN}\n"
      " /* $3 */ , \"t\" FROM v WHERE id = 7",
      {std::string("a"), std::string("b"), std::string("c")}));
  CHECK(row.text(0) == "a-c-b-a");
  CHECK(row.text(1) == "$1 {BLOB}");
  CHECK(row.text(2) == "seven");

  // An integer parameter is 64-bit in arithmetic on both engines, and a
  // function taking a 32-bit INTEGER gets it by CAST.
  const std::int64_t big = std::int64_t{1} << 40;
  CHECK(ok(db.query_one("SELECT $1 + 1", {big})).integer(0) == big + 1);
  CHECK(ok(db.query_one("SELECT substr('abcdef', CAST($1 AS INTEGER))", {3})).text(0) == "cdef");

  // Too few or too many values, a gap at $0: refused alike, before the engine.
  for (const auto& [sql, values] :
       std::vector<std::pair<std::string, std::vector<Value>>>{{"SELECT $1, $2", {Value(1)}},
                                                               {"SELECT $1", {Value(1), Value(2)}},
                                                               {"SELECT 1", {Value(1)}},
                                                               {"SELECT $0", {}}}) {
    CAPTURE(sql);
    auto refused = db.query(sql, values);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().kind == Error::Kind::invalid);
  }
}

TEST_CASE("the dialect: {BLOB}, {BIGSERIAL_PK}, ON CONFLICT and RETURNING on both engines") {
  const std::string engine = JUKI_EACH_STORE_ENGINE();
  CAPTURE(engine);
  ScratchStore store(engine);
  auto db = store.connect();
  ok(db.execute_script(
      "CREATE TABLE cards (id {BIGSERIAL_PK}, serial TEXT NOT NULL UNIQUE, image {BLOB}, "
      "uses BIGINT NOT NULL DEFAULT 0);"
      "CREATE INDEX cards_uses ON cards (uses);"));

  const std::string insert =
      "INSERT INTO cards (serial, image) VALUES ($1, $2) ON CONFLICT (serial) DO NOTHING "
      "RETURNING id";
  const auto first = ok(db.query_optional(insert, {std::string("A-1"), Bytes{1, 2}}));
  const auto second = ok(db.query_optional(insert, {std::string("B-2"), Bytes{3}}));
  REQUIRE(first);
  REQUIRE(second);
  CHECK(second->integer(0) > first->integer(0));
  // The conflict inserts nothing and returns no row.
  CHECK_FALSE(ok(db.query_optional(insert, {std::string("A-1"), Bytes{9}})));
  CHECK(ok(db.execute(insert, {std::string("A-1"), Bytes{9}})) == 0);

  const std::string upsert =
      "INSERT INTO cards (serial, image) VALUES ($1, $2) ON CONFLICT (serial) DO UPDATE SET "
      "uses = cards.uses + 1, image = excluded.image RETURNING id, uses";
  const Row again = ok(db.query_one(upsert, {std::string("A-1"), Bytes{7, 7}}));
  CHECK(again.integer(0) == first->integer(0));
  CHECK(again.integer(1) == 1);
  CHECK(ok(db.query_one("SELECT image FROM cards WHERE serial = $1", {std::string("A-1")}))
            .bytes(0) == Bytes{7, 7});

  // Ids are not reused after the newest row is deleted.
  CHECK(ok(db.execute("DELETE FROM cards WHERE id = $1", {second->integer(0)})) == 1);
  const auto third = ok(db.query_optional(insert, {std::string("C-3"), nullptr}));
  REQUIRE(third);
  CHECK(third->integer(0) > second->integer(0));

  // UPDATE and DELETE count the rows they changed; a SELECT or DDL counts none.
  CHECK(ok(db.execute("UPDATE cards SET uses = uses + 1")) == 2);
  CHECK(ok(db.execute("SELECT * FROM cards")) == 0);
  CHECK(ok(db.execute("CREATE TABLE other (x BIGINT)")) == 0);
}

TEST_CASE("the SQL text: placeholders and dialect tokens per engine, quotes untouched") {
  using detail::Dialect;
  using detail::translate;
  const std::string sql =
      "SELECT $2, $10, 'it''s $1', E'\\'$1', \"a$1\", x$1, $$ $1 {X} $$, $tag$ $3 $tag$ -- $4\n"
      "/* {Y} $5 */ FROM t WHERE b = {BLOB}";
  const auto sqlite = translate(sql, Dialect::sqlite);
  REQUIRE(sqlite);
  CHECK(sqlite->parameters == 10);
  CHECK(sqlite->sql ==
        "SELECT ?2, ?10, 'it''s $1', E'\\'$1', \"a$1\", x$1, $$ $1 {X} $$, $tag$ $3 $tag$ -- $4\n"
        "/* {Y} $5 */ FROM t WHERE b = BLOB");
  const auto postgresql = translate(sql, Dialect::postgresql);
  REQUIRE(postgresql);
  CHECK(postgresql->parameters == 10);
  CHECK(postgresql->sql ==
        "SELECT $2, $10, 'it''s $1', E'\\'$1', \"a$1\", x$1, $$ $1 {X} $$, $tag$ $3 $tag$ -- $4\n"
        "/* {Y} $5 */ FROM t WHERE b = BYTEA");
  CHECK(translate("CREATE TABLE t (id {BIGSERIAL_PK})", Dialect::sqlite)->sql ==
        "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT)");

  const auto unknown = translate("CREATE TABLE t (x {JSONB})", Dialect::sqlite);
  REQUIRE_FALSE(unknown);
  CHECK_THAT(unknown.error(), Catch::Contains("{JSONB}"));
  CHECK_FALSE(translate("SELECT {BLOB", Dialect::postgresql));
  CHECK_FALSE(translate("SELECT $0", Dialect::postgresql));
  CHECK_FALSE(translate("SELECT $99999999999999999999", Dialect::sqlite));
}
