#include "backend/cs/cs_store.hpp"

#include <array>
#include <string_view>

#include "backend/store/migrations.hpp"
#include "backend/store/pages.hpp"
#include "backend/wire/identity.hpp"
#include "backend/wire/identity_row.hpp"
#include "pki/digest.hpp"

namespace juki::backend::cs {

namespace {

using store::Connection;
using store::Error;
using store::Value;

constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE residents (
  resident_code TEXT PRIMARY KEY,
  name_kanji TEXT NOT NULL,
  name_kana TEXT NOT NULL,
  birth_date TEXT NOT NULL,
  sex BIGINT NOT NULL,
  address TEXT NOT NULL,
  household_head TEXT NOT NULL,
  became_resident_on TEXT NOT NULL,
  address_notified_on TEXT NOT NULL,
  previous_address TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('live', 'deleted', 'superseded')),
  reason BIGINT NOT NULL,
  change_date TEXT NOT NULL,
  sequence BIGINT NOT NULL
);
CREATE TABLE reports (
  report TEXT PRIMARY KEY,
  digest {BLOB} NOT NULL,
  sequence BIGINT NOT NULL
);
CREATE TABLE outbox (
  sequence BIGINT PRIMARY KEY,
  resident_code TEXT NOT NULL,
  reason BIGINT NOT NULL,
  recorded_at BIGINT NOT NULL,
  recorded_day TEXT NOT NULL,
  change {BLOB} NOT NULL
);
CREATE INDEX outbox_by_day ON outbox (recorded_day);
CREATE TABLE links (
  peer TEXT PRIMARY KEY,
  confirmed BIGINT NOT NULL
);
INSERT INTO links (peer, confirmed) VALUES ('prefecture', 0);
CREATE TABLE refusals (
  id {BIGSERIAL_PK},
  at BIGINT NOT NULL,
  peer TEXT NOT NULL,
  reason TEXT NOT NULL
);
)sql";

proto::ReportResult refused(const proto::ChangeReport& report, std::string field,
                            std::string message) {
  proto::ReportResult result;
  result.set_report(report.report());
  result.set_status(proto::REFUSED);
  result.set_field(std::move(field));
  result.set_message(std::move(message));
  return result;
}

constexpr const char* kResidentColumns =
    "resident_code, name_kanji, name_kana, birth_date, sex, address, household_head, "
    "became_resident_on, address_notified_on, previous_address, status";

// kResidentColumns' row as the existing system's record.
proto::ResidentRecord resident_of(const store::Row& row) {
  proto::ResidentRecord r;
  *r.mutable_identity() = wire::identity_of(row);
  r.set_household_head(row.text(6));
  r.set_became_resident_on(row.text(7));
  r.set_address_notified_on(row.text(8));
  r.set_previous_address(row.text(9));
  return r;
}

}  // namespace

Result<CsStore, store::Error> CsStore::open(store::Connection connection,
                                            std::string municipality) {
  const std::array<std::string_view, 1> steps{kSchemaV1};
  if (auto migrated = store::migrate(connection, "cs", steps); !migrated)
    return unexpected(migrated.error());
  return CsStore(std::move(connection), std::move(municipality));
}

Result<std::vector<proto::ReportResult>, store::Error> CsStore::record(
    std::span<const proto::ChangeReport> reports, std::int64_t recorded_at,
    const calendar::Date& today) {
  return store::run_transaction(
      connection_, [&](Connection&) -> Result<std::vector<proto::ReportResult>, Error> {
        std::vector<proto::ReportResult> results;
        results.reserve(reports.size());
        for (const auto& report : reports) {
          auto result = record_one(report, recorded_at, today);
          if (!result) return unexpected(result.error());
          results.push_back(std::move(*result));
        }
        return results;
      });
}

