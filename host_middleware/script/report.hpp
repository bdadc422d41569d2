// Reports of script runs for the people who read them: JUnit XML for CI
// systems, and one self-contained HTML page with every step of every script
// (command, expected, actual, verdict), for a vendor's or an auditor's file.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "host_middleware/script/differential.hpp"
#include "host_middleware/script/script.hpp"

namespace juki::host::script {

// One <testsuite> per script and one <testcase> per section (the steps before
// the first `==` form a case of their own, "(start)"); a mismatch is a
// <failure>, a run that stopped early an <error> in the case where it stopped.
std::string to_junit(std::span<const RunReport> reports, std::string_view suite_name);

// A page with a summary of the scripts, then each script's trace; nothing is
// loaded from elsewhere.
std::string to_html(std::span<const RunReport> reports, std::string_view title);

// Differential runs: the card under test's runs as above, then a testsuite
// "differential" with a testcase per script whose failure lists the
// differences (both answers) and whose error says where the runs parted.
std::string to_junit(std::span<const Comparison> comparisons, std::span<const RunReport> candidate,
                     std::string_view suite_name);

// Differential runs: a summary of the scripts, then each script's two traces
// side by side, step by step, the differences marked. The three spans are in
// the same order (comparisons[i] compares reference[i] with candidate[i]).
std::string to_html(std::span<const Comparison> comparisons, std::span<const RunReport> reference,
                    std::span<const RunReport> candidate, std::string_view title);

}  // namespace juki::host::script
