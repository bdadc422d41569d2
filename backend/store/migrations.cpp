#include "backend/store/migrations.hpp"

#include <chrono>
#include <ctime>
#include <optional>
#include <string>

namespace juki::backend::store {

namespace {

constexpr std::string_view kTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " schema TEXT NOT NULL,"
    " version INTEGER NOT NULL,"
    " applied_at TEXT NOT NULL,"
    " PRIMARY KEY (schema, version))";

// Every migrator takes the same lock, whatever its schema: creating
// schema_migrations itself must not race either. ("JUKIMIGR")
constexpr std::int64_t kMigrationLock = 0x4A554B494D494752;

std::string now_utc() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

Error about_schema(const Connection& c, std::string_view schema, Error e) {
  e.message =
      std::string(c.engine()) + ": migrating schema '" + std::string(schema) + "': " + e.message;
  return e;
}

}  // namespace

Result<int, Error> schema_version(Connection& connection, std::string_view schema) {
  // The table's absence is not an error: asked without a transaction, so a
  // failed read dooms nothing; asked in one, it must exist (migrate made it).
  if (!connection.in_transaction()) {
    auto exists = connection.query_one(
        connection.engine() == "sqlite"
            ? "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = "
              "'schema_migrations'"
            : "SELECT count(*) FROM pg_catalog.pg_tables WHERE tablename = 'schema_migrations' "
              "AND schemaname = current_schema()");
    if (!exists) return unexpected(exists.error());
    if (exists->integer(0) == 0) return 0;
  }
  auto version = connection.query_one(
      "SELECT COALESCE(MAX(version), 0) FROM schema_migrations WHERE schema = $1",
      {std::string(schema)});
  if (!version) return unexpected(version.error());
  return static_cast<int>(version->integer(0));
}

Result<Migrated, Error> migrate(Connection& connection, std::string_view schema,
                                std::span<const std::string_view> steps) {
  if (schema.empty()) {
    return unexpected(Error{Error::Kind::invalid, std::string(connection.engine()) +
                                                      ": migrate: the schema needs a name"});
  }
  if (connection.in_transaction()) {
    return unexpected(about_schema(
        connection, schema,
        Error{Error::Kind::invalid, "each step runs in its own transaction: call it outside one"}));
  }
  const int known = static_cast<int>(steps.size());
  std::optional<int> before;
  for (;;) {
    // One step per transaction, under the lock; a busy lock is retried.
    auto done = run_transaction(connection, [&](Connection& c) -> Result<bool, Error> {
      if (c.engine() == "postgresql") {
        if (auto locked = c.query("SELECT pg_advisory_xact_lock($1)", {kMigrationLock}); !locked) {
          return unexpected(locked.error());
        }
      }  // SQLite: BEGIN IMMEDIATE already holds the only write lock
      if (auto made = c.execute_script(kTable); !made) return unexpected(made.error());
      auto current = schema_version(c, schema);
      if (!current) return unexpected(current.error());
      if (!before) before = *current;
      if (*current > known) {
        return unexpected(Error{Error::Kind::schema,
                                "the database is at version " + std::to_string(*current) +
                                    ", newer than the " + std::to_string(known) +
                                    " this program knows: it was written by a newer program"});
      }
      if (*current == known) return true;
      const int version = *current + 1;
      if (auto applied = c.execute_script(steps[static_cast<std::size_t>(version - 1)]); !applied) {
        Error e = applied.error();
        e.message = "step " + std::to_string(version) + " failed: " + e.message;
        return unexpected(std::move(e));
      }
      if (auto recorded = c.execute(
              "INSERT INTO schema_migrations (schema, version, applied_at) VALUES ($1, $2, $3)",
              {std::string(schema), std::int64_t{version}, now_utc()});
          !recorded) {
        return unexpected(recorded.error());
      }
      return false;
    });
    if (!done) return unexpected(about_schema(connection, schema, done.error()));
    if (*done) return Migrated{*before, known};
  }
}

Result<Migrated, Error> migrate(Connection& connection, std::string_view schema,
                                std::initializer_list<std::string_view> steps) {
  return migrate(connection, schema,
                 std::span<const std::string_view>(steps.begin(), steps.size()));
}

}  // namespace juki::backend::store
