// The vsmartcard-vpcd wire protocol between pcscd's vpcd driver and a card:
// every message is a 2-byte big-endian length, then that many payload bytes.
// A 1-byte payload from vpcd is a control byte (power off/on, reset, ATR
// request); anything longer is a command APDU. The card answers only the ATR
// request (with the ATR) and APDUs (with the response APDU).
//
// Pure codec, no I/O: the simulator and the benchmark echo card share it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "common/bytes.hpp"
#include "common/result.hpp"

namespace juki::vpcd {

// vpcd listens on this port for the reader of channel 0 (reader.conf CHANNELID).
inline constexpr std::uint16_t kDefaultPort = 35963;
inline constexpr std::size_t kHeaderSize = 2;
inline constexpr std::size_t kMaxPayload = 0xFFFF;

enum class Control : std::uint8_t {
  power_off = 0,
  power_on = 1,
  reset = 2,
  atr = 4,  // "send the ATR"; vpcd also uses it as its card-presence check
};

enum class FramingError : std::uint8_t {
  oversize,  // payload longer than the length field (or the decoder's limit) allows
  empty,     // a zero-length message: vpcd never sends one, so the stream is broken
};
const char* describe(FramingError e);

// Length header + payload, ready to send.
Result<Bytes, FramingError> encode(ByteView payload);

// Reassembles messages from a byte stream that arrives in arbitrary pieces
// (vpcd 3.3 writes the length and the payload in separate sends).
class FrameDecoder {
 public:
  explicit FrameDecoder(std::size_t max_payload = kMaxPayload) : max_payload_(max_payload) {}

  void feed(ByteView bytes) { buffer_.insert(buffer_.end(), bytes.begin(), bytes.end()); }

  // The next complete payload, nullopt when more bytes are needed, or an
  // error; after an error the stream is unusable and the caller should drop
  // the connection.
  Result<std::optional<Bytes>, FramingError> next();

  std::size_t buffered() const { return buffer_.size() - consumed_; }
  void clear() {
    buffer_.clear();
    consumed_ = 0;
  }

 private:
  std::size_t max_payload_;
  Bytes buffer_;
  std::size_t consumed_ = 0;  // bytes of buffer_ already returned; compacted lazily
};

// What a payload from vpcd asks the card to do.
struct Message {
  enum class Kind : std::uint8_t { power_off, power_on, reset, atr, apdu, unknown_control };
  Kind kind;
  std::uint8_t control = 0;  // the raw control byte for unknown_control
  ByteView apdu;             // for apdu: a view into the payload passed to classify()
};
Message classify(ByteView payload);
const char* describe(Message::Kind k);

}  // namespace juki::vpcd
