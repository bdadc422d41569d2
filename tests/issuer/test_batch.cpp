// Batch issuance (委託発行, issuer_tool/issuance/batch.hpp, specs/issuance.md
// 4): the applications file and its checks, workers over in-process readers
// issuing every card with its records, and what fails failing alone: a
// duplicate application, a card without room (tried again on the next card,
// up to the bound), a card of another factory batch, a card that goes away,
// a reader that gives no card; and a file run again, which issues only what
// the last run left. Then juki-issuer batch, the executable.
#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "issuer_tool/issuance/batch.hpp"
#include "simulator/file_storage.hpp"
#include "simulator/in_process.hpp"
#include "support/issuer.hpp"
#include "support/issuer_counter.hpp"
#include "support/run_program.hpp"
#include "support/secure_card.hpp"
#include "support/temp_dir.hpp"
#include "tools/issuer/in_process_readers.hpp"

using namespace juki;
using namespace juki::test;
namespace iss = juki::issuance;
namespace rec = juki::records;

namespace {

const rec::Actor kActor{"consignment-1", "batch-station-1"};

// Resident codes with their check digits.
const std::vector<std::string> kResidents = {"10000000014", "10000000022", "10000000030",
                                             "10000000049", "10000000057", "10000000065"};

std::string line(const std::string& resident_code, const std::string& extra = "") {
  return R"({"resident_code":")" + resident_code +
         R"(","name":"住基 花子","kana":"ジューキ ハナコ","birth_date":"19900214","sex":2,)"
         R"("address":"千代田区1-1","face":"B","id_document":"passport","holder":"JUKI HANAKO",)"
         R"("jpki_auth_pin":"1357","jpki_sign_pin":"HANAKO2026")" +
         extra + "}";
}

std::string file_of(const std::vector<std::string>& codes) {
  std::string text;
  for (const std::string& c : codes) text += line(c) + "\n";
  return text;
}

const iss::BatchDefaults kDefaults{kMunicipality, "20261124"};

std::vector<iss::BatchApplication> parsed(const std::string& text) {
  auto a = iss::parse_applications(text, kDefaults);
  if (!a)
    for (const auto& e : a.error()) UNSCOPED_INFO("line " << e.line << ": " << e.message);
  REQUIRE(a.ok());
  return std::move(*a);
}

// A records file, blank card images, and in-process readers over them.
struct Station {
  TempDir dir;
  std::string db = dir.file("records.db");
  iss::BlankImages images{dir.file("cards"), kTransportKey};
  Station() {
    std::filesystem::create_directories(dir.file("cards"));
    REQUIRE(rec::Records::create(db, kMunicipality).ok());
  }
  std::vector<std::unique_ptr<iss::CardReader>> readers(std::size_t n) {
    std::vector<std::unique_ptr<iss::CardReader>> r;
    for (std::size_t i = 0; i < n; ++i)
      r.push_back(std::make_unique<iss::InProcessReader>(images, "reader " + std::to_string(i)));
    return r;
  }
  iss::BatchSummary run(const std::vector<iss::BatchApplication>& apps,
                        const std::vector<std::unique_ptr<iss::CardReader>>& readers,
                        std::size_t attempts = iss::kDefaultAttempts) {
    iss::BatchOptions o;
    o.db = db;
    o.actor = kActor;
    o.attempts = attempts;
    auto s = iss::run_batch(apps, readers, issuer().authorities, issuer().keys, o);
    REQUIRE(s.ok());
    for (const auto& out : s->outcomes)
      UNSCOPED_INFO("line " << out.line << ": " << (out.ok ? "ok " + out.serial : out.reason));
    return std::move(*s);
  }
  rec::Records records() { return take(rec::Records::open(db)); }
};

// The card's life cycle from its ATR (specs/card-os.md 1): 04 issued.
std::uint8_t atr_life_cycle(const std::string& image) {
  auto storage = juki::sim::FileStorage::open(image);
  REQUIRE(storage.ok());
  juki::SystemRandom random;
  auto t = take(juki::sim::InProcessTransport::connect(**storage, random));
  return t->atr().at(17);
}

const iss::BatchOutcome* failed_line(const iss::BatchSummary& s) {
  for (const auto& o : s.outcomes)
    if (!o.ok) return &o;
  return nullptr;
}

// A transport that loses the card after `after` commands: a card pulled out.
class Cutting final : public juki::Transport {
 public:
  Cutting(juki::Transport& inner, int after) : inner_(inner), left_(after) {}
  Result<Bytes, juki::TransportError> transmit(ByteView c) override {
    if (left_ <= 0) return unexpected(juki::TransportError{"card removed"});
    --left_;
    return inner_.transmit(c);
  }
  Result<Bytes, juki::TransportError> reset() override { return inner_.reset(); }
  Result<Bytes, juki::TransportError> power_cycle() override { return inner_.power_cycle(); }
  Bytes atr() const override { return inner_.atr(); }
  std::string describe() const override { return "cutting " + inner_.describe(); }

 private:
  juki::Transport& inner_;
  int left_;
};

// An in-process reader whose cards go away after `after` commands, the
// first `times` times a card is powered.
class Unsteady final : public iss::CardReader {
 public:
  Unsteady(iss::BlankImages& images, int after, int times)
      : inner_(images, "unsteady"), after_(after), times_(times) {}
  std::string name() const override { return inner_.name(); }
  Result<juki::Transport*, std::string> next() override { return wrap(inner_.next()); }
  Result<juki::Transport*, std::string> reopen() override { return wrap(inner_.reopen()); }
  void done() override { inner_.done(); }
  const std::string& image() const { return inner_.image(); }

