// A day's change reports (異動) of a generated population, at Japan's annual
// rates scaled to its size, deterministic from (seed, size, day).
//
// The model, kept simple:
// - Each reason's count for a day is its expected count (annual rate x size /
//   (125,000,000 x 365)) rounded down, plus one with the probability of the
//   fraction: no seasons, no weekdays.
// - Changes of existing residents pick them from a window of a keyed
//   permutation of the population, a fresh window each day, so no resident is
//   the subject of two changes in one day (nor, until the windows wrap after
//   about 300 days, of changes on two days). A death picks by age (life
//   table), a birth a mother of 20 to 44, a move mostly the young, a name
//   change a woman of 20 to 45. Each change is made to the resident as
//   generated on the base date: state does not drift from day to day.
// - A move between municipalities is a move_out at the old municipality and a
//   move_in at the new one (40% across a prefecture line), same code.
// - New residents (births, naturalizations, ...) and new codes
//   (resident_code_change) take indexes past the population, a fixed number
//   per day, so they never meet an existing code nor one of another day.
// - Every report is dated with the day; a birth's birth date is up to 13
//   days before it (14 days to notify).
// - What each reason does: birth, a baby in its mother's household (子, or 孫
//   when she is the head's child or daughter-in-law); ex_officio_entry,
//   naturalization, nationality_acquired, a new resident heading a household
//   of one; death, ex_officio_deletion, nationality_lost, declared_missing
//   (20 or older), the code alone; move_within and address_renumbering, a new
//   address in the same municipality (move_within also notified that day);
//   name_change, a new surname (and its reading); ex_officio_correction, the
//   birth date corrected 1 to 30 days earlier (and the day of becoming a
//   resident with it, for one born there); resident_code_change, a new code
//   with "previous_code" the old.
#pragma once

#include <array>
#include <cstdint>
#include <functional>

#include "backend/population/population.hpp"
#include "backend/population/report.hpp"

namespace juki::backend::population {

// Changes a year per 125,000,000 residents (births 730k, deaths 1.57M, moves
// between municipalities 5.3M, within 4M, name changes 500k, ex-officio
// corrections 100k; the others rough guesses). code_entry: 0.
std::uint64_t annual_per_125m(Reason reason);
// The expected count on a day for a population of `residents`, as a fraction.
struct Expected {
  std::uint64_t numerator;
  std::uint64_t denominator;
};
Expected expected_per_day(Reason reason, std::uint64_t residents);

struct DayStats {
  std::array<std::uint64_t, kReasonCount> reports{};  // lines by reason
  std::uint64_t events = 0;                           // changes (a move is one, in two lines)
  std::uint64_t dropped = 0;                          // changes not made: the day's window ran out
};

// The reports of `day` (on or after the base date), in a fixed order, with
// report ids numbered per municipality in that order.
Result<DayStats, PopulationError> for_each_change(
    const Population& population, calendar::Date day,
    const std::function<void(const ChangeReport&)>& f);

}  // namespace juki::backend::population
