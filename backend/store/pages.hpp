// A key-ordered query read a page at a time (keyset pagination), so that a
// result of any size passes through bounded memory: a range digest over a
// municipality of a million residents reads them ten thousand at a time.
#pragma once

#include <cstddef>
#include <functional>
#include <string_view>
#include <vector>

#include "backend/store/connection.hpp"

namespace juki::backend::store {

// Rows a page: a few megabytes of identity information.
inline constexpr std::size_t kPageRows = 10'000;

// Runs `sql` with `params`, then two more: the last key read ('' at first) and
// the page size. `sql` must select the key (text) first, keep only keys after
// the last one read, and end "ORDER BY key LIMIT" the page size, e.g.
//   SELECT code, ... WHERE ... AND code > $3 ORDER BY code LIMIT $4
// Each row goes to `each` in key order. Pages are separate statements: a row
// changed while the pages are read is read as it is when its page is.
Result<void, Error> for_each_row(Connection& connection, std::string_view sql,
                                 std::vector<Value> params, std::size_t page,
                                 const std::function<void(const Row&)>& each);

}  // namespace juki::backend::store