 private:
  Result<juki::Transport*, std::string> wrap(Result<juki::Transport*, std::string> t) {
    if (!t || times_-- <= 0) return t;
    cutting_ = std::make_unique<Cutting>(**t, after_);
    return static_cast<juki::Transport*>(cutting_.get());
  }
  iss::InProcessReader inner_;
  int after_, times_;
  std::unique_ptr<Cutting> cutting_;
};

// A reader that never has a card.
class Empty final : public iss::CardReader {
 public:
  std::string name() const override { return "empty"; }
  Result<juki::Transport*, std::string> next() override {
    return unexpected(std::string("no card within 0 s"));
  }
  Result<juki::Transport*, std::string> reopen() override { return next(); }
  void done() override {}
};

// An in-process reader with `cards` blank cards: then it has none.
class Limited final : public iss::CardReader {
 public:
  Limited(iss::BlankImages& images, int cards) : inner_(images, "limited"), left_(cards) {}
  std::string name() const override { return inner_.name(); }
  Result<juki::Transport*, std::string> next() override {
    if (left_-- <= 0) return unexpected(std::string("no card within 0 s"));
    return inner_.next();
  }
  Result<juki::Transport*, std::string> reopen() override { return inner_.reopen(); }
  void done() override { inner_.done(); }

 private:
  iss::InProcessReader inner_;
  int left_;
};

std::size_t files_in(const std::string& dir) {
  std::size_t n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(dir, ec);
       !ec && it != std::filesystem::directory_iterator(); ++it)
    ++n;
  return n;
}

}  // namespace

TEST_CASE("batch: the applications file is parsed into intake requests and card orders",
          "[batch]") {
  const auto apps = parsed("\xEF\xBB\xBF\n" + line("10000000014") + "\r\n\n" +
                           line("10000000022", R"(,"face":"A","braille":true,"same_day":true,)"
                                               R"("reissue":false,"id_number":"TK1234567",)"
                                               R"("sex":1)") +
                           "\n  \n");
  REQUIRE(apps.size() == 2);
  CHECK(apps[0].line == 2);  // a byte order mark and blank lines are skipped, lines counted
  CHECK(apps[1].line == 4);
  const rec::ApplicationRequest& r = apps[1].request;
  CHECK(r.person.resident_code == "10000000022");
  CHECK(r.person.name == "住基 花子");
  CHECK(r.person.name_kana == "ジューキ ハナコ");
  CHECK(r.person.sex == rec::Sex::male);
  CHECK(r.face == 'A');
  CHECK(r.braille);
  CHECK(r.same_day);
  CHECK(r.kind == rec::ApplicationKind::new_card);
  CHECK(r.identity.document == "passport");
  CHECK(r.identity.number == std::optional<std::string>("TK1234567"));
  const iss::CardOrder& o = apps[1].order;
  CHECK(o.resident_code == "10000000022");
  CHECK(o.municipality == kMunicipality);
  CHECK(o.issue_date == "20261124");
  CHECK(o.face == 'A');
  CHECK(o.holder == "JUKI HANAKO");
  CHECK(o.jpki_auth_pin == "1357");
  CHECK(o.jpki_sign_pin == "HANAKO2026");
  // Defaults: face A, no braille, not same-day, new; the holder is the name.
  const std::string minimal =
      R"({"resident_code":"10000000030","name":"Taro","kana":"タロウ","birth_date":"19800101",)"
      R"("sex":9,"address":"x","id_document":"other","jpki_auth_pin":"0000",)"
      R"("jpki_sign_pin":"abcdef","id_number":null})";
  const auto m = parsed(minimal);
  CHECK(m[0].request.face == 'A');
  CHECK_FALSE(m[0].request.braille);
  CHECK_FALSE(m[0].request.same_day);
  CHECK_FALSE(m[0].request.identity.number);
  CHECK(m[0].order.holder == "Taro");
  CHECK(parsed(line("10000000030", R"(,"reissue":true)"))[0].request.kind ==
        rec::ApplicationKind::reissue);
}

TEST_CASE("batch: a file with bad lines is refused with every line number before anything",
          "[batch][refusal]") {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"not json", "not JSON"},
      {"[1, 2]", "not a JSON object"},
      {line("10000000014", R"(,"colour":"red")"), "unknown field 'colour'"},
      {R"({"resident_code":"10000000014"})", "missing 'name'"},
      {line("10000000015"), "resident code '10000000015'"},
      {line("10000000014", R"(,"sex":"2")"), "'sex' must be a number"},
      {line("10000000014", R"(,"sex":3)"), "'sex' must be 0, 1, 2 or 9"},
      {line("10000000014", R"(,"face":"C")"), "'face' must be"},
      {line("10000000014", R"(,"braille":"yes")"), "'braille' must be true or false"},
      {line("10000000014", R"(,"kana":"Hanako")"), "katakana"},
      {line("10000000014", R"(,"birth_date":"19900230")"), "birth date"},
      {line("10000000014", R"(,"jpki_auth_pin":"12345")"), "authentication PIN must be 4 digits"},
      {line("10000000014", R"(,"jpki_sign_pin":"short")"), "signature PIN must be 6 to 16"},
      {line("10000000014", R"(,"holder":")" + std::string(65, 'X') + "\""), "1 to 64"},
      {line("10000000014", R"(,"name":"A\u0007B")"), "'name' holds a control character"},
      {line("10000000014", R"(,"id_document":"")"), "identity check: no document"},
  };
  std::string text = line("10000000022") + "\n";  // line 1 is good
  for (const auto& [l, why] : bad) text += l + "\n";
  auto r = iss::parse_applications(text, kDefaults);
  REQUIRE_FALSE(r.ok());
  REQUIRE(r.error().size() == bad.size());
  for (std::size_t i = 0; i < bad.size(); ++i) {
    INFO(r.error()[i].message);
    CHECK(r.error()[i].line == i + 2);
    CHECK(r.error()[i].message.find(bad[i].second) != std::string::npos);
  }
  // A file without an application is refused as a whole.
  auto empty = iss::parse_applications("\n \n", kDefaults);
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.error().front().line == 0);
}

