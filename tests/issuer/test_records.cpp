// records/: the issuance records (specs/issuance-records.md) and
// the SQLite layer under them, on files in a fresh temporary directory.
#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/check_digits.hpp"
#include "records/records.hpp"
#include "records/sqlite.hpp"
#include "support/temp_dir.hpp"

using namespace juki;
using namespace juki::records;
using Kind = RecordsError::Kind;
using nlohmann::json;

namespace {

constexpr const char* kMunicipality = "131016";  // Chiyoda, Tokyo: 13101 and its check digit
const Actor kClerk{"op-0001", "counter-1"};
const Actor kSupervisor{"op-0002", "counter-2"};
const IdentityCheck kPassport{"passport", "TK1234567"};
const IdentityCheck kLicence{"driver-licence", std::nullopt};

template <class T>
T must(Result<T, RecordsError> r) {
  INFO((r ? std::string() : std::string(to_string(r.error().kind)) + ": " + r.error().message));
  REQUIRE(r.ok());
  return std::move(r).value();
}

void must(Result<void, RecordsError> r) {
  INFO((r ? std::string() : std::string(to_string(r.error().kind)) + ": " + r.error().message));
  REQUIRE(r.ok());
}

// The refusal's kind; the test fails on success.
template <class T>
RecordsError refusal(const Result<T, RecordsError>& r) {
  REQUIRE_FALSE(r.ok());
  return r.error();
}

std::chrono::system_clock::time_point utc(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

// A clock the test moves; every Records made from it sees the moves.
struct TestClock {
  std::shared_ptr<std::chrono::system_clock::time_point> now =
      std::make_shared<std::chrono::system_clock::time_point>(utc(2024, 4, 1, 0, 30));
  Clock fn() const {
    return [t = now] { return *t; };
  }
  void set(std::chrono::system_clock::time_point t) const { *now = t; }
};

// The n-th resident code: n as 10 digits and the check digit.
std::string resident(long long n) {
  std::string ten = std::to_string(n);
  ten.insert(0, 10 - ten.size(), '0');
  return ten + *check_digits::resident_code(ten);
}

// The n-th card serial.
std::string serial(int n) {
  char s[17];
  std::snprintf(s, sizeof s, "CAFE%012X", static_cast<unsigned>(n));
  return s;
}

ApplicationRequest request(const std::string& code,
                           ApplicationKind kind = ApplicationKind::new_card,
                           bool same_day = false) {
  ApplicationRequest r;
  r.person = {code, "山田 太郎", "ヤマダ タロウ", "19800401", Sex::male, "東京都千代田区千代田1-1"};
  r.kind = kind;
  r.face = 'B';
  r.braille = true;
  r.same_day = same_day;
  r.identity = kPassport;
  return r;
}

// Every row of every table, as SQL literals: the content of the file, to
// compare before and after an operation.
std::map<std::string, std::vector<std::string>> dump(const std::string& path) {
  auto db = sqlite::Database::open(path, sqlite::OpenMode::existing);
  REQUIRE(db.ok());
  std::map<std::string, std::vector<std::string>> out;
  auto tables = db->prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name");
  REQUIRE(tables.ok());
  while (*tables->step()) {
    const std::string table = tables->text(0);
    auto columns = db->prepare(
        "SELECT group_concat('quote(' || name || ')', ' || ''|'' || ') FROM pragma_table_info(?1)");
    REQUIRE(columns.ok());
    columns->bind(1, table);
    REQUIRE(*columns->step());
    auto rows = db->prepare("SELECT " + columns->text(0) + " FROM " + table + " ORDER BY rowid");
    REQUIRE(rows.ok());
    auto& lines = out[table];
    while (*rows->step()) lines.push_back(rows->text(0));
  }
  return out;
}

struct Fixture {
  test::TempDir dir;
  std::string path = dir.file("records.db");
  TestClock clock;
  Records db = must(Records::create(path, kMunicipality, clock.fn()));

  // Intake and registration: the application, registered.
  Application registered(const std::string& code, bool same_day = false,
                         ApplicationKind kind = ApplicationKind::new_card) {
    const Intake in = must(db.intake(request(code, kind, same_day), kClerk));
    return must(db.register_application(in.application.id, kClerk));
  }
  // ... and a card of it issued on `issue_date`.
  Card issued(const std::string& code, const std::string& card, std::string issue_date = "20240401",
              ApplicationKind kind = ApplicationKind::new_card) {
    const Application a = registered(code, false, kind);
    must(db.begin_personalization(a.id, card, kClerk));
    return must(db.finish_personalization(card, issue_date, kClerk));
  }
  // ... handed over and activated.
  Card active(const std::string& code, const std::string& card, std::string issue_date = "20240401",
              ApplicationKind kind = ApplicationKind::new_card) {
    const Card c = issued(code, card, std::move(issue_date), kind);
    const Application a = must(db.application(c.application_id));
    must(db.hand_over(card, *a.notice_number, kLicence, kClerk));
    return must(db.activate(card, kClerk));
  }
  std::vector<std::string> actions_of_card(const std::string& card) {
    std::vector<std::string> out;
    for (const Event& e : must(db.events_of_card(card))) out.push_back(e.action);
    return out;
  }
};

// A notice number of the right form that is not `notice`.
std::string other_notice(const std::string& notice) {
  std::string eleven = notice.substr(0, 11);
  eleven[10] = eleven[10] == '0' ? '1' : '0';
  return eleven + *notice_check_digit(eleven);
}

}  // namespace

// ------------------------------------------------------------ the SQLite layer

TEST_CASE("sqlite: a transaction rolls back unless committed", "[records][sqlite]") {
  test::TempDir dir;
  auto db = sqlite::Database::open(dir.file("t.db"), sqlite::OpenMode::create);
  REQUIRE(db.ok());
  REQUIRE(db->exec("CREATE TABLE t (x INTEGER)").ok());
  auto count = [&] {
    auto st = db->prepare("SELECT count(*) FROM t");
    REQUIRE(st.ok());
    REQUIRE(*st->step());
    return st->integer(0);
  };
  {
    auto tx = sqlite::Transaction::immediate(*db);
    REQUIRE(tx.ok());
    REQUIRE(db->exec("INSERT INTO t VALUES (1)").ok());
    CHECK(count() == 1);
  }
  CHECK(count() == 0);
  {
    auto tx = sqlite::Transaction::immediate(*db);
    REQUIRE(tx.ok());
    REQUIRE(db->exec("INSERT INTO t VALUES (2)").ok());
    REQUIRE(tx->commit().ok());
  }
  CHECK(count() == 1);
}

TEST_CASE("sqlite: bind errors come back at step and values round-trip", "[records][sqlite]") {
  test::TempDir dir;
  auto db = sqlite::Database::open(dir.file("t.db"), sqlite::OpenMode::create);
  REQUIRE(db.ok());
  auto st = db->prepare("SELECT ?1, ?2, ?3, ?4");
  REQUIRE(st.ok());
  st->bind(1, std::int64_t{-7})
      .bind(2, "日本")
      .bind(3, std::optional<std::string>())
      .bind(4, nullptr);
  REQUIRE(*st->step());
  CHECK(st->integer(0) == -7);
  CHECK(st->text(1) == "日本");
  CHECK(st->optional_text(2) == std::nullopt);
  CHECK(st->optional_integer(3) == std::nullopt);
  CHECK_FALSE(*st->step());

  st->reset();
  st->bind(5, std::int64_t{1});  // there is no ?5
  auto r = st->step();
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == SQLITE_RANGE);

  auto bad = db->prepare("SELEC 1");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == SQLITE_ERROR);
  CHECK_FALSE(sqlite::Database::open(dir.file("missing.db"), sqlite::OpenMode::existing).ok());
}

// ------------------------------------------------------------ formats

