#include "records/records.hpp"

#include <openssl/rand.h>
#include <sqlite3.h>

#include <algorithm>
#include <ctime>
#include <initializer_list>
#include <nlohmann/json.hpp>

#include "common/bytes.hpp"
#include "common/card_information.hpp"
#include "common/check_digits.hpp"

namespace juki::records {

namespace {

using Kind = RecordsError::Kind;
using nlohmann::json;
using sqlite::Database;
using sqlite::Statement;

// "JUKI" in PRAGMA application_id: tells a records file from any other SQLite file.
constexpr std::int32_t kApplicationId = 0x4A554B49;
// Several processes (a counter, batch readers) share the file: a writer waits
// this long for another's transaction before giving up with kind storage.
constexpr int kBusyTimeoutMs = 30000;
// The counter's calendar, for intake's "is the card still valid today":
// Japan Standard Time, UTC+9, no daylight saving.
constexpr std::chrono::hours kJapanOffset{9};

// specs/issuance-records.md "Schema": keep the two in step.
constexpr const char* kSchema = R"sql(
CREATE TABLE meta (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  municipality TEXT NOT NULL CHECK (length(municipality) = 6 AND municipality NOT GLOB '*[^0-9]*'),
  created_at TEXT NOT NULL
) STRICT;

CREATE TABLE applications (
  id INTEGER PRIMARY KEY,
  resident_code TEXT NOT NULL
    CHECK (length(resident_code) = 11 AND resident_code NOT GLOB '*[^0-9]*'),
  name TEXT NOT NULL CHECK (name <> ''),
  name_kana TEXT NOT NULL CHECK (name_kana <> ''),
  birth_date TEXT NOT NULL CHECK (length(birth_date) = 8 AND birth_date NOT GLOB '*[^0-9]*'),
  sex INTEGER NOT NULL CHECK (sex IN (0, 1, 2, 9)),
  address TEXT NOT NULL CHECK (address <> ''),
  kind TEXT NOT NULL CHECK (kind IN ('new', 'reissue')),
  face TEXT NOT NULL CHECK (face IN ('A', 'B')),
  braille INTEGER NOT NULL CHECK (braille IN (0, 1)),
  same_day INTEGER NOT NULL CHECK (same_day IN (0, 1)),
  state TEXT NOT NULL CHECK (state IN ('received', 'registered', 'personalized', 'handed_over',
                                       'completed', 'rejected', 'cancelled')),
  notice_number TEXT UNIQUE
    CHECK (length(notice_number) = 12 AND notice_number NOT GLOB '*[^0-9]*'),
  reason TEXT CHECK (reason <> ''),
  received_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  CHECK (NOT (same_day = 1 AND notice_number IS NOT NULL)),
  CHECK (same_day = 1 OR state IN ('received', 'rejected', 'cancelled')
         OR notice_number IS NOT NULL),
  CHECK (state <> 'received' OR notice_number IS NULL),
  CHECK ((state IN ('rejected', 'cancelled')) = (reason IS NOT NULL))
) STRICT;
CREATE INDEX applications_person ON applications (resident_code);
CREATE UNIQUE INDEX applications_one_open ON applications (resident_code)
  WHERE state IN ('received', 'registered', 'personalized');
CREATE INDEX applications_state ON applications (state);

CREATE TABLE cards (
  serial TEXT NOT NULL PRIMARY KEY
    CHECK (length(serial) = 16 AND serial NOT GLOB '*[^0-9A-F]*'),
  application_id INTEGER NOT NULL REFERENCES applications (id),
  state TEXT NOT NULL CHECK (state IN ('personalizing', 'issued', 'spoiled', 'handed_over',
                                       'active', 'suspended', 'lost', 'returned', 'expired')),
  issue_date TEXT CHECK (length(issue_date) = 8 AND issue_date NOT GLOB '*[^0-9]*'),
  expiry_date TEXT CHECK (length(expiry_date) = 8 AND expiry_date NOT GLOB '*[^0-9]*'),
  reason TEXT CHECK (reason <> ''),
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  CHECK ((state IN ('personalizing', 'spoiled')) = (issue_date IS NULL)),
  CHECK ((issue_date IS NULL) = (expiry_date IS NULL)),
  CHECK (expiry_date > issue_date),
  CHECK ((state IN ('spoiled', 'suspended', 'lost', 'returned')) = (reason IS NOT NULL))
) STRICT;
CREATE INDEX cards_application ON cards (application_id);
CREATE UNIQUE INDEX cards_one_per_application ON cards (application_id) WHERE state <> 'spoiled';
CREATE INDEX cards_state ON cards (state);
)sql";

// The audit trail, apart: schema 1 -> 2 builds it again (migrate_to_2).
constexpr const char* kEventsSchema = R"sql(
CREATE TABLE events (
  seq INTEGER PRIMARY KEY,
  at TEXT NOT NULL,
  operator_id TEXT NOT NULL CHECK (operator_id <> ''),
  terminal_id TEXT NOT NULL CHECK (terminal_id <> ''),
  action TEXT NOT NULL CHECK (action IN (
    'intake', 'register', 'reject', 'cancel', 'begin_personalization', 'finish_personalization',
    'spoil', 'hand_over', 'hand_over_refused', 'activate', 'suspend', 'lift_suspension',
    'report_lost', 'return', 'expire', 'password_reset', 'municipal_application')),
  application_id INTEGER NOT NULL REFERENCES applications (id),
  card_serial TEXT REFERENCES cards (serial),
  detail TEXT NOT NULL CHECK (json_valid(detail) AND json_type(detail) = 'object')
) STRICT;
CREATE INDEX events_application ON events (application_id);
CREATE INDEX events_card ON events (card_serial);
CREATE TRIGGER events_never_updated BEFORE UPDATE ON events
BEGIN
  SELECT RAISE(ABORT, 'the audit trail is append-only: an event is never updated');
END;
CREATE TRIGGER events_never_deleted BEFORE DELETE ON events
BEGIN
  SELECT RAISE(ABORT, 'the audit trail is append-only: an event is never deleted');
END;
)sql";

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

