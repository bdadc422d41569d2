#include "backend/ledger/ledger.hpp"

#include <array>
#include <map>
#include <set>
#include <string_view>

#include "backend/store/migrations.hpp"
#include "backend/store/pages.hpp"
#include "backend/wire/identity.hpp"
#include "backend/wire/identity_row.hpp"
#include "pki/digest.hpp"

namespace juki::backend::ledger {

namespace {

using store::Connection;
using store::Error;
using store::Value;

// Version 1. Later versions are appended, never edited.
constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE certificates (
  fingerprint {BLOB} PRIMARY KEY,
  der {BLOB} NOT NULL,
  subject TEXT NOT NULL
);
CREATE TABLE envelopes (
  id {BIGSERIAL_PK},
  sender TEXT NOT NULL,
  first_sequence BIGINT NOT NULL,
  last_sequence BIGINT NOT NULL,
  kind BIGINT NOT NULL,
  payload {BLOB} NOT NULL,
  signature {BLOB} NOT NULL,
  signer {BLOB} NOT NULL REFERENCES certificates (fingerprint),
  received_at BIGINT NOT NULL
);
CREATE TABLE senders (
  sender TEXT PRIMARY KEY,
  high_water BIGINT NOT NULL
);
CREATE TABLE history (
  sender TEXT NOT NULL,
  sequence BIGINT NOT NULL,
  resident_code TEXT NOT NULL,
  reason BIGINT NOT NULL,
  change_date TEXT NOT NULL,
  name_kanji TEXT NOT NULL,
  name_kana TEXT NOT NULL,
  birth_date TEXT NOT NULL,
  sex BIGINT NOT NULL,
  address TEXT NOT NULL,
  previous_resident_code TEXT,
  repair BIGINT NOT NULL,
  recorded_at BIGINT NOT NULL,
  recorded_day TEXT NOT NULL,
  change_digest {BLOB} NOT NULL,
  envelope_id BIGINT NOT NULL REFERENCES envelopes (id),
  PRIMARY KEY (sender, sequence)
);
CREATE INDEX history_by_day ON history (sender, recorded_day);
CREATE INDEX history_by_resident ON history (resident_code);
CREATE TABLE identity (
  resident_code TEXT PRIMARY KEY,
  municipality TEXT NOT NULL,
  name_kanji TEXT NOT NULL,
  name_kana TEXT NOT NULL,
  birth_date TEXT NOT NULL,
  sex BIGINT NOT NULL,
  address TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('live', 'deleted', 'superseded')),
  reason BIGINT NOT NULL,
  change_date TEXT NOT NULL,
  recorded_at BIGINT NOT NULL DEFAULT 0,
  sender TEXT NOT NULL,
  sequence BIGINT NOT NULL
);
CREATE INDEX identity_by_municipality ON identity (municipality, resident_code);
CREATE TABLE held (
  sender TEXT NOT NULL,
  first_sequence BIGINT NOT NULL,
  envelope_id BIGINT NOT NULL REFERENCES envelopes (id),
  PRIMARY KEY (sender, first_sequence, envelope_id)
);
CREATE TABLE held_residents (
  resident_code TEXT NOT NULL,
  envelope_id BIGINT NOT NULL REFERENCES envelopes (id),
  PRIMARY KEY (resident_code, envelope_id)
);
CREATE TABLE relay_outbox (
  id {BIGSERIAL_PK},
  envelope_id BIGINT NOT NULL REFERENCES envelopes (id)
);
CREATE TABLE refusals (
  id {BIGSERIAL_PK},
  at BIGINT NOT NULL,
  peer TEXT NOT NULL,
  reason TEXT NOT NULL
);
)sql";

Unexpected<Refusal> refuse(Refusal::Kind kind, std::string message) {
  return unexpected(Refusal{kind, std::move(message)});
}

Unexpected<Refusal> store_failure(const Error& error) {
  return refuse(Refusal::Kind::store, error.message);
}

