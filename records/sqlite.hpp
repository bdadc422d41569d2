// A minimal RAII layer over the SQLite C API, errors as values: a connection,
// prepared statements and an immediate transaction that rolls back unless
// committed. Nothing of the issuance records is here, so a backend can reuse
// it. Each object belongs to one thread at a time; use one Database per
// thread (SQLite serializes the file between connections).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace juki::sqlite {

struct Error {
  int code = 0;  // the SQLite extended result code, e.g. SQLITE_CONSTRAINT_TRIGGER
  std::string message;
};

class Statement {
 public:
  // Binding is chained; the first failed bind is kept and returned by the
  // next step() or run(), so that a statement is bound without a check per
  // parameter. Indexes start at 1, as in SQL's ?1. Text is copied.
  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, std::string_view value);
  Statement& bind(int index, std::nullptr_t);
  Statement& bind(int index, char) = delete;  // a char would bind as its code: use string_view
  template <class T>
  Statement& bind(int index, const std::optional<T>& value) {
    return value ? bind(index, *value) : bind(index, nullptr);
  }

  // true: a row is ready for the column accessors; false: done.
  Result<bool, Error> step();
  // Steps to the end, for statements whose rows are not wanted.
  Result<void, Error> run();
  // Ready to run again, bindings cleared.
  void reset();

  bool is_null(int column) const;
  std::int64_t integer(int column) const;
  std::string text(int column) const;
  std::optional<std::int64_t> optional_integer(int column) const;
  std::optional<std::string> optional_text(int column) const;

 private:
  friend class Database;
  struct Finalizer {
    void operator()(sqlite3_stmt* s) const;
  };
  explicit Statement(sqlite3_stmt* s) : stmt_(s) {}
  void keep_bind_error(int rc);
  std::unique_ptr<sqlite3_stmt, Finalizer> stmt_;
  std::optional<Error> bind_error_;
};

enum class OpenMode { existing, create };  // create: make the file if it is missing

class Database {
 public:
  // Extended result codes are on, so that Error::code tells constraint kinds apart.
  static Result<Database, Error> open(const std::string& path, OpenMode mode);

  // One or more statements whose rows, if any, are not wanted.
  Result<void, Error> exec(const std::string& sql);
  Result<Statement, Error> prepare(std::string_view sql);
  std::int64_t last_insert_rowid() const;
  sqlite3* native() const { return db_.get(); }

 private:
  struct Closer {
    void operator()(sqlite3* db) const;
  };
  explicit Database(sqlite3* db) : db_(db) {}
  std::unique_ptr<sqlite3, Closer> db_;
};

// BEGIN IMMEDIATE: takes the write lock at once (waiting up to the busy
// timeout), so a transaction that reads and then writes never fails half-way
// on another connection's lock. Rolls back on destruction unless committed.
class Transaction {
 public:
  static Result<Transaction, Error> immediate(Database& db);
  Result<void, Error> commit();

  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

 private:
  explicit Transaction(sqlite3* db) : db_(db) {}
  sqlite3* db_;  // null once committed or moved from
};

}  // namespace juki::sqlite
