#include "backend/wire/import_file.hpp"

#include <nlohmann/json.hpp>

#include "common/strict_json.hpp"

#include <initializer_list>
#include <string>

namespace juki::backend::wire {

namespace {

using nlohmann::json;

struct Refused {
  FieldError error;
};

[[noreturn]] void refuse(std::string field, std::string message) {
  throw Refused{{std::move(field), std::move(message)}};
}

void only_fields(const json& object, const std::string& path,
                 std::initializer_list<std::string_view> allowed) {
  for (const auto& [key, value] : object.items()) {
    bool known = false;
    for (auto name : allowed) known = known || key == name;
    if (!known) refuse(path.empty() ? key : path + "." + key, "unknown field");
  }
}

std::string text(const json& object, const std::string& path, const char* key, bool required) {
  const std::string field = path.empty() ? key : path + "." + key;
  auto it = object.find(key);
  if (it == object.end()) {
    if (required) refuse(field, "missing");
    return {};
  }
  if (!it->is_string()) refuse(field, "must be a string");
  return it->get<std::string>();
}

proto::Sex sex_of(const std::string& text) {
  if (text == "male") return proto::MALE;
  if (text == "female") return proto::FEMALE;
  refuse("resident.sex", "must be \"male\" or \"female\", not \"" + text + "\"");
}

const char* sex_name(proto::Sex sex) {
  return sex == proto::MALE ? "male" : sex == proto::FEMALE ? "female" : "";
}

}  // namespace

Result<proto::ChangeReport, FieldError> parse_report_line(std::string_view line) {
  try {
    auto parsed = parse_strict_json(line);
    if (!parsed) return unexpected(FieldError{parsed.error().duplicate, parsed.error().message});
    const json& object = *parsed;
    if (!object.is_object()) refuse("", "a line is one JSON object");
    only_fields(object, "",
                {"report", "municipality", "reason", "date", "resident", "previous_code"});
    proto::ChangeReport report;
    report.set_report(text(object, "", "report", true));
    report.set_municipality(text(object, "", "municipality", true));
    const std::string reason = text(object, "", "reason", true);
    auto code = reason_from_name(reason);
    if (!code) refuse("reason", "unknown change reason \"" + reason + "\"");
    report.set_reason(*code);
    report.set_date(text(object, "", "date", true));
    report.set_previous_code(text(object, "", "previous_code", false));

    auto r = object.find("resident");
    if (r == object.end()) refuse("resident", "missing");
    if (!r->is_object()) refuse("resident", "must be an object");
    auto* resident = report.mutable_resident();
    auto* identity = resident->mutable_identity();
    identity->set_resident_code(text(*r, "resident", "code", true));
    if (kind_of(*code) == ReasonKind::deletion) {
      only_fields(*r, "resident", {"code"});
      return report;
    }
    only_fields(
        *r, "resident",
        {"code", "name_kanji", "name_kana", "birth_date", "sex", "address", "household_head",
         "became_resident_on", "address_notified_on", "previous_address"});
    identity->set_name_kanji(text(*r, "resident", "name_kanji", true));
    identity->set_name_kana(text(*r, "resident", "name_kana", true));
    identity->set_birth_date(text(*r, "resident", "birth_date", true));
    identity->set_sex(sex_of(text(*r, "resident", "sex", true)));
    identity->set_address(text(*r, "resident", "address", true));
    resident->set_household_head(text(*r, "resident", "household_head", true));
    resident->set_became_resident_on(text(*r, "resident", "became_resident_on", true));
    resident->set_address_notified_on(text(*r, "resident", "address_notified_on", true));
    resident->set_previous_address(text(*r, "resident", "previous_address", false));
    return report;
  } catch (const Refused& refused) {
    return unexpected(refused.error);
  }
}

std::string report_line(const proto::ChangeReport& report) {
  json object = json::object();
  object["report"] = report.report();
  object["municipality"] = report.municipality();
  object["reason"] = std::string(reason_name(report.reason()));
  object["date"] = report.date();
  const auto& resident = report.resident();
  const auto& identity = resident.identity();
  json r = json::object();
  r["code"] = identity.resident_code();
  if (kind_of(report.reason()) != ReasonKind::deletion) {
    r["name_kanji"] = identity.name_kanji();
    r["name_kana"] = identity.name_kana();
    r["birth_date"] = identity.birth_date();
    r["sex"] = sex_name(identity.sex());
    r["address"] = identity.address();
    r["household_head"] = resident.household_head();
    r["became_resident_on"] = resident.became_resident_on();
    r["address_notified_on"] = resident.address_notified_on();
    if (!resident.previous_address().empty()) r["previous_address"] = resident.previous_address();
  }
  object["resident"] = std::move(r);
  if (!report.previous_code().empty()) object["previous_code"] = report.previous_code();
  return object.dump(-1, ' ', false, json::error_handler_t::strict);
}

}  // namespace juki::backend::wire
