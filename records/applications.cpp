// Applications (申請): intake, registration with its notice number, and
// rejection or cancellation.
#include <openssl/rand.h>

#include "records/records.hpp"
#include "records/records_internal.hpp"

namespace juki::records {

namespace {

Result<std::string, RecordsError> fresh_notice_number(Database& db) {
  // Rejection sampling keeps the digits uniform: bytes 250..255 are drawn again.
  for (;;) {
    std::string digits;
    while (digits.size() < 11) {
      unsigned char b[16];
      if (RAND_bytes(b, sizeof b) != 1)
        return unexpected(failure(Kind::storage, "no random notice number (OpenSSL RAND_bytes)"));
      for (unsigned char x : b)
        if (x < 250 && digits.size() < 11) digits.push_back(static_cast<char>('0' + x % 10));
    }
    const std::string number = digits + *notice_check_digit(digits);
    auto taken = scalar(db, "SELECT count(*) FROM applications WHERE notice_number = ?1", number);
    if (!taken) return unexpected(taken.error());
    if (*taken == 0) return number;
  }
}

// reject and cancel: received or registered, and no card of it in personalization.
Result<Application, RecordsError> close_application(Database& db, const Clock& clock,
                                                    const Actor& actor, std::int64_t id,
                                                    std::string_view reason, ApplicationState to,
                                                    std::string_view action) {
  if (auto r = check({problem_of_reason(reason)}); !r) return unexpected(r.error());
  auto op = Operation::begin(db, clock, actor);
  if (!op) return unexpected(op.error());
  auto a = load_application(db, id);
  if (!a) return unexpected(a.error());
  if (auto r = expect_state(*a, action, {ApplicationState::received, ApplicationState::registered});
      !r)
    return unexpected(r.error());
  if (auto r = none_personalizing(db, id); !r) return unexpected(r.error());
  if (auto r = set_application_state(*op, id, to, reason); !r) return unexpected(r.error());
  const json detail = {{"application", change(to_string(a->state), to_string(to))},
                       {"reason", reason}};
  if (auto r = op->record(action, id, std::nullopt, detail); !r) return unexpected(r.error());
  if (auto r = op->commit(); !r) return unexpected(r.error());
  return load_application(db, id);
}

}  // namespace

// ------------------------------------------------------------ applications

Result<Intake, RecordsError> Records::intake(const ApplicationRequest& request,
                                             const Actor& actor) {
  if (auto r = check({problem_of(request)}); !r) return unexpected(r.error());
  auto op = Operation::begin(db_, clock_, actor);
  if (!op) return unexpected(op.error());
  const std::string& code = request.person.resident_code;

  auto open = select_rows(db_, read_application,
                          str(kApplicationSelect) +
                              "WHERE resident_code = ?1 AND state IN ('received', 'registered', "
                              "'personalized')",
                          code);
  if (!open) return unexpected(open.error());
  if (!open->empty()) {
    const Application& a = open->front();
    return unexpected(failure(Kind::duplicate_application,
                              "resident code " + code + " has an open application " +
                                  std::to_string(a.id) + " (" + str(to_string(a.state)) + ")"));
  }

  // Cards that reached the person's hands or were on their way: issued ones,
  // not those spoiled in personalization.
  auto cards = select_rows(
      db_, read_card,
      str(kCardSelect) + "WHERE a.resident_code = ?1 AND c.issue_date IS NOT NULL ORDER BY c.rowid",
      code);
  if (!cards) return unexpected(cards.error());
  const std::string today = japan_date(op->time());
  // A valid state past its expiry date is expired, whether or not expire_due ran.
  auto effective = [&](const Card& c) {
    return valid_card_state(c.state) && *c.expiry_date < today ? CardState::expired : c.state;
  };
  for (const Card& c : *cards) {
    if (valid_card_state(effective(c)))
      return unexpected(failure(Kind::card_exists, "resident code " + code + " holds card " +
                                                       c.serial + " (" + str(to_string(c.state)) +
                                                       ", valid until " + *c.expiry_date + ")"));
  }
  std::optional<Card> latest;
  if (!cards->empty()) latest = cards->back();

  // new: no card yet, or the last one expired or was returned; reissue: the
  // last one was lost or returned (a damaged card is returned and reissued).
  const bool is_new = request.kind == ApplicationKind::new_card;
  if (!latest && !is_new)
    return unexpected(failure(Kind::wrong_state,
                              "resident code " + code + " never had a card: apply for a new one"));
  if (latest) {
    const CardState s = effective(*latest);
    const bool fits = is_new ? in(s, {CardState::expired, CardState::returned})
                             : in(s, {CardState::lost, CardState::returned});
    if (!fits)
      return unexpected(failure(Kind::wrong_state, "the last card of resident code " + code + ", " +
                                                       latest->serial + ", is " +
                                                       str(to_string(s)) + ": apply for " +
                                                       (is_new ? "a reissue" : "a new card")));
  }

  const Person& p = request.person;
  if (auto r = execute(db_,
                       "INSERT INTO applications (resident_code, name, name_kana, birth_date, sex, "
                       "address, kind, face, braille, same_day, state, received_at, updated_at) "
                       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'received', ?11, ?11)",
                       p.resident_code, p.name, p.name_kana, p.birth_date,
                       static_cast<std::int64_t>(p.sex), p.address, to_string(request.kind),
                       std::string_view(&request.face, 1), std::int64_t{request.braille},
                       std::int64_t{request.same_day}, op->now());
      !r)
    return unexpected(r.error());
  const std::int64_t id = db_.last_insert_rowid();
  const json detail = {
      {"application", change(std::nullopt, to_string(ApplicationState::received))},
      {"kind", to_string(request.kind)},
      {"face", std::string(1, request.face)},
      {"braille", request.braille},
      {"same_day", request.same_day},
      {"identity", identity_json(request.identity)},
      {"latest_card", latest ? json{{"serial", latest->serial}, {"state", to_string(latest->state)}}
                             : json(nullptr)}};
  if (auto r = op->record("intake", id, std::nullopt, detail); !r) return unexpected(r.error());
  if (auto r = op->commit(); !r) return unexpected(r.error());
  auto stored = load_application(db_, id);
  if (!stored) return unexpected(stored.error());
  return Intake{std::move(*stored), std::move(latest)};
}

