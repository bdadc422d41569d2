// The upper tiers' ledger on both engines: exactly-once application, gaps,
// conflicts, the rules of the current record, update-count lists, the relay
// outbox, and that nothing but identity information has a place in it.
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <string>

#include "backend/ledger/ledger.hpp"
#include "backend/store/engines.hpp"
#include "backend/support/residents.hpp"
#include "backend/wire/identity.hpp"
#include "common/check_digits.hpp"

using namespace juki;
using namespace juki::backend;
namespace proto = juki::net::v1;

namespace {

// 2026-12-07 10:00 JST.
constexpr std::int64_t kMorning = 1796605200;

std::string code(int n) {
  return test::resident_code(n);
}

proto::IdentityChange change(std::uint64_t sequence, int resident, proto::ChangeReason reason,
                             std::string address = "東京都千代田区千代田1-1") {
  proto::IdentityChange c;
  c.set_sequence(sequence);
  c.set_reason(reason);
  c.set_change_date("2026-12-07");
  c.set_recorded_at(kMorning);
  auto* id = c.mutable_identity();
  id->set_resident_code(code(resident));
  id->set_name_kanji("山田 太郎");
  id->set_name_kana("ヤマダ タロウ");
  id->set_birth_date("1980-04-01");
  id->set_sex(proto::MALE);
  id->set_address(std::move(address));
  return c;
}

proto::NotificationBatch batch(const std::string& sender,
                               std::initializer_list<proto::IdentityChange> changes) {
  proto::NotificationBatch b;
  b.set_sender(sender);
  b.set_sent_at(kMorning);
  for (const auto& c : changes) *b.add_changes() = c;
  return b;
}

proto::Envelope envelope_of(const proto::NotificationBatch& b) {
  proto::Envelope e;
  e.set_kind(proto::NOTIFICATION_BATCH);
  b.SerializeToString(e.mutable_payload());
  e.set_signature("signature");
  return e;
}

backend::trust::Peer signer(const std::string& municipality) {
  backend::trust::Peer p;
  p.role = pki::Role::cs;
  p.code = municipality;
  p.subject = "O=Juki-net, OU=" + municipality + ", CN=CS";
  p.fingerprint = Bytes(32, static_cast<std::uint8_t>(municipality.back()));
  p.certificate = Bytes{0x30, 0x00};
  return p;
}

struct Fixture {
  explicit Fixture(const std::string& engine, ledger::Options options = {})
      : scratch(engine), ledger(open(scratch, options)) {}
  static ledger::Ledger open(const test::ScratchStore& s, ledger::Options options) {
    auto l = ledger::Ledger::open(s.connect(), options);
    if (!l) FAIL(l.error().message);
    return std::move(l).value();
  }
  proto::DeliveryReceipt deliver(const proto::NotificationBatch& b) {
    auto r = ledger.deliver(envelope_of(b), b, signer(b.sender()), kMorning + 60);
    if (!r) FAIL(r.error().message);
    return *r;
  }
  std::int64_t count(const std::string& table) {
    auto row = ledger.connection().query_one("SELECT count(*) FROM " + table);
    REQUIRE(row.ok());
    return row->integer(0);
  }
  test::ScratchStore scratch;
  ledger::Ledger ledger;
};

const std::string kChiyoda = "131016";
const std::string kSapporo = "011002";

}  // namespace

TEST_CASE("the ledger applies each sequence once: duplicates are acknowledged, not applied") {
  Fixture f(JUKI_EACH_STORE_ENGINE());
  auto r = f.deliver(batch(kChiyoda, {change(1, 1, proto::BIRTH), change(2, 2, proto::BIRTH),
                                      change(3, 3, proto::MOVE_IN)}));
  CHECK(r.high_water() == 3);
  CHECK(r.applied() == 3);
  CHECK(r.duplicates() == 0);
  CHECK_FALSE(r.held());

  r = f.deliver(batch(kChiyoda, {change(1, 1, proto::BIRTH), change(2, 2, proto::BIRTH),
                                 change(3, 3, proto::MOVE_IN)}));
  CHECK(r.applied() == 0);
  CHECK(r.duplicates() == 3);
  CHECK(r.high_water() == 3);

  // Overlapping: 2 and 3 again, 4 new.
  r = f.deliver(batch(kChiyoda, {change(2, 2, proto::BIRTH), change(3, 3, proto::MOVE_IN),
                                 change(4, 4, proto::BIRTH)}));
  CHECK(r.applied() == 1);
  CHECK(r.duplicates() == 2);
  CHECK(r.high_water() == 4);
  CHECK(f.count("history") == 4);
  CHECK(f.count("identity") == 4);
  // Each envelope that brought something new is kept; the pure repeat is not.
  CHECK(f.count("envelopes") == 2);
  CHECK(*f.ledger.high_water(kChiyoda) == 4);
  CHECK(*f.ledger.high_water(kSapporo) == 0);
}

