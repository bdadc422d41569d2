// Where the workers of a batch issuance find their cards: one reader each,
// behind one interface. PC/SC readers are here; the in-process readers that
// make blank card images live with the programs (tools/issuer), since only
// they may reach into the simulator.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "common/transport.hpp"
#include "host_middleware/pcsc/pcsc.hpp"

namespace juki::issuance {

// Where a worker finds its cards: one reader. Each is used by one thread.
class CardReader {
 public:
  virtual ~CardReader() = default;
  virtual std::string name() const = 0;
  // The next blank card in the reader, waiting for it (and, in a PC/SC
  // reader, first for the last card's removal). Valid until the next call.
  virtual Result<juki::Transport*, std::string> next() = 0;
  // The same card, powered again: to resume after it went away.
  virtual Result<juki::Transport*, std::string> reopen() = 0;
  // The card is finished with (issued, spoiled or left in personalization):
  // its security state ends.
  virtual void done() = 0;
};

// A PC/SC reader: next() waits for the last card's removal, then for a card;
// reopen() waits for the card that went away to be put back.
class PcscReader final : public CardReader {
 public:
  // `reader` as PcscContext::resolve_reader takes it; a card is awaited at
  // most `wait` (nullopt: for ever). Fails when there is no such reader.
  static Result<std::unique_ptr<PcscReader>, std::string> open(std::string_view reader,
                                                               host::pcsc::Timeout wait);
  std::string name() const override { return reader_; }
  Result<juki::Transport*, std::string> next() override;
  Result<juki::Transport*, std::string> reopen() override;
  void done() override;

 private:
  PcscReader(host::pcsc::PcscContext context, std::string reader, host::pcsc::Timeout wait)
      : context_(std::move(context)), reader_(std::move(reader)), wait_(wait) {}
  Result<juki::Transport*, host::pcsc::PcscError> connect();
  Result<void, std::string> wait_for_removal();

  host::pcsc::PcscContext context_;
  std::string reader_;
  host::pcsc::Timeout wait_;
  std::unique_ptr<host::pcsc::PcscTransport> transport_;
  bool had_card_ = false;  // a card was taken: the next must come after its removal
};

}  // namespace juki::issuance
