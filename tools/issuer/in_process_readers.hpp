// The batch issuance's in-process readers (issuer_tool/issuance/
// batch_readers.hpp): each card is a new blank card image made by the
// simulator's chip factory and run by its card OS in this process. The one
// place where issuance meets the simulator, so it lives with the programs,
// which sit above both.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "card_os/card/card.hpp"
#include "common/bytes.hpp"
#include "common/result.hpp"
#include "common/system_random.hpp"
#include "issuer_tool/issuance/batch_readers.hpp"
#include "simulator/file_storage.hpp"
#include "simulator/in_process.hpp"

namespace juki::issuance {

// Blank card images made on the fly, one new file per card
// (DIR/card-NNNNNN.img, never overwriting one), with the counter's transport
// key: the cards of in-process readers. Safe from several threads.
class BlankImages {
 public:
  BlankImages(std::string dir, Bytes transport_key);
  // Changes the factory profile of the n-th card made (from 0): tests make
  // a card with too little memory.
  std::function<void(std::size_t n, card_os::FactoryProfile&)> customize;

  struct Image {
    std::string path;
    std::unique_ptr<juki::sim::FileStorage> storage;
  };
  Result<Image, std::string> make(juki::RandomSource& random);
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  Bytes transport_key_;
  std::mutex mutex_;
  std::size_t made_ = 0;
  std::size_t number_ = 1;  // the next file number to try
};

// A reader in this process: each next() is a new blank image.
class InProcessReader final : public CardReader {
 public:
  InProcessReader(BlankImages& images, std::string name);
  std::string name() const override { return name_; }
  Result<juki::Transport*, std::string> next() override;
  Result<juki::Transport*, std::string> reopen() override;
  void done() override;
  const std::string& image() const { return image_; }  // the current card's file

 private:
  BlankImages& images_;
  std::string name_;
  juki::SystemRandom random_;
  std::string image_;
  std::unique_ptr<juki::sim::FileStorage> storage_;
  std::unique_ptr<juki::sim::InProcessTransport> transport_;
};

}  // namespace juki::issuance
