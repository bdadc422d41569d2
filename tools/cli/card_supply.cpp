#include "tools/cli/card_supply.hpp"

#include <stdlib.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <utility>

#include "common/system_random.hpp"
#include "host_middleware/pcsc/pcsc.hpp"
#include "simulator/blank_card.hpp"
#include "simulator/sim/control_client.hpp"
#include "tools/cli/card_connection.hpp"

namespace juki::tools {

namespace fs = std::filesystem;

namespace {

class InMemoryLease final : public CardLease {
 public:
  explicit InMemoryLease(std::unique_ptr<sim::BlankCardInMemory> card) : card_(std::move(card)) {}
  Transport& transport() override { return card_->transport(); }
  std::string made_as() const override { return "a blank simulator card made in this process"; }

 private:
  std::unique_ptr<sim::BlankCardInMemory> card_;
};

class InMemorySupply final : public CardSupply {
 public:
  InMemorySupply(card_os::FactoryProfile profile, std::string role)
      : profile_(std::move(profile)), role_(std::move(role)) {}
  Result<std::unique_ptr<CardLease>, SupplyError> card_for(std::size_t, const std::string& name,
                                                           const std::string&) override {
    const std::string seed = role_ + ":" + fs::path(name).filename().string();
    auto card =
        sim::BlankCardInMemory::make(profile_, as_bytes(seed), "simulator card in this process");
    if (!card) return unexpected(SupplyError{false, card.error()});
    return std::unique_ptr<CardLease>(new InMemoryLease(std::move(*card)));
  }

 private:
  card_os::FactoryProfile profile_;
  std::string role_;
};

class ReaderLease final : public CardLease {
 public:
  ReaderLease(std::unique_ptr<CardConnection> c, std::string made_as)
      : connection_(std::move(c)), made_as_(std::move(made_as)) {}
  Transport& transport() override { return connection_->t(); }
  std::string made_as() const override { return made_as_; }

 private:
  std::unique_ptr<CardConnection> connection_;
  std::string made_as_;
};

}  // namespace

std::unique_ptr<CardSupply> in_memory_supply(card_os::FactoryProfile profile, std::string role) {
  return std::make_unique<InMemorySupply>(std::move(profile), std::move(role));
}

ReaderSupply::~ReaderSupply() {
  if (work_dir_.empty()) return;
  // The last card leaves the slot so that its image can go.
  (void)sim::control::ask(o_.sim_socket, "remove " + std::to_string(o_.sim_slot),
                          std::chrono::seconds(10));
  std::error_code ec;
  fs::remove_all(work_dir_, ec);
}

Result<fs::path, SupplyError> ReaderSupply::work_dir() {
  if (work_dir_.empty()) {
    std::string pattern = (fs::temp_directory_path() / (o_.tool + "-XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr)
      return unexpected(SupplyError{false, std::string("mkdtemp: ") + std::strerror(errno)});
    work_dir_ = pattern;
  }
  return work_dir_;
}

Result<std::string, SupplyError> ReaderSupply::make_blank_image(const std::string& name) {
  auto dir = work_dir();
  if (!dir) return unexpected(dir.error());
  // The simulator opens the image itself, relative to its own working
  // directory: an absolute path.
  const std::string image =
      fs::absolute(*dir / (std::to_string(images_++) + "-" + name + ".img")).string();
  SystemRandom random;
  auto made = sim::create_blank_image(image, o_.profile, random);
  if (!made) return unexpected(SupplyError{false, "cannot make " + image + ": " + made.error()});
  return image;  // closed here, before the simulator takes its lock
}

Result<std::string, SupplyError> ReaderSupply::simulator(const std::string& command) {
  auto answer = sim::control::ask(o_.sim_socket, command, std::chrono::seconds(30));
  if (!answer) return unexpected(SupplyError{true, answer.error()});
  if (!answer->ok)
    return unexpected(
        SupplyError{true, "the simulator refused '" + command + "': " + answer->text});
  return answer->text;
}

Result<void, SupplyError> ReaderSupply::wait_for_new_card() {
  auto context = host::pcsc::PcscContext::establish();
  if (!context) return unexpected(SupplyError{true, context.error().message});
  // pcscd sees a card leave within about 400 ms (vpcd's presence check); the
  // simulator waits its reinsert delay (1 s by default) before the new one
  // comes. Should pcscd have seen both already, or the reader be another
  // slot's, the wait for the removal ends after a few seconds and the card
  // there is taken: the gate then checks it is the one that was put in.
  const auto removal = std::chrono::seconds(std::min(o_.wait_seconds, 5));
  (void)context->wait_for_removal(o_.reader, removal);
  if (auto came = context->wait_for_card(o_.reader, std::chrono::seconds(o_.wait_seconds)); !came)
    return unexpected(SupplyError{true, "no card came: " + came.error().message});
  return {};
}

Result<void, SupplyError> ReaderSupply::remove_card() {
  auto removed = simulator("remove " + std::to_string(o_.sim_slot));
  if (!removed) return unexpected(removed.error());
  auto context = host::pcsc::PcscContext::establish();
  if (!context) return unexpected(SupplyError{true, context.error().message});
  if (auto gone = context->wait_for_removal(o_.reader, std::chrono::seconds(o_.wait_seconds));
      !gone)
    return unexpected(SupplyError{true, "the card did not leave: " + gone.error().message});
  return {};
}

Result<std::unique_ptr<CardLease>, SupplyError> ReaderSupply::insert_image(
    const std::string& path) {
  // swap puts the card into an empty slot too (specs/simulator.md 4.2).
  if (auto put = simulator("swap " + std::to_string(o_.sim_slot) + " " + path); !put)
    return unexpected(put.error());
  if (auto ready = wait_for_new_card(); !ready) return unexpected(ready.error());
  return connect("the blank image " + path + " in juki-card-sim slot " +
                 std::to_string(o_.sim_slot));
}

Result<std::unique_ptr<CardLease>, SupplyError> ReaderSupply::connect(std::string made_as) {
  CardOptions options;
  options.reader = o_.reader;
  options.exclusive = true;  // nothing else may talk to the card during a run
  auto connection = CardConnection::open(options);
  if (!connection) return unexpected(SupplyError{true, connection.error().message});
  return std::unique_ptr<CardLease>(new ReaderLease(std::move(*connection), std::move(made_as)));
}

Result<std::unique_ptr<CardLease>, SupplyError> ReaderSupply::card_for(std::size_t index,
                                                                       const std::string& name,
                                                                       const std::string& wanted) {
  if (!o_.sim_socket.empty()) {
    auto image = make_blank_image(fs::path(name).stem().string());
    if (!image) return unexpected(image.error());
    auto lease = insert_image(*image);
    // The image of the run before this one has left the slot.
    std::error_code ec;
    if (!last_image_.empty()) fs::remove(last_image_, ec);
    last_image_ = *image;
    return lease;
  }
  if (o_.prompt && index > 0) {
    std::cerr << o_.tool << ": for " << name << ": take the card out of '" << o_.reader
              << "' and put in " << wanted << " (waiting " << o_.wait_seconds << " s)\n";
    if (auto ready = wait_for_new_card(); !ready) return unexpected(ready.error());
  }
  return connect("");
}

}  // namespace juki::tools
