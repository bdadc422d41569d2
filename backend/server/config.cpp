#include "backend/server/config.hpp"

#include <nlohmann/json.hpp>

#include "common/strict_json.hpp"

#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <vector>

#include "common/check_digits.hpp"
#include "pki/pki.hpp"

namespace juki::backend::server {

namespace {

using nlohmann::json;

struct Refused {
  std::string message;
};

[[noreturn]] void refuse(const std::string& field, const std::string& message) {
  throw Refused{field + ": " + message};
}

void only_fields(const json& object, const std::string& path,
                 std::initializer_list<std::string_view> allowed) {
  for (const auto& [key, value] : object.items()) {
    bool known = false;
    for (auto name : allowed) known = known || key == name;
    if (!known) refuse(path.empty() ? key : path + "." + key, "unknown field");
  }
}

const json* member(const json& object, const std::string& path, const char* key, bool required) {
  auto it = object.find(key);
  if (it == object.end()) {
    if (required) refuse(path.empty() ? key : path + "." + key, "missing");
    return nullptr;
  }
  return &*it;
}

std::string text(const json& object, const std::string& path, const char* key,
                 bool required = true) {
  const json* value = member(object, path, key, required);
  if (!value) return {};
  const std::string field = path.empty() ? key : path + "." + key;
  if (!value->is_string()) refuse(field, "must be a string");
  auto s = value->get<std::string>();
  if (s.empty()) refuse(field, "must not be empty");
  return s;
}

std::string path_field(const json& object, const std::string& path, const char* key,
                       const std::string& base_dir) {
  std::string p = text(object, path, key);
  if (std::filesystem::path(p).is_relative()) p = (std::filesystem::path(base_dir) / p).string();
  return p;
}

std::int64_t number(const json& object, const std::string& path, const char* key,
                    std::int64_t fallback, std::int64_t low, std::int64_t high) {
  const json* value = member(object, path, key, false);
  if (!value) return fallback;
  const std::string field = path + "." + key;
  if (!value->is_number_integer()) refuse(field, "must be a whole number");
  const auto n = value->get<std::int64_t>();
  if (n < low || n > high)
    refuse(field, "must be from " + std::to_string(low) + " to " + std::to_string(high));
  return n;
}

void check_address(const std::string& field, const std::string& address) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size() ||
      address.find_first_not_of("0123456789", colon + 1) != std::string::npos)
    refuse(field, "must be host:port, not \"" + address + "\"");
}

