// Versioned schemas: a server's schema is an ordered list of steps (SQL
// scripts, version = position + 1), applied once each, in order, each in its
// own transaction. The applied versions are recorded in
//
//   schema_migrations(schema TEXT, version INTEGER, applied_at TEXT)
//
// so several schemas (the CS's, a cache's, ...) can share one database. A
// database whose recorded version is newer than the steps this program knows
// is refused (Error::Kind::schema): it was written by a newer program. Two
// processes migrating at once do not both apply a step: each step runs under
// a lock (SQLite's immediate transaction; PostgreSQL's
// pg_advisory_xact_lock), and the one that waited finds it applied.
#pragma once

#include <initializer_list>
#include <span>
#include <string_view>

#include "backend/store/connection.hpp"
#include "common/result.hpp"

namespace juki::backend::store {

struct Migrated {
  int before = 0;  // the schema's version found (0: none yet)
  int after = 0;   // the version now, steps.size()
};

// Steps use the dialect tokens ({BLOB}, {BIGSERIAL_PK}), no parameters, and
// no transaction control of their own. Once released, a step never changes:
// a change to the schema is a new step.
Result<Migrated, Error> migrate(Connection& connection, std::string_view schema,
                                std::span<const std::string_view> steps);
Result<Migrated, Error> migrate(Connection& connection, std::string_view schema,
                                std::initializer_list<std::string_view> steps);

// The schema's recorded version, 0 when it has none (or there is no
// schema_migrations table yet).
Result<int, Error> schema_version(Connection& connection, std::string_view schema);

}  // namespace juki::backend::store