TEST_CASE("records: notice numbers, serials and katakana", "[records]") {
  CHECK(notice_check_digit("12345678901") == '8');  // the individual number's published example
  CHECK(notice_check_digit("00000000000") == '0');
  CHECK(notice_check_digit("99999999999") == '6');
  CHECK(notice_check_digit("1234567890") == std::nullopt);
  CHECK(notice_check_digit("1234567890A") == std::nullopt);
  CHECK(notice_number_valid("123456789018"));
  CHECK_FALSE(notice_number_valid("123456789017"));
  CHECK_FALSE(notice_number_valid("12345678901"));

  CHECK(serial_valid("0123456789ABCDEF"));
  CHECK_FALSE(serial_valid("0123456789abcdef"));
  CHECK_FALSE(serial_valid("0123456789ABCDE"));
  CHECK_FALSE(serial_valid("0123456789ABCDEG"));

  CHECK(katakana_valid("ヤマダ タロウ"));
  CHECK(katakana_valid("ジョン・スミス"));
  CHECK(katakana_valid("ヤマダ　ハナコ"));  // an ideographic space
  CHECK(katakana_valid("ヴァーヂ"));
  CHECK_FALSE(katakana_valid(""));
  CHECK_FALSE(katakana_valid(" 　"));
  CHECK_FALSE(katakana_valid("やまだ"));
  CHECK_FALSE(katakana_valid("山田"));
  CHECK_FALSE(katakana_valid("Yamada"));
  CHECK_FALSE(katakana_valid("ヤマダ1"));
  CHECK_FALSE(katakana_valid("ヤマダ\xE3\x82"));  // cut in the middle of a character
}

// ------------------------------------------------------------ the life cycle

TEST_CASE("records: the life cycle from intake to a card accepted at the window",
          "[records][req:K17][req:K18]") {
  Fixture f;
  const std::string code = resident(1);
  const std::string card = serial(1);
  CHECK(f.db.municipality() == kMunicipality);

  const Intake in = must(f.db.intake(request(code), kClerk));
  CHECK(in.latest_card == std::nullopt);
  const Application& a = in.application;
  CHECK(a.state == ApplicationState::received);
  CHECK(a.person.resident_code == code);
  CHECK(a.person.name == "山田 太郎");
  CHECK(a.person.name_kana == "ヤマダ タロウ");
  CHECK(a.person.birth_date == "19800401");
  CHECK(a.person.sex == Sex::male);
  CHECK(a.person.address == "東京都千代田区千代田1-1");
  CHECK(a.kind == ApplicationKind::new_card);
  CHECK(a.face == 'B');
  CHECK(a.braille);
  CHECK_FALSE(a.same_day);
  CHECK(a.notice_number == std::nullopt);
  CHECK(a.received_at == "2024-04-01T00:30:00Z");

  f.clock.set(utc(2024, 4, 2, 1));
  const Application reg = must(f.db.register_application(a.id, kClerk));
  CHECK(reg.state == ApplicationState::registered);
  REQUIRE(reg.notice_number.has_value());
  CHECK(notice_number_valid(*reg.notice_number));
  CHECK(reg.updated_at == "2024-04-02T01:00:00Z");
  CHECK(must(f.db.application_by_notice(*reg.notice_number)).id == a.id);

  const Card started = must(f.db.begin_personalization(a.id, card, kClerk));
  CHECK(started.state == CardState::personalizing);
  CHECK(started.application_id == a.id);
  CHECK(started.resident_code == code);
  CHECK(started.face == 'B');
  CHECK(started.issue_date == std::nullopt);
  CHECK(must(f.db.application(a.id)).state == ApplicationState::registered);

  const Card done = must(f.db.finish_personalization(card, "20240402", kClerk));
  CHECK(done.state == CardState::issued);
  CHECK(done.issue_date == "20240402");
  CHECK(done.expiry_date == "20340402");
  CHECK(must(f.db.application(a.id)).state == ApplicationState::personalized);
  CHECK(must(f.db.window_check(card, "20240402")).verdict == WindowCheck::Verdict::not_activated);

  const Card handed = must(f.db.hand_over(card, *reg.notice_number, kLicence, kClerk));
  CHECK(handed.state == CardState::handed_over);
  CHECK(must(f.db.application(a.id)).state == ApplicationState::handed_over);
  CHECK(must(f.db.window_check(card, "20240402")).verdict == WindowCheck::Verdict::not_activated);

  const Card act = must(f.db.activate(card, kClerk));
  CHECK(act.state == CardState::active);
  CHECK(must(f.db.application(a.id)).state == ApplicationState::completed);

  const WindowCheck w = must(f.db.window_check(card, "20240403"));
  CHECK(w.verdict == WindowCheck::Verdict::accepted);
  REQUIRE(w.card.has_value());
  CHECK(w.card->serial == card);

  std::vector<std::string> actions;
  for (const Event& e : must(f.db.events_of_application(a.id))) actions.push_back(e.action);
  CHECK(actions == std::vector<std::string>{"intake", "register", "begin_personalization",
                                            "finish_personalization", "hand_over", "activate"});

  const Summary s = must(f.db.summary());
  CHECK(s.applications.size() == std::size(kApplicationStates));
  CHECK(s.cards.size() == std::size(kCardStates));
  CHECK(s.applications.at(ApplicationState::completed) == 1);
  CHECK(s.applications.at(ApplicationState::received) == 0);
  CHECK(s.cards.at(CardState::active) == 1);
  CHECK(s.cards.at(CardState::issued) == 0);
  const auto cards = must(f.db.cards_of(code));
  REQUIRE(cards.size() == 1);
  CHECK(cards[0].serial == card);
}

TEST_CASE("records: same-day issuance has no notice number", "[records][req:K18]") {
  Fixture f;
  const Application a = f.registered(resident(1), true);
  CHECK(a.same_day);
  CHECK(a.notice_number == std::nullopt);
  must(f.db.begin_personalization(a.id, serial(1), kClerk));
  must(f.db.finish_personalization(serial(1), "20240401", kClerk));

  // A notice number offered for a same-day card is a mistake of input, not an attempt.
  const auto events = must(f.db.events()).size();
  CHECK(refusal(f.db.hand_over(serial(1), "123456789018", kLicence, kClerk)).kind ==
        Kind::invalid_input);
  CHECK(must(f.db.events()).size() == events);

  CHECK(must(f.db.hand_over(serial(1), std::nullopt, kLicence, kClerk)).state ==
        CardState::handed_over);
  CHECK(must(f.db.activate(serial(1), kClerk)).state == CardState::active);
}

TEST_CASE("records: notice numbers are unique and well-formed", "[records]") {
  Fixture f;
  std::vector<std::string> seen;
  for (int i = 1; i <= 40; ++i) {
    const Application a = f.registered(resident(i));
    REQUIRE(a.notice_number.has_value());
    CHECK(notice_number_valid(*a.notice_number));
    seen.push_back(*a.notice_number);
  }
  std::sort(seen.begin(), seen.end());
  CHECK(std::adjacent_find(seen.begin(), seen.end()) == seen.end());
}

// ------------------------------------------------------------ intake refusals

TEST_CASE("records: a duplicate application is refused", "[records][req:K16]") {
  Fixture f;
  const std::string code = resident(1);
  const Intake first = must(f.db.intake(request(code), kClerk));

  auto again = refusal(f.db.intake(request(code), kClerk));
  CHECK(again.kind == Kind::duplicate_application);
  CHECK_THAT(again.message,
             Catch::Contains(std::to_string(first.application.id)) && Catch::Contains("received"));

  must(f.db.register_application(first.application.id, kClerk));
  CHECK(refusal(f.db.intake(request(code), kClerk)).kind == Kind::duplicate_application);
  must(f.db.begin_personalization(first.application.id, serial(1), kClerk));
  must(f.db.finish_personalization(serial(1), "20240401", kClerk));
  CHECK(refusal(f.db.intake(request(code), kClerk)).kind == Kind::duplicate_application);

  // Someone else is not a duplicate.
  must(f.db.intake(request(resident(2)), kClerk));
  // A rejected application is no longer open.
  const Intake third = must(f.db.intake(request(resident(3)), kClerk));
  must(f.db.reject(third.application.id, "documents incomplete", kClerk));
  must(f.db.intake(request(resident(3)), kClerk));
}

