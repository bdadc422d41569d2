#include "backend/store/value.hpp"

#include <charconv>

namespace juki::backend::store {

std::string_view kind_name(Error::Kind kind) {
  switch (kind) {
    case Error::Kind::constraint:
      return "constraint";
    case Error::Kind::busy_or_serialization:
      return "busy_or_serialization";
    case Error::Kind::connection:
      return "connection";
    case Error::Kind::schema:
      return "schema";
    case Error::Kind::invalid:
      return "invalid";
    case Error::Kind::other:
      return "other";
  }
  return "other";
}

bool is_valid_text(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    const unsigned char c = *p;
    if (c >= 0x01 && c < 0x80) {  // the common case: ASCII other than NUL
      ++p;
      continue;
    }
    // The lead byte gives the length and the first continuation byte's range
    // (RFC 3629's table), which rules out overlong forms and surrogates.
    std::size_t length = 0;
    unsigned char low = 0x80, high = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      length = 2;
    } else if (c == 0xE0) {
      length = 3, low = 0xA0;
    } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
      length = 3;
    } else if (c == 0xED) {
      length = 3, high = 0x9F;
    } else if (c == 0xF0) {
      length = 4, low = 0x90;
    } else if (c >= 0xF1 && c <= 0xF3) {
      length = 4;
    } else if (c == 0xF4) {
      length = 4, high = 0x8F;
    } else {
      return false;  // NUL, a stray continuation byte, C0, C1 or F5..FF
    }
    if (static_cast<std::size_t>(end - p) < length) return false;
    if (p[1] < low || p[1] > high) return false;
    for (std::size_t i = 2; i < length; ++i) {
      if (p[i] < 0x80 || p[i] > 0xBF) return false;
    }
    p += length;
  }
  return true;
}

namespace {

std::string_view type_name(const Value& v) {
  switch (v.index()) {
    case 0:
      return "NULL";
    case 1:
      return "an integer";
    case 2:
      return "text";
    default:
      return "bytes";
  }
}

[[noreturn]] void wrong_type(std::size_t column, const Value& v, std::string_view wanted) {
  throw ColumnTypeError("column " + std::to_string(column) + " holds " + std::string(type_name(v)) +
                        ", not " + std::string(wanted));
}

}  // namespace

const Value& Row::value(std::size_t column) const {
  if (column >= values_.size()) {
    throw ColumnTypeError("column " + std::to_string(column) + " asked of a row of " +
                          std::to_string(values_.size()) + " columns");
  }
  return values_[column];
}

bool Row::is_null(std::size_t column) const {
  return std::holds_alternative<std::nullptr_t>(value(column));
}

std::int64_t Row::integer(std::size_t column) const {
  const Value& v = value(column);
  if (const auto* i = std::get_if<std::int64_t>(&v)) return *i;
  if (const auto* s = std::get_if<std::string>(&v)) {
    std::int64_t n = 0;
    const auto [end, ec] = std::from_chars(s->data(), s->data() + s->size(), n);
    if (ec == std::errc() && end == s->data() + s->size() && !s->empty()) return n;
  }
  wrong_type(column, v, "an integer");
}

const std::string& Row::text(std::size_t column) const {
  const Value& v = value(column);
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  wrong_type(column, v, "text");
}

const Bytes& Row::bytes(std::size_t column) const {
  const Value& v = value(column);
  if (const auto* b = std::get_if<Bytes>(&v)) return *b;
  wrong_type(column, v, "bytes");
}

std::optional<std::int64_t> Row::optional_integer(std::size_t column) const {
  if (is_null(column)) return std::nullopt;
  return integer(column);
}

std::optional<std::string> Row::optional_text(std::size_t column) const {
  if (is_null(column)) return std::nullopt;
  return text(column);
}

std::optional<Bytes> Row::optional_bytes(std::size_t column) const {
  if (is_null(column)) return std::nullopt;
  return bytes(column);
}

}  // namespace juki::backend::store
