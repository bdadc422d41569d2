// The issuance records of a municipal card issuance counter
// (specs/issuance-records.md): applications (申請) and cards in one SQLite
// file, with their life cycles and an append-only audit trail of every change
// and every refused hand-over. Each operation is one immediate transaction:
// it happens whole or not at all, and several processes may share the file.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "records/sqlite.hpp"

namespace juki::records {

// ------------------------------------------------------------ errors

struct RecordsError {
  enum class Kind {
    invalid_input,          // a value that breaks a format rule (resident code, date, face...)
    not_found,              // no such application or card
    duplicate_application,  // the person has an open application
    card_exists,            // the person holds a valid card
    duplicate_serial,       // a card with this serial is already recorded
    wrong_state,            // the operation is not allowed in the current state
    wrong_notice_number,    // hand-over with another notice number (the attempt is recorded)
    storage,                // SQLite failed (I/O, lock timeout, a violated constraint)
    schema,                 // not a records database, or one of an unknown version
  };
  Kind kind = Kind::storage;
  std::string message;
};
std::string_view to_string(RecordsError::Kind kind);

// ------------------------------------------------------------ vocabulary

enum class ApplicationKind { new_card, reissue };  // "new", "reissue"
enum class ApplicationState {
  received,
  registered,
  personalized,
  handed_over,
  completed,
  rejected,
  cancelled
};
enum class CardState {
  personalizing,
  issued,
  spoiled,
  handed_over,
  active,
  suspended,
  lost,
  returned,
  expired
};
// Every state, in life-cycle order (for listings and the summary).
inline constexpr ApplicationState kApplicationStates[] = {
    ApplicationState::received,    ApplicationState::registered, ApplicationState::personalized,
    ApplicationState::handed_over, ApplicationState::completed,  ApplicationState::rejected,
    ApplicationState::cancelled};
inline constexpr CardState kCardStates[] = {
    CardState::personalizing, CardState::issued,   CardState::spoiled,
    CardState::handed_over,   CardState::active,   CardState::suspended,
    CardState::lost,          CardState::returned, CardState::expired};
// ISO/IEC 5218 codes, as stored.
enum class Sex { not_known = 0, male = 1, female = 2, not_applicable = 9 };

// The names stored in the database and shown to people ("handed_over", ...).
std::string_view to_string(ApplicationKind kind);
std::string_view to_string(ApplicationState state);
std::string_view to_string(CardState state);
std::optional<ApplicationKind> application_kind_from(std::string_view name);
std::optional<ApplicationState> application_state_from(std::string_view name);
std::optional<CardState> card_state_from(std::string_view name);

// issued, handed_over, active or suspended: the card counts as the person's
// one valid card (unless its expiry date has passed).
bool valid_card_state(CardState state);

// A card serial: the 8 bytes of GET DATA DF22 as 16 uppercase hex digits.
bool serial_valid(std::string_view serial);
// A notice number (交付通知書番号): 12 digits, 11 random and their check
// digit by the individual-number formula: with P_n the n-th of the 11 digits
// from the right and Q_n = n + 1 for n = 1..6, n - 5 for n = 7..11, the check
// digit is 11 - (sum P_n * Q_n mod 11), or 0 when that remainder is 0 or 1.
// nullopt unless `eleven_digits` is 11 ASCII digits.
std::optional<char> notice_check_digit(std::string_view eleven_digits);
bool notice_number_valid(std::string_view notice_number);
// Katakana (U+30A1..U+30FE) with spaces (U+0020, U+3000) between words,
// UTF-8: what a braille embosser can spell.
bool katakana_valid(std::string_view name);

// ------------------------------------------------------------ records

// Who made a change, and where: every change is recorded with both.
struct Actor {
  std::string operator_id;  // the operator (staff member), e.g. from the operator card
  std::string terminal_id;  // the terminal the operation ran on
};

// 本人確認: the document shown and, optionally, its number. The actor of the
// operation is the one who checked it.
struct IdentityCheck {
  std::string document;  // "my-number-card", "passport", "driver-licence", "other"... non-empty
  std::optional<std::string> number;
};

struct Person {
  std::string resident_code;  // 11 digits, the last the check digit
  std::string name;
  std::string name_kana;   // katakana, for braille embossing
  std::string birth_date;  // YYYYMMDD
  Sex sex = Sex::not_known;
  std::string address;
};

struct ApplicationRequest {
  Person person;
  ApplicationKind kind = ApplicationKind::new_card;
  char face = 'A';         // face version 'A' or 'B'
  bool braille = false;    // braille embossing requested
  bool same_day = false;   // same-day issuance: no notice number, hand-over after personalization
  IdentityCheck identity;  // at intake
};

struct Application {
  std::int64_t id = 0;
  Person person;
  ApplicationKind kind = ApplicationKind::new_card;
  char face = 'A';
  bool braille = false;
  bool same_day = false;
  ApplicationState state = ApplicationState::received;
  std::optional<std::string> notice_number;  // from registration, never for same-day issuance
  std::optional<std::string> reason;         // why it was rejected or cancelled
  std::string received_at;                   // timestamps: UTC, ISO 8601
  std::string updated_at;
};

struct Card {
  std::string serial;
  std::int64_t application_id = 0;
  std::string resident_code;  // the application's
  char face = 'A';            // the application's
  CardState state = CardState::personalizing;
  std::optional<std::string> issue_date;   // YYYYMMDD, once issued
  std::optional<std::string> expiry_date;  // issue date + 10 years (common/card_information)
  std::optional<std::string> reason;       // why spoiled, suspended, lost or returned
  std::string created_at;
  std::string updated_at;
};

// An application with the identity check its intake recorded.
struct Received {
  Application application;
  IdentityCheck identity;  // as the intake event recorded it
};

struct Intake {
  Application application;
  // The latest card ever issued to the person, as it stood at intake: what
  // the counter tells the resident. nullopt: the person never had one.
  std::optional<Card> latest_card;
};

struct Event {
  std::int64_t sequence = 0;
  std::string at;  // UTC, ISO 8601
  std::string operator_id;
  std::string terminal_id;
  std::string action;  // "intake", "register", ..., "hand_over_refused" (specs)
  std::optional<std::int64_t> application_id;
  std::optional<std::string> card_serial;
  std::string detail;  // a JSON object
};

struct WindowCheck {
  enum class Verdict {
    accepted,
    unknown_card,
    not_activated,  // personalizing, issued or handed over
    spoiled,
    suspended,
    expired,  // by state, or by date before expire_due swept it
    lost,
    returned,
  };
  Verdict verdict = Verdict::unknown_card;
  std::string why;           // for the window's screen
  std::optional<Card> card;  // nullopt for an unknown card
};
std::string_view to_string(WindowCheck::Verdict verdict);

struct Summary {
  std::map<ApplicationState, std::int64_t> applications;  // every state, 0 included
  std::map<CardState, std::int64_t> cards;
};

using Clock = std::function<std::chrono::system_clock::time_point()>;
// The day at `t` in Japan (UTC+9, no daylight saving), YYYYMMDD: "today" at
// the counter and the window.
std::string japan_date(std::chrono::system_clock::time_point t);
// The value checks of intake (section 1) alone, without a file: the first
// problem found, in the words intake would use. For a tool that checks a
// whole batch of applications before it records any of them.
Result<void, std::string> check_request(const ApplicationRequest& request);

class Records {
 public:
  // The current schema version, kept in PRAGMA user_version. open brings a
  // version 1 file to 2 (specs/issuance-records.md 9).
  static constexpr int kSchemaVersion = 2;

