// The PostgreSQL engine, over libpq: statements prepared once per SQL text
// (and kind of parameters) as named statements; integers and bytes go as
// binary parameters, text as text; results come as text and are decoded by
// column type (integers, booleans as 0/1, BYTEA as bytes, the rest as text).
#include <libpq-fe.h>

#include <array>
#include <charconv>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "backend/store/engine.hpp"
#include "backend/store/sql_text.hpp"

namespace juki::backend::store::detail {

namespace {

constexpr std::string_view kName = "postgresql";

// Type OIDs (pg_type.h; fixed since forever).
constexpr Oid kBool = 16;
constexpr Oid kBytea = 17;
constexpr Oid kInt8 = 20;
constexpr Oid kInt2 = 21;
constexpr Oid kInt4 = 23;
constexpr Oid kOid = 26;

Error::Kind kind_of(std::string_view sqlstate) {
  if (sqlstate.size() != 5) return Error::Kind::other;
  const std::string_view family = sqlstate.substr(0, 2);
  if (family == "23") return Error::Kind::constraint;
  if (sqlstate == "40001" || sqlstate == "40P01" || sqlstate == "55P03") {
    return Error::Kind::busy_or_serialization;  // serialization, deadlock, lock not available
  }
  if (family == "08" || sqlstate == "57P01" || sqlstate == "57P02" || sqlstate == "57P03" ||
      sqlstate == "53300" || sqlstate == "3D000" || family == "28") {
    return Error::Kind::connection;  // lost, shut down, too many, no such database, auth
  }
  if (family == "42" || family == "22" || family == "26" || family == "0A" || family == "25" ||
      family == "21" || family == "2B" || family == "44") {
    return Error::Kind::invalid;
  }
  return Error::Kind::other;
}

std::string trimmed(const char* message) {
  std::string s(message ? message : "");
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

struct ResultClear {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultClear>;

struct TextHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The text of a result's field as a Value, by the column's type.
Value decode(Oid type, const char* text, int length) {
  const std::string_view s(text, static_cast<std::size_t>(length));
  switch (type) {
    case kInt8:
    case kInt4:
    case kInt2:
    case kOid: {
      std::int64_t n = 0;
      const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
      if (ec == std::errc() && end == s.data() + s.size()) return n;
      return std::string(s);
    }
    case kBool:
      return std::int64_t{s == "t" ? 1 : 0};
    case kBytea: {
      // bytea_output is hex (set at connect): \x then two digits a byte.
      Bytes out;
      if (s.size() >= 2 && s[0] == '\\' && s[1] == 'x') {
        out.reserve((s.size() - 2) / 2);
        for (std::size_t i = 2; i + 1 < s.size(); i += 2) {
          out.push_back(static_cast<std::uint8_t>(hex_digit(s[i]) << 4 | hex_digit(s[i + 1])));
        }
      }
      return out;
    }
    default:
      return std::string(s);
  }
}

// COPY's text format: a tab between fields, a newline after each row, \N for
// NULL, and a backslash before the four characters that would mean otherwise.
void append_copy_text(std::string& out, std::string_view text) {
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const char* escape = c == '\\'   ? "\\\\"
                         : c == '\t' ? "\\t"
                         : c == '\n' ? "\\n"
                         : c == '\r' ? "\\r"
                                     : nullptr;
    if (escape) {
      out.append(text.substr(start, i - start));
      out.append(escape);
      start = i + 1;
    }
  }
  out.append(text.substr(start));
}

class PostgresqlEngine final : public Engine {
 public:
  explicit PostgresqlEngine(PGconn* conn) : conn_(conn) {}
  ~PostgresqlEngine() override { PQfinish(conn_); }
  PostgresqlEngine(const PostgresqlEngine&) = delete;
  PostgresqlEngine& operator=(const PostgresqlEngine&) = delete;

  std::string_view name() const override { return kName; }

  // The error a failed (or missing) result stands for.
  Error error(const PGresult* result, std::string_view sql) const {
    if (!result || PQstatus(conn_) == CONNECTION_BAD) {
      return error_about(Error::Kind::connection, kName, sql,
                         "connection lost: " + trimmed(PQerrorMessage(conn_)));
    }
    const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
    const char* primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
    const char* detail = PQresultErrorField(result, PG_DIAG_MESSAGE_DETAIL);
    std::string said = primary ? primary : trimmed(PQresultErrorMessage(result));
    if (detail) said += std::string(" (") + detail + ")";
    if (state) said += std::string(" [SQLSTATE ") + state + "]";
    return error_about(kind_of(state ? state : ""), kName, sql, said);
  }

  Result<std::int64_t, Error> run(std::string_view sql, std::span<const Value> params,
                                  Rows* rows) override {
    // The server fixes each parameter's type when it prepares: integers are
    // int8 and bytes bytea (both sent binary), text and NULL left to the
    // context. A statement is kept per SQL text and kind of its parameters.
    std::string key(sql);
    key += '\0';
    for (const Value& v : params) key += v.index() == 1 ? 'i' : v.index() == 3 ? 'b' : '-';

    std::vector<const char*> values(params.size());
    std::vector<int> lengths(params.size());
    std::vector<int> formats(params.size());
    std::vector<Oid> types(params.size());
    std::vector<std::array<char, 8>> integers(params.size());
    static constexpr char kEmpty = 0;  // an empty value's pointer (null means NULL)
    for (std::size_t i = 0; i < params.size(); ++i) {
      const Value& v = params[i];
      if (const auto* n = std::get_if<std::int64_t>(&v)) {
        auto u = static_cast<std::uint64_t>(*n);
        for (int b = 7; b >= 0; --b, u >>= 8) integers[i][b] = static_cast<char>(u & 0xFF);
        values[i] = integers[i].data();
        lengths[i] = 8;
        formats[i] = 1;
        types[i] = kInt8;
      } else if (const auto* s = std::get_if<std::string>(&v)) {
        if (!is_valid_text(*s)) {
          return unexpected(error_about(Error::Kind::invalid, kName, sql,
                                        "parameter $" + std::to_string(i + 1) +
                                            " is not valid UTF-8 text without NUL (use Bytes)"));
        }
        values[i] = s->c_str();  // text parameters are read up to their NUL
      } else if (const auto* b = std::get_if<Bytes>(&v)) {
        values[i] = b->empty() ? &kEmpty : reinterpret_cast<const char*>(b->data());
        lengths[i] = static_cast<int>(b->size());
        formats[i] = 1;
        types[i] = kBytea;
      }
    }

    const auto n = static_cast<int>(params.size());
    ResultPtr result;
    auto cached = cache_.find(key);
    if (cached == cache_.end()) {
      auto text = translate(sql, Dialect::postgresql);
      if (!text) return unexpected(error_about(Error::Kind::invalid, kName, sql, text.error()));
      if (text->parameters != n) {
        return unexpected(error_about(Error::Kind::invalid, kName, sql,
                                      "takes " + std::to_string(text->parameters) +
                                          " parameters, " + std::to_string(n) + " given"));
      }
      if (cache_.size() >= kStatementCacheLimit) {  // prepared for this call only
        result.reset(PQexecParams(conn_, text->sql.c_str(), n, types.data(), values.data(),
                                  lengths.data(), formats.data(), 0));
        return finish(result.get(), sql, rows);
      }
      std::string name = "juki_" + std::to_string(++statements_made_);
      ResultPtr prepared(PQprepare(conn_, name.c_str(), text->sql.c_str(), n, types.data()));
      if (!prepared || PQresultStatus(prepared.get()) != PGRES_COMMAND_OK) {
        return unexpected(error(prepared.get(), sql));
      }
      cached = cache_.emplace(std::move(key), std::move(name)).first;
    }
    result.reset(PQexecPrepared(conn_, cached->second.c_str(), n, values.data(), lengths.data(),
                                formats.data(), 0));
    return finish(result.get(), sql, rows);
  }

  Result<std::int64_t, Error> finish(PGresult* result, std::string_view sql, Rows* rows) {
    const auto status = result ? PQresultStatus(result) : PGRES_FATAL_ERROR;
    if (status == PGRES_COPY_IN || status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH) {
      end_stray_copy();
      return unexpected(error_about(Error::Kind::invalid, kName, sql, "COPY: use copy_rows"));
    }
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      return unexpected(error(result, sql));
    }
    if (rows && status == PGRES_TUPLES_OK) {
      const int count = PQntuples(result);
      const int width = PQnfields(result);
      rows->reserve(rows->size() + static_cast<std::size_t>(count));
      std::vector<Oid> types(static_cast<std::size_t>(width));
      for (int c = 0; c < width; ++c) types[static_cast<std::size_t>(c)] = PQftype(result, c);
      for (int r = 0; r < count; ++r) {
        std::vector<Value> values;
        values.reserve(static_cast<std::size_t>(width));
        for (int c = 0; c < width; ++c) {
          if (PQgetisnull(result, r, c)) {
            values.emplace_back(nullptr);
          } else {
            values.push_back(decode(types[static_cast<std::size_t>(c)], PQgetvalue(result, r, c),
                                    PQgetlength(result, r, c)));
          }
        }
        rows->emplace_back(std::move(values));
      }
    }
    return changed_rows(result);
  }

  Result<void, Error> run_script(std::string_view sql, bool) override {
    // One simple-protocol message: PostgreSQL runs its statements in one
    // transaction of their own when none is open.
    auto text = translate(sql, Dialect::postgresql);
    if (!text) return unexpected(error_about(Error::Kind::invalid, kName, sql, text.error()));
    if (text->parameters > 0) {
      return unexpected(
          error_about(Error::Kind::invalid, kName, sql, "a script takes no parameters"));
    }
    ResultPtr result(PQexec(conn_, text->sql.c_str()));
    const auto status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
    if (status == PGRES_COPY_IN || status == PGRES_COPY_OUT) {
      end_stray_copy();
      return unexpected(error_about(Error::Kind::invalid, kName, sql, "COPY: use copy_rows"));
    }
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      return unexpected(error(result.get(), sql));
    }
    return {};
  }