Config parse(const json& root, const std::string& base_dir) {
  if (!root.is_object()) refuse("(config)", "must be a JSON object");
  only_fields(root, "",
              {"tier", "code", "listen", "trust", "store", "calendar", "upstream", "limits"});
  Config config;
  const std::string tier = text(root, "", "tier");
  if (tier == "cs")
    config.tier = Tier::cs;
  else if (tier == "prefecture")
    config.tier = Tier::prefecture;
  else if (tier == "national")
    config.tier = Tier::national;
  else if (tier == "resident-system")
    config.tier = Tier::resident_system;
  else
    refuse("tier", "must be cs, prefecture, national or resident-system, not \"" + tier + "\"");
  const bool client = config.tier == Tier::resident_system;
  if (client)
    for (const char* server_only : {"listen", "store", "calendar"})
      if (root.contains(server_only))
        refuse(server_only,
               "the resident system is a client: it has no " + std::string(server_only));

  config.code = text(root, "", "code", config.tier != Tier::national);
  if (config.tier == Tier::national && root.contains("code"))
    refuse("code", "the national server has no code");
  if (config.tier != Tier::national && !check_digits::municipality_valid(config.code))
    refuse("code", "\"" + config.code + "\" is not a valid local government code");
  if (config.tier == Tier::prefecture && trust::prefecture_of(config.code) != config.code)
    refuse("code", config.code + " is a municipality's code, not a prefecture's");
  if ((config.tier == Tier::cs || client) && trust::prefecture_of(config.code) == config.code)
    refuse("code", config.code + " is a prefecture's code, not a municipality's");

  if (!client) {
    config.listen = text(root, "", "listen");
    check_address("listen", config.listen);
  }

  const json* t = member(root, "", "trust", true);
  if (!t->is_object()) refuse("trust", "must be an object");
  only_fields(*t, "trust",
              {"root", "server_ca", "server_crl", "certificate", "key", "signing_key",
               "signing_certificate"});
  config.trust.root = path_field(*t, "trust", "root", base_dir);
  config.trust.server_ca = path_field(*t, "trust", "server_ca", base_dir);
  config.trust.server_crl = path_field(*t, "trust", "server_crl", base_dir);
  config.trust.certificate = path_field(*t, "trust", "certificate", base_dir);
  config.trust.key = path_field(*t, "trust", "key", base_dir);
  // A key in a token (pki::parse_pkcs11_uri) and its certificate, both or neither.
  if (t->contains("signing_key") || t->contains("signing_certificate")) {
    config.trust.signing_key = text(*t, "trust", "signing_key");
    auto ref = pki::parse_pkcs11_uri(config.trust.signing_key);
    if (!ref) refuse("trust.signing_key", ref.error().message);
    // A config is no place for a PIN, and a server's paths must not depend on
    // where it was started.
    if (ref->pin_file.empty())
      refuse("trust.signing_key", "give the PIN in a file (pin-source=file:PATH), not pin-value");
    if (std::filesystem::path(ref->pin_file).is_relative() ||
        std::filesystem::path(ref->module).is_relative())
      refuse("trust.signing_key", "pin-source and module-path must be absolute paths");
    config.trust.signing_certificate = path_field(*t, "trust", "signing_certificate", base_dir);
  }

  if (client) {
    // no store, no calendar
  } else if (config.store = text(root, "", "store"); config.store.rfind("sqlite:", 0) == 0) {
    const std::string file = config.store.substr(7);
    if (file.empty()) refuse("store", "sqlite: needs a file");
    if (file != ":memory:" && std::filesystem::path(file).is_relative())
      config.store = "sqlite:" + (std::filesystem::path(base_dir) / file).string();
  } else if (config.store.rfind("postgresql:", 0) != 0) {
    refuse("store", "must start with sqlite: or postgresql:");
  }
  if (!client) config.calendar = path_field(root, "", "calendar", base_dir);

  const json* up = member(root, "", "upstream", config.tier != Tier::national);
  if (up && config.tier == Tier::national)
    refuse("upstream", "the national server sends to no one");
  if (up) {
    if (!up->is_object()) refuse("upstream", "must be an object");
    only_fields(*up, "upstream", {"address", "code"});
    Upstream u;
    u.address = text(*up, "upstream", "address");
    check_address("upstream.address", u.address);
    u.code = text(*up, "upstream", "code", config.tier != Tier::prefecture);
    if (client && u.code != config.code)
      refuse("upstream.code", "the resident system of " + config.code + " reports to CS " +
                                  config.code + ", not " + u.code);
    if (config.tier == Tier::cs && u.code != trust::prefecture_of(config.code))
      refuse("upstream.code", "CS " + config.code + "'s prefecture is " +
                                  trust::prefecture_of(config.code) + ", not " + u.code);
    if (config.tier == Tier::prefecture && up->contains("code"))
      refuse("upstream.code", "the national server has no code");
    config.upstream = u;
  }

  if (const json* l = member(root, "", "limits", false)) {
    if (!l->is_object()) refuse("limits", "must be an object");
    only_fields(*l, "limits",
                {"batch", "relay_envelopes", "deadline_ms", "max_inflight", "max_queued",
                 "store_connections", "lookup_statements", "max_held", "retry_max_ms"});
    Limits& x = config.limits;
    x.batch = static_cast<int>(number(*l, "limits", "batch", x.batch, 1, 10'000));
    x.relay_envelopes =
        static_cast<int>(number(*l, "limits", "relay_envelopes", x.relay_envelopes, 1, 1'000));
    x.deadline_ms = number(*l, "limits", "deadline_ms", x.deadline_ms, 100, 600'000);
    x.max_inflight =
        static_cast<int>(number(*l, "limits", "max_inflight", x.max_inflight, 1, 1'024));
    x.max_queued = static_cast<int>(number(*l, "limits", "max_queued", x.max_queued, 0, 100'000));
    x.store_connections =
        static_cast<int>(number(*l, "limits", "store_connections", x.store_connections, 1, 256));
    x.lookup_statements =
        static_cast<int>(number(*l, "limits", "lookup_statements", x.lookup_statements, 1, 256));
    x.max_held = static_cast<int>(number(*l, "limits", "max_held", x.max_held, 1, 1'000'000));
    x.retry_max_ms = number(*l, "limits", "retry_max_ms", x.retry_max_ms, 100, 3'600'000);
  }
  return config;
}

}  // namespace

std::string_view tier_name(Tier tier) {
  switch (tier) {
    case Tier::cs:
      return "cs";
    case Tier::prefecture:
      return "prefecture";
    case Tier::national:
      return "national";
    case Tier::resident_system:
      return "resident-system";
  }
  return "?";
}

Result<Config, std::string> parse_config(std::string_view text, const std::string& base_dir) {
  auto root = parse_strict_json(text);
  if (!root) return unexpected(root.error().message);
  try {
    return parse(*root, base_dir);
  } catch (const Refused& r) {
    return unexpected(r.message);
  }
}

Result<Config, std::string> load_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return unexpected(path + ": cannot read");
  std::ostringstream text;
  text << in.rdbuf();
  auto config = parse_config(text.str(), std::filesystem::path(path).parent_path().string());
  if (!config) return unexpected(path + ": " + config.error());
  return config;
}

}  // namespace juki::backend::server
