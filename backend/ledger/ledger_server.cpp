#include "backend/ledger/ledger_server.hpp"

#include <memory>
#include <mutex>

#include "backend/ledger/ledger.hpp"
#include "backend/messaging/envelope.hpp"
#include "backend/server/coalescer.hpp"
#include "backend/server/forwarder.hpp"
#include "backend/server/leases.hpp"
#include "backend/wire/identity.hpp"
#include "backend/wire/juki_net.grpc.pb.h"
#include "common/check_digits.hpp"

namespace juki::backend::ledger {

namespace {

using grpc::Status;
using grpc::StatusCode;
using server::Leases;
using server::Tier;

constexpr std::chrono::milliseconds kStoreWait{2000};
constexpr int kMaxRelayed = 1'000;
constexpr int kMaxPrefixes = 1'000;
constexpr int kMaxDays = 366;

Status status_of(const Refusal& refusal) {
  switch (refusal.kind) {
    case Refusal::Kind::invalid:
      return Status(StatusCode::INVALID_ARGUMENT, refusal.message);
    case Refusal::Kind::conflict:
      return Status(StatusCode::ALREADY_EXISTS, refusal.message);
    case Refusal::Kind::overload:
      return Status(StatusCode::RESOURCE_EXHAUSTED, refusal.message);
    case Refusal::Kind::store:
      return Status(StatusCode::UNAVAILABLE, "the store: " + refusal.message);
  }
  return Status(StatusCode::INTERNAL, refusal.message);
}

Status store_down(const store::Error& e) {
  return Status(StatusCode::UNAVAILABLE, "the store: " + e.message);
}

// Every change of a batch as wire::check_change accepts it, with one day of
// slack on birth dates: a CS's clock a little ahead of ours is not a forgery.
std::optional<Status> check_changes(const proto::NotificationBatch& batch,
                                    const calendar::Date& today) {
  for (const auto& change : batch.changes())
    if (auto problem = wire::check_change(change, *today.plus_days(1)))
      return Status(StatusCode::INVALID_ARGUMENT, "sequence " + std::to_string(change.sequence()) +
                                                      ": " + problem->field + ": " +
                                                      problem->message);
  return std::nullopt;
}

Status check_day_range(const std::string& from, const std::string& to) {
  auto a = calendar::Date::parse(from);
  if (!a) return Status(StatusCode::INVALID_ARGUMENT, "from_date: " + a.error());
  auto b = calendar::Date::parse(to);
  if (!b) return Status(StatusCode::INVALID_ARGUMENT, "to_date: " + b.error());
  if (*b < *a) return Status(StatusCode::INVALID_ARGUMENT, "to_date is before from_date");
  if (b->days_since_epoch() - a->days_since_epoch() >= kMaxDays)
    return Status(StatusCode::INVALID_ARGUMENT,
                  "at most " + std::to_string(kMaxDays) + " days per list");
  return Status::OK;
}

Status check_prefixes(const proto::DigestRequest& request) {
  if (request.prefixes_size() > kMaxPrefixes)
    return Status(StatusCode::INVALID_ARGUMENT,
                  "at most " + std::to_string(kMaxPrefixes) + " prefixes per request");
  for (const auto& prefix : request.prefixes())
    if (prefix.size() > 11 || prefix.find_first_not_of("0123456789") != std::string::npos)
      return Status(StatusCode::INVALID_ARGUMENT,
                    "prefixes: \"" + prefix + "\" is not up to 11 digits");
  return Status::OK;
}

class UpperTier {
 public:
  UpperTier(server::Runtime& runtime, std::vector<Ledger> ledgers)
      : runtime_(runtime), ledgers_(std::move(ledgers)), callers_(runtime.trust) {
    // PostgreSQL is a round trip away: lookups that arrive together share one
    // (specs/network.md 6.8). SQLite answers in-process, faster alone.
    auto ledger = ledgers_.take(kStoreWait);
    if (ledger && (*ledger)->connection().engine() == "postgresql")
      batched_lookups_ = std::make_unique<LookupBatches>(
          runtime_.config.limits.lookup_statements, Ledger::kMaxLookups,
          [this](const std::vector<std::string>& codes) { return lookup_batch(codes); });
  }

