#include "backend/store/pool.hpp"

#include <condition_variable>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace juki::backend::store {

struct Pool::State {
  std::string url;
  PoolOptions options;
  std::string engine;
  mutable std::mutex mutex;
  std::condition_variable returned;
  std::vector<Connection> idle;  // guarded by mutex
  std::size_t lost = 0;          // guarded by mutex: connections to open again on demand
};

Result<Pool, Error> Pool::open(std::string_view url, const PoolOptions& options) {
  if (options.connections == 0) {
    return unexpected(Error{Error::Kind::invalid, "pool: at least one connection is needed"});
  }
  auto state = std::make_shared<State>();
  state->url = std::string(url);
  state->options = options;
  state->idle.reserve(options.connections);
  for (std::size_t i = 0; i < options.connections; ++i) {
    auto connection = Connection::open(url, options.connect);
    if (!connection) return unexpected(connection.error());
    state->idle.push_back(std::move(connection).value());
  }
  state->engine = std::string(state->idle.front().engine());
  return Pool(std::move(state));
}

Result<Pool::Lease, Error> Pool::acquire() {
  return acquire(state_->options.acquire_timeout);
}

Result<Pool::Lease, Error> Pool::acquire(std::chrono::milliseconds timeout) {
  std::unique_lock lock(state_->mutex);
  const bool available = state_->returned.wait_for(
      lock, timeout, [&] { return !state_->idle.empty() || state_->lost > 0; });
  if (!available) {
    return unexpected(Error{Error::Kind::busy_or_serialization,
                            state_->engine + ": pool exhausted: all " +
                                std::to_string(state_->options.connections) +
                                " connections are in use and none came back within " +
                                std::to_string(timeout.count()) + " ms"});
  }
  if (!state_->idle.empty()) {
    Connection connection = std::move(state_->idle.back());
    state_->idle.pop_back();
    return Lease(state_, std::move(connection));
  }
  // Replace a lost connection, without holding the others up meanwhile.
  --state_->lost;
  lock.unlock();
  auto reopened = Connection::open(state_->url, state_->options.connect);
  if (!reopened) {
    lock.lock();
    ++state_->lost;
    state_->returned.notify_one();
    return unexpected(reopened.error());
  }
  return Lease(state_, std::move(reopened).value());
}

std::size_t Pool::size() const {
  return state_->options.connections;
}

std::size_t Pool::idle() const {
  std::lock_guard lock(state_->mutex);
  return state_->idle.size();
}

std::string_view Pool::engine() const {
  return state_->engine;
}

Pool::Lease::~Lease() {
  if (!pool_ || !connection_) return;
  // Never hand out a connection in the middle of someone's transaction.
  connection_->end_any_transaction();
  const bool usable = connection_->usable();
  {
    std::lock_guard lock(pool_->mutex);
    if (usable) {
      pool_->idle.push_back(std::move(*connection_));
    } else {
      ++pool_->lost;
    }
  }
  connection_.reset();
  pool_->returned.notify_one();
}

}  // namespace juki::backend::store
