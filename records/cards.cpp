// A card's life: personalization, hand-over, activation, suspension, loss,
// return and expiry, the changes recorded on an active card, and the
// window's check of a card.
#include "common/bytes.hpp"
#include "common/card_information.hpp"
#include "records/records.hpp"
#include "records/records_internal.hpp"

namespace juki::records {

namespace {

// Set once, with the move to issued (the schema checks they come together).
struct IssueDates {
  std::string issue_date;
  std::string expiry_date;
};

Result<void, RecordsError> set_card_state(Operation& op, std::string_view serial, CardState to,
                                          std::optional<std::string_view> reason,
                                          const std::optional<IssueDates>& dates) {
  return execute(op.db(),
                 "UPDATE cards SET state = ?2, reason = ?3, updated_at = ?4, "
                 "issue_date = coalesce(?5, issue_date), expiry_date = coalesce(?6, expiry_date) "
                 "WHERE serial = ?1",
                 serial, to_string(to), reason, op.now(),
                 dates ? std::optional(dates->issue_date) : std::nullopt,
                 dates ? std::optional(dates->expiry_date) : std::nullopt);
}

// Moves `card` to `to` and records `action`. A card that leaves issued for
// lost, returned or expired never reached its holder: its application, still
// personalized, is cancelled with it so that the person may apply again.
Result<void, RecordsError> move_card(Operation& op, const Card& card, CardState to,
                                     std::optional<std::string_view> reason,
                                     std::string_view action, json detail,
                                     const std::optional<IssueDates>& dates = std::nullopt) {
  if (auto r = set_card_state(op, card.serial, to, reason, dates); !r) return r;
  detail["card"] = change(to_string(card.state), to_string(to));
  if (reason) detail["reason"] = *reason;
  if (card.state == CardState::issued && to != CardState::handed_over) {
    const std::string why = "card " + card.serial + " " + str(to_string(to)) + " before hand-over";
    if (auto r = set_application_state(op, card.application_id, ApplicationState::cancelled, why);
        !r)
      return r;
    detail["application"] =
        change(to_string(ApplicationState::personalized), to_string(ApplicationState::cancelled));
  }
  return op.record(action, card.application_id, card.serial, detail);
}

// The common shape of a card operation: the card in one of `allowed`, moved
// to `to` in one transaction.
struct CardMove {
  std::string_view action;
  std::initializer_list<CardState> allowed;
  CardState to;
  std::optional<std::string_view> reason;
  json detail = json::object();
};

Result<Card, RecordsError> run_card_move(Database& db, const Clock& clock, const Actor& actor,
                                         std::string_view serial, const CardMove& m) {
  auto op = Operation::begin(db, clock, actor);
  if (!op) return unexpected(op.error());
  auto card = load_card(db, serial);
  if (!card) return unexpected(card.error());
  if (auto r = expect_state(*card, m.action, m.allowed); !r) return unexpected(r.error());
  if (auto r = move_card(*op, *card, m.to, m.reason, m.action, m.detail); !r)
    return unexpected(r.error());
  if (auto r = op->commit(); !r) return unexpected(r.error());
  return load_card(db, serial);
}

// finish_personalization, hand_over and activate: a card move that also
// moves the application from `app_from` to `app_to`.
Result<void, RecordsError> move_both(Operation& op, const Card& card, CardState to,
                                     ApplicationState app_from, ApplicationState app_to,
                                     std::string_view action, json detail,
                                     const std::optional<IssueDates>& dates = std::nullopt) {
  if (auto r = set_application_state(op, card.application_id, app_to, std::nullopt); !r) return r;
  detail["application"] = change(to_string(app_from), to_string(app_to));
  return move_card(op, card, to, std::nullopt, action, std::move(detail), dates);
}

}  // namespace

// ------------------------------------------------------------ personalization

Result<Card, RecordsError> Records::begin_personalization(std::int64_t application_id,
                                                          std::string_view serial,
                                                          const Actor& actor) {
  if (auto r = check({problem_of_serial(serial)}); !r) return unexpected(r.error());
  auto op = Operation::begin(db_, clock_, actor);
  if (!op) return unexpected(op.error());
  auto a = load_application(db_, application_id);
  if (!a) return unexpected(a.error());
  if (auto r = expect_state(*a, "personalization", {ApplicationState::registered}); !r)
    return unexpected(r.error());
  auto known = find_card(db_, serial);
  if (!known) return unexpected(known.error());
  if (*known)
    return unexpected(
        failure(Kind::duplicate_serial, "card " + str(serial) + " is already recorded (" +
                                            str(to_string((*known)->state)) + ", application " +
                                            std::to_string((*known)->application_id) + ")"));
  if (auto r = none_personalizing(db_, application_id); !r) return unexpected(r.error());
  if (auto r = execute(db_,
                       "INSERT INTO cards (serial, application_id, state, created_at, updated_at) "
                       "VALUES (?1, ?2, 'personalizing', ?3, ?3)",
                       serial, application_id, op->now());
      !r)
    return unexpected(r.error());
  const json detail = {{"card", change(std::nullopt, to_string(CardState::personalizing))}};
  if (auto r = op->record("begin_personalization", application_id, serial, detail); !r)
    return unexpected(r.error());
  if (auto r = op->commit(); !r) return unexpected(r.error());
  return load_card(db_, serial);
}

Result<Card, RecordsError> Records::finish_personalization(std::string_view serial,
                                                           std::string_view issue_date,
                                                           const Actor& actor) {
  if (auto r = check({problem_of_serial(serial), problem_of_date("issue date", issue_date)}); !r)
    return unexpected(r.error());
  auto op = Operation::begin(db_, clock_, actor);
  if (!op) return unexpected(op.error());
  auto card = load_card(db_, serial);
  if (!card) return unexpected(card.error());
  if (auto r = expect_state(*card, "finish_personalization", {CardState::personalizing}); !r)
    return unexpected(r.error());
  // The card information the card holds (common/card_information): the same
  // checks and the same expiry rule as on the card.
  auto info =
      card_information::encode({municipality_, str(issue_date), card->face, *from_hex(serial)});
  if (!info)
    return unexpected(failure(
        Kind::invalid_input, "card information: " + str(card_information::describe(info.error()))));
  const std::string expiry(info->begin() + card_information::kExpiryAt,
                           info->begin() + card_information::kExpiryAt + 8);
  const json detail = {{"issue_date", issue_date}, {"expiry_date", expiry}};
  if (auto r = move_both(*op, *card, CardState::issued, ApplicationState::registered,
                         ApplicationState::personalized, "finish_personalization", detail,
                         IssueDates{str(issue_date), expiry});
      !r)
    return unexpected(r.error());
  if (auto r = op->commit(); !r) return unexpected(r.error());
  return load_card(db_, serial);
}

Result<Card, RecordsError> Records::spoil(std::string_view serial, std::string_view reason,
                                          const Actor& actor) {
  if (auto r = check({problem_of_serial(serial), problem_of_reason(reason)}); !r)
    return unexpected(r.error());
  return run_card_move(db_, clock_, actor, serial,
                       {"spoil", {CardState::personalizing}, CardState::spoiled, reason});
}

Result<std::vector<Card>, RecordsError> Records::cards_personalizing() {
  return select_rows(db_, read_card,
                     str(kCardSelect) + "WHERE c.state = 'personalizing' ORDER BY c.rowid");
}

// ------------------------------------------------------------ hand-over and use

Result<Card, RecordsError> Records::hand_over(std::string_view serial,
                                              std::optional<std::string_view> notice_number,
                                              const IdentityCheck& identity, const Actor& actor) {
  std::optional<std::string> bad_notice;
  if (notice_number && !notice_number_valid(*notice_number))
    bad_notice =
        "notice number '" + str(*notice_number) + "' is not 12 digits with its check digit";
  if (auto r = check({problem_of_serial(serial), problem_of(identity), bad_notice}); !r)
    return unexpected(r.error());
  auto op = Operation::begin(db_, clock_, actor);
  if (!op) return unexpected(op.error());
  auto card = load_card(db_, serial);
  if (!card) return unexpected(card.error());
  if (auto r = expect_state(*card, "hand_over", {CardState::issued}); !r)
    return unexpected(r.error());
  auto a = load_application(db_, card->application_id);
  if (!a) return unexpected(a.error());
  if (a->same_day && notice_number)
    return unexpected(
        failure(Kind::invalid_input, "application " + std::to_string(a->id) +
                                         " is a same-day issuance: it has no notice number"));
  if (!a->same_day && (!notice_number || *notice_number != *a->notice_number)) {
    // A refused hand-over is itself part of the audit trail: commit the record of it.
    const json detail = {{"given", notice_number ? json(*notice_number) : json(nullptr)},
                         {"identity", identity_json(identity)}};
    if (auto r = op->record("hand_over_refused", a->id, serial, detail); !r)
      return unexpected(r.error());
    if (auto r = op->commit(); !r) return unexpected(r.error());
    return unexpected(failure(Kind::wrong_notice_number,
                              notice_number
                                  ? "notice number " + str(*notice_number) +
                                        " is not the one of application " + std::to_string(a->id)
                                  : "application " + std::to_string(a->id) +
                                        " is handed over against its notice number only"));
  }
  const json detail = {
      {"identity", identity_json(identity)},
      {"notice_number", a->notice_number ? json(*a->notice_number) : json(nullptr)}};
  if (auto r = move_both(*op, *card, CardState::handed_over, ApplicationState::personalized,
                         ApplicationState::handed_over, "hand_over", detail);
      !r)
    return unexpected(r.error());
  if (auto r = op->commit(); !r) return unexpected(r.error());
  return load_card(db_, serial);
}

Result<Card, RecordsError> Records::activate(std::string_view serial, const Actor& actor) {
  if (auto r = check({problem_of_serial(serial)}); !r) return unexpected(r.error());
  auto op = Operation::begin(db_, clock_, actor);
  if (!op) return unexpected(op.error());
  auto card = load_card(db_, serial);
  if (!card) return unexpected(card.error());
  if (auto r = expect_state(*card, "activate", {CardState::handed_over}); !r)
    return unexpected(r.error());
  if (auto r = move_both(*op, *card, CardState::active, ApplicationState::handed_over,
                         ApplicationState::completed, "activate", json::object());
      !r)
    return unexpected(r.error());
  if (auto r = op->commit(); !r) return unexpected(r.error());
  return load_card(db_, serial);
}

Result<Card, RecordsError> Records::suspend(std::string_view serial, std::string_view reason,
                                            const Actor& actor) {
  if (auto r = check({problem_of_serial(serial), problem_of_reason(reason)}); !r)
    return unexpected(r.error());
  return run_card_move(db_, clock_, actor, serial,
                       {"suspend", {CardState::active}, CardState::suspended, reason});
}

Result<Card, RecordsError> Records::lift_suspension(std::string_view serial,
                                                    const IdentityCheck& identity,
                                                    const Actor& actor) {
  if (auto r = check({problem_of_serial(serial), problem_of(identity)}); !r)
    return unexpected(r.error());
  return run_card_move(db_, clock_, actor, serial,
                       {"lift_suspension",
                        {CardState::suspended},
                        CardState::active,
                        std::nullopt,
                        {{"identity", identity_json(identity)}}});
}

Result<Card, RecordsError> Records::report_lost(std::string_view serial, std::string_view reason,
                                                const Actor& actor) {
  if (auto r = check({problem_of_serial(serial), problem_of_reason(reason)}); !r)
    return unexpected(r.error());
  return run_card_move(
      db_, clock_, actor, serial,
      {"report_lost",
       {CardState::issued, CardState::handed_over, CardState::active, CardState::suspended},
       CardState::lost,
       reason});
}

Result<Card, RecordsError> Records::return_card(std::string_view serial, std::string_view reason,
                                                const Actor& actor) {
  if (auto r = check({problem_of_serial(serial), problem_of_reason(reason)}); !r)
    return unexpected(r.error());
  return run_card_move(db_, clock_, actor, serial,
                       {"return",
                        {CardState::issued, CardState::handed_over, CardState::active,
                         CardState::suspended, CardState::lost},
                        CardState::returned,
                        reason});
}

Result<std::vector<Card>, RecordsError> Records::expire_due(std::string_view today,
                                                            const Actor& actor) {
  if (auto r = check({problem_of_date("today", today)}); !r) return unexpected(r.error());
  auto op = Operation::begin(db_, clock_, actor);
  if (!op) return unexpected(op.error());
  auto due = select_rows(db_, read_card,
                         str(kCardSelect) +
                             "WHERE c.state IN ('issued', 'handed_over', 'active', 'suspended') "
                             "AND c.expiry_date < ?1 ORDER BY c.rowid",
                         today);
  if (!due) return unexpected(due.error());
  std::vector<Card> expired;
  for (const Card& c : *due) {
    const json detail = {{"expiry_date", *c.expiry_date}, {"today", today}};
    if (auto r = move_card(*op, c, CardState::expired, std::nullopt, "expire", detail); !r)
      return unexpected(r.error());
  }
  if (auto r = op->commit(); !r) return unexpected(r.error());
  for (const Card& c : *due) {
    auto now = load_card(db_, c.serial);
    if (!now) return unexpected(now.error());
    expired.push_back(std::move(*now));
  }
  return expired;
}

Result<void, RecordsError> Records::record_password_reset(std::string_view serial,
                                                          const IdentityCheck& identity,
                                                          const Actor& actor) {
  if (auto r = check({problem_of_serial(serial), problem_of(identity)}); !r) return r;
  auto op = Operation::begin(db_, clock_, actor);
  if (!op) return unexpected(op.error());
  auto card = load_card(db_, serial);
  if (!card) return unexpected(card.error());
  if (auto r = expect_state(*card, "password_reset", {CardState::active}); !r) return r;
  if (auto r = op->record("password_reset", card->application_id, serial,
                          {{"identity", identity_json(identity)}});
      !r)
    return r;
  return op->commit();
}

Result<void, RecordsError> Records::record_application_change(std::string_view serial,
                                                              std::string_view operation,
                                                              std::string_view app,
                                                              std::string_view aid,
                                                              const Actor& actor) {
  constexpr std::string_view kOperations[] = {"install", "delete", "lock", "unlock"};
  std::optional<std::string> problem;
  const auto aid_bytes = from_hex(aid);
  if (std::find(std::begin(kOperations), std::end(kOperations), operation) == std::end(kOperations))
    problem = "operation '" + str(operation) + "' is not install, delete, lock or unlock";
  else if (app.empty() || app.size() > 64)
    problem = "the application's name must have 1 to 64 bytes";
  else if (!aid_bytes || aid_bytes->size() < 5 || aid_bytes->size() > 16)
    problem = "AID '" + str(aid) + "' is not 5 to 16 bytes of hex";
  if (auto r = check({problem_of_serial(serial), problem}); !r) return r;
  auto op = Operation::begin(db_, clock_, actor);
  if (!op) return unexpected(op.error());
  auto card = load_card(db_, serial);
  if (!card) return unexpected(card.error());
  if (auto r = expect_state(*card, "municipal_application", {CardState::active}); !r) return r;
  if (auto r = op->record(
          "municipal_application", card->application_id, serial,
          {{"operation", str(operation)}, {"app", str(app)}, {"aid", to_hex(*aid_bytes)}});
      !r)
    return r;
  return op->commit();
}

Result<WindowCheck, RecordsError> Records::window_check(std::string_view serial,
                                                        std::string_view today) {
  using Verdict = WindowCheck::Verdict;
  if (auto r = check({problem_of_serial(serial), problem_of_date("today", today)}); !r)
    return unexpected(r.error());
  auto found = find_card(db_, serial);
  if (!found) return unexpected(found.error());
  if (!*found)
    return WindowCheck{Verdict::unknown_card, "no card " + str(serial) + " was issued", {}};
  const Card& c = **found;
  // The date first: a card past its expiry is refused before expire_due marks it.
  if (valid_card_state(c.state) && *c.expiry_date < today)
    return WindowCheck{Verdict::expired, "the card expired on " + *c.expiry_date, c};
  switch (c.state) {
    case CardState::active:
      return WindowCheck{Verdict::accepted, "active until " + *c.expiry_date, c};
    case CardState::personalizing:
    case CardState::issued:
    case CardState::handed_over:
      return WindowCheck{Verdict::not_activated,
                         "the card is " + str(to_string(c.state)) + ", not activated", c};
    case CardState::spoiled:
      return WindowCheck{Verdict::spoiled, "the card was spoiled in personalization", c};
    case CardState::suspended:
      return WindowCheck{Verdict::suspended, "the card is suspended: " + c.reason.value_or(""), c};
    case CardState::lost:
      return WindowCheck{Verdict::lost, "the card was reported lost", c};
    case CardState::returned:
      return WindowCheck{Verdict::returned, "the card was returned", c};
    case CardState::expired:
      return WindowCheck{Verdict::expired, "the card expired on " + *c.expiry_date, c};
  }
  return unexpected(failure(Kind::storage, "card " + c.serial + " in an unknown state"));
}

}  // namespace juki::records
