// Internals of Card shared by the command handlers (card_os/card/*.cpp).
#pragma once

#include <array>
#include <optional>

#include "card_os/apdu/apdu.hpp"
#include "card_os/card/card.hpp"
#include "card_os/fs/file_system.hpp"
#include "card_os/nvm/heap.hpp"
#include "card_os/security/objects.hpp"

namespace juki::card_os {

// Superblock at address 0 of the persistent memory (specs/card-os.md).
struct Superblock {
  static constexpr std::uint32_t kMagic = 0x4A4B4F53;  // "JKOS"
  static constexpr std::uint16_t kLayoutVersion = 1;
  static constexpr std::uint32_t kMagicAt = 0;
  static constexpr std::uint32_t kVersionAt = 4;
  static constexpr std::uint32_t kLifeCycleAt = 6;
  static constexpr std::uint32_t kHeapHeadAt = 8;
  static constexpr std::uint32_t kMfAt = 12;
  static constexpr std::uint32_t kSerialAt = 16;  // 8 bytes
  static constexpr std::uint32_t kSaltAt = 24;    // 16 bytes, salts PIN digests
  static constexpr std::uint32_t kSize = 64;      // the heap starts here
};

inline constexpr std::size_t kChannels = 4;
inline constexpr std::size_t kMaxGrants = 8;
inline constexpr std::uint8_t kTransportKeyRef = 0x01;
inline constexpr std::uint8_t kAdminKeyRef = 0x02;

// A PIN verified or a key proved on one channel, and the DF that owns it.
struct Grant {
  ObjectRef object = 0;
  NodeRef owner = 0;
};

// Volatile security state of one channel (ARCHITECTURE.md, "Firewall").
struct SecurityState {
  NodeRef context = 0;  // the application DF the channel is in
  std::array<Grant, kMaxGrants> grants{};
  std::uint16_t roles = 0;  // authenticated roles (mutual authentication, later)

  bool has(ObjectRef o) const;
  void grant(ObjectRef o, NodeRef owner);
  void revoke(ObjectRef o);
  // Keeps only grants owned by `keep_owner` (the MF's, which are global).
  void clear_except(NodeRef keep_owner);
  void clear() { *this = SecurityState{}; }
};

struct Channel {
  bool open = false;
  NodeRef df = 0;
  NodeRef ef = 0;
  std::uint32_t record = 0;  // current record of the current EF; 0 none
  SecurityState security;
  std::array<std::uint8_t, 32> challenge{};
  std::uint8_t challenge_length = 0;  // 0: no challenge outstanding
};

// A response under construction: data and status word.
struct Reply {
  Bytes data;
  sw::Sw sw = sw::kOk;
};

class Card::Impl {
 public:
  Impl(Storage& storage, RandomSource& random, PersistentMemory memory);

  Bytes transmit(ByteView command);
  void reset();
  Bytes atr() const;
  LifeCycle life_cycle() const { return static_cast<LifeCycle>(nvm_.u8(Superblock::kLifeCycleAt)); }

  bool mute = false;
  PersistentMemory nvm_;

  // Makes the card's state consistent after power-up (a transport key
  // exhausted by a torn last attempt terminates the card).
  void repair();

 private:
  friend struct Handlers;
  using Command = apdu::Command;

  Reply dispatch(const Command& c);

  // --- commands (card_os/card/commands_*.cpp) ---
  Reply select(Channel& ch, const Command& c);
  Reply read_binary(Channel& ch, const Command& c);
  Reply update_binary(Channel& ch, const Command& c);
  Reply read_record(Channel& ch, const Command& c);
  Reply update_record(Channel& ch, const Command& c);
  Reply append_record(Channel& ch, const Command& c);
  Reply create_file(Channel& ch, const Command& c);
  Reply delete_file(Channel& ch, const Command& c);
  Reply activate_file(Channel& ch, const Command& c, bool activate);
  Reply verify(Channel& ch, const Command& c);
  Reply change_reference_data(Channel& ch, const Command& c);
  Reply reset_retry_counter(Channel& ch, const Command& c);
  Reply get_challenge(Channel& ch, const Command& c);
  Reply external_authenticate(Channel& ch, const Command& c);
  Reply manage_channel(std::size_t channel, const Command& c);
  Reply get_data(Channel& ch, const Command& c);
  Reply put_data(Channel& ch, const Command& c);
  Reply set_status(Channel& ch, const Command& c);
  Reply terminate_card(Channel& ch, const Command& c);

  // --- shared helpers ---
  NodeRef mf() const { return nvm_.u32(Superblock::kMfAt); }
  ByteView salt() const { return nvm_.read(Superblock::kSaltAt, 16); }
  bool personalizing(const Channel& ch) const;  // life cycle personalization + key proved
  bool allowed(const Channel& ch, NodeRef file, Op op) const;
  // Resolves the EF a record/binary command addresses (SFI or current EF).
  sw::Sw target_ef(Channel& ch, std::uint8_t sfi, NodeRef& ef) const;
  // The addressing, structure, life-cycle and access checks shared by the
  // binary and the record commands (an SFI also selects the EF).
  sw::Sw binary_target(Channel& ch, const Command& c, Op op, NodeRef& ef, std::uint32_t& offset);
  sw::Sw record_target(Channel& ch, const Command& c, Op op, NodeRef& ef, std::uint32_t& number);
  // Makes `node` the channel's current file and tracks the security context.
  void select_node(Channel& ch, NodeRef node, bool explicit_select);
  // The file named by an optional FID of a child of the current DF, or the
  // current file: DELETE/ACTIVATE/DEACTIVATE FILE.
  sw::Sw addressed_file(const Channel& ch, const Command& c, NodeRef& out) const;
  // Tear-safe try consumption: commits tries-1 before the caller compares.
  sw::Sw consume_try(ObjectRef o);
  sw::Sw restore_tries(ObjectRef o);
  sw::Sw set_life_cycle(LifeCycle s);  // within a transaction
  // Verifies a PIN value with the tear-safe two-step protocol.
  sw::Sw check_pin(Channel& ch, ObjectRef pin, ByteView value, bool grant);
  void forget_subtree(NodeRef removed, NodeRef parent);
  void revoke_everywhere(ObjectRef o);

  Storage& storage_;
  RandomSource& random_;
  Heap heap_;
  FileSystem fs_;
  SecurityObjects objects_;
  std::array<Channel, kChannels> channels_{};
};

}  // namespace juki::card_os