Result<Application, RecordsError> Records::register_application(std::int64_t id,
                                                                const Actor& actor) {
  auto op = Operation::begin(db_, clock_, actor);
  if (!op) return unexpected(op.error());
  auto a = load_application(db_, id);
  if (!a) return unexpected(a.error());
  if (auto r = expect_state(*a, "registration", {ApplicationState::received}); !r)
    return unexpected(r.error());
  std::optional<std::string> notice;
  if (!a->same_day) {
    auto n = fresh_notice_number(db_);
    if (!n) return unexpected(n.error());
    notice = std::move(*n);
  }
  if (auto r = execute(db_,
                       "UPDATE applications SET state = 'registered', notice_number = ?2, "
                       "updated_at = ?3 WHERE id = ?1",
                       id, notice, op->now());
      !r)
    return unexpected(r.error());
  const json detail = {{"application", change(to_string(a->state), "registered")},
                       {"notice_number", notice ? json(*notice) : json(nullptr)}};
  if (auto r = op->record("register", id, std::nullopt, detail); !r) return unexpected(r.error());
  if (auto r = op->commit(); !r) return unexpected(r.error());
  return load_application(db_, id);
}

Result<Application, RecordsError> Records::reject(std::int64_t id, std::string_view reason,
                                                  const Actor& actor) {
  return close_application(db_, clock_, actor, id, reason, ApplicationState::rejected, "reject");
}

Result<Application, RecordsError> Records::cancel(std::int64_t id, std::string_view reason,
                                                  const Actor& actor) {
  return close_application(db_, clock_, actor, id, reason, ApplicationState::cancelled, "cancel");
}

}  // namespace juki::records
