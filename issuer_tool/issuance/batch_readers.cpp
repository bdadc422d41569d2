#include "issuer_tool/issuance/batch_readers.hpp"

#include <utility>

namespace juki::issuance {

Result<std::unique_ptr<PcscReader>, std::string> PcscReader::open(std::string_view reader,
                                                                  host::pcsc::Timeout wait) {
  auto context = host::pcsc::PcscContext::establish();
  if (!context) return unexpected(context.error().message);
  auto name = context->resolve_reader(reader);
  if (!name) return unexpected(name.error().message);
  return std::unique_ptr<PcscReader>(new PcscReader(std::move(*context), *name, wait));
}

Result<juki::Transport*, host::pcsc::PcscError> PcscReader::connect() {
  host::pcsc::ConnectOptions options;
  options.reset_on_close = true;  // personalization rights end with the card's session
  auto t = host::pcsc::PcscTransport::connect(context_, reader_, options);
  if (!t) return unexpected(t.error());
  transport_ = std::move(*t);
  had_card_ = true;
  return static_cast<juki::Transport*>(transport_.get());
}

Result<void, std::string> PcscReader::wait_for_removal() {
  using namespace std::chrono;
  static const Bytes kGetLifeCycle = {0x00, 0xCA, 0xDF, 0x20, 0x00};
  const auto start = steady_clock::now();
  for (;;) {
    auto gone = context_.wait_for_removal(reader_, milliseconds(250));
    if (gone) break;
    if (gone.error().kind != host::pcsc::ErrorKind::timeout)
      return unexpected(gone.error().message);
    // pcscd may have seen the card leave and the next one come between two
    // waits: the old card's handle then answers that it was removed.
    if (transport_) {
      auto probe = transport_->transmit_raw(kGetLifeCycle);
      if (!probe && (probe.error().kind == host::pcsc::ErrorKind::card_removed ||
                     probe.error().kind == host::pcsc::ErrorKind::no_card))
        break;
    }
    if (wait_ && steady_clock::now() - start > *wait_)
      return unexpected("the card in reader '" + reader_ + "' was not taken out within " +
                        std::to_string(duration_cast<seconds>(*wait_).count()) + " s");
  }
  transport_.reset();
  return {};
}

Result<juki::Transport*, std::string> PcscReader::next() {
  if (had_card_)
    if (auto gone = wait_for_removal(); !gone) return unexpected(gone.error());
  transport_.reset();
  if (auto card = context_.wait_for_card(reader_, wait_); !card)
    return unexpected(card.error().message);
  auto t = connect();
  if (!t) return unexpected(t.error().message);
  return *t;
}

Result<juki::Transport*, std::string> PcscReader::reopen() {
  using namespace std::chrono;
  transport_.reset();
  const auto start = steady_clock::now();
  auto left = [&]() -> host::pcsc::Timeout {
    if (!wait_) return std::nullopt;
    return std::max(milliseconds(1),
                    *wait_ - duration_cast<milliseconds>(steady_clock::now() - start));
  };
  for (bool first = true;; first = false) {
    if (auto card = context_.wait_for_card(reader_, left()); !card)
      return unexpected(card.error().message);
    auto t = connect();
    if (t) return *t;
    using Kind = host::pcsc::ErrorKind;
    const Kind kind = t.error().kind;
    if (!first ||
        (kind != Kind::no_card && kind != Kind::card_removed && kind != Kind::unresponsive))
      return unexpected(t.error().message);
    // pcscd still shows the card that went away: wait until it sees it
    // gone, then for the card to be put back.
    if (auto gone = context_.wait_for_removal(reader_, left()); !gone)
      return unexpected(gone.error().message);
  }
}

void PcscReader::done() {
  // A warm reset ends the security state (personalization rights); the
  // handle stays, to tell the card's removal.
  if (transport_) static_cast<void>(transport_->warm_reset());
}

}  // namespace juki::issuance
