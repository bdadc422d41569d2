// Bulk loading: everything arrives, escaped right, or nothing does.
#include <catch2/catch.hpp>
#include <chrono>

#include "backend/store/engines.hpp"

using namespace juki::backend::store;
using juki::Bytes;
using juki::Result;
using juki::unexpected;
using juki::test::ok;
using juki::test::ScratchStore;

namespace {

constexpr std::string_view kResidents =
    "CREATE TABLE residents (id BIGINT PRIMARY KEY, code TEXT NOT NULL, born BIGINT, "
    "name TEXT, photo {BLOB})";
const std::vector<std::string_view> kColumns = {"id", "code", "born", "name", "photo"};

}  // namespace

TEST_CASE("copy_rows loads 100,000 rows, and the count and sums agree") {
  const std::string engine = JUKI_EACH_STORE_ENGINE();
  CAPTURE(engine);
  ScratchStore store(engine);
  auto db = store.connect();
  ok(db.execute_script(kResidents));

  constexpr std::int64_t kRows = 100'000;
  std::int64_t next = 0;
  std::int64_t born_sum = 0;
  std::string code;
  const auto start = std::chrono::steady_clock::now();
  const std::int64_t loaded = ok(db.copy_rows("residents", kColumns, [&](CopyRow& row) {
    if (next == kRows) return false;
    ++next;
    code = std::to_string(100000000000 + next);
    const std::int64_t born = 19000101 + next % 1000;
    born_sum += born;
    row.integer(next);
    row.text(code);  // a view of a string reused for every row
    row.integer(born);
    if (next % 10 == 0) {
      row.null();
    } else {
      row.text("住民 " + std::to_string(next));  // a temporary
    }
    row.bytes(Bytes{static_cast<std::uint8_t>(next & 0xFF), 0x00, '\t'});
    return true;
  }));
  const auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start);
  WARN(engine << ": copy_rows " << kRows << " rows in " << took.count() << " s ("
              << static_cast<long>(kRows / took.count()) << " rows/s)");
  CHECK(loaded == kRows);

  const Row check = ok(db.query_one(
      "SELECT count(*), sum(id), sum(born), count(name), sum(length(code)) FROM residents"));
  CHECK(check.integer(0) == kRows);
  CHECK(check.integer(1) == kRows * (kRows + 1) / 2);
  CHECK(check.integer(2) == born_sum);
  CHECK(check.integer(3) == kRows - kRows / 10);
  CHECK(check.integer(4) == kRows * 12);
  const Row one = ok(db.query_one("SELECT code, name, photo FROM residents WHERE id = $1", {77}));
  CHECK(one.text(0) == "100000000077");
  CHECK(one.text(1) == "住民 77");
  CHECK(one.bytes(2) == Bytes{77, 0x00, '\t'});
}

TEST_CASE("copy_rows escapes what COPY's text format would misread") {
  const std::string engine = JUKI_EACH_STORE_ENGINE();
  CAPTURE(engine);
  ScratchStore store(engine);
  auto db = store.connect();
  ok(db.execute_script(kResidents));
  const std::vector<std::string> awkward = {
      "tab\there", "new\nline", "carriage\rreturn", "back\\slash", "\\N", "\\.", "",
      "\\x00",     "end\\",     "'quote\"",         "\t\n\\"};
  std::vector<std::vector<Value>> rows;
  std::int64_t id = 0;
  for (const auto& text : awkward) {
    rows.push_back({++id, text, nullptr, text, Bytes(text.begin(), text.end())});
  }
  rows.push_back({++id, std::string("empty bytes"), 0, nullptr, Bytes{}});
  CHECK(ok(db.copy_rows("residents", kColumns, rows)) == id);

  const Rows back = ok(db.query("SELECT id, code, born, name, photo FROM residents ORDER BY id"));
  REQUIRE(back.size() == rows.size());
  for (std::size_t i = 0; i < awkward.size(); ++i) {
    CAPTURE(awkward[i]);
    CHECK(back[i].text(1) == awkward[i]);
    CHECK(back[i].is_null(2));
    CHECK(back[i].text(3) == awkward[i]);
    CHECK(back[i].bytes(4) == Bytes(awkward[i].begin(), awkward[i].end()));
  }
  CHECK(back.back().integer(2) == 0);
  CHECK(back.back().is_null(3));
  CHECK_FALSE(back.back().is_null(4));
  CHECK(back.back().bytes(4).empty());
}

