// One card issued for one registered application, with its records
// (specs/issuance.md 3): the card is opened, recorded personalizing before
// the first write, personalized, and recorded issued; a card that failed is
// recorded spoiled, or left personalizing when it went away (resumable).
// juki-issuer personalize and the batch issuance (batch.hpp) both issue
// every card through issue_one.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "common/transport.hpp"
#include "issuer_tool/issuance/personalization.hpp"
#include "records/records.hpp"

namespace juki::issuance {

// The counter's keys file: JSON {"transport_key": hex, "admin_master": hex},
// both AES keys (16, 24 or 32 bytes).
struct KeysFileError {
  bool io = false;  // the file could not be read; otherwise it is not a keys file
  std::string message;
};
Result<CounterKeys, KeysFileError> load_counter_keys(const std::string& path);
// The same for the file's text; `where` names it in the messages.
Result<CounterKeys, KeysFileError> parse_counter_keys(std::string_view text,
                                                      const std::string& where);

struct IssueError {
  enum class Kind : std::uint8_t {
    open,                // the card was not opened (`card` says why); nothing recorded
    known_card,          // the records know the card in another state or for another application
    records,             // the records refused or failed (`records`)
    left_personalizing,  // the card went away (`card`, transport): recorded personalizing
    spoiled,             // the card or a CA refused, or the read-back differed: recorded spoiled
  };
  Kind kind = Kind::open;
  Failure card;                        // open, left_personalizing, spoiled
  records::RecordsError records;       // records
  std::optional<records::Card> known;  // known_card
  std::string serial;                  // once read from the card
  bool transport() const;              // the card went away (a resume may help)
  std::string describe() const;        // one sentence
};

struct Issued {
  records::Card card;  // as recorded: issued, with its dates
  Personalized made;
  bool resumed = false;  // the card was found in personalization
};

struct IssueProgress {
  // The card is opened and recorded, before the first write.
  std::function<void(const std::string& serial, bool resumed)> card;
  Progress step;  // each personalization step as it starts
};

// Issues the blank card behind `t` for the registered application
// `application_id`. An order that fails check_order touches no card. A card
// in personalization that the records hold personalizing for the same
// application is resumed; any other card the records know is refused without
// a write.
Result<Issued, IssueError> issue_one(records::Records& records, juki::Transport& t,
                                     std::int64_t application_id, const Authorities& authorities,
                                     const CounterKeys& keys, const CardOrder& order,
                                     const records::Actor& actor,
                                     const IssueProgress& progress = {});

}  // namespace juki::issuance
