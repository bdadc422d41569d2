// What every records operation shares (records_internal.hpp): errors, value
// checks, rows, state checks; and check_request and japan_date.
#include "records/records.hpp"

#include <sqlite3.h>

#include <ctime>

#include "common/card_information.hpp"
#include "common/check_digits.hpp"
#include "records/records_internal.hpp"

namespace juki::records {

namespace {

// The counter's calendar, for intake's "is the card still valid today":
// Japan Standard Time, UTC+9, no daylight saving.
constexpr std::chrono::hours kJapanOffset{9};

}  // namespace

// ------------------------------------------------------------ errors

RecordsError failure(Kind kind, std::string message) {
  return {kind, std::move(message)};
}

RecordsError storage(const sqlite::Error& e) {
  // A file that is not SQLite at all is the same refusal as another database.
  if (e.code == SQLITE_NOTADB) return failure(Kind::schema, "not a records database: " + e.message);
  return failure(Kind::storage, "SQLite: " + e.message);
}

std::string str(std::string_view s) {
  return std::string(s);
}

// ------------------------------------------------------------ time

std::string timestamp(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char out[sizeof "2000-01-01T00:00:00Z"];
  std::strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return out;
}

// ------------------------------------------------------------ validation

std::optional<std::string> problem_of(const Actor& a) {
  if (a.operator_id.empty()) return "no operator";
  if (a.terminal_id.empty()) return "no terminal";
  return std::nullopt;
}

std::optional<std::string> problem_of(const IdentityCheck& c) {
  if (c.document.empty()) return "identity check: no document";
  if (c.number && c.number->empty()) return "identity check: an empty document number";
  return std::nullopt;
}

std::optional<std::string> problem_of_resident_code(std::string_view code) {
  if (check_digits::resident_code_valid(code)) return std::nullopt;
  return "resident code '" + str(code) + "' is not 11 digits with its check digit";
}

std::optional<std::string> problem_of(const ApplicationRequest& r) {
  const Person& p = r.person;
  if (auto problem = problem_of_resident_code(p.resident_code)) return problem;
  if (p.name.empty()) return "no name";
  if (!katakana_valid(p.name_kana)) return "the name in katakana is not katakana";
  if (!card_information::parse_date(p.birth_date))
    return "birth date '" + p.birth_date + "' is not a date YYYYMMDD";
  if (!in(p.sex, {Sex::not_known, Sex::male, Sex::female, Sex::not_applicable}))
    return "sex is not an ISO/IEC 5218 code (0, 1, 2, 9)";
  if (p.address.empty()) return "no address";
  if (!in(r.kind, {ApplicationKind::new_card, ApplicationKind::reissue}))
    return "the kind is neither new nor reissue";
  if (r.face != 'A' && r.face != 'B') return "face version is not A or B";
  return problem_of(r.identity);
}

std::optional<std::string> problem_of_serial(std::string_view serial) {
  if (serial_valid(serial)) return std::nullopt;
  return "card serial '" + str(serial) + "' is not 16 uppercase hex digits";
}

std::optional<std::string> problem_of_date(std::string_view what, std::string_view date) {
  if (card_information::parse_date(date)) return std::nullopt;
  return str(what) + " '" + str(date) + "' is not a date YYYYMMDD";
}

std::optional<std::string> problem_of_reason(std::string_view reason) {
  if (!reason.empty()) return std::nullopt;
  return "no reason given";
}

Result<void, RecordsError> check(std::initializer_list<std::optional<std::string>> problems) {
  for (const auto& p : problems)
    if (p) return unexpected(failure(Kind::invalid_input, *p));
  return {};
}

json identity_json(const IdentityCheck& c) {
  return {{"document", c.document}, {"number", c.number ? json(*c.number) : json(nullptr)}};
}

json change(std::optional<std::string_view> from, std::string_view to) {
  return {{"from", from ? json(*from) : json(nullptr)}, {"to", to}};
}

// ------------------------------------------------------------ rows

std::optional<Application> read_application(const Statement& s) {
  const auto kind = application_kind_from(s.text(7));
  const auto state = application_state_from(s.text(11));
  const std::string face = s.text(8);
  if (!kind || !state || face.size() != 1) return std::nullopt;
  Application a;
  a.id = s.integer(0);
  a.person = {s.text(1), s.text(2), s.text(3), s.text(4), static_cast<Sex>(s.integer(5)),
              s.text(6)};
  a.kind = *kind;
  a.face = face[0];
  a.braille = s.integer(9) != 0;
  a.same_day = s.integer(10) != 0;
  a.state = *state;
  a.notice_number = s.optional_text(12);
  a.reason = s.optional_text(13);
  a.received_at = s.text(14);
  a.updated_at = s.text(15);
  return a;
}

std::optional<Card> read_card(const Statement& s) {
  const auto state = card_state_from(s.text(4));
  const std::string face = s.text(3);
  if (!state || face.size() != 1) return std::nullopt;
  return Card{s.text(0),          s.integer(1),       s.text(2),          face[0],   *state,
              s.optional_text(5), s.optional_text(6), s.optional_text(7), s.text(8), s.text(9)};
}

std::optional<Event> read_event(const Statement& s) {
  return Event{s.integer(0),          s.text(1),          s.text(2), s.text(3), s.text(4),
               s.optional_integer(5), s.optional_text(6), s.text(7)};
}

Result<std::optional<Application>, RecordsError> find_application(Database& db, std::int64_t id) {
  auto rows = select_rows(db, read_application, str(kApplicationSelect) + "WHERE id = ?1", id);
  if (!rows) return unexpected(rows.error());
  if (rows->empty()) return std::optional<Application>();
  return std::optional(std::move(rows->front()));
}

Result<Application, RecordsError> load_application(Database& db, std::int64_t id) {
  auto a = find_application(db, id);
  if (!a) return unexpected(a.error());
  if (!*a) return unexpected(failure(Kind::not_found, "no application " + std::to_string(id)));
  return std::move(**a);
}

Result<std::optional<Card>, RecordsError> find_card(Database& db, std::string_view serial) {
  auto rows = select_rows(db, read_card, str(kCardSelect) + "WHERE c.serial = ?1", serial);
  if (!rows) return unexpected(rows.error());
  if (rows->empty()) return std::optional<Card>();
  return std::optional(std::move(rows->front()));
}

Result<Card, RecordsError> load_card(Database& db, std::string_view serial) {
  auto c = find_card(db, serial);
  if (!c) return unexpected(c.error());
  if (!*c) return unexpected(failure(Kind::not_found, "no card " + str(serial)));
  return std::move(**c);
}

// ------------------------------------------------------------ operations

Result<void, RecordsError> expect_state(const Application& a, std::string_view operation,
                                        std::initializer_list<ApplicationState> allowed) {
  if (in(a.state, allowed)) return {};
  return unexpected(failure(Kind::wrong_state, "application " + std::to_string(a.id) + " is " +
                                                   str(to_string(a.state)) + "; " + str(operation) +
                                                   " needs " + one_of(allowed)));
}

Result<void, RecordsError> expect_state(const Card& c, std::string_view operation,
                                        std::initializer_list<CardState> allowed) {
  if (in(c.state, allowed)) return {};
  return unexpected(failure(Kind::wrong_state, "card " + c.serial + " is " +
                                                   str(to_string(c.state)) + "; " + str(operation) +
                                                   " needs " + one_of(allowed)));
}

Result<void, RecordsError> set_application_state(Operation& op, std::int64_t id,
                                                 ApplicationState to,
                                                 std::optional<std::string_view> reason) {
  return execute(op.db(),
                 "UPDATE applications SET state = ?2, reason = ?3, updated_at = ?4 WHERE id = ?1",
                 id, to_string(to), reason, op.now());
}

Result<void, RecordsError> none_personalizing(Database& db, std::int64_t application_id) {
  auto busy = select_rows(
      db, read_card, str(kCardSelect) + "WHERE c.application_id = ?1 AND c.state = 'personalizing'",
      application_id);
  if (!busy) return unexpected(busy.error());
  if (busy->empty()) return {};
  return unexpected(
      failure(Kind::wrong_state, "card " + busy->front().serial + " of application " +
                                     std::to_string(application_id) +
                                     " is being personalized: finish or spoil it first"));
}

Result<void, std::string> check_request(const ApplicationRequest& request) {
  if (auto p = problem_of(request)) return unexpected(std::move(*p));
  return {};
}

std::string japan_date(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t + kJapanOffset);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return card_information::format_date({tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday});
}

}  // namespace juki::records
