// Byte buffers, hex text and big-endian integers: the vocabulary every module shares.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace juki {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

// "0A1B" or "0a 1b" -> {0x0A, 0x1B}. Whitespace between byte pairs is allowed;
// anything else (odd digit count, non-hex) gives nullopt.
std::optional<Bytes> from_hex(std::string_view text);

// {0x0A, 0x1B} -> "0A1B" (or "0A 1B" with spaced = true).
std::string to_hex(ByteView bytes, bool spaced = false);

inline ByteView as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

inline std::uint16_t load_be16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
inline std::uint32_t load_be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}
inline void store_be16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
inline void store_be32(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 24);
  p[1] = static_cast<std::uint8_t>(v >> 16);
  p[2] = static_cast<std::uint8_t>(v >> 8);
  p[3] = static_cast<std::uint8_t>(v);
}
inline void append_be16(Bytes& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}
inline void append_be32(Bytes& out, std::uint32_t v) {
  append_be16(out, static_cast<std::uint16_t>(v >> 16));
  append_be16(out, static_cast<std::uint16_t>(v));
}

}  // namespace juki