  Result<void, Error> simple(const char* sql) {
    ResultPtr result(PQexec(conn_, sql));
    if (!result || PQresultStatus(result.get()) != PGRES_COMMAND_OK) {
      return unexpected(error(result.get(), sql));
    }
    return {};
  }

  Result<void, Error> begin(Isolation isolation) override {
    return simple(isolation == Isolation::serializable ? "BEGIN ISOLATION LEVEL SERIALIZABLE"
                                                       : "BEGIN");
  }

  Result<void, Error> commit() override {
    ResultPtr result(PQexec(conn_, "COMMIT"));
    if (!result || PQresultStatus(result.get()) != PGRES_COMMAND_OK) {
      Error failed = error(result.get(), "COMMIT");
      rollback();
      return unexpected(std::move(failed));
    }
    // COMMIT of a failed transaction rolls back and says so, without an error.
    if (std::string_view(PQcmdStatus(result.get())) != "COMMIT") {
      rollback();
      return unexpected(error_about(Error::Kind::other, kName, "COMMIT",
                                    "the server rolled the transaction back"));
    }
    return {};
  }

  void rollback() noexcept override {
    const auto status = PQtransactionStatus(conn_);
    if (status == PQTRANS_INTRANS || status == PQTRANS_INERROR) {
      PQclear(PQexec(conn_, "ROLLBACK"));
    }
  }

