#include "backend/store/connection.hpp"

#include <algorithm>
#include <random>
#include <thread>
#include <utility>

#include "backend/store/engine.hpp"

namespace juki::backend::store {

namespace detail {

std::string describe(std::string_view engine, std::string_view sql, std::string_view detail) {
  // The first words, whitespace collapsed: enough to find the statement.
  constexpr std::size_t kMost = 60;
  std::string head;
  bool space = false;
  for (char c : sql) {
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
      space = !head.empty();
      continue;
    }
    if (head.size() >= kMost) {
      head += "...";
      break;
    }
    if (space) head += ' ';
    space = false;
    head += c;
  }
  std::string out(engine);
  out += ": \"";
  out += head;
  out += "\": ";
  out += detail;
  return out;
}

Error error_about(Error::Kind kind, std::string_view engine, std::string_view sql,
                  std::string_view detail) {
  return {kind, describe(engine, sql, detail)};
}

bool is_plain_identifier(std::string_view name, bool allow_schema) {
  if (allow_schema) {
    const auto dot = name.find('.');
    if (dot != std::string_view::npos) {
      return is_plain_identifier(name.substr(0, dot), false) &&
             is_plain_identifier(name.substr(dot + 1), false);
    }
  }
  if (name.empty() || name.size() > 63) return false;  // PostgreSQL's NAMEDATALEN - 1
  const auto letter = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  };
  if (!letter(name[0])) return false;
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return letter(c) || (c >= '0' && c <= '9'); });
}

Result<std::string, Error> copy_head(std::string_view engine, std::string_view verb,
                                     std::string_view table,
                                     std::span<const std::string_view> columns) {
  std::string head(verb);
  head += ' ';
  head += table;
  const auto refuse = [&](std::string detail) {
    return unexpected(Error{Error::Kind::invalid, std::string(engine) + ": copy_rows into " +
                                                      std::string(table) + ": " + detail});
  };
  if (!is_plain_identifier(table, true)) {
    return refuse("the table must be a plain name ([A-Za-z_][A-Za-z0-9_]*, or schema.table)");
  }
  if (columns.empty()) return refuse("no columns given");
  head += " (";
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (!is_plain_identifier(columns[i], false)) {
      return refuse("column '" + std::string(columns[i]) +
                    "' is not a plain name ([A-Za-z_][A-Za-z0-9_]*)");
    }
    if (i) head += ", ";
    head += columns[i];
  }
  head += ')';
  return head;
}

Result<void, Error> Session::usable_for(std::string_view what) const {
  if (in_transaction_ && failure_) {
    return unexpected(error_about(
        failure_->kind, engine_->name(), what,
        "refused: the transaction failed earlier and must be rolled back (first error: " +
            failure_->message + ")"));
  }
  return {};
}

Result<void, Error> Session::commit() {
  in_transaction_ = false;
  if (failure_) {
    engine_->rollback();
    Error refused{failure_->kind, std::string(engine_->name()) +
                                      ": commit refused, the transaction was rolled back: it "
                                      "failed earlier (" +
                                      failure_->message + ")"};
    failure_.reset();
    return unexpected(std::move(refused));
  }
  return engine_->commit();
}

void Session::rollback() noexcept {
  in_transaction_ = false;
  failure_.reset();
  engine_->rollback();
}

}  // namespace detail

// ------------------------------------------------------------ CopyRow

void CopyRow::value(const Value& value) {
  switch (value.index()) {
    case 0:
      null();
      break;
    case 1:
      integer(std::get<std::int64_t>(value));
      break;
    case 2:
      text(std::get<std::string>(value));
      break;
    default:
      bytes(std::get<Bytes>(value));
      break;
  }
}

// ------------------------------------------------------------ Connection

Result<Connection, Error> Connection::open(std::string_view url, const ConnectOptions& options) {
  constexpr std::string_view kSqlite = "sqlite:";
  constexpr std::string_view kPostgresql = "postgresql:";
  Result<std::unique_ptr<detail::Engine>, Error> engine =
      unexpected(Error{Error::Kind::invalid, ""});
  if (url.starts_with(kSqlite)) {
    engine = detail::open_sqlite(url.substr(kSqlite.size()), options);
  } else if (url.starts_with(kPostgresql)) {
    const std::string_view rest = url.substr(kPostgresql.size());
    // postgresql://... is a libpq URI as it stands; otherwise a conninfo.
    engine = detail::open_postgresql(rest.starts_with("//") ? url : rest, options);
  } else {
    // The URL itself is not repeated: a PostgreSQL one may hold a password.
    const auto colon = url.find(':');
    const std::string said = colon == std::string_view::npos
                                 ? "no engine"
                                 : "engine '" + std::string(url.substr(0, colon)) + "'";
    return unexpected(Error{Error::Kind::invalid,
                            "store URL with " + said +
                                ": expected sqlite:PATH, sqlite::memory: or "
                                "postgresql:CONNINFO (e.g. postgresql:host=/tmp/pg dbname=juki)"});
  }
  if (!engine) return unexpected(engine.error());
  return Connection(std::make_unique<detail::Session>(std::move(engine).value()));
}