TEST_CASE("records: a person holding a valid card is refused, naming it", "[records][req:F2]") {
  Fixture f;
  const std::string code = resident(1);
  const std::string card = serial(1);
  f.active(code, card);
  auto state_refused = [&](std::string_view state) {
    const RecordsError e = refusal(f.db.intake(request(code), kClerk));
    CHECK(e.kind == Kind::card_exists);
    CHECK_THAT(e.message, Catch::Contains(card) && Catch::Contains(std::string(state)));
  };
  state_refused("active");
  must(f.db.suspend(card, "reported stolen by phone", kClerk));
  state_refused("suspended");
  // A reissue does not get round it either.
  CHECK(refusal(f.db.intake(request(code, ApplicationKind::reissue), kClerk)).kind ==
        Kind::card_exists);

  Fixture g;
  g.issued(code, card);
  const Application a = must(g.db.application(must(g.db.card(card)).application_id));
  must(g.db.hand_over(card, *a.notice_number, kLicence, kClerk));
  const RecordsError e = refusal(g.db.intake(request(code), kClerk));
  CHECK(e.kind == Kind::card_exists);
  CHECK_THAT(e.message, Catch::Contains(card) && Catch::Contains("handed_over"));
}

TEST_CASE("records: the kind of application must fit the person's last card", "[records][req:F2]") {
  Fixture f;
  // Never had a card: new only.
  const RecordsError never =
      refusal(f.db.intake(request(resident(1), ApplicationKind::reissue), kClerk));
  CHECK(never.kind == Kind::wrong_state);
  CHECK_THAT(never.message, Catch::Contains("new"));

  // Lost: reissue only, and the intake tells the counter about the lost card.
  f.active(resident(2), serial(2));
  must(f.db.report_lost(serial(2), "lost on the train", kClerk));
  const RecordsError lost = refusal(f.db.intake(request(resident(2)), kClerk));
  CHECK(lost.kind == Kind::wrong_state);
  CHECK_THAT(lost.message, Catch::Contains(serial(2)) && Catch::Contains("reissue"));
  const Intake re = must(f.db.intake(request(resident(2), ApplicationKind::reissue), kClerk));
  REQUIRE(re.latest_card.has_value());
  CHECK(re.latest_card->serial == serial(2));
  CHECK(re.latest_card->state == CardState::lost);

  // Returned: either.
  f.active(resident(3), serial(3));
  must(f.db.return_card(serial(3), "moved out", kClerk));
  CHECK(must(f.db.intake(request(resident(3)), kClerk)).latest_card.value().state ==
        CardState::returned);
  f.active(resident(4), serial(4));
  must(f.db.return_card(serial(4), "damaged", kClerk));
  must(f.db.intake(request(resident(4), ApplicationKind::reissue), kClerk));

  // Expired: new only.
  f.active(resident(5), serial(5), "20100101");
  REQUIRE(must(f.db.expire_due("20240401", kClerk)).size() == 1);
  CHECK(refusal(f.db.intake(request(resident(5), ApplicationKind::reissue), kClerk)).kind ==
        Kind::wrong_state);
  CHECK(must(f.db.intake(request(resident(5)), kClerk)).latest_card.value().state ==
        CardState::expired);

  // The spoiled card of a person never counts as one they had.
  const Application a = f.registered(resident(6));
  must(f.db.begin_personalization(a.id, serial(6), kClerk));
  must(f.db.spoil(serial(6), "print head jam", kClerk));
  must(f.db.cancel(a.id, "the applicant withdrew", kClerk));
  CHECK(must(f.db.intake(request(resident(6)), kClerk)).latest_card == std::nullopt);
}

TEST_CASE("records: a card past its expiry date no longer blocks an intake",
          "[records][req:K3][req:F2]") {
  // The counter's day is Japan's (UTC+9): the card is valid through 20340401 JST.
  Fixture f;
  const std::string code = resident(1);
  f.active(code, serial(1), "20240401");
  f.clock.set(utc(2034, 4, 1, 14, 59, 59));  // 23:59:59 on 20340401 in Japan
  CHECK(refusal(f.db.intake(request(code), kClerk)).kind == Kind::card_exists);
  f.clock.set(utc(2034, 4, 1, 15));  // 00:00 on 20340402 in Japan
  const Intake in = must(f.db.intake(request(code), kClerk));
  REQUIRE(in.latest_card.has_value());
  CHECK(in.latest_card->state == CardState::active);  // as stored: expire_due has not run
}

// ------------------------------------------------------------ hand-over

TEST_CASE("records: a wrong notice number is refused and the attempt recorded",
          "[records][req:K18]") {
  Fixture f;
  const Card c = f.issued(resident(1), serial(1));
  const std::string notice = *must(f.db.application(c.application_id)).notice_number;
  const std::string wrong = other_notice(notice);
  REQUIRE(notice_number_valid(wrong));
  REQUIRE(wrong != notice);

  auto before = dump(f.path);
  f.clock.set(utc(2024, 4, 10, 2));
  const RecordsError e = refusal(f.db.hand_over(serial(1), wrong, kLicence, kSupervisor));
  CHECK(e.kind == Kind::wrong_notice_number);
  CHECK_THAT(e.message, !Catch::Contains(notice));  // the refusal does not tell the right one
  auto after = dump(f.path);
  // Nothing changed but one more event: the refused attempt.
  CHECK(after["events"].size() == before["events"].size() + 1);
  after.erase("events");
  before.erase("events");
  CHECK(after == before);

  const Event refused = must(f.db.events_of_card(serial(1))).back();
  CHECK(refused.action == "hand_over_refused");
  CHECK(refused.at == "2024-04-10T02:00:00Z");
  CHECK(refused.operator_id == kSupervisor.operator_id);
  CHECK(refused.terminal_id == kSupervisor.terminal_id);
  CHECK(refused.application_id == c.application_id);
  const json detail = json::parse(refused.detail);
  CHECK(detail["given"] == wrong);
  CHECK(detail["identity"]["document"] == "driver-licence");

  // Without a notice number: refused and recorded too.
  CHECK(refusal(f.db.hand_over(serial(1), std::nullopt, kLicence, kClerk)).kind ==
        Kind::wrong_notice_number);
  CHECK(f.actions_of_card(serial(1)).back() == "hand_over_refused");
  CHECK(json::parse(must(f.db.events_of_card(serial(1))).back().detail)["given"].is_null());

  // A number whose check digit is wrong is a typing mistake: invalid input, not recorded.
  const auto events = must(f.db.events()).size();
  std::string typo = notice;
  typo[11] = typo[11] == '9' ? '0' : static_cast<char>(typo[11] + 1);
  CHECK(refusal(f.db.hand_over(serial(1), typo, kLicence, kClerk)).kind == Kind::invalid_input);
  CHECK(must(f.db.events()).size() == events);

  CHECK(must(f.db.card(serial(1))).state == CardState::issued);
  CHECK(must(f.db.hand_over(serial(1), notice, kLicence, kClerk)).state == CardState::handed_over);
  const json handed = json::parse(must(f.db.events_of_card(serial(1))).back().detail);
  CHECK(handed["notice_number"] == notice);
  CHECK(handed["identity"] == json{{"document", "driver-licence"}, {"number", nullptr}});
}

// ------------------------------------------------------------ states

