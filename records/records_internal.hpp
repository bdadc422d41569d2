// Internals shared by the records' operations (records/*.cpp):
// errors, value checks, rows and their statements, and the one transaction
// each change runs in. Not for use outside issuer_tool/records.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "records/records.hpp"
#include "records/sqlite.hpp"

namespace juki::records {

using Kind = RecordsError::Kind;
using nlohmann::json;
using sqlite::Database;
using sqlite::Statement;

constexpr const char* kApplicationSelect =
    "SELECT id, resident_code, name, name_kana, birth_date, sex, address, kind, face, braille, "
    "same_day, state, notice_number, reason, received_at, updated_at FROM applications ";
constexpr const char* kCardSelect =
    "SELECT c.serial, c.application_id, a.resident_code, a.face, c.state, c.issue_date, "
    "c.expiry_date, c.reason, c.created_at, c.updated_at "
    "FROM cards c JOIN applications a ON a.id = c.application_id ";
constexpr const char* kEventSelect =
    "SELECT seq, at, operator_id, terminal_id, action, application_id, card_serial, detail "
    "FROM events ";

// ------------------------------------------------------------ errors

RecordsError failure(Kind kind, std::string message);
RecordsError storage(const sqlite::Error& e);
std::string str(std::string_view s);

// "a, b or c"
template <class State>
std::string one_of(std::initializer_list<State> states) {
  std::string out;
  std::size_t i = 0;
  for (State s : states) {
    if (i > 0) out += i + 1 == states.size() ? " or " : ", ";
    out += to_string(s);
    ++i;
  }
  return out;
}

template <class State>
bool in(State s, std::initializer_list<State> states) {
  return std::find(states.begin(), states.end(), s) != states.end();
}

// ------------------------------------------------------------ time

std::string timestamp(std::chrono::system_clock::time_point t);

// ------------------------------------------------------------ validation

std::optional<std::string> problem_of(const Actor& a);
std::optional<std::string> problem_of(const IdentityCheck& c);
std::optional<std::string> problem_of_resident_code(std::string_view code);
std::optional<std::string> problem_of(const ApplicationRequest& r);
std::optional<std::string> problem_of_serial(std::string_view serial);
std::optional<std::string> problem_of_date(std::string_view what, std::string_view date);
std::optional<std::string> problem_of_reason(std::string_view reason);
// Any of them: invalid_input with the first problem.
Result<void, RecordsError> check(std::initializer_list<std::optional<std::string>> problems);

json identity_json(const IdentityCheck& c);
// {"from": ..., "to": ...}; from is null for a record that starts here.
json change(std::optional<std::string_view> from, std::string_view to);

// ------------------------------------------------------------ rows

std::optional<Application> read_application(const Statement& s);
std::optional<Card> read_card(const Statement& s);
std::optional<Event> read_event(const Statement& s);

template <class... Args>
Result<Statement, RecordsError> prepared(Database& db, std::string_view sql, const Args&... args) {
  auto st = db.prepare(sql);
  if (!st) return unexpected(storage(st.error()));
  [[maybe_unused]] int index = 1;
  (st->bind(index++, args), ...);
  return std::move(*st);
}

template <class Row, class... Args>
Result<std::vector<Row>, RecordsError> select_rows(Database& db,
                                                   std::optional<Row> (*read)(const Statement&),
                                                   std::string_view sql, const Args&... args) {
  auto st = prepared(db, sql, args...);
  if (!st) return unexpected(st.error());
  std::vector<Row> rows;
  for (;;) {
    auto row = st->step();
    if (!row) return unexpected(storage(row.error()));
    if (!*row) return rows;
    auto value = read(*st);
    if (!value)
      return unexpected(failure(Kind::storage, "a row that is not a record: " + str(sql)));
    rows.push_back(std::move(*value));
  }
}

template <class... Args>
Result<void, RecordsError> execute(Database& db, std::string_view sql, const Args&... args) {
  auto st = prepared(db, sql, args...);
  if (!st) return unexpected(st.error());
  if (auto r = st->run(); !r) return unexpected(storage(r.error()));
  return {};
}

// The one integer a query answers.
template <class... Args>
Result<std::int64_t, RecordsError> scalar(Database& db, std::string_view sql, const Args&... args) {
  auto st = prepared(db, sql, args...);
  if (!st) return unexpected(st.error());
  auto row = st->step();
  if (!row) return unexpected(storage(row.error()));
  if (!*row) return unexpected(failure(Kind::storage, "no answer to: " + str(sql)));
  return st->integer(0);
}

Result<std::optional<Application>, RecordsError> find_application(Database& db, std::int64_t id);
Result<Application, RecordsError> load_application(Database& db, std::int64_t id);
Result<std::optional<Card>, RecordsError> find_card(Database& db, std::string_view serial);
Result<Card, RecordsError> load_card(Database& db, std::string_view serial);

// ------------------------------------------------------------ operations

// One change: its transaction, its actor and its time, taken once the write
// lock is held so that event times never run against the sequence.
class Operation {
 public:
  static Result<Operation, RecordsError> begin(Database& db, const Clock& clock,
                                               const Actor& actor) {
    if (auto r = check({problem_of(actor)}); !r) return unexpected(r.error());
    auto tx = sqlite::Transaction::immediate(db);
    if (!tx) return unexpected(storage(tx.error()));
    return Operation(db, std::move(*tx), actor, clock());
  }

  Database& db() { return db_; }
  const std::string& now() const { return now_; }
  std::chrono::system_clock::time_point time() const { return time_; }

  Result<void, RecordsError> record(std::string_view action, std::int64_t application_id,
                                    std::optional<std::string_view> serial, const json& detail) {
    return execute(db_,
                   "INSERT INTO events (at, operator_id, terminal_id, action, application_id, "
                   "card_serial, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                   now_, actor_.operator_id, actor_.terminal_id, action, application_id, serial,
                   detail.dump());
  }

  Result<void, RecordsError> commit() {
    if (auto r = tx_.commit(); !r) return unexpected(storage(r.error()));
    return {};
  }

 private:
  Operation(Database& db, sqlite::Transaction tx, Actor actor,
            std::chrono::system_clock::time_point time)
      : db_(db), tx_(std::move(tx)), actor_(std::move(actor)), time_(time), now_(timestamp(time)) {}

  Database& db_;
  sqlite::Transaction tx_;
  Actor actor_;
  std::chrono::system_clock::time_point time_;
  std::string now_;
};

Result<void, RecordsError> expect_state(const Application& a, std::string_view operation,
                                        std::initializer_list<ApplicationState> allowed);
Result<void, RecordsError> expect_state(const Card& c, std::string_view operation,
                                        std::initializer_list<CardState> allowed);
Result<void, RecordsError> set_application_state(Operation& op, std::int64_t id,
                                                 ApplicationState to,
                                                 std::optional<std::string_view> reason);
// A card of the application still being personalized blocks another card
// and the closing of the application: it must be finished or spoiled first.
Result<void, RecordsError> none_personalizing(Database& db, std::int64_t application_id);

}  // namespace juki::records
