// A fixed number of connections to one store, shared by a server's threads:
// acquire() lends one (waiting a bounded time when all are lent), and the
// lease gives it back when it ends, with any transaction it left open rolled
// back. A connection found lost is replaced on a later acquire().
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string_view>

#include "backend/store/connection.hpp"
#include "common/result.hpp"

namespace juki::backend::store {

struct PoolOptions {
  std::size_t connections = 4;
  // How long acquire() waits for a connection to come back before failing
  // with busy_or_serialization.
  std::chrono::milliseconds acquire_timeout{5000};
  ConnectOptions connect;
};

class Pool {
 public:
  struct State;

  // A lent connection. A Transaction begun on it must end before the lease.
  class Lease {
   public:
    Connection& operator*() { return *connection_; }
    Connection* operator->() { return &*connection_; }

    Lease(Lease&&) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease();

   private:
    friend class Pool;
    Lease(std::shared_ptr<State> pool, Connection connection)
        : pool_(std::move(pool)), connection_(std::move(connection)) {}
    std::shared_ptr<State> pool_;  // null once moved from
    std::optional<Connection> connection_;
  };

  // Opens all the connections now, so that a wrong URL fails at start-up.
  static Result<Pool, Error> open(std::string_view url, const PoolOptions& options = {});

  Result<Lease, Error> acquire();
  Result<Lease, Error> acquire(std::chrono::milliseconds timeout);

  std::size_t size() const;
  std::size_t idle() const;  // connections not lent now
  std::string_view engine() const;

 private:
  explicit Pool(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;  // leases keep it alive
};

}  // namespace juki::backend::store
