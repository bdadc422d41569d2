// Storage: the raw persistent medium under the card (EEPROM/flash stand-in).
// A flat byte device with writes, reads and a durability barrier. It knows
// nothing of transactions: PersistentMemory builds those on top.
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>

#include "common/bytes.hpp"
#include "common/result.hpp"

namespace juki::card_os {

// Thrown by a storage when the power is cut in the middle of a write. The card
// stops where it is; Card::transmit catches it and the card stays mute until
// the next power-up. It never escapes card_os.
class PowerLoss : public std::exception {
 public:
  const char* what() const noexcept override { return "power lost during a persistent write"; }
};

// Thrown by a storage asked for bytes outside its medium: a bug in the layer
// above, refused in every build rather than left undefined. Card::transmit
// answers 6F00 and power_up refuses the image; it never escapes card_os.
class MediumFault : public std::exception {
 public:
  MediumFault(std::size_t offset, std::size_t len, std::size_t size);
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  std::string message_;
};

// Throws MediumFault unless [offset, offset + len) lies within `size` bytes;
// every Storage checks its accesses with it.
void check_range(std::size_t offset, std::size_t len, std::size_t size);

class Storage {
 public:
  virtual ~Storage() = default;
  virtual std::size_t size() const = 0;
  virtual void read(std::size_t offset, std::span<std::uint8_t> out) const = 0;
  // One write is one unit for the fault injector's count. May throw PowerLoss.
  virtual void write(std::size_t offset, ByteView data) = 0;
  // Barrier: everything written before is durable once this returns.
  virtual void sync() = 0;
};

// Volatile medium for tests and benchmarks; survives "power cycles" of the
// Card object that uses it, like the EEPROM of a real chip.
class MemoryStorage final : public Storage {
 public:
  explicit MemoryStorage(std::size_t size) : bytes_(size, 0) {}
  std::size_t size() const override { return bytes_.size(); }
  void read(std::size_t offset, std::span<std::uint8_t> out) const override;
  void write(std::size_t offset, ByteView data) override;
  void sync() override {}
  const Bytes& bytes() const { return bytes_; }
  Bytes& bytes() { return bytes_; }

 private:
  Bytes bytes_;
};

// Wraps a storage and cuts the power at a chosen write, for tearing tests.
// Writes are counted over the wrapper's whole life (index 0 is the first).
class FaultInjector final : public Storage {
 public:
  explicit FaultInjector(Storage& inner) : inner_(inner) {}

  // The write with this index is torn: only its first `torn_prefix` bytes
  // (clamped to its size) reach the medium, then PowerLoss is thrown.
  void arm(std::uint64_t write_index, std::size_t torn_prefix = 0);
  void disarm() { armed_ = false; }
  bool armed() const { return armed_; }
  bool fired() const { return fired_; }
  std::uint64_t writes() const { return writes_; }

  std::size_t size() const override { return inner_.size(); }
  void read(std::size_t offset, std::span<std::uint8_t> out) const override {
    inner_.read(offset, out);
  }
  void write(std::size_t offset, ByteView data) override;
  void sync() override { inner_.sync(); }

 private:
  Storage& inner_;
  std::uint64_t writes_ = 0;
  std::uint64_t cut_at_ = 0;
  std::size_t torn_prefix_ = 0;
  bool armed_ = false;
  bool fired_ = false;
};

}  // namespace juki::card_os