TEST_CASE("batch: 6 applications over 3 in-process readers are all received, registered and issued",
          "[batch]") {
  Station st;
  const auto apps = parsed(file_of(kResidents));
  auto readers = st.readers(3);
  std::vector<iss::BatchEvent::What> events;
  iss::BatchOptions o;
  o.db = st.db;
  o.actor = kActor;
  o.observer = [&](const iss::BatchEvent& e) { events.push_back(e.what); };
  auto s = iss::run_batch(apps, readers, issuer().authorities, issuer().keys, o);
  REQUIRE(s.ok());
  CHECK(s->issued == 6);
  CHECK(s->failed == 0);
  CHECK(s->elapsed_seconds > 0);
  CHECK(s->cards_per_minute == Approx(6 * 60.0 / s->elapsed_seconds));
  std::set<std::string> serials;
  for (std::size_t i = 0; i < 6; ++i) {
    const iss::BatchOutcome& out = s->outcomes[i];
    INFO(out.reason);
    CHECK(out.ok);
    CHECK(out.line == i + 1);  // in file order
    CHECK(out.expiry == std::optional<std::string>("20361124"));
    CHECK_FALSE(out.resumed);
    serials.insert(out.serial);
  }
  CHECK(serials.size() == 6);
  CHECK(std::count(events.begin(), events.end(), iss::BatchEvent::What::finished) == 6);
  CHECK(std::count(events.begin(), events.end(), iss::BatchEvent::What::card) == 6);

  auto records = st.records();
  auto summary = take(records.summary());
  CHECK(summary.cards[rec::CardState::issued] == 6);
  CHECK(summary.applications[rec::ApplicationState::personalized] == 6);
  for (const std::string& serial : serials) {
    auto card = take(records.card(serial));
    CHECK(card.state == rec::CardState::issued);
    CHECK(card.issue_date == std::optional<std::string>("20261124"));
    const auto events_of = take(records.events_of_card(serial));
    REQUIRE(events_of.size() == 2);
    CHECK(events_of[0].operator_id == "consignment-1");
    CHECK(events_of[1].terminal_id == "batch-station-1");
  }
  // Every card image made is issued (no card was left unused: 6 for 6).
  std::size_t images = 0;
  for (const auto& f : std::filesystem::directory_iterator(st.dir.file("cards"))) {
    ++images;
    CHECK(atr_life_cycle(f.path().string()) == 0x04);
  }
  CHECK(images == 6);
}

TEST_CASE("batch: a duplicate application in the file fails alone, and the summary says why",
          "[batch][refusal]") {
  Station st;
  const auto apps = parsed(file_of({"10000000014", "10000000022", "10000000014", "10000000030"}));
  auto readers = st.readers(2);
  const auto s = st.run(apps, readers);
  CHECK(s.issued == 3);
  CHECK(s.failed == 1);
  const iss::BatchOutcome* f = failed_line(s);
  REQUIRE(f != nullptr);
  CHECK(f->line == 3);  // the later line, whatever the readers' order
  CHECK(f->stage == "intake");
  CHECK(f->kind == "duplicate_application");
  CHECK(f->reason.find("10000000014 is on line 1 too") != std::string::npos);
  CHECK_FALSE(f->application);
  CHECK(f->serial.empty());
  CHECK(f->reader.empty());  // no card taken for it
  auto summary = take(st.records().summary());
  CHECK(summary.cards[rec::CardState::issued] == 3);
  CHECK(summary.applications[rec::ApplicationState::personalized] == 3);
  CHECK(summary.applications[rec::ApplicationState::received] == 0);
  CHECK(files_in(st.dir.file("cards")) == 3);
}

TEST_CASE("batch: with one attempt, a card without room is spoiled and reported, the rest issued",
          "[batch][refusal]") {
  Station st;
  // The factory's second card has 8 KiB of memory: too little for everything.
  st.images.customize = [](std::size_t n, card_os::FactoryProfile& p) {
    if (n == 1) p.geometry.capacity = 8 * 1024;
  };
  const auto apps = parsed(file_of({"10000000014", "10000000022", "10000000030"}));
  auto readers = st.readers(2);
  const auto s = st.run(apps, readers, 1);
  CHECK(s.issued == 2);
  CHECK(s.failed == 1);
  CHECK(s.spoiled == 1);
  const iss::BatchOutcome* f = failed_line(s);
  REQUIRE(f != nullptr);
  CHECK(f->kind == "refused");
  CHECK(f->reason.find("6A84") != std::string::npos);
  CHECK(f->reason.find("recorded as spoiled") != std::string::npos);
  CHECK(f->reason.find("1 card spoiled, the most one application may take (1)") !=
        std::string::npos);
  CHECK(f->reason.find("stays registered for another card") != std::string::npos);
  CHECK(f->attempts == 1);
  REQUIRE(f->spoiled.size() == 1);
  CHECK(f->spoiled[0].serial == f->serial);
  REQUIRE(f->application);
  auto records = st.records();
  const auto card = take(records.card(f->serial));
  CHECK(card.state == rec::CardState::spoiled);
  CHECK(card.reason->find("6A84") != std::string::npos);
  CHECK(take(records.application(*f->application)).state == rec::ApplicationState::registered);
  CHECK(take(records.summary()).cards[rec::CardState::issued] == 2);
}

