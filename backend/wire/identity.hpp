// The meaning of the wire's identity messages (specs/network.md 3): the
// change reasons and their kinds, the checks every tier makes of identity
// information and of the existing system's reports, and the canonical digest
// of a record that the consistency check compares.
#pragma once

#include <openssl/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "backend/calendar/date.hpp"
#include "backend/wire/juki_net.pb.h"
#include "common/bytes.hpp"

namespace juki::backend::wire {

namespace proto = juki::net::v1;

enum class ReasonKind { entry, deletion, correction };  // 記載, 消除, 修正

// nullopt for REASON_UNSPECIFIED and numbers the wire does not define.
std::optional<ReasonKind> kind_of(proto::ChangeReason reason);
// The import file's names: "birth", "move_in", ... (specs/network.md 3).
std::string_view reason_name(proto::ChangeReason reason);
std::optional<proto::ChangeReason> reason_from_name(std::string_view name);
std::string_view kind_name(ReasonKind kind);  // "entry", "deletion", "correction"

// A refusal that names the field at fault ("resident.birth_date") and why.
struct FieldError {
  std::string field;
  std::string message;
};

// Identity information as every tier accepts it: a resident code with its
// check digit; names of 1..64 characters of valid UTF-8 without control
// characters, the kana in full-width katakana with spaces
// (records::katakana_valid, as on the card's face); a birth
// date that exists and is not after `today`; a sex; an address of 1..200
// characters. `prefix` names the message path ("identity", "resident.identity").
std::optional<FieldError> check_identity(const proto::IdentityInformation& identity,
                                         const calendar::Date& today,
                                         const std::string& prefix = "identity");

// A report of the existing system, on its own (what needs the CS's records,
// such as an unknown resident, is the CS's to check): a report id of 1..64
// printable ASCII characters, the municipality `municipality`, a known
// reason, a change date that exists and is not after `today` nor before the
// birth date; for entries and corrections the whole record, for deletions
// the resident code alone; previous_code exactly for RESIDENT_CODE_CHANGE.
std::optional<FieldError> check_report(const proto::ChangeReport& report,
                                       std::string_view municipality, const calendar::Date& today);

// One notified change as the upper tiers accept it: a known reason, a real
// change date, identity information that passes check_identity with
// `latest_birth` as the latest birth date, and a previous resident code
// exactly with RESIDENT_CODE_CHANGE, with a valid check digit. The field is
// named from the change ("identity.birth_date").
std::optional<FieldError> check_change(const proto::IdentityChange& change,
                                       const calendar::Date& latest_birth);

// SHA-256 over the record's canonical form: each field of the identity
// information in the wire's order, then whether it is current ("live") or
// deleted, each as a 4-byte big-endian length and its bytes.
Bytes record_digest(const proto::IdentityInformation& identity, bool live);

// The day (in Japan, YYYY-MM-DD) on which a CS recorded a change at
// `recorded_at` (Unix seconds): the day of the update-count lists at every
// tier, so that the lists of sender and receiver compare day by day.
std::string recorded_day(std::int64_t recorded_at);

// An update-count list built row by row, in (day, reason) order: one row
// per recording day and reason, with its count and sequence range.
void add_count(proto::UpdateCountList& list, const std::string& day, proto::ChangeReason reason,
               std::uint64_t count, std::uint64_t first_sequence, std::uint64_t last_sequence);

// One range of a DigestReply, built from the live records under a prefix in
// resident-code order: their count, the SHA-256 over their record digests,
// and (when asked) each record's digest.
class RangeDigester {
 public:
  RangeDigester(std::string prefix, bool with_records);
  RangeDigester(const RangeDigester&) = delete;
  RangeDigester& operator=(const RangeDigester&) = delete;
  ~RangeDigester();
  void add(const proto::IdentityInformation& live_record);
  proto::RangeDigest finish();

 private:
  proto::RangeDigest range_;
  bool with_records_;
  EVP_MD_CTX* context_;
};

}  // namespace juki::backend::wire
