#include "card_os/apps/standard.hpp"

#include <array>

#include "card_os/apps/jpki/jpki.hpp"
#include "card_os/apps/juki/juki_ap.hpp"
#include "card_os/apps/manager/manager.hpp"

namespace juki::card_os {

namespace apps {

namespace {
const jpki::Jpki kJpki;
const juki_ap::JukiAp kJukiAp;
const manager::Manager kManager;
const std::array<const Application*, 3> kApplications = {&kJpki, &kJukiAp, &kManager};
}  // namespace

Applications standard_applications() {
  return kApplications;
}

}  // namespace apps

Result<std::unique_ptr<Card>, CardFailure> Card::power_up(Storage& storage, RandomSource& random) {
  return power_up(storage, random, apps::standard_applications());
}

}  // namespace juki::card_os
