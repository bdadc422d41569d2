// The SQLite engine: one sqlite3 connection in multi-thread mode (one thread
// at a time uses it), statements prepared once per SQL text and kept.
#include <sqlite3.h>

#include <string>
#include <unordered_map>
#include <utility>

#include "backend/store/engine.hpp"
#include "backend/store/sql_text.hpp"

namespace juki::backend::store::detail {

namespace {

constexpr std::string_view kName = "sqlite";

Error::Kind kind_of(int rc) {
  switch (rc & 0xFF) {
    case SQLITE_CONSTRAINT:
      return Error::Kind::constraint;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Error::Kind::busy_or_serialization;
    case SQLITE_CANTOPEN:
    case SQLITE_NOTADB:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return Error::Kind::connection;
    case SQLITE_ERROR:  // syntax, no such table or column, ...
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
    case SQLITE_TOOBIG:
      return Error::Kind::invalid;
    default:
      return Error::Kind::other;
  }
}

struct StatementFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using StatementPtr = std::unique_ptr<sqlite3_stmt, StatementFinalizer>;

struct Prepared {
  StatementPtr statement;
  int parameters = 0;
};

// Heterogeneous lookup, so that a call's string_view finds its statement
// without building a string.
struct TextHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// After a statement ran: ready to run again, and no longer pointing at the
// caller's parameter values (they are bound without copying).
class ResetOnExit {
 public:
  explicit ResetOnExit(sqlite3_stmt* s) : s_(s) {}
  ~ResetOnExit() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;

 private:
  sqlite3_stmt* s_;
};

class SqliteEngine final : public Engine {
 public:
  explicit SqliteEngine(sqlite3* db) : db_(db) {}
  ~SqliteEngine() override {
    cache_.clear();  // statements first
    sqlite3_close_v2(db_);
  }
  SqliteEngine(const SqliteEngine&) = delete;
  SqliteEngine& operator=(const SqliteEngine&) = delete;

  std::string_view name() const override { return kName; }

  Error error(int rc, std::string_view sql) const {
    return error_about(kind_of(rc), kName, sql, sqlite3_errmsg(db_));
  }

  // The statement for `sql`, from the cache or prepared now (and kept while
  // the cache has room; `once` then owns it for this call only).
  Result<Prepared*, Error> prepared(std::string_view sql, Prepared& once) {
    if (auto it = cache_.find(sql); it != cache_.end()) return &it->second;
    auto text = translate(sql, Dialect::sqlite);
    if (!text) return unexpected(error_about(Error::Kind::invalid, kName, sql, text.error()));
    const bool keep = cache_.size() < kStatementCacheLimit;
    sqlite3_stmt* raw = nullptr;
    const char* tail = nullptr;
    const int rc = sqlite3_prepare_v3(db_, text->sql.c_str(), static_cast<int>(text->sql.size()),
                                      keep ? SQLITE_PREPARE_PERSISTENT : 0, &raw, &tail);
    StatementPtr statement(raw);
    if (rc != SQLITE_OK) return unexpected(error(rc, sql));
    if (!statement) {
      return unexpected(error_about(Error::Kind::invalid, kName, sql, "no statement in the text"));
    }
    if (!only_whitespace_or_comments(tail)) {
      return unexpected(error_about(Error::Kind::invalid, kName, sql,
                                    "more than one statement (use execute_script)"));
    }
    Prepared entry{std::move(statement), text->parameters};
    if (!keep) {
      once = std::move(entry);
      return &once;
    }
    return &cache_.emplace(std::string(sql), std::move(entry)).first->second;
  }

  Result<std::int64_t, Error> run(std::string_view sql, std::span<const Value> params,
                                  Rows* rows) override {
    Prepared once;
    auto found = prepared(sql, once);
    if (!found) return unexpected(found.error());
    sqlite3_stmt* s = (*found)->statement.get();
    if (static_cast<int>(params.size()) != (*found)->parameters) {
      return unexpected(error_about(Error::Kind::invalid, kName, sql,
                                    "takes " + std::to_string((*found)->parameters) +
                                        " parameters, " + std::to_string(params.size()) +
                                        " given"));
    }
    ResetOnExit reset(s);
    for (std::size_t i = 0; i < params.size(); ++i) {
      if (auto bound = bind(s, static_cast<int>(i + 1), params[i], sql); !bound) {
        return unexpected(bound.error());
      }
    }
    const auto changes_before = sqlite3_total_changes64(db_);
    for (;;) {
      const int rc = sqlite3_step(s);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return unexpected(error(rc, sql));
      if (rows) rows->push_back(read_row(s));
    }
    // sqlite3_changes64 keeps the last INSERT/UPDATE/DELETE's count; it is
    // this statement's only if this statement changed something.
    return sqlite3_total_changes64(db_) == changes_before ? 0 : sqlite3_changes64(db_);
  }

