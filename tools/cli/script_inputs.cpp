#include "tools/cli/script_inputs.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>

namespace juki::tools {

namespace fs = std::filesystem;

Result<std::vector<std::string>, std::string> script_files(const std::vector<std::string>& paths) {
  std::vector<std::string> files;
  for (const std::string& p : paths) {
    std::error_code ec;
    if (!fs::is_directory(p, ec)) {
      files.push_back(p);
      continue;
    }
    std::vector<std::string> found;
    for (const auto& entry : fs::directory_iterator(p, ec))
      if (entry.is_regular_file() && entry.path().extension() == ".apdu")
        found.push_back(entry.path().string());
    if (ec) return unexpected("cannot read " + p + ": " + ec.message());
    if (found.empty()) return unexpected(p + " holds no .apdu script");
    std::sort(found.begin(), found.end());
    files.insert(files.end(), found.begin(), found.end());
  }
  return files;
}

Result<BlankCardInputs, std::string> blank_card_inputs(const std::string& transport_key_hex,
                                                       const std::string& serial_hex,
                                                       const std::vector<std::string>& sets) {
  auto key = from_hex(transport_key_hex);
  if (!key || (key->size() != 16 && key->size() != 24 && key->size() != 32))
    return unexpected(std::string("--transport-key must be 16, 24 or 32 bytes of hex"));
  auto serial = from_hex(serial_hex);
  if (!serial || serial->size() != 8)
    return unexpected(std::string("--serial must be 8 bytes of hex"));
  BlankCardInputs inputs;
  inputs.profile.transport_key = *key;
  inputs.profile.serial = *serial;
  host::script::Variables& fixed = inputs.fixed;
  fixed["TK"] = *key;
  for (const std::string& s : sets) {
    const auto eq = s.find('=');
    auto value = eq == std::string::npos ? std::nullopt : from_hex(s.substr(eq + 1));
    if (!value || value->empty() || eq == 0)
      return unexpected("--set " + s + ": expected NAME=HEX");
    const std::string name = s.substr(0, eq);
    const bool valid = (std::isalpha(static_cast<unsigned char>(name[0])) != 0 || name[0] == '_') &&
                       std::all_of(name.begin(), name.end(), [](char c) {
                         return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
                       });
    if (!valid)
      return unexpected("--set " + s +
                        ": a variable's name is letters, digits and _, not starting with a digit");
    fixed[name] = *value;
  }
  return inputs;
}

Result<void, std::string> write_text_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return unexpected("cannot write " + path + ": " + std::strerror(errno));
  return {};
}

}  // namespace juki::tools