Bytes to_bytes(const std::string& s) {
  return Bytes(s.begin(), s.end());
}

Bytes change_digest(const proto::IdentityChange& change) {
  std::string bytes;
  change.SerializeToString(&bytes);  // deterministic for one message version
  return pki::sha256(bytes);
}

// The effect of one change on the resident's current record (specs/network.md
// 7.3). Changes of one municipality arrive in its order; between
// municipalities they may not (a CS that was down catches up late), so:
// entries and corrections make the record live in the sender's municipality,
// unless the record is another municipality's and newer (a later change date,
// or the same date recorded later); a deletion ends it only when the record
// is still that municipality's (a move-in elsewhere may have arrived first);
// a code change supersedes the old code's record when it is the sender's.
Result<void, Error> apply_to_identity(Connection& c, const std::string& sender,
                                      const proto::IdentityChange& change) {
  const auto& id = change.identity();
  const auto kind = wire::kind_of(change.reason());
  if (kind == wire::ReasonKind::deletion) {
    auto done = c.execute(
        "UPDATE identity SET status = 'deleted', reason = $2, change_date = $3, sender = $4, "
        "sequence = $5 WHERE resident_code = $1 AND municipality = $4",
        {id.resident_code(), std::int64_t{change.reason()}, change.change_date(), sender,
         static_cast<std::int64_t>(change.sequence())});
    if (!done) return unexpected(done.error());
    if (*done > 0) return {};
    // Never seen here (or no longer this municipality's): keep the deleted
    // record only if there is none, so that a lookup answers "deleted".
    auto inserted = c.execute(
        "INSERT INTO identity (resident_code, municipality, name_kanji, name_kana, birth_date, "
        "sex, address, status, reason, change_date, sender, sequence) VALUES ($1, $2, $3, $4, "
        "$5, $6, $7, 'deleted', $8, $9, $2, $10) ON CONFLICT (resident_code) DO NOTHING",
        {id.resident_code(), sender, id.name_kanji(), id.name_kana(), id.birth_date(),
         std::int64_t{id.sex()}, id.address(), std::int64_t{change.reason()}, change.change_date(),
         static_cast<std::int64_t>(change.sequence())});
    if (!inserted) return unexpected(inserted.error());
    return {};
  }
  if (change.reason() == proto::RESIDENT_CODE_CHANGE) {
    auto superseded = c.execute(
        "UPDATE identity SET status = 'superseded', reason = $2, change_date = $3, sender = $4, "
        "sequence = $5 WHERE resident_code = $1 AND municipality = $4",
        {change.previous_resident_code(), std::int64_t{change.reason()}, change.change_date(),
         sender, static_cast<std::int64_t>(change.sequence())});
    if (!superseded) return unexpected(superseded.error());
  }
  auto upserted = c.execute(
      "INSERT INTO identity (resident_code, municipality, name_kanji, name_kana, birth_date, sex, "
      "address, status, reason, change_date, recorded_at, sender, sequence) VALUES ($1, $2, $3, "
      "$4, $5, $6, $7, 'live', $8, $9, $11, $2, $10) ON CONFLICT (resident_code) DO UPDATE SET "
      "municipality = excluded.municipality, name_kanji = excluded.name_kanji, name_kana = "
      "excluded.name_kana, birth_date = excluded.birth_date, sex = excluded.sex, address = "
      "excluded.address, status = 'live', reason = excluded.reason, change_date = "
      "excluded.change_date, recorded_at = excluded.recorded_at, sender = excluded.sender, "
      "sequence = excluded.sequence WHERE identity.municipality = excluded.municipality OR "
      "identity.change_date < excluded.change_date OR (identity.change_date = "
      "excluded.change_date AND identity.recorded_at <= excluded.recorded_at)",
      {id.resident_code(), sender, id.name_kanji(), id.name_kana(), id.birth_date(),
       std::int64_t{id.sex()}, id.address(), std::int64_t{change.reason()}, change.change_date(),
       static_cast<std::int64_t>(change.sequence()), change.recorded_at()});
  if (!upserted) return unexpected(upserted.error());
  return {};
}

