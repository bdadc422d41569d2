// Batch issuance (委託発行, issuer_tool/issuance/batch.hpp, specs/issuance.md
// 4): the applications file and its checks, workers over in-process readers
// issuing every card with its records, and what fails failing alone: a
// duplicate application, a card without room, a card that goes away, a
// reader that gives no card. Then juki-issuer batch, the executable.
#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "host_middleware/transport/in_process.hpp"
#include "issuer_tool/issuance/batch.hpp"
#include "support/issuer.hpp"
#include "support/run_program.hpp"
#include "support/secure_card.hpp"
#include "support/temp_dir.hpp"

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
                        const std::vector<std::unique_ptr<iss::CardReader>>& readers) {
    iss::BatchOptions o;
    o.db = db;
    o.actor = kActor;
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
  auto storage = card_os::FileStorage::open(image);
  REQUIRE(storage.ok());
  sim::SystemRandom random;
  auto t = take(host::InProcessTransport::connect(**storage, random));
  return t->atr().at(17);
}

const iss::BatchOutcome* failed_line(const iss::BatchSummary& s) {
  for (const auto& o : s.outcomes)
    if (!o.ok) return &o;
  return nullptr;
}

// A transport that loses the card after `after` commands: a card pulled out.
class Cutting final : public host::Transport {
 public:
  Cutting(host::Transport& inner, int after) : inner_(inner), left_(after) {}
  Result<Bytes, host::TransportError> transmit(ByteView c) override {
    if (left_ <= 0) return unexpected(host::TransportError{"card removed"});
    --left_;
    return inner_.transmit(c);
  }
  Result<Bytes, host::TransportError> reset() override { return inner_.reset(); }
  Result<Bytes, host::TransportError> power_cycle() override { return inner_.power_cycle(); }
  Bytes atr() const override { return inner_.atr(); }
  std::string describe() const override { return "cutting " + inner_.describe(); }

 private:
  host::Transport& inner_;
  int left_;
};

// An in-process reader whose cards go away after `after` commands, the
// first `times` times a card is powered.
class Unsteady final : public iss::CardReader {
 public:
  Unsteady(iss::BlankImages& images, int after, int times)
      : inner_(images, "unsteady"), after_(after), times_(times) {}
  std::string name() const override { return inner_.name(); }
  Result<host::Transport*, std::string> next() override { return wrap(inner_.next()); }
  Result<host::Transport*, std::string> reopen() override { return wrap(inner_.reopen()); }
  void done() override { inner_.done(); }
  const std::string& image() const { return inner_.image(); }

 private:
  Result<host::Transport*, std::string> wrap(Result<host::Transport*, std::string> t) {
    if (!t || times_-- <= 0) return t;
    cutting_ = std::make_unique<Cutting>(**t, after_);
    return static_cast<host::Transport*>(cutting_.get());
  }
  iss::InProcessReader inner_;
  int after_, times_;
  std::unique_ptr<Cutting> cutting_;
};

// A reader that never has a card.
class Empty final : public iss::CardReader {
 public:
  std::string name() const override { return "empty"; }
  Result<host::Transport*, std::string> next() override {
    return unexpected(std::string("no card within 0 s"));
  }
  Result<host::Transport*, std::string> reopen() override { return next(); }
  void done() override {}
};

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
  CHECK(s->ok == 6);
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
  CHECK(s.ok == 3);
  CHECK(s.failed == 1);
  const iss::BatchOutcome* f = failed_line(s);
  REQUIRE(f != nullptr);
  CHECK((f->line == 1 || f->line == 3));  // whichever came second
  CHECK(f->stage == "intake");
  CHECK(f->kind == "duplicate_application");
  CHECK(f->reason.find("10000000014 has an open application") != std::string::npos);
  CHECK_FALSE(f->application);
  CHECK(f->serial.empty());
  auto summary = take(st.records().summary());
  CHECK(summary.cards[rec::CardState::issued] == 3);
  CHECK(summary.applications[rec::ApplicationState::personalized] == 3);
  CHECK(summary.applications[rec::ApplicationState::received] == 0);
}

