// The records' vocabulary: names of kinds and states as stored, and the
// format rules of serials, notice numbers and katakana names.
#include <algorithm>
#include <array>
#include <utility>

#include "common/check_digits.hpp"
#include "records/records.hpp"

namespace juki::records {

namespace {

constexpr std::array kApplicationKindNames = {
    std::pair{ApplicationKind::new_card, std::string_view("new")},
    std::pair{ApplicationKind::reissue, std::string_view("reissue")},
};

constexpr std::array kApplicationStateNames = {
    std::pair{ApplicationState::received, std::string_view("received")},
    std::pair{ApplicationState::registered, std::string_view("registered")},
    std::pair{ApplicationState::personalized, std::string_view("personalized")},
    std::pair{ApplicationState::handed_over, std::string_view("handed_over")},
    std::pair{ApplicationState::completed, std::string_view("completed")},
    std::pair{ApplicationState::rejected, std::string_view("rejected")},
    std::pair{ApplicationState::cancelled, std::string_view("cancelled")},
};

constexpr std::array kCardStateNames = {
    std::pair{CardState::personalizing, std::string_view("personalizing")},
    std::pair{CardState::issued, std::string_view("issued")},
    std::pair{CardState::spoiled, std::string_view("spoiled")},
    std::pair{CardState::handed_over, std::string_view("handed_over")},
    std::pair{CardState::active, std::string_view("active")},
    std::pair{CardState::suspended, std::string_view("suspended")},
    std::pair{CardState::lost, std::string_view("lost")},
    std::pair{CardState::returned, std::string_view("returned")},
    std::pair{CardState::expired, std::string_view("expired")},
};

template <class Enum, std::size_t N>
std::string_view name_of(const std::array<std::pair<Enum, std::string_view>, N>& names, Enum e) {
  const auto* it =
      std::find_if(names.begin(), names.end(), [&](const auto& p) { return p.first == e; });
  return it == names.end() ? std::string_view("unknown") : it->second;
}

template <class Enum, std::size_t N>
std::optional<Enum> value_of(const std::array<std::pair<Enum, std::string_view>, N>& names,
                             std::string_view name) {
  const auto* it =
      std::find_if(names.begin(), names.end(), [&](const auto& p) { return p.second == name; });
  if (it == names.end()) return std::nullopt;
  return it->first;
}

}  // namespace

std::string_view to_string(RecordsError::Kind kind) {
  using Kind = RecordsError::Kind;
  switch (kind) {
    case Kind::invalid_input:
      return "invalid_input";
    case Kind::not_found:
      return "not_found";
    case Kind::duplicate_application:
      return "duplicate_application";
    case Kind::card_exists:
      return "card_exists";
    case Kind::duplicate_serial:
      return "duplicate_serial";
    case Kind::wrong_state:
      return "wrong_state";
    case Kind::wrong_notice_number:
      return "wrong_notice_number";
    case Kind::storage:
      return "storage";
    case Kind::schema:
      return "schema";
  }
  return "unknown";
}

std::string_view to_string(ApplicationKind kind) {
  return name_of(kApplicationKindNames, kind);
}
std::string_view to_string(ApplicationState state) {
  return name_of(kApplicationStateNames, state);
}
std::string_view to_string(CardState state) {
  return name_of(kCardStateNames, state);
}
std::optional<ApplicationKind> application_kind_from(std::string_view name) {
  return value_of(kApplicationKindNames, name);
}
std::optional<ApplicationState> application_state_from(std::string_view name) {
  return value_of(kApplicationStateNames, name);
}
std::optional<CardState> card_state_from(std::string_view name) {
  return value_of(kCardStateNames, name);
}

std::string_view to_string(WindowCheck::Verdict verdict) {
  using Verdict = WindowCheck::Verdict;
  switch (verdict) {
    case Verdict::accepted:
      return "accepted";
    case Verdict::unknown_card:
      return "unknown_card";
    case Verdict::not_activated:
      return "not_activated";
    case Verdict::spoiled:
      return "spoiled";
    case Verdict::suspended:
      return "suspended";
    case Verdict::expired:
      return "expired";
    case Verdict::lost:
      return "lost";
    case Verdict::returned:
      return "returned";
  }
  return "unknown";
}

bool valid_card_state(CardState state) {
  return state == CardState::issued || state == CardState::handed_over ||
         state == CardState::active || state == CardState::suspended;
}

bool serial_valid(std::string_view serial) {
  return serial.size() == 16 && std::all_of(serial.begin(), serial.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
         });
}

std::optional<char> notice_check_digit(std::string_view eleven_digits) {
  if (eleven_digits.size() != 11) return std::nullopt;
  return check_digits::weighted_mod11(eleven_digits);
}

bool notice_number_valid(std::string_view notice_number) {
  return notice_number.size() == 12 &&
         notice_check_digit(notice_number.substr(0, 11)) == notice_number[11];
}

bool katakana_valid(std::string_view name) {
  // UTF-8: U+30A1..U+30FE is E3 82 A1..E3 82 BF and E3 83 80..E3 83 BE;
  // U+3000 is E3 80 80.
  bool kana = false;
  for (std::size_t i = 0; i < name.size();) {
    if (name[i] == ' ') {
      ++i;
      continue;
    }
    if (name.size() - i < 3 || static_cast<unsigned char>(name[i]) != 0xE3) return false;
    const auto b1 = static_cast<unsigned char>(name[i + 1]);
    const auto b2 = static_cast<unsigned char>(name[i + 2]);
    const unsigned code = 0x3000u | ((b1 & 0x3Fu) << 6) | (b2 & 0x3Fu);
    if ((b1 & 0xC0) != 0x80 || (b2 & 0xC0) != 0x80) return false;
    if (code >= 0x30A1 && code <= 0x30FE)
      kana = true;
    else if (code != 0x3000)
      return false;
    i += 3;
  }
  return kana;
}

}  // namespace juki::records
