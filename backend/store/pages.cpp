#include "backend/store/pages.hpp"

namespace juki::backend::store {

Result<void, Error> for_each_row(Connection& connection, std::string_view sql,
                                 std::vector<Value> params, std::size_t page,
                                 const std::function<void(const Row&)>& each) {
  params.emplace_back(std::string());
  params.emplace_back(static_cast<std::int64_t>(page));
  for (;;) {
    auto rows = connection.query(sql, params);
    if (!rows) return unexpected(rows.error());
    for (const auto& row : *rows) each(row);
    if (rows->size() < page) return {};
    params[params.size() - 2] = rows->back().text(0);
  }
}

}  // namespace juki::backend::store