  Result<std::int64_t, Error> copy(std::string_view table,
                                   std::span<const std::string_view> columns,
                                   const RowProducer& next_row, bool in_transaction) override;

  bool usable() const override { return PQstatus(conn_) == CONNECTION_OK; }
  std::size_t cached_statements() const override { return cache_.size(); }

  // Drains the results after a COPY that was not asked for or was abandoned.
  void end_stray_copy() {
    PQputCopyEnd(conn_, "not through copy_rows");
    while (PGresult* r = PQgetResult(conn_)) PQclear(r);
  }

  PGconn* conn() const { return conn_; }

 private:
  static std::int64_t changed_rows(const PGresult* result) {
    // Only INSERT, UPDATE, DELETE and MERGE count, as on SQLite.
    const std::string_view tag = PQcmdStatus(const_cast<PGresult*>(result));
    if (!(tag.starts_with("INSERT") || tag.starts_with("UPDATE") || tag.starts_with("DELETE") ||
          tag.starts_with("MERGE"))) {
      return 0;
    }
    const std::string_view count = PQcmdTuples(const_cast<PGresult*>(result));
    std::int64_t n = 0;
    std::from_chars(count.data(), count.data() + count.size(), n);
    return n;
  }

  PGconn* conn_;
  std::unordered_map<std::string, std::string, TextHash, std::equal_to<>> cache_;
  std::uint64_t statements_made_ = 0;
};

// Writes each row into COPY's text format, handing the buffer to libpq in
// large pieces; keeps the first problem for the end of the row.
class PostgresqlCopyRow final : public CopyRow {
 public:
  PostgresqlCopyRow() { buffer_.reserve(kFlushAt + 4096); }