Result<std::int64_t, Error> keep_envelope(Connection& c, const proto::Envelope& envelope,
                                          const proto::NotificationBatch& batch,
                                          const trust::Peer& signer, std::int64_t received_at) {
  auto cert = c.execute(
      "INSERT INTO certificates (fingerprint, der, subject) VALUES ($1, $2, $3) "
      "ON CONFLICT (fingerprint) DO NOTHING",
      {signer.fingerprint, signer.certificate, signer.subject});
  if (!cert) return unexpected(cert.error());
  auto row = c.query_one(
      "INSERT INTO envelopes (sender, first_sequence, last_sequence, kind, payload, signature, "
      "signer, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
      {batch.sender(), static_cast<std::int64_t>(batch.changes(0).sequence()),
       static_cast<std::int64_t>(batch.changes(batch.changes_size() - 1).sequence()),
       std::int64_t{envelope.kind()}, to_bytes(envelope.payload()), to_bytes(envelope.signature()),
       signer.fingerprint, received_at});
  if (!row) return unexpected(row.error());
  return row->integer(0);
}

struct Applied {
  std::uint32_t applied = 0;
  std::uint32_t duplicates = 0;
  std::int64_t high_water = 0;
};

// Applies the changes of `batch` past `high_water` (which the caller has
// locked), or reports a conflict with what was recorded before.
Result<Applied, Refusal> apply_batch(Connection& c, const proto::NotificationBatch& batch,
                                     std::int64_t envelope_id, std::int64_t high_water) {
  Applied result{0, 0, high_water};
  for (const auto& change : batch.changes()) {
    const auto sequence = static_cast<std::int64_t>(change.sequence());
    const Bytes digest = change_digest(change);
    if (sequence <= result.high_water) {
      auto before =
          c.query_optional("SELECT change_digest FROM history WHERE sender = $1 AND sequence = $2",
                           {batch.sender(), sequence});
      if (!before) return store_failure(before.error());
      if (*before && (*before)->bytes(0) != digest)
        return refuse(Refusal::Kind::conflict, "sequence " + std::to_string(sequence) + " of " +
                                                   batch.sender() +
                                                   " was recorded with other content");
      ++result.duplicates;
      continue;
    }
    const auto& id = change.identity();
    auto history = c.execute(
        "INSERT INTO history (sender, sequence, resident_code, reason, change_date, name_kanji, "
        "name_kana, birth_date, sex, address, previous_resident_code, repair, recorded_at, "
        "recorded_day, change_digest, envelope_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
        "$10, $11, $12, $13, $14, $15, $16)",
        {batch.sender(), sequence, id.resident_code(), std::int64_t{change.reason()},
         change.change_date(), id.name_kanji(), id.name_kana(), id.birth_date(),
         std::int64_t{id.sex()}, id.address(),
         change.previous_resident_code().empty() ? Value(nullptr)
                                                 : Value(change.previous_resident_code()),
         std::int64_t{change.repair() ? 1 : 0}, change.recorded_at(),
         wire::recorded_day(change.recorded_at()), digest, envelope_id});
    if (!history) return store_failure(history.error());
    if (auto applied = apply_to_identity(c, batch.sender(), change); !applied)
      return store_failure(applied.error());
    result.high_water = sequence;
    ++result.applied;
  }
  return result;
}

}  // namespace

std::vector<std::string> schema_columns(store::Connection& connection) {
  std::vector<std::string> columns;
  const char* sql =
      connection.engine() == "sqlite"
          ? "SELECT m.name || '.' || p.name FROM sqlite_master m, "
            "pragma_table_info(m.name) p WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' "
            "ORDER BY 1"
          : "SELECT table_name || '.' || column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() ORDER BY 1";
  if (auto rows = connection.query(sql))
    for (const auto& row : *rows) columns.push_back(row.text(0));
  return columns;
}