Result<proto::ReportResult, store::Error> CsStore::record_one(const proto::ChangeReport& report,
                                                              std::int64_t recorded_at,
                                                              const calendar::Date& today) {
  Connection& c = connection_;
  std::string bytes;
  report.SerializeToString(&bytes);
  const Bytes digest = pki::sha256(bytes);
  auto seen =
      c.query_optional("SELECT digest, sequence FROM reports WHERE report = $1", {report.report()});
  if (!seen) return unexpected(seen.error());
  if (*seen) {
    if ((*seen)->bytes(0) != digest)
      return refused(report, "report",
                     "report " + report.report() + " was accepted before with other content");
    proto::ReportResult result;
    result.set_report(report.report());
    result.set_status(proto::ALREADY_ACCEPTED);
    result.set_sequence(static_cast<std::uint64_t>((*seen)->integer(1)));
    return result;
  }
  if (auto problem = wire::check_report(report, municipality_, today))
    return refused(report, problem->field, problem->message);

  const auto kind = *wire::kind_of(report.reason());
  const std::string& code = report.resident().identity().resident_code();
  auto current = c.query_optional(
      std::string("SELECT ") + kResidentColumns + " FROM residents WHERE resident_code = $1",
      {code});
  if (!current) return unexpected(current.error());
  const bool live = *current && (*current)->text(10) == "live";

  proto::ResidentRecord record = report.resident();
  if (kind == wire::ReasonKind::entry && live)
    return refused(report, "resident.code", "resident " + code + " is already registered here");
  if (kind == wire::ReasonKind::deletion) {
    if (!live) return refused(report, "resident.code", "unknown resident " + code);
    record = resident_of(**current);  // the notification carries the record as it was
  }
  if (kind == wire::ReasonKind::correction) {
    const std::string& subject =
        report.reason() == proto::RESIDENT_CODE_CHANGE ? report.previous_code() : code;
    auto before =
        c.query_optional("SELECT status FROM residents WHERE resident_code = $1", {subject});
    if (!before) return unexpected(before.error());
    if (!*before || (*before)->text(0) != "live")
      return refused(
          report,
          report.reason() == proto::RESIDENT_CODE_CHANGE ? "previous_code" : "resident.code",
          "unknown resident " + subject);
    if (report.reason() == proto::RESIDENT_CODE_CHANGE && *current)
      return refused(report, "resident.code", "resident code " + code + " is already in use");
  }

  proto::IdentityChange change;
  change.set_reason(report.reason());
  change.set_change_date(report.date());
  *change.mutable_identity() = record.identity();
  change.set_previous_resident_code(report.previous_code());
  change.set_recorded_at(recorded_at);
  auto sequence = queue(change);
  if (!sequence) return unexpected(sequence.error());

  const auto& id = record.identity();
  const char* status = kind == wire::ReasonKind::deletion ? "deleted" : "live";
  auto written = c.execute(
      "INSERT INTO residents (resident_code, name_kanji, name_kana, birth_date, sex, address, "
      "household_head, became_resident_on, address_notified_on, previous_address, status, "
      "reason, change_date, sequence) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, "
      "$13, $14) ON CONFLICT (resident_code) DO UPDATE SET name_kanji = excluded.name_kanji, "
      "name_kana = excluded.name_kana, birth_date = excluded.birth_date, sex = excluded.sex, "
      "address = excluded.address, household_head = excluded.household_head, "
      "became_resident_on = excluded.became_resident_on, address_notified_on = "
      "excluded.address_notified_on, previous_address = excluded.previous_address, status = "
      "excluded.status, reason = excluded.reason, change_date = excluded.change_date, sequence "
      "= excluded.sequence",
      {id.resident_code(), id.name_kanji(), id.name_kana(), id.birth_date(), std::int64_t{id.sex()},
       id.address(), record.household_head(), record.became_resident_on(),
       record.address_notified_on(), record.previous_address(), std::string(status),
       std::int64_t{report.reason()}, report.date(), *sequence});
  if (!written) return unexpected(written.error());
  if (report.reason() == proto::RESIDENT_CODE_CHANGE) {
    auto superseded = c.execute(
        "UPDATE residents SET status = 'superseded', reason = $2, change_date = $3, sequence = $4 "
        "WHERE resident_code = $1",
        {report.previous_code(), std::int64_t{report.reason()}, report.date(), *sequence});
    if (!superseded) return unexpected(superseded.error());
  }
  auto kept = c.execute("INSERT INTO reports (report, digest, sequence) VALUES ($1, $2, $3)",
                        {report.report(), digest, *sequence});
  if (!kept) return unexpected(kept.error());

  proto::ReportResult result;
  result.set_report(report.report());
  result.set_status(proto::ACCEPTED);
  result.set_sequence(static_cast<std::uint64_t>(*sequence));
  return result;
}

Result<std::int64_t, store::Error> CsStore::queue(proto::IdentityChange change) {
  auto last = last_sequence();
  if (!last) return unexpected(last.error());
  const std::int64_t sequence = *last + 1;
  change.set_sequence(static_cast<std::uint64_t>(sequence));
  std::string bytes;
  change.SerializeToString(&bytes);
  auto queued = connection_.execute(
      "INSERT INTO outbox (sequence, resident_code, reason, recorded_at, recorded_day, change) "
      "VALUES ($1, $2, $3, $4, $5, $6)",
      {sequence, change.identity().resident_code(), std::int64_t{change.reason()},
       change.recorded_at(), wire::recorded_day(change.recorded_at()),
       Bytes(bytes.begin(), bytes.end())});
  if (!queued) return unexpected(queued.error());
  return sequence;
}

