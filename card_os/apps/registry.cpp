#include <algorithm>
#include <array>

#include "card_os/apps/application.hpp"
#include "card_os/apps/jpki/jpki.hpp"
#include "card_os/apps/juki/juki_ap.hpp"
#include "card_os/apps/manager/manager.hpp"

namespace juki::card_os::apps {

namespace {
const jpki::Jpki kJpki;
const juki_ap::JukiAp kJukiAp;
const manager::Manager kManager;
const std::array<const Application*, 3> kApplications = {&kJpki, &kJukiAp, &kManager};
}  // namespace

const Application* find(ByteView aid) {
  for (const Application* app : kApplications) {
    const ByteView a = app->aid();
    if (std::equal(a.begin(), a.end(), aid.begin(), aid.end())) return app;
  }
  return nullptr;
}

}  // namespace juki::card_os::apps