  bool is_prefecture() const { return runtime_.config.tier == Tier::prefecture; }
  server::CallQueue& calls() { return *runtime_.calls; }
  const std::string& code() const { return runtime_.config.code; }
  std::string name() const { return is_prefecture() ? code() : std::string("national"); }

  // --------------------------------------------------------- Notifications

  Status deliver(grpc::ServerContextBase* context, const proto::Envelope& envelope,
                 proto::DeliveryReceipt* receipt) {
    if (!is_prefecture())
      return Status(StatusCode::UNIMPLEMENTED, "the national server takes relays, not deliveries");
    auto caller = own_cs(context);
    if (!caller) return caller.error();
    if (envelope.kind() != proto::NOTIFICATION_BATCH)
      return Status(StatusCode::INVALID_ARGUMENT, "a delivery carries a NOTIFICATION_BATCH");
    auto signer = messaging::check_signature(*runtime_.trust, envelope, server::unix_now());
    if (!signer) return Status(StatusCode::UNAUTHENTICATED, signer.error());
    if (!trust::same_server(*signer, *caller))
      return Status(StatusCode::PERMISSION_DENIED, "signed by " + trust::describe(*signer) +
                                                       " but sent by " + trust::describe(*caller));
    proto::NotificationBatch batch;
    if (!batch.ParseFromString(envelope.payload()))
      return Status(StatusCode::INVALID_ARGUMENT, "the payload is not a NotificationBatch");
    if (batch.sender() != caller->code)
      return Status(
          StatusCode::PERMISSION_DENIED,
          "CS " + caller->code + " notifies only for its own municipality, not " + batch.sender());
    if (auto bad = check_changes(batch, server::today())) return *bad;
    auto ledger = ledgers_.take(kStoreWait);
    if (!ledger) return Status(StatusCode::RESOURCE_EXHAUSTED, "busy; retry later");
    auto done = (*ledger)->deliver(envelope, batch, *signer, server::unix_now());
    if (!done) return status_of(done.error());
    *receipt = *done;
    if (relay_) relay_->wake();
    return Status::OK;
  }