Result<Ledger, store::Error> Ledger::open(store::Connection connection, Options options) {
  const std::array<std::string_view, 1> steps{kSchemaV1};
  if (auto migrated = store::migrate(connection, "ledger", steps); !migrated)
    return unexpected(migrated.error());
  return Ledger(std::move(connection), options);
}

Result<proto::DeliveryReceipt, Refusal> Ledger::deliver(const proto::Envelope& envelope,
                                                        const proto::NotificationBatch& batch,
                                                        const trust::Peer& signer,
                                                        std::int64_t received_at) {
  if (batch.changes_size() == 0) return refuse(Refusal::Kind::invalid, "an empty batch");
  if (batch.changes(0).sequence() == 0)
    return refuse(Refusal::Kind::invalid, "sequences start at 1");
  for (int i = 1; i < batch.changes_size(); ++i)
    if (batch.changes(i).sequence() != batch.changes(i - 1).sequence() + 1)
      return refuse(Refusal::Kind::invalid, "the batch's sequences are not consecutive");

  const store::RetryPolicy policy;
  for (int attempt = 1;; ++attempt) {
    std::optional<Refusal> failure;
    bool retryable = false;
    {
      auto transaction = connection_.begin();
      if (!transaction) {
        failure = Refusal{Refusal::Kind::store, transaction.error().message};
        retryable = transaction.error().retryable();
      } else {
        auto receipt = deliver_locked(envelope, batch, signer, received_at, retryable);
        if (!receipt) {
          failure = receipt.error();
        } else if (auto committed = transaction->commit(); !committed) {
          failure = Refusal{Refusal::Kind::store, committed.error().message};
          retryable = committed.error().retryable();
        } else {
          return *receipt;
        }
      }
    }  // rolled back here: nothing of a refused delivery stays
    if (!retryable || attempt >= policy.attempts) return unexpected(std::move(*failure));
    store::pause_before_retry(policy, attempt);
  }
}

