// A server's one config file (specs/network.md 9): JSON, strict (unknown
// fields, wrong types and fields given twice are refused, naming the field).
// Relative paths are taken from the config file's folder.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "backend/trust/trust.hpp"
#include "common/result.hpp"

namespace juki::backend::server {

// resident_system: not a server but the existing resident system's client
// of its CS (juki-net report): its config has no listen, store or calendar.
enum class Tier { cs, prefecture, national, resident_system };
std::string_view tier_name(Tier tier);  // "cs", "prefecture", "national", "resident-system"

struct Upstream {
  std::string address;  // host:port
  std::string code;     // the peer's code: a prefecture's; empty for the national server
};

struct Limits {
  int batch = 500;                     // changes per notification batch
  int relay_envelopes = 64;            // envelopes per relay batch
  std::int64_t deadline_ms = 10'000;   // every outgoing call's deadline
  int max_inflight = 16;               // calls worked on at once (the worker threads)
  int max_queued = 64;                 // calls waiting for a worker; past them RESOURCE_EXHAUSTED
  int store_connections = 4;           // connections to the store (readers; one writer at a time)
  int lookup_statements = 1;           // PostgreSQL: batched lookup statements at once (6.8)
  int max_held = 10'000;               // batches held behind gaps
  std::int64_t retry_max_ms = 30'000;  // the longest back-off between delivery attempts
};

struct Config {
  Tier tier = Tier::cs;
  std::string code;    // municipality (cs) or prefecture code; empty for the national server
  std::string listen;  // host:port
  trust::TrustFiles trust;
  std::string store;                 // "sqlite:PATH" or "postgresql:CONNINFO"
  std::string calendar;              // the operating calendar file
  std::optional<Upstream> upstream;  // cs: its prefecture; prefecture: the national server
  Limits limits;
};

// The error names the field ("trust.key: missing") or, for a file that is not
// JSON, says where it breaks.
Result<Config, std::string> parse_config(std::string_view json, const std::string& base_dir);
Result<Config, std::string> load_config(const std::string& path);

}  // namespace juki::backend::server
