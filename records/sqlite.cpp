#include "records/sqlite.hpp"

#include <sqlite3.h>

#include <utility>

namespace juki::sqlite {

namespace {

Error error_of(sqlite3* db, int rc) {
  return {rc, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)};
}

}  // namespace

// ------------------------------------------------------------ Statement

void Statement::Finalizer::operator()(sqlite3_stmt* s) const {
  sqlite3_finalize(s);
}

void Statement::keep_bind_error(int rc) {
  if (rc != SQLITE_OK && !bind_error_) bind_error_ = error_of(sqlite3_db_handle(stmt_.get()), rc);
}

Statement& Statement::bind(int index, std::int64_t value) {
  keep_bind_error(sqlite3_bind_int64(stmt_.get(), index, value));
  return *this;
}

Statement& Statement::bind(int index, std::string_view value) {
  keep_bind_error(sqlite3_bind_text64(stmt_.get(), index, value.data(), value.size(),
                                      SQLITE_TRANSIENT, SQLITE_UTF8));
  return *this;
}

Statement& Statement::bind(int index, std::nullptr_t) {
  keep_bind_error(sqlite3_bind_null(stmt_.get(), index));
  return *this;
}

Result<bool, Error> Statement::step() {
  if (bind_error_) return unexpected(*bind_error_);
  const int rc = sqlite3_step(stmt_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return unexpected(error_of(sqlite3_db_handle(stmt_.get()), rc));
}

Result<void, Error> Statement::run() {
  for (;;) {
    auto row = step();
    if (!row) return unexpected(row.error());
    if (!*row) return {};
  }
}

void Statement::reset() {
  // The code sqlite3_reset returns is the last step's, already reported.
  sqlite3_reset(stmt_.get());
  sqlite3_clear_bindings(stmt_.get());
  bind_error_.reset();
}

bool Statement::is_null(int column) const {
  return sqlite3_column_type(stmt_.get(), column) == SQLITE_NULL;
}

std::int64_t Statement::integer(int column) const {
  return sqlite3_column_int64(stmt_.get(), column);
}

std::string Statement::text(int column) const {
  const auto* p = sqlite3_column_text(stmt_.get(), column);
  // The size after the text pointer, as the SQLite documentation asks.
  const auto n = static_cast<std::size_t>(sqlite3_column_bytes(stmt_.get(), column));
  return p ? std::string(reinterpret_cast<const char*>(p), n) : std::string();
}

std::optional<std::int64_t> Statement::optional_integer(int column) const {
  if (is_null(column)) return std::nullopt;
  return integer(column);
}

std::optional<std::string> Statement::optional_text(int column) const {
  if (is_null(column)) return std::nullopt;
  return text(column);
}

// ------------------------------------------------------------ Database

void Database::Closer::operator()(sqlite3* db) const {
  // _v2: statements still alive keep the connection until they are finalized.
  sqlite3_close_v2(db);
}

Result<Database, Error> Database::open(const std::string& path, OpenMode mode) {
  int flags = SQLITE_OPEN_READWRITE;
  if (mode == OpenMode::create) flags |= SQLITE_OPEN_CREATE;
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  Database db(raw);  // closes `raw` on every path, also when the open failed
  if (rc != SQLITE_OK) return unexpected(error_of(raw, rc));
  sqlite3_extended_result_codes(raw, 1);
  return db;
}

Result<void, Error> Database::exec(const std::string& sql) {
  const int rc = sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return unexpected(error_of(db_.get(), rc));
  return {};
}

Result<Statement, Error> Database::prepare(std::string_view sql) {
  sqlite3_stmt* s = nullptr;
  const int rc =
      sqlite3_prepare_v2(db_.get(), sql.data(), static_cast<int>(sql.size()), &s, nullptr);
  if (rc != SQLITE_OK) return unexpected(error_of(db_.get(), rc));
  return Statement(s);
}

std::int64_t Database::last_insert_rowid() const {
  return sqlite3_last_insert_rowid(db_.get());
}

// ------------------------------------------------------------ Transaction

Result<Transaction, Error> Transaction::immediate(Database& db) {
  if (auto r = db.exec("BEGIN IMMEDIATE"); !r) return unexpected(r.error());
  return Transaction(db.native());
}

Result<void, Error> Transaction::commit() {
  const int rc = sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
  // A failed COMMIT leaves the transaction open: the destructor rolls it back.
  if (rc != SQLITE_OK) return unexpected(error_of(db_, rc));
  db_ = nullptr;
  return {};
}

Transaction::Transaction(Transaction&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}

Transaction::~Transaction() {
  // SQLite may have rolled back already (after SQLITE_FULL, say): then there
  // is nothing to roll back, and ROLLBACK would fail.
  if (db_ && !sqlite3_get_autocommit(db_)) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

}  // namespace juki::sqlite
