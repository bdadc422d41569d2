// What the tools that run APDU script suites (juki-conformance, juki-audit)
// read from their command lines and write back: the script files a path
// names, the variables fixed with --transport-key and --set NAME=HEX, and a
// report file.
#pragma once

#include <string>
#include <vector>

#include "card_os/card/card.hpp"
#include "common/bytes.hpp"
#include "common/result.hpp"
#include "host_middleware/script/script.hpp"

namespace juki::tools {

// Each path as given, or for a directory its *.apdu files in name order (not
// its subdirectories: lib/ holds the files scripts include or prepare with).
// The error names the path.
Result<std::vector<std::string>, std::string> script_files(const std::vector<std::string>& paths);

// The blank cards the tool makes (--transport-key, --serial, both hex) and
// the scripts' fixed variables: TK is the transport key, and each NAME=HEX
// of `sets` (--set) fixes NAME. The error is the message for the user.
struct BlankCardInputs {
  card_os::FactoryProfile profile;
  host::script::Variables fixed;
};
Result<BlankCardInputs, std::string> blank_card_inputs(const std::string& transport_key_hex,
                                                       const std::string& serial_hex,
                                                       const std::vector<std::string>& sets);

// Writes (replaces) the file; the error says why not.
Result<void, std::string> write_text_file(const std::string& path, const std::string& text);

}  // namespace juki::tools
