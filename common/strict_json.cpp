#include "common/strict_json.hpp"

#include <set>
#include <vector>

namespace juki {

namespace {

using nlohmann::json;

class DuplicateFieldFinder {
 public:
  bool operator()(int, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        open_.emplace_back();
        break;
      case json::parse_event_t::object_end:
        if (!open_.empty()) open_.pop_back();
        break;
      case json::parse_event_t::key:
        if (!open_.empty() && !open_.back().insert(parsed.get<std::string>()).second &&
            duplicate_.empty())
          duplicate_ = parsed.get<std::string>();
        break;
      default:
        break;
    }
    return true;
  }
  const std::string& duplicate() const { return duplicate_; }

 private:
  std::vector<std::set<std::string>> open_;
  std::string duplicate_;
};

}  // namespace

std::string printable(std::string_view text, std::size_t limit) {
  std::string out;
  for (char c : text.substr(0, limit)) {
    const auto u = static_cast<unsigned char>(c);
    out += u >= 0x20 && u < 0x7F ? c : '?';
  }
  return text.size() > limit ? out + "..." : out;
}

Result<nlohmann::json, JsonProblem> parse_strict_json(std::string_view text) {
  DuplicateFieldFinder duplicates;
  json parsed;
  try {
    parsed = json::parse(text, std::ref(duplicates));
  } catch (const json::exception& e) {
    // nlohmann's message says where and why after an id for programs
    // ("[json.exception.parse_error.101] "), and may quote raw input bytes.
    std::string_view what = e.what();
    if (const auto id_end = what.find("] "); what.starts_with('[') && id_end != what.npos)
      what.remove_prefix(id_end + 2);
    return unexpected(JsonProblem{"", "not JSON: " + printable(what, 200)});
  }
  if (!duplicates.duplicate().empty())
    return unexpected(JsonProblem{
        duplicates.duplicate(),
        "field \"" + printable(duplicates.duplicate(), 40) + "\" appears twice in one object"});
  return parsed;
}

}  // namespace juki