TEST_CASE("batch: a spoiled card is followed by the reader's next blank card, which is issued",
          "[batch][retry]") {
  Station st;
  // The factory's first card has 8 KiB of memory: too little for everything.
  st.images.customize = [](std::size_t n, card_os::FactoryProfile& p) {
    if (n == 0) p.geometry.capacity = 8 * 1024;
  };
  auto readers = st.readers(1);
  const auto s = st.run(parsed(file_of({"10000000014", "10000000022"})), readers);
  CHECK(s.issued == 2);
  CHECK(s.failed == 0);
  CHECK(s.spoiled == 1);
  const iss::BatchOutcome& o = s.outcomes[0];
  CHECK(o.ok);
  CHECK(o.attempts == 2);
  CHECK(o.stage.empty());
  CHECK(o.reason.empty());
  REQUIRE(o.spoiled.size() == 1);
  const iss::SpoiledCard& spoiled = o.spoiled[0];
  CHECK(spoiled.serial != o.serial);
  CHECK(spoiled.stage == "card manager");  // the last to find no room
  CHECK(spoiled.kind == "refused");
  CHECK(spoiled.reason.find("6A84") != std::string::npos);
  CHECK(s.outcomes[1].attempts == 1);
  CHECK(s.outcomes[1].spoiled.empty());
  // One application, two cards: the first spoiled with its reason, the next issued.
  auto records = st.records();
  const auto cards = take(records.cards_of("10000000014"));
  REQUIRE(cards.size() == 2);
  CHECK(cards[0].serial == spoiled.serial);
  CHECK(cards[0].state == rec::CardState::spoiled);
  CHECK(cards[0].reason->find("6A84") != std::string::npos);
  CHECK(cards[1].serial == o.serial);
  CHECK(cards[1].state == rec::CardState::issued);
  for (const rec::Card& c : cards) CHECK(c.application_id == *o.application);
  CHECK(take(records.application(*o.application)).state == rec::ApplicationState::personalized);
  CHECK(take(records.applications()).size() == 2);
  CHECK(files_in(st.dir.file("cards")) == 3);
}

TEST_CASE("batch: an application whose every card is spoiled fails at the bound, its cards listed",
          "[batch][retry][refusal]") {
  Station st;
  st.images.customize = [](std::size_t, card_os::FactoryProfile& p) {
    p.geometry.capacity = 8 * 1024;
  };
  auto readers = st.readers(1);
  const auto s = st.run(parsed(file_of({"10000000014"})), readers);  // the default bound, 3
  CHECK(s.issued == 0);
  CHECK(s.failed == 1);
  CHECK(s.spoiled == 3);
  const iss::BatchOutcome& f = s.outcomes[0];
  CHECK_FALSE(f.ok);
  CHECK(f.attempts == 3);
  CHECK(f.stage == "card manager");
  CHECK(f.kind == "refused");
  CHECK(f.reason.find("3 cards spoiled, the most one application may take (3)") !=
        std::string::npos);
  CHECK(f.reason.find("application " + std::to_string(*f.application) +
                      " stays registered for another card (run the file again") !=
        std::string::npos);
  REQUIRE(f.spoiled.size() == 3);
  CHECK(f.serial == f.spoiled[2].serial);
  auto records = st.records();
  const auto cards = take(records.cards_of("10000000014"));
  REQUIRE(cards.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(cards[i].serial == f.spoiled[i].serial);
    CHECK(cards[i].state == rec::CardState::spoiled);
    CHECK(*cards[i].reason == f.spoiled[i].reason);
  }
  CHECK(take(records.application(*f.application)).state == rec::ApplicationState::registered);
  CHECK(files_in(st.dir.file("cards")) == 3);  // no fourth card taken
}

TEST_CASE("batch: a reader out of cards after a spoiled one leaves the application registered",
          "[batch][retry][refusal]") {
  Station st;
  st.images.customize = [](std::size_t, card_os::FactoryProfile& p) {
    p.geometry.capacity = 8 * 1024;
  };
  std::vector<std::unique_ptr<iss::CardReader>> readers;
  readers.push_back(std::make_unique<Limited>(st.images, 1));
  const auto s = st.run(parsed(file_of({"10000000014"})), readers);
  CHECK(s.failed == 1);
  CHECK(s.spoiled == 1);
  const iss::BatchOutcome& f = s.outcomes[0];
  CHECK(f.stage == "reader");
  CHECK(f.kind == "no_reader");
  CHECK(f.reason.find("no next card: no reader left (limited: no card within 0 s); application " +
                      std::to_string(*f.application) + " stays registered") != std::string::npos);
  CHECK(f.attempts == 1);
  REQUIRE(f.spoiled.size() == 1);
  CHECK(take(st.records().application(*f.application)).state == rec::ApplicationState::registered);
}

