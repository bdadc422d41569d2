#include "tools/cli/card_connection.hpp"

#include <utility>

namespace juki::tools {

CardError from_pcsc(const pcsc::PcscError& e) {
  return {std::string(pcsc::to_string(e.kind)), e.message};
}

Failure from_card(const CardError& e) {
  return {host::cli::kExitIo, e.kind, e.message};
}

CardError CardConnection::failure(const TransportError& e) const {
  if (pcsc && pcsc->last_error()) return from_pcsc(*pcsc->last_error());
  return {"transport", e.message};
}

Result<std::unique_ptr<CardConnection>, CardError> CardConnection::open(const CardOptions& o) {
  auto c = std::make_unique<CardConnection>();
  if (!o.in_process.empty()) {
    auto storage = juki::sim::FileStorage::open(o.in_process);
    if (!storage) return unexpected(CardError{"in_process", storage.error()});
    c->storage = std::move(*storage);
    auto t = sim::InProcessTransport::connect(*c->storage, c->random,
                                              "in-process card image " + o.in_process);
    if (!t) return unexpected(CardError{"in_process", t.error().message});
    c->in_process = std::move(*t);
    c->transport = c->in_process.get();
  } else {
    auto context = pcsc::PcscContext::establish();
    if (!context) return unexpected(from_pcsc(context.error()));
    c->context = std::make_unique<pcsc::PcscContext>(std::move(*context));
    pcsc::ConnectOptions options;
    options.share = o.exclusive ? pcsc::ShareMode::exclusive : pcsc::ShareMode::shared;
    options.reset_on_close = o.reset_on_close;
    auto t = pcsc::PcscTransport::connect(*c->context, o.reader, options);
    if (!t) return unexpected(from_pcsc(t.error()));
    c->pcsc = std::move(*t);
    c->transport = c->pcsc.get();
  }
  if (o.trace != nullptr) {
    c->tracing = std::make_unique<TracingTransport>(*c->transport, *o.trace, o.trace_secrets);
    c->transport = c->tracing.get();
  }
  return c;
}

}  // namespace juki::tools