TEST_CASE("records: each operation refuses a state it does not start from", "[records]") {
  Fixture f;
  auto wrong_state = [](const auto& r, const std::string& names) {
    const RecordsError e = refusal(r);
    CHECK(e.kind == Kind::wrong_state);
    CHECK_THAT(e.message, Catch::Contains(names));
  };

  SECTION("applications") {
    const Application a = f.registered(resident(1));
    wrong_state(f.db.register_application(a.id, kClerk), "registered");
    must(f.db.begin_personalization(a.id, serial(1), kClerk));
    // Not while a card of it is being personalized.
    wrong_state(f.db.cancel(a.id, "withdrawn", kClerk), serial(1));
    wrong_state(f.db.reject(a.id, "withdrawn", kClerk), serial(1));
    wrong_state(f.db.begin_personalization(a.id, serial(2), kClerk), serial(1));
    must(f.db.finish_personalization(serial(1), "20240401", kClerk));
    wrong_state(f.db.cancel(a.id, "withdrawn", kClerk), "personalized");
    wrong_state(f.db.reject(a.id, "refused", kClerk), "personalized");
    wrong_state(f.db.begin_personalization(a.id, serial(2), kClerk), "personalized");

    const Intake b = must(f.db.intake(request(resident(2)), kClerk));
    wrong_state(f.db.begin_personalization(b.application.id, serial(3), kClerk), "received");
    must(f.db.cancel(b.application.id, "the applicant withdrew", kClerk));
    wrong_state(f.db.register_application(b.application.id, kClerk), "cancelled");
    wrong_state(f.db.reject(b.application.id, "again", kClerk), "cancelled");
  }
  SECTION("cards") {
    const Application a = f.registered(resident(1));
    must(f.db.begin_personalization(a.id, serial(1), kClerk));
    const std::string notice = *a.notice_number;
    wrong_state(f.db.hand_over(serial(1), notice, kLicence, kClerk), "personalizing");
    wrong_state(f.db.report_lost(serial(1), "lost", kClerk), "personalizing");
    wrong_state(f.db.return_card(serial(1), "returned", kClerk), "personalizing");
    wrong_state(f.db.activate(serial(1), kClerk), "personalizing");
    must(f.db.finish_personalization(serial(1), "20240401", kClerk));
    wrong_state(f.db.finish_personalization(serial(1), "20240401", kClerk), "issued");
    wrong_state(f.db.spoil(serial(1), "jam", kClerk), "issued");
    wrong_state(f.db.activate(serial(1), kClerk), "issued");
    wrong_state(f.db.suspend(serial(1), "stolen", kClerk), "issued");
    wrong_state(f.db.record_password_reset(serial(1), kPassport, kClerk), "issued");
    must(f.db.hand_over(serial(1), notice, kLicence, kClerk));
    wrong_state(f.db.hand_over(serial(1), notice, kLicence, kClerk), "handed_over");
    wrong_state(f.db.suspend(serial(1), "stolen", kClerk), "handed_over");
    must(f.db.activate(serial(1), kClerk));
    wrong_state(f.db.activate(serial(1), kClerk), "active");
    wrong_state(f.db.lift_suspension(serial(1), kPassport, kClerk), "active");
    must(f.db.suspend(serial(1), "stolen", kClerk));
    wrong_state(f.db.suspend(serial(1), "stolen", kClerk), "suspended");
    wrong_state(f.db.record_password_reset(serial(1), kPassport, kClerk), "suspended");
    must(f.db.report_lost(serial(1), "stolen", kClerk));
    wrong_state(f.db.report_lost(serial(1), "stolen", kClerk), "lost");
    wrong_state(f.db.lift_suspension(serial(1), kPassport, kClerk), "lost");
    must(f.db.return_card(serial(1), "found", kClerk));
    wrong_state(f.db.return_card(serial(1), "found", kClerk), "returned");
    wrong_state(f.db.report_lost(serial(1), "lost", kClerk), "returned");

    const Application b = f.registered(resident(2));
    must(f.db.begin_personalization(b.id, serial(2), kClerk));
    must(f.db.spoil(serial(2), "chip does not answer", kClerk));
    wrong_state(f.db.finish_personalization(serial(2), "20240401", kClerk), "spoiled");
    wrong_state(f.db.spoil(serial(2), "again", kClerk), "spoiled");
    wrong_state(f.db.return_card(serial(2), "returned", kClerk), "spoiled");
    wrong_state(f.db.report_lost(serial(2), "lost", kClerk), "spoiled");

    f.active(resident(3), serial(3), "20100101");
    must(f.db.expire_due("20240401", kClerk));
    wrong_state(f.db.return_card(serial(3), "returned", kClerk), "expired");
    wrong_state(f.db.report_lost(serial(3), "lost", kClerk), "expired");
    wrong_state(f.db.suspend(serial(3), "stolen", kClerk), "expired");
  }
}

TEST_CASE("records: suspension and its lifting", "[records][req:K11]") {
  Fixture f;
  f.active(resident(1), serial(1));
  const Card s = must(f.db.suspend(serial(1), "reported stolen by phone", kSupervisor));
  CHECK(s.state == CardState::suspended);
  CHECK(s.reason == "reported stolen by phone");
  const WindowCheck w = must(f.db.window_check(serial(1), "20240501"));
  CHECK(w.verdict == WindowCheck::Verdict::suspended);
  CHECK_THAT(w.why, Catch::Contains("reported stolen by phone"));

  const Card l = must(f.db.lift_suspension(serial(1), kPassport, kClerk));
  CHECK(l.state == CardState::active);
  CHECK(l.reason == std::nullopt);
  CHECK(must(f.db.window_check(serial(1), "20240501")).verdict == WindowCheck::Verdict::accepted);

  const auto events = must(f.db.events_of_card(serial(1)));
  REQUIRE(events.size() >= 2);
  const Event& suspend = events[events.size() - 2];
  CHECK(suspend.action == "suspend");
  CHECK(suspend.operator_id == kSupervisor.operator_id);
  CHECK(json::parse(suspend.detail)["reason"] == "reported stolen by phone");
  const json lift = json::parse(events.back().detail);
  CHECK(events.back().action == "lift_suspension");
  CHECK(lift["identity"]["document"] == "passport");
  CHECK(lift["identity"]["number"] == "TK1234567");
  CHECK(lift["card"] == json{{"from", "suspended"}, {"to", "active"}});
}

TEST_CASE("records: a lost card, its reissue, and the old card found and returned", "[records]") {
  Fixture f;
  const std::string code = resident(1);
  f.active(code, serial(1));
  must(f.db.report_lost(serial(1), "lost on the train", kClerk));
  CHECK(must(f.db.window_check(serial(1), "20240501")).verdict == WindowCheck::Verdict::lost);

  const Card second = f.active(code, serial(2), "20240601", ApplicationKind::reissue);
  CHECK(must(f.db.application(second.application_id)).kind == ApplicationKind::reissue);
  CHECK(must(f.db.window_check(serial(2), "20240601")).verdict == WindowCheck::Verdict::accepted);

  const Card found = must(f.db.return_card(serial(1), "found and handed in", kClerk));
  CHECK(found.state == CardState::returned);
  CHECK(found.reason == "found and handed in");
  CHECK(must(f.db.window_check(serial(1), "20240601")).verdict == WindowCheck::Verdict::returned);
  const auto cards = must(f.db.cards_of(code));
  REQUIRE(cards.size() == 2);
  CHECK(cards[0].serial == serial(1));
  CHECK(cards[1].serial == serial(2));
}

TEST_CASE("records: a card lost or returned before hand-over cancels its application",
          "[records]") {
  Fixture f;
  const Card c = f.issued(resident(1), serial(1));
  must(f.db.report_lost(serial(1), "lost in the office", kClerk));
  const Application a = must(f.db.application(c.application_id));
  CHECK(a.state == ApplicationState::cancelled);
  REQUIRE(a.reason.has_value());
  CHECK_THAT(*a.reason, Catch::Contains(serial(1)) && Catch::Contains("lost"));
  const json detail = json::parse(must(f.db.events_of_card(serial(1))).back().detail);
  CHECK(detail["application"] == json{{"from", "personalized"}, {"to", "cancelled"}});
  must(f.db.intake(request(resident(1), ApplicationKind::reissue), kClerk));

  const Card d = f.issued(resident(2), serial(2));
  must(f.db.return_card(serial(2), "never collected", kClerk));
  CHECK(must(f.db.application(d.application_id)).state == ApplicationState::cancelled);
  must(f.db.intake(request(resident(2)), kClerk));
}

TEST_CASE("records: a spoiled card leaves its application registered for another", "[records]") {
  Fixture f;
  const Application a = f.registered(resident(1));
  must(f.db.begin_personalization(a.id, serial(1), kClerk));
  const Card s = must(f.db.spoil(serial(1), "card removed mid-personalization", kClerk));
  CHECK(s.state == CardState::spoiled);
  CHECK(s.reason == "card removed mid-personalization");
  CHECK(s.issue_date == std::nullopt);
  CHECK(must(f.db.application(a.id)).state == ApplicationState::registered);
  CHECK(must(f.db.window_check(serial(1), "20240401")).verdict == WindowCheck::Verdict::spoiled);

  must(f.db.begin_personalization(a.id, serial(2), kClerk));
  must(f.db.finish_personalization(serial(2), "20240401", kClerk));
  const auto cards = must(f.db.cards_of(resident(1)));
  REQUIRE(cards.size() == 2);
  CHECK(cards[0].state == CardState::spoiled);
  CHECK(cards[1].state == CardState::issued);
}

