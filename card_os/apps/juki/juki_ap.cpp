#include "card_os/apps/juki/juki_ap.hpp"

#include <string_view>

#include "common/card_information.hpp"
#include "common/check_digits.hpp"

namespace juki::card_os::apps::juki_ap {

namespace {

static_assert(kCardInfoSize == card_information::kSize);

bool content_valid(AppServices& card, std::uint16_t fid, ByteView data) {
  if (fid == kResidentCodeEf)
    return check_digits::resident_code_valid(
        std::string_view(reinterpret_cast<const char*>(data.data()), data.size()));
  return card_information::check(data, card.serial()) == card_information::Problem::none;
}

}  // namespace

std::optional<Reply> JukiAp::process(AppServices& card, const apdu::Command& c) const {
  const bool update_binary = (c.cla & 0x80) == 0 && c.ins == 0xD6;
  if (!update_binary) return std::nullopt;
  // Where the card OS refuses UPDATE BINARY before looking at the file (life
  // cycle 6985, APDU case 6700), it answers; the app checks in every state
  // that admits the command (personalization writes these EFs).
  const LifeCycle lc = card.life_cycle();
  if (lc != LifeCycle::personalization && lc != LifeCycle::active) return std::nullopt;
  if (c.apdu_case != 3) return std::nullopt;
  // The card OS's addressing and access checks first: whoever may not write
  // the EF learns nothing about the content.
  auto target = card.binary_target(c, Op::update);
  if (!target) return status(target.error());
  if (!target->in_application || (target->fid != kResidentCodeEf && target->fid != kCardInfoEf))
    return std::nullopt;
  // Only a whole content can be checked: offset 0 and exactly the EF's size.
  // An offset past the end is the card OS's to answer (6B00).
  if (target->offset > target->size) return std::nullopt;
  if (target->offset != 0) return status(sw::kWrongData);
  if (c.data.size() != target->size) return status(sw::kWrongLength);
  if (!content_valid(card, target->fid, c.data)) return status(sw::kWrongData);
  return std::nullopt;  // the card OS writes it, in one transaction
}

}  // namespace juki::card_os::apps::juki_ap
