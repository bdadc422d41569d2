#include "backend/population/population.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <numeric>

#include "backend/population/random.hpp"
#include "common/check_digits.hpp"

namespace juki::backend::population {

using calendar::Date;

namespace {

constexpr int kBlock = 128;  // residents per block of household sizes
constexpr int kMaxHousehold = 7;

void append_number(std::string& s, int value) {
  char digits[12];
  const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  s.append(digits, end);
}

// A day drawn between two of years_before_base_ (or after one, up to the base
// date): create() checked the base year, so it is a Date and this never fails.
Date drawn_day(std::int64_t days_since_epoch) {
  return Date::from_days_since_epoch(days_since_epoch).value();
}

}  // namespace

std::string_view to_string(Sex sex) {
  return sex == Sex::male ? "male" : "female";
}

std::string_view to_kanji(Relationship r) {
  switch (r) {
    case Relationship::head:
      return "世帯主";
    case Relationship::wife:
      return "妻";
    case Relationship::husband:
      return "夫";
    case Relationship::child:
      return "子";
    case Relationship::father:
      return "父";
    case Relationship::mother:
      return "母";
    case Relationship::grandchild:
      return "孫";
    case Relationship::child_wife:
      return "子の妻";
  }
  return "?";
}

std::string_view Resident::surname_kanji() const {
  return std::string_view(name_kanji).substr(0, name_kanji.find(' '));
}

std::string_view Resident::surname_kana() const {
  return std::string_view(name_kana).substr(0, name_kana.find(' '));
}

// ------------------------------------------------------------ creation

Result<Population, PopulationError> Population::create(const PopulationConfig& config) {
  if (config.residents < kMinResidents || config.residents > kMaxResidents)
    return unexpected(PopulationError{"the population size must be from 1,000 to 125,000,000"});
  const int base_year = config.base_date.year();
  if (base_year < kFirstBaseYear || base_year > kLastBaseYear)
    return unexpected(PopulationError{"the base date must be from " +
                                      std::to_string(kFirstBaseYear) + " to " +
                                      std::to_string(kLastBaseYear)});
  Geography geography;
  const std::size_t all = geography.size();
  const std::size_t limit = config.municipality_limit.value_or(all);
  if (limit < 1 || limit > all)
    return unexpected(
        PopulationError{"the municipality limit must be from 1 to " + std::to_string(all)});
  std::vector<std::size_t> selected;
  if (limit == all) {
    selected.resize(all);
    std::iota(selected.begin(), selected.end(), std::size_t{0});
  } else {
    // A small country that stays the same for every seed: about two
    // municipalities per prefecture, the most populous prefectures first.
    std::vector<int> by_population;
    for (const Prefecture& p : prefectures()) by_population.push_back(p.code);
    std::stable_sort(by_population.begin(), by_population.end(), [](int a, int b) {
      return prefectures()[static_cast<std::size_t>(a - 1)].population_thousands >
             prefectures()[static_cast<std::size_t>(b - 1)].population_thousands;
    });
    by_population.resize(std::min<std::size_t>(47, (limit + 1) / 2));
    for (std::size_t round = 0; selected.size() < limit; ++round)
      for (int p : by_population)
        if (round < geography.count_of(p) && selected.size() < limit)
          selected.push_back(geography.first_of(p) + round);
    std::sort(selected.begin(), selected.end());
  }
  return Population(config, std::move(selected));
}

Population::Population(const PopulationConfig& config, std::vector<std::size_t> selected)
    : config_(config),
      codes_(derive(config.seed, Stream::resident_code, 0)),
      selected_(std::move(selected)) {
  // From kFirstBaseYear on, every one is a Date (create() checked the year).
  for (int years = 0; years <= kMaxAge + 1; ++years)
    years_before_base_[static_cast<std::size_t>(years)] = static_cast<std::int32_t>(
        years_before(config_.base_date, years).value().days_since_epoch());
  // Residents apportioned to the municipalities by weight (largest remainders,
  // ties to the lower code): integers, so the same everywhere.
  const std::uint64_t n = config_.residents;
  std::uint64_t total = 0;
  for (std::size_t m : selected_) total += geography_[m].weight;
  std::vector<std::uint64_t> counts(selected_.size());
  std::vector<std::pair<std::uint64_t, std::size_t>> remainders;
  std::uint64_t given = 0;
  for (std::size_t i = 0; i < selected_.size(); ++i) {
    const std::uint64_t product = n * geography_[selected_[i]].weight;
    counts[i] = product / total;
    given += counts[i];
    remainders.emplace_back(product % total, i);
  }
  std::stable_sort(remainders.begin(), remainders.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  for (std::size_t k = 0; given < n; ++k, ++given) ++counts[remainders[k].second];
  first_index_.push_back(0);
  for (auto c : counts) first_index_.push_back(first_index_.back() + c);
  selected_position_.assign(geography_.size(), -1);
  for (std::size_t i = 0; i < selected_.size(); ++i)
    selected_position_[selected_[i]] = static_cast<std::int32_t>(i);
  // Surnames: the r-th most common weighs 1 / (r + 10).
  std::uint32_t running = 0;
  for (std::size_t r = 0; r < surnames().size(); ++r) {
    running += static_cast<std::uint32_t>(1'000'000 / (r + 10));
    surname_cumulative_.push_back(running);
  }
}

// ------------------------------------------------------------ indexes and codes

bool Population::has(std::size_t municipality) const {
  return municipality < selected_position_.size() && selected_position_[municipality] >= 0;
}

Population::Range Population::range_of(std::size_t municipality) const {
  if (!has(municipality)) return {};
  const auto p = static_cast<std::size_t>(selected_position_[municipality]);
  return {first_index_[p], first_index_[p + 1] - first_index_[p]};
}

std::size_t Population::municipality_of(std::uint64_t index) const {
  const auto it = std::upper_bound(first_index_.begin(), first_index_.end(), index);
  return selected_[static_cast<std::size_t>(it - first_index_.begin()) - 1];
}

std::string Population::code_of(std::uint64_t index) const {
  return resident_code(codes_, index);
}

std::optional<std::uint64_t> Population::index_of(std::string_view code) const {
  if (!check_digits::resident_code_valid(code)) return std::nullopt;
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 10; ++i) v = v * 10 + static_cast<std::uint64_t>(code[i] - '0');
  return codes_.inverse(v);
}

// ------------------------------------------------------------ draws

std::string Population::random_address(std::size_t municipality, Rng& rng) const {
  const Municipality& m = geography_[municipality];
  std::string s;
  s.reserve(96);
  s += prefectures()[static_cast<std::size_t>(m.prefecture - 1)].name;
  s += m.name;
  s += m.towns[rng.below(m.towns.size())];
  append_number(s, static_cast<int>(rng.between(1, 5)));
  s += "丁目";
  append_number(s, static_cast<int>(rng.between(1, 30)));
  s += "番";
  append_number(s, static_cast<int>(rng.between(1, 25)));
  s += "号";
  return s;
}

std::size_t Population::random_municipality(Rng& rng) const {
  return municipality_of(rng.below(size()));
}

std::size_t Population::random_municipality_in(int prefecture, Rng& rng) const {
  // The prefecture's municipalities are contiguous in the geography, and so
  // are their residents.
  const std::size_t first = geography_.first_of(prefecture);
  const auto from = std::lower_bound(selected_.begin(), selected_.end(), first);
  const auto to = std::lower_bound(from, selected_.end(), first + geography_.count_of(prefecture));
  if (from == to) return geography_.size();
  const std::uint64_t begin = first_index_[static_cast<std::size_t>(from - selected_.begin())];
  const std::uint64_t end = first_index_[static_cast<std::size_t>(to - selected_.begin())];
  if (begin == end) return geography_.size();
  return municipality_of(begin + rng.below(end - begin));
}

Name Population::random_given_name(Sex sex, int birth_year, Rng& rng) const {
  const auto names =
      sex == Sex::male ? male_names(name_era(birth_year)) : female_names(name_era(birth_year));
  return names[rng.below(names.size())];
}

Name Population::random_surname(Rng& rng) const {
  const std::uint32_t x = rng.below(surname_cumulative_.back());
  const auto it = std::upper_bound(surname_cumulative_.begin(), surname_cumulative_.end(), x);
  return surnames()[static_cast<std::size_t>(it - surname_cumulative_.begin())];
}

// ------------------------------------------------------------ households

struct Population::Household {
  std::size_t municipality = 0;
  std::uint64_t key = 0;
  std::uint64_t head_index = 0;
  int size = 0;
  Name surname;
  std::array<Relationship, kMaxHousehold> relationship{};
  std::array<Sex, kMaxHousehold> sex{};
  std::array<int, kMaxHousehold> age{};
  std::string address;
  std::optional<Date> moved_in;  // when the household came from previous_address
  std::string previous_address;
};

int Population::block_households(std::size_t municipality, std::uint64_t block, int length,
                                 std::array<std::uint8_t, 128>& sizes) const {
  Rng rng(derive(config_.seed, Stream::household_partition,
                 (static_cast<std::uint64_t>(municipality) << 40) | block));
  int count = 0;
  for (int filled = 0; filled < length; ++count) {
    // The block's last household is cut to fit: a little more small households.
    const int s = std::min(draw_household_size(rng), length - filled);
    sizes[static_cast<std::size_t>(count)] = static_cast<std::uint8_t>(s);
    filled += s;
  }
  return count;
}

void Population::plan_household(std::size_t municipality, std::uint64_t key,
                                std::uint64_t head_index, int size, Household& h) const {
  Rng rng(key);
  h.municipality = municipality;
  h.key = key;
  h.head_index = head_index;
  h.size = 0;
  h.surname = random_surname(rng);

  auto add = [&](Relationship r, Sex s, int age) {
    const auto i = static_cast<std::size_t>(h.size++);
    h.relationship[i] = r;
    h.sex[i] = s;
    h.age[i] = std::clamp(age, 0, kMaxAge);
  };
  auto age_in = [&](int lo, int hi) {
    lo = std::clamp(lo, 0, kMaxAge);
    return ages_.draw(rng, lo, std::clamp(hi, lo, kMaxAge));
  };
  auto any_sex = [&](std::uint64_t male_percent) {
    return rng.chance(male_percent, 100) ? Sex::male : Sex::female;
  };
  auto head = [&](int lo, int hi, std::uint64_t male_percent) {
    add(Relationship::head, any_sex(male_percent), age_in(lo, hi));
    return h.age[0];
  };
  // The head's spouse: wives a little younger, husbands a little older.
  auto spouse = [&]() {
    const int head_age = h.age[0];
    if (h.sex[0] == Sex::male)
      add(Relationship::wife, Sex::female,
          std::max(18, head_age + static_cast<int>(rng.between(-7, 2))));
    else
      add(Relationship::husband, Sex::male,
          std::max(18, head_age + static_cast<int>(rng.between(-2, 7))));
  };
  // Children first, then their parents: the eldest child's age drawn from the
  // pyramid up to `oldest`, the others younger, the mother 22 to 40 years older;
  // drawing the parents' ages first would crowd the children into the youngest years.
  int eldest = 0;
  auto children = [&](int count, int oldest) {
    eldest = age_in(0, oldest);
    add(Relationship::child, any_sex(51), eldest);
    for (int i = 1; i < count; ++i)
      add(Relationship::child, any_sex(51), age_in(std::max(0, eldest - 12), eldest));
  };
  // The head and spouse of children already drawn, placed before them.
  auto parents_of_children = [&](bool couple, std::uint64_t male_percent) {
    const int children_count = h.size;
    std::array<int, kMaxHousehold> child_ages{};
    std::array<Sex, kMaxHousehold> child_sexes{};
    for (int i = 0; i < children_count; ++i) {
      child_ages[static_cast<std::size_t>(i)] = h.age[static_cast<std::size_t>(i)];
      child_sexes[static_cast<std::size_t>(i)] = h.sex[static_cast<std::size_t>(i)];
    }
    h.size = 0;
    const int mother = eldest + static_cast<int>(rng.between(22, 40));
    if (couple) {
      add(Relationship::head, Sex::male, mother + static_cast<int>(rng.between(-2, 7)));
      add(Relationship::wife, Sex::female, mother);
      if (!rng.chance(male_percent, 100)) {  // a wife heading the household
        std::swap(h.age[0], h.age[1]);
        h.sex[0] = Sex::female;
        h.sex[1] = Sex::male;
        h.relationship[1] = Relationship::husband;
      }
    } else {
      const bool male = rng.chance(male_percent, 100);
      add(Relationship::head, male ? Sex::male : Sex::female,
          mother + (male ? static_cast<int>(rng.between(0, 5)) : 0));
    }
    for (int i = 0; i < children_count; ++i)
      add(Relationship::child, child_sexes[static_cast<std::size_t>(i)],
          child_ages[static_cast<std::size_t>(i)]);
  };
  auto family = [&](bool couple, int count, int oldest, std::uint64_t male_percent) {
    children(count, oldest);
    parents_of_children(couple, male_percent);
  };
  auto head_parents = [&](int count) {
    const int head_age = h.age[0];
    if (count == 2) {
      const int father = head_age + static_cast<int>(rng.between(22, 38));
      add(Relationship::father, Sex::male, father);
      add(Relationship::mother, Sex::female, father + static_cast<int>(rng.between(-6, 2)));
    } else {
      const bool mother = rng.chance(70, 100);
      add(mother ? Relationship::mother : Relationship::father, mother ? Sex::female : Sex::male,
          age_in(head_age + 20, head_age + 40));
    }
  };
  // Three generations: an older couple, their son and his wife, grandchildren;
  // drawn from the youngest up, as families are.
  auto three_generations = [&](int grandchildren) {
    const int eldest_grandchild = age_in(0, 25);
    const int wife = eldest_grandchild + static_cast<int>(rng.between(22, 38));
    const int son = wife + static_cast<int>(rng.between(-2, 5));
    add(Relationship::head, Sex::male, son + static_cast<int>(rng.between(22, 36)));
    spouse();
    add(Relationship::child, Sex::male, son);
    add(Relationship::child_wife, Sex::female, wife);
    add(Relationship::grandchild, any_sex(51), eldest_grandchild);
    for (int i = 1; i < grandchildren; ++i)
      add(Relationship::grandchild, any_sex(51),
          age_in(std::max(0, eldest_grandchild - 10), eldest_grandchild));
  };

  const std::uint32_t type = rng.below(100);
  switch (size) {
    case 1: {
      const int age = age_in(18, kMaxAge);
      add(Relationship::head, any_sex(age >= 65 ? 38 : 57), age);
      break;
    }
    case 2:
      if (type < 58) {
        // Couples without children at home are mostly older.
        if (rng.chance(55, 100))
          head(65, 95, 92);
        else
          head(22, 64, 92);
        spouse();
      } else if (type < 82) {
        family(false, 1, 55, 22);
      } else {
        head(25, 75, 55);
        head_parents(1);
      }
      break;
    case 3:
      if (type < 68) {
        family(true, 1, 45, 92);
      } else if (type < 83) {
        family(false, 2, 45, 15);
      } else {
        head(30, 72, 92);
        spouse();
        head_parents(1);
      }
      break;
    case 4:
      if (type < 75) {
        family(true, 2, 35, 94);
      } else if (type < 90) {
        family(true, 1, 35, 94);
        head_parents(1);
      } else {
        family(false, 3, 30, 15);
      }
      break;
    case 5:
      if (type < 40) {
        family(true, 3, 30, 95);
      } else if (type < 75) {
        family(true, 2, 30, 95);
        head_parents(1);
      } else {
        three_generations(1);
      }
      break;
    case 6:
      if (type < 35) {
        family(true, 2, 30, 95);
        head_parents(2);
      } else if (type < 75) {
        three_generations(2);
      } else {
        family(true, 4, 30, 95);
      }
      break;
    default:
      if (type < 50) {
        three_generations(3);
      } else {
        family(true, 3, 30, 95);
        head_parents(2);
      }
      break;
  }
  h.size = std::min(h.size, size);  // (every type has exactly `size` members)

  h.address = random_address(municipality, rng);
  const std::int64_t base = config_.base_date.days_since_epoch();
  h.moved_in.reset();
  h.previous_address.clear();
  if (rng.chance(75, 100)) {
    // Moved in as a household, after the head turned 18 (every head is 18 or
    // older) and within 40 years.
    const std::int64_t lower = std::max(
        years_before_base_[40], years_before_base_[static_cast<std::size_t>(h.age[0] - 18)]);
    h.moved_in = drawn_day(rng.between(lower, base));
    const int prefecture = geography_[municipality].prefecture;
    std::size_t from = municipality;
    const bool same_prefecture = rng.chance(60, 100);
    for (int tries = 0; tries < 16 && from == municipality; ++tries) {
      from = same_prefecture ? geography_.random_municipality_in(prefecture, rng)
                             : geography_.random_municipality(rng);
      if (!same_prefecture && geography_[from].prefecture == prefecture) from = municipality;
    }
    if (from == municipality) from = (municipality + 1) % geography_.size();
    h.previous_address = random_address(from, rng);
  }
}

void Population::fill_member(const Household& h, int member, std::uint64_t index,
                             Resident& out) const {
  const auto j = static_cast<std::size_t>(member);
  Rng rng(derive(h.key, Stream::member, j));
  const std::int64_t base = config_.base_date.days_since_epoch();
  const int age = h.age[j];
  const auto a = static_cast<std::size_t>(age);
  const Date birth = drawn_day(rng.between(years_before_base_[a + 1] + 1, years_before_base_[a]));
  const Name given = random_given_name(h.sex[j], birth.year(), rng);

  out.index = index;
  out.code.resize(11);
  resident_code(codes_, index, out.code.data());
  out.municipality = h.municipality;
  out.household = h.head_index;
  out.name_kanji.assign(h.surname.kanji).append(" ").append(given.kanji);
  out.name_kana.assign(h.surname.kana).append(" ").append(given.kana);
  out.birth_date = birth;
  out.sex = h.sex[j];
  out.relationship = h.relationship[j];
  out.address = h.address;
  const bool married_in = h.relationship[j] == Relationship::wife ||
                          h.relationship[j] == Relationship::husband ||
                          h.relationship[j] == Relationship::child_wife;
  if (h.moved_in && birth < *h.moved_in) {
    out.became_resident_on = *h.moved_in;
    out.previous_address = h.previous_address;
  } else if (!h.moved_in && married_in && age >= 20) {
    // Came from elsewhere on marrying into a household that never moved.
    const std::int64_t lower = std::max(years_before_base_[a - 20], years_before_base_[40]);
    out.became_resident_on = drawn_day(rng.between(lower, base));
    std::size_t from = geography_.random_municipality(rng);
    if (from == h.municipality) from = (from + 1) % geography_.size();
    out.previous_address = random_address(from, rng);
  } else {
    out.became_resident_on = birth;
    out.previous_address.clear();
  }
  // Notified within the 14 days the law allows, never after the base date.
  out.address_notified_on =
      drawn_day(std::min(base, out.became_resident_on.days_since_epoch() + rng.between(0, 14)));
}

// ------------------------------------------------------------ residents

Resident Population::resident(std::uint64_t index) const {
  Resident r;
  resident(index, r);
  return r;
}

void Population::resident(std::uint64_t index, Resident& out) const {
  for_each(index, index + 1, [&](const Resident& r) { out = r; });
}

void Population::for_each(std::uint64_t first, std::uint64_t end,
                          const std::function<void(const Resident&)>& f) const {
  end = std::min(end, size());
  Household household;
  Resident resident;
  std::array<std::uint8_t, 128> sizes{};
  std::uint64_t i = first;
  while (i < end) {
    const auto position = static_cast<std::size_t>(
        std::upper_bound(first_index_.begin(), first_index_.end(), i) - first_index_.begin() - 1);
    const std::size_t m = selected_[position];
    const std::uint64_t base = first_index_[position], count = first_index_[position + 1] - base;
    const std::uint64_t block = (i - base) / kBlock;
    const std::uint64_t block_first = base + block * kBlock;
    const int length = static_cast<int>(std::min<std::uint64_t>(kBlock, count - block * kBlock));
    const int households = block_households(m, block, length, sizes);
    std::uint64_t start = block_first;
    for (int k = 0; k < households && i < end; ++k) {
      const int s = sizes[static_cast<std::size_t>(k)];
      if (start + static_cast<std::uint64_t>(s) <= i) {
        start += static_cast<std::uint64_t>(s);
        continue;
      }
      plan_household(m, derive(config_.seed, Stream::household, start), start, s, household);
      for (auto j = static_cast<int>(i - start); j < s && i < end; ++j, ++i) {
        fill_member(household, j, i, resident);
        f(resident);
      }
      start += static_cast<std::uint64_t>(s);
    }
  }
}

}  // namespace juki::backend::population
