#include "host_middleware/cli/cli_output.hpp"

#include <iostream>

namespace juki::host::cli {

Failure usage(std::string message) {
  return {kExitUsage, "usage", std::move(message)};
}

int fail(Output& out, const Failure& f) {
  out.doc = {{"ok", false}, {"error", {{"kind", f.kind}, {"message", f.message}}}};
  // A failure's output is the error alone: no half-written text before it.
  out.text.str("");
  std::cerr << out.tool << ": " << f.message << "\n";
  return f.exit;
}

std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // app.exit prints help (and gives 0) or the error (and gives its code).
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  return std::nullopt;
}

void print(const Output& out, bool as_json, std::ostream& to) {
  if (as_json)
    to << out.doc.dump(2) << "\n";
  else
    to << out.text.str();
}

int finish(const Output& out, bool as_json, int code) {
  print(out, as_json, std::cout);
  return code;
}

}  // namespace juki::host::cli
