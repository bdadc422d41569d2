// The wire's identity rules: reasons, the checks of identity information and
// of the existing system's reports, the import file's strict parser, and the
// canonical record digest.
#include <catch2/catch.hpp>

#include "backend/wire/identity.hpp"
#include "backend/wire/import_file.hpp"

using namespace juki::backend;
namespace proto = juki::net::v1;

namespace {

const auto kToday = *calendar::Date::parse("2026-12-07");

const std::string kBirthLine =
    R"({"report":"20261207-000001","municipality":"131016","reason":"birth","date":"2026-12-01",)"
    R"("resident":{"code":"00000000019","name_kanji":"山田 花子","name_kana":"ヤマダ ハナコ",)"
    R"("birth_date":"2026-12-01","sex":"female","address":"東京都千代田区千代田1-1",)"
    R"("household_head":"子","became_resident_on":"2026-12-01","address_notified_on":"2026-12-03"}})";

proto::ChangeReport parsed(const std::string& line) {
  auto r = wire::parse_report_line(line);
  if (!r) FAIL(r.error().field << ": " << r.error().message);
  return *r;
}

std::string refusal(const std::string& line) {
  auto r = wire::parse_report_line(line);
  if (!r) return r.error().field + ": " + r.error().message;
  auto problem = wire::check_report(*r, "131016", kToday);
  return problem ? problem->field + ": " + problem->message : "";
}

std::string with(std::string line, const std::string& from, const std::string& to) {
  const auto at = line.find(from);
  REQUIRE(at != std::string::npos);
  return line.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("change reasons: names and kinds as specs/network.md lists them", "[req:B1]") {
  CHECK(wire::reason_name(proto::BIRTH) == "birth");
  CHECK(wire::reason_from_name("move_out") == proto::MOVE_OUT);
  CHECK(wire::kind_of(proto::MOVE_OUT) == wire::ReasonKind::deletion);
  CHECK(wire::kind_of(proto::CODE_ENTRY) == wire::ReasonKind::entry);
  CHECK(wire::kind_of(proto::RESIDENT_CODE_CHANGE) == wire::ReasonKind::correction);
  CHECK_FALSE(wire::kind_of(proto::REASON_UNSPECIFIED));
  CHECK_FALSE(wire::reason_from_name("unspecified"));
  CHECK_FALSE(wire::reason_from_name("Birth"));
  // Every reason the wire defines has a name that parses back.
  const auto* reasons = proto::ChangeReason_descriptor();
  for (int i = 0; i < reasons->value_count(); ++i) {
    const auto reason = static_cast<proto::ChangeReason>(reasons->value(i)->number());
    if (reason == proto::REASON_UNSPECIFIED) continue;
    INFO(reasons->value(i)->name());
    CHECK(wire::reason_from_name(wire::reason_name(reason)) == reason);
  }
}

TEST_CASE("a good report line parses, passes the checks and is written back the same",
          "[req:B11]") {
  auto report = parsed(kBirthLine);
  CHECK(report.resident().identity().name_kana() == "ヤマダ ハナコ");
  CHECK(report.resident().identity().sex() == proto::FEMALE);
  CHECK_FALSE(wire::check_report(report, "131016", kToday));
  CHECK(parsed(wire::report_line(report)).SerializeAsString() == report.SerializeAsString());
}

TEST_CASE("bad report lines are refused with the field at fault", "[req:D19.1]") {
  CHECK(refusal(with(kBirthLine, "00000000019", "00000000018")) ==
        "resident.code: resident code 00000000018 has a wrong check digit (should be 9)");
  CHECK(refusal(with(kBirthLine, "00000000019", "1234")) ==
        "resident.code: a resident code has 11 digits, not '1234'");
  CHECK(refusal(with(kBirthLine, R"("birth_date":"2026-12-01")", R"("birth_date":"2026-02-30")")) ==
        "resident.birth_date: impossible date 2026-02-30: February 2026 has 28 days");
  CHECK(refusal(with(kBirthLine, R"("date":"2026-12-01")", R"("date":"2026-12-31")")) ==
        "date: 2026-12-31 is in the future");
  CHECK(refusal(with(kBirthLine, R"("date":"2026-12-01")", R"("date":"2026-11-30")")) ==
        "date: the change date 2026-11-30 is before the birth date");
  CHECK(refusal(with(kBirthLine, R"("municipality":"131016")", R"("municipality":"011002")")) ==
        "municipality: municipality 011002 is not this CS's (131016)");
  CHECK(refusal(with(kBirthLine, "ヤマダ ハナコ", "やまだ はなこ")) ==
        "resident.name_kana: the kana name has a character that is not full-width katakana");
  CHECK(refusal(with(kBirthLine, R"("sex":"female")", R"("sex":"f")")) ==
        "resident.sex: must be \"male\" or \"female\", not \"f\"");
  CHECK(refusal(with(kBirthLine, R"("reason":"birth")", R"("reason":"adoption")")) ==
        "reason: unknown change reason \"adoption\"");
  CHECK(refusal(with(kBirthLine, R"("household_head":"子",)", "")) ==
        "resident.household_head: missing");
  CHECK(refusal(with(kBirthLine, R"("household_head":"子")",
                     R"("household_head":"子","religion":"x")")) ==
        "resident.religion: unknown field");
  CHECK(refusal(with(kBirthLine, R"("sex":"female")", R"("sex":1)")) ==
        "resident.sex: must be a string");
  CHECK(refusal(with(kBirthLine, R"("report":"20261207-000001")",
                     R"("report":"20261207-000001","report":"x")")) ==
        "report: field \"report\" appears twice in one object");
  CHECK(refusal(with(kBirthLine, R"("name_kanji":"山田 花子")", "\"name_kanji\":\"\xff\""))
            .rfind(": not JSON", 0) == 0);
  CHECK(refusal("[1,2]") == ": a line is one JSON object");
  CHECK(refusal("").rfind(": not JSON", 0) == 0);
}

TEST_CASE("deletions carry the resident code only, and code changes the previous code") {
  const std::string death =
      R"({"report":"r2","municipality":"131016","reason":"death","date":"2026-12-05",)"
      R"("resident":{"code":"00000000019"}})";
  CHECK(refusal(death).empty());
  CHECK(refusal(with(death, R"("code":"00000000019")", R"("code":"00000000019","sex":"male")")) ==
        "resident.sex: unknown field");
  CHECK(refusal(with(kBirthLine, R"("reason":"birth")", R"("reason":"resident_code_change")")) ==
        "previous_code: a resident code has 11 digits, not ''");
  CHECK(refusal(with(kBirthLine, "}}", R"(},"previous_code":"00000000027"})")) ==
        "previous_code: only a resident_code_change has a previous code");
}

TEST_CASE("record digests: canonical, sensitive to every field and to the status", "[req:B5]") {
  proto::IdentityInformation id;
  id.set_resident_code("00000000019");
  id.set_name_kanji("山田 花子");
  id.set_name_kana("ヤマダ ハナコ");
  id.set_birth_date("2026-12-01");
  id.set_sex(proto::FEMALE);
  id.set_address("東京都千代田区千代田1-1");
  const auto digest = wire::record_digest(id, true);
  CHECK(digest.size() == 32);
  CHECK(wire::record_digest(id, false) != digest);
  auto other = id;
  other.set_address("東京都千代田区千代田1-2");
  CHECK(wire::record_digest(other, true) != digest);
  // Length-prefixed: moving a character between fields changes the digest.
  auto shifted = id;
  shifted.set_name_kanji("山田 花子ヤ");
  shifted.set_name_kana("マダ ハナコ");
  CHECK(wire::record_digest(shifted, true) != digest);
  CHECK(wire::recorded_day(1796605200) == "2026-12-07");      // 10:00 JST
  CHECK(wire::recorded_day(1796569200 - 1) == "2026-12-06");  // 23:59:59 JST
}
