// The upper tiers' store (specs/network.md 7.2): what a prefecture or the
// national server holds of identity information. Each resident's current
// record, the history of every change with the CS's sequence, the signed
// envelopes the changes came in, each CS's high-water mark, the envelopes
// held behind a gap, and (at a prefecture) the relay outbox to the national
// server. The schema has no column for anything but identity information
// and the change information that goes with it (NETWORK.md A1).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "backend/store/connection.hpp"
#include "backend/trust/trust.hpp"
#include "backend/wire/juki_net.pb.h"

namespace juki::backend::ledger {

namespace proto = juki::net::v1;

// Why a delivery was refused as a whole (nothing of it applied).
struct Refusal {
  enum class Kind {
    invalid,   // the batch breaks the protocol: not consecutive, a wrong sender, a bad change
    conflict,  // a sequence recorded before with other content: a forged or replayed message
    overload,  // too many envelopes held behind a gap: send the missing ones first
    store,     // the store failed; retry later
  };
  Kind kind = Kind::invalid;
  std::string message;
};

struct Options {
  bool relays = false;            // a prefecture: queue what it applies for the national server
  std::size_t max_held = 10'000;  // envelopes held behind gaps, all senders together
};

// The schema's columns, for the test that nothing but identity information
// has a place in it.
std::vector<std::string> schema_columns(store::Connection& connection);

class Ledger {
 public:
  // Opens (and migrates) the ledger on `connection`.
  static Result<Ledger, store::Error> open(store::Connection connection, Options options);

  // Applies one CS's signed batch exactly once: sequences up to the sender's
  // high-water mark are acknowledged as duplicates (after checking they are
  // the same changes), the next ones are applied, and a batch that starts
  // past high_water + 1 is held until the gap is filled. The envelope is
  // kept with what it brought. `batch` is the envelope's parsed payload,
  // `signer` its checked signer (a CS of the batch's municipality).
  Result<proto::DeliveryReceipt, Refusal> deliver(const proto::Envelope& envelope,
                                                  const proto::NotificationBatch& batch,
                                                  const trust::Peer& signer,
                                                  std::int64_t received_at);

  // The initial load (specs/network.md 7.4): records straight into the
  // current records, as when a tier is first filled from its CSs' data, in
  // bulk and not through the notification flow: live, reason CODE_ENTRY,
  // sequence 0, no history, no envelope. `next` fills one record and says
  // whether it did. Gives the number loaded; all or nothing.
  struct InitialRecord {
    std::string municipality;
    proto::IdentityInformation identity;
    std::string change_date;
  };
  Result<std::int64_t, store::Error> load(const std::function<bool(InitialRecord&)>& next);

  // The relay outbox: envelopes applied here and not yet confirmed by the
  // national server, oldest first, with their queue ids.
  struct Queued {
    std::int64_t id = 0;
    proto::Envelope envelope;
  };
  Result<std::vector<Queued>, store::Error> relay_queue(std::size_t limit);
  Result<void, store::Error> relayed_up_to(std::int64_t id);
  Result<std::int64_t, store::Error> relay_backlog();

  Result<proto::LookupReply, store::Error> lookup(const std::string& resident_code);
  // The answers for up to kMaxLookups codes, in order, in one statement (one
  // round trip): each code's current record, or PENDING while a change of it
  // is held behind a gap, or UNKNOWN.
  static constexpr std::size_t kMaxLookups = 64;
  Result<std::vector<proto::LookupReply>, store::Error> lookup_many(
      std::span<const std::string> resident_codes);
  Result<proto::UpdateCountList, store::Error> update_counts(const std::string& sender,
                                                             const std::string& from_date,
                                                             const std::string& to_date);
  Result<std::int64_t, store::Error> high_water(const std::string& sender);
  // Live records of one municipality whose code starts with each prefix.
  Result<proto::DigestReply, store::Error> range_digests(const proto::DigestRequest& request);

  Result<void, store::Error> record_refusal(const std::string& peer, const std::string& reason,
                                            std::int64_t at);

  store::Connection& connection() { return connection_; }

 private:
  Ledger(store::Connection connection, Options options)
      : connection_(std::move(connection)), options_(options) {}
  // deliver()'s work inside its transaction; sets `retryable` for a store
  // error worth running the transaction again for.
  Result<proto::DeliveryReceipt, Refusal> deliver_locked(const proto::Envelope& envelope,
                                                         const proto::NotificationBatch& batch,
                                                         const trust::Peer& signer,
                                                         std::int64_t received_at, bool& retryable);
  store::Connection connection_;
  Options options_;
};

}  // namespace juki::backend::ledger
