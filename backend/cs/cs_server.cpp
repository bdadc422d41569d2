#include "backend/cs/cs_server.hpp"

#include <memory>

#include "backend/cs/cs_store.hpp"
#include "backend/messaging/envelope.hpp"
#include "backend/server/forwarder.hpp"
#include "backend/server/leases.hpp"
#include "backend/wire/juki_net.grpc.pb.h"

namespace juki::backend::cs {

namespace {

using server::Leases;
constexpr std::chrono::milliseconds kStoreWait{2000};
constexpr int kMaxReportsPerCall = 10'000;

grpc::Status unavailable(const store::Error& e) {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the store: " + e.message);
}

class Cs {
 public:
  Cs(server::Runtime& runtime, std::vector<CsStore> stores)
      : runtime_(runtime), stores_(std::move(stores)), callers_(runtime.trust) {}

  // One attempt of the forwarder: the next batch after the confirmed one.
  server::Forwarder::Step deliver_next(std::string& error) {
    auto store = stores_.take(kStoreWait);
    if (!store) {
      error = "no store connection free";
      return server::Forwarder::Step::failed;
    }
    auto confirmed = (*store)->confirmed();
    if (!confirmed) return fail(error, confirmed.error().message);
    auto changes = (*store)->outbox_after(*confirmed, runtime_.config.limits.batch);
    if (!changes) return fail(error, changes.error().message);
    if (changes->empty()) return server::Forwarder::Step::idle;
    proto::NotificationBatch batch;
    batch.set_sender(runtime_.config.code);
    batch.set_sent_at(server::unix_now());
    for (auto& change : *changes) *batch.add_changes() = std::move(change);
    auto envelope = messaging::seal(*runtime_.trust, proto::NOTIFICATION_BATCH, batch);
    if (!envelope) return fail(error, envelope.error());
    proto::DeliveryReceipt receipt;
    auto context = server::call_context(runtime_.config);
    auto status = upstream()->Deliver(context.get(), *envelope, &receipt);
    if (!status.ok())
      return fail(error,
                  "prefecture " + runtime_.config.upstream->code + ": " + status.error_message());
    if (auto c = (*store)->confirm(static_cast<std::int64_t>(receipt.high_water())); !c)
      return fail(error, c.error().message);
    if (receipt.held())
      return fail(error, "the prefecture holds sequence " + std::to_string(receipt.high_water()) +
                             " and sends from there");
    return server::Forwarder::Step::delivered;
  }

  grpc::Status report(grpc::ServerContextBase* context, const proto::ChangeReports& request,
                      proto::ReportOutcome* outcome) {
    auto caller = callers_.of(*context);
    if (!caller) return caller.error();
    if (caller->role != pki::Role::resident_system || caller->code != runtime_.config.code)
      return grpc::Status(
          grpc::StatusCode::PERMISSION_DENIED,
          trust::describe(*caller) + " may not report changes to CS " + runtime_.config.code);
    if (request.reports_size() > kMaxReportsPerCall)
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "at most " + std::to_string(kMaxReportsPerCall) + " reports per call");
    auto store = stores_.take(kStoreWait);
    if (!store)
      return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "the CS is busy; retry later");
    const std::vector<proto::ChangeReport> reports(request.reports().begin(),
                                                   request.reports().end());
    auto results = (*store)->record(reports, server::unix_now(), server::today());
    if (!results) return unavailable(results.error());
    for (auto& r : *results) *outcome->add_results() = std::move(r);
    if (forwarder_) forwarder_->wake();
    return grpc::Status::OK;
  }

  void record_refusal(const std::string& peer, const std::string& reason) {
    if (auto store = stores_.take(kStoreWait))
      (void)(*store)->record_refusal(peer, reason, server::unix_now());
  }

  void start_forwarder() {
    forwarder_ = std::make_unique<server::Forwarder>(
        "cs " + runtime_.config.code, [this](std::string& error) { return deliver_next(error); },
        std::chrono::milliseconds(runtime_.config.limits.retry_max_ms));
  }
  void stop() {
    if (forwarder_) forwarder_->stop();
  }

 private:
  static server::Forwarder::Step fail(std::string& error, std::string message) {
    error = std::move(message);
    return server::Forwarder::Step::failed;
  }
  proto::Notifications::Stub* upstream() {
    std::call_once(upstream_once_, [this] {
      const auto& up = *runtime_.config.upstream;
      stub_ = proto::Notifications::NewStub(trust::open_channel(
          up.address,
          trust::channel_credentials(runtime_.trust, pki::Role::prefecture, up.code, refusals_)));
    });
    return stub_.get();
  }

 public:
  std::shared_ptr<trust::RefusalLog> refusals_;

 private:
  server::Runtime& runtime_;
  Leases<CsStore> stores_;
  trust::Callers callers_;
  std::unique_ptr<server::Forwarder> forwarder_;
  std::once_flag upstream_once_;
  std::unique_ptr<proto::Notifications::Stub> stub_;
};

class LinkService final : public proto::ResidentSystemLink::CallbackService {
 public:
  LinkService(Cs& cs, server::CallQueue& calls) : cs_(cs), calls_(calls) {}
  grpc::ServerUnaryReactor* ReportChanges(grpc::CallbackServerContext* context,
                                          const proto::ChangeReports* request,
                                          proto::ReportOutcome* outcome) override {
    return calls_.serve(context, [=, this] { return cs_.report(context, *request, outcome); });
  }

 private:
  Cs& cs_;
  server::CallQueue& calls_;
};

}  // namespace

server::Program cs_program() {
  server::Program program;
  program.tier = server::Tier::cs;
  program.name = "juki-cs";
  program.summary =
      "The communication server (CS) of one municipality: takes the existing resident system's "
      "change reports, records them with their notifications, and delivers these to its "
      "prefecture server.";
  program.start = [](server::Runtime& runtime) -> Result<server::Program::Started, std::string> {
    std::vector<CsStore> stores;
    for (int i = 0; i < runtime.config.limits.store_connections; ++i) {
      auto connection = store::Connection::open(runtime.config.store);
      if (!connection) return unexpected("store: " + connection.error().message);
      auto opened = CsStore::open(std::move(*connection), runtime.config.code);
      if (!opened) return unexpected("store: " + opened.error().message);
      stores.push_back(std::move(*opened));
    }
    struct State {
      std::unique_ptr<Cs> cs;
      std::unique_ptr<LinkService> link;
    };
    auto state = std::make_shared<State>();
    state->cs = std::make_unique<Cs>(runtime, std::move(stores));
    state->link = std::make_unique<LinkService>(*state->cs, *runtime.calls);
    Cs* self = state->cs.get();
    self->refusals_ =
        server::refusal_log("juki-cs " + runtime.config.code,
                            [self](const std::string& peer, const std::string& reason) {
                              self->record_refusal(peer, reason);
                            });
    self->start_forwarder();
    const std::string code = runtime.config.code;
    server::Program::Started started;
    started.services = {state->link.get()};
    started.state = state;
    // CS↔CS and the municipality's own existing system (seed 004 第4-3(4)).
    started.admit = [code](const trust::Peer& peer) -> std::optional<std::string> {
      if (peer.role == pki::Role::resident_system && peer.code == code) return std::nullopt;
      if (peer.role == pki::Role::cs && peer.code != code) return std::nullopt;
      return trust::describe(peer) + " has no link to CS " + code;
    };
    started.refusals = self->refusals_;
    started.stop = [self] { self->stop(); };
    return started;
  };
  return program;
}

}  // namespace juki::backend::cs