TEST_CASE("batch: a card without room for everything is spoiled and reported, the rest issued",
          "[batch][refusal]") {
  Station st;
  // The factory's second card has 8 KiB of memory: too little for the JPKI.
  st.images.customize = [](std::size_t n, card_os::FactoryProfile& p) {
    if (n == 1) p.geometry.capacity = 8 * 1024;
  };
  const auto apps = parsed(file_of({"10000000014", "10000000022", "10000000030"}));
  auto readers = st.readers(2);
  const auto s = st.run(apps, readers);
  CHECK(s.ok == 2);
  CHECK(s.failed == 1);
  const iss::BatchOutcome* f = failed_line(s);
  REQUIRE(f != nullptr);
  CHECK(f->kind == "refused");
  CHECK(f->reason.find("6A84") != std::string::npos);
  CHECK(f->reason.find("recorded as spoiled") != std::string::npos);
  CHECK(f->reason.find("stays registered for another card") != std::string::npos);
  REQUIRE(f->application);
  auto records = st.records();
  const auto card = take(records.card(f->serial));
  CHECK(card.state == rec::CardState::spoiled);
  CHECK(card.reason->find("6A84") != std::string::npos);
  CHECK(take(records.application(*f->application)).state == rec::ApplicationState::registered);
  CHECK(take(records.summary()).cards[rec::CardState::issued] == 2);
}

TEST_CASE("batch: a card that goes away is opened again once and resumed, twice is reported",
          "[batch][tearing]") {
  SECTION("once: resumed and issued") {
    Station st;
    std::vector<std::unique_ptr<iss::CardReader>> readers;
    readers.push_back(std::make_unique<Unsteady>(st.images, 40, 1));
    const auto s = st.run(parsed(file_of({"10000000014", "10000000022"})), readers);
    CHECK(s.ok == 2);
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
    CHECK(s.ok == 1);
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
    CHECK(s.ok == 2);
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

namespace {

struct Counter {
  TempDir dir;
  std::string db = dir.file("records.db");
  Counter() {
    REQUIRE(run(dir, JUKI_PKI, {"init", dir.file("pki")}).exit == 0);
    REQUIRE(run(dir, JUKI_PKI, {"init-jpki", dir.file("pki")}).exit == 0);
    REQUIRE(issuer({"counter-keys", dir.file("keys.json"), "--transport-key",
                    "404142434445464748494A4B4C4D4E4F"})
                .exit == 0);
    REQUIRE(issuer({"init", "--municipality", "131016"}).exit == 0);
  }
  Run issuer(std::vector<std::string> args, const std::string& env = "") {
    args.insert(args.begin(), {"--db", db, "--operator", "clerk-7", "--terminal", "batch-1"});
    return run(dir, JUKI_ISSUER, args, "", env);
  }
  std::string file(const std::string& text) {
    const std::string path = dir.file("applications.jsonl");
    std::ofstream(path, std::ios::binary) << text;
    std::filesystem::permissions(
        path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    return path;
  }
  Run batch(const std::string& text,
            std::vector<std::string> extra = {"--in-process", "cards", "--workers", "2"},
            const std::string& env = "") {
    std::vector<std::string> args = {
        "--json",        "batch",          file(text),           "--pki",
        dir.file("pki"), "--counter-keys", dir.file("keys.json")};
    for (auto& e : extra) args.push_back(e == "cards" ? dir.file("cards") : e);
    return issuer(args, env);
  }
};

}  // namespace

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
  for (const auto& result : doc["results"]) {
    CHECK(result["ok"] == true);
    CHECK(result["card"].get<std::string>().size() == 16);
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
  CHECK(text.out.find(": 1 card: 1 issued, 0 failed in ") != std::string::npos);
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