TEST_CASE("records: cards left in personalizing are listed", "[records]") {
  Fixture f;
  const Application a = f.registered(resident(1));
  const Application b = f.registered(resident(2));
  const Application c = f.registered(resident(3));
  must(f.db.begin_personalization(a.id, serial(1), kClerk));
  must(f.db.begin_personalization(b.id, serial(2), kClerk));
  must(f.db.begin_personalization(c.id, serial(3), kClerk));
  must(f.db.finish_personalization(serial(2), "20240401", kClerk));
  must(f.db.spoil(serial(3), "torn", kClerk));

  // As another process would see them after a crash.
  Records reopened = must(Records::open(f.path, f.clock.fn()));
  const auto left = must(reopened.cards_personalizing());
  REQUIRE(left.size() == 1);
  CHECK(left[0].serial == serial(1));
  CHECK(left[0].application_id == a.id);
}

TEST_CASE("records: the person's latest application, with the identity check of its intake",
          "[records][req:K16]") {
  Fixture f;
  CHECK_FALSE(must(f.db.latest_application(resident(1))));  // never applied
  const Application first = f.registered(resident(1));
  f.registered(resident(2));  // another person's
  auto latest = must(f.db.latest_application(resident(1)));
  REQUIRE(latest);
  CHECK(latest->application.id == first.id);
  CHECK(latest->application.state == ApplicationState::registered);
  CHECK(latest->application.person.name == "山田 太郎");
  CHECK(latest->identity.document == kPassport.document);
  CHECK(latest->identity.number == kPassport.number);

  // Any state: a closed application is still the latest until the next intake.
  must(f.db.reject(first.id, "not resident", kClerk));
  CHECK(must(f.db.latest_application(resident(1)))->application.state ==
        ApplicationState::rejected);
  ApplicationRequest again = request(resident(1));
  again.identity = kLicence;
  const Intake second = must(f.db.intake(again, kSupervisor));
  latest = must(f.db.latest_application(resident(1)));
  REQUIRE(latest);
  CHECK(latest->application.id == second.application.id);
  CHECK(latest->application.state == ApplicationState::received);
  CHECK(latest->identity.document == "driver-licence");
  CHECK_FALSE(latest->identity.number);

  // A malformed resident code is refused, not looked up.
  CHECK(refusal(f.db.latest_application("10000000015")).kind == Kind::invalid_input);
}

TEST_CASE("records: the expiry sweep and the window on the boundary dates", "[records][req:K3]") {
  Fixture f;
  // Issued on February 29: expires on February 28 ten years later.
  const Card c = f.active(resident(1), serial(1), "20240229");
  CHECK(c.expiry_date == "20340228");
  CHECK(must(f.db.window_check(serial(1), "20340228")).verdict == WindowCheck::Verdict::accepted);
  // Refused the day after, before any sweep.
  const WindowCheck late = must(f.db.window_check(serial(1), "20340301"));
  CHECK(late.verdict == WindowCheck::Verdict::expired);
  CHECK_THAT(late.why, Catch::Contains("20340228"));
  CHECK(must(f.db.card(serial(1))).state == CardState::active);

  f.active(resident(2), serial(2), "20240301");  // expires 20340301
  f.active(resident(3), serial(3), "20240228");  // expires 20340228, suspended
  must(f.db.suspend(serial(3), "stolen", kClerk));
  const Card never = f.issued(resident(4), serial(4), "20240228");  // never collected
  f.active(resident(5), serial(5), "20240228");                     // lost: not swept
  must(f.db.report_lost(serial(5), "lost", kClerk));

  CHECK(must(f.db.expire_due("20340228", kClerk)).empty());
  const auto expired = must(f.db.expire_due("20340301", kSupervisor));
  std::vector<std::string> serials;
  for (const Card& e : expired) {
    CHECK(e.state == CardState::expired);
    serials.push_back(e.serial);
  }
  CHECK(serials == std::vector<std::string>{serial(1), serial(3), serial(4)});
  CHECK(must(f.db.card(serial(2))).state == CardState::active);
  CHECK(must(f.db.card(serial(5))).state == CardState::lost);
  CHECK(must(f.db.application(never.application_id)).state == ApplicationState::cancelled);
  CHECK(must(f.db.window_check(serial(1), "20340301")).verdict == WindowCheck::Verdict::expired);
  CHECK(must(f.db.expire_due("20340301", kClerk)).empty());

  const Event e = must(f.db.events_of_card(serial(3))).back();
  CHECK(e.action == "expire");
  CHECK(e.operator_id == kSupervisor.operator_id);
  const json detail = json::parse(e.detail);
  CHECK(detail["card"] == json{{"from", "suspended"}, {"to", "expired"}});
  CHECK(detail["expiry_date"] == "20340228");
}

TEST_CASE("records: the window names every refusal", "[records]") {
  Fixture f;
  using V = WindowCheck::Verdict;
  const WindowCheck unknown = must(f.db.window_check(serial(9), "20240401"));
  CHECK(unknown.verdict == V::unknown_card);
  CHECK(unknown.card == std::nullopt);
  const Application a = f.registered(resident(1));
  must(f.db.begin_personalization(a.id, serial(1), kClerk));
  CHECK(must(f.db.window_check(serial(1), "20240401")).verdict == V::not_activated);
  CHECK(to_string(V::not_activated) == "not_activated");
  CHECK(refusal(f.db.window_check("cafe", "20240401")).kind == Kind::invalid_input);
  CHECK(refusal(f.db.window_check(serial(1), "2024-04-01")).kind == Kind::invalid_input);
}

TEST_CASE("records: a password re-set is recorded without a change of state", "[records][req:K9]") {
  Fixture f;
  const Card before = f.active(resident(1), serial(1));
  f.clock.set(utc(2025, 1, 6, 0, 15));
  must(f.db.record_password_reset(serial(1), kPassport, kSupervisor));
  const Card after = must(f.db.card(serial(1)));
  CHECK(after.state == CardState::active);
  CHECK(after.updated_at == before.updated_at);
  const Event e = must(f.db.events_of_card(serial(1))).back();
  CHECK(e.action == "password_reset");
  CHECK(e.at == "2025-01-06T00:15:00Z");
  CHECK(e.terminal_id == kSupervisor.terminal_id);
  CHECK(json::parse(e.detail)["identity"]["number"] == "TK1234567");
}

// ------------------------------------------------------------ malformed and unknown