RecordsError failure(Kind kind, std::string message) {
  return {kind, std::move(message)};
}

RecordsError storage(const sqlite::Error& e) {
  // A file that is not SQLite at all is the same refusal as another database.
  if (e.code == SQLITE_NOTADB) return failure(Kind::schema, "not a records database: " + e.message);
  return failure(Kind::storage, "SQLite: " + e.message);
}

std::string str(std::string_view s) {
  return std::string(s);
}

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

std::string timestamp(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char out[sizeof "2000-01-01T00:00:00Z"];
  std::strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return out;
}

// ------------------------------------------------------------ validation

std::optional<std::string> problem_of(const Actor& a) {
  if (a.operator_id.empty()) return "no operator";
  if (a.terminal_id.empty()) return "no terminal";
  return std::nullopt;
}

std::optional<std::string> problem_of(const IdentityCheck& c) {
  if (c.document.empty()) return "identity check: no document";
  if (c.number && c.number->empty()) return "identity check: an empty document number";
  return std::nullopt;
}

std::optional<std::string> problem_of_resident_code(std::string_view code) {
  if (check_digits::resident_code_valid(code)) return std::nullopt;
  return "resident code '" + str(code) + "' is not 11 digits with its check digit";
}

std::optional<std::string> problem_of(const ApplicationRequest& r) {
  const Person& p = r.person;
  if (auto problem = problem_of_resident_code(p.resident_code)) return problem;
  if (p.name.empty()) return "no name";
  if (!katakana_valid(p.name_kana)) return "the name in katakana is not katakana";
  if (!card_information::parse_date(p.birth_date))
    return "birth date '" + p.birth_date + "' is not a date YYYYMMDD";
  if (!in(p.sex, {Sex::not_known, Sex::male, Sex::female, Sex::not_applicable}))
    return "sex is not an ISO/IEC 5218 code (0, 1, 2, 9)";
  if (p.address.empty()) return "no address";
  if (!in(r.kind, {ApplicationKind::new_card, ApplicationKind::reissue}))
    return "the kind is neither new nor reissue";
  if (r.face != 'A' && r.face != 'B') return "face version is not A or B";
  return problem_of(r.identity);
}

std::optional<std::string> problem_of_serial(std::string_view serial) {
  if (serial_valid(serial)) return std::nullopt;
  return "card serial '" + str(serial) + "' is not 16 uppercase hex digits";
}

std::optional<std::string> problem_of_date(std::string_view what, std::string_view date) {
  if (card_information::parse_date(date)) return std::nullopt;
  return str(what) + " '" + str(date) + "' is not a date YYYYMMDD";
}

std::optional<std::string> problem_of_reason(std::string_view reason) {
  if (!reason.empty()) return std::nullopt;
  return "no reason given";
}

// Any of them: invalid_input with the first problem.
Result<void, RecordsError> check(std::initializer_list<std::optional<std::string>> problems) {
  for (const auto& p : problems)
    if (p) return unexpected(failure(Kind::invalid_input, *p));
  return {};
}

json identity_json(const IdentityCheck& c) {
  return {{"document", c.document}, {"number", c.number ? json(*c.number) : json(nullptr)}};
}

// {"from": ..., "to": ...}; from is null for a record that starts here.
json change(std::optional<std::string_view> from, std::string_view to) {
  return {{"from", from ? json(*from) : json(nullptr)}, {"to", to}};
}

// ------------------------------------------------------------ rows

std::optional<Application> read_application(const Statement& s) {
  const auto kind = application_kind_from(s.text(7));
  const auto state = application_state_from(s.text(11));
  const std::string face = s.text(8);
  if (!kind || !state || face.size() != 1) return std::nullopt;
  Application a;
  a.id = s.integer(0);
  a.person = {s.text(1), s.text(2), s.text(3), s.text(4), static_cast<Sex>(s.integer(5)),
              s.text(6)};
  a.kind = *kind;
  a.face = face[0];
  a.braille = s.integer(9) != 0;
  a.same_day = s.integer(10) != 0;
  a.state = *state;
  a.notice_number = s.optional_text(12);
  a.reason = s.optional_text(13);
  a.received_at = s.text(14);
  a.updated_at = s.text(15);
  return a;
}

std::optional<Card> read_card(const Statement& s) {
  const auto state = card_state_from(s.text(4));
  const std::string face = s.text(3);
  if (!state || face.size() != 1) return std::nullopt;
  return Card{s.text(0),          s.integer(1),       s.text(2),          face[0],   *state,
              s.optional_text(5), s.optional_text(6), s.optional_text(7), s.text(8), s.text(9)};
}

std::optional<Event> read_event(const Statement& s) {
  return Event{s.integer(0),          s.text(1),          s.text(2), s.text(3), s.text(4),
               s.optional_integer(5), s.optional_text(6), s.text(7)};
}

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

Result<std::optional<Application>, RecordsError> find_application(Database& db, std::int64_t id) {
  auto rows = select_rows(db, read_application, str(kApplicationSelect) + "WHERE id = ?1", id);
  if (!rows) return unexpected(rows.error());
  if (rows->empty()) return std::optional<Application>();
  return std::optional(std::move(rows->front()));
}

Result<Application, RecordsError> load_application(Database& db, std::int64_t id) {
  auto a = find_application(db, id);
  if (!a) return unexpected(a.error());
  if (!*a) return unexpected(failure(Kind::not_found, "no application " + std::to_string(id)));
  return std::move(**a);
}

Result<std::optional<Card>, RecordsError> find_card(Database& db, std::string_view serial) {
  auto rows = select_rows(db, read_card, str(kCardSelect) + "WHERE c.serial = ?1", serial);
  if (!rows) return unexpected(rows.error());
  if (rows->empty()) return std::optional<Card>();
  return std::optional(std::move(rows->front()));
}

Result<Card, RecordsError> load_card(Database& db, std::string_view serial) {
  auto c = find_card(db, serial);
  if (!c) return unexpected(c.error());
  if (!*c) return unexpected(failure(Kind::not_found, "no card " + str(serial)));
  return std::move(**c);
}

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
                                        std::initializer_list<ApplicationState> allowed) {
  if (in(a.state, allowed)) return {};
  return unexpected(failure(Kind::wrong_state, "application " + std::to_string(a.id) + " is " +
                                                   str(to_string(a.state)) + "; " + str(operation) +
                                                   " needs " + one_of(allowed)));
}

