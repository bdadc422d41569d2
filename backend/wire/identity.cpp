#include "backend/wire/identity.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstdint>

#include "backend/calendar/japan_time.hpp"
#include "common/check_digits.hpp"
#include "common/text.hpp"
#include "pki/digest.hpp"
#include "records/records.hpp"

namespace juki::backend::wire {

namespace {

struct ReasonInfo {
  proto::ChangeReason reason;
  std::string_view name;
  ReasonKind kind;
};

constexpr std::array<ReasonInfo, 16> kReasons{{
    {proto::BIRTH, "birth", ReasonKind::entry},
    {proto::MOVE_IN, "move_in", ReasonKind::entry},
    {proto::EX_OFFICIO_ENTRY, "ex_officio_entry", ReasonKind::entry},
    {proto::NATURALIZATION, "naturalization", ReasonKind::entry},
    {proto::NATIONALITY_ACQUIRED, "nationality_acquired", ReasonKind::entry},
    {proto::CODE_ENTRY, "code_entry", ReasonKind::entry},
    {proto::DEATH, "death", ReasonKind::deletion},
    {proto::MOVE_OUT, "move_out", ReasonKind::deletion},
    {proto::EX_OFFICIO_DELETION, "ex_officio_deletion", ReasonKind::deletion},
    {proto::NATIONALITY_LOST, "nationality_lost", ReasonKind::deletion},
    {proto::DECLARED_MISSING, "declared_missing", ReasonKind::deletion},
    {proto::MOVE_WITHIN, "move_within", ReasonKind::correction},
    {proto::NAME_CHANGE, "name_change", ReasonKind::correction},
    {proto::EX_OFFICIO_CORRECTION, "ex_officio_correction", ReasonKind::correction},
    {proto::RESIDENT_CODE_CHANGE, "resident_code_change", ReasonKind::correction},
    {proto::ADDRESS_RENUMBERING, "address_renumbering", ReasonKind::correction},
}};

const ReasonInfo* find(proto::ChangeReason reason) {
  for (const auto& info : kReasons)
    if (info.reason == reason) return &info;
  return nullptr;
}

// nullopt when `text` is 1..max_chars characters of UTF-8 without control
// characters.
std::optional<std::string> text_problem(std::string_view text, std::size_t max_chars) {
  if (text.empty()) return "is empty";
  const auto decoded = juki::text::decode_utf8(text);
  if (!decoded) return "is not valid UTF-8";
  for (char32_t cp : *decoded)
    if (cp < 0x20 || cp == 0x7F) return "has a control character";
  if (decoded->size() > max_chars)
    return "is longer than " + std::to_string(max_chars) + " characters";
  return std::nullopt;
}

std::optional<FieldError> date_problem(const std::string& field, const std::string& text,
                                       const calendar::Date& today,
                                       std::optional<calendar::Date>* parsed = nullptr) {
  auto date = calendar::Date::parse(text);
  if (!date) return FieldError{field, date.error()};
  if (*date > today) return FieldError{field, text + " is in the future"};
  if (parsed) *parsed = *date;
  return std::nullopt;
}

std::optional<FieldError> code_problem(const std::string& field, const std::string& code) {
  if (code.size() != 11 || code.find_first_not_of("0123456789") != std::string::npos)
    return FieldError{field, "a resident code has 11 digits, not '" + code + "'"};
  if (!check_digits::resident_code_valid(code))
    return FieldError{field, "resident code " + code + " has a wrong check digit (should be " +
                                 std::string(1, *check_digits::resident_code(code.substr(0, 10))) +
                                 ")"};
  return std::nullopt;
}

void append_field(Bytes& out, std::string_view value) {
  const auto n = static_cast<std::uint32_t>(value.size());
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(n >> shift));
  out.insert(out.end(), value.begin(), value.end());
}

}  // namespace

std::optional<ReasonKind> kind_of(proto::ChangeReason reason) {
  const auto* info = find(reason);
  return info ? std::optional(info->kind) : std::nullopt;
}