TEST_CASE("batch: a card of another factory batch is neither retried nor spoiled",
          "[batch][retry][refusal]") {
  Station st;
  st.images.customize = [](std::size_t n, card_os::FactoryProfile& p) {
    if (n == 0) p.transport_key = *from_hex("00112233445566778899AABBCCDDEEFF");
  };
  auto readers = st.readers(1);
  const auto s = st.run(parsed(file_of({"10000000014", "10000000022"})), readers);
  CHECK(s.issued == 1);
  CHECK(s.failed == 1);
  CHECK(s.spoiled == 0);
  const iss::BatchOutcome& f = s.outcomes[0];
  CHECK(f.stage == "open");
  CHECK(f.kind == "wrong transport key");
  CHECK(f.attempts == 1);
  CHECK(f.spoiled.empty());
  CHECK(f.reason.find("tries left") != std::string::npos);
  CHECK(f.reason.find("stays registered for another card") != std::string::npos);
  CHECK(s.outcomes[1].ok);  // the next application, on the next card
  auto records = st.records();
  CHECK(take(records.cards_of("10000000014")).empty());  // the card is not recorded
  CHECK(take(records.application(*f.application)).state == rec::ApplicationState::registered);
}

TEST_CASE("batch: a file run again issues only what the last run left, the rest already issued",
          "[batch][rerun]") {
  Station st;
  const std::vector<std::string> codes = {"10000000014", "10000000022", "10000000030",
                                          "10000000049", "10000000057", "10000000065"};
  const auto apps = parsed(file_of(codes));
  std::int64_t received = 0, counters = 0;
  {
    auto records = st.records();
    // Line 5's application was received by a run that stopped there.
    received = take(records.intake(apps[4].request, kActor)).application.id;
    // Line 6's person applied at the counter, for face A: not this line's.
    rec::ApplicationRequest other = apps[5].request;
    other.face = 'A';
    counters = take(records.intake(other, {"clerk-1", "counter-1"})).application.id;
  }
  // The first run: three cards, then the reader has none; the second card
  // is too small and one attempt is allowed.
  st.images.customize = [](std::size_t n, card_os::FactoryProfile& p) {
    if (n == 1) p.geometry.capacity = 8 * 1024;
  };
  std::vector<std::unique_ptr<iss::CardReader>> limited;
  limited.push_back(std::make_unique<Limited>(st.images, 3));
  const auto first = st.run(apps, limited, 1);
  CHECK(first.issued == 2);
  CHECK(first.failed == 4);
  CHECK(first.outcomes[0].ok);
  CHECK(first.outcomes[1].kind == "refused");  // spoiled: its application stays registered
  CHECK(first.outcomes[2].ok);
  CHECK(first.outcomes[3].kind == "no_reader");
  CHECK(first.outcomes[4].kind == "no_reader");
  CHECK(first.outcomes[5].kind == "no_reader");
  const std::size_t applications = take(st.records().applications()).size();
  CHECK(applications == 5);  // lines 1 to 3, line 5's, the counter's

  // The same file again: only lines 2, 4 and 5 take a card.
  st.images.customize = nullptr;
  const std::size_t images = files_in(st.dir.file("cards"));
  auto readers = st.readers(2);
  const auto again = st.run(apps, readers);
  CHECK(again.issued == 3);
  CHECK(again.already_issued == 2);
  CHECK(again.failed == 1);
  CHECK(again.spoiled == 0);
  CHECK(files_in(st.dir.file("cards")) == images + 3);
  for (const std::size_t i : {0, 2}) {
    const iss::BatchOutcome& o = again.outcomes[i];
    INFO("line " << o.line);
    CHECK(o.ok);
    CHECK(o.already_issued);
    CHECK(o.application == first.outcomes[i].application);
    CHECK(o.serial == first.outcomes[i].serial);
    CHECK(o.expiry == first.outcomes[i].expiry);
    CHECK(o.card_state == rec::CardState::issued);
    CHECK(o.attempts == 0);
    CHECK(o.reader.empty());
  }
  const iss::BatchOutcome& spoiled = again.outcomes[1];
  CHECK(spoiled.ok);
  CHECK_FALSE(spoiled.already_issued);
  CHECK(spoiled.reused_application);
  CHECK(spoiled.application == first.outcomes[1].application);
  CHECK(spoiled.serial != first.outcomes[1].serial);
  CHECK(again.outcomes[3].ok);
  CHECK_FALSE(again.outcomes[3].reused_application);  // received now
  CHECK(again.outcomes[4].ok);
  CHECK(again.outcomes[4].reused_application);
  CHECK(again.outcomes[4].application == received);
  const iss::BatchOutcome& refused = again.outcomes[5];
  CHECK_FALSE(refused.ok);
  CHECK(refused.stage == "intake");
  CHECK(refused.kind == "duplicate_application");
  CHECK(refused.reason.find("has an open application " + std::to_string(counters) +
                            " (received) that is not this line's: its face differs") !=
        std::string::npos);
  CHECK(refused.reader.empty());

  auto records = st.records();
  CHECK(take(records.applications()).size() == applications + 1);  // line 4's only
  auto summary = take(records.summary());
  CHECK(summary.applications[rec::ApplicationState::personalized] == 5);
  CHECK(summary.applications[rec::ApplicationState::received] == 1);  // the counter's
  CHECK(summary.cards[rec::CardState::issued] == 5);
  CHECK(summary.cards[rec::CardState::spoiled] == 1);
  const auto line2 = take(records.cards_of("10000000022"));
  REQUIRE(line2.size() == 2);
  CHECK(line2[0].state == rec::CardState::spoiled);
  CHECK(line2[1].serial == spoiled.serial);
}