TEST_CASE("a gap holds later batches until the missing one arrives, and a lookup says pending") {
  Fixture f(JUKI_EACH_STORE_ENGINE());
  f.deliver(batch(kChiyoda, {change(1, 1, proto::BIRTH)}));
  auto r = f.deliver(batch(kChiyoda, {change(4, 4, proto::BIRTH), change(5, 5, proto::BIRTH)}));
  CHECK(r.held());
  CHECK(r.high_water() == 1);
  CHECK(r.applied() == 0);
  r = f.deliver(batch(kChiyoda, {change(3, 3, proto::BIRTH)}));
  CHECK(r.held());
  CHECK(f.count("held") == 2);
  CHECK(f.ledger.lookup(code(4))->status() == proto::PENDING);
  CHECK(f.ledger.lookup(code(9))->status() == proto::UNKNOWN);

  r = f.deliver(batch(kChiyoda, {change(2, 2, proto::BIRTH)}));
  CHECK_FALSE(r.held());
  CHECK(r.high_water() == 5);
  CHECK(r.applied() == 4);  // 2, then the held 3, 4 and 5
  CHECK(f.count("held") == 0);
  CHECK(f.count("held_residents") == 0);
  CHECK(f.count("history") == 5);
  CHECK(f.ledger.lookup(code(4))->status() == proto::FOUND);
}

TEST_CASE("lookups of many codes in one statement: each answered in order, whatever its state",
          "[req:B10.2]") {
  Fixture f(JUKI_EACH_STORE_ENGINE());
  f.deliver(batch(kChiyoda, {change(1, 1, proto::BIRTH), change(2, 2, proto::BIRTH)}));
  f.deliver(batch(kChiyoda, {change(3, 2, proto::DEATH)}));
  f.deliver(batch(kChiyoda, {change(5, 5, proto::BIRTH)}));  // held: 4 is missing

  // Found, deleted, pending, unknown, and the same code twice, in an order
  // of their own; three codes is no statement size, so places are filled.
  const std::vector<std::string> codes{code(9), code(1), code(5), code(2), code(1)};
  for (std::size_t n : {std::size_t{1}, std::size_t{3}, codes.size()}) {
    std::vector<std::string> asked(codes.begin(), codes.begin() + static_cast<long>(n));
    auto replies = f.ledger.lookup_many(asked);
    REQUIRE(replies.ok());
    REQUIRE(replies->size() == n);
    const std::vector<proto::LookupStatus> expected{proto::UNKNOWN, proto::FOUND, proto::PENDING,
                                                    proto::DELETED, proto::FOUND};
    for (std::size_t i = 0; i < n; ++i) {
      INFO("code " << asked[i]);
      CHECK((*replies)[i].status() == expected[i]);
      if (expected[i] == proto::FOUND) {
        CHECK((*replies)[i].identity().resident_code() == asked[i]);
        CHECK((*replies)[i].identity().name_kana() == "ヤマダ タロウ");
        CHECK((*replies)[i].municipality() == kChiyoda);
      }
    }
  }
  CHECK((*f.ledger.lookup_many(std::vector<std::string>{code(2)}))[0].reason() == proto::DEATH);

  // The largest statement, and past it a clear refusal.
  std::vector<std::string> many;
  for (int i = 1; i <= static_cast<int>(ledger::Ledger::kMaxLookups); ++i) many.push_back(code(i));
  auto all = f.ledger.lookup_many(many);
  REQUIRE(all.ok());
  CHECK((*all)[0].status() == proto::FOUND);
  CHECK((*all)[4].status() == proto::PENDING);
  CHECK((*all)[63].status() == proto::UNKNOWN);
  many.push_back(code(65));
  auto refused = f.ledger.lookup_many(many);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message == "at most 64 lookups at once");
  CHECK(f.ledger.lookup_many(std::vector<std::string>{})->empty());
}