Connection::Connection(std::unique_ptr<detail::Session> session) : session_(std::move(session)) {}
Connection::Connection(Connection&&) noexcept = default;
Connection& Connection::operator=(Connection&&) noexcept = default;
Connection::~Connection() {
  if (session_) session_->rollback();
}

std::string_view Connection::engine() const {
  return session_->engine().name();
}

Result<std::int64_t, Error> Connection::execute(std::string_view sql, Params params) {
  if (auto ok = session_->usable_for(sql); !ok) return unexpected(ok.error());
  return session_->note(session_->engine().run(sql, params.values(), nullptr));
}

Result<Rows, Error> Connection::query(std::string_view sql, Params params) {
  if (auto ok = session_->usable_for(sql); !ok) return unexpected(ok.error());
  Rows rows;
  auto ran = session_->note(session_->engine().run(sql, params.values(), &rows));
  if (!ran) return unexpected(ran.error());
  return rows;
}

Result<Row, Error> Connection::query_one(std::string_view sql, Params params) {
  auto rows = query(sql, params);
  if (!rows) return unexpected(rows.error());
  if (rows->size() != 1) {
    return session_->note(Result<Row, Error>(unexpected(
        detail::error_about(Error::Kind::invalid, engine(), sql,
                            "expected exactly one row, got " + std::to_string(rows->size())))));
  }
  return std::move(rows->front());
}

Result<std::optional<Row>, Error> Connection::query_optional(std::string_view sql, Params params) {
  auto rows = query(sql, params);
  if (!rows) return unexpected(rows.error());
  if (rows->size() > 1) {
    return session_->note(Result<std::optional<Row>, Error>(unexpected(
        detail::error_about(Error::Kind::invalid, engine(), sql,
                            "expected at most one row, got " + std::to_string(rows->size())))));
  }
  if (rows->empty()) return std::optional<Row>();
  return std::optional<Row>(std::move(rows->front()));
}

Result<void, Error> Connection::execute_script(std::string_view sql) {
  if (auto ok = session_->usable_for(sql); !ok) return unexpected(ok.error());
  return session_->note(session_->engine().run_script(sql, session_->in_transaction()));
}

Result<Transaction, Error> Connection::begin(Isolation isolation) {
  if (session_->in_transaction()) {
    return unexpected(
        Error{Error::Kind::invalid,
              std::string(engine()) + ": begin: a transaction is already open on this connection"});
  }
  if (auto begun = session_->engine().begin(isolation); !begun) {
    return unexpected(begun.error());
  }
  session_->opened();
  return Transaction(session_.get());
}

bool Connection::in_transaction() const {
  return session_->in_transaction();
}

Result<std::int64_t, Error> Connection::copy_rows(std::string_view table,
                                                  std::span<const std::string_view> columns,
                                                  const RowProducer& next_row) {
  if (auto ok = session_->usable_for("copy_rows"); !ok) return unexpected(ok.error());
  return session_->note(
      session_->engine().copy(table, columns, next_row, session_->in_transaction()));
}

Result<std::int64_t, Error> Connection::copy_rows(std::string_view table,
                                                  std::span<const std::string_view> columns,
                                                  std::span<const std::vector<Value>> rows) {
  std::size_t next = 0;
  return copy_rows(table, columns, [&](CopyRow& row) {
    if (next == rows.size()) return false;
    for (const Value& v : rows[next]) row.value(v);
    ++next;
    return true;
  });
}

bool Connection::usable() const {
  return session_->engine().usable();
}

std::size_t Connection::cached_statements() const {
  return session_->engine().cached_statements();
}

void Connection::end_any_transaction() {
  session_->rollback();
}

// ------------------------------------------------------------ Transaction

Result<void, Error> Transaction::commit() {
  if (!session_) {
    return unexpected(Error{Error::Kind::invalid, "commit: the transaction is already over"});
  }
  return std::exchange(session_, nullptr)->commit();
}

void Transaction::rollback() {
  if (session_) std::exchange(session_, nullptr)->rollback();
}

Transaction::Transaction(Transaction&& other) noexcept
    : session_(std::exchange(other.session_, nullptr)) {}

Transaction::~Transaction() {
  rollback();
}

// ------------------------------------------------------------ retries

void pause_before_retry(const RetryPolicy& policy, int attempt) {
  // Exponential from first_pause, at most longest_pause, then a random 50-100%
  // of it, so that writers that collided do not collide again in step.
  auto pause = policy.first_pause;
  for (int i = 1; i < attempt && pause < policy.longest_pause; ++i) pause *= 2;
  pause = std::min(pause, policy.longest_pause);
  thread_local std::minstd_rand jitter{std::random_device{}()};
  const auto half = pause.count() / 2;
  const auto wait = std::chrono::milliseconds(
      half + (half > 0 ? static_cast<long>(jitter() % static_cast<unsigned long>(half + 1)) : 0));
  std::this_thread::sleep_for(std::max(wait, std::chrono::milliseconds(1)));
}

}  // namespace juki::backend::store
