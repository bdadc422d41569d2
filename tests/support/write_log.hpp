// A storage that passes writes through and remembers each write's offset and
// size, for tearing tests: the fault injector under it counts the same writes,
// so indices agree.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "card_os/nvm/storage.hpp"
#include "common/bytes.hpp"

namespace juki::test {

class WriteLog final : public card_os::Storage {
 public:
  explicit WriteLog(card_os::Storage& inner) : inner_(inner) {}
  std::size_t size() const override { return inner_.size(); }
  void read(std::size_t offset, std::span<std::uint8_t> out) const override {
    inner_.read(offset, out);
  }
  void write(std::size_t offset, ByteView data) override {
    sizes.push_back(data.size());
    offsets.push_back(offset);
    inner_.write(offset, data);
  }
  void sync() override { inner_.sync(); }

  std::vector<std::size_t> sizes;
  std::vector<std::size_t> offsets;

 private:
  card_os::Storage& inner_;
};

}  // namespace juki::test