  void integer(std::int64_t value) override {
    separate();
    char digits[24];
    const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
    buffer_.append(digits, end);
  }
  void text(std::string_view value) override {
    separate();
    if (!is_valid_text(value)) {
      if (problem_.empty()) problem_ = "a text field that is not valid UTF-8 without NUL";
      return;
    }
    append_copy_text(buffer_, value);
  }
  void bytes(ByteView value) override {
    // BYTEA's input form \x0a1b, its backslash doubled for COPY.
    static constexpr char kHex[] = "0123456789abcdef";
    separate();
    buffer_ += "\\\\x";
    const std::size_t at = buffer_.size();
    buffer_.resize(at + 2 * value.size());
    char* out = buffer_.data() + at;
    for (std::uint8_t b : value) {
      *out++ = kHex[b >> 4];
      *out++ = kHex[b & 0x0F];
    }
  }
  void null() override {
    separate();
    buffer_ += "\\N";
  }

  void start() {
    fields_ = 0;
    row_start_ = buffer_.size();
    problem_.clear();
  }
  void end() { buffer_ += '\n'; }
  void drop_row() { buffer_.resize(row_start_); }
  std::size_t fields() const { return fields_; }
  const std::string& problem() const { return problem_; }
  std::string& buffer() { return buffer_; }
  bool full() const { return buffer_.size() >= kFlushAt; }

