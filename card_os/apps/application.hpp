// Card applications with code of their own (canokey-core's one folder per
// application, Java Card's Applet.process): the card OS keeps their files,
// PINs and keys in the DF named by their AID, as for any application, and
// hands each command of a channel in that context to the application first.
// The card finds an application only in the set it was powered up with
// (card_os/card/card.hpp, Applications; card_os/apps/standard.hpp).
#pragma once

#include <optional>
#include <string_view>

#include "card_os/card/app_services.hpp"
#include "card_os/card/reply.hpp"
#include "common/bytes.hpp"
#include "common/iso7816/apdu.hpp"

namespace juki::card_os::apps {

class Application {
 public:
  virtual ~Application() = default;
  virtual ByteView aid() const = 0;
  virtual std::string_view name() const = 0;
  // A command on a channel whose context is this application's DF, before
  // the card OS sees it. nullopt hands it on to the card OS; a reply answers
  // it. Applications hold no state of their own: per channel, `card.state()`.
  virtual std::optional<Reply> process(AppServices& card, const apdu::Command& c) const = 0;
  // Whether the code manages the card's content (installs, deletes and
  // locks other applications through AppServices): the card manager only.
  virtual bool manages_content() const { return false; }
};

}  // namespace juki::card_os::apps
