// Every storage engine, for the backend's tests: a test case written once
// runs on SQLite and on PostgreSQL.
//
//   TEST_CASE("...") {
//     const std::string engine = JUKI_EACH_STORE_ENGINE();
//     juki::test::ScratchStore store(engine);      // a fresh, empty database
//     auto db = store.connect();
//     ...
//   }
//
// PostgreSQL is the project's own cluster (tests/backend/pg.cmake), whose
// conninfo CTest gives in JUKI_TEST_PG; each ScratchStore is a database of
// its own (CREATE DATABASE juki_test_<random>, dropped at the end), so tests
// run in parallel. JUKI_TEST_ENGINES=sqlite (or postgresql) narrows the list,
// e.g. to run a test binary by hand without the cluster; without it, a
// missing JUKI_TEST_PG fails the test rather than skipping PostgreSQL.
#pragma once

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "backend/store/store.hpp"
#include "support/temp_dir.hpp"

namespace juki::test {

inline std::vector<std::string> store_engines() {
  const char* only = std::getenv("JUKI_TEST_ENGINES");
  if (!only || !*only) return {"sqlite", "postgresql"};
  std::vector<std::string> engines;
  std::stringstream list(only);
  for (std::string name; std::getline(list, name, ',');) {
    if (!name.empty()) engines.push_back(name);
  }
  return engines;
}

// The admin conninfo of the test cluster; fails the test when it is missing.
inline std::string test_pg_conninfo() {
  const char* conninfo = std::getenv("JUKI_TEST_PG");
  if (!conninfo || !*conninfo) {
    FAIL(
        "JUKI_TEST_PG is not set: run the test through ctest (the juki_pg fixture starts "
        "PostgreSQL), or start one with scripts/pg-cluster start DIR and set JUKI_TEST_PG to "
        "its conninfo, or set JUKI_TEST_ENGINES=sqlite");
  }
  return conninfo;
}

inline std::string random_suffix() {
  std::random_device seed;
  std::uniform_int_distribution<std::uint64_t> any;
  std::ostringstream hex;
  hex << std::hex << any(seed);
  return hex.str();
}

// The value of a store call that must succeed; its error fails the test.
template <class T>
T ok(Result<T, backend::store::Error> result) {
  if (!result) FAIL(result.error().message);
  return std::move(result).value();
}
inline void ok(const Result<void, backend::store::Error>& result) {
  if (!result) FAIL(result.error().message);
}

// Options for a pool of `connections` (designated initializers that leave
// fields out trip GCC 12's -Wmissing-field-initializers).
inline backend::store::PoolOptions pool_options(
    std::size_t connections,
    std::chrono::milliseconds acquire_timeout = std::chrono::milliseconds(5000)) {
  backend::store::PoolOptions options;
  options.connections = connections;
  options.acquire_timeout = acquire_timeout;
  return options;
}

// A fresh, empty database on one engine, removed when the test ends.
class ScratchStore {
 public:
  explicit ScratchStore(const std::string& engine) : engine_(engine) {
    if (engine == "sqlite") {
      dir_ = std::make_unique<TempDir>();
      url_ = "sqlite:" + dir_->file("store.db");
    } else if (engine == "postgresql") {
      admin_ = test_pg_conninfo();
      database_ = "juki_test_" + random_suffix();
      auto admin = backend::store::Connection::open("postgresql:" + admin_);
      if (!admin) FAIL(admin.error().message);
      auto made = admin->execute_script("CREATE DATABASE " + database_ + " TEMPLATE template0");
      if (!made) FAIL(made.error().message);
      url_ = "postgresql:" + admin_ + " dbname=" + database_;
    } else {
      FAIL("unknown store engine '" << engine << "' (sqlite or postgresql)");
    }
  }
  ~ScratchStore() {
    if (!database_.empty()) {
      // FORCE: a connection a failed test left open does not keep it.
      if (auto admin = backend::store::Connection::open("postgresql:" + admin_)) {
        (void)admin->execute_script("DROP DATABASE IF EXISTS " + database_ + " WITH (FORCE)");
      }
    }
  }
  ScratchStore(const ScratchStore&) = delete;
  ScratchStore& operator=(const ScratchStore&) = delete;

  const std::string& engine() const { return engine_; }
  const std::string& url() const { return url_; }

  backend::store::Connection connect(const backend::store::ConnectOptions& options = {}) const {
    auto c = backend::store::Connection::open(url_, options);
    if (!c) FAIL(c.error().message);
    return std::move(c).value();
  }

 private:
  std::string engine_;
  std::string url_;
  std::unique_ptr<TempDir> dir_;  // SQLite
  std::string admin_;             // PostgreSQL
  std::string database_;
};

}  // namespace juki::test

// One engine's name per run of the enclosing test case (a Catch2 generator).
#define JUKI_EACH_STORE_ENGINE() \
  GENERATE(Catch::Generators::from_range(juki::test::store_engines()))