TEST_CASE("batch: a file run again once it is all issued issues nothing", "[batch][rerun]") {
  Station st;
  const auto apps = parsed(file_of({"10000000014", "10000000022", "10000000030"}));
  auto readers = st.readers(2);
  const auto first = st.run(apps, readers);
  REQUIRE(first.issued == 3);
  const std::size_t images = files_in(st.dir.file("cards"));
  const auto events = take(st.records().events()).size();
  const auto again = st.run(apps, readers);
  CHECK(again.issued == 0);
  CHECK(again.already_issued == 3);
  CHECK(again.failed == 0);
  CHECK(again.cards_per_minute == 0);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(again.outcomes[i].already_issued);
    CHECK(again.outcomes[i].serial == first.outcomes[i].serial);
  }
  CHECK(files_in(st.dir.file("cards")) == images);      // no card taken
  CHECK(take(st.records().events()).size() == events);  // nothing recorded
}

TEST_CASE("batch: a file run again after the counter moved its applications on", "[batch][rerun]") {
  Station st;
  const auto apps = parsed(file_of({"10000000014", "10000000022", "10000000030"}));
  auto readers = st.readers(1);
  const auto first = st.run({apps[0]}, readers);
  REQUIRE(first.issued == 1);
  std::int64_t withdrawn = 0;
  {
    auto records = st.records();
    // Line 1's card handed over; line 2's application rejected; line 3's
    // person withdrew another application (face A).
    const auto a = take(records.application(*first.outcomes[0].application));
    take(records.hand_over(first.outcomes[0].serial, a.notice_number, {"passport", std::nullopt},
                           kActor));
    const auto rejected = take(records.intake(apps[1].request, kActor)).application.id;
    take(records.reject(rejected, "not resident", kActor));
    rec::ApplicationRequest other = apps[2].request;
    other.face = 'A';
    withdrawn = take(records.intake(other, kActor)).application.id;
    take(records.cancel(withdrawn, "withdrawn", kActor));
  }
  const auto again = st.run(apps, readers);
  CHECK(again.issued == 1);
  CHECK(again.already_issued == 1);
  CHECK(again.failed == 1);
  CHECK(again.outcomes[0].already_issued);
  CHECK(again.outcomes[0].card_state == rec::CardState::handed_over);
  const iss::BatchOutcome& closed = again.outcomes[1];
  CHECK(closed.stage == "intake");
  CHECK(closed.kind == "wrong_state");
  CHECK(closed.reason.find("this line's, is rejected (not resident): it is not received again") !=
        std::string::npos);
  CHECK(closed.reader.empty());
  const iss::BatchOutcome& fresh = again.outcomes[2];  // another request, closed: intake decides
  CHECK(fresh.ok);
  CHECK_FALSE(fresh.reused_application);
  CHECK(fresh.application != withdrawn);
}

TEST_CASE("batch: a card an earlier run left in personalization is reported, not replaced",
          "[batch][rerun]") {
  Station st;
  const auto apps = parsed(file_of({"10000000014"}));
  std::vector<std::unique_ptr<iss::CardReader>> unsteady;
  unsteady.push_back(std::make_unique<Unsteady>(st.images, 40, 2));
  const auto first = st.run(apps, unsteady);
  REQUIRE(first.outcomes[0].kind == "card_removed");
  const std::size_t images = files_in(st.dir.file("cards"));
  auto readers = st.readers(1);
  const auto again = st.run(apps, readers);
  const iss::BatchOutcome& o = again.outcomes[0];
  CHECK_FALSE(o.ok);
  CHECK(o.stage == "intake");
  CHECK(o.kind == "card_removed");
  CHECK(o.serial == first.outcomes[0].serial);
  CHECK(o.reason.find("left in personalization by an earlier run") != std::string::npos);
  CHECK(o.attempts == 0);
  CHECK(files_in(st.dir.file("cards")) == images);
  CHECK(take(st.records().card(o.serial)).state == rec::CardState::personalizing);
}

TEST_CASE("batch: a card that goes away is opened again once and resumed, twice is reported",
          "[batch][tearing]") {
  SECTION("once: resumed and issued") {
    Station st;
    std::vector<std::unique_ptr<iss::CardReader>> readers;
    readers.push_back(std::make_unique<Unsteady>(st.images, 40, 1));
    const auto s = st.run(parsed(file_of({"10000000014", "10000000022"})), readers);
    CHECK(s.issued == 2);
    CHECK(s.outcomes[0].resumed);  // the first card went away after 40 commands
    CHECK_FALSE(s.outcomes[1].resumed);
    auto records = st.records();
    const auto events = take(records.events_of_card(s.outcomes[0].serial));
    REQUIRE(events.size() == 2);  // begun once, finished once
    CHECK(events[0].action == "begin_personalization");
    CHECK(events[1].action == "finish_personalization");
  }
  SECTION("twice: left in personalization and reported, the next application goes on") {
    Station st;
    std::vector<std::unique_ptr<iss::CardReader>> readers;
    readers.push_back(std::make_unique<Unsteady>(st.images, 40, 2));
    const auto s = st.run(parsed(file_of({"10000000014", "10000000022"})), readers);
    CHECK(s.issued == 1);
    const iss::BatchOutcome* f = failed_line(s);
    REQUIRE(f != nullptr);
    CHECK(f->line == 1);
    CHECK(f->kind == "card_removed");
    CHECK(f->reason.find("stays in personalization") != std::string::npos);
    CHECK(take(st.records().card(f->serial)).state == rec::CardState::personalizing);
  }
}