Result<void, RecordsError> expect_state(const Card& c, std::string_view operation,
                                        std::initializer_list<CardState> allowed) {
  if (in(c.state, allowed)) return {};
  return unexpected(failure(Kind::wrong_state, "card " + c.serial + " is " +
                                                   str(to_string(c.state)) + "; " + str(operation) +
                                                   " needs " + one_of(allowed)));
}

Result<void, RecordsError> set_application_state(Operation& op, std::int64_t id,
                                                 ApplicationState to,
                                                 std::optional<std::string_view> reason) {
  return execute(op.db(),
                 "UPDATE applications SET state = ?2, reason = ?3, updated_at = ?4 WHERE id = ?1",
                 id, to_string(to), reason, op.now());
}

// Set once, with the move to issued (the schema checks they come together).
struct IssueDates {
  std::string issue_date;
  std::string expiry_date;
};

Result<void, RecordsError> set_card_state(Operation& op, std::string_view serial, CardState to,
                                          std::optional<std::string_view> reason,
                                          const std::optional<IssueDates>& dates) {
  return execute(op.db(),
                 "UPDATE cards SET state = ?2, reason = ?3, updated_at = ?4, "
                 "issue_date = coalesce(?5, issue_date), expiry_date = coalesce(?6, expiry_date) "
                 "WHERE serial = ?1",
                 serial, to_string(to), reason, op.now(),
                 dates ? std::optional(dates->issue_date) : std::nullopt,
                 dates ? std::optional(dates->expiry_date) : std::nullopt);
}

// Moves `card` to `to` and records `action`. A card that leaves issued for
// lost, returned or expired never reached its holder: its application, still
// personalized, is cancelled with it so that the person may apply again.
Result<void, RecordsError> move_card(Operation& op, const Card& card, CardState to,
                                     std::optional<std::string_view> reason,
                                     std::string_view action, json detail,
                                     const std::optional<IssueDates>& dates = std::nullopt) {
  if (auto r = set_card_state(op, card.serial, to, reason, dates); !r) return r;
  detail["card"] = change(to_string(card.state), to_string(to));
  if (reason) detail["reason"] = *reason;
  if (card.state == CardState::issued && to != CardState::handed_over) {
    const std::string why = "card " + card.serial + " " + str(to_string(to)) + " before hand-over";
    if (auto r = set_application_state(op, card.application_id, ApplicationState::cancelled, why);
        !r)
      return r;
    detail["application"] =
        change(to_string(ApplicationState::personalized), to_string(ApplicationState::cancelled));
  }
  return op.record(action, card.application_id, card.serial, detail);
}

// The common shape of a card operation: the card in one of `allowed`, moved
// to `to` in one transaction.
struct CardMove {
  std::string_view action;
  std::initializer_list<CardState> allowed;
  CardState to;
  std::optional<std::string_view> reason;
  json detail = json::object();
};

Result<Card, RecordsError> run_card_move(Database& db, const Clock& clock, const Actor& actor,
                                         std::string_view serial, const CardMove& m) {
  auto op = Operation::begin(db, clock, actor);
  if (!op) return unexpected(op.error());
  auto card = load_card(db, serial);
  if (!card) return unexpected(card.error());
  if (auto r = expect_state(*card, m.action, m.allowed); !r) return unexpected(r.error());
  if (auto r = move_card(*op, *card, m.to, m.reason, m.action, m.detail); !r)
    return unexpected(r.error());
  if (auto r = op->commit(); !r) return unexpected(r.error());
  return load_card(db, serial);
}

// finish_personalization, hand_over and activate: a card move that also
// moves the application from `app_from` to `app_to`.
Result<void, RecordsError> move_both(Operation& op, const Card& card, CardState to,
                                     ApplicationState app_from, ApplicationState app_to,
                                     std::string_view action, json detail,
                                     const std::optional<IssueDates>& dates = std::nullopt) {
  if (auto r = set_application_state(op, card.application_id, app_to, std::nullopt); !r) return r;
  detail["application"] = change(to_string(app_from), to_string(app_to));
  return move_card(op, card, to, std::nullopt, action, std::move(detail), dates);
}

Result<std::string, RecordsError> fresh_notice_number(Database& db) {
  // Rejection sampling keeps the digits uniform: bytes 250..255 are drawn again.
  for (;;) {
    std::string digits;
    while (digits.size() < 11) {
      unsigned char b[16];
      if (RAND_bytes(b, sizeof b) != 1)
        return unexpected(failure(Kind::storage, "no random notice number (OpenSSL RAND_bytes)"));
      for (unsigned char x : b)
        if (x < 250 && digits.size() < 11) digits.push_back(static_cast<char>('0' + x % 10));
    }
    const std::string number = digits + *notice_check_digit(digits);
    auto taken = scalar(db, "SELECT count(*) FROM applications WHERE notice_number = ?1", number);
    if (!taken) return unexpected(taken.error());
    if (*taken == 0) return number;
  }
}

// A card of the application still being personalized blocks another card
// and the closing of the application: it must be finished or spoiled first.
Result<void, RecordsError> none_personalizing(Database& db, std::int64_t application_id) {
  auto busy = select_rows(
      db, read_card, str(kCardSelect) + "WHERE c.application_id = ?1 AND c.state = 'personalizing'",
      application_id);
  if (!busy) return unexpected(busy.error());
  if (busy->empty()) return {};
  return unexpected(
      failure(Kind::wrong_state, "card " + busy->front().serial + " of application " +
                                     std::to_string(application_id) +
                                     " is being personalized: finish or spoil it first"));
}

