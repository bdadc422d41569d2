// Inside the store layer: what each engine implements (sqlite_engine.cpp,
// postgresql_engine.cpp), and the session above it that keeps the rules both
// share (one transaction at a time, an error dooms the transaction).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "backend/store/connection.hpp"
#include "backend/store/value.hpp"
#include "common/result.hpp"

namespace juki::backend::store::detail {

// Beyond this many cached statements, new SQL texts are prepared for one use
// only, so that generated SQL cannot grow a connection without bound.
inline constexpr std::size_t kStatementCacheLimit = 512;

class Engine {
 public:
  virtual ~Engine() = default;
  virtual std::string_view name() const = 0;

  // One statement. `rows`, when given, receives its rows. Gives the number of
  // rows an INSERT, UPDATE or DELETE changed, 0 otherwise.
  virtual Result<std::int64_t, Error> run(std::string_view sql, std::span<const Value> params,
                                          Rows* rows) = 0;
  // Statements without parameters; all or nothing (the engine opens a
  // transaction when `in_transaction` is false).
  virtual Result<void, Error> run_script(std::string_view sql, bool in_transaction) = 0;

  virtual Result<void, Error> begin(Isolation isolation) = 0;
  // Ends the transaction either way: committed, or rolled back with the error.
  virtual Result<void, Error> commit() = 0;
  // Rolls back whatever transaction the connection has open, if any.
  virtual void rollback() noexcept = 0;

  virtual Result<std::int64_t, Error> copy(std::string_view table,
                                           std::span<const std::string_view> columns,
                                           const RowProducer& next_row, bool in_transaction) = 0;

  virtual bool usable() const = 0;
  virtual std::size_t cached_statements() const = 0;
};

Result<std::unique_ptr<Engine>, Error> open_sqlite(std::string_view path,
                                                   const ConnectOptions& options);
Result<std::unique_ptr<Engine>, Error> open_postgresql(std::string_view conninfo,
                                                       const ConnectOptions& options);

class Session {
 public:
  explicit Session(std::unique_ptr<Engine> engine) : engine_(std::move(engine)) {}

  Engine& engine() { return *engine_; }
  const Engine& engine() const { return *engine_; }

  bool in_transaction() const { return in_transaction_; }
  void opened() {
    in_transaction_ = true;
    failure_.reset();
  }
  // Refuses work in a transaction an earlier error doomed.
  Result<void, Error> usable_for(std::string_view what) const;
  // Keeps the first error inside a transaction, which dooms it.
  template <class T>
  Result<T, Error> note(Result<T, Error> result) {
    if (!result && in_transaction_ && !failure_) failure_ = result.error();
    return result;
  }
  Result<void, Error> commit();
  void rollback() noexcept;

 private:
  std::unique_ptr<Engine> engine_;
  bool in_transaction_ = false;
  std::optional<Error> failure_;
};

// "<engine>: \"<the SQL's first words>\": <detail>".
std::string describe(std::string_view engine, std::string_view sql, std::string_view detail);
Error error_about(Error::Kind kind, std::string_view engine, std::string_view sql,
                  std::string_view detail);

// A table or column name copy_rows accepts: [A-Za-z_][A-Za-z0-9_]*, or
// schema.table for the table. Plain identifiers need no quoting on either
// engine, so nothing of the name reaches SQL unchecked.
bool is_plain_identifier(std::string_view name, bool allow_schema);
// "INSERT INTO t (a, b)" / "COPY t (a, b)": the statement's head for copy_rows.
Result<std::string, Error> copy_head(std::string_view engine, std::string_view verb,
                                     std::string_view table,
                                     std::span<const std::string_view> columns);

}  // namespace juki::backend::store::detail
