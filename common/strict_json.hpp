// JSON as the project reads files and lines from outside: nlohmann's parser,
// with a field given twice in one object refused (JSON allows it and
// nlohmann silently keeps the last; a file that says two things is a mistake
// to refuse, not to guess at).
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

#include "common/result.hpp"

namespace juki {

struct JsonProblem {
  std::string duplicate;  // the field given twice; empty when the text is not JSON
  // "not JSON: <where and why>" (nlohmann's message without its id, made
  // printable), or "field \"x\" appears twice in one object".
  std::string message;
};

Result<nlohmann::json, JsonProblem> parse_strict_json(std::string_view text);

// Text from outside, safe to repeat in a message (a log, a JSON answer):
// printable ASCII, other bytes as '?', at most `limit` bytes, then "...".
std::string printable(std::string_view text, std::size_t limit);

}  // namespace juki