// reject and cancel: received or registered, and no card of it in personalization.
Result<Application, RecordsError> close_application(Database& db, const Clock& clock,
                                                    const Actor& actor, std::int64_t id,
                                                    std::string_view reason, ApplicationState to,
                                                    std::string_view action) {
  if (auto r = check({problem_of_reason(reason)}); !r) return unexpected(r.error());
  auto op = Operation::begin(db, clock, actor);
  if (!op) return unexpected(op.error());
  auto a = load_application(db, id);
  if (!a) return unexpected(a.error());
  if (auto r = expect_state(*a, action, {ApplicationState::received, ApplicationState::registered});
      !r)
    return unexpected(r.error());
  if (auto r = none_personalizing(db, id); !r) return unexpected(r.error());
  if (auto r = set_application_state(*op, id, to, reason); !r) return unexpected(r.error());
  const json detail = {{"application", change(to_string(a->state), to_string(to))},
                       {"reason", reason}};
  if (auto r = op->record(action, id, std::nullopt, detail); !r) return unexpected(r.error());
  if (auto r = op->commit(); !r) return unexpected(r.error());
  return load_application(db, id);
}

Result<void, RecordsError> connect(Database& db) {
  // Synchronous FULL: a committed issuance record survives a power cut.
  if (auto r =
          db.exec("PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL; PRAGMA busy_timeout = " +
                  std::to_string(kBusyTimeoutMs));
      !r)
    return unexpected(storage(r.error()));
  return {};
}

}  // namespace

Result<void, std::string> check_request(const ApplicationRequest& request) {
  if (auto p = problem_of(request)) return unexpected(std::move(*p));
  return {};
}

std::string japan_date(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t + kJapanOffset);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return card_information::format_date({tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday});
}

// ------------------------------------------------------------ opening

Result<Records, RecordsError> Records::create(const std::string& path,
                                              std::string_view municipality, Clock clock) {
  if (!check_digits::municipality_valid(municipality))
    return unexpected(failure(Kind::invalid_input, "municipality code '" + str(municipality) +
                                                       "' is not 6 digits with its check digit"));
  auto db = Database::open(path, sqlite::OpenMode::create);
  if (!db) return unexpected(storage(db.error()));
  if (auto r = connect(*db); !r) return unexpected(r.error());
  auto empty = [&]() -> Result<void, RecordsError> {
    auto objects = scalar(*db, "SELECT count(*) FROM sqlite_schema");
    if (!objects) return unexpected(objects.error());
    if (*objects != 0) return unexpected(failure(Kind::schema, path + " already holds a database"));
    return {};
  };
  // Before the journal mode, which would change another database's file.
  if (auto r = empty(); !r) return unexpected(r.error());
  // WAL lets readers go on while one writes; it is a property of the file,
  // set once here (never inside a transaction).
  if (auto r = db->exec("PRAGMA journal_mode = WAL"); !r) return unexpected(storage(r.error()));
  auto tx = sqlite::Transaction::immediate(*db);
  if (!tx) return unexpected(storage(tx.error()));
  // Again under the lock: another process may have created it meanwhile.
  if (auto r = empty(); !r) return unexpected(r.error());
  if (auto r = db->exec(kSchema); !r) return unexpected(storage(r.error()));
  if (auto r = db->exec(kEventsSchema); !r) return unexpected(storage(r.error()));
  if (auto r = db->exec("PRAGMA user_version = " + std::to_string(kSchemaVersion) +
                        "; PRAGMA application_id = " + std::to_string(kApplicationId));
      !r)
    return unexpected(storage(r.error()));
  if (auto r = execute(*db, "INSERT INTO meta (id, municipality, created_at) VALUES (1, ?1, ?2)",
                       municipality, timestamp(clock()));
      !r)
    return unexpected(r.error());
  if (auto r = tx->commit(); !r) return unexpected(storage(r.error()));
  return Records(std::move(*db), str(municipality), std::move(clock));
}

namespace {

// Schema 1 -> 2: the audit trail's actions gain 'municipal_application'.
// SQLite cannot change a CHECK in place, so the events table is built again
// (sqlite.org/lang_altertable.html, "making other kinds of table schema
// changes") in one immediate transaction: a crash leaves version 1 whole or
// version 2 whole. Its triggers go first, so no row is deleted through them;
// nothing references events, so dropping the old table breaks no key.
Result<void, RecordsError> migrate_to_2(Database& db, const std::string& path) {
  auto tx = sqlite::Transaction::immediate(db);
  if (!tx) return unexpected(storage(tx.error()));
  // Again under the lock: another process may have migrated it meanwhile.
  auto version = scalar(db, "PRAGMA user_version");
  if (!version) return unexpected(version.error());
  if (*version == 2) return {};
  auto count = [&] { return scalar(db, "SELECT count(*) FROM events"); };
  auto before = count();
  if (!before) return unexpected(before.error());
  if (auto r = db.exec("DROP TRIGGER events_never_updated; DROP TRIGGER events_never_deleted; "
                       "DROP INDEX events_application; DROP INDEX events_card; "
                       "ALTER TABLE events RENAME TO events_v1");
      !r)
    return unexpected(storage(r.error()));
  if (auto r = db.exec(kEventsSchema); !r) return unexpected(storage(r.error()));
  if (auto r = db.exec("INSERT INTO events SELECT * FROM events_v1; DROP TABLE events_v1; "
                       "PRAGMA user_version = 2");
      !r)
    return unexpected(storage(r.error()));
  auto after = count();
  if (!after) return unexpected(after.error());
  if (*after != *before)
    return unexpected(failure(Kind::storage, path + ": the audit trail lost events in migration"));
  if (auto r = tx->commit(); !r) return unexpected(storage(r.error()));
  return {};
}

}  // namespace