  Status relay(grpc::ServerContextBase* context, const proto::Envelope& envelope,
               proto::RelayReceipt* receipts) {
    if (is_prefecture())
      return Status(StatusCode::UNIMPLEMENTED, "a prefecture server takes deliveries from CSs");
    auto caller = callers_.of(*context);
    if (!caller) return caller.error();
    if (caller->role != pki::Role::prefecture)
      return Status(StatusCode::PERMISSION_DENIED, "only prefecture servers relay");
    if (envelope.kind() != proto::RELAY_BATCH)
      return Status(StatusCode::INVALID_ARGUMENT, "a relay carries a RELAY_BATCH");
    const auto now = server::unix_now();
    auto signer = messaging::check_signature(*runtime_.trust, envelope, now);
    if (!signer) return Status(StatusCode::UNAUTHENTICATED, signer.error());
    if (!trust::same_server(*signer, *caller))
      return Status(StatusCode::PERMISSION_DENIED, "signed by " + trust::describe(*signer) +
                                                       " but sent by " + trust::describe(*caller));
    proto::RelayBatch relay;
    if (!relay.ParseFromString(envelope.payload()))
      return Status(StatusCode::INVALID_ARGUMENT, "the payload is not a RelayBatch");
    if (relay.sender() != caller->code)
      return Status(StatusCode::PERMISSION_DENIED,
                    "relay sender " + relay.sender() + " is not " + trust::describe(*caller));
    if (relay.notifications_size() > kMaxRelayed)
      return Status(StatusCode::INVALID_ARGUMENT,
                    "at most " + std::to_string(kMaxRelayed) + " envelopes per relay");
    // Check every relayed envelope before applying any: a relay is refused
    // whole when one of its parts is forged.
    std::vector<proto::NotificationBatch> batches(relay.notifications_size());
    std::vector<trust::Peer> signers;
    for (int i = 0; i < relay.notifications_size(); ++i) {
      const auto& inner = relay.notifications(i);
      const std::string where = "notifications[" + std::to_string(i) + "]: ";
      if (inner.kind() != proto::NOTIFICATION_BATCH)
        return Status(StatusCode::INVALID_ARGUMENT, where + "not a NOTIFICATION_BATCH");
      auto cs = messaging::check_signature(*runtime_.trust, inner, now);
      if (!cs) return Status(StatusCode::UNAUTHENTICATED, where + cs.error());
      if (cs->role != pki::Role::cs || trust::prefecture_of(cs->code) != caller->code)
        return Status(StatusCode::PERMISSION_DENIED, where + "signed by " + trust::describe(*cs) +
                                                         ", not a CS of prefecture " +
                                                         caller->code);
      if (!batches[i].ParseFromString(inner.payload()))
        return Status(StatusCode::INVALID_ARGUMENT,
                      where + "the payload is not a NotificationBatch");
      if (batches[i].sender() != cs->code)
        return Status(StatusCode::PERMISSION_DENIED,
                      where + "CS " + cs->code + " signed a batch of " + batches[i].sender());
      if (auto bad = check_changes(batches[i], server::today()))
        return Status(bad->error_code(), where + bad->error_message());
      signers.push_back(std::move(*cs));
    }
    auto ledger = ledgers_.take(kStoreWait);
    if (!ledger) return Status(StatusCode::RESOURCE_EXHAUSTED, "busy; retry later");
    for (int i = 0; i < relay.notifications_size(); ++i) {
      auto done = (*ledger)->deliver(relay.notifications(i), batches[i], signers[i], now);
      if (!done) {
        auto s = status_of(done.error());
        return Status(s.error_code(),
                      "notifications[" + std::to_string(i) + "]: " + s.error_message());
      }
      *receipts->add_receipts() = *done;
    }
    return Status::OK;
  }

  Status update_counts(grpc::ServerContextBase* context, const proto::UpdateCountRequest& request,
                       proto::UpdateCountList* list) {
    auto caller = callers_.of(*context);
    if (!caller) return caller.error();
    if (auto refused = may_ask_about(*caller, request.sender())) return *refused;
    if (auto s = check_day_range(request.from_date(), request.to_date()); !s.ok()) return s;
    if (is_prefecture() && request.tier() == proto::NATIONAL) {
      proto::UpdateCountRequest forwarded = request;
      forwarded.set_tier(proto::TIER_UNSPECIFIED);
      auto call = server::call_context(runtime_.config);
      return national()->UpdateCounts(call.get(), forwarded, list);
    }
    auto ledger = ledgers_.take(kStoreWait);
    if (!ledger) return Status(StatusCode::RESOURCE_EXHAUSTED, "busy; retry later");
    auto counted =
        (*ledger)->update_counts(request.sender(), request.from_date(), request.to_date());
    if (!counted) return store_down(counted.error());
    *list = *counted;
    list->set_receiver(name());
    return Status::OK;
  }

  Status range_digests(grpc::ServerContextBase* context, const proto::DigestRequest& request,
                       proto::DigestReply* reply) {
    auto caller = callers_.of(*context);
    if (!caller) return caller.error();
    if (auto refused = may_ask_about(*caller, request.municipality())) return *refused;
    if (auto s = check_prefixes(request); !s.ok()) return s;
    if (is_prefecture() && request.tier() == proto::NATIONAL) {
      proto::DigestRequest forwarded = request;
      forwarded.set_tier(proto::TIER_UNSPECIFIED);
      auto call = server::call_context(runtime_.config);
      return national()->RangeDigests(call.get(), forwarded, reply);
    }
    auto ledger = ledgers_.take(kStoreWait);
    if (!ledger) return Status(StatusCode::RESOURCE_EXHAUSTED, "busy; retry later");
    auto digests = (*ledger)->range_digests(request);
    if (!digests) return store_down(digests.error());
    *reply = *digests;
    return Status::OK;
  }

