// A CS's store (specs/network.md 7.1): its municipality's residents with the
// items Juki-net uses (identity information and the items of wide-area
// issuance), the existing system's reports (so that a repeat is a no-op),
// and the outbox of notifications to the prefecture server, written in the
// same transaction as the change it notifies.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "backend/calendar/date.hpp"
#include "backend/store/connection.hpp"
#include "backend/wire/juki_net.pb.h"

namespace juki::backend::cs {

namespace proto = juki::net::v1;

class CsStore {
 public:
  static Result<CsStore, store::Error> open(store::Connection connection, std::string municipality);

  const std::string& municipality() const { return municipality_; }

  // Records each report (refusing the bad ones with the field at fault:
  // unknown resident on a deletion or correction, a resident already here on
  // an entry, a report id reused with other content, or what
  // wire::check_report refuses) and the notification of each accepted one,
  // in one transaction. `recorded_at` is now; `today` its JST date.
  Result<std::vector<proto::ReportResult>, store::Error> record(
      std::span<const proto::ChangeReport> reports, std::int64_t recorded_at,
      const calendar::Date& today);

  // Notifications after sequence `after`, oldest first.
  Result<std::vector<proto::IdentityChange>, store::Error> outbox_after(std::int64_t after,
                                                                        std::size_t limit);
  Result<std::int64_t, store::Error> last_sequence();
  // What the prefecture server has confirmed holding: every sequence up to
  // here. confirm() sets it to what the receiver said, even backwards.
  Result<std::int64_t, store::Error> confirmed();
  Result<void, store::Error> confirm(std::int64_t high_water);
  // Unconfirmed notifications and the oldest one's recording time.
  struct Backlog {
    std::int64_t count = 0;
    std::optional<std::int64_t> oldest_recorded_at;
  };
  Result<Backlog, store::Error> backlog();

  // The CS's own update-count list, by the day (JST) it recorded each change.
  Result<proto::UpdateCountList, store::Error> update_counts(const std::string& from_date,
                                                             const std::string& to_date);
  // Its live residents' digests, as the upper tiers compute theirs.
  Result<proto::DigestReply, store::Error> range_digests(const proto::DigestRequest& request);
  // Queues a re-send of the current record of each resident (a repair of the
  // consistency check): live ones as they are, others as deleted.
  Result<std::int64_t, store::Error> resend(std::span<const std::string> resident_codes,
                                            std::int64_t recorded_at);

  // A caller refused in the handshake or a call (specs/network.md 4.3).
  Result<void, store::Error> record_refusal(const std::string& peer, const std::string& reason,
                                            std::int64_t at);

  store::Connection& connection() { return connection_; }

 private:
  CsStore(store::Connection connection, std::string municipality)
      : connection_(std::move(connection)), municipality_(std::move(municipality)) {}
  Result<proto::ReportResult, store::Error> record_one(const proto::ChangeReport& report,
                                                       std::int64_t recorded_at,
                                                       const calendar::Date& today);
  Result<std::int64_t, store::Error> queue(proto::IdentityChange change);
  store::Connection connection_;
  std::string municipality_;
};

}  // namespace juki::backend::cs