Result<std::vector<proto::IdentityChange>, store::Error> CsStore::outbox_after(std::int64_t after,
                                                                               std::size_t limit) {
  auto rows =
      connection_.query("SELECT change FROM outbox WHERE sequence > $1 ORDER BY sequence LIMIT $2",
                        {after, static_cast<std::int64_t>(limit)});
  if (!rows) return unexpected(rows.error());
  std::vector<proto::IdentityChange> changes(rows->size());
  for (std::size_t i = 0; i < rows->size(); ++i) {
    const Bytes& bytes = (*rows)[i].bytes(0);
    if (!changes[i].ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
      return unexpected(Error{Error::Kind::other, "cs: an outbox entry no longer parses"});
  }
  return changes;
}

Result<std::int64_t, store::Error> CsStore::last_sequence() {
  auto row = connection_.query_one("SELECT coalesce(max(sequence), 0) FROM outbox");
  if (!row) return unexpected(row.error());
  return row->integer(0);
}

Result<std::int64_t, store::Error> CsStore::confirmed() {
  auto row = connection_.query_one("SELECT confirmed FROM links WHERE peer = 'prefecture'");
  if (!row) return unexpected(row.error());
  return row->integer(0);
}

Result<void, store::Error> CsStore::confirm(std::int64_t high_water) {
  // Never backwards: a late receipt of an older delivery changes nothing.
  auto done = connection_.execute(
      "UPDATE links SET confirmed = $1 WHERE peer = 'prefecture' AND confirmed < $1", {high_water});
  if (!done) return unexpected(done.error());
  return {};
}

Result<CsStore::Backlog, store::Error> CsStore::backlog() {
  auto row = connection_.query_one(
      "SELECT count(*), min(o.recorded_at) FROM outbox o, links l "
      "WHERE l.peer = 'prefecture' AND o.sequence > l.confirmed");
  if (!row) return unexpected(row.error());
  return Backlog{row->integer(0), row->optional_integer(1)};
}

Result<proto::UpdateCountList, store::Error> CsStore::update_counts(const std::string& from_date,
                                                                    const std::string& to_date) {
  auto rows = connection_.query(
      "SELECT recorded_day, reason, count(*), min(sequence), max(sequence) FROM outbox "
      "WHERE recorded_day >= $1 AND recorded_day <= $2 GROUP BY recorded_day, reason "
      "ORDER BY recorded_day, reason",
      {from_date, to_date});
  if (!rows) return unexpected(rows.error());
  proto::UpdateCountList list;
  list.set_receiver(municipality_);
  list.set_sender(municipality_);
  for (const auto& row : *rows)
    wire::add_count(list, row.text(0), static_cast<proto::ChangeReason>(row.integer(1)),
                    static_cast<std::uint64_t>(row.integer(2)),
                    static_cast<std::uint64_t>(row.integer(3)),
                    static_cast<std::uint64_t>(row.integer(4)));
  auto last = last_sequence();
  if (!last) return unexpected(last.error());
  list.set_high_water(static_cast<std::uint64_t>(*last));
  return list;
}

Result<proto::DigestReply, store::Error> CsStore::range_digests(
    const proto::DigestRequest& request) {
  proto::DigestReply reply;
  for (const auto& prefix : request.prefixes()) {
    wire::RangeDigester digester(prefix, request.records());
    auto read = store::for_each_row(
        connection_,
        "SELECT resident_code, name_kanji, name_kana, birth_date, sex, address FROM residents "
        "WHERE status = 'live' AND resident_code >= $1 AND resident_code < $2 AND "
        "resident_code > $3 ORDER BY resident_code LIMIT $4",
        {prefix, prefix + "~"}, store::kPageRows,
        [&](const store::Row& row) { digester.add(wire::identity_of(row)); });
    if (!read) return unexpected(read.error());
    *reply.add_ranges() = digester.finish();
  }
  return reply;
}

Result<std::int64_t, store::Error> CsStore::resend(std::span<const std::string> resident_codes,
                                                   std::int64_t recorded_at) {
  return store::run_transaction(connection_, [&](Connection& c) -> Result<std::int64_t, Error> {
    std::int64_t queued = 0;
    for (const auto& code : resident_codes) {
      auto row = c.query_optional(std::string("SELECT ") + kResidentColumns +
                                      ", reason, change_date FROM residents "
                                      "WHERE resident_code = $1",
                                  {code});
      if (!row) return unexpected(row.error());
      // Never ours, or a code replaced by another (whose record carries it):
      // nothing to re-send.
      if (!*row || (*row)->text(10) == "superseded") continue;
      proto::IdentityChange change;
      change.set_reason(static_cast<proto::ChangeReason>((*row)->integer(11)));
      change.set_change_date((*row)->text(12));
      *change.mutable_identity() = resident_of(**row).identity();
      change.set_recorded_at(recorded_at);
      change.set_repair(true);
      auto sequence = queue(change);
      if (!sequence) return unexpected(sequence.error());
      ++queued;
    }
    return queued;
  });
}

Result<void, store::Error> CsStore::record_refusal(const std::string& peer,
                                                   const std::string& reason, std::int64_t at) {
  auto done = connection_.execute("INSERT INTO refusals (at, peer, reason) VALUES ($1, $2, $3)",
                                  {at, peer, reason});
  if (!done) return unexpected(done.error());
  return {};
}

}  // namespace juki::backend::cs
