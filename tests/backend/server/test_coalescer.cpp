// Calls that arrive together are answered as one batch: each caller gets its
// own answer, a caller alone is not kept waiting, batches grow while one
// runs, and no more than max_running run at once.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "backend/server/coalescer.hpp"

using juki::backend::server::Coalescer;

namespace {

// A batch runner that blocks until opened, and records each batch's size and
// how many ran at once.
struct Runner {
  std::mutex mutex;
  std::condition_variable changed;
  bool open = false;
  int running = 0, most_running = 0;
  std::vector<std::size_t> sizes;

  std::vector<int> run(const std::vector<int>& items) {
    std::unique_lock lock(mutex);
    ++running;
    most_running = std::max(most_running, running);
    sizes.push_back(items.size());
    changed.notify_all();
    changed.wait(lock, [this] { return open; });
    --running;
    std::vector<int> answers;
    for (int item : items) answers.push_back(item * 10);
    return answers;
  }
  void wait_batches(std::size_t n) {
    std::unique_lock lock(mutex);
    REQUIRE(changed.wait_for(lock, std::chrono::seconds(10), [&] { return sizes.size() >= n; }));
  }
  void release() {
    std::lock_guard lock(mutex);
    open = true;
    changed.notify_all();
  }
};

}  // namespace

TEST_CASE("a caller alone runs a batch of one at once") {
  Runner runner;
  runner.release();
  Coalescer<int, int> c(1, 8, [&](const std::vector<int>& items) { return runner.run(items); });
  CHECK(c.call(4) == 40);
  CHECK(c.call(5) == 50);
  CHECK(runner.sizes == std::vector<std::size_t>{1, 1});
  CHECK(c.batches_and_calls() == std::pair<long, long>{2, 2});
}

TEST_CASE("calls that wait while a batch runs go together in the next, each with its answer") {
  Runner runner;
  Coalescer<int, int> c(1, 4, [&](const std::vector<int>& items) { return runner.run(items); });
  std::vector<int> answers(11, -1);
  std::vector<std::thread> callers;
  callers.emplace_back([&] { answers[0] = c.call(0); });
  runner.wait_batches(1);  // the first runs alone and holds the only place
  for (int i = 1; i <= 10; ++i) callers.emplace_back([&, i] { answers[i] = c.call(i); });
  // All ten wait: one batch at a time, and it is running.
  for (int spin = 0; spin < 5000 && c.waiting() < 10; ++spin)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  REQUIRE(c.waiting() == 10);
  runner.release();
  for (auto& t : callers) t.join();
  for (int i = 0; i <= 10; ++i) CHECK(answers[i] == i * 10);
  std::lock_guard lock(runner.mutex);
  CHECK(runner.most_running == 1);
  CHECK(runner.sizes.front() == 1);
  std::size_t total = 0;
  for (auto n : runner.sizes) {
    CHECK(n <= 4);  // max_batch
    total += n;
  }
  CHECK(total == 11);
  CHECK(runner.sizes.size() == 4);  // 1, then the ten as 4, 4 and 2
}

TEST_CASE("no more than max_running batches run at once") {
  Runner runner;
  Coalescer<int, int> c(2, 1, [&](const std::vector<int>& items) { return runner.run(items); });
  std::vector<std::thread> callers;
  std::atomic<int> sum{0};
  for (int i = 1; i <= 6; ++i) callers.emplace_back([&, i] { sum += c.call(i); });
  runner.wait_batches(2);
  {
    std::lock_guard lock(runner.mutex);
    CHECK(runner.running == 2);
  }
  runner.release();
  for (auto& t : callers) t.join();
  CHECK(sum == 210);
  std::lock_guard lock(runner.mutex);
  CHECK(runner.most_running == 2);
  CHECK(runner.sizes.size() == 6);  // max_batch 1
}