  // --------------------------------------------------------- IdentityLookup

  Status lookup(grpc::ServerContextBase* context, const proto::LookupRequest& request,
                proto::LookupReply* reply) {
    auto caller = callers_.of(*context);
    if (!caller) return caller.error();
    if (is_prefecture()) {
      if (caller->role != pki::Role::cs || trust::prefecture_of(caller->code) != code())
        return Status(StatusCode::PERMISSION_DENIED, "only the prefecture's CSs look up here");
    } else if (caller->role != pki::Role::prefecture) {
      return Status(StatusCode::PERMISSION_DENIED, "only prefecture servers look up here");
    }
    if (!check_digits::resident_code_valid(request.resident_code()))
      return Status(StatusCode::INVALID_ARGUMENT,
                    "resident_code: not 11 digits with a valid check digit");
    {
      auto found = batched_lookups_ ? batched_lookups_->call(request.resident_code())
                                    : std::move(lookup_batch({request.resident_code()}).front());
      if (!found) return found.error();
      *reply = std::move(*found);
    }
    reply->set_answered_by(name());
    if (!is_prefecture()) return Status::OK;
    if (reply->status() == proto::UNKNOWN) reply->set_status(proto::NOT_HERE);
    const bool elsewhere = reply->status() == proto::NOT_HERE || reply->status() == proto::DELETED;
    if (request.nationwide() && elsewhere) {
      proto::LookupRequest forwarded = request;
      forwarded.set_nationwide(false);
      auto call = server::call_context(runtime_.config);
      auto national_stub = proto::IdentityLookup::NewStub(national_channel());
      return national_stub->Lookup(call.get(), forwarded, reply);
    }
    return Status::OK;
  }

  using LookupAnswer = Result<proto::LookupReply, Status>;
  using LookupBatches = server::Coalescer<std::string, LookupAnswer>;

  // The store's answers for the codes, in one statement; each code's answer
  // is the store's failure when there is one.
  std::vector<LookupAnswer> lookup_batch(const std::vector<std::string>& codes) {
    auto fail_all = [&](Status status) {
      return std::vector<LookupAnswer>(codes.size(), LookupAnswer(unexpected(status)));
    };
    auto ledger = ledgers_.take(kStoreWait);
    if (!ledger) return fail_all(Status(StatusCode::RESOURCE_EXHAUSTED, "busy; retry later"));
    auto found = (*ledger)->lookup_many(codes);
    if (!found) return fail_all(store_down(found.error()));
    std::vector<LookupAnswer> answers;
    answers.reserve(codes.size());
    for (auto& reply : *found) answers.emplace_back(std::move(reply));
    return answers;
  }

  // --------------------------------------------------------- the relay (prefecture)

  server::Forwarder::Step relay_next(std::string& error) {
    auto ledger = ledgers_.take(kStoreWait);
    if (!ledger) return fail(error, "no store connection free");
    auto queue = (*ledger)->relay_queue(runtime_.config.limits.relay_envelopes);
    if (!queue) return fail(error, queue.error().message);
    if (queue->empty()) return server::Forwarder::Step::idle;
    proto::RelayBatch relay;
    relay.set_sender(code());
    relay.set_sent_at(server::unix_now());
    for (auto& q : *queue) *relay.add_notifications() = std::move(q.envelope);
    auto envelope = messaging::seal(*runtime_.trust, proto::RELAY_BATCH, relay);
    if (!envelope) return fail(error, envelope.error());
    proto::RelayReceipt receipt;
    auto call = server::call_context(runtime_.config);
    auto status = national()->Relay(call.get(), *envelope, &receipt);
    if (!status.ok()) return fail(error, "national: " + status.error_message());
    for (const auto& r : receipt.receipts())
      if (r.held())
        // The national server lacks an earlier batch of this CS that it had
        // confirmed: its store lost data. Keep the batch queued and say so.
        return fail(error, "national holds CS " + r.sender() + " at sequence " +
                               std::to_string(r.high_water()) + ": it lost confirmed batches");
    if (auto done = (*ledger)->relayed_up_to(queue->back().id); !done)
      return fail(error, done.error().message);
    return server::Forwarder::Step::delivered;
  }

