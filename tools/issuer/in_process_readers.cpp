#include "tools/issuer/in_process_readers.hpp"

#include <cstdio>
#include <filesystem>
#include <utility>

#include "simulator/blank_card.hpp"

namespace juki::issuance {

BlankImages::BlankImages(std::string dir, Bytes transport_key)
    : dir_(std::move(dir)), transport_key_(std::move(transport_key)) {}

Result<BlankImages::Image, std::string> BlankImages::make(juki::RandomSource& random) {
  std::size_t n = 0;
  std::string path;
  {
    const std::lock_guard lock(mutex_);
    n = made_++;
    std::error_code ec;
    do {
      char name[32];
      std::snprintf(name, sizeof name, "card-%06zu.img", number_++);
      path = (std::filesystem::path(dir_) / name).string();
    } while (std::filesystem::exists(path, ec));
  }
  card_os::FactoryProfile profile;
  profile.transport_key = transport_key_;
  if (customize) customize(n, profile);
  auto storage = sim::create_blank_image(path, profile, random);
  if (!storage) return unexpected(path + ": " + storage.error());
  return Image{path, std::move(*storage)};
}

InProcessReader::InProcessReader(BlankImages& images, std::string name)
    : images_(images), name_(std::move(name)) {}

Result<juki::Transport*, std::string> InProcessReader::next() {
  done();
  auto image = images_.make(random_);
  if (!image) return unexpected(image.error());
  image_ = std::move(image->path);
  storage_ = std::move(image->storage);
  return reopen();
}

Result<juki::Transport*, std::string> InProcessReader::reopen() {
  transport_.reset();  // the card loses power
  if (!storage_) return unexpected(std::string("no card in ") + name_);
  auto t = juki::sim::InProcessTransport::connect(*storage_, random_, "in-process card " + image_);
  if (!t) return unexpected(t.error().message);
  transport_ = std::move(*t);
  return static_cast<juki::Transport*>(transport_.get());
}

void InProcessReader::done() {
  transport_.reset();
  storage_.reset();
}

}  // namespace juki::issuance