TEST_CASE("records: malformed input is refused and nothing is written", "[records]") {
  Fixture f;
  const Card issued = f.issued(resident(1), serial(1));
  const Application open = f.registered(resident(2));
  const auto before = dump(f.path);
  auto invalid = [](const auto& r, const std::string& mentions) {
    const RecordsError e = refusal(r);
    CHECK(e.kind == Kind::invalid_input);
    CHECK_THAT(e.message, Catch::Contains(mentions));
  };
  auto with = [](auto change) {
    ApplicationRequest r = request(resident(7));
    change(r);
    return r;
  };

  std::string bad_check = resident(7);
  bad_check[10] = bad_check[10] == '9' ? '0' : static_cast<char>(bad_check[10] + 1);
  invalid(f.db.intake(with([&](auto& r) { r.person.resident_code = bad_check; }), kClerk),
          bad_check);
  invalid(f.db.intake(with([](auto& r) { r.person.resident_code = "1234567890"; }), kClerk),
          "resident code");
  invalid(f.db.intake(with([](auto& r) { r.person.resident_code = "1234567890X"; }), kClerk),
          "resident code");
  invalid(f.db.intake(with([](auto& r) { r.person.name.clear(); }), kClerk), "name");
  invalid(f.db.intake(with([](auto& r) { r.person.name_kana = "やまだ たろう"; }), kClerk),
          "katakana");
  invalid(f.db.intake(with([](auto& r) { r.person.birth_date = "19800230"; }), kClerk), "19800230");
  invalid(f.db.intake(with([](auto& r) { r.person.birth_date = "1980-04-01"; }), kClerk),
          "birth date");
  invalid(f.db.intake(with([](auto& r) { r.person.sex = static_cast<Sex>(3); }), kClerk), "sex");
  invalid(f.db.intake(with([](auto& r) { r.person.address.clear(); }), kClerk), "address");
  invalid(f.db.intake(with([](auto& r) { r.face = 'C'; }), kClerk), "face");
  invalid(f.db.intake(with([](auto& r) { r.face = 'a'; }), kClerk), "face");
  invalid(f.db.intake(with([](auto& r) { r.identity.document.clear(); }), kClerk), "document");
  invalid(f.db.intake(with([](auto& r) { r.identity.number = ""; }), kClerk), "document number");
  invalid(f.db.intake(request(resident(7)), Actor{"", "counter-1"}), "operator");
  invalid(f.db.intake(request(resident(7)), Actor{"op-0001", ""}), "terminal");

  invalid(f.db.begin_personalization(open.id, "cafe000000000001", kClerk), "serial");
  invalid(f.db.begin_personalization(open.id, "CAFE00000000001", kClerk), "serial");
  invalid(f.db.begin_personalization(open.id, "CAFE00000000000G", kClerk), "serial");
  invalid(f.db.finish_personalization(serial(1), "20240431", kClerk), "issue date");
  invalid(f.db.hand_over(serial(1), "12345678901", kLicence, kClerk), "notice number");
  invalid(f.db.hand_over(serial(1), std::nullopt, IdentityCheck{"", std::nullopt}, kClerk),
          "document");
  invalid(f.db.spoil(serial(1), "", kClerk), "reason");
  invalid(f.db.suspend(serial(1), "", kClerk), "reason");
  invalid(f.db.report_lost(serial(1), "", kClerk), "reason");
  invalid(f.db.return_card(serial(1), "", kClerk), "reason");
  invalid(f.db.reject(open.id, "", kClerk), "reason");
  invalid(f.db.cancel(open.id, "", kClerk), "reason");
  invalid(f.db.expire_due("20240230", kClerk), "today");
  invalid(f.db.lift_suspension(serial(1), IdentityCheck{"passport", ""}, kClerk), "document");
  invalid(f.db.record_password_reset(serial(1), kPassport, Actor{"", ""}), "operator");
  invalid(f.db.activate(serial(1), Actor{"op", ""}), "terminal");

  CHECK(dump(f.path) == before);
  CHECK(issued.state == CardState::issued);

  // An issue date whose expiry the card's date field cannot hold (after 9999).
  must(f.db.begin_personalization(open.id, serial(2), kClerk));
  const auto personalizing = dump(f.path);
  invalid(f.db.finish_personalization(serial(2), "99900101", kClerk), "issue date");
  CHECK(dump(f.path) == personalizing);

  const RecordsError m = refusal(Records::create(f.dir.file("other.db"), "131017", f.clock.fn()));
  CHECK(m.kind == Kind::invalid_input);
  CHECK_THAT(m.message, Catch::Contains("131017"));
}

TEST_CASE("records: unknown applications and cards are not found", "[records]") {
  Fixture f;
  f.registered(resident(1));
  const auto before = dump(f.path);
  CHECK(refusal(f.db.application(99)).kind == Kind::not_found);
  CHECK(refusal(f.db.register_application(99, kClerk)).kind == Kind::not_found);
  CHECK(refusal(f.db.cancel(99, "withdrawn", kClerk)).kind == Kind::not_found);
  CHECK(refusal(f.db.begin_personalization(99, serial(1), kClerk)).kind == Kind::not_found);
  CHECK(refusal(f.db.application_by_notice("123456789018")).kind == Kind::not_found);
  CHECK(refusal(f.db.card(serial(1))).kind == Kind::not_found);
  CHECK(refusal(f.db.finish_personalization(serial(1), "20240401", kClerk)).kind ==
        Kind::not_found);
  CHECK(refusal(f.db.hand_over(serial(1), "123456789018", kLicence, kClerk)).kind ==
        Kind::not_found);
  CHECK(refusal(f.db.suspend(serial(1), "stolen", kClerk)).kind == Kind::not_found);
  CHECK(refusal(f.db.record_password_reset(serial(1), kPassport, kClerk)).kind == Kind::not_found);
  CHECK(must(f.db.cards_of(resident(1))).empty());
  CHECK(dump(f.path) == before);
}

TEST_CASE("records: a serial already recorded is refused", "[records]") {
  Fixture f;
  const Application a = f.registered(resident(1));
  must(f.db.begin_personalization(a.id, serial(1), kClerk));
  must(f.db.spoil(serial(1), "torn", kClerk));
  f.active(resident(2), serial(2));
  const Application b = f.registered(resident(3));
  const auto before = dump(f.path);
  for (int n : {1, 2}) {
    const RecordsError e = refusal(f.db.begin_personalization(b.id, serial(n), kClerk));
    CHECK(e.kind == Kind::duplicate_serial);
    CHECK_THAT(e.message, Catch::Contains(serial(n)));
  }
  // Even for the application that spoiled it.
  CHECK(refusal(f.db.begin_personalization(a.id, serial(1), kClerk)).kind ==
        Kind::duplicate_serial);
  CHECK(dump(f.path) == before);
}

// ------------------------------------------------------------ transactions

TEST_CASE("records: a failed operation leaves the database unchanged", "[records]") {
  Fixture f;
  f.active(resident(1), serial(1));
  const Application a = f.registered(resident(2));
  must(f.db.begin_personalization(a.id, serial(2), kClerk));
  f.active(resident(3), serial(3), "20100101");
  f.active(resident(4), serial(4), "20100101");
  const auto before = dump(f.path);

  // Refusals of the rules.
  CHECK(refusal(f.db.intake(request(resident(1)), kClerk)).kind == Kind::card_exists);
  CHECK(refusal(f.db.intake(request(resident(2)), kClerk)).kind == Kind::duplicate_application);
  CHECK(refusal(f.db.register_application(a.id, kClerk)).kind == Kind::wrong_state);
  CHECK(refusal(f.db.activate(serial(2), kClerk)).kind == Kind::wrong_state);
  CHECK(refusal(f.db.begin_personalization(a.id, serial(1), kClerk)).kind ==
        Kind::duplicate_serial);
  CHECK(dump(f.path) == before);

  // A failure of storage half-way: every statement before it is undone. An
  // injected trigger makes the event, the last write of an operation, fail.
  {
    auto raw = sqlite::Database::open(f.path, sqlite::OpenMode::existing);
    REQUIRE(raw.ok());
    REQUIRE(raw->exec("CREATE TRIGGER injected BEFORE INSERT ON events "
                      "WHEN NEW.action IN ('finish_personalization', 'expire') "
                      "AND NEW.card_serial <> 'CAFE000000000003' "
                      "BEGIN SELECT RAISE(ABORT, 'injected failure'); END")
                .ok());
  }
  const auto armed = dump(f.path);
  const RecordsError e = refusal(f.db.finish_personalization(serial(2), "20240401", kClerk));
  CHECK(e.kind == Kind::storage);
  CHECK_THAT(e.message, Catch::Contains("injected failure"));
  // The sweep expires card 3, then fails on card 4: card 3 stays active too.
  CHECK(refusal(f.db.expire_due("20240401", kClerk)).kind == Kind::storage);
  CHECK(dump(f.path) == armed);
  CHECK(must(f.db.card(serial(2))).state == CardState::personalizing);
  CHECK(must(f.db.card(serial(3))).state == CardState::active);
}

