// Fuzzes the batch issuance's applications file (issuer_tool/issuance/batch.hpp,
// specs/issuance.md 4.1), which comes from outside the counter: any bytes give
// applications or line errors, never a crash. Every error names a line of the
// input, in order, and its message can go into the --json summary (valid
// UTF-8); every application passes the checks intake and personalization make.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "issuer_tool/issuance/batch.hpp"
#include "issuer_tool/issuance/personalization.hpp"
#include "records/records.hpp"

using namespace juki;

namespace {
void require(bool ok) {
  if (!ok) __builtin_trap();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::size_t lines =
      static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
  auto r = issuance::parse_applications(text, {"131016", "20261124"});
  std::size_t last = 0;
  if (!r) {
    require(!r.error().empty());
    for (const issuance::LineError& e : r.error()) {
      require(e.line <= lines);
      require(e.line == 0 ? r.error().size() == 1 : e.line > last);
      last = e.line;
      require(!e.message.empty());
      // Throws (and so fails) on invalid UTF-8.
      require(!nlohmann::json(e.message).dump().empty());
    }
    return 0;
  }
  require(!r->empty());
  for (const issuance::BatchApplication& a : *r) {
    require(a.line >= 1 && a.line <= lines && a.line > last);
    last = a.line;
    require(records::check_request(a.request).ok());
    require(issuance::check_order(a.order).ok());
    require(a.order.resident_code == a.request.person.resident_code);
  }
  return 0;
}
