// BER-TLV (ISO/IEC 8825-1 as used by ISO/IEC 7816-4): tags of 1 to 3 bytes,
// definite lengths in the short form and in the 81/82/83 long forms.
// Decoding is strict and bounds-checked; it never throws.
#pragma once

#include <cstdint>
#include <optional>

#include "common/bytes.hpp"
#include "common/result.hpp"

namespace juki::tlv {

enum class Error : std::uint8_t {
  truncated,   // input ends inside a tag, length or value
  bad_tag,     // tag longer than 3 bytes, or 00 / FF where a tag is expected
  bad_length,  // indefinite (80), or a long form over 3 bytes (84+); non-minimal
               // long forms such as 81 05 are valid BER and accepted
};

struct Tlv {
  std::uint32_t tag = 0;         // e.g. 0x62, 0x9F7F, 0xDF2001
  ByteView value;                // points into the input
  std::size_t encoded_size = 0;  // bytes the whole TLV took
  bool constructed() const;      // bit 6 of the first tag byte
};

// Decodes the TLV at the start of `in`.
Result<Tlv, Error> decode_one(ByteView in);

// Decodes all TLVs of `in` (a sequence with nothing left over). Used for the
// children of a constructed object.
Result<std::vector<Tlv>, Error> decode_all(ByteView in);

// First TLV with `tag` among the top level of `in`, or nullopt (also when any part of `in`
// is malformed, even after the match).
std::optional<Tlv> find(ByteView in, std::uint32_t tag);

// Appends tag, length and value. The shortest length form is used; lengths over
// 0xFFFFFF get an 84 form that decode_one rejects (no card object is that large).
void append(Bytes& out, std::uint32_t tag, ByteView value);
void append_length(Bytes& out, std::size_t length);
void append_tag(Bytes& out, std::uint32_t tag);

// Builder for nested structures: Builder b; b.add(0x80, v); Bytes fcp = b.wrap(0x62);
class Builder {
 public:
  Builder& add(std::uint32_t tag, ByteView value);
  Builder& add_u8(std::uint32_t tag, std::uint8_t v);
  Builder& add_u16(std::uint32_t tag, std::uint16_t v);
  Builder& add_raw(ByteView encoded);  // already-encoded TLVs
  const Bytes& bytes() const { return buf_; }
  Bytes wrap(std::uint32_t tag) const;  // the content as the value of one constructed TLV

 private:
  Bytes buf_;
};

}  // namespace juki::tlv
