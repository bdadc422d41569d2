#include "backend/server/runtime.hpp"

#include <grpcpp/resource_quota.h>
#include <signal.h>

#include <chrono>
#include <cstring>
#include <ctime>
#include <iostream>

#include "backend/calendar/japan_time.hpp"

namespace juki::backend::server {

namespace {

constexpr int kMaxMessageBytes = 16 * 1024 * 1024;

class PrintingRefusalLog : public trust::RefusalLog {
 public:
  PrintingRefusalLog(std::string server,
                     std::function<void(const std::string&, const std::string&)> record)
      : server_(std::move(server)), record_(std::move(record)) {}
  void refused(const std::string& peer, const std::string& reason) override {
    std::cerr << server_ << ": refused " << peer << ": " << reason << "\n";
    if (record_) record_(peer, reason);
  }

 private:
  std::string server_;
  std::function<void(const std::string&, const std::string&)> record_;
};

void usage(const Program& program, std::ostream& out) {
  out << "usage: " << program.name << " --config FILE [--check-config]\n\n"
      << program.summary << "\n\n"
      << "  --config FILE    the server's config (specs/network.md 9)\n"
      << "  --check-config   load the config, trust files and calendar, then exit\n"
      << "  -h, --help       this text\n\n"
      << "Exit: 0 stopped by SIGTERM or SIGINT, 1 could not start, 2 usage.\n";
}

}  // namespace

std::shared_ptr<trust::RefusalLog> refusal_log(
    std::string server, std::function<void(const std::string&, const std::string&)> record) {
  return std::make_shared<PrintingRefusalLog>(std::move(server), std::move(record));
}

std::unique_ptr<grpc::ClientContext> call_context(const Config& config) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::milliseconds(config.limits.deadline_ms));
  return context;
}

std::int64_t unix_now() {
  return static_cast<std::int64_t>(std::time(nullptr));
}

calendar::Date today() {
  auto now = calendar::to_jst(calendar::UtcTime(std::chrono::seconds(unix_now())));
  return now->date;
}

int run_program(const Program& program, int argc, char** argv) {
  std::string config_path;
  bool check_only = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      usage(program, std::cout);
      return 0;
    } else if (arg == "--config" && i + 1 < argc) {
      config_path = argv[++i];
    } else if (arg == "--check-config") {
      check_only = true;
    } else {
      std::cerr << program.name << ": unknown argument '" << arg << "'\n";
      usage(program, std::cerr);
      return 2;
    }
  }
  if (config_path.empty()) {
    std::cerr << program.name << ": --config FILE is required\n";
    usage(program, std::cerr);
    return 2;
  }

  // Signals are taken by sigwait below, never by a gRPC thread.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  trust::require_tls13();

  auto fail = [&](const std::string& message) {
    std::cerr << program.name << ": " << message << "\n";
    return 1;
  };
  auto config = load_config(config_path);
  if (!config) return fail(config.error());
  if (config->tier != program.tier)
    return fail(config_path + ": tier: " + std::string(tier_name(config->tier)) + ", but this is " +
                program.name);
  auto trust = trust::TrustStore::load(config->trust, unix_now());
  if (!trust) return fail("trust: " + trust.error());
  const pki::Role expected_role = program.tier == Tier::cs           ? pki::Role::cs
                                  : program.tier == Tier::prefecture ? pki::Role::prefecture
                                                                     : pki::Role::national;
  if (trust->self().role != expected_role || trust->self().code != config->code)
    return fail("trust.certificate: the certificate is for " + trust::describe(trust->self()) +
                ", the config for " + std::string(tier_name(program.tier)) + " " + config->code);
  auto calendar = calendar::OperatingCalendar::load(config->calendar);
  if (!calendar) return fail("calendar: " + calendar.error().message);
  if (check_only) {
    std::cout << program.name << ": " << config_path << " is good\n";
    return 0;
  }

  const int max_inflight = config->limits.max_inflight;
  const int max_queued = config->limits.max_queued;
  Runtime runtime{std::move(*config), std::make_shared<trust::TrustStore>(std::move(*trust)),
                  std::make_shared<calendar::OperatingCalendar>(std::move(*calendar)),
                  std::make_shared<CallQueue>(max_inflight, max_queued)};
  auto started = program.start(runtime);
  if (!started) return fail(started.error());

  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(
      runtime.config.listen,
      trust::server_credentials(runtime.trust, started->admit, started->refusals), &port);
  for (auto* service : started->services) builder.RegisterService(service);
  builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
  builder.SetMaxSendMessageSize(kMaxMessageBytes);
  auto server = builder.BuildAndStart();
  if (!server || port == 0) {
    if (started->stop) started->stop();
    return fail("cannot listen on " + runtime.config.listen);
  }
  const std::string host = runtime.config.listen.substr(0, runtime.config.listen.rfind(':'));
  std::cout << program.name << " "
            << (runtime.config.code.empty() ? "national" : runtime.config.code) << " listening on "
            << host << ":" << port << std::endl;

  int signal = 0;
  sigwait(&stop_signals, &signal);
  std::cerr << program.name << ": " << strsignal(signal) << ", stopping\n";
  if (started->stop) started->stop();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  // Every call has finished; the workers go before the services they used.
  runtime.calls->stop();
  return 0;
}

}  // namespace juki::backend::server
