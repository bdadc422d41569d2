// A server process's life (specs/network.md 9): its command line, its config,
// its trust store and calendar, a gRPC server on mutual TLS with bounded
// threads and message sizes, refusals recorded, and an orderly stop on
// SIGTERM or SIGINT.
#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backend/calendar/operating_calendar.hpp"
#include "backend/server/call_queue.hpp"
#include "backend/server/config.hpp"
#include "backend/trust/tls.hpp"

namespace juki::backend::server {

struct Runtime {
  Config config;
  std::shared_ptr<const trust::TrustStore> trust;
  std::shared_ptr<const calendar::OperatingCalendar> calendar;
  std::shared_ptr<CallQueue> calls;  // limits.max_inflight and max_queued
};

// What one server program adds to the common runtime.
struct Program {
  Tier tier = Tier::cs;
  std::string name;     // "juki-cs"
  std::string summary;  // one line for --help
  // Opens the stores and builds the services; gives the services to register
  // and the admission rule of the handshake, or an error to print.
  struct Started {
    std::vector<grpc::Service*> services;
    trust::Admission admit;
    std::shared_ptr<trust::RefusalLog> refusals;
    std::function<void()> stop;   // before the gRPC server shuts down
    std::shared_ptr<void> state;  // what the services need, kept until the process ends
  };
  std::function<Result<Started, std::string>(Runtime&)> start;
};

// main() of a server program: --help, --config FILE, --check-config. Exit
// codes: 0 stopped by a signal, 1 could not start (config, trust, store,
// port), 2 usage. When listening, prints one line to stdout:
// "<name> <code> listening on <host:port>" (the port chosen when 0 was asked).
int run_program(const Program& program, int argc, char** argv);

// A refusal log that prints one line to stderr and hands each refusal to
// `record` (the store's table of refusals).
std::shared_ptr<trust::RefusalLog> refusal_log(
    std::string server, std::function<void(const std::string&, const std::string&)> record);

// The client context of every outgoing call: the config's deadline.
std::unique_ptr<grpc::ClientContext> call_context(const Config& config);

// The JST date now (the "today" of checks), and Unix seconds now.
calendar::Date today();
std::int64_t unix_now();

}  // namespace juki::backend::server
