// Where the tools that spend cards get a fresh card for each run (a
// conformance script, an audit control): a blank simulator card made in this
// process; a blank image made here and swapped into juki-card-sim's slot
// through its control socket; a card the operator puts in a real reader when
// asked; or the card already in the reader. Shared by juki-conformance and
// juki-audit (specs/apdu-script.md "The conformance runner", specs/audit.md).
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>

#include "card_os/card/card.hpp"
#include "common/result.hpp"
#include "common/transport.hpp"

namespace juki::tools {

// A card lent for one run.
class CardLease {
 public:
  virtual ~CardLease() = default;
  virtual Transport& transport() = 0;
  // Set when this tool made the card (blank, with the supply's profile): how,
  // for the record ("simulator card in this process", "blank image PATH in
  // juki-card-sim slot 0"). Empty for a card someone brought.
  virtual std::string made_as() const = 0;
};

struct SupplyError {
  bool unreachable = true;  // the card, its reader, pcscd or the simulator (else local I/O)
  std::string message;
};

class CardSupply {
 public:
  virtual ~CardSupply() = default;
  // The card for the `index`-th run (0-based). `wanted` says, for a prompt,
  // what card the run needs ("a fresh blank card", "an active test card").
  virtual Result<std::unique_ptr<CardLease>, SupplyError> card_for(std::size_t index,
                                                                   const std::string& name,
                                                                   const std::string& wanted) = 0;
};

// A new blank card in this process per run, its random stream seeded by
// `role` and the run's name (its last path component), so runs are
// reproducible and two roles never draw the same numbers.
std::unique_ptr<CardSupply> in_memory_supply(card_os::FactoryProfile profile, std::string role);

struct ReaderSupplyOptions {
  std::string tool;        // for prompts: "juki-conformance"
  std::string reader;      // a name or part of one
  std::string sim_socket;  // set: the reader is a juki-card-sim slot and blank cards are made here
  unsigned sim_slot = 0;
  bool prompt = false;  // ask for a fresh card before every run after the first
  int wait_seconds = 120;
  card_os::FactoryProfile profile;  // of the blank images made for the simulator
};

// A card in a PC/SC reader, connected exclusively.
class ReaderSupply final : public CardSupply {
 public:
  explicit ReaderSupply(ReaderSupplyOptions options) : o_(std::move(options)) {}
  ~ReaderSupply() override;
  Result<std::unique_ptr<CardLease>, SupplyError> card_for(std::size_t index,
                                                           const std::string& name,
                                                           const std::string& wanted) override;

  // The simulator's slot only: a new blank image made here (its path); and
  // the image at `path` swapped into the slot, then connected to.
  Result<std::string, SupplyError> make_blank_image(const std::string& name);
  Result<std::unique_ptr<CardLease>, SupplyError> insert_image(const std::string& path);
  // Takes the card out of the slot (so its image may be copied).
  Result<void, SupplyError> remove_card();
  // One control command to the simulator ("tear 0 2"); its answer text.
  Result<std::string, SupplyError> simulator(const std::string& command);
  // Waits until pcscd has seen the card leave and a card come.
  Result<void, SupplyError> wait_for_new_card();
  // Connects to the card in the reader again (after the simulator powered it
  // again): `made_as` says what it is, for the record.
  Result<std::unique_ptr<CardLease>, SupplyError> reconnect(std::string made_as) {
    return connect(std::move(made_as));
  }
  const ReaderSupplyOptions& options() const { return o_; }

 private:
  Result<std::unique_ptr<CardLease>, SupplyError> connect(std::string made_as);
  Result<std::filesystem::path, SupplyError> work_dir();

  ReaderSupplyOptions o_;
  std::filesystem::path work_dir_;
  std::size_t images_ = 0;
  std::string last_image_;  // made here, now in the slot
};

}  // namespace juki::tools
