// A key-ordered query read page by page: every row once, in key order,
// whether the last page is full, short or empty.
#include <catch2/catch.hpp>

#include "backend/store/engines.hpp"
#include "backend/store/pages.hpp"

using namespace juki::backend::store;
using juki::test::ok;
using juki::test::ScratchStore;

TEST_CASE("for_each_row reads every row once, in key order, a page at a time") {
  const std::string engine = JUKI_EACH_STORE_ENGINE();
  CAPTURE(engine);
  ScratchStore store(engine);
  auto db = store.connect();
  ok(db.execute_script("CREATE TABLE codes (code TEXT PRIMARY KEY, town TEXT NOT NULL)"));
  // Ten codes of town A, inserted out of order, and some of town B between.
  for (int i : {7, 2, 9, 0, 5, 3, 8, 1, 6, 4})
    ok(db.execute("INSERT INTO codes VALUES ($1, 'A')", {"a" + std::to_string(i)}));
  for (int i = 0; i < 4; ++i)
    ok(db.execute("INSERT INTO codes VALUES ($1, 'B')", {"a" + std::to_string(i) + "x"}));

  const std::string sql =
      "SELECT code FROM codes WHERE town = $1 AND code > $2 ORDER BY code LIMIT $3";
  for (std::size_t page :
       {std::size_t{1}, std::size_t{3}, std::size_t{5}, std::size_t{10}, std::size_t{100}}) {
    CAPTURE(page);
    std::vector<std::string> seen;
    ok(for_each_row(db, sql, {std::string("A")}, page,
                    [&](const Row& row) { seen.push_back(row.text(0)); }));
    std::vector<std::string> expected;
    for (int i = 0; i < 10; ++i) expected.push_back("a" + std::to_string(i));
    CHECK(seen == expected);
  }
  std::size_t none = 0;
  ok(for_each_row(db, sql, {std::string("C")}, 3, [&](const Row&) { ++none; }));
  CHECK(none == 0);

  // A failing statement is an error, not a short read.
  auto failed = for_each_row(db, "SELECT code FROM nowhere WHERE code > $1 LIMIT $2", {}, 3,
                             [](const Row&) {});
  CHECK_FALSE(failed.ok());
}
