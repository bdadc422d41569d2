// Reading the records: applications, cards, the summary and the audit trail.
#include "records/records.hpp"
#include "records/records_internal.hpp"

namespace juki::records {

// ------------------------------------------------------------ reading

Result<Application, RecordsError> Records::application(std::int64_t id) {
  return load_application(db_, id);
}

Result<Application, RecordsError> Records::application_by_notice(std::string_view notice_number) {
  auto rows = select_rows(db_, read_application,
                          str(kApplicationSelect) + "WHERE notice_number = ?1", notice_number);
  if (!rows) return unexpected(rows.error());
  if (rows->empty())
    return unexpected(
        failure(Kind::not_found, "no application with notice number " + str(notice_number)));
  return std::move(rows->front());
}

Result<std::vector<Application>, RecordsError> Records::applications(
    std::optional<ApplicationState> state) {
  if (!state) return select_rows(db_, read_application, str(kApplicationSelect) + "ORDER BY id");
  return select_rows(db_, read_application,
                     str(kApplicationSelect) + "WHERE state = ?1 ORDER BY id", to_string(*state));
}

Result<std::optional<Received>, RecordsError> Records::latest_application(
    std::string_view resident_code) {
  if (auto r = check({problem_of_resident_code(resident_code)}); !r) return unexpected(r.error());
  auto rows =
      select_rows(db_, read_application,
                  str(kApplicationSelect) +
                      "WHERE id = (SELECT max(id) FROM applications WHERE resident_code = ?1)",
                  resident_code);
  if (!rows) return unexpected(rows.error());
  if (rows->empty()) return std::optional<Received>();
  // A second statement: the intake event is never updated (the audit trail
  // is append-only), so it is the application's whatever changed in between.
  auto st = prepared(db_,
                     "SELECT json_extract(detail, '$.identity.document'), "
                     "json_extract(detail, '$.identity.number') FROM events "
                     "WHERE application_id = ?1 AND action = 'intake'",
                     rows->front().id);
  if (!st) return unexpected(st.error());
  auto row = st->step();
  if (!row) return unexpected(storage(row.error()));
  if (!*row || st->is_null(0))
    return unexpected(failure(
        Kind::storage, "application " + std::to_string(rows->front().id) + " has no intake event"));
  return std::optional(Received{std::move(rows->front()), {st->text(0), st->optional_text(1)}});
}

Result<Card, RecordsError> Records::card(std::string_view serial) {
  return load_card(db_, serial);
}

Result<std::vector<Card>, RecordsError> Records::cards_of(std::string_view resident_code) {
  return select_rows(db_, read_card,
                     str(kCardSelect) + "WHERE a.resident_code = ?1 ORDER BY c.rowid",
                     resident_code);
}

Result<Summary, RecordsError> Records::summary() {
  // One statement: both counts come from the same snapshot.
  auto st = prepared(db_,
                     "SELECT 'application', state, count(*) FROM applications GROUP BY state "
                     "UNION ALL SELECT 'card', state, count(*) FROM cards GROUP BY state");
  if (!st) return unexpected(st.error());
  Summary s;
  for (ApplicationState a : kApplicationStates) s.applications[a] = 0;
  for (CardState c : kCardStates) s.cards[c] = 0;
  for (;;) {
    auto row = st->step();
    if (!row) return unexpected(storage(row.error()));
    if (!*row) return s;
    const std::string table = st->text(0);
    const std::string state = st->text(1);
    const auto application = application_state_from(state);
    const auto card = card_state_from(state);
    if (table == "application" && application)
      s.applications[*application] = st->integer(2);
    else if (table == "card" && card)
      s.cards[*card] = st->integer(2);
    else
      return unexpected(failure(Kind::storage, "a " + table + " in an unknown state " + state));
  }
}

// ------------------------------------------------------------ the audit trail

Result<std::vector<Event>, RecordsError> Records::events_of_application(std::int64_t id) {
  return select_rows(db_, read_event, str(kEventSelect) + "WHERE application_id = ?1 ORDER BY seq",
                     id);
}

Result<std::vector<Event>, RecordsError> Records::events_of_card(std::string_view serial) {
  return select_rows(db_, read_event, str(kEventSelect) + "WHERE card_serial = ?1 ORDER BY seq",
                     serial);
}

Result<std::vector<Event>, RecordsError> Records::events(std::int64_t after, std::size_t limit) {
  return select_rows(db_, read_event, str(kEventSelect) + "WHERE seq > ?1 ORDER BY seq LIMIT ?2",
                     after, static_cast<std::int64_t>(limit));
}

}  // namespace juki::records