  void record_refusal(const std::string& peer, const std::string& reason) {
    if (auto ledger = ledgers_.take(kStoreWait))
      (void)(*ledger)->record_refusal(peer, reason, server::unix_now());
  }

  void start_relay() {
    relay_ = std::make_unique<server::Forwarder>(
        "prefecture " + code(), [this](std::string& error) { return relay_next(error); },
        std::chrono::milliseconds(runtime_.config.limits.retry_max_ms));
  }
  void stop() {
    if (relay_) relay_->stop();
  }

  std::shared_ptr<trust::RefusalLog> refusals;

 private:
  static server::Forwarder::Step fail(std::string& error, std::string message) {
    error = std::move(message);
    return server::Forwarder::Step::failed;
  }

  Result<trust::Peer, Status> own_cs(grpc::ServerContextBase* context) {
    auto caller = callers_.of(*context);
    if (!caller) return caller;
    if (caller->role != pki::Role::cs || trust::prefecture_of(caller->code) != code())
      return unexpected(Status(StatusCode::PERMISSION_DENIED,
                               trust::describe(*caller) + " is not a CS of prefecture " + code()));
    return caller;
  }

  // A CS asks about itself at its prefecture; a prefecture about its CSs at
  // the national server.
  std::optional<Status> may_ask_about(const trust::Peer& caller, const std::string& municipality) {
    const bool allowed = is_prefecture()
                             ? caller.role == pki::Role::cs && caller.code == municipality &&
                                   trust::prefecture_of(municipality) == code()
                             : caller.role == pki::Role::prefecture &&
                                   trust::prefecture_of(municipality) == caller.code;
    if (allowed) return std::nullopt;
    return Status(StatusCode::PERMISSION_DENIED,
                  trust::describe(caller) + " may not ask about municipality " + municipality);
  }

  std::shared_ptr<grpc::Channel> national_channel() {
    std::call_once(national_once_, [this] {
      channel_ = trust::open_channel(
          runtime_.config.upstream->address,
          trust::channel_credentials(runtime_.trust, pki::Role::national, "", refusals));
      stub_ = proto::Notifications::NewStub(channel_);
    });
    return channel_;
  }
  proto::Notifications::Stub* national() {
    national_channel();
    return stub_.get();
  }

  server::Runtime& runtime_;
  Leases<Ledger> ledgers_;
  trust::Callers callers_;
  std::unique_ptr<server::Forwarder> relay_;
  std::unique_ptr<LookupBatches> batched_lookups_;  // on PostgreSQL
  std::once_flag national_once_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<proto::Notifications::Stub> stub_;
};

class NotificationsService final : public proto::Notifications::CallbackService {
 public:
  explicit NotificationsService(UpperTier& tier) : tier_(tier) {}
  grpc::ServerUnaryReactor* Deliver(grpc::CallbackServerContext* c, const proto::Envelope* e,
                                    proto::DeliveryReceipt* r) override {
    return tier_.calls().serve(c, [=, this] { return tier_.deliver(c, *e, r); });
  }
  grpc::ServerUnaryReactor* Relay(grpc::CallbackServerContext* c, const proto::Envelope* e,
                                  proto::RelayReceipt* r) override {
    return tier_.calls().serve(c, [=, this] { return tier_.relay(c, *e, r); });
  }
  grpc::ServerUnaryReactor* UpdateCounts(grpc::CallbackServerContext* c,
                                         const proto::UpdateCountRequest* q,
                                         proto::UpdateCountList* l) override {
    return tier_.calls().serve(c, [=, this] { return tier_.update_counts(c, *q, l); });
  }
  grpc::ServerUnaryReactor* RangeDigests(grpc::CallbackServerContext* c,
                                         const proto::DigestRequest* q,
                                         proto::DigestReply* r) override {
    return tier_.calls().serve(c, [=, this] { return tier_.range_digests(c, *q, r); });
  }

