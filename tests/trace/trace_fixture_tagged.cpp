// A Catch2 program for juki-trace's tests: tests tagged [req:ID] (one with
// two, one in lower case, one untagged), listed by the real Catch2.
#include <catch2/catch.hpp>

TEST_CASE("fixture: the card locks after three wrong passwords", "[card][req:T1]") {
  CHECK(true);
}

TEST_CASE("fixture: a second test of the same requirement, and of another", "[req:T1][req:t2.1]") {
  CHECK(true);
}

TEST_CASE("fixture: a test of nothing in the table", "[card]") {
  CHECK(true);
}
