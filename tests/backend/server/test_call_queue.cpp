// A server's work capacity: `workers` calls worked on at once, `waiting` more
// queued, the next refused at once as RESOURCE_EXHAUSTED; what was queued is
// done, in order of arrival, even when the queue stops.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "backend/server/call_queue.hpp"
#include "backend/wire/juki_net.grpc.pb.h"

using juki::backend::server::CallQueue;

namespace {

// Work that blocks until opened, and counts what ran.
struct Gate {
  std::mutex mutex;
  std::condition_variable changed;
  bool open = false;
  int running = 0;
  std::vector<int> done;

  std::function<void()> job(int id) {
    return [this, id] {
      std::unique_lock lock(mutex);
      ++running;
      changed.notify_all();
      changed.wait(lock, [this] { return open; });
      --running;
      done.push_back(id);
      changed.notify_all();
    };
  }
  void wait_running(int n) {
    std::unique_lock lock(mutex);
    REQUIRE(changed.wait_for(lock, std::chrono::seconds(10), [&] { return running == n; }));
  }
  void wait_done(std::size_t n) {
    std::unique_lock lock(mutex);
    REQUIRE(changed.wait_for(lock, std::chrono::seconds(10), [&] { return done.size() == n; }));
  }
  void release() {
    std::lock_guard lock(mutex);
    open = true;
    changed.notify_all();
  }
};

}  // namespace

TEST_CASE("a call queue works on `workers` calls, queues `waiting` more and sheds the next") {
  Gate gate;
  CallQueue queue(2, 1);
  CHECK(queue.submit(gate.job(1)));
  CHECK(queue.submit(gate.job(2)));
  gate.wait_running(2);              // both workers busy
  CHECK(queue.submit(gate.job(3)));  // waits
  CHECK_FALSE(queue.submit(gate.job(4)));
  CHECK_FALSE(queue.submit(gate.job(5)));
  CHECK(queue.shed() == 2);
  CHECK(queue.overloaded().error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  CHECK(queue.overloaded().error_message() ==
        "overloaded: 2 calls in progress and 1 waiting; retry later");
  {
    std::lock_guard lock(gate.mutex);
    CHECK(gate.running == 2);  // the third waits: no third worker
  }
  gate.release();
  gate.wait_done(3);
  std::sort(gate.done.begin(), gate.done.end());
  CHECK(gate.done == std::vector<int>{1, 2, 3});
  // Capacity is given back as calls end.
  CHECK(queue.submit(gate.job(6)));
  gate.wait_done(4);
  CHECK(queue.shed() == 2);
}

TEST_CASE("a call queue with no waiting places sheds whatever finds every worker busy") {
  Gate gate;
  CallQueue queue(1, 0);
  CHECK(queue.submit(gate.job(1)));
  gate.wait_running(1);
  CHECK_FALSE(queue.submit(gate.job(2)));
  gate.release();
  gate.wait_done(1);
}

TEST_CASE("a stopping call queue finishes what it queued and then refuses") {
  Gate gate;
  CallQueue queue(1, 4);
  for (int id = 1; id <= 4; ++id) CHECK(queue.submit(gate.job(id)));
  gate.wait_running(1);
  gate.release();
  queue.stop();  // returns once the queue is empty and its workers are gone
  CHECK(gate.done == std::vector<int>{1, 2, 3, 4});  // one worker: arrival order
  CHECK_FALSE(queue.submit(gate.job(5)));
  queue.stop();  // twice is fine
}

namespace {

// Lookups served through a call queue of one worker; each call's work waits
// at `gate` and is counted.
class GatedLookups final : public juki::net::v1::IdentityLookup::CallbackService {
 public:
  GatedLookups(CallQueue& queue, Gate& gate) : queue_(queue), gate_(gate) {}
  grpc::ServerUnaryReactor* Lookup(grpc::CallbackServerContext* context,
                                   const juki::net::v1::LookupRequest*,
                                   juki::net::v1::LookupReply*) override {
    return queue_.serve(context, [this] {
      ++worked;
      gate_.job(0)();
      return grpc::Status::OK;
    });
  }
  std::atomic<int> worked{0};

 private:
  CallQueue& queue_;
  Gate& gate_;
};

grpc::Status lookup(juki::net::v1::IdentityLookup::Stub& stub, std::chrono::milliseconds within) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + within);
  juki::net::v1::LookupRequest request;
  juki::net::v1::LookupReply reply;
  return stub.Lookup(&context, request, &reply);
}

}  // namespace

TEST_CASE("over gRPC, a call queue sheds at once and skips the work of a call given up on") {
  Gate gate;
  CallQueue queue(1, 1);
  GatedLookups service(queue, gate);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  auto server = builder.BuildAndStart();
  REQUIRE(port != 0);
  auto stub = juki::net::v1::IdentityLookup::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));

  // The first call holds the worker.
  grpc::Status first;
  std::thread holder([&] { first = lookup(*stub, std::chrono::seconds(30)); });
  gate.wait_running(1);
  // The second waits for it, and its client gives up after 300 ms.
  grpc::Status second;
  std::thread waiter([&] { second = lookup(*stub, std::chrono::milliseconds(300)); });
  for (int i = 0; i < 1000 && queue.waiting() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  REQUIRE(queue.waiting() == 1);
  // A third finds no room: shed while the holder still holds the worker.
  const grpc::Status third = lookup(*stub, std::chrono::seconds(30));
  CHECK(third.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  CHECK(third.error_message() == "overloaded: 1 calls in progress and 1 waiting; retry later");
  waiter.join();
  CHECK(second.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED);

  gate.release();
  holder.join();
  CHECK(first.ok());
  // The worker then finds the second call given up on, and skips its work.
  for (int i = 0; i < 500 && queue.abandoned() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(queue.abandoned() == 1);
  CHECK(service.worked == 1);
  server->Shutdown();
  queue.stop();
}
