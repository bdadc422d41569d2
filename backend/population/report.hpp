// Change reports in the CS import format (JSON Lines, UTF-8, one report a
// line), fixed by the CS:
//   {"report":"20261207-000001","municipality":"131016","reason":"birth",
//    "date":"YYYY-MM-DD","resident":{...}}
// resident: for entries and corrections {"code","name_kanji","name_kana",
// "birth_date","sex","address","household_head","became_resident_on",
// "address_notified_on"[,"previous_address"]}, for deletions {"code"} only;
// a resident_code_change also carries a top-level "previous_code".
// Written by hand rather than through nlohmann: 125 million lines.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "backend/calendar/date.hpp"
#include "backend/population/population.hpp"

namespace juki::backend::population {

// 異動事由.
enum class Reason : std::uint8_t {
  // entries (記載)
  birth,
  move_in,
  ex_officio_entry,
  naturalization,
  nationality_acquired,
  code_entry,  // 住民票コードの記載: the initial population
  // deletions (消除)
  death,
  move_out,
  ex_officio_deletion,
  nationality_lost,
  declared_missing,
  // corrections (修正)
  move_within,
  name_change,
  ex_officio_correction,
  resident_code_change,
  address_renumbering,
};
constexpr int kReasonCount = 16;

enum class ReasonKind { entry, deletion, correction };

std::string_view to_string(Reason reason);
std::optional<Reason> parse_reason(std::string_view text);
ReasonKind kind_of(Reason reason);

struct ChangeReport {
  std::string report;            // unique per municipality: YYYYMMDD-NNNNNN
  std::size_t municipality = 0;  // Geography index
  Reason reason = Reason::code_entry;
  calendar::Date date = calendar::Date::first();
  Resident resident;          // of a deletion only the code is written
  std::string previous_code;  // resident_code_change only
};

// "YYYYMMDD-" and the number, at least 6 digits.
std::string report_id(calendar::Date day, std::uint64_t number);

// Appends the report's line, with its '\n'.
void append_json_line(const Geography& geography, const ChangeReport& report, std::string& out);
// The same from its parts (no ChangeReport to build for each resident).
void append_json_line(std::string& out, std::string_view report, std::string_view municipality,
                      Reason reason, calendar::Date date, const Resident& resident,
                      std::string_view previous_code = {});

// A JSON string literal of UTF-8 text: quotes, backslashes and control
// characters escaped, everything else as it is.
void append_json_string(std::string& out, std::string_view text);

}  // namespace juki::backend::population