TEST_CASE("a sequence recorded before with other content is refused, and nothing applied") {
  Fixture f(JUKI_EACH_STORE_ENGINE());
  f.deliver(batch(kChiyoda, {change(1, 1, proto::BIRTH), change(2, 2, proto::BIRTH)}));
  auto forged =
      batch(kChiyoda, {change(2, 2, proto::BIRTH, "偽の住所"), change(3, 3, proto::BIRTH)});
  auto r = f.ledger.deliver(envelope_of(forged), forged, signer(kChiyoda), kMorning);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ledger::Refusal::Kind::conflict);
  CHECK(r.error().message == "sequence 2 of 131016 was recorded with other content");
  CHECK(*f.ledger.high_water(kChiyoda) == 2);
  CHECK(f.count("history") == 2);
  CHECK(f.count("envelopes") == 1);
  CHECK(f.ledger.lookup(code(3))->status() == proto::UNKNOWN);
}

TEST_CASE("batches that break the protocol are refused whole") {
  Fixture f(JUKI_EACH_STORE_ENGINE());
  auto not_consecutive = batch(kChiyoda, {change(1, 1, proto::BIRTH), change(3, 3, proto::BIRTH)});
  auto r = f.ledger.deliver(envelope_of(not_consecutive), not_consecutive, signer(kChiyoda), 0);
  CHECK(r.error().kind == ledger::Refusal::Kind::invalid);
  auto zero = batch(kChiyoda, {change(0, 1, proto::BIRTH)});
  CHECK(f.ledger.deliver(envelope_of(zero), zero, signer(kChiyoda), 0).error().kind ==
        ledger::Refusal::Kind::invalid);
  auto empty = batch(kChiyoda, {});
  CHECK(f.ledger.deliver(envelope_of(empty), empty, signer(kChiyoda), 0).error().message ==
        "an empty batch");
  CHECK(f.count("history") == 0);
}

TEST_CASE("held batches are bounded: past the limit the sender is told to send the gap first") {
  Fixture f(JUKI_EACH_STORE_ENGINE(), ledger::Options{false, 2});
  f.deliver(batch(kChiyoda, {change(3, 3, proto::BIRTH)}));
  f.deliver(batch(kChiyoda, {change(5, 5, proto::BIRTH)}));
  auto third = batch(kChiyoda, {change(7, 7, proto::BIRTH)});
  auto r = f.ledger.deliver(envelope_of(third), third, signer(kChiyoda), 0);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ledger::Refusal::Kind::overload);
  CHECK(r.error().message.find("send sequence 1 first") != std::string::npos);
}

TEST_CASE("current records: a move-out that arrives after the move-in elsewhere ends nothing") {
  Fixture f(JUKI_EACH_STORE_ENGINE());
  f.deliver(batch(kChiyoda, {change(1, 7, proto::CODE_ENTRY)}));
  // The resident moves to Sapporo; Sapporo's move-in arrives first.
  f.deliver(batch(kSapporo, {change(1, 7, proto::MOVE_IN, "北海道札幌市中央区北1条西2丁目")}));
  f.deliver(batch(kChiyoda, {change(2, 7, proto::MOVE_OUT)}));
  auto found = *f.ledger.lookup(code(7));
  CHECK(found.status() == proto::FOUND);
  CHECK(found.municipality() == kSapporo);
  CHECK(found.identity().address() == "北海道札幌市中央区北1条西2丁目");
  CHECK(f.count("history") == 3);

  // A death in Sapporo ends it.
  f.deliver(batch(kSapporo, {change(2, 7, proto::DEATH, "北海道札幌市中央区北1条西2丁目")}));
  auto dead = *f.ledger.lookup(code(7));
  CHECK(dead.status() == proto::DELETED);
  CHECK(dead.reason() == proto::DEATH);
}

TEST_CASE("current records: a resident-code change supersedes the old code") {
  Fixture f(JUKI_EACH_STORE_ENGINE());
  f.deliver(batch(kChiyoda, {change(1, 10, proto::CODE_ENTRY)}));
  auto renewed = change(2, 11, proto::RESIDENT_CODE_CHANGE);
  renewed.set_previous_resident_code(code(10));
  f.deliver(batch(kChiyoda, {renewed}));
  CHECK(f.ledger.lookup(code(11))->status() == proto::FOUND);
  CHECK(f.ledger.lookup(code(10))->status() == proto::DELETED);
  CHECK(f.ledger.lookup(code(10))->reason() == proto::RESIDENT_CODE_CHANGE);
}

