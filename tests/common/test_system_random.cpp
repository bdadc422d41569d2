// SystemRandom: getrandom drawn through a 256-byte pool. What a card needs of
// it: every byte asked for is filled, across pool boundaries, and no byte is
// handed out twice.
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <vector>

#include "common/bytes.hpp"
#include "common/system_random.hpp"

using juki::Bytes;

TEST_CASE("system random: fills of any size, across pool refills, never repeat", "[random]") {
  juki::SystemRandom random;
  // 8-byte challenges, the common case: 1000 of them span 31 refills. Two equal
  // draws of 64 random bits would mean a byte handed out twice (or a broken
  // source), not chance.
  std::set<Bytes> seen;
  for (int i = 0; i < 1000; ++i) {
    Bytes challenge(8);
    random.fill(challenge);
    CHECK(seen.insert(challenge).second);
  }
  // Sizes around and beyond the pool: the whole request is filled, not just
  // what was left in the pool. 32 bytes of zeros in a row would be a gap.
  for (std::size_t size : {1u, 255u, 256u, 257u, 1000u, 4096u}) {
    Bytes out(size, 0);
    random.fill(out);
    const Bytes zeros(32, 0);
    INFO("size " << size);
    CHECK(std::search(out.begin(), out.end(), zeros.begin(), zeros.end()) == out.end());
  }
  Bytes none;
  random.fill(none);  // an empty request is allowed and draws nothing
  CHECK(none.empty());
}
