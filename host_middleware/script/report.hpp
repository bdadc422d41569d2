// Reports of script runs for the people who read them: JUnit XML for CI
// systems, and one self-contained HTML page with every step of every script
// (command, expected, actual, verdict), for a vendor's or an auditor's file.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "host_middleware/script/script.hpp"

namespace juki::host::script {

// One <testsuite> per script and one <testcase> per section (the steps before
// the first `==` form a case of their own, "(start)"); a mismatch is a
// <failure>, a run that stopped early an <error> in the case where it stopped.
std::string to_junit(std::span<const RunReport> reports, std::string_view suite_name);

// A page with a summary of the scripts, then each script's trace; nothing is
// loaded from elsewhere.
std::string to_html(std::span<const RunReport> reports, std::string_view title);

}  // namespace juki::host::script
