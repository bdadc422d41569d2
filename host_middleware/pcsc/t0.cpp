#include "host_middleware/pcsc/t0.hpp"

#include <cstdio>
#include <string>

namespace juki::host::pcsc {

namespace {

constexpr std::uint8_t kMoreData = 0x61;  // 61XX: XX bytes wait for GET RESPONSE
constexpr std::uint8_t kWrongLe = 0x6C;   // 6CXX: repeat with Le = XX

std::string hex_byte(std::uint8_t b) {
  char s[4];
  std::snprintf(s, sizeof s, "%02X", b);
  return s;
}

// One raw exchange that must give at least a status word.
Result<Bytes, TransportError> send(const RawTransmit& raw, ByteView command) {
  auto r = raw(command);
  if (!r) return r;
  if (r->size() < 2)
    return unexpected(TransportError{"the reader returned " + std::to_string(r->size()) +
                                     " byte(s): a response needs at least SW1 SW2"});
  return r;
}

// A raw exchange with the 6CXX rule applied once.
Result<Bytes, TransportError> send_with_le_fix(const RawTransmit& raw, ByteView command,
                                               const T0Options& options) {
  auto r = send(raw, command);
  if (!r || !options.repeat_on_6c) return r;
  if (r->size() != 2 || (*r)[0] != kWrongLe) return r;
  auto again = with_short_le(command, (*r)[1]);
  if (!again) return r;  // extended or malformed: the caller sees the 6CXX
  return send(raw, *again);
}

}  // namespace

std::optional<Bytes> with_short_le(ByteView command, std::uint8_t le) {
  const std::size_t n = command.size();
  if (n < 4) return std::nullopt;
  Bytes out(command.begin(), command.end());
  if (n == 4) {  // case 1: add Le
    out.push_back(le);
    return out;
  }
  if (n == 5) {  // case 2S: replace Le
    out[4] = le;
    return out;
  }
  const std::size_t lc = command[4];
  if (lc == 0) return std::nullopt;  // extended length (or malformed): leave alone
  if (n == 5 + lc) {                 // case 3S: add Le
    out.push_back(le);
    return out;
  }
  if (n == 6 + lc) {  // case 4S: replace Le
    out.back() = le;
    return out;
  }
  return std::nullopt;
}

std::uint8_t get_response_class(std::uint8_t cla) {
  // Further interindustry classes (4X-7X) keep their 4-bit channel number.
  if ((cla & 0xC0) == 0x40) return static_cast<std::uint8_t>(cla & 0x4F);
  return static_cast<std::uint8_t>(cla & 0x03);
}

Result<Bytes, TransportError> exchange_t0(ByteView command, const RawTransmit& raw,
                                          const T0Options& options) {
  auto first = send_with_le_fix(raw, command, options);
  if (!first || !options.get_response) return first;

  Bytes response = std::move(*first);
  Bytes data;
  const std::uint8_t cla = command.empty() ? 0 : get_response_class(command[0]);
  for (std::size_t n = 0; response[response.size() - 2] == kMoreData; ++n) {
    if (n == options.max_get_responses)
      return unexpected(TransportError{"the card keeps answering 61XX: gave up after " +
                                       std::to_string(n) + " GET RESPONSE commands"});
    // Keep whatever data came with the 61XX: APDU-level readers may pass some.
    data.insert(data.end(), response.begin(), response.end() - 2);
    const Bytes get_response{cla, 0xC0, 0x00, 0x00, response.back()};
    auto next = send_with_le_fix(raw, get_response, options);
    if (!next)
      return unexpected(TransportError{"GET RESPONSE (after 61" + hex_byte(response.back()) +
                                       ") failed: " + next.error().message});
    response = std::move(*next);
  }
  if (data.empty()) return response;
  data.insert(data.end(), response.begin(), response.end());
  return data;
}

}  // namespace juki::host::pcsc