TEST_CASE("batch: a reader without cards leaves its work to the others, or reports it",
          "[batch][refusal]") {
  SECTION("another reader takes it") {
    Station st;
    std::vector<std::unique_ptr<iss::CardReader>> readers;
    readers.push_back(std::make_unique<Empty>());
    readers.push_back(std::make_unique<iss::InProcessReader>(st.images, "reader 1"));
    const auto s = st.run(parsed(file_of({"10000000014", "10000000022"})), readers);
    CHECK(s.issued == 2);
    for (const auto& o : s.outcomes) CHECK(o.reader == "reader 1");
  }
  SECTION("no reader left") {
    Station st;
    std::vector<std::unique_ptr<iss::CardReader>> readers;
    readers.push_back(std::make_unique<Empty>());
    const auto s = st.run(parsed(file_of({"10000000014", "10000000022"})), readers);
    CHECK(s.failed == 2);
    for (const auto& o : s.outcomes) {
      CHECK(o.kind == "no_reader");
      CHECK(o.reason.find("empty: no card within 0 s") != std::string::npos);
    }
    CHECK(take(st.records().summary()).applications[rec::ApplicationState::received] == 0);
  }
}

// ------------------------------------------------------------ juki-issuer batch

TEST_CASE("juki-issuer batch: every card issued, with a summary of cards per minute",
          "[batch][issuer-cli]") {
  Counter c;
  // A file of that name already in the directory is never overwritten.
  std::filesystem::create_directories(c.dir.file("cards"));
  std::ofstream(c.dir.file("cards/card-000001.img")) << "not a card";
  auto r = c.batch(file_of({"10000000014", "10000000022", "10000000030"}));
  CHECK(r.exit == 0);
  CHECK(slurp(c.dir.file("cards/card-000001.img")) == "not a card");
  CHECK(std::filesystem::exists(c.dir.file("cards/card-000004.img")));
  const auto doc = r.doc();
  CHECK(doc["ok"] == true);
  CHECK(doc["cards"] == 3);
  CHECK(doc["issued"] == 3);
  CHECK(doc["failed"] == 0);
  CHECK(doc["cards_per_minute"].get<double>() > 0);
  CHECK(doc["readers"].size() == 2);
  REQUIRE(doc["results"].size() == 3);
  CHECK(doc["already_issued"] == 0);
  CHECK(doc["spoiled"] == 0);
  CHECK(doc["attempts"] == 3);
  for (const auto& result : doc["results"]) {
    CHECK(result["ok"] == true);
    CHECK(result["status"] == "issued");
    CHECK(result["card"].get<std::string>().size() == 16);
    CHECK(result["attempts"] == 1);
    CHECK(result["spoiled"] == nlohmann::json::array());
    CHECK(result["reused_application"] == false);
  }
  // Not a terminal: a line per card on stderr.
  CHECK(r.err.find("[3/3] line ") != std::string::npos);
  auto summary = c.issuer({"--json", "summary"}).doc();
  CHECK(summary["cards"]["issued"] == 3);
  // Text: one line per application.
  auto again = c.batch(file_of({"10000000049"}));
  CHECK(again.exit == 0);
  auto text =
      c.issuer({"batch", c.file(file_of({"10000000057"})), "--pki", c.dir.file("pki"),
                "--counter-keys", c.dir.file("keys.json"), "--in-process", c.dir.file("cards")});
  CHECK(text.exit == 0);
  CHECK(text.out.find(": 1 card: 1 issued, 0 already issued, 0 failed, 0 spoiled in ") !=
        std::string::npos);
  CHECK(text.out.find("line 1: card ") != std::string::npos);
}

TEST_CASE("juki-issuer batch: a bad file is refused with its line numbers, nothing recorded",
          "[batch][issuer-cli][refusal]") {
  Counter c;
  auto r = c.batch(line("10000000014") + "\n{\n" + line("10000000015") + "\n");
  CHECK(r.exit == 2);
  const auto doc = r.doc();
  CHECK(doc["error"]["kind"] == "bad_file");
  REQUIRE(doc["error"]["lines"].size() == 2);
  CHECK(doc["error"]["lines"][0]["line"] == 2);
  CHECK(doc["error"]["lines"][1]["line"] == 3);
  CHECK(r.err.find("line 3: resident code") != std::string::npos);
  CHECK(c.issuer({"--json", "summary"}).doc()["applications"]["received"] == 0);
  CHECK_FALSE(std::filesystem::exists(c.dir.file("cards")));  // no card made
}

TEST_CASE("juki-issuer batch: some failed is exit 1 with each failure's line and reason",
          "[batch][issuer-cli][refusal]") {
  Counter c;
  auto r = c.batch(file_of({"10000000014", "10000000014"}));
  CHECK(r.exit == 1);
  const auto doc = r.doc();
  CHECK(doc["ok"] == false);
  CHECK(doc["issued"] == 1);
  CHECK(doc["failed"] == 1);
  CHECK(doc["error"]["message"] == "1 of 2 applications failed");
  int duplicates = 0;
  for (const auto& result : doc["results"])
    if (result["ok"] == false) {
      CHECK(result["kind"] == "duplicate_application");
      CHECK(result["stage"] == "intake");
      ++duplicates;
    }
  CHECK(duplicates == 1);
}