  Result<void, Error> run_script(std::string_view sql, bool in_transaction) override {
    auto text = translate(sql, Dialect::sqlite);
    if (!text) return unexpected(error_about(Error::Kind::invalid, kName, sql, text.error()));
    if (text->parameters > 0) {
      return unexpected(
          error_about(Error::Kind::invalid, kName, sql, "a script takes no parameters"));
    }
    if (!in_transaction) {
      if (auto begun = begin(Isolation::serializable); !begun) return begun;
    }
    if (const int rc = sqlite3_exec(db_, text->sql.c_str(), nullptr, nullptr, nullptr);
        rc != SQLITE_OK) {
      Error failed = error(rc, sql);
      if (!in_transaction) rollback();
      return unexpected(std::move(failed));
    }
    return in_transaction ? Result<void, Error>() : commit();
  }

  Result<void, Error> begin(Isolation) override {
    // Always serializable; IMMEDIATE takes the write lock now (waiting up to
    // the busy timeout) rather than failing at the first write.
    if (const int rc = sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
        rc != SQLITE_OK) {
      return unexpected(error(rc, "BEGIN IMMEDIATE"));
    }
    return {};
  }

  Result<void, Error> commit() override {
    if (const int rc = sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr); rc != SQLITE_OK) {
      Error failed = error(rc, "COMMIT");
      rollback();  // a failed COMMIT leaves the transaction open
      return unexpected(std::move(failed));
    }
    return {};
  }

  void rollback() noexcept override {
    // SQLite may have rolled back by itself (after SQLITE_FULL, say).
    if (!sqlite3_get_autocommit(db_)) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }

  Result<std::int64_t, Error> copy(std::string_view table,
                                   std::span<const std::string_view> columns,
                                   const RowProducer& next_row, bool in_transaction) override;

  bool usable() const override { return true; }
  std::size_t cached_statements() const override { return cache_.size(); }

  sqlite3* db() const { return db_; }

 private:
  static bool only_whitespace_or_comments(const char* tail) {
    std::string_view rest(tail ? tail : "");
    while (!rest.empty()) {
      const char c = rest.front();
      if (c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == ';') {
        rest.remove_prefix(1);
      } else if (rest.starts_with("--")) {
        const auto eol = rest.find('\n');
        rest = eol == std::string_view::npos ? std::string_view() : rest.substr(eol);
      } else if (rest.starts_with("/*")) {
        const auto close = rest.find("*/");
        rest = close == std::string_view::npos ? std::string_view() : rest.substr(close + 2);
      } else {
        return false;
      }
    }
    return true;
  }

  Result<void, Error> bind(sqlite3_stmt* s, int index, const Value& v, std::string_view sql) {
    int rc = SQLITE_OK;
    switch (v.index()) {
      case 0:
        rc = sqlite3_bind_null(s, index);
        break;
      case 1:
        rc = sqlite3_bind_int64(s, index, std::get<std::int64_t>(v));
        break;
      case 2: {
        const auto& text = std::get<std::string>(v);
        if (!is_valid_text(text)) {
          return unexpected(error_about(Error::Kind::invalid, kName, sql,
                                        "parameter $" + std::to_string(index) +
                                            " is not valid UTF-8 text without NUL (use Bytes)"));
        }
        // SQLITE_STATIC: the value outlives the statement's run (ResetOnExit).
        rc = sqlite3_bind_text64(s, index, text.c_str(), text.size(), SQLITE_STATIC, SQLITE_UTF8);
        break;
      }
      default: {
        const auto& bytes = std::get<Bytes>(v);
        // A null pointer would bind NULL: an empty value is a zero-length blob.
        rc = bytes.empty()
                 ? sqlite3_bind_zeroblob(s, index, 0)
                 : sqlite3_bind_blob64(s, index, bytes.data(), bytes.size(), SQLITE_STATIC);
        break;
      }
    }
    if (rc != SQLITE_OK) return unexpected(error(rc, sql));
    return {};
  }

