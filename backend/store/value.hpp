// The vocabulary of the store layer: its errors, the values that go into SQL
// parameters and come back in rows. The same on both engines, so that a
// server's store reads the same whichever engine is under it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "common/bytes.hpp"

namespace juki::backend::store {

struct Error {
  enum class Kind {
    constraint,             // a UNIQUE, PRIMARY KEY, NOT NULL, CHECK or FOREIGN KEY refusal
    busy_or_serialization,  // retryable: a lock not granted in time, a serialization failure,
                            // a deadlock, a pool with no free connection
    connection,             // the database could not be opened or reached, or was lost
    schema,                 // the database's schema version is not one this program knows
    invalid,                // the caller's SQL, parameters or arguments are wrong
    other,
  };
  Kind kind = Kind::other;
  // "<engine>: <the SQL's first words>: <what the engine said>", or for errors
  // not about one statement "<engine>: <what happened>".
  std::string message;

  bool retryable() const { return kind == Kind::busy_or_serialization; }
};

// "constraint", "busy_or_serialization", ...: for messages and logs.
std::string_view kind_name(Error::Kind kind);

// A parameter or a column's value. Text must be valid UTF-8 without NUL
// (PostgreSQL's rule, applied on SQLite too so that both refuse the same);
// anything else is Bytes (BLOB in SQLite, BYTEA in PostgreSQL). There is no
// floating point: a REAL or NUMERIC column reads back as its text.
using Value = std::variant<std::nullptr_t, std::int64_t, std::string, Bytes>;

template <class T>
Value nullable(const std::optional<T>& value) {
  return value ? Value(*value) : Value(nullptr);
}

// true when `text` is valid UTF-8 (no overlong forms, no surrogates) without NUL.
bool is_valid_text(std::string_view text);

// A statement's parameters, $1 first: execute(sql, {id, name}). It only
// views the values, which live for the call.
class Params {
 public:
  Params() = default;
  Params(std::initializer_list<Value> values)  // NOLINT: implicit by design
      : values_(values.begin(), values.size()) {}
  Params(std::span<const Value> values) : values_(values) {}     // NOLINT
  Params(const std::vector<Value>& values) : values_(values) {}  // NOLINT

  std::span<const Value> values() const { return values_; }

 private:
  std::span<const Value> values_;
};

// Asking a column for a type it does not hold is a bug of the calling code (its
// SQL and its reading disagree), not a database condition, so it throws.
class ColumnTypeError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

// One row of a result, its columns in the SELECT's order, from 0. An engine
// gives integers (and PostgreSQL's booleans, as 0 and 1) as std::int64_t,
// BLOB/BYTEA as Bytes, NULL as nullptr and everything else as text.
class Row {
 public:
  Row() = default;
  explicit Row(std::vector<Value> values) : values_(std::move(values)) {}

  std::size_t size() const { return values_.size(); }
  const Value& value(std::size_t column) const;

  bool is_null(std::size_t column) const;
  // An integer, or text that is exactly a decimal integer (PostgreSQL gives
  // sum() over BIGINT as NUMERIC, whose text it is).
  std::int64_t integer(std::size_t column) const;
  const std::string& text(std::size_t column) const;
  const Bytes& bytes(std::size_t column) const;
  // nullopt for NULL, otherwise as above.
  std::optional<std::int64_t> optional_integer(std::size_t column) const;
  std::optional<std::string> optional_text(std::size_t column) const;
  std::optional<Bytes> optional_bytes(std::size_t column) const;

  friend bool operator==(const Row&, const Row&) = default;

 private:
  std::vector<Value> values_;
};

using Rows = std::vector<Row>;

}  // namespace juki::backend::store
