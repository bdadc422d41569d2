#include "common/iso7816/tlv.hpp"

namespace juki::tlv {

namespace {

constexpr std::size_t kMaxTagBytes = 3;

// Number of significant bytes of a tag number (a tag's first byte is never 00).
std::size_t tag_size(std::uint32_t tag) {
  if (tag > 0xFFFFFF) return 4;
  if (tag > 0xFFFF) return 3;
  if (tag > 0xFF) return 2;
  return 1;
}

}  // namespace

bool Tlv::constructed() const {
  const auto first = static_cast<std::uint8_t>(tag >> (8 * (tag_size(tag) - 1)));
  return (first & 0x20) != 0;
}

Result<Tlv, Error> decode_one(ByteView in) {
  std::size_t pos = 0;
  if (in.empty()) return unexpected(Error::truncated);

  // Tag. 00 and FF are padding in ISO 7816-4 data fields; this codec takes no padding.
  const std::uint8_t first = in[pos++];
  if (first == 0x00 || first == 0xFF) return unexpected(Error::bad_tag);
  std::uint32_t tag = first;
  if ((first & 0x1F) == 0x1F) {
    // Subsequent bytes follow while bit 8 is set.
    for (;;) {
      if (pos >= kMaxTagBytes) return unexpected(Error::bad_tag);
      if (pos >= in.size()) return unexpected(Error::truncated);
      const std::uint8_t b = in[pos++];
      tag = tag << 8 | b;
      if ((b & 0x80) == 0) break;
    }
  }

  // Length: short form, or 81/82/83 followed by 1-3 length bytes. Non-minimal long forms
  // (81 05) are valid BER and some terminals always send them, so they are accepted.
  if (pos >= in.size()) return unexpected(Error::truncated);
  const std::uint8_t lb = in[pos++];
  std::size_t length = 0;
  if (lb < 0x80) {
    length = lb;
  } else {
    const std::size_t count = lb & 0x7F;
    if (count == 0 || count > 3) return unexpected(Error::bad_length);  // 80 = indefinite
    if (in.size() - pos < count) return unexpected(Error::truncated);
    for (std::size_t i = 0; i < count; ++i) length = length << 8 | in[pos++];
  }

  if (in.size() - pos < length) return unexpected(Error::truncated);
  Tlv t;
  t.tag = tag;
  t.value = in.subspan(pos, length);
  t.encoded_size = pos + length;
  return t;
}

Result<std::vector<Tlv>, Error> decode_all(ByteView in) {
  std::vector<Tlv> out;
  while (!in.empty()) {
    auto t = decode_one(in);
    if (!t) return unexpected(t.error());
    in = in.subspan(t->encoded_size);
    out.push_back(*t);
  }
  return out;
}

std::optional<Tlv> find(ByteView in, std::uint32_t tag) {
  // Whole input must be well formed: a match before garbage is not trusted either.
  auto all = decode_all(in);
  if (!all) return std::nullopt;
  for (const Tlv& t : *all) {
    if (t.tag == tag) return t;
  }
  return std::nullopt;
}

void append_tag(Bytes& out, std::uint32_t tag) {
  for (std::size_t i = tag_size(tag); i-- > 0;) {
    out.push_back(static_cast<std::uint8_t>(tag >> (8 * i)));
  }
}

void append_length(Bytes& out, std::size_t length) {
  if (length < 0x80) {
    out.push_back(static_cast<std::uint8_t>(length));
    return;
  }
  std::size_t count = 1;
  while (count < sizeof(length) && (length >> (8 * count)) != 0) ++count;
  out.push_back(static_cast<std::uint8_t>(0x80 | count));
  for (std::size_t i = count; i-- > 0;) out.push_back(static_cast<std::uint8_t>(length >> (8 * i)));
}

void append(Bytes& out, std::uint32_t tag, ByteView value) {
  append_tag(out, tag);
  append_length(out, value.size());
  out.insert(out.end(), value.begin(), value.end());
}

Builder& Builder::add(std::uint32_t tag, ByteView value) {
  append(buf_, tag, value);
  return *this;
}

Builder& Builder::add_u8(std::uint32_t tag, std::uint8_t v) {
  const std::uint8_t value[] = {v};
  return add(tag, value);
}

Builder& Builder::add_u16(std::uint32_t tag, std::uint16_t v) {
  std::uint8_t value[2];
  store_be16(value, v);
  return add(tag, value);
}

Builder& Builder::add_raw(ByteView encoded) {
  buf_.insert(buf_.end(), encoded.begin(), encoded.end());
  return *this;
}

Bytes Builder::wrap(std::uint32_t tag) const {
  Bytes out;
  out.reserve(buf_.size() + 8);
  append(out, tag, buf_);
  return out;
}

}  // namespace juki::tlv