 private:
  UpperTier& tier_;
};

class LookupService final : public proto::IdentityLookup::CallbackService {
 public:
  explicit LookupService(UpperTier& tier) : tier_(tier) {}
  grpc::ServerUnaryReactor* Lookup(grpc::CallbackServerContext* c, const proto::LookupRequest* q,
                                   proto::LookupReply* r) override {
    return tier_.calls().serve(c, [=, this] { return tier_.lookup(c, *q, r); });
  }

 private:
  UpperTier& tier_;
};

struct State {
  std::unique_ptr<UpperTier> tier;
  std::unique_ptr<NotificationsService> notifications;
  std::unique_ptr<LookupService> lookups;
};

Result<server::Program::Started, std::string> start(server::Runtime& runtime) {
  const bool prefecture = runtime.config.tier == Tier::prefecture;
  std::vector<Ledger> ledgers;
  for (int i = 0; i < runtime.config.limits.store_connections; ++i) {
    auto connection = store::Connection::open(runtime.config.store);
    if (!connection) return unexpected("store: " + connection.error().message);
    auto opened = Ledger::open(std::move(*connection),
                               Options{prefecture, std::size_t(runtime.config.limits.max_held)});
    if (!opened) return unexpected("store: " + opened.error().message);
    ledgers.push_back(std::move(*opened));
  }
  auto state = std::make_shared<State>();
  state->tier = std::make_unique<UpperTier>(runtime, std::move(ledgers));
  state->notifications = std::make_unique<NotificationsService>(*state->tier);
  state->lookups = std::make_unique<LookupService>(*state->tier);
  UpperTier* tier = state->tier.get();
  tier->refusals =
      server::refusal_log((prefecture ? "juki-prefecture " : "juki-national") + runtime.config.code,
                          [tier](const std::string& peer, const std::string& reason) {
                            tier->record_refusal(peer, reason);
                          });
  if (prefecture) tier->start_relay();

  server::Program::Started started;
  started.services = {state->notifications.get(), state->lookups.get()};
  const std::string code = runtime.config.code;
  // Only the links seed 004 第4-3(4) allows: CS -> prefecture, prefecture ->
  // national (agencies come later).
  if (prefecture)
    started.admit = [code](const trust::Peer& peer) -> std::optional<std::string> {
      if (peer.role == pki::Role::cs && trust::prefecture_of(peer.code) == code)
        return std::nullopt;
      return trust::describe(peer) + " has no link to prefecture " + code;
    };
  else
    started.admit = [](const trust::Peer& peer) -> std::optional<std::string> {
      if (peer.role == pki::Role::prefecture) return std::nullopt;
      return trust::describe(peer) + " has no link to the national server";
    };
  started.refusals = tier->refusals;
  started.stop = [tier] { tier->stop(); };
  started.state = state;
  return started;
}

}  // namespace

server::Program prefecture_program() {
  server::Program program;
  program.tier = Tier::prefecture;
  program.name = "juki-prefecture";
  program.summary =
      "A prefecture server: records its CSs' notifications of identity information, confirms "
      "them, relays them to the national server, and answers lookups of its residents.";
  program.start = start;
  return program;
}

server::Program national_program() {
  server::Program program;
  program.tier = Tier::national;
  program.name = "juki-national";
  program.summary =
      "The national server of the designated body: records the identity information the "
      "prefecture servers relay, confirms it, and answers lookups.";
  program.start = start;
  return program;
}

}  // namespace juki::backend::ledger