Result<proto::DeliveryReceipt, Refusal> Ledger::deliver_locked(
    const proto::Envelope& envelope, const proto::NotificationBatch& batch,
    const trust::Peer& signer, std::int64_t received_at, bool& retryable) {
  Connection& c = connection_;
  const std::string& sender = batch.sender();
  auto failed = [&](const Error& e) {
    retryable = e.retryable();
    return store_failure(e);
  };
  if (auto row = c.execute(
          "INSERT INTO senders (sender, high_water) VALUES ($1, 0) ON CONFLICT (sender) DO NOTHING",
          {sender});
      !row)
    return failed(row.error());
  // Locks the sender's row until commit (PostgreSQL); SQLite's immediate
  // transaction holds the whole database already.
  auto locked = c.query_one(
      "UPDATE senders SET high_water = high_water WHERE sender = $1 RETURNING high_water",
      {sender});
  if (!locked) return failed(locked.error());
  std::int64_t high_water = locked->integer(0);

  proto::DeliveryReceipt receipt;
  receipt.set_sender(sender);
  const auto first = static_cast<std::int64_t>(batch.changes(0).sequence());
  const auto last = static_cast<std::int64_t>(batch.changes(batch.changes_size() - 1).sequence());

  if (first > high_water + 1) {
    // A gap: keep the envelope until the missing sequences arrive.
    auto held_count = c.query_one("SELECT count(*) FROM held");
    if (!held_count) return failed(held_count.error());
    if (held_count->integer(0) >= static_cast<std::int64_t>(options_.max_held))
      return refuse(Refusal::Kind::overload, "too many batches held behind gaps; send sequence " +
                                                 std::to_string(high_water + 1) + " first");
    auto id = keep_envelope(c, envelope, batch, signer, received_at);
    if (!id) return failed(id.error());
    if (auto h =
            c.execute("INSERT INTO held (sender, first_sequence, envelope_id) VALUES ($1, $2, $3)",
                      {sender, first, *id});
        !h)
      return failed(h.error());
    for (const auto& change : batch.changes())
      if (auto r =
              c.execute("INSERT INTO held_residents (resident_code, envelope_id) VALUES ($1, $2) "
                        "ON CONFLICT (resident_code, envelope_id) DO NOTHING",
                        {change.identity().resident_code(), *id});
          !r)
        return failed(r.error());
    receipt.set_high_water(static_cast<std::uint64_t>(high_water));
    receipt.set_held(true);
    return receipt;
  }

  std::uint32_t applied = 0;
  std::uint32_t duplicates = 0;
  auto apply = [&](const proto::NotificationBatch& b,
                   std::int64_t envelope_id) -> std::optional<Refusal> {
    auto done = apply_batch(c, b, envelope_id, high_water);
    if (!done) return done.error();
    applied += done->applied;
    duplicates += done->duplicates;
    high_water = done->high_water;
    return std::nullopt;
  };

  if (last > high_water) {
    auto id = keep_envelope(c, envelope, batch, signer, received_at);
    if (!id) return failed(id.error());
    if (auto refused = apply(batch, *id)) return unexpected(*refused);
    if (options_.relays)
      if (auto q = c.execute("INSERT INTO relay_outbox (envelope_id) VALUES ($1)", {*id}); !q)
        return failed(q.error());
  } else if (auto refused = apply(batch, 0)) {  // all duplicates: nothing to keep
    return unexpected(*refused);
  }

  // Envelopes held behind the gap this one filled, in order.
  for (;;) {
    auto next = c.query_optional(
        "SELECT h.envelope_id, e.payload FROM held h JOIN envelopes e ON e.id = h.envelope_id "
        "WHERE h.sender = $1 AND h.first_sequence <= $2 ORDER BY h.first_sequence LIMIT 1",
        {sender, high_water + 1});
    if (!next) return failed(next.error());
    if (!*next) break;
    const std::int64_t id = (*next)->integer(0);
    const Bytes& payload = (*next)->bytes(1);
    proto::NotificationBatch held;
    if (!held.ParseFromArray(payload.data(), static_cast<int>(payload.size())))
      return refuse(Refusal::Kind::store, "a held envelope no longer parses");
    const std::int64_t before = high_water;
    if (auto refused = apply(held, id)) return unexpected(*refused);
    if (options_.relays && high_water > before)
      if (auto q = c.execute("INSERT INTO relay_outbox (envelope_id) VALUES ($1)", {id}); !q)
        return failed(q.error());
    if (auto d = c.execute("DELETE FROM held WHERE envelope_id = $1", {id}); !d)
      return failed(d.error());
    if (auto d = c.execute("DELETE FROM held_residents WHERE envelope_id = $1", {id}); !d)
      return failed(d.error());
  }

  if (auto w =
          c.execute("UPDATE senders SET high_water = $2 WHERE sender = $1", {sender, high_water});
      !w)
    return failed(w.error());
  receipt.set_high_water(static_cast<std::uint64_t>(high_water));
  receipt.set_applied(applied);
  receipt.set_duplicates(duplicates);
  return receipt;
}

Result<std::int64_t, store::Error> Ledger::load(const std::function<bool(InitialRecord&)>& next) {
  static constexpr std::array<std::string_view, 12> kColumns{
      "resident_code", "municipality", "name_kanji", "name_kana",   "birth_date", "sex",
      "address",       "status",       "reason",     "change_date", "sender",     "sequence"};
  InitialRecord record;
  auto loaded = connection_.copy_rows("identity", kColumns, [&](store::CopyRow& row) {
    if (!next(record)) return false;
    const auto& id = record.identity;
    row.text(id.resident_code());
    row.text(record.municipality);
    row.text(id.name_kanji());
    row.text(id.name_kana());
    row.text(id.birth_date());
    row.integer(id.sex());
    row.text(id.address());
    row.text("live");
    row.integer(proto::CODE_ENTRY);
    row.text(record.change_date);
    row.text(record.municipality);
    row.integer(0);
    return true;
  });
  if (!loaded) return loaded;
  // Statistics for the planner and, on PostgreSQL, the visibility map of the
  // new rows: the table serves at its speed at once, not after autovacuum's
  // pass over millions of rows.
  auto analyzed = connection_.execute_script(
      connection_.engine() == "postgresql" ? "VACUUM (ANALYZE) identity" : "ANALYZE identity");
  if (!analyzed) return unexpected(analyzed.error());
  return loaded;
}

