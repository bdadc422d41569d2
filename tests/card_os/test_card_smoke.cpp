#include <optional>
#include <string_view>
#include <vector>

#include "card_os/apps/application.hpp"
#include "card_os/apps/standard.hpp"
#include "support/test_card.hpp"

using namespace juki;
using juki::test::hex;
using juki::test::TestCard;

TEST_CASE("smoke: blank card personalizes, activates and reads") {
  auto c = TestCard::active();
  c->expect("00A4040C09F04A554B4944454D4F", 0x9000);
  c->expect("00A4020C025001", 0x9000);
  Bytes d = c->expect("00B0000010", 0x9000);
  CHECK(std::string(d.begin(), d.end()) == "Juki card OS sam");
}

namespace {

// Code of its own for the demo DF: answers 80 01 with its name.
class Echo final : public card_os::apps::Application {
 public:
  ByteView aid() const override { return aid_; }
  std::string_view name() const override { return "echo"; }
  std::optional<card_os::Reply> process(card_os::AppServices&,
                                        const apdu::Command& c) const override {
    if (c.cla != 0x80 || c.ins != 0x01) return std::nullopt;
    return card_os::Reply{Bytes{'e', 'c', 'h', 'o'}, sw::kOk};
  }

 private:
  Bytes aid_ = hex("F04A554B4944454D4F");
};

}  // namespace

TEST_CASE("smoke: a card runs the applications it is powered up with, and no others") {
  auto c = TestCard::active();
  card_os::MemoryStorage storage(c->storage().bytes().size());
  storage.bytes() = c->storage().bytes();
  card_os::DrbgRandom random(as_bytes("applications"));

  const Echo echo;
  const card_os::apps::Application* const with_echo[] = {&echo};
  auto card = card_os::Card::power_up(storage, random, with_echo);
  REQUIRE(card.ok());
  CHECK((*card)->transmit(hex("00A4040C09F04A554B4944454D4F")) == hex("9000"));
  CHECK((*card)->transmit(hex("8001000000")) == hex("6563686F9000"));

  // The standard set has no code for the demo DF: the card OS answers.
  auto standard = card_os::Card::power_up(storage, random);
  REQUIRE(standard.ok());
  CHECK((*standard)->transmit(hex("00A4040C09F04A554B4944454D4F")) == hex("9000"));
  CHECK((*standard)->transmit(hex("8001000000")) == hex("6D00"));

  std::vector<std::string_view> names;
  for (const card_os::apps::Application* app : card_os::apps::standard_applications())
    names.push_back(app->name());
  CHECK(names == std::vector<std::string_view>{"JPKI", "Juki AP", "card manager"});
}