TEST_CASE("juki-issuer batch: usage and I/O errors", "[batch][issuer-cli][refusal]") {
  Counter c;
  const std::string text = file_of({"10000000014"});
  CHECK(c.batch(text, {}).exit == 2);  // neither readers nor in-process
  CHECK(c.batch(text, {"--reader", "x", "--in-process", "cards"}).exit == 2);
  CHECK(c.batch(text, {"--reader", "x", "--workers", "2"}).exit == 2);
  CHECK(c.batch(text, {"--in-process", "cards", "--workers", "0"}).exit == 2);
  CHECK(c.batch(text, {"--in-process", "cards", "--attempts", "0"}).exit == 2);
  CHECK(c.batch(text, {"--in-process", "cards", "--attempts", "11"}).exit == 2);
  // No PC/SC service (or no such reader): I/O, before anything is recorded.
  CHECK(c.batch(text, {"--reader", "no such reader"},
                "PCSCLITE_CSOCK_NAME=" + c.dir.file("no-pcscd.sock"))
            .exit == 3);
  CHECK(c.batch(text, {"--in-process", "/proc/no/such/dir"}).exit == 3);
  std::ofstream(c.dir.file("bad-keys.json")) << "{}";
  CHECK(c.issuer({"batch", c.file(text), "--pki", c.dir.file("pki"), "--counter-keys",
                  c.dir.file("bad-keys.json"), "--in-process", c.dir.file("cards")})
            .exit == 2);
  CHECK(c.issuer({"--json", "summary"}).doc()["applications"]["received"] == 0);
  auto missing =
      c.issuer({"batch", c.dir.file("nothing.jsonl"), "--pki", c.dir.file("pki"), "--counter-keys",
                c.dir.file("keys.json"), "--in-process", c.dir.file("cards")});
  CHECK(missing.exit == 3);
  auto no_pki = c.issuer({"batch", c.file(text), "--pki", c.dir.file("none"), "--counter-keys",
                          c.dir.file("keys.json"), "--in-process", c.dir.file("cards")});
  CHECK(no_pki.exit == 3);
  // The file holds PINs: a warning when others may read it.
  std::filesystem::permissions(c.dir.file("applications.jsonl"), std::filesystem::perms::group_read,
                               std::filesystem::perm_options::add);
  auto open =
      c.issuer({"batch", c.dir.file("applications.jsonl"), "--pki", c.dir.file("pki"),
                "--counter-keys", c.dir.file("keys.json"), "--in-process", c.dir.file("cards")});
  CHECK(open.exit == 0);
  CHECK(open.err.find("holds JPKI PINs and is open to others (mode 0640)") != std::string::npos);
}

TEST_CASE("juki-issuer batch: a file run again reports what is done and issues only the rest",
          "[batch][issuer-cli][rerun]") {
  Counter c;
  const std::string text = file_of({"10000000014", "10000000022"});
  auto first = c.batch(text);
  REQUIRE(first.exit == 0);
  const auto issued = first.doc()["results"];
  const std::size_t images = files_in(c.dir.file("cards"));

  // All issued: nothing to do, exit 0, no card taken.
  auto again = c.batch(text, {"--in-process", "cards", "--attempts", "1"});
  CHECK(again.exit == 0);
  const auto doc = again.doc();
  CHECK(doc["ok"] == true);
  CHECK(doc["issued"] == 0);
  CHECK(doc["already_issued"] == 2);
  CHECK(doc["failed"] == 0);
  CHECK(doc["attempts"] == 1);
  REQUIRE(doc["results"].size() == 2);
  for (std::size_t i = 0; i < 2; ++i) {
    const auto& r = doc["results"][i];
    CHECK(r["ok"] == true);
    CHECK(r["status"] == "already_issued");
    CHECK(r["card"] == issued[i]["card"]);
    CHECK(r["application"] == issued[i]["application"]);
    CHECK(r["expiry_date"] == issued[i]["expiry_date"]);
    CHECK(r["card_state"] == "issued");
    CHECK(r["attempts"] == 0);
    CHECK(r["reader"].is_null());
  }
  CHECK(again.err.find("already issued (application ") != std::string::npos);
  CHECK(files_in(c.dir.file("cards")) == images);
  auto text_run = c.issuer({"batch", c.file(text), "--pki", c.pki, "--counter-keys", c.keys,
                            "--in-process", c.dir.file("cards")});
  CHECK(text_run.exit == 0);
  CHECK(text_run.out.find(": 2 cards: 0 issued, 2 already issued, 0 failed, 0 spoiled in ") !=
        std::string::npos);
  CHECK(text_run.out.find("line 1: card " + issued[0]["card"].get<std::string>() +
                          " already issued for application ") != std::string::npos);

  // Line 3's application was received and registered (as by a run that
  // stopped); line 4's person has an open application for another request.
  const auto [id, notice] = c.registered("10000000030");
  c.registered("10000000049");
  auto partial =
      c.batch(text + line("10000000030") + "\n" + line("10000000049", R"(,"braille":true)") + "\n");
  CHECK(partial.exit == 1);
  const auto results = partial.doc()["results"];
  REQUIRE(results.size() == 4);
  CHECK(results[0]["status"] == "already_issued");
  CHECK(results[1]["status"] == "already_issued");
  CHECK(results[2]["status"] == "issued");
  CHECK(results[2]["reused_application"] == true);
  CHECK(results[2]["application"] == std::stol(id));
  CHECK(results[3]["status"] == "failed");
  CHECK(results[3]["stage"] == "intake");
  CHECK(results[3]["kind"] == "duplicate_application");
  CHECK(results[3]["reason"].get<std::string>().find(
            "(registered) that is not this line's: its braille differs") != std::string::npos);
  CHECK(results[3]["card"].is_null());
  CHECK(c.issuer({"--json", "summary"}).doc()["applications"]["personalized"] == 3);
}