Result<Records, RecordsError> Records::open(const std::string& path, Clock clock) {
  auto db = Database::open(path, sqlite::OpenMode::existing);
  if (!db) return unexpected(storage(db.error()));
  if (auto r = connect(*db); !r) return unexpected(r.error());
  auto id = scalar(*db, "PRAGMA application_id");
  if (!id) return unexpected(id.error());
  if (*id != kApplicationId)
    return unexpected(failure(Kind::schema, path + " is not a records database"));
  auto version = scalar(*db, "PRAGMA user_version");
  if (!version) return unexpected(version.error());
  if (*version == 1) {
    if (auto r = migrate_to_2(*db, path); !r)
      return unexpected(failure(Kind::schema, path +
                                                  " has schema version 1 and could not be "
                                                  "brought to version 2: " +
                                                  r.error().message));
    *version = 2;
  }
  if (*version != kSchemaVersion)
    return unexpected(failure(Kind::schema, path + " has schema version " +
                                                std::to_string(*version) +
                                                "; this build knows version " +
                                                std::to_string(kSchemaVersion) + " only"));
  auto st = prepared(*db, "SELECT municipality FROM meta WHERE id = 1");
  if (!st) return unexpected(st.error());
  auto row = st->step();
  if (!row) return unexpected(storage(row.error()));
  if (!*row) return unexpected(failure(Kind::schema, path + " has no municipality"));
  std::string municipality = st->text(0);
  return Records(std::move(*db), std::move(municipality), std::move(clock));
}

// ------------------------------------------------------------ applications

Result<Intake, RecordsError> Records::intake(const ApplicationRequest& request,
                                             const Actor& actor) {
  if (auto r = check({problem_of(request)}); !r) return unexpected(r.error());
  auto op = Operation::begin(db_, clock_, actor);
  if (!op) return unexpected(op.error());
  const std::string& code = request.person.resident_code;

  auto open = select_rows(db_, read_application,
                          str(kApplicationSelect) +
                              "WHERE resident_code = ?1 AND state IN ('received', 'registered', "
                              "'personalized')",
                          code);
  if (!open) return unexpected(open.error());
  if (!open->empty()) {
    const Application& a = open->front();
    return unexpected(failure(Kind::duplicate_application,
                              "resident code " + code + " has an open application " +
                                  std::to_string(a.id) + " (" + str(to_string(a.state)) + ")"));
  }

  // Cards that reached the person's hands or were on their way: issued ones,
  // not those spoiled in personalization.
  auto cards = select_rows(
      db_, read_card,
      str(kCardSelect) + "WHERE a.resident_code = ?1 AND c.issue_date IS NOT NULL ORDER BY c.rowid",
      code);
  if (!cards) return unexpected(cards.error());
  const std::string today = japan_date(op->time());
  // A valid state past its expiry date is expired, whether or not expire_due ran.
  auto effective = [&](const Card& c) {
    return valid_card_state(c.state) && *c.expiry_date < today ? CardState::expired : c.state;
  };
  for (const Card& c : *cards) {
    if (valid_card_state(effective(c)))
      return unexpected(failure(Kind::card_exists, "resident code " + code + " holds card " +
                                                       c.serial + " (" + str(to_string(c.state)) +
                                                       ", valid until " + *c.expiry_date + ")"));
  }
  std::optional<Card> latest;
  if (!cards->empty()) latest = cards->back();

  // new: no card yet, or the last one expired or was returned; reissue: the
  // last one was lost or returned (a damaged card is returned and reissued).
  const bool is_new = request.kind == ApplicationKind::new_card;
  if (!latest && !is_new)
    return unexpected(failure(Kind::wrong_state,
                              "resident code " + code + " never had a card: apply for a new one"));
  if (latest) {
    const CardState s = effective(*latest);
    const bool fits = is_new ? in(s, {CardState::expired, CardState::returned})
                             : in(s, {CardState::lost, CardState::returned});
    if (!fits)
      return unexpected(failure(Kind::wrong_state, "the last card of resident code " + code + ", " +
                                                       latest->serial + ", is " +
                                                       str(to_string(s)) + ": apply for " +
                                                       (is_new ? "a reissue" : "a new card")));
  }

  const Person& p = request.person;
  if (auto r = execute(db_,
                       "INSERT INTO applications (resident_code, name, name_kana, birth_date, sex, "
                       "address, kind, face, braille, same_day, state, received_at, updated_at) "
                       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'received', ?11, ?11)",
                       p.resident_code, p.name, p.name_kana, p.birth_date,
                       static_cast<std::int64_t>(p.sex), p.address, to_string(request.kind),
                       std::string_view(&request.face, 1), std::int64_t{request.braille},
                       std::int64_t{request.same_day}, op->now());
      !r)
    return unexpected(r.error());
  const std::int64_t id = db_.last_insert_rowid();
  const json detail = {
      {"application", change(std::nullopt, to_string(ApplicationState::received))},
      {"kind", to_string(request.kind)},
      {"face", std::string(1, request.face)},
      {"braille", request.braille},
      {"same_day", request.same_day},
      {"identity", identity_json(request.identity)},
      {"latest_card", latest ? json{{"serial", latest->serial}, {"state", to_string(latest->state)}}
                             : json(nullptr)}};
  if (auto r = op->record("intake", id, std::nullopt, detail); !r) return unexpected(r.error());
  if (auto r = op->commit(); !r) return unexpected(r.error());
  auto stored = load_application(db_, id);
  if (!stored) return unexpected(stored.error());
  return Intake{std::move(*stored), std::move(latest)};
}

Result<Application, RecordsError> Records::register_application(std::int64_t id,
                                                                const Actor& actor) {
  auto op = Operation::begin(db_, clock_, actor);
  if (!op) return unexpected(op.error());
  auto a = load_application(db_, id);
  if (!a) return unexpected(a.error());
  if (auto r = expect_state(*a, "registration", {ApplicationState::received}); !r)
    return unexpected(r.error());
  std::optional<std::string> notice;
  if (!a->same_day) {
    auto n = fresh_notice_number(db_);
    if (!n) return unexpected(n.error());
    notice = std::move(*n);
  }
  if (auto r = execute(db_,
                       "UPDATE applications SET state = 'registered', notice_number = ?2, "
                       "updated_at = ?3 WHERE id = ?1",
                       id, notice, op->now());
      !r)
    return unexpected(r.error());
  const json detail = {{"application", change(to_string(a->state), "registered")},
                       {"notice_number", notice ? json(*notice) : json(nullptr)}};
  if (auto r = op->record("register", id, std::nullopt, detail); !r) return unexpected(r.error());
  if (auto r = op->commit(); !r) return unexpected(r.error());
  return load_application(db_, id);
}