  static Row read_row(sqlite3_stmt* s) {
    const int n = sqlite3_column_count(s);
    std::vector<Value> values;
    values.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
      switch (sqlite3_column_type(s, i)) {
        case SQLITE_NULL:
          values.emplace_back(nullptr);
          break;
        case SQLITE_INTEGER:
          values.emplace_back(static_cast<std::int64_t>(sqlite3_column_int64(s, i)));
          break;
        case SQLITE_BLOB: {
          const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(s, i));
          const auto size = static_cast<std::size_t>(sqlite3_column_bytes(s, i));
          values.emplace_back(p ? Bytes(p, p + size) : Bytes());
          break;
        }
        default: {  // TEXT, and FLOAT as its text
          const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
          const auto size = static_cast<std::size_t>(sqlite3_column_bytes(s, i));
          values.emplace_back(p ? std::string(p, size) : std::string());
          break;
        }
      }
    }
    return Row(std::move(values));
  }

  sqlite3* db_;
  std::unordered_map<std::string, Prepared, TextHash, std::equal_to<>> cache_;
};

// Collects a row's fields, text and bytes copied into one buffer reused from
// row to row (the producer's views may be temporaries), then binds them
// without another copy: no allocation per field.
class SqliteCopyRow final : public CopyRow {
 public:
  explicit SqliteCopyRow(std::size_t columns) { fields_.reserve(columns); }

  void integer(std::int64_t value) override { fields_.push_back({Field::integer, value, 0, 0}); }
  void text(std::string_view value) override {
    if (!is_valid_text(value) && problem_.empty()) {
      problem_ = "a text field that is not valid UTF-8 without NUL";
    }
    fields_.push_back({Field::text, 0, buffer_.size(), value.size()});
    buffer_.append(value);
  }
  void bytes(ByteView value) override {
    fields_.push_back({Field::bytes, 0, buffer_.size(), value.size()});
    buffer_.append(reinterpret_cast<const char*>(value.data()), value.size());
  }
  void null() override { fields_.push_back({Field::null, 0, 0, 0}); }

  void start() {
    fields_.clear();
    buffer_.clear();
    problem_.clear();
  }
  std::size_t fields() const { return fields_.size(); }
  const std::string& problem() const { return problem_; }

  // Binds the row's fields to ?1, ?2, ...; valid until the next start().
  int bind(sqlite3_stmt* s) const {
    for (std::size_t i = 0; i < fields_.size(); ++i) {
      const Field& f = fields_[i];
      const int index = static_cast<int>(i + 1);
      const char* data = buffer_.data() + f.offset;
      int rc = SQLITE_OK;
      switch (f.kind) {
        case Field::integer:
          rc = sqlite3_bind_int64(s, index, f.number);
          break;
        case Field::text:
          rc = sqlite3_bind_text64(s, index, data, f.size, SQLITE_STATIC, SQLITE_UTF8);
          break;
        case Field::bytes:
          // A null pointer would bind NULL: an empty value is a zero-length blob.
          rc = f.size == 0 ? sqlite3_bind_zeroblob(s, index, 0)
                           : sqlite3_bind_blob64(s, index, data, f.size, SQLITE_STATIC);
          break;
        case Field::null:
          rc = sqlite3_bind_null(s, index);
          break;
      }
      if (rc != SQLITE_OK) return rc;
    }
    return SQLITE_OK;
  }

 private:
  struct Field {
    enum Kind { integer, text, bytes, null } kind;
    std::int64_t number;
    std::size_t offset;  // into buffer_, for text and bytes
    std::size_t size;
  };
  std::vector<Field> fields_;
  std::string buffer_;
  std::string problem_;
};

