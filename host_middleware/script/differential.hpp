// Differential runs (vendors): the same script on a reference card (the
// simulator) and on the card under test, their steps compared one by one. A
// difference is reported where the two answered differently beyond what the
// script leaves free: a card may differ only where the script's pattern has a
// wildcard (serials, random data, key values), and nowhere else.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "host_middleware/script/script.hpp"

namespace juki::host::script {

struct Difference {
  std::size_t step = 0;  // its index in both runs' traces
  std::string file;      // set when the step came from an included file
  std::size_t line = 0;
  std::string section;
  std::string what;      // "response", "ATR", "GET CHALLENGE (auth 01)", ...
  Bytes command;         // empty for an ATR
  std::string expected;  // the script's pattern
  Bytes reference, candidate;
  std::string reference_meaning, candidate_meaning;  // their status words' meanings
};

struct Comparison {
  std::string source;
  std::string reference_transport, candidate_transport;
  std::size_t compared = 0;  // steps compared
  std::vector<Difference> differences;
  // Set when the two runs stopped apart or took different steps: where, and
  // why each side stopped (if it did); nothing after it is compared.
  std::optional<std::string> diverged;
  std::optional<std::size_t> diverged_at;  // the index in both traces where they parted

  bool same() const { return differences.empty() && !diverged; }
};

// Compares two runs of the same script.
Comparison compare(const RunReport& reference, const RunReport& candidate);

nlohmann::json to_json(const Comparison& comparison);
// One line per difference with both answers, the divergence if any, then
// "source: N steps compared, M differences".
std::string to_text(const Comparison& comparison);

}  // namespace juki::host::script