Result<Application, RecordsError> Records::reject(std::int64_t id, std::string_view reason,
                                                  const Actor& actor) {
  return close_application(db_, clock_, actor, id, reason, ApplicationState::rejected, "reject");
}

Result<Application, RecordsError> Records::cancel(std::int64_t id, std::string_view reason,
                                                  const Actor& actor) {
  return close_application(db_, clock_, actor, id, reason, ApplicationState::cancelled, "cancel");
}

// ------------------------------------------------------------ personalization

Result<Card, RecordsError> Records::begin_personalization(std::int64_t application_id,
                                                          std::string_view serial,
                                                          const Actor& actor) {
  if (auto r = check({problem_of_serial(serial)}); !r) return unexpected(r.error());
  auto op = Operation::begin(db_, clock_, actor);
  if (!op) return unexpected(op.error());
  auto a = load_application(db_, application_id);
  if (!a) return unexpected(a.error());
  if (auto r = expect_state(*a, "personalization", {ApplicationState::registered}); !r)
    return unexpected(r.error());
  auto known = find_card(db_, serial);
  if (!known) return unexpected(known.error());
  if (*known)
    return unexpected(
        failure(Kind::duplicate_serial, "card " + str(serial) + " is already recorded (" +
                                            str(to_string((*known)->state)) + ", application " +
                                            std::to_string((*known)->application_id) + ")"));
  if (auto r = none_personalizing(db_, application_id); !r) return unexpected(r.error());
  if (auto r = execute(db_,
                       "INSERT INTO cards (serial, application_id, state, created_at, updated_at) "
                       "VALUES (?1, ?2, 'personalizing', ?3, ?3)",
                       serial, application_id, op->now());
      !r)
    return unexpected(r.error());
  const json detail = {{"card", change(std::nullopt, to_string(CardState::personalizing))}};
  if (auto r = op->record("begin_personalization", application_id, serial, detail); !r)
    return unexpected(r.error());
  if (auto r = op->commit(); !r) return unexpected(r.error());
  return load_card(db_, serial);
}

Result<Card, RecordsError> Records::finish_personalization(std::string_view serial,
                                                           std::string_view issue_date,
                                                           const Actor& actor) {
  if (auto r = check({problem_of_serial(serial), problem_of_date("issue date", issue_date)}); !r)
    return unexpected(r.error());
  auto op = Operation::begin(db_, clock_, actor);
  if (!op) return unexpected(op.error());
  auto card = load_card(db_, serial);
  if (!card) return unexpected(card.error());
  if (auto r = expect_state(*card, "finish_personalization", {CardState::personalizing}); !r)
    return unexpected(r.error());
  // The card information the card holds (common/card_information): the same
  // checks and the same expiry rule as on the card.
  auto info =
      card_information::encode({municipality_, str(issue_date), card->face, *from_hex(serial)});
  if (!info)
    return unexpected(failure(
        Kind::invalid_input, "card information: " + str(card_information::describe(info.error()))));
  const std::string expiry(info->begin() + card_information::kExpiryAt,
                           info->begin() + card_information::kExpiryAt + 8);
  const json detail = {{"issue_date", issue_date}, {"expiry_date", expiry}};
  if (auto r = move_both(*op, *card, CardState::issued, ApplicationState::registered,
                         ApplicationState::personalized, "finish_personalization", detail,
                         IssueDates{str(issue_date), expiry});
      !r)
    return unexpected(r.error());
  if (auto r = op->commit(); !r) return unexpected(r.error());
  return load_card(db_, serial);
}

Result<Card, RecordsError> Records::spoil(std::string_view serial, std::string_view reason,
                                          const Actor& actor) {
  if (auto r = check({problem_of_serial(serial), problem_of_reason(reason)}); !r)
    return unexpected(r.error());
  return run_card_move(db_, clock_, actor, serial,
                       {"spoil", {CardState::personalizing}, CardState::spoiled, reason});
}

Result<std::vector<Card>, RecordsError> Records::cards_personalizing() {
  return select_rows(db_, read_card,
                     str(kCardSelect) + "WHERE c.state = 'personalizing' ORDER BY c.rowid");
}

// ------------------------------------------------------------ hand-over and use

Result<Card, RecordsError> Records::hand_over(std::string_view serial,
                                              std::optional<std::string_view> notice_number,
                                              const IdentityCheck& identity, const Actor& actor) {
  std::optional<std::string> bad_notice;
  if (notice_number && !notice_number_valid(*notice_number))
    bad_notice =
        "notice number '" + str(*notice_number) + "' is not 12 digits with its check digit";
  if (auto r = check({problem_of_serial(serial), problem_of(identity), bad_notice}); !r)
    return unexpected(r.error());
  auto op = Operation::begin(db_, clock_, actor);
  if (!op) return unexpected(op.error());
  auto card = load_card(db_, serial);
  if (!card) return unexpected(card.error());
  if (auto r = expect_state(*card, "hand_over", {CardState::issued}); !r)
    return unexpected(r.error());
  auto a = load_application(db_, card->application_id);
  if (!a) return unexpected(a.error());
  if (a->same_day && notice_number)
    return unexpected(
        failure(Kind::invalid_input, "application " + std::to_string(a->id) +
                                         " is a same-day issuance: it has no notice number"));
  if (!a->same_day && (!notice_number || *notice_number != *a->notice_number)) {
    // A refused hand-over is itself part of the audit trail: commit the record of it.
    const json detail = {{"given", notice_number ? json(*notice_number) : json(nullptr)},
                         {"identity", identity_json(identity)}};
    if (auto r = op->record("hand_over_refused", a->id, serial, detail); !r)
      return unexpected(r.error());
    if (auto r = op->commit(); !r) return unexpected(r.error());
    return unexpected(failure(Kind::wrong_notice_number,
                              notice_number
                                  ? "notice number " + str(*notice_number) +
                                        " is not the one of application " + std::to_string(a->id)
                                  : "application " + std::to_string(a->id) +
                                        " is handed over against its notice number only"));
  }
  const json detail = {
      {"identity", identity_json(identity)},
      {"notice_number", a->notice_number ? json(*a->notice_number) : json(nullptr)}};
  if (auto r = move_both(*op, *card, CardState::handed_over, ApplicationState::personalized,
                         ApplicationState::handed_over, "hand_over", detail);
      !r)
    return unexpected(r.error());
  if (auto r = op->commit(); !r) return unexpected(r.error());
  return load_card(db_, serial);
}