Result<std::int64_t, Error> SqliteEngine::copy(std::string_view table,
                                               std::span<const std::string_view> columns,
                                               const RowProducer& next_row, bool in_transaction) {
  auto head = copy_head(kName, "INSERT INTO", table, columns);
  if (!head) return unexpected(head.error());
  std::string sql = *head + " VALUES (";
  for (std::size_t i = 1; i <= columns.size(); ++i) {
    sql += (i > 1 ? ", ?" : "?") + std::to_string(i);
  }
  sql += ')';
  sqlite3_stmt* raw = nullptr;
  if (const int rc =
          sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()), 0, &raw, nullptr);
      rc != SQLITE_OK) {
    sqlite3_finalize(raw);
    return unexpected(error(rc, sql));
  }
  StatementPtr statement(raw);
  if (!in_transaction) {
    if (auto begun = begin(Isolation::serializable); !begun) return unexpected(begun.error());
  }
  // Whatever fails below leaves nothing of this load behind.
  auto fail = [&](Error e) -> Result<std::int64_t, Error> {
    if (!in_transaction) rollback();
    return unexpected(std::move(e));
  };
  const std::size_t width = columns.size();
  SqliteCopyRow row(width);
  std::int64_t loaded = 0;
  for (;;) {
    row.start();
    if (!next_row(row)) {
      if (row.fields() != 0) {
        return fail(error_about(Error::Kind::invalid, kName, sql,
                                "the producer added fields and then said there were no more rows"));
      }
      break;
    }
    if (row.fields() != width) {
      return fail(error_about(Error::Kind::invalid, kName, sql,
                              "row " + std::to_string(loaded + 1) + " has " +
                                  std::to_string(row.fields()) + " fields for " +
                                  std::to_string(width) + " columns"));
    }
    if (!row.problem().empty()) {
      return fail(error_about(Error::Kind::invalid, kName, sql,
                              "row " + std::to_string(loaded + 1) + ": " + row.problem()));
    }
    if (const int bound = row.bind(raw); bound != SQLITE_OK) return fail(error(bound, sql));
    const int rc = sqlite3_step(raw);
    sqlite3_reset(raw);
    if (rc != SQLITE_DONE) {
      Error e = error(rc, sql);
      e.message += " (row " + std::to_string(loaded + 1) + ")";
      return fail(std::move(e));
    }
    ++loaded;
  }
  if (!in_transaction) {
    if (auto committed = commit(); !committed) return unexpected(committed.error());
  }
  return loaded;
}

}  // namespace

Result<std::unique_ptr<Engine>, Error> open_sqlite(std::string_view path,
                                                   const ConnectOptions& options) {
  if (path.empty()) {
    return unexpected(Error{Error::Kind::invalid,
                            "sqlite: no file in the URL (sqlite:/path/to/file.db or "
                            "sqlite::memory:)"});
  }
  const std::string file(path);
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(
      file.c_str(), &raw,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE,
      nullptr);
  // The engine owns `raw` from here, also when the open failed.
  auto engine = std::make_unique<SqliteEngine>(raw);
  if (rc != SQLITE_OK) {
    return unexpected(Error{kind_of(rc), "sqlite: cannot open " + file + ": " +
                                             (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc))});
  }
  sqlite3_busy_timeout(raw, static_cast<int>(options.busy_timeout.count()));
  // WAL: readers never wait for the writer; FULL: a commit survives a power
  // cut; the foreign keys the schemas declare are enforced.
  const auto setting = [&](const char* pragma) -> Result<void, Error> {
    if (const int set = sqlite3_exec(raw, pragma, nullptr, nullptr, nullptr); set != SQLITE_OK) {
      return unexpected(Error{kind_of(set), "sqlite: cannot open " + file + ": " + pragma + ": " +
                                                sqlite3_errmsg(raw)});
    }
    return {};
  };
  if (file != ":memory:") {
    // journal_mode answers with the mode it could set.
    sqlite3_stmt* pragma = nullptr;
    int set = sqlite3_prepare_v2(raw, "PRAGMA journal_mode=WAL", -1, &pragma, nullptr);
    StatementPtr statement(pragma);
    if (set == SQLITE_OK) set = sqlite3_step(pragma);
    if (set != SQLITE_ROW) {
      return unexpected(Error{
          kind_of(set),
          "sqlite: cannot open " + file + ": PRAGMA journal_mode=WAL: " + sqlite3_errmsg(raw)});
    }
    const auto* mode = reinterpret_cast<const char*>(sqlite3_column_text(pragma, 0));
    if (!mode || std::string_view(mode) != "wal") {
      return unexpected(Error{Error::Kind::connection, "sqlite: cannot open " + file +
                                                           ": WAL refused (journal mode " +
                                                           (mode ? mode : "unknown") + ")"});
    }
  }
  for (const char* pragma : {"PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON"}) {
    if (auto set = setting(pragma); !set) return unexpected(set.error());
  }
  return std::unique_ptr<Engine>(std::move(engine));
}

}  // namespace juki::backend::store::detail
