#include "backend/population/changes.hpp"

#include <vector>

#include "backend/population/permutation.hpp"
#include "backend/population/random.hpp"

namespace juki::backend::population {

using calendar::Date;

namespace {

// Thousands a year per 125 million residents.
constexpr std::array<std::uint64_t, kReasonCount> kAnnualThousands = {
    730,   // birth
    5300,  // move_in (one of each move between municipalities)
    40,    // ex_officio_entry
    9,     // naturalization
    1,     // nationality_acquired
    0,     // code_entry
    1570,  // death
    5300,  // move_out
    90,    // ex_officio_deletion
    2,     // nationality_lost
    2,     // declared_missing
    4000,  // move_within
    500,   // name_change
    100,   // ex_officio_correction
    10,    // resident_code_change
    150,   // address_renumbering
};
constexpr std::uint64_t kDenominator = 125'000 * 365;  // thousands of residents x days

// The order of a day's stream; move_in comes with its move_out.
constexpr std::array<Reason, 14> kEventOrder = {
    Reason::birth,
    Reason::death,
    Reason::move_out,
    Reason::move_within,
    Reason::name_change,
    Reason::ex_officio_correction,
    Reason::resident_code_change,
    Reason::address_renumbering,
    Reason::ex_officio_entry,
    Reason::naturalization,
    Reason::nationality_acquired,
    Reason::ex_officio_deletion,
    Reason::nationality_lost,
    Reason::declared_missing,
};

bool needs_new_code(Reason r) {
  return r == Reason::birth || r == Reason::ex_officio_entry || r == Reason::naturalization ||
         r == Reason::nationality_acquired || r == Reason::resident_code_change;
}

// The day's distinct subjects: a window of a keyed permutation of the population.
class Subjects {
 public:
  Subjects(const Population& p, std::int64_t day_offset)
      : population_(p),
        permutation_(derive(p.config().seed, Stream::subjects, 0), p.size()),
        window_(std::min<std::uint64_t>(p.size(), p.size() / 300 + 256)),
        start_(static_cast<std::uint64_t>(day_offset) % p.size() * (window_ % p.size()) %
               p.size()) {}

  // The next subject accepted by `accept`, or false when the window is used up.
  template <class Accept>
  bool next(Resident& out, Accept&& accept) {
    while (used_ < window_) {
      const std::uint64_t index = permutation_((start_ + used_++) % population_.size());
      population_.resident(index, out);
      if (accept(out)) return true;
    }
    return false;
  }