Result<Card, RecordsError> Records::activate(std::string_view serial, const Actor& actor) {
  if (auto r = check({problem_of_serial(serial)}); !r) return unexpected(r.error());
  auto op = Operation::begin(db_, clock_, actor);
  if (!op) return unexpected(op.error());
  auto card = load_card(db_, serial);
  if (!card) return unexpected(card.error());
  if (auto r = expect_state(*card, "activate", {CardState::handed_over}); !r)
    return unexpected(r.error());
  if (auto r = move_both(*op, *card, CardState::active, ApplicationState::handed_over,
                         ApplicationState::completed, "activate", json::object());
      !r)
    return unexpected(r.error());
  if (auto r = op->commit(); !r) return unexpected(r.error());
  return load_card(db_, serial);
}

Result<Card, RecordsError> Records::suspend(std::string_view serial, std::string_view reason,
                                            const Actor& actor) {
  if (auto r = check({problem_of_serial(serial), problem_of_reason(reason)}); !r)
    return unexpected(r.error());
  return run_card_move(db_, clock_, actor, serial,
                       {"suspend", {CardState::active}, CardState::suspended, reason});
}

Result<Card, RecordsError> Records::lift_suspension(std::string_view serial,
                                                    const IdentityCheck& identity,
                                                    const Actor& actor) {
  if (auto r = check({problem_of_serial(serial), problem_of(identity)}); !r)
    return unexpected(r.error());
  return run_card_move(db_, clock_, actor, serial,
                       {"lift_suspension",
                        {CardState::suspended},
                        CardState::active,
                        std::nullopt,
                        {{"identity", identity_json(identity)}}});
}

Result<Card, RecordsError> Records::report_lost(std::string_view serial, std::string_view reason,
                                                const Actor& actor) {
  if (auto r = check({problem_of_serial(serial), problem_of_reason(reason)}); !r)
    return unexpected(r.error());
  return run_card_move(
      db_, clock_, actor, serial,
      {"report_lost",
       {CardState::issued, CardState::handed_over, CardState::active, CardState::suspended},
       CardState::lost,
       reason});
}

Result<Card, RecordsError> Records::return_card(std::string_view serial, std::string_view reason,
                                                const Actor& actor) {
  if (auto r = check({problem_of_serial(serial), problem_of_reason(reason)}); !r)
    return unexpected(r.error());
  return run_card_move(db_, clock_, actor, serial,
                       {"return",
                        {CardState::issued, CardState::handed_over, CardState::active,
                         CardState::suspended, CardState::lost},
                        CardState::returned,
                        reason});
}

Result<std::vector<Card>, RecordsError> Records::expire_due(std::string_view today,
                                                            const Actor& actor) {
  if (auto r = check({problem_of_date("today", today)}); !r) return unexpected(r.error());
  auto op = Operation::begin(db_, clock_, actor);
  if (!op) return unexpected(op.error());
  auto due = select_rows(db_, read_card,
                         str(kCardSelect) +
                             "WHERE c.state IN ('issued', 'handed_over', 'active', 'suspended') "
                             "AND c.expiry_date < ?1 ORDER BY c.rowid",
                         today);
  if (!due) return unexpected(due.error());
  std::vector<Card> expired;
  for (const Card& c : *due) {
    const json detail = {{"expiry_date", *c.expiry_date}, {"today", today}};
    if (auto r = move_card(*op, c, CardState::expired, std::nullopt, "expire", detail); !r)
      return unexpected(r.error());
  }
  if (auto r = op->commit(); !r) return unexpected(r.error());
  for (const Card& c : *due) {
    auto now = load_card(db_, c.serial);
    if (!now) return unexpected(now.error());
    expired.push_back(std::move(*now));
  }
  return expired;
}

Result<void, RecordsError> Records::record_password_reset(std::string_view serial,
                                                          const IdentityCheck& identity,
                                                          const Actor& actor) {
  if (auto r = check({problem_of_serial(serial), problem_of(identity)}); !r) return r;
  auto op = Operation::begin(db_, clock_, actor);
  if (!op) return unexpected(op.error());
  auto card = load_card(db_, serial);
  if (!card) return unexpected(card.error());
  if (auto r = expect_state(*card, "password_reset", {CardState::active}); !r) return r;
  if (auto r = op->record("password_reset", card->application_id, serial,
                          {{"identity", identity_json(identity)}});
      !r)
    return r;
  return op->commit();
}

Result<void, RecordsError> Records::record_application_change(std::string_view serial,
                                                              std::string_view operation,
                                                              std::string_view app,
                                                              std::string_view aid,
                                                              const Actor& actor) {
  constexpr std::string_view kOperations[] = {"install", "delete", "lock", "unlock"};
  std::optional<std::string> problem;
  const auto aid_bytes = from_hex(aid);
  if (std::find(std::begin(kOperations), std::end(kOperations), operation) == std::end(kOperations))
    problem = "operation '" + str(operation) + "' is not install, delete, lock or unlock";
  else if (app.empty() || app.size() > 64)
    problem = "the application's name must have 1 to 64 bytes";
  else if (!aid_bytes || aid_bytes->size() < 5 || aid_bytes->size() > 16)
    problem = "AID '" + str(aid) + "' is not 5 to 16 bytes of hex";
  if (auto r = check({problem_of_serial(serial), problem}); !r) return r;
  auto op = Operation::begin(db_, clock_, actor);
  if (!op) return unexpected(op.error());
  auto card = load_card(db_, serial);
  if (!card) return unexpected(card.error());
  if (auto r = expect_state(*card, "municipal_application", {CardState::active}); !r) return r;
  if (auto r = op->record(
          "municipal_application", card->application_id, serial,
          {{"operation", str(operation)}, {"app", str(app)}, {"aid", to_hex(*aid_bytes)}});
      !r)
    return r;
  return op->commit();
}

