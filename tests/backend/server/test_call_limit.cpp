// A server's work capacity: at most max calls at once, the next one refused
// at once as RESOURCE_EXHAUSTED, and a slot given back when its call ends.
#include <catch2/catch.hpp>

#include <vector>

#include "backend/server/call_limit.hpp"

using juki::backend::server::CallLimit;

TEST_CASE("a call limit admits max calls at once, sheds the next and counts what it shed") {
  CallLimit limit(2);
  std::vector<CallLimit::Slot> slots;
  for (int i = 0; i < 2; ++i) {
    auto slot = limit.enter();
    REQUIRE(slot);
    slots.push_back(std::move(*slot));
  }
  CHECK_FALSE(limit.enter());
  CHECK_FALSE(limit.enter());
  CHECK(limit.shed() == 2);
  CHECK(limit.overloaded().error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  CHECK(limit.overloaded().error_message() == "overloaded: 2 calls in progress; retry later");
  slots.pop_back();  // a call ends
  CHECK(limit.enter());
  CHECK(limit.shed() == 2);
}