 private:
  const Population& population_;
  RangePermutation permutation_;
  std::uint64_t window_;
  std::uint64_t start_;
  std::uint64_t used_ = 0;
};

}  // namespace

std::uint64_t annual_per_125m(Reason reason) {
  return kAnnualThousands[static_cast<std::size_t>(reason)] * 1000;
}

Expected expected_per_day(Reason reason, std::uint64_t residents) {
  return {kAnnualThousands[static_cast<std::size_t>(reason)] * residents, kDenominator};
}

Result<DayStats, PopulationError> for_each_change(
    const Population& p, Date day, const std::function<void(const ChangeReport&)>& f) {
  const Date base = p.config().base_date;
  if (day < base)
    return unexpected(
        PopulationError{"the day must not be before the base date " + base.to_string()});
  // Every date below is on or before `day` and at most kMaxAge + 1 years and
  // 30 days before the base date: a Date (kFirstBaseYear), so .value() holds.
  const std::int64_t offset = day.days_since_epoch() - base.days_since_epoch();
  const std::uint64_t n = p.size();
  const std::uint64_t key =
      derive(p.config().seed, Stream::day, static_cast<std::uint64_t>(offset));

  // Counts, and the new codes a day may need at most.
  std::array<std::uint64_t, kReasonCount> count{};
  std::uint64_t new_codes_per_day = 0;
  for (const Reason r : kEventOrder) {
    const auto i = static_cast<std::size_t>(r);
    const std::uint64_t numerator = kAnnualThousands[i] * n;
    Rng rng(derive(key, Stream::event, i));
    count[i] =
        numerator / kDenominator + (rng.chance(numerator % kDenominator, kDenominator) ? 1 : 0);
    if (needs_new_code(r)) new_codes_per_day += numerator / kDenominator + 1;
  }
  const std::uint64_t first_new = n + static_cast<std::uint64_t>(offset) * new_codes_per_day;
  if (first_new + new_codes_per_day > DecimalPermutation::kDomain)
    return unexpected(PopulationError{"the day is too far from the base date for new codes"});
  std::uint64_t next_new = first_new;

  const Geography& geography = p.geography();
  std::vector<std::uint32_t> numbers(geography.size(), 0);
  DayStats stats;
  Subjects subjects(p, offset);
  ChangeReport c;
  c.date = day;
  auto emit = [&](Reason reason, std::size_t municipality) {
    c.reason = reason;
    c.municipality = municipality;
    c.report = report_id(day, ++numbers[municipality]);
    ++stats.reports[static_cast<std::size_t>(reason)];
    f(c);
    c.previous_code.clear();
  };
  auto age = [&](const Resident& r) { return age_on(r.birth_date, day); };
  // A new resident of `municipality`, heading a household of one.
  auto newcomer = [&](std::size_t municipality, int age_years, Rng& rng) {
    Resident& r = c.resident;
    r.index = next_new++;
    r.code = p.code_of(r.index);
    r.municipality = municipality;
    r.household = r.index;
    r.sex = rng.chance(50, 100) ? Sex::male : Sex::female;
    const std::int64_t youngest = years_before(day, age_years).value().days_since_epoch(),
                       oldest = years_before(day, age_years + 1).value().days_since_epoch() + 1;
    r.birth_date = Date::from_days_since_epoch(rng.between(oldest, youngest)).value();
    const Name surname = p.random_surname(rng);
    const Name given = p.random_given_name(r.sex, r.birth_date.year(), rng);
    r.name_kanji.assign(surname.kanji).append(" ").append(given.kanji);
    r.name_kana.assign(surname.kana).append(" ").append(given.kana);
    r.relationship = Relationship::head;
    r.address = p.random_address(municipality, rng);
    r.became_resident_on = day;
    r.address_notified_on = day;
    r.previous_address.clear();
  };

  for (const Reason reason : kEventOrder) {
    const auto ri = static_cast<std::size_t>(reason);
    for (std::uint64_t k = 0; k < count[ri]; ++k) {
      Rng rng(derive(key, Stream::event, (std::uint64_t{ri} << 32) | k));
      Resident& r = c.resident;
      bool made = true;
      switch (reason) {
        case Reason::birth: {
          made = subjects.next(r, [&](const Resident& mother) {
            const int a = age(mother);
            const auto rel = mother.relationship;
            return mother.sex == Sex::female && a >= 20 && a <= 44 &&
                   (rel == Relationship::head || rel == Relationship::wife ||
                    rel == Relationship::child || rel == Relationship::child_wife);
          });
          if (!made) break;
          // The baby joins the mother's household: her child, or the head's grandchild.
          const bool grandchild =
              r.relationship == Relationship::child || r.relationship == Relationship::child_wife;
          const std::string surname_kanji(r.surname_kanji()), surname_kana(r.surname_kana());
          r.index = next_new++;
          r.code = p.code_of(r.index);
          r.sex = rng.chance(51, 100) ? Sex::male : Sex::female;
          r.birth_date = day.plus_days(-rng.between(0, 13)).value();
          const Name given = p.random_given_name(r.sex, r.birth_date.year(), rng);
          r.name_kanji.assign(surname_kanji).append(" ").append(given.kanji);
          r.name_kana.assign(surname_kana).append(" ").append(given.kana);
          r.relationship = grandchild ? Relationship::grandchild : Relationship::child;
          r.became_resident_on = r.birth_date;
          r.address_notified_on = day;
          r.previous_address.clear();
          emit(reason, r.municipality);
          break;
        }
        case Reason::death:
          made = subjects.next(r, [&](const Resident& x) {
            return rng.below(kMaxDeathsPer100k) < deaths_per_100k(age(x));
          });
          if (made) emit(reason, r.municipality);
          break;
        case Reason::move_out: {
          if (p.municipalities().size() < 2) {
            made = false;
            break;
          }
          made = subjects.next(r, [&](const Resident& x) {
            const int a = age(x);
            return (a >= 18 && a <= 39) || rng.chance(1, 3);
          });
          if (!made) break;
          const std::size_t from = r.municipality;
          const int prefecture = geography[from].prefecture;
          // 40% across a prefecture line; otherwise within it, when the
          // population has another municipality there.
          std::size_t to = from;
          if (rng.chance(40, 100)) {
            for (int tries = 0; tries < 32 && to == from; ++tries) {
              const std::size_t m = p.random_municipality(rng);
              if (geography[m].prefecture != prefecture) to = m;
            }
          }
          for (int tries = 0; tries < 32 && to == from; ++tries) {
            const std::size_t m = p.random_municipality_in(prefecture, rng);
            if (m != from && m < geography.size()) to = m;
          }
          for (int tries = 0; tries < 32 && to == from; ++tries) to = p.random_municipality(rng);
          if (to == from) {
            made = false;
            break;
          }
          emit(Reason::move_out, from);
          // Moves in alone, heading a household of one at the new address.
          r.previous_address = r.address;
          r.address = p.random_address(to, rng);
          r.municipality = to;
          r.household = r.index;
          r.relationship = Relationship::head;
          r.became_resident_on = day;
          r.address_notified_on = day;
          emit(Reason::move_in, to);
          break;
        }
        case Reason::move_within:
          made = subjects.next(r, [](const Resident&) { return true; });
          if (!made) break;
          r.address = p.random_address(r.municipality, rng);
          r.address_notified_on = day;
          emit(reason, r.municipality);
          break;
        case Reason::name_change: {
          made = subjects.next(r, [&](const Resident& x) {
            const int a = age(x);
            return x.sex == Sex::female && a >= 20 && a <= 45;
          });
          if (!made) break;
          const std::string old_surname(r.surname_kanji());
          Name surname = p.random_surname(rng);
          while (surname.kanji == old_surname) surname = p.random_surname(rng);
          const std::string given_kanji = r.name_kanji.substr(r.name_kanji.find(' '));
          const std::string given_kana = r.name_kana.substr(r.name_kana.find(' '));
          r.name_kanji.assign(surname.kanji).append(given_kanji);
          r.name_kana.assign(surname.kana).append(given_kana);
          emit(reason, r.municipality);
          break;
        }
        case Reason::ex_officio_correction: {
          // A wrongly recorded birth date, corrected to an earlier day.
          made = subjects.next(r, [](const Resident&) { return true; });
          if (!made) break;
          const Date corrected = r.birth_date.plus_days(-rng.between(1, 30)).value();
          if (r.became_resident_on == r.birth_date) r.became_resident_on = corrected;
          r.birth_date = corrected;
          emit(reason, r.municipality);
          break;
        }
        case Reason::resident_code_change:
          made = subjects.next(r, [](const Resident&) { return true; });
          if (!made) break;
          c.previous_code = r.code;
          r.index = next_new++;
          r.code = p.code_of(r.index);
          emit(reason, r.municipality);
          break;
        case Reason::address_renumbering:
          made = subjects.next(r, [](const Resident&) { return true; });
          if (!made) break;
          r.address = p.random_address(r.municipality, rng);
          emit(reason, r.municipality);
          break;
        case Reason::ex_officio_entry:
          newcomer(p.random_municipality(rng), p.ages().draw(rng, 0, 90), rng);
          emit(reason, r.municipality);
          break;
        case Reason::naturalization:
          newcomer(p.random_municipality(rng), p.ages().draw(rng, 20, 80), rng);
          emit(reason, r.municipality);
          break;
        case Reason::nationality_acquired:
          newcomer(p.random_municipality(rng), p.ages().draw(rng, 0, 19), rng);
          emit(reason, r.municipality);
          break;
        case Reason::ex_officio_deletion:
        case Reason::nationality_lost:
          made = subjects.next(r, [](const Resident&) { return true; });
          if (made) emit(reason, r.municipality);
          break;
        case Reason::declared_missing:
          made = subjects.next(r, [&](const Resident& x) { return age(x) >= 20; });
          if (made) emit(reason, r.municipality);
          break;
        default:
          made = false;
          break;
      }
      if (made)
        ++stats.events;
      else
        ++stats.dropped;
    }
  }
  return stats;
}

}  // namespace juki::backend::population
