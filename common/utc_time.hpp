// The wall clock as reports write it: UTC, ISO 8601, to the second
// ("2026-12-07T10:36:53Z"). For the host's reports; the card has no clock.
#pragma once

#include <string>

namespace juki {

std::string utc_now_iso8601();

}  // namespace juki
