// A card image file: the simulator's persistent medium for a card (as
// littlefs keeps its block devices outside its core, the card OS only sees
// card_os::Storage). Writes go to the file with pwrite, sync() is fsync;
// reads are served from a copy loaded at open.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "card_os/nvm/storage.hpp"
#include "common/bytes.hpp"
#include "common/result.hpp"

namespace juki::sim {

class FileStorage final : public card_os::Storage {
 public:
  // Creates (or truncates) a file of exactly `size` zero bytes.
  static Result<std::unique_ptr<FileStorage>, std::string> create(const std::string& path,
                                                                  std::size_t size);
  // Opens an existing file; its size is the storage size.
  static Result<std::unique_ptr<FileStorage>, std::string> open(const std::string& path);
  ~FileStorage() override;
  FileStorage(const FileStorage&) = delete;
  FileStorage& operator=(const FileStorage&) = delete;

  std::size_t size() const override { return mirror_.size(); }
  void read(std::size_t offset, std::span<std::uint8_t> out) const override;
  // An I/O error on the file is a broken EEPROM: it is reported on stderr and
  // the card loses power (PowerLoss) and stays mute until powered up again.
  void write(std::size_t offset, ByteView data) override;
  void sync() override;  // fsync; an error as for write
  const std::string& path() const { return path_; }

 private:
  FileStorage(int fd, std::string path, Bytes mirror);
  int fd_;
  std::string path_;
  Bytes mirror_;
};

}  // namespace juki::sim
