// The byte-level pieces of ISO/IEC 7816-4 secure messaging as ICAO 9303-11
// 9.8 uses them with AES, which involve no cryptography and so serve both
// halves alike (the card's on mbedTLS, the terminal's on OpenSSL): the block
// size, the SM class bits, ISO/IEC 9797-1 padding method 2, and the send
// sequence counter.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "common/bytes.hpp"

namespace juki::sm_format {

inline constexpr std::size_t kBlock = 16;  // AES block, SSC and padding block size
inline constexpr std::size_t kMacLength = 8;
inline constexpr std::uint8_t kSmCla = 0x0C;             // CLA b4 b3 = 11: SM, header authenticated
inline constexpr std::uint8_t kPaddingIndicator = 0x01;  // first byte of DO'87'

using Ssc = std::array<std::uint8_t, kBlock>;

// The SSC as a 128-bit big-endian integer, plus one (wrapping at 2^128).
void increment_ssc(Ssc& ssc);
// Appends `in`, then 80 and zeros up to a whole block (always at least one byte).
void pad_into(Bytes& out, ByteView in);
// The length of `in` without its method-2 padding; nullopt when the last
// non-zero byte of the last block is not 80.
std::optional<std::size_t> unpadded_size(ByteView in);

}  // namespace juki::sm_format