TEST_CASE("records: the audit trail says who, when and where", "[records]") {
  Fixture f;
  const Application a = must(f.db.intake(request(resident(1)), kClerk)).application;
  f.clock.set(utc(2024, 4, 2, 3, 4, 5));
  must(f.db.register_application(a.id, kSupervisor));
  f.clock.set(utc(2024, 4, 3));
  must(f.db.begin_personalization(a.id, serial(1), Actor{"batch", "reader-7"}));

  const auto all = must(f.db.events());
  REQUIRE(all.size() == 3);
  CHECK(all[0].sequence < all[1].sequence);
  CHECK(all[1].sequence < all[2].sequence);

  CHECK(all[0].action == "intake");
  CHECK(all[0].at == "2024-04-01T00:30:00Z");
  CHECK(all[0].operator_id == "op-0001");
  CHECK(all[0].terminal_id == "counter-1");
  CHECK(all[0].application_id == a.id);
  CHECK(all[0].card_serial == std::nullopt);
  const json intake = json::parse(all[0].detail);
  CHECK(intake["application"] == json{{"from", nullptr}, {"to", "received"}});
  CHECK(intake["identity"] == json{{"document", "passport"}, {"number", "TK1234567"}});
  CHECK(intake["latest_card"].is_null());
  CHECK(intake["kind"] == "new");
  CHECK(intake["face"] == "B");
  CHECK(intake["braille"] == true);
  CHECK(intake["same_day"] == false);

  CHECK(all[1].action == "register");
  CHECK(all[1].at == "2024-04-02T03:04:05Z");
  CHECK(all[1].operator_id == "op-0002");
  CHECK(all[1].terminal_id == "counter-2");
  CHECK(json::parse(all[1].detail)["notice_number"] == *must(f.db.application(a.id)).notice_number);

  CHECK(all[2].action == "begin_personalization");
  CHECK(all[2].at == "2024-04-03T00:00:00Z");
  CHECK(all[2].operator_id == "batch");
  CHECK(all[2].terminal_id == "reader-7");
  CHECK(all[2].card_serial == serial(1));

  // Paging.
  const auto page = must(f.db.events(all[0].sequence, 1));
  REQUIRE(page.size() == 1);
  CHECK(page[0].sequence == all[1].sequence);
  CHECK(must(f.db.events(all[2].sequence)).empty());
  CHECK(must(f.db.events_of_card(serial(1))).size() == 1);
  CHECK(must(f.db.events_of_application(a.id)).size() == 3);

  // Reading tells applications apart by state.
  must(f.db.intake(request(resident(2)), kClerk));
  const auto received = must(f.db.applications(ApplicationState::received));
  REQUIRE(received.size() == 1);
  CHECK(received[0].person.resident_code == resident(2));
  CHECK(must(f.db.applications()).size() == 2);
}

TEST_CASE("records: the audit trail refuses UPDATE and DELETE", "[records]") {
  Fixture f;
  f.active(resident(1), serial(1));
  const auto before = dump(f.path);
  auto raw = sqlite::Database::open(f.path, sqlite::OpenMode::existing);
  REQUIRE(raw.ok());
  for (const char* sql : {"UPDATE events SET operator_id = 'someone else'",
                          "UPDATE events SET detail = '{}' WHERE seq = 1",
                          "DELETE FROM events WHERE seq = 1", "DELETE FROM events"}) {
    INFO(sql);
    auto r = raw->exec(sql);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == SQLITE_CONSTRAINT_TRIGGER);
    CHECK_THAT(r.error().message, Catch::Contains("append-only"));
  }
  CHECK(dump(f.path) == before);
}

// ------------------------------------------------------------ the file

TEST_CASE("records: a file of another kind or version is refused", "[records]") {
  test::TempDir dir;
  const TestClock clock;
  const std::string path = dir.file("records.db");
  must(Records::create(path, kMunicipality, clock.fn()));
  CHECK(must(Records::open(path, clock.fn())).municipality() == kMunicipality);

  const RecordsError again = refusal(Records::create(path, kMunicipality, clock.fn()));
  CHECK(again.kind == Kind::schema);
  // Nor does it touch another database's journal mode.
  const std::string rollback = dir.file("rollback.db");
  {
    auto raw = sqlite::Database::open(rollback, sqlite::OpenMode::create);
    REQUIRE(raw.ok());
    REQUIRE(raw->exec("CREATE TABLE t (x)").ok());
  }
  CHECK(refusal(Records::create(rollback, kMunicipality, clock.fn())).kind == Kind::schema);
  {
    auto raw = sqlite::Database::open(rollback, sqlite::OpenMode::existing);
    REQUIRE(raw.ok());
    auto mode = raw->prepare("PRAGMA journal_mode");
    REQUIRE(mode.ok());
    REQUIRE(*mode->step());
    CHECK(mode->text(0) == "delete");
  }

  auto set_version = [&](int v) {
    auto raw = sqlite::Database::open(path, sqlite::OpenMode::existing);
    REQUIRE(raw.ok());
    REQUIRE(raw->exec("PRAGMA user_version = " + std::to_string(v)).ok());
  };
  set_version(Records::kSchemaVersion + 1);
  const RecordsError newer = refusal(Records::open(path, clock.fn()));
  CHECK(newer.kind == Kind::schema);
  CHECK_THAT(newer.message,
             Catch::Contains("version " + std::to_string(Records::kSchemaVersion + 1)));
  set_version(0);
  CHECK(refusal(Records::open(path, clock.fn())).kind == Kind::schema);
  set_version(Records::kSchemaVersion);
  must(Records::open(path, clock.fn()));

  // Another SQLite database, even with the same user_version.
  const std::string other = dir.file("other.db");
  {
    auto raw = sqlite::Database::open(other, sqlite::OpenMode::create);
    REQUIRE(raw.ok());
    REQUIRE(raw->exec("CREATE TABLE t (x); PRAGMA user_version = 1").ok());
  }
  const RecordsError foreign = refusal(Records::open(other, clock.fn()));
  CHECK(foreign.kind == Kind::schema);
  CHECK_THAT(foreign.message, Catch::Contains("not a records database"));

  // Not SQLite at all.
  const std::string text = dir.file("notes.txt");
  {
    std::FILE* fp = std::fopen(text.c_str(), "w");
    REQUIRE(fp != nullptr);
    std::fputs("this is not a database, it is a note to self about the counter's opening hours\n",
               fp);
    std::fclose(fp);
  }
  CHECK(refusal(Records::open(text, clock.fn())).kind == Kind::schema);
  CHECK(refusal(Records::create(text, kMunicipality, clock.fn())).kind == Kind::schema);

  CHECK(refusal(Records::open(dir.file("missing.db"), clock.fn())).kind == Kind::storage);
}

TEST_CASE("records: two connections interleave writes without losing any", "[records]") {
  test::TempDir dir;
  const TestClock clock;
  const std::string path = dir.file("records.db");
  must(Records::create(path, kMunicipality, clock.fn()));

  // Catch's assertions are not thread-safe: the threads count, the test checks.
  constexpr int kEach = 50;
  std::atomic<int> failures{0};
  std::vector<std::string> first_failure(2);
  auto worker = [&](int w) {
    auto db = Records::open(path, clock.fn());
    if (!db) {
      ++failures;
      first_failure[w] = db.error().message;
      return;
    }
    const Actor actor{"op-" + std::to_string(w), "reader-" + std::to_string(w)};
    for (int i = 0; i < kEach; ++i) {
      auto in = db->intake(request(resident(1000 * (w + 1) + i)), actor);
      auto reg = in ? db->register_application(in->application.id, actor)
                    : Result<Application, RecordsError>(unexpected(in.error()));
      if (!reg) {
        ++failures;
        if (first_failure[w].empty()) first_failure[w] = reg.error().message;
      }
    }
  };
  std::thread a(worker, 0);
  std::thread b(worker, 1);
  a.join();
  b.join();
  INFO(first_failure[0] << " / " << first_failure[1]);
  REQUIRE(failures == 0);

  Records db = must(Records::open(path, clock.fn()));
  CHECK(must(db.applications(ApplicationState::registered)).size() == 2 * kEach);
  const auto events = must(db.events(0, 10 * kEach));
  REQUIRE(events.size() == 4 * kEach);
  for (std::size_t i = 0; i < events.size(); ++i) CHECK(events[i].sequence == std::int64_t(i + 1));
  int by_first = 0;
  for (const Event& e : events) by_first += e.operator_id == "op-0";
  CHECK(by_first == 2 * kEach);
}