std::string_view reason_name(proto::ChangeReason reason) {
  const auto* info = find(reason);
  return info ? info->name : std::string_view("unspecified");
}

std::optional<proto::ChangeReason> reason_from_name(std::string_view name) {
  for (const auto& info : kReasons)
    if (info.name == name) return info.reason;
  return std::nullopt;
}

std::string_view kind_name(ReasonKind kind) {
  switch (kind) {
    case ReasonKind::entry:
      return "entry";
    case ReasonKind::deletion:
      return "deletion";
    case ReasonKind::correction:
      return "correction";
  }
  return "?";
}

std::optional<FieldError> check_identity(const proto::IdentityInformation& identity,
                                         const calendar::Date& today, const std::string& prefix) {
  if (auto e = code_problem(prefix + ".resident_code", identity.resident_code())) return e;
  if (auto p = text_problem(identity.name_kanji(), 64))
    return FieldError{prefix + ".name_kanji", "the name " + *p};
  if (auto p = text_problem(identity.name_kana(), 64))
    return FieldError{prefix + ".name_kana", "the kana name " + *p};
  // The same rule as the card's face and the issuance records.
  if (!records::katakana_valid(identity.name_kana()))
    return FieldError{prefix + ".name_kana",
                      "the kana name has a character that is not full-width katakana"};
  if (auto e = date_problem(prefix + ".birth_date", identity.birth_date(), today)) return e;
  if (identity.sex() != proto::MALE && identity.sex() != proto::FEMALE)
    return FieldError{prefix + ".sex", "the sex is male or female"};
  if (auto p = text_problem(identity.address(), 200))
    return FieldError{prefix + ".address", "the address " + *p};
  return std::nullopt;
}

std::optional<FieldError> check_report(const proto::ChangeReport& report,
                                       std::string_view municipality, const calendar::Date& today) {
  const std::string& id = report.report();
  if (id.empty() || id.size() > 64)
    return FieldError{"report", "a report id has 1 to 64 characters"};
  for (char c : id)
    if (c < 0x21 || c > 0x7E)
      return FieldError{"report", "a report id is printable ASCII without spaces"};
  if (report.municipality() != municipality)
    return FieldError{"municipality", "municipality " + report.municipality() +
                                          " is not this CS's (" + std::string(municipality) + ")"};
  auto kind = kind_of(report.reason());
  if (!kind) return FieldError{"reason", "unknown change reason"};
  std::optional<calendar::Date> change_date;
  if (auto e = date_problem("date", report.date(), today, &change_date)) return e;

  const auto& resident = report.resident();
  if (*kind == ReasonKind::deletion) {
    if (auto e = code_problem("resident.code", resident.identity().resident_code())) return e;
    const auto& i = resident.identity();
    if (!i.name_kanji().empty() || !i.name_kana().empty() || !i.birth_date().empty() ||
        i.sex() != proto::SEX_UNSPECIFIED || !i.address().empty() ||
        !resident.household_head().empty() || !resident.became_resident_on().empty() ||
        !resident.address_notified_on().empty() || !resident.previous_address().empty())
      return FieldError{"resident", "a deletion carries the resident code only"};
  } else {
    if (auto e = check_identity(resident.identity(), today, "resident")) {
      // The import file names the code "resident.code".
      if (e->field == "resident.resident_code") e->field = "resident.code";
      return e;
    }
    if (change_date && *change_date < *calendar::Date::parse(resident.identity().birth_date()))
      return FieldError{"date", "the change date " + report.date() + " is before the birth date"};
    if (auto p = text_problem(resident.household_head(), 32))
      return FieldError{"resident.household_head", "the relationship to the household head " + *p};
    if (auto e = date_problem("resident.became_resident_on", resident.became_resident_on(), today))
      return e;
    if (auto e =
            date_problem("resident.address_notified_on", resident.address_notified_on(), today))
      return e;
    if (!resident.previous_address().empty())
      if (auto p = text_problem(resident.previous_address(), 200))
        return FieldError{"resident.previous_address", "the previous address " + *p};
  }
  const bool code_change = report.reason() == proto::RESIDENT_CODE_CHANGE;
  if (code_change) {
    if (auto e = code_problem("previous_code", report.previous_code())) return e;
    if (report.previous_code() == resident.identity().resident_code())
      return FieldError{"previous_code", "the previous code is the new code"};
  } else if (!report.previous_code().empty()) {
    return FieldError{"previous_code", "only a resident_code_change has a previous code"};
  }
  return std::nullopt;
}

