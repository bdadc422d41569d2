// The Juki AP's card information EF (specs/juki-ap.md 3.2): what the card
// checks on every write and what the issuer writes, in one place. 39 bytes of
// fixed-width ASCII:
//
//   offset  length  field
//    0       6      issuing municipality code, its check digit verified
//    6       8      issue date YYYYMMDD (a real calendar date, 1900..9999)
//   14       8      expiry date YYYYMMDD: the issue date plus 10 years
//   22       1      face version 'A' or 'B'
//   23      16      card serial: the 8 bytes of GET DATA DF22 as uppercase hex
//
// An issue date of February 29 expires on February 28 ten years later (a year
// ten years after a leap year never is one): the last day of the month, as the
// Civil Code (民法 143 条 2 項) ends a period whose corresponding day is missing.
// No dependencies beyond common/: the card OS links it too.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "common/bytes.hpp"
#include "common/result.hpp"

namespace juki::card_information {

inline constexpr std::size_t kSize = 39;
inline constexpr std::size_t kMunicipalityAt = 0;
inline constexpr std::size_t kIssueDateAt = 6;
inline constexpr std::size_t kExpiryAt = 14;
inline constexpr std::size_t kFaceAt = 22;
inline constexpr std::size_t kSerialAt = 23;
inline constexpr std::size_t kSerialBytes = 8;  // 16 hex digits in the EF
inline constexpr int kValidityYears = 10;
inline constexpr int kFirstYear = 1900;
inline constexpr int kLastYear = 9999;

struct Date {
  int year = 0;
  int month = 0;
  int day = 0;
  friend bool operator==(const Date&, const Date&) = default;
};

// YYYYMMDD as a real date of the Gregorian calendar, years 1900..9999.
std::optional<Date> parse_date(std::string_view yyyymmdd);
std::string format_date(const Date& d);
bool leap_year(int year);
// The same month and day `years` later; February 29 becomes February 28 in a
// year that is not a leap year.
Date years_after(const Date& d, int years);

// What is wrong with a card information content, in the order it is checked.
enum class Problem { none, size, municipality, issue_date, expiry, face, serial };
std::string_view describe(Problem p);

// Checks an EF content for the card whose serial is `card_serial` (8 bytes).
Problem check(ByteView content, ByteView card_serial);

struct Fields {
  std::string municipality;  // 6 digits with the check digit
  std::string issue_date;    // YYYYMMDD
  char face = 'A';           // 'A' or 'B'
  Bytes serial;              // the card's 8-byte serial (GET DATA DF22)
};
// The EF content, the expiry computed from the issue date; what is wrong otherwise.
Result<Bytes, Problem> encode(const Fields& f);

}  // namespace juki::card_information