 private:
  static constexpr std::size_t kFlushAt = 1 << 20;
  void separate() {
    if (fields_++ > 0) buffer_ += '\t';
  }
  std::size_t fields_ = 0;
  std::size_t row_start_ = 0;
  std::string buffer_;
  std::string problem_;
};

Result<std::int64_t, Error> PostgresqlEngine::copy(std::string_view table,
                                                   std::span<const std::string_view> columns,
                                                   const RowProducer& next_row, bool) {
  // One COPY statement is all or nothing by itself, in a transaction or not.
  auto head = copy_head(kName, "COPY", table, columns);
  if (!head) return unexpected(head.error());
  const std::string sql = *head + " FROM STDIN";
  ResultPtr started(PQexec(conn_, sql.c_str()));
  if (!started || PQresultStatus(started.get()) != PGRES_COPY_IN) {
    return unexpected(error(started.get(), sql));
  }
  const auto abandon = [&](Error e) -> Result<std::int64_t, Error> {
    end_stray_copy();  // the server then fails the COPY, which loads nothing
    return unexpected(std::move(e));
  };
  const auto send = [&](std::string& data) -> bool {
    const bool sent =
        data.empty() || PQputCopyData(conn_, data.data(), static_cast<int>(data.size())) == 1;
    data.clear();
    return sent;
  };
  PostgresqlCopyRow row;
  std::int64_t loaded = 0;
  for (;;) {
    row.start();
    if (!next_row(row)) {
      if (row.fields() != 0) {
        return abandon(error_about(Error::Kind::invalid, kName, sql,
                                   "the producer added fields and then said there were no more "
                                   "rows"));
      }
      row.drop_row();
      break;
    }
    if (row.fields() != columns.size()) {
      return abandon(error_about(Error::Kind::invalid, kName, sql,
                                 "row " + std::to_string(loaded + 1) + " has " +
                                     std::to_string(row.fields()) + " fields for " +
                                     std::to_string(columns.size()) + " columns"));
    }
    if (!row.problem().empty()) {
      return abandon(error_about(Error::Kind::invalid, kName, sql,
                                 "row " + std::to_string(loaded + 1) + ": " + row.problem()));
    }
    row.end();
    ++loaded;
    if (row.full() && !send(row.buffer())) {
      Error lost = error(nullptr, sql);
      while (PGresult* r = PQgetResult(conn_)) PQclear(r);
      return unexpected(std::move(lost));
    }
  }
  if (!send(row.buffer()) || PQputCopyEnd(conn_, nullptr) != 1) {
    Error lost = error(nullptr, sql);
    while (PGresult* r = PQgetResult(conn_)) PQclear(r);
    return unexpected(std::move(lost));
  }
  ResultPtr finished(PQgetResult(conn_));
  std::optional<Error> failure;
  if (!finished || PQresultStatus(finished.get()) != PGRES_COMMAND_OK) {
    failure = error(finished.get(), sql);
  }
  while (PGresult* r = PQgetResult(conn_)) PQclear(r);
  if (failure) return unexpected(std::move(*failure));
  return loaded;
}

void ignore_notice(void*, const char*) {}

}  // namespace

Result<std::unique_ptr<Engine>, Error> open_postgresql(std::string_view conninfo,
                                                       const ConnectOptions& options) {
  // Defaults first (the conninfo overrides them), then what this layer
  // needs (which overrides the conninfo).
  const std::string timeout = std::to_string(options.connect_timeout.count());
  const std::string expanded(conninfo);
  // A conninfo libpq cannot even parse is the caller's mistake, not the server's.
  if (expanded.find('=') != std::string::npos || expanded.starts_with("postgres")) {
    char* problem = nullptr;
    PQconninfoOption* parsed = PQconninfoParse(expanded.c_str(), &problem);
    if (!parsed) {
      std::string said = problem ? trimmed(problem) : "out of memory";
      PQfreemem(problem);
      return unexpected(Error{Error::Kind::invalid, "postgresql: malformed conninfo: " + said});
    }
    PQconninfoFree(parsed);
  }
  const char* keywords[] = {"connect_timeout", "application_name", "dbname", "client_encoding",
                            nullptr};
  const char* values[] = {timeout.c_str(), "juki", expanded.c_str(), "UTF8", nullptr};
  PGconn* raw = PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
  if (!raw) {
    return unexpected(Error{Error::Kind::other, "postgresql: cannot connect: out of memory"});
  }
  auto engine = std::make_unique<PostgresqlEngine>(raw);  // owns `raw` from here
  if (PQstatus(raw) != CONNECTION_OK) {
    // The conninfo is not repeated: it may hold a password; libpq's message
    // names the server or socket it tried.
    return unexpected(Error{Error::Kind::connection,
                            "postgresql: cannot connect: " + trimmed(PQerrorMessage(raw))});
  }
  PQsetNoticeProcessor(raw, ignore_notice, nullptr);  // "already exists, skipping" and the like
  if (auto set = engine->simple("SET bytea_output = 'hex'"); !set) return unexpected(set.error());
  return std::unique_ptr<Engine>(std::move(engine));
}

}  // namespace juki::backend::store::detail