TEST_CASE("records: the schema itself refuses what the rules refuse", "[records]") {
  Fixture f;
  const Card c = f.active(resident(1), serial(1));
  const Application open = f.registered(resident(2));
  const auto before = dump(f.path);
  auto raw = sqlite::Database::open(f.path, sqlite::OpenMode::existing);
  REQUIRE(raw.ok());
  REQUIRE(raw->exec("PRAGMA foreign_keys = ON").ok());

  auto pragma = [&](const std::string& sql) {
    auto st = raw->prepare(sql);
    REQUIRE(st.ok());
    REQUIRE(*st->step());
    return st->text(0);
  };
  CHECK(pragma("PRAGMA journal_mode") == "wal");
  CHECK(pragma("PRAGMA application_id") == std::to_string(0x4A554B49));
  CHECK(pragma("PRAGMA user_version") == std::to_string(Records::kSchemaVersion));
  CHECK(pragma("SELECT municipality FROM meta") == kMunicipality);

  const std::string application =
      "INSERT INTO applications (resident_code, name, name_kana, birth_date, sex, address, kind, "
      "face, braille, same_day, state, notice_number, reason, received_at, updated_at) VALUES ";
  const std::string ok_row = "'" + resident(2) +
                             "', 'n', 'ナ', '19800401', 1, 'a', 'new', 'A', 0, 0, 'received', "
                             "NULL, NULL, 't', 't'";
  const std::string id = std::to_string(open.id);
  const std::string app1 = std::to_string(c.application_id);
  const struct {
    std::string sql;
    int code;
  } refused[] = {
      // One open application per person.
      {application + "(" + ok_row + ")", SQLITE_CONSTRAINT_UNIQUE},
      {application + "('" + resident(3) +
           "', 'n', 'ナ', '19800401', 1, 'a', 'new', 'A', 0, 1, 'registered', '123456789018', "
           "NULL, 't', 't')",
       SQLITE_CONSTRAINT_CHECK},  // same-day with a notice number
      {application + "('" + resident(3) +
           "', 'n', 'ナ', '19800401', 1, 'a', 'new', 'A', 0, 0, 'registered', NULL, NULL, 't', "
           "'t')",
       SQLITE_CONSTRAINT_CHECK},  // registered without one
      {application + "('" + resident(3) +
           "', 'n', 'ナ', '19800401', 3, 'a', 'new', 'A', 0, 0, 'received', NULL, NULL, 't', 't')",
       SQLITE_CONSTRAINT_CHECK},  // sex 3
      {"UPDATE applications SET state = 'rejected' WHERE id = " + id,
       SQLITE_CONSTRAINT_CHECK},  // without a reason
      {"UPDATE applications SET state = 'pending' WHERE id = " + id, SQLITE_CONSTRAINT_CHECK},
      // A second card of an application that is not spoiled.
      {"INSERT INTO cards (serial, application_id, state, created_at, updated_at) VALUES "
       "('CAFE0000000000AA', " +
           app1 + ", 'personalizing', 't', 't')",
       SQLITE_CONSTRAINT_UNIQUE},
      {"INSERT INTO cards (serial, application_id, state, created_at, updated_at) VALUES "
       "('cafe0000000000aa', " +
           id + ", 'personalizing', 't', 't')",
       SQLITE_CONSTRAINT_CHECK},  // a lower-case serial
      {"INSERT INTO cards (serial, application_id, state, created_at, updated_at) VALUES "
       "('CAFE0000000000AA', 999, 'personalizing', 't', 't')",
       SQLITE_CONSTRAINT_FOREIGNKEY},
      {"UPDATE cards SET state = 'suspended'", SQLITE_CONSTRAINT_CHECK},  // without a reason
      {"UPDATE cards SET issue_date = NULL", SQLITE_CONSTRAINT_CHECK},
      {"UPDATE cards SET expiry_date = issue_date", SQLITE_CONSTRAINT_CHECK},
      {"INSERT INTO events (at, operator_id, terminal_id, action, application_id, detail) "
       "VALUES ('t', 'o', 't', 'intake', " +
           id + ", 'not json')",
       SQLITE_CONSTRAINT_CHECK},
      {"INSERT INTO events (at, operator_id, terminal_id, action, application_id, detail) "
       "VALUES ('t', 'o', 't', 'anything', " +
           id + ", '{}')",
       SQLITE_CONSTRAINT_CHECK},
      {"INSERT INTO events (at, operator_id, terminal_id, action, application_id, detail) "
       "VALUES ('t', '', 't', 'intake', " +
           id + ", '{}')",
       SQLITE_CONSTRAINT_CHECK},
      {"INSERT INTO events (at, operator_id, terminal_id, action, application_id, detail) "
       "VALUES ('t', 'o', 't', 'intake', 999, '{}')",
       SQLITE_CONSTRAINT_FOREIGNKEY},
      {"INSERT INTO meta (id, municipality, created_at) VALUES (2, '131016', 't')",
       SQLITE_CONSTRAINT_CHECK},
  };
  for (const auto& r : refused) {
    INFO(r.sql);
    auto e = raw->exec(r.sql);
    REQUIRE_FALSE(e.ok());
    CHECK(e.error().code == r.code);
  }
  CHECK(dump(f.path) == before);
}

TEST_CASE(
    "records: a schema 1 file opens as schema 2 with every row and event kept, still "
    "append-only, and then takes municipal application events",
    "[records][schema]") {
  test::TempDir dir;
  const std::string path = dir.file("v1.db");
  std::filesystem::copy_file(JUKI_RECORDS_V1, path);
  auto pragma = [&](const std::string& sql) {
    auto raw = sqlite::Database::open(path, sqlite::OpenMode::existing);
    REQUIRE(raw.ok());
    auto st = raw->prepare(sql);
    REQUIRE(st.ok());
    REQUIRE(*st->step());
    return st->text(0);
  };
  REQUIRE(pragma("PRAGMA user_version") == "1");
  const auto before = dump(path);
  REQUIRE(before.at("events").size() == 7);

  TestClock clock;
  Records db = must(Records::open(path, clock.fn()));
  CHECK(pragma("PRAGMA user_version") == "2");
  CHECK(dump(path) == before);  // the same tables, the same rows: no events_v1 left
  CHECK(pragma("SELECT count(*) FROM sqlite_schema WHERE type = 'trigger'") == "2");
  CHECK(pragma("SELECT group_concat(name) FROM (SELECT name FROM sqlite_schema WHERE type = "
               "'index' AND tbl_name = 'events' ORDER BY name)") ==
        "events_application,events_card");
  {
    auto raw = sqlite::Database::open(path, sqlite::OpenMode::existing);
    REQUIRE(raw.ok());
    CHECK_FALSE(raw->exec("UPDATE events SET detail = '{}' WHERE seq = 1").ok());
    CHECK_FALSE(raw->exec("DELETE FROM events WHERE seq = 7").ok());
    CHECK_FALSE(raw->exec("INSERT INTO events (at, operator_id, terminal_id, action, "
                          "application_id, detail) VALUES ('x', 'o', 't', 'nonsense', 1, '{}')")
                    .ok());
  }

  // The file's one card is active: a municipal application installed on it.
  const std::string card = "215211068A9056B2";
  REQUIRE(must(db.card(card)).state == CardState::active);
  must(db.record_application_change(card, "install", "seal", "f04a554b495345414c", kClerk));
  const auto events = must(db.events_of_card(card));
  REQUIRE(events.size() == 6);
  CHECK(events.back().action == "municipal_application");
  const auto detail = nlohmann::json::parse(events.back().detail);
  CHECK(detail ==
        nlohmann::json{{"operation", "install"}, {"app", "seal"}, {"aid", "F04A554B495345414C"}});
  CHECK(events.back().operator_id == kClerk.operator_id);

  // Opened again: version 2 as it is.
  must(Records::open(path, clock.fn()));
  CHECK(pragma("SELECT count(*) FROM events") == "8");
}

TEST_CASE("records: a municipal application change is recorded for an active card only",
          "[records]") {
  Fixture f;
  const auto app = f.registered(resident(71));
  must(f.db.begin_personalization(app.id, serial(71), kClerk));
  must(f.db.finish_personalization(serial(71), "20240401", kClerk));
  const auto before = dump(f.path);
  CHECK(refusal(f.db.record_application_change(serial(71), "install", "seal", "F04A554B495345414C",
                                               kClerk))
            .kind == Kind::wrong_state);
  CHECK(refusal(f.db.record_application_change(serial(71), "format", "seal", "F04A554B495345414C",
                                               kClerk))
            .kind == Kind::invalid_input);
  CHECK(
      refusal(f.db.record_application_change(serial(71), "lock", "", "F04A554B495345414C", kClerk))
          .kind == Kind::invalid_input);
  CHECK(refusal(f.db.record_application_change(serial(71), "lock", "seal", "F04A", kClerk)).kind ==
        Kind::invalid_input);
  CHECK(refusal(f.db.record_application_change(serial(72), "lock", "seal", "F04A554B495345414C",
                                               kClerk))
            .kind == Kind::not_found);
  CHECK(dump(f.path) == before);
}