  // A new records file for the issuing municipality (6 digits with the check
  // digit); refuses a file that already holds a database (kind schema).
  static Result<Records, RecordsError> create(const std::string& path,
                                              std::string_view municipality,
                                              Clock clock = std::chrono::system_clock::now);
  // An existing records file; refuses another database or an unknown schema
  // version, and brings a version 1 file to version 2 first (kind schema when
  // that fails, e.g. on a read-only file: the file is left as it was).
  static Result<Records, RecordsError> open(const std::string& path,
                                            Clock clock = std::chrono::system_clock::now);

  const std::string& municipality() const { return municipality_; }

  // --- applications
  // Refuses a person with an open application (duplicate_application) or a
  // valid card (card_exists, naming the card and its state), and a kind that
  // does not fit the person's latest card (wrong_state). A card in a valid
  // state whose expiry date is before the clock's day in Japan (UTC+9) counts
  // as expired here, whether or not expire_due ran.
  Result<Intake, RecordsError> intake(const ApplicationRequest& request, const Actor& actor);
  // received -> registered; assigns the notice number unless same-day.
  Result<Application, RecordsError> register_application(std::int64_t id, const Actor& actor);
  // received or registered -> rejected (by the municipality) or cancelled (by
  // the applicant); not while a card of it is being personalized.
  Result<Application, RecordsError> reject(std::int64_t id, std::string_view reason,
                                           const Actor& actor);
  Result<Application, RecordsError> cancel(std::int64_t id, std::string_view reason,
                                           const Actor& actor);