Result<std::vector<Ledger::Queued>, store::Error> Ledger::relay_queue(std::size_t limit) {
  auto rows = connection_.query(
      "SELECT q.id, e.kind, e.payload, e.signature, c.der FROM relay_outbox q "
      "JOIN envelopes e ON e.id = q.envelope_id JOIN certificates c ON c.fingerprint = e.signer "
      "ORDER BY q.id LIMIT $1",
      {static_cast<std::int64_t>(limit)});
  if (!rows) return unexpected(rows.error());
  std::vector<Queued> queue;
  for (const auto& row : *rows) {
    Queued q;
    q.id = row.integer(0);
    q.envelope.set_kind(static_cast<proto::PayloadKind>(row.integer(1)));
    const auto& payload = row.bytes(2);
    const auto& signature = row.bytes(3);
    const auto& der = row.bytes(4);
    q.envelope.set_payload(payload.data(), payload.size());
    q.envelope.set_signature(signature.data(), signature.size());
    q.envelope.set_signer_certificate(der.data(), der.size());
    queue.push_back(std::move(q));
  }
  return queue;
}

Result<void, store::Error> Ledger::relayed_up_to(std::int64_t id) {
  auto done = connection_.execute("DELETE FROM relay_outbox WHERE id <= $1", {id});
  if (!done) return unexpected(done.error());
  return {};
}

Result<std::int64_t, store::Error> Ledger::relay_backlog() {
  auto row = connection_.query_one("SELECT count(*) FROM relay_outbox");
  if (!row) return unexpected(row.error());
  return row->integer(0);
}

Result<std::int64_t, store::Error> Ledger::high_water(const std::string& sender) {
  auto row =
      connection_.query_optional("SELECT high_water FROM senders WHERE sender = $1", {sender});
  if (!row) return unexpected(row.error());
  return *row ? (*row)->integer(0) : 0;
}

Result<proto::LookupReply, store::Error> Ledger::lookup(const std::string& resident_code) {
  auto replies = lookup_many(std::span<const std::string>(&resident_code, 1));
  if (!replies) return unexpected(replies.error());
  return std::move(replies->front());
}

namespace {

// The lookup statement for n codes: the current records, then the codes held
// behind a gap (last column 1). n is one of a few sizes, so that a
// connection's prepared statements stay few.
const std::string& lookup_statement(std::size_t n) {
  static const auto statements = [] {
    std::map<std::size_t, std::string> made;
    for (std::size_t size = 1; size <= Ledger::kMaxLookups; size *= 2) {
      std::string list;
      for (std::size_t i = 1; i <= size; ++i) list += (i == 1 ? "$" : ", $") + std::to_string(i);
      made[size] =
          "SELECT resident_code, name_kanji, name_kana, birth_date, sex, address, municipality, "
          "status, reason, change_date, 0 FROM identity WHERE resident_code IN (" +
          list +
          ") UNION ALL SELECT resident_code, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
          "NULL, 1 FROM held_residents WHERE resident_code IN (" +
          list + ")";
    }
    return made;
  }();
  return statements.lower_bound(n)->second;
}

}  // namespace

