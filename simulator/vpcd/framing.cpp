#include "simulator/vpcd/framing.hpp"

namespace juki::vpcd {

const char* describe(FramingError e) {
  switch (e) {
    case FramingError::oversize:
      return "message longer than the vpcd length field allows";
    case FramingError::empty:
      return "zero-length vpcd message";
  }
  return "unknown framing error";
}

Result<Bytes, FramingError> encode(ByteView payload) {
  if (payload.size() > kMaxPayload) return unexpected(FramingError::oversize);
  if (payload.empty()) return unexpected(FramingError::empty);
  Bytes out;
  out.reserve(kHeaderSize + payload.size());
  append_be16(out, static_cast<std::uint16_t>(payload.size()));
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

Result<std::optional<Bytes>, FramingError> FrameDecoder::next() {
  const std::size_t available = buffer_.size() - consumed_;
  if (available < kHeaderSize) return std::optional<Bytes>();
  const std::size_t length = load_be16(buffer_.data() + consumed_);
  if (length == 0) return unexpected(FramingError::empty);
  if (length > max_payload_) return unexpected(FramingError::oversize);
  if (available < kHeaderSize + length) return std::optional<Bytes>();

  const auto begin = buffer_.begin() + static_cast<std::ptrdiff_t>(consumed_ + kHeaderSize);
  Bytes payload(begin, begin + static_cast<std::ptrdiff_t>(length));
  consumed_ += kHeaderSize + length;
  // Compact once everything is consumed (the usual case: one message per read),
  // or when the dead prefix dominates, so the buffer never grows without bound.
  if (consumed_ == buffer_.size()) {
    clear();
  } else if (consumed_ > 4096 && consumed_ * 2 > buffer_.size()) {
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(consumed_));
    consumed_ = 0;
  }
  return std::optional<Bytes>(std::move(payload));
}

Message classify(ByteView payload) {
  if (payload.size() != 1) return Message{Message::Kind::apdu, 0, payload};
  switch (payload[0]) {
    case static_cast<std::uint8_t>(Control::power_off):
      return Message{Message::Kind::power_off, payload[0], {}};
    case static_cast<std::uint8_t>(Control::power_on):
      return Message{Message::Kind::power_on, payload[0], {}};
    case static_cast<std::uint8_t>(Control::reset):
      return Message{Message::Kind::reset, payload[0], {}};
    case static_cast<std::uint8_t>(Control::atr):
      return Message{Message::Kind::atr, payload[0], {}};
    default:
      return Message{Message::Kind::unknown_control, payload[0], {}};
  }
}

const char* describe(Message::Kind k) {
  switch (k) {
    case Message::Kind::power_off:
      return "power off";
    case Message::Kind::power_on:
      return "power on";
    case Message::Kind::reset:
      return "reset";
    case Message::Kind::atr:
      return "ATR request";
    case Message::Kind::apdu:
      return "APDU";
    case Message::Kind::unknown_control:
      return "unknown control byte";
  }
  return "?";
}

}  // namespace juki::vpcd
