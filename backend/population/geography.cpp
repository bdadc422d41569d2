#include "backend/population/geography.hpp"

#include <algorithm>
#include <array>
#include <set>

#include "common/check_digits.hpp"

namespace juki::backend::population {

namespace {

// Municipality counts as of the 2014 mergers' end (1,741 with Tokyo's 23
// wards), approximate city and village counts, 2020 census populations.
constexpr std::array<Prefecture, 47> kPrefectures = {{
    {1, "北海道", 179, 35, 15, 5225}, {2, "青森県", 40, 10, 8, 1238},
    {3, "岩手県", 33, 14, 4, 1211},   {4, "宮城県", 35, 14, 1, 2302},
    {5, "秋田県", 25, 13, 3, 960},    {6, "山形県", 35, 13, 3, 1068},
    {7, "福島県", 59, 13, 15, 1833},  {8, "茨城県", 44, 32, 2, 2867},
    {9, "栃木県", 25, 14, 0, 1933},   {10, "群馬県", 35, 12, 8, 1939},
    {11, "埼玉県", 63, 40, 1, 7345},  {12, "千葉県", 54, 37, 1, 6284},
    {13, "東京都", 62, 26, 8, 14048}, {14, "神奈川県", 33, 19, 1, 9237},
    {15, "新潟県", 30, 20, 4, 2201},  {16, "富山県", 15, 10, 1, 1035},
    {17, "石川県", 19, 11, 0, 1133},  {18, "福井県", 17, 9, 0, 767},
    {19, "山梨県", 27, 13, 6, 810},   {20, "長野県", 77, 19, 35, 2048},
    {21, "岐阜県", 42, 21, 2, 1979},  {22, "静岡県", 35, 23, 0, 3633},
    {23, "愛知県", 54, 38, 2, 7542},  {24, "三重県", 29, 14, 0, 1770},
    {25, "滋賀県", 19, 13, 0, 1414},  {26, "京都府", 26, 15, 1, 2578},
    {27, "大阪府", 43, 33, 1, 8838},  {28, "兵庫県", 41, 29, 0, 5465},
    {29, "奈良県", 39, 12, 12, 1324}, {30, "和歌山県", 30, 9, 1, 923},
    {31, "鳥取県", 19, 4, 1, 553},    {32, "島根県", 19, 8, 1, 671},
    {33, "岡山県", 27, 15, 2, 1888},  {34, "広島県", 23, 14, 0, 2800},
    {35, "山口県", 19, 13, 0, 1342},  {36, "徳島県", 24, 8, 1, 720},
    {37, "香川県", 17, 8, 0, 950},    {38, "愛媛県", 20, 11, 0, 1335},
    {39, "高知県", 34, 11, 6, 692},   {40, "福岡県", 60, 29, 2, 5135},
    {41, "佐賀県", 20, 10, 0, 811},   {42, "長崎県", 21, 13, 0, 1312},
    {43, "熊本県", 45, 14, 8, 1738},  {44, "大分県", 18, 14, 0, 1124},
    {45, "宮崎県", 26, 9, 3, 1070},   {46, "鹿児島県", 43, 19, 4, 1588},
    {47, "沖縄県", 41, 11, 19, 1467},
}};

// Tokyo's special wards, 13101..13123, with their 2020 populations (thousands).
struct Ward {
  std::string_view name;
  int population_thousands;
};
constexpr std::array<Ward, 23> kTokyoWards = {{
    {"千代田区", 67}, {"中央区", 170},   {"港区", 260},     {"新宿区", 349}, {"文京区", 240},
    {"台東区", 211},  {"墨田区", 272},   {"江東区", 524},   {"品川区", 422}, {"目黒区", 288},
    {"大田区", 748},  {"世田谷区", 943}, {"渋谷区", 243},   {"中野区", 344}, {"杉並区", 591},
    {"豊島区", 301},  {"北区", 355},     {"荒川区", 217},   {"板橋区", 584}, {"練馬区", 752},
    {"足立区", 695},  {"葛飾区", 453},   {"江戸川区", 697},
}};
constexpr int kTokyo = 13;

// Place-name parts: a first and a second kanji make plausible names (桜川, 高岡).
constexpr std::array<std::string_view, 80> kFirstParts = {
    "東", "西", "南", "北", "大", "小", "高", "中", "上", "下", "新", "本", "長", "若", "松", "桜",
    "青", "白", "黒", "赤", "金", "石", "岩", "山", "川", "田", "野", "原", "島", "沢", "岡", "浜",
    "宮", "富", "福", "吉", "美", "平", "栄", "緑", "朝", "日", "月", "星", "花", "森", "林", "竹",
    "梅", "鶴", "亀", "藤", "泉", "和", "豊", "清", "春", "秋", "千", "八", "三", "玉", "光", "明",
    "旭", "芦", "水", "稲", "菊", "鹿", "熊", "鷹", "曽", "笠", "江", "津", "浦", "湊", "神", "寺"};
constexpr std::array<std::string_view, 40> kSecondParts = {
    "田", "川", "山", "野", "原", "沢", "島", "岡", "浜", "崎", "宮", "谷", "瀬", "木",
    "井", "倉", "里", "見", "津", "浦", "根", "尾", "部", "塚", "丘", "坂", "橋", "森",
    "江", "松", "口", "内", "戸", "代", "畑", "城", "生", "間", "巻", "池"};
constexpr std::array<std::string_view, 8> kTownSuffixes = {"町", "町",   "町",   "",
                                                           "台", "が丘", "本町", "新町"};

// Fixed, not the seed: the geography does not change with the population.
constexpr std::uint64_t kGeographyKey = 0x4A554B49'6E657421ULL;

std::string place_name(Rng& rng) {
  for (;;) {
    const auto first = kFirstParts[rng.below(kFirstParts.size())];
    const auto second = kSecondParts[rng.below(kSecondParts.size())];
    if (first != second) return std::string(first) + std::string(second);
  }
}

std::string with_check_digit(const std::string& five) {
  return five + *check_digits::municipality(five);
}

std::string five_digits(int prefecture, int local) {
  std::string s(5, '0');
  const int v = prefecture * 1000 + local;
  for (int i = 4, x = v; i >= 0; --i, x /= 10) s[static_cast<std::size_t>(i)] = '0' + x % 10;
  return s;
}

}  // namespace

std::span<const Prefecture> prefectures() {
  return kPrefectures;
}

std::string prefecture_server_code(int prefecture) {
  return with_check_digit(five_digits(prefecture, 0));
}

std::string_view to_string(MunicipalityKind kind) {
  switch (kind) {
    case MunicipalityKind::ward:
      return "ward";
    case MunicipalityKind::city:
      return "city";
    case MunicipalityKind::town:
      return "town";
    case MunicipalityKind::village:
      return "village";
  }
  return "?";
}

Geography::Geography() {
  first_.push_back(0);
  for (const Prefecture& p : kPrefectures) {
    Rng rng(derive(kGeographyKey, static_cast<std::uint64_t>(p.code)));
    const int wards = p.code == kTokyo ? static_cast<int>(kTokyoWards.size()) : 0;
    const int towns = p.municipalities - wards - p.cities - p.villages;
    std::set<std::string> names;
    std::vector<Municipality> here;
    // Codes: wards PP101.., cities PP201.., towns then villages from PP301 with
    // gaps, as the districts (郡) leave them.
    for (int i = 0; i < wards; ++i) {
      Municipality m;
      m.code = with_check_digit(five_digits(p.code, 101 + i));
      m.name = std::string(kTokyoWards[static_cast<std::size_t>(i)].name);
      m.kind = MunicipalityKind::ward;
      here.push_back(std::move(m));
    }
    int next_local = 301;
    for (int i = 0; i < p.cities + towns + p.villages; ++i) {
      Municipality m;
      const bool city = i < p.cities;
      m.kind = city                   ? MunicipalityKind::city
               : i < p.cities + towns ? MunicipalityKind::town
                                      : MunicipalityKind::village;
      if (city) {
        m.code = with_check_digit(five_digits(p.code, 201 + i));
      } else {
        m.code = with_check_digit(five_digits(p.code, next_local));
        next_local += 1 + static_cast<int>(rng.below(3));
      }
      const std::string_view suffix = city ? "市" : m.kind == MunicipalityKind::town ? "町" : "村";
      do m.name = place_name(rng) + std::string(suffix);
      while (!names.insert(m.name).second);
      here.push_back(std::move(m));
    }
    // Sizes: Zipf-like 1/(rank + 2) in code order (a prefecture's first city is
    // usually its largest), jittered by +-40%, villages halved; Tokyo's wards
    // their real populations. Integers only.
    std::vector<std::uint64_t> raw(here.size());
    std::uint64_t others = 0;
    for (std::size_t r = static_cast<std::size_t>(wards); r < here.size(); ++r) {
      std::uint64_t w = (std::uint64_t{1} << 28) / (r - static_cast<std::size_t>(wards) + 2);
      w = w * (600 + rng.below(801)) / 1000;
      if (here[r].kind == MunicipalityKind::village) w /= 2;
      raw[r] = w;
      others += w;
    }
    if (wards > 0) {
      int ward_total = 0;
      for (const Ward& w : kTokyoWards) ward_total += w.population_thousands;
      const std::uint64_t others_thousands =
          static_cast<std::uint64_t>(p.population_thousands - ward_total);
      // Rescale the others to their thousands, in the wards' unit (2^20 per thousand).
      for (std::size_t r = static_cast<std::size_t>(wards); r < here.size(); ++r)
        raw[r] = raw[r] * others_thousands * (1u << 20) / others;
      for (int i = 0; i < wards; ++i)
        raw[static_cast<std::size_t>(i)] =
            static_cast<std::uint64_t>(
                kTokyoWards[static_cast<std::size_t>(i)].population_thousands)
            << 20;
    }
    std::uint64_t total = 0;
    for (auto w : raw) total += w;
    for (std::size_t r = 0; r < here.size(); ++r) {
      const std::uint64_t share = raw[r] * 16384 / total;  // of the prefecture, in 1/16384
      here[r].weight = static_cast<std::uint32_t>(
          std::max<std::uint64_t>(1, share * static_cast<std::uint64_t>(p.population_thousands)));
      here[r].prefecture = p.code;
      // 町名: between 6 and 40, more in larger places.
      const std::size_t town_count = 6 + rng.below(15) + std::min<std::size_t>(20, share / 400);
      for (std::size_t t = 0; t < town_count; ++t)
        here[r].towns.push_back(place_name(rng) +
                                std::string(kTownSuffixes[rng.below(kTownSuffixes.size())]));
    }
    for (auto& m : here) municipalities_.push_back(std::move(m));
    first_.push_back(municipalities_.size());
  }
  std::uint64_t running = 0;
  for (const auto& m : municipalities_) {
    running += m.weight;
    cumulative_weight_.push_back(running);
  }
}

std::size_t Geography::find(std::string_view code) const {
  for (std::size_t i = 0; i < municipalities_.size(); ++i)
    if (municipalities_[i].code == code) return i;
  return municipalities_.size();
}

namespace {
std::size_t draw(std::span<const std::uint64_t> cumulative, std::uint64_t before, Rng& rng) {
  const std::uint64_t total = cumulative.back() - before;
  const std::uint64_t x = before + rng.below(total);
  return static_cast<std::size_t>(std::upper_bound(cumulative.begin(), cumulative.end(), x) -
                                  cumulative.begin());
}
}  // namespace

std::size_t Geography::random_municipality(Rng& rng) const {
  return draw(cumulative_weight_, 0, rng);
}

std::size_t Geography::random_municipality_in(int prefecture, Rng& rng) const {
  const std::size_t first = first_of(prefecture), end = first + count_of(prefecture);
  const std::uint64_t before = first == 0 ? 0 : cumulative_weight_[first - 1];
  return first + draw(std::span(cumulative_weight_).subspan(first, end - first), before, rng);
}

int Geography::random_prefecture(Rng& rng) const {
  return municipalities_[random_municipality(rng)].prefecture;
}

}  // namespace juki::backend::population