  // --- personalization
  // A card of a registered application enters personalizing.
  Result<Card, RecordsError> begin_personalization(std::int64_t application_id,
                                                   std::string_view serial, const Actor& actor);
  // personalizing -> issued with its issue date (YYYYMMDD) and expiry; the
  // application -> personalized.
  Result<Card, RecordsError> finish_personalization(std::string_view serial,
                                                    std::string_view issue_date,
                                                    const Actor& actor);
  // personalizing -> spoiled; the application stays registered for another card.
  Result<Card, RecordsError> spoil(std::string_view serial, std::string_view reason,
                                   const Actor& actor);
  // Cards left in personalizing (a run that stopped): to resume or spoil.
  Result<std::vector<Card>, RecordsError> cards_personalizing();

  // --- hand-over and use
  // issued -> handed_over, application -> handed_over. The notice number must
  // be the application's (nullopt for same-day issuance); a wrong one is
  // refused and the attempt recorded.
  Result<Card, RecordsError> hand_over(std::string_view serial,
                                       std::optional<std::string_view> notice_number,
                                       const IdentityCheck& identity, const Actor& actor);
  // handed_over -> active (the resident set the password), application -> completed.
  Result<Card, RecordsError> activate(std::string_view serial, const Actor& actor);
  // active -> suspended (一時停止) and back, the lifting after an identity check.
  Result<Card, RecordsError> suspend(std::string_view serial, std::string_view reason,
                                     const Actor& actor);
  Result<Card, RecordsError> lift_suspension(std::string_view serial, const IdentityCheck& identity,
                                             const Actor& actor);
  // issued, handed_over, active or suspended -> lost.
  Result<Card, RecordsError> report_lost(std::string_view serial, std::string_view reason,
                                         const Actor& actor);
  // issued, handed_over, active, suspended or lost -> returned (返納, 回収).
  Result<Card, RecordsError> return_card(std::string_view serial, std::string_view reason,
                                         const Actor& actor);
  // Every issued, handed_over, active or suspended card whose expiry date is
  // before `today` (YYYYMMDD) -> expired; returns them.
  Result<std::vector<Card>, RecordsError> expire_due(std::string_view today, const Actor& actor);
  // The window re-set of the password of an active card: recorded, no change of state.
  Result<void, RecordsError> record_password_reset(std::string_view serial,
                                                   const IdentityCheck& identity,
                                                   const Actor& actor);
  // A municipal application installed, deleted, locked or unlocked on an
  // active card (`operation`: "install", "delete", "lock", "unlock"; `app`
  // its name, `aid` its AID in hex): recorded, no change of state.
  Result<void, RecordsError> record_application_change(std::string_view serial,
                                                       std::string_view operation,
                                                       std::string_view app, std::string_view aid,
                                                       const Actor& actor);
  // Accepted only for an active card on or before its expiry date; otherwise
  // the verdict says why. Errors only for malformed input or storage.
  Result<WindowCheck, RecordsError> window_check(std::string_view serial, std::string_view today);

  // --- reading
  Result<Application, RecordsError> application(std::int64_t id);
  Result<Application, RecordsError> application_by_notice(std::string_view notice_number);
  // In id order; all states when `state` is nullopt.
  Result<std::vector<Application>, RecordsError> applications(
      std::optional<ApplicationState> state = std::nullopt);
  // The person's latest application (the highest id), in any state, with
  // the identity check of its intake; nullopt when the person never applied.
  // Only the latest can be open (one open application per person): what a
  // batch run compares with its line to take up an earlier run's application.
  Result<std::optional<Received>, RecordsError> latest_application(std::string_view resident_code);
  Result<Card, RecordsError> card(std::string_view serial);
  // Every card of the person, spoiled ones included, oldest first.
  Result<std::vector<Card>, RecordsError> cards_of(std::string_view resident_code);
  Result<Summary, RecordsError> summary();

  // --- the audit trail, in sequence order
  Result<std::vector<Event>, RecordsError> events_of_application(std::int64_t id);
  Result<std::vector<Event>, RecordsError> events_of_card(std::string_view serial);
  // At most `limit` events after sequence number `after` (0: from the start).
  Result<std::vector<Event>, RecordsError> events(std::int64_t after = 0, std::size_t limit = 1000);

 private:
  Records(sqlite::Database db, std::string municipality, Clock clock)
      : db_(std::move(db)), municipality_(std::move(municipality)), clock_(std::move(clock)) {}

  sqlite::Database db_;
  std::string municipality_;
  Clock clock_;
};

}  // namespace juki::records