Result<std::vector<proto::LookupReply>, store::Error> Ledger::lookup_many(
    std::span<const std::string> resident_codes) {
  const std::size_t n = resident_codes.size();
  if (n == 0) return std::vector<proto::LookupReply>{};
  if (n > kMaxLookups)
    return unexpected(store::Error{store::Error::Kind::invalid,
                                   "at most " + std::to_string(kMaxLookups) + " lookups at once"});
  // The statement's size, its places past n filled with the last code again.
  const std::string& sql = lookup_statement(n);
  std::size_t size = 1;
  while (size < n) size *= 2;
  std::vector<store::Value> params;
  params.reserve(size);
  for (std::size_t i = 0; i < size; ++i) params.emplace_back(resident_codes[std::min(i, n - 1)]);
  auto rows = connection_.query(sql, params);
  if (!rows) return unexpected(rows.error());

  std::map<std::string, const store::Row*> current;
  std::set<std::string> held;
  for (const auto& row : *rows) {
    if (row.integer(10) != 0)
      held.insert(row.text(0));
    else
      current.emplace(row.text(0), &row);
  }
  std::vector<proto::LookupReply> replies(n);
  for (std::size_t i = 0; i < n; ++i) {
    proto::LookupReply& reply = replies[i];
    const std::string& code = resident_codes[i];
    if (held.count(code)) {
      reply.set_status(proto::PENDING);
      continue;
    }
    auto found = current.find(code);
    if (found == current.end()) {
      reply.set_status(proto::UNKNOWN);
      continue;
    }
    const store::Row& row = *found->second;
    *reply.mutable_identity() = wire::identity_of(row);
    reply.set_municipality(row.text(6));
    reply.set_status(row.text(7) == "live" ? proto::FOUND : proto::DELETED);
    reply.set_reason(static_cast<proto::ChangeReason>(row.integer(8)));
    reply.set_change_date(row.text(9));
  }
  return replies;
}

Result<proto::UpdateCountList, store::Error> Ledger::update_counts(const std::string& sender,
                                                                   const std::string& from_date,
                                                                   const std::string& to_date) {
  auto rows = connection_.query(
      "SELECT recorded_day, reason, count(*), min(sequence), max(sequence) FROM history "
      "WHERE sender = $1 AND recorded_day >= $2 AND recorded_day <= $3 "
      "GROUP BY recorded_day, reason ORDER BY recorded_day, reason",
      {sender, from_date, to_date});
  if (!rows) return unexpected(rows.error());
  proto::UpdateCountList list;
  list.set_sender(sender);
  for (const auto& row : *rows)
    wire::add_count(list, row.text(0), static_cast<proto::ChangeReason>(row.integer(1)),
                    static_cast<std::uint64_t>(row.integer(2)),
                    static_cast<std::uint64_t>(row.integer(3)),
                    static_cast<std::uint64_t>(row.integer(4)));
  auto hw = high_water(sender);
  if (!hw) return unexpected(hw.error());
  list.set_high_water(static_cast<std::uint64_t>(*hw));
  return list;
}

Result<proto::DigestReply, store::Error> Ledger::range_digests(
    const proto::DigestRequest& request) {
  proto::DigestReply reply;
  for (const auto& prefix : request.prefixes()) {
    // Codes are 11 digits: the prefix's range is [prefix, prefix + "~").
    wire::RangeDigester digester(prefix, request.records());
    auto read = store::for_each_row(
        connection_,
        "SELECT resident_code, name_kanji, name_kana, birth_date, sex, address FROM identity "
        "WHERE municipality = $1 AND status = 'live' AND resident_code >= $2 AND "
        "resident_code < $3 AND resident_code > $4 ORDER BY resident_code LIMIT $5",
        {request.municipality(), prefix, prefix + "~"}, store::kPageRows,
        [&](const store::Row& row) { digester.add(wire::identity_of(row)); });
    if (!read) return unexpected(read.error());
    *reply.add_ranges() = digester.finish();
  }
  return reply;
}

Result<void, store::Error> Ledger::record_refusal(const std::string& peer,
                                                  const std::string& reason, std::int64_t at) {
  auto done = connection_.execute("INSERT INTO refusals (at, peer, reason) VALUES ($1, $2, $3)",
                                  {at, peer, reason});
  if (!done) return unexpected(done.error());
  return {};
}

}  // namespace juki::backend::ledger
