// The records file: its schema, creating one, and opening one (bringing a
// version 1 file to version 2 on the way).
#include <string>

#include "common/check_digits.hpp"
#include "records/records.hpp"
#include "records/records_internal.hpp"

namespace juki::records {

namespace {

// "JUKI" in PRAGMA application_id: tells a records file from any other SQLite file.
constexpr std::int32_t kApplicationId = 0x4A554B49;
// Several processes (a counter, batch readers) share the file: a writer waits
// this long for another's transaction before giving up with kind storage.
constexpr int kBusyTimeoutMs = 30000;

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

}  // namespace juki::records