Result<WindowCheck, RecordsError> Records::window_check(std::string_view serial,
                                                        std::string_view today) {
  using Verdict = WindowCheck::Verdict;
  if (auto r = check({problem_of_serial(serial), problem_of_date("today", today)}); !r)
    return unexpected(r.error());
  auto found = find_card(db_, serial);
  if (!found) return unexpected(found.error());
  if (!*found)
    return WindowCheck{Verdict::unknown_card, "no card " + str(serial) + " was issued", {}};
  const Card& c = **found;
  // The date first: a card past its expiry is refused before expire_due marks it.
  if (valid_card_state(c.state) && *c.expiry_date < today)
    return WindowCheck{Verdict::expired, "the card expired on " + *c.expiry_date, c};
  switch (c.state) {
    case CardState::active:
      return WindowCheck{Verdict::accepted, "active until " + *c.expiry_date, c};
    case CardState::personalizing:
    case CardState::issued:
    case CardState::handed_over:
      return WindowCheck{Verdict::not_activated,
                         "the card is " + str(to_string(c.state)) + ", not activated", c};
    case CardState::spoiled:
      return WindowCheck{Verdict::spoiled, "the card was spoiled in personalization", c};
    case CardState::suspended:
      return WindowCheck{Verdict::suspended, "the card is suspended: " + c.reason.value_or(""), c};
    case CardState::lost:
      return WindowCheck{Verdict::lost, "the card was reported lost", c};
    case CardState::returned:
      return WindowCheck{Verdict::returned, "the card was returned", c};
    case CardState::expired:
      return WindowCheck{Verdict::expired, "the card expired on " + *c.expiry_date, c};
  }
  return unexpected(failure(Kind::storage, "card " + c.serial + " in an unknown state"));
}

// ------------------------------------------------------------ reading

Result<Application, RecordsError> Records::application(std::int64_t id) {
  return load_application(db_, id);
}

Result<Application, RecordsError> Records::application_by_notice(std::string_view notice_number) {
  auto rows = select_rows(db_, read_application,
                          str(kApplicationSelect) + "WHERE notice_number = ?1", notice_number);
  if (!rows) return unexpected(rows.error());
  if (rows->empty())
    return unexpected(
        failure(Kind::not_found, "no application with notice number " + str(notice_number)));
  return std::move(rows->front());
}

Result<std::vector<Application>, RecordsError> Records::applications(
    std::optional<ApplicationState> state) {
  if (!state) return select_rows(db_, read_application, str(kApplicationSelect) + "ORDER BY id");
  return select_rows(db_, read_application,
                     str(kApplicationSelect) + "WHERE state = ?1 ORDER BY id", to_string(*state));
}

Result<std::optional<Received>, RecordsError> Records::latest_application(
    std::string_view resident_code) {
  if (auto r = check({problem_of_resident_code(resident_code)}); !r) return unexpected(r.error());
  auto rows =
      select_rows(db_, read_application,
                  str(kApplicationSelect) +
                      "WHERE id = (SELECT max(id) FROM applications WHERE resident_code = ?1)",
                  resident_code);
  if (!rows) return unexpected(rows.error());
  if (rows->empty()) return std::optional<Received>();
  // A second statement: the intake event is never updated (the audit trail
  // is append-only), so it is the application's whatever changed in between.
  auto st = prepared(db_,
                     "SELECT json_extract(detail, '$.identity.document'), "
                     "json_extract(detail, '$.identity.number') FROM events "
                     "WHERE application_id = ?1 AND action = 'intake'",
                     rows->front().id);
  if (!st) return unexpected(st.error());
  auto row = st->step();
  if (!row) return unexpected(storage(row.error()));
  if (!*row || st->is_null(0))
    return unexpected(failure(
        Kind::storage, "application " + std::to_string(rows->front().id) + " has no intake event"));
  return std::optional(Received{std::move(rows->front()), {st->text(0), st->optional_text(1)}});
}

Result<Card, RecordsError> Records::card(std::string_view serial) {
  return load_card(db_, serial);
}

Result<std::vector<Card>, RecordsError> Records::cards_of(std::string_view resident_code) {
  return select_rows(db_, read_card,
                     str(kCardSelect) + "WHERE a.resident_code = ?1 ORDER BY c.rowid",
                     resident_code);
}

Result<Summary, RecordsError> Records::summary() {
  // One statement: both counts come from the same snapshot.
  auto st = prepared(db_,
                     "SELECT 'application', state, count(*) FROM applications GROUP BY state "
                     "UNION ALL SELECT 'card', state, count(*) FROM cards GROUP BY state");
  if (!st) return unexpected(st.error());
  Summary s;
  for (ApplicationState a : kApplicationStates) s.applications[a] = 0;
  for (CardState c : kCardStates) s.cards[c] = 0;
  for (;;) {
    auto row = st->step();
    if (!row) return unexpected(storage(row.error()));
    if (!*row) return s;
    const std::string table = st->text(0);
    const std::string state = st->text(1);
    const auto application = application_state_from(state);
    const auto card = card_state_from(state);
    if (table == "application" && application)
      s.applications[*application] = st->integer(2);
    else if (table == "card" && card)
      s.cards[*card] = st->integer(2);
    else
      return unexpected(failure(Kind::storage, "a " + table + " in an unknown state " + state));
  }
}

// ------------------------------------------------------------ the audit trail

Result<std::vector<Event>, RecordsError> Records::events_of_application(std::int64_t id) {
  return select_rows(db_, read_event, str(kEventSelect) + "WHERE application_id = ?1 ORDER BY seq",
                     id);
}

Result<std::vector<Event>, RecordsError> Records::events_of_card(std::string_view serial) {
  return select_rows(db_, read_event, str(kEventSelect) + "WHERE card_serial = ?1 ORDER BY seq",
                     serial);
}

Result<std::vector<Event>, RecordsError> Records::events(std::int64_t after, std::size_t limit) {
  return select_rows(db_, read_event, str(kEventSelect) + "WHERE seq > ?1 ORDER BY seq LIMIT ?2",
                     after, static_cast<std::int64_t>(limit));
}

}  // namespace juki::records