TEST_CASE("update-count lists: per sender and day, counts by reason and the sequence range",
          "[req:B2]") {
  Fixture f(JUKI_EACH_STORE_ENGINE());
  auto late = change(4, 4, proto::DEATH);
  late.set_recorded_at(kMorning + 86400);  // the next day in Japan
  f.deliver(batch(kChiyoda, {change(1, 1, proto::BIRTH), change(2, 2, proto::BIRTH),
                             change(3, 3, proto::MOVE_IN), late}));
  auto list = *f.ledger.update_counts(kChiyoda, "2026-12-01", "2026-12-31");
  CHECK(list.sender() == kChiyoda);
  CHECK(list.high_water() == 4);
  REQUIRE(list.days_size() == 2);
  CHECK(list.days(0).date() == "2026-12-07");
  CHECK(list.days(0).total() == 3);
  CHECK(list.days(0).first_sequence() == 1);
  CHECK(list.days(0).last_sequence() == 3);
  REQUIRE(list.days(0).counts_size() == 2);
  CHECK(list.days(0).counts(0).reason() == proto::BIRTH);
  CHECK(list.days(0).counts(0).count() == 2);
  CHECK(list.days(0).counts(1).reason() == proto::MOVE_IN);
  CHECK(list.days(1).date() == "2026-12-08");
  CHECK(list.days(1).counts(0).reason() == proto::DEATH);
  CHECK(f.ledger.update_counts(kSapporo, "2026-12-01", "2026-12-31")->days_size() == 0);
}

TEST_CASE("a prefecture's ledger queues what it applied for the national server, in order",
          "[req:B3]") {
  Fixture f(JUKI_EACH_STORE_ENGINE(), ledger::Options{true, 100});
  f.deliver(batch(kChiyoda, {change(1, 1, proto::BIRTH)}));
  f.deliver(batch(kChiyoda, {change(3, 3, proto::BIRTH)}));  // held: not queued yet
  f.deliver(batch(kChiyoda, {change(1, 1, proto::BIRTH)}));  // a repeat: not queued
  f.deliver(batch(kChiyoda, {change(2, 2, proto::BIRTH)}));  // fills the gap: 2, then 3
  auto queue = *f.ledger.relay_queue(10);
  REQUIRE(queue.size() == 3);
  std::vector<std::uint64_t> firsts;
  for (const auto& q : queue) {
    proto::NotificationBatch b;
    REQUIRE(b.ParseFromString(q.envelope.payload()));
    firsts.push_back(b.changes(0).sequence());
    CHECK(q.envelope.signature() == "signature");
    CHECK(q.envelope.signer_certificate() == std::string("\x30\x00", 2));
  }
  CHECK(firsts == std::vector<std::uint64_t>{1, 2, 3});
  REQUIRE(f.ledger.relayed_up_to(queue[1].id).ok());
  CHECK(*f.ledger.relay_backlog() == 1);
}

TEST_CASE("range digests of a municipality's live records change with any field", "[req:B5]") {
  Fixture f(JUKI_EACH_STORE_ENGINE());
  f.deliver(batch(kChiyoda, {change(1, 1, proto::BIRTH), change(2, 2, proto::BIRTH)}));
  proto::DigestRequest request;
  request.set_municipality(kChiyoda);
  request.add_prefixes("");
  request.add_prefixes("0000000001");
  request.set_records(true);
  auto before = *f.ledger.range_digests(request);
  REQUIRE(before.ranges_size() == 2);
  CHECK(before.ranges(0).count() == 2);
  CHECK(before.ranges(1).count() == 1);
  CHECK(before.ranges(1).records(0).resident_code() == code(1));
  f.deliver(batch(kChiyoda, {change(3, 1, proto::MOVE_WITHIN, "東京都千代田区永田町1-7-1")}));
  auto after = *f.ledger.range_digests(request);
  CHECK(after.ranges(0).count() == 2);
  CHECK(after.ranges(0).digest() != before.ranges(0).digest());
  request.set_municipality(kSapporo);
  CHECK(f.ledger.range_digests(request)->ranges(0).count() == 0);
}