TEST_CASE("a copy_rows that fails loads nothing, alone or in a transaction") {
  const std::string engine = JUKI_EACH_STORE_ENGINE();
  CAPTURE(engine);
  ScratchStore store(engine);
  auto db = store.connect();
  ok(db.execute_script(kResidents));
  auto count = [&] { return ok(db.query_one("SELECT count(*) FROM residents")).integer(0); };
  auto rows_until = [](std::int64_t last, auto&& bad_row) {
    return [last, bad_row, next = std::int64_t{0}](CopyRow& row) mutable {
      if (next == last) return false;
      ++next;
      if (next == last) {
        bad_row(row, next);
      } else {
        row.integer(next), row.text("c"), row.null(), row.null(), row.null();
      }
      return true;
    };
  };

  SECTION("a duplicate key in the last row") {
    auto failed = db.copy_rows("residents", kColumns, rows_until(5000, [](CopyRow& row, auto) {
                                 row.integer(1), row.text("dup"), row.null(), row.null(),
                                     row.null();
                               }));
    REQUIRE_FALSE(failed);
    CHECK(failed.error().kind == Error::Kind::constraint);
    CHECK(count() == 0);
  }
  SECTION("a row with too few fields") {
    auto failed = db.copy_rows("residents", kColumns, rows_until(3000, [](CopyRow& row, auto n) {
                                 row.integer(n), row.text("short");
                               }));
    REQUIRE_FALSE(failed);
    CHECK(failed.error().kind == Error::Kind::invalid);
    CHECK_THAT(failed.error().message, Catch::Contains("row 3000 has 2 fields for 5 columns"));
    CHECK(count() == 0);
  }
  SECTION("text that is not UTF-8") {
    auto failed = db.copy_rows("residents", kColumns, rows_until(10, [](CopyRow& row, auto n) {
                                 row.integer(n), row.text("\xFF\xFE"), row.null(), row.null(),
                                     row.null();
                               }));
    REQUIRE_FALSE(failed);
    CHECK(failed.error().kind == Error::Kind::invalid);
    CHECK(count() == 0);
  }
  SECTION("inside a transaction: part of it, doomed with it") {
    auto tx = ok(db.begin());
    ok(db.execute("INSERT INTO residents (id, code) VALUES (100000, 'before')"));
    CHECK(ok(db.copy_rows("residents", kColumns, rows_until(100, [](CopyRow& row, auto n) {
                            row.integer(n), row.text("last"), row.null(), row.null(), row.null();
                          }))) == 100);
    CHECK(count() == 101);
    auto failed = db.copy_rows("residents", kColumns, rows_until(3, [](CopyRow& row, auto) {
                                 row.integer(1), row.text("dup"), row.null(), row.null(),
                                     row.null();
                               }));
    REQUIRE_FALSE(failed);
    CHECK_FALSE(tx.commit());
    CHECK(count() == 0);
  }
  SECTION("names that are not plain identifiers never reach SQL") {
    for (const auto& [table, column] : std::vector<std::pair<std::string_view, std::string_view>>{
             {"residents; DROP TABLE residents", "id"},
             {"residents", "id) VALUES (1); --"},
             {"", "id"},
             {"residents", "\"id\""}}) {
      const std::vector<std::string_view> columns = {column};
      auto refused = db.copy_rows(table, columns, [](CopyRow&) { return false; });
      REQUIRE_FALSE(refused);
      CHECK(refused.error().kind == Error::Kind::invalid);
    }
    const std::vector<std::string_view> none;
    CHECK_FALSE(db.copy_rows("residents", none, [](CopyRow&) { return false; }));
    CHECK(count() == 0);
  }
  SECTION("a table that does not exist") {
    auto failed = db.copy_rows("nowhere", kColumns, [](CopyRow&) { return false; });
    REQUIRE_FALSE(failed);
    CHECK(failed.error().kind == Error::Kind::invalid);
    CHECK_THAT(failed.error().message, Catch::Contains("nowhere"));
  }
}
