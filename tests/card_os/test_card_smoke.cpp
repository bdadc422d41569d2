#include "support/test_card.hpp"

using namespace juki;
using juki::test::TestCard;

TEST_CASE("smoke: blank card personalizes, activates and reads") {
  auto c = TestCard::active();
  c->expect("00A4040C09F04A554B4944454D4F", 0x9000);
  c->expect("00A4020C025001", 0x9000);
  Bytes d = c->expect("00B0000010", 0x9000);
  CHECK(std::string(d.begin(), d.end()) == "Juki card OS sam");
}
