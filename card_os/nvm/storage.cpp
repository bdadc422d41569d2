#include "card_os/nvm/storage.hpp"

#include <algorithm>

namespace juki::card_os {

void check_range(std::size_t offset, std::size_t len, std::size_t size) {
  if (offset > size || len > size - offset) throw MediumFault(offset, len, size);
}

MediumFault::MediumFault(std::size_t offset, std::size_t len, std::size_t size)
    : message_("an access of " + std::to_string(len) + " bytes at " + std::to_string(offset) +
               " outside a " + std::to_string(size) + "-byte medium") {}

void MemoryStorage::read(std::size_t offset, std::span<std::uint8_t> out) const {
  check_range(offset, out.size(), bytes_.size());
  std::copy_n(bytes_.begin() + static_cast<std::ptrdiff_t>(offset), out.size(), out.begin());
}

void MemoryStorage::write(std::size_t offset, ByteView data) {
  check_range(offset, data.size(), bytes_.size());
  std::copy(data.begin(), data.end(), bytes_.begin() + static_cast<std::ptrdiff_t>(offset));
}

void FaultInjector::arm(std::uint64_t write_index, std::size_t torn_prefix) {
  cut_at_ = write_index;
  torn_prefix_ = torn_prefix;
  armed_ = true;
  fired_ = false;
}

void FaultInjector::write(std::size_t offset, ByteView data) {
  const std::uint64_t index = writes_++;
  if (armed_ && index == cut_at_) {
    const std::size_t n = std::min(torn_prefix_, data.size());
    if (n > 0) inner_.write(offset, data.first(n));
    fired_ = true;
    armed_ = false;
    throw PowerLoss();
  }
  inner_.write(offset, data);
}

}  // namespace juki::card_os
