// SQL written once in PostgreSQL's style, made ready for an engine: $N
// parameters become ?N on SQLite, and the dialect tokens ({BLOB},
// {BIGSERIAL_PK}) each engine's own words. Quoted text, quoted identifiers,
// comments and PostgreSQL's dollar-quoted strings are left as they are.
#pragma once

#include <string>
#include <string_view>

#include "common/result.hpp"

namespace juki::backend::store::detail {

enum class Dialect { sqlite, postgresql };

struct Translated {
  std::string sql;
  int parameters = 0;  // the highest $N, which is how many values it takes
};

// Fails (with the reason) on an unknown {TOKEN}, an unclosed one, or $0.
Result<Translated, std::string> translate(std::string_view sql, Dialect dialect);

}  // namespace juki::backend::store::detail