TEST_CASE("the ledger has no place for anything but identity information (NETWORK.md A1)",
          "[req:A1]") {
  Fixture f(JUKI_EACH_STORE_ENGINE());
  // Identity information, the change information, and the bookkeeping of
  // messages (who sent what, signed how, when): nothing else.
  const std::set<std::string> allowed = {"resident_code",
                                         "name_kanji",
                                         "name_kana",
                                         "birth_date",
                                         "sex",
                                         "address",
                                         "reason",
                                         "change_date",
                                         "previous_resident_code",
                                         "municipality",
                                         "status",
                                         "sender",
                                         "sequence",
                                         "first_sequence",
                                         "last_sequence",
                                         "high_water",
                                         "repair",
                                         "recorded_at",
                                         "recorded_day",
                                         "received_at",
                                         "change_digest",
                                         "envelope_id",
                                         "id",
                                         "kind",
                                         "payload",
                                         "signature",
                                         "signer",
                                         "fingerprint",
                                         "der",
                                         "subject",
                                         "at",
                                         "peer",
                                         "schema",
                                         "version",
                                         "applied_at"};
  for (const auto& column : ledger::schema_columns(f.ledger.connection())) {
    const std::string name = column.substr(column.find('.') + 1);
    INFO(column);
    CHECK(allowed.count(name) == 1);
  }
  CHECK(ledger::schema_columns(f.ledger.connection()).size() > 30);

  // The messages to the upper tiers carry only the same.
  const auto* change = proto::IdentityChange::descriptor();
  std::set<std::string> fields;
  for (int i = 0; i < change->field_count(); ++i) fields.insert(change->field(i)->name());
  CHECK(fields == std::set<std::string>{"sequence", "reason", "change_date", "identity",
                                        "previous_resident_code", "recorded_at", "repair"});
  const auto* identity = proto::IdentityInformation::descriptor();
  fields.clear();
  for (int i = 0; i < identity->field_count(); ++i) fields.insert(identity->field(i)->name());
  CHECK(fields == std::set<std::string>{"resident_code", "name_kanji", "name_kana", "birth_date",
                                        "sex", "address"});
}

TEST_CASE("the initial load fills the current records in bulk, which the flow then changes") {
  Fixture f(JUKI_EACH_STORE_ENGINE());
  int n = 0;
  auto loaded = f.ledger.load([&](ledger::Ledger::InitialRecord& r) {
    if (n == 1000) return false;
    ++n;
    r.municipality = n % 2 ? kChiyoda : kSapporo;
    r.identity = change(0, n, proto::CODE_ENTRY).identity();
    r.change_date = "2002-08-05";
    return true;
  });
  REQUIRE(loaded.ok());
  CHECK(*loaded == 1000);
  auto found = *f.ledger.lookup(code(7));
  CHECK(found.status() == proto::FOUND);
  CHECK(found.reason() == proto::CODE_ENTRY);
  CHECK(found.municipality() == kChiyoda);
  CHECK(f.count("history") == 0);
  proto::DigestRequest request;
  request.set_municipality(kSapporo);
  request.add_prefixes("");
  CHECK(f.ledger.range_digests(request)->ranges(0).count() == 500);
  // The flow goes on from there: a death in Chiyoda.
  f.deliver(batch(kChiyoda, {change(1, 7, proto::DEATH)}));
  CHECK(f.ledger.lookup(code(7))->status() == proto::DELETED);
}

TEST_CASE(
    "current records: an older change of another municipality arriving late changes nothing") {
  Fixture f(JUKI_EACH_STORE_ENGINE());
  // The resident moved from Sapporo to Chiyoda in 2026; Chiyoda's move-in
  // arrives first, then Sapporo's CS catches up with its 2002 entry and the
  // move-out.
  auto move_in = change(1, 9, proto::MOVE_IN, "東京都千代田区千代田1-9");
  move_in.set_change_date("2026-11-30");
  f.deliver(batch(kChiyoda, {move_in}));
  auto old_entry = change(1, 9, proto::CODE_ENTRY, "北海道札幌市中央区北1条西2丁目");
  old_entry.set_change_date("2002-08-05");
  auto move_out = change(2, 9, proto::MOVE_OUT, "北海道札幌市中央区北1条西2丁目");
  move_out.set_change_date("2026-11-30");
  f.deliver(batch(kSapporo, {old_entry, move_out}));
  auto found = *f.ledger.lookup(code(9));
  CHECK(found.status() == proto::FOUND);
  CHECK(found.municipality() == kChiyoda);
  CHECK(found.identity().address() == "東京都千代田区千代田1-9");
  CHECK(f.count("history") == 3);

  // A newer change of another municipality does replace it (a later move).
  auto next_move = change(1, 9, proto::MOVE_IN, "北海道札幌市北区北8条西5丁目");
  next_move.set_change_date("2026-12-05");
  f.deliver(batch(kSapporo, {change(3, 9, proto::MOVE_OUT)}));  // not Sapporo's: ignored
  CHECK(f.ledger.lookup(code(9))->status() == proto::FOUND);
  auto osaka = batch("271004", {next_move});
  f.deliver(osaka);
  CHECK(f.ledger.lookup(code(9))->municipality() == "271004");
}
