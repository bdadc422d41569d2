// The card a command-line tool talks to: in a PC/SC reader, or a card image
// file opened in this process (the simulator's card OS, no pcscd), with the
// same Transport either way; with tracing, every exchange goes to a stream.
// Shared by juki-terminal and juki-issuer; here with the programs because
// only they may wire the host to the simulator.
#pragma once

#include <memory>
#include <optional>
#include <ostream>
#include <string>

#include "common/apdu_text.hpp"
#include "common/result.hpp"
#include "common/system_random.hpp"
#include "host_middleware/cli/cli_output.hpp"
#include "host_middleware/pcsc/pcsc.hpp"
#include "host_middleware/transport/tracing.hpp"
#include "simulator/file_storage.hpp"
#include "simulator/in_process.hpp"

namespace juki::tools {

namespace pcsc = host::pcsc;
using host::TracingTransport;
using host::cli::Failure;

struct CardOptions {
  std::string in_process;         // a card image file; empty: PC/SC
  std::string reader;             // empty: the first reader holding a card
  bool exclusive = false;         // PC/SC exclusive access
  bool reset_on_close = false;    // reset the card when done (ends its security state)
  std::ostream* trace = nullptr;  // every command and response, when given
  apdu_text::Secrets trace_secrets = apdu_text::Secrets::redact;  // --trace-secrets: show
};

// Why the card could not be reached: a PC/SC error kind ("no_service",
// "no_smartcard"...), "in_process", or "transport".
struct CardError {
  std::string kind;
  std::string message;
};

struct CardConnection {
  std::unique_ptr<pcsc::PcscContext> context;
  std::unique_ptr<pcsc::PcscTransport> pcsc;
  std::unique_ptr<juki::sim::FileStorage> storage;
  juki::SystemRandom random;
  std::unique_ptr<sim::InProcessTransport> in_process;
  std::unique_ptr<TracingTransport> tracing;
  Transport* transport = nullptr;

  static Result<std::unique_ptr<CardConnection>, CardError> open(const CardOptions& options);
  Transport& t() { return *transport; }
  // A transport failure, with the PC/SC kind when there is one.
  CardError failure(const TransportError& e) const;
};

CardError from_pcsc(const pcsc::PcscError& e);

// A card the tool could not reach or lost on the way, as its failure: exit 3.
Failure from_card(const CardError& e);

}  // namespace juki::tools
