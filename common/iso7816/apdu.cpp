#include "common/iso7816/apdu.hpp"

namespace juki::apdu {

namespace {

constexpr std::size_t kHeader = 4;

Unexpected<sw::Sw> wrong_length() {
  return unexpected(sw::kWrongLength);
}

// Le of 00 (short) or 0000 (extended) asks for the maximum.
std::uint32_t short_ne(std::uint8_t le) {
  return le == 0 ? 256u : le;
}
std::uint32_t extended_ne(std::uint16_t le) {
  return le == 0 ? 65536u : le;
}

}  // namespace

Result<Command, sw::Sw> parse_command(ByteView raw) {
  const std::size_t n = raw.size();
  if (n < kHeader) return wrong_length();

  Command c;
  c.cla = raw[0];
  c.ins = raw[1];
  c.p1 = raw[2];
  c.p2 = raw[3];

  if (n == kHeader) {
    c.apdu_case = 1;
    return c;
  }
  if (n == kHeader + 1) {
    c.apdu_case = 2;
    c.has_le = true;
    c.ne = short_ne(raw[4]);
    return c;
  }

  if (raw[4] != 0) {
    // Short Lc: the body is Lc, data and maybe one Le byte.
    const std::size_t lc = raw[4];
    if (n == kHeader + 1 + lc) {
      c.apdu_case = 3;
    } else if (n == kHeader + 1 + lc + 1) {
      c.apdu_case = 4;
      c.has_le = true;
      c.ne = short_ne(raw[n - 1]);
    } else {
      return wrong_length();
    }
    c.data = raw.subspan(kHeader + 1, lc);
    return c;
  }

  // A leading 00 announces the extended form; its fields need at least 3 bytes.
  if (n < kHeader + 3) return wrong_length();
  c.extended = true;
  if (n == kHeader + 3) {
    c.apdu_case = 2;
    c.has_le = true;
    c.ne = extended_ne(load_be16(&raw[5]));
    return c;
  }
  const std::size_t lc = load_be16(&raw[5]);
  if (lc == 0) return wrong_length();  // Lc = 0000 is not a valid extended Lc
  if (n == kHeader + 3 + lc) {
    c.apdu_case = 3;
  } else if (n == kHeader + 3 + lc + 2) {
    c.apdu_case = 4;
    c.has_le = true;
    c.ne = extended_ne(load_be16(&raw[n - 2]));
  } else {
    return wrong_length();
  }
  c.data = raw.subspan(kHeader + 3, lc);
  return c;
}

Bytes encode_command(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1, std::uint8_t p2,
                     ByteView data, std::uint32_t ne, bool force_extended) {
  // Nc over 65535 has no encoding; an empty result cannot be mistaken for an APDU.
  if (data.size() > 0xFFFF) return {};
  // Le = 0000 already means "as much as there is", so a larger Ne asks for the same.
  if (ne > 65536) ne = 65536;

  Bytes out{cla, ins, p1, p2};
  const bool extended =
      data.size() > 255 || ne > 256 || (force_extended && (!data.empty() || ne != 0));
  out.reserve(kHeader + 3 + data.size() + 2);
  if (!extended) {
    if (!data.empty()) {
      out.push_back(static_cast<std::uint8_t>(data.size()));
      out.insert(out.end(), data.begin(), data.end());
    }
    if (ne != 0) out.push_back(static_cast<std::uint8_t>(ne == 256 ? 0 : ne));
    return out;
  }
  // Extended: one 00 marker, then Lc and Le without their own markers (ISO 7816-3 12.1.3).
  out.push_back(0);
  if (!data.empty()) {
    append_be16(out, static_cast<std::uint16_t>(data.size()));
    out.insert(out.end(), data.begin(), data.end());
  }
  if (ne != 0) append_be16(out, static_cast<std::uint16_t>(ne == 65536 ? 0 : ne));
  return out;
}

Bytes Response::encode() const {
  Bytes out;
  out.reserve(data.size() + 2);
  out.insert(out.end(), data.begin(), data.end());
  append_be16(out, sw);
  return out;
}

Result<Response, std::string> Response::decode(ByteView raw) {
  if (raw.size() < 2) {
    return unexpected(std::string("response shorter than a status word (") +
                      std::to_string(raw.size()) + " bytes)");
  }
  Response r;
  r.data.assign(raw.begin(), raw.end() - 2);
  r.sw = load_be16(&raw[raw.size() - 2]);
  return r;
}

}  // namespace juki::apdu
