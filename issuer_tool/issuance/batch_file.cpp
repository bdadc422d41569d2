#include "issuer_tool/issuance/batch_file.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace juki::issuance {

namespace {

using nlohmann::json;
namespace rec = juki::records;

constexpr std::string_view kFields[] = {
    "resident_code", "name",      "kana",    "birth_date",    "sex",
    "address",       "face",      "braille", "same_day",      "reissue",
    "id_document",   "id_number", "holder",  "jpki_auth_pin", "jpki_sign_pin"};

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7F;
  });
}

// A name from the file, safe to repeat in a message: no control characters,
// not too long.
std::string shown(std::string_view s) {
  std::size_t n = std::min<std::size_t>(s.size(), 40);
  // Cut between UTF-8 characters: the message goes into JSON.
  while (n < s.size() && n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  std::string out(s.substr(0, n));
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = '?';
  return n < s.size() ? out + "..." : out;
}

// One line, or why it is refused: the first problem found.
Result<BatchApplication, std::string> parse_line(std::string_view line,
                                                 const BatchDefaults& defaults) {
  const json j = json::parse(line, nullptr, false);
  if (j.is_discarded()) return unexpected(std::string("not JSON"));
  if (!j.is_object()) return unexpected(std::string("not a JSON object"));
  for (const auto& [key, value] : j.items())
    if (std::find(std::begin(kFields), std::end(kFields), key) == std::end(kFields))
      return unexpected("unknown field '" + shown(key) + "'");

  // A text field: required or not; null counts as absent.
  auto text = [&](const char* key,
                  bool required) -> Result<std::optional<std::string>, std::string> {
    const auto it = j.find(key);
    if (it == j.end() || it->is_null()) {
      if (required) return unexpected(std::string("missing '") + key + "'");
      return std::optional<std::string>();
    }
    if (!it->is_string()) return unexpected(std::string("'") + key + "' must be a string");
    std::string s = it->get<std::string>();
    if (has_control(s)) return unexpected(std::string("'") + key + "' holds a control character");
    return std::optional<std::string>(std::move(s));
  };
  auto flag = [&](const char* key) -> Result<bool, std::string> {
    const auto it = j.find(key);
    if (it == j.end() || it->is_null()) return false;
    if (!it->is_boolean()) return unexpected(std::string("'") + key + "' must be true or false");
    return it->get<bool>();
  };

  std::string resident_code, name, kana, birth_date, address, document, auth_pin, sign_pin;
  const std::pair<const char*, std::string*> required[] = {{"resident_code", &resident_code},
                                                           {"name", &name},
                                                           {"kana", &kana},
                                                           {"birth_date", &birth_date},
                                                           {"address", &address},
                                                           {"id_document", &document},
                                                           {"jpki_auth_pin", &auth_pin},
                                                           {"jpki_sign_pin", &sign_pin}};
  for (const auto& [key, value] : required) {
    auto v = text(key, true);
    if (!v) return unexpected(v.error());
    *value = std::move(**v);
  }
  auto number = text("id_number", false);
  if (!number) return unexpected(number.error());
  auto holder = text("holder", false);
  if (!holder) return unexpected(holder.error());
  auto face = text("face", false);
  if (!face) return unexpected(face.error());
  if (*face && **face != "A" && **face != "B")
    return unexpected(std::string("'face' must be \"A\" or \"B\""));
  auto braille = flag("braille");
  if (!braille) return unexpected(braille.error());
  auto same_day = flag("same_day");
  if (!same_day) return unexpected(same_day.error());
  auto reissue = flag("reissue");
  if (!reissue) return unexpected(reissue.error());
  const auto sex = j.find("sex");
  if (sex == j.end()) return unexpected(std::string("missing 'sex'"));
  if (!sex->is_number_integer())
    return unexpected(std::string("'sex' must be a number: 0, 1, 2 or 9 (ISO/IEC 5218)"));
  const std::int64_t sex_code = sex->get<std::int64_t>();
  if (sex_code != 0 && sex_code != 1 && sex_code != 2 && sex_code != 9)
    return unexpected(std::string("'sex' must be 0, 1, 2 or 9 (ISO/IEC 5218)"));

  BatchApplication a;
  rec::ApplicationRequest& r = a.request;
  r.person = {resident_code, name, kana, birth_date, static_cast<rec::Sex>(sex_code), address};
  r.kind = *reissue ? rec::ApplicationKind::reissue : rec::ApplicationKind::new_card;
  r.face = *face ? (**face)[0] : 'A';
  r.braille = *braille;
  r.same_day = *same_day;
  r.identity = {document, *number};
  if (auto ok = rec::check_request(r); !ok) return unexpected(ok.error());
  CardOrder& o = a.order;
  o.resident_code = r.person.resident_code;
  o.municipality = defaults.municipality;
  o.issue_date = defaults.issue_date;
  o.face = r.face;
  o.holder = holder->value_or(r.person.name);
  o.jpki_auth_pin = auth_pin;
  o.jpki_sign_pin = sign_pin;
  if (auto ok = check_order(o); !ok) return unexpected(ok.error());
  return a;
}

}  // namespace

Result<std::vector<BatchApplication>, std::vector<LineError>> parse_applications(
    std::string_view text, const BatchDefaults& defaults) {
  std::vector<BatchApplication> applications;
  std::vector<LineError> errors;
  std::size_t number = 0;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    ++number;
    if (number == 1 && line.starts_with("\xEF\xBB\xBF")) line.remove_prefix(3);  // a BOM
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    auto a = parse_line(line, defaults);
    if (!a) {
      errors.push_back({number, a.error()});
      continue;
    }
    a->line = number;
    applications.push_back(std::move(*a));
  }
  if (applications.empty() && errors.empty()) errors.push_back({0, "no application in the file"});
  if (!errors.empty()) return unexpected(std::move(errors));
  return applications;
}

}  // namespace juki::issuance
