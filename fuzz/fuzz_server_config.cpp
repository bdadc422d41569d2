// Fuzzes a server's config file (backend/server/config.hpp, specs/network.md
// 9), which an operator edits by hand: any bytes give a config or an error
// naming the field, never a crash. A config that loads keeps the rules.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "backend/server/config.hpp"
#include "backend/trust/trust.hpp"
#include "common/check_digits.hpp"

using namespace juki::backend;

namespace {
void require(bool ok) {
  if (!ok) __builtin_trap();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto config =
      server::parse_config(std::string_view(reinterpret_cast<const char*>(data), size), "/srv");
  if (!config) {
    require(!config.error().empty());
    return 0;
  }
  const bool national = config->tier == server::Tier::national;
  require(national == config->code.empty());
  if (!national) require(juki::check_digits::municipality_valid(config->code));
  require(national == !config->upstream.has_value());
  if (config->tier == server::Tier::cs)
    require(config->upstream->code == trust::prefecture_of(config->code));
  if (config->tier != server::Tier::resident_system) {
    require(config->store.rfind("sqlite:", 0) == 0 || config->store.rfind("postgresql:", 0) == 0);
    require(!config->calendar.empty() && !config->listen.empty());
  }
  require(config->limits.batch >= 1 && config->limits.max_inflight >= 1);
  return 0;
}