std::optional<FieldError> check_change(const proto::IdentityChange& change,
                                       const calendar::Date& latest_birth) {
  if (!kind_of(change.reason())) return FieldError{"reason", "unknown change reason"};
  if (auto date = calendar::Date::parse(change.change_date()); !date)
    return FieldError{"change_date", date.error()};
  if (auto problem = check_identity(change.identity(), latest_birth)) return problem;
  const bool code_change = change.reason() == proto::RESIDENT_CODE_CHANGE;
  if (code_change != !change.previous_resident_code().empty())
    return FieldError{"previous_resident_code", "only and always with a resident code change"};
  if (code_change)
    if (auto e = code_problem("previous_resident_code", change.previous_resident_code())) return e;
  return std::nullopt;
}

Bytes record_digest(const proto::IdentityInformation& identity, bool live) {
  Bytes canonical;
  append_field(canonical, identity.resident_code());
  append_field(canonical, identity.name_kanji());
  append_field(canonical, identity.name_kana());
  append_field(canonical, identity.birth_date());
  append_field(canonical, identity.sex() == proto::MALE ? "1" : "2");
  append_field(canonical, identity.address());
  append_field(canonical, live ? "live" : "deleted");
  return pki::sha256(canonical);
}

std::string recorded_day(std::int64_t recorded_at) {
  auto jst = calendar::to_jst(calendar::UtcTime(std::chrono::seconds(recorded_at)));
  return jst ? jst->date.to_string() : std::string("0000-00-00");
}

void add_count(proto::UpdateCountList& list, const std::string& day, proto::ChangeReason reason,
               std::uint64_t count, std::uint64_t first_sequence, std::uint64_t last_sequence) {
  if (list.days_size() == 0 || list.days(list.days_size() - 1).date() != day) {
    auto* added = list.add_days();
    added->set_date(day);
    added->set_first_sequence(first_sequence);
  }
  auto* d = list.mutable_days(list.days_size() - 1);
  auto* c = d->add_counts();
  c->set_reason(reason);
  c->set_count(count);
  d->set_total(d->total() + count);
  d->set_first_sequence(std::min(d->first_sequence(), first_sequence));
  d->set_last_sequence(std::max(d->last_sequence(), last_sequence));
}

RangeDigester::RangeDigester(std::string prefix, bool with_records)
    : with_records_(with_records), context_(EVP_MD_CTX_new()) {
  range_.set_prefix(std::move(prefix));
  EVP_DigestInit_ex(context_, EVP_sha256(), nullptr);
}

RangeDigester::~RangeDigester() {
  EVP_MD_CTX_free(context_);
}

void RangeDigester::add(const proto::IdentityInformation& live_record) {
  const Bytes digest = record_digest(live_record, true);
  EVP_DigestUpdate(context_, digest.data(), digest.size());
  range_.set_count(range_.count() + 1);
  if (with_records_) {
    auto* record = range_.add_records();
    record->set_resident_code(live_record.resident_code());
    record->set_digest(digest.data(), digest.size());
  }
}

proto::RangeDigest RangeDigester::finish() {
  Bytes total(32);
  unsigned int length = 0;
  EVP_DigestFinal_ex(context_, total.data(), &length);
  range_.set_digest(total.data(), total.size());
  return std::move(range_);
}

}  // namespace juki::backend::wire
