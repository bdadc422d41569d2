// Internals of Card shared by the command handlers (card_os/card/*.cpp).
#pragma once

#include <array>
#include <optional>

#include "card_os/card/app_services.hpp"
#include "card_os/card/card.hpp"
#include "card_os/card/reply.hpp"
#include "card_os/fs/file_system.hpp"
#include "card_os/nvm/heap.hpp"
#include "card_os/security/certificate.hpp"
#include "card_os/security/ecc.hpp"
#include "card_os/security/objects.hpp"
#include "card_os/security/secure_messaging.hpp"
#include "common/iso7816/apdu.hpp"

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
  // The card's date, YYYYMMDDhhmmss as a big-endian u64 (specs/secure-channel.md 2.3).
  static constexpr std::uint32_t kCardDateAt = 40;
  // Byte 48 held a persistent count of failed authentications up to layout
  // 1's first release; it is reserved now (specs/secure-channel.md 2.4) and
  // never read, so that no value left in an image can block a card.
  static constexpr std::uint32_t kSize = 64;  // the heap starts here
};

inline constexpr std::size_t kChannels = 4;
inline constexpr std::size_t kMaxGrants = 8;
inline constexpr std::uint8_t kTransportKeyRef = 0x01;
inline constexpr std::uint8_t kAdminKeyRef = 0x02;

// Mutual authentication (specs/secure-channel.md): files and key an
// application DF (or the MF) holds for it.
inline constexpr std::uint16_t kTrustAnchorFid = 0x2F10;
inline constexpr std::uint16_t kCardCertificateFid = 0x2F11;
inline constexpr std::uint16_t kCardCaCertificateFid = 0x2F12;
inline constexpr std::uint8_t kCardAuthKeyRef = 0x01;  // a P-256 key object
// Failed proofs (a signature that does not verify) after which the card
// refuses authentication until it is powered off (specs/secure-channel.md 2.4).
inline constexpr std::uint8_t kAuthFailuresPerPowerUp = 3;

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
  void clear_grants() { grants = {}; }
};

// Mutual authentication in progress or done on one channel, in one
// application context (specs/secure-channel.md 2).
struct Authentication {
  enum class Step : std::uint8_t {
    none,
    ca_verified,        // 1: the terminal (or server) CA certificate
    terminal_verified,  // 2: the terminal certificate
    terminal_proved,    // 4: the terminal's signature
    established,        // 5: session keys; secure messaging on
  };
  Step step = Step::none;
  ecc::Point ca_key{};
  std::uint16_t ca_role = 0;  // terminal-ca or server-ca
  Bytes ca_subject;
  certificate::Date ca_not_before = 0;
  certificate::Date date = 0;    // the card's date for this authentication (2.3)
  certificate::Date newest = 0;  // the latest notBefore of the chain: the date after step 4
  ecc::Point terminal_key{};
  std::uint16_t role = 0;
  std::array<std::uint8_t, 16> card_challenge{};
  ecc::Point terminal_ephemeral{};
  sm::SessionKeys keys;
  // The MF key with the personalization flag whose proof opened this
  // session, if that is how it came (not from certificates): personalization
  // rights (specs/card-os.md 4.3) hold under it and under nothing else.
  ObjectRef personalization_key = 0;
  bool personalization() const { return personalization_key != 0; }

  bool established() const { return step == Step::established; }
  // Forgets everything, the session keys wiped first.
  void clear() {
    sm::wipe(keys);
    *this = Authentication{};
  }
};

struct Channel {
  bool open = false;
  NodeRef df = 0;
  NodeRef ef = 0;
  std::uint32_t record = 0;  // current record of the current EF; 0 none
  SecurityState security;
  std::array<std::uint8_t, 32> challenge{};
  std::uint8_t challenge_length = 0;  // 0: no challenge outstanding
  Authentication auth;
  bool secure = false;  // the command being processed came under secure messaging
  // The code of the application whose context this is (card_os/apps/), or
  // null; and that code's state on this channel, zero on entering the context.
  const apps::Application* app = nullptr;
  std::uint32_t app_state = 0;
};

class Card::Impl {
 public:
  Impl(Storage& storage, RandomSource& random, Applications applications, PersistentMemory memory);

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
  friend class AppServices;
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
  // VERIFY's answer for a resolved PIN (P1 00 or FF, empty or not).
  Reply verify_pin(Channel& ch, ObjectRef pin, const Command& c);
  Reply change_reference_data(Channel& ch, const Command& c);
  Reply reset_retry_counter(Channel& ch, const Command& c);
  Reply get_challenge(Channel& ch, const Command& c);
  Reply external_authenticate(Channel& ch, const Command& c);
  Reply manage_channel(std::size_t channel, const Command& c);
  Reply get_data(Channel& ch, const Command& c);
  Reply put_data(Channel& ch, const Command& c);
  Reply set_status(Channel& ch, const Command& c);
  Reply terminate_card(Channel& ch, const Command& c);
  // --- mutual authentication (card_os/card/commands_auth.cpp) ---
  Reply verify_certificate(Channel& ch, const Command& c);
  Reply terminal_authenticate(Channel& ch, const Command& c, std::uint8_t challenge_length);
  Reply general_authenticate(Channel& ch, const Command& c);
  Reply generate_key_pair(Channel& ch, const Command& c);
  Reply generate_rsa_key_pair(Channel& ch, const Command& c);
  // After a proof of an issuance key: session keys from the key and the
  // challenge it answered (specs/secure-channel.md 6); rights follow them.
  void open_personalization_session(Channel& ch, ObjectRef key, ByteView challenge);
  // A protected command on a channel with a session: unwrap, process, wrap.
  Bytes transmit_secure(std::size_t channel, ByteView raw);

  // --- shared helpers ---
  NodeRef mf() const { return nvm_.u32(Superblock::kMfAt); }
  ByteView salt() const { return nvm_.read(Superblock::kSaltAt, 16); }
  bool personalizing(const Channel& ch) const;  // life cycle personalization + key proved
  // Transport-locked or in personalization: the keys of the issuance live.
  bool issuing() const {
    return life_cycle() == LifeCycle::transport_locked ||
           life_cycle() == LifeCycle::personalization;
  }
  bool allowed(const Channel& ch, NodeRef file, Op op) const;
  // Resolves the EF a record/binary command addresses (SFI or current EF).
  sw::Sw target_ef(Channel& ch, std::uint8_t sfi, NodeRef& ef) const;
  // The addressing, structure, life-cycle and access checks shared by the
  // binary and the record commands (an SFI also selects the EF).
  sw::Sw binary_target(Channel& ch, const Command& c, Op op, NodeRef& ef, std::uint32_t& offset);
  sw::Sw record_target(Channel& ch, const Command& c, Op op, NodeRef& ef, std::uint32_t& number);
  // Makes `node` the channel's current file and tracks the security context.
  void select_node(Channel& ch, NodeRef node, bool explicit_select);
  // The channel is now in application context `context` (a DF): its
  // application code, if any, starts afresh.
  void enter_context(Channel& ch, NodeRef context);
  // The code of the application whose DF is named `aid`, among those the card
  // was given, or null.
  const apps::Application* application_named(ByteView aid) const;
  // The one way out of a context (specs/card-os.md 7.3): what was verified or
  // proved in it, its authentication and session keys (but the MF's
  // personalization session), a pending challenge and the application code's
  // state end; the channel then enters `to` (which may be the same context,
  // afresh). SELECT, SET STATUS, DEACTIVATE (LOCK) and DELETE all leave
  // through here.
  void leave_context(Channel& ch, NodeRef to);
  // Every channel whose context is `node` or lies below it leaves it and
  // enters it afresh: `node` was deactivated (an application locked).
  void leave_contexts_within(NodeRef node);
  // The file named by an optional FID of a child of the current DF, or the
  // current file: DELETE/ACTIVATE/DEACTIVATE FILE.
  sw::Sw addressed_file(const Channel& ch, const Command& c, NodeRef& out) const;
  // Tear-safe try consumption: commits tries-1 before the caller compares.
  sw::Sw consume_try(ObjectRef o);
  sw::Sw restore_tries(ObjectRef o);
  sw::Sw set_life_cycle(LifeCycle s);  // within a transaction
  // Verifies a PIN value with the tear-safe two-step protocol.
  sw::Sw check_pin(Channel& ch, ObjectRef pin, ByteView value, bool grant);
  // Whether a PIN or key the channel resolved belongs to a DF that is, or
  // lies in, a deactivated DF (a locked application): nothing there is usable.
  bool in_inactive_df(const Channel& ch, ObjectRef o) const {
    return fs_.inactive(objects_.owner_of(o, ch.df));
  }
  void forget_subtree(NodeRef removed, NodeRef parent);
  void revoke_everywhere(ObjectRef o);
  // Ends a channel's authentication and what it granted (roles, session keys).
  void end_authentication(Channel& ch);
  // The failed-proof counter of this power-up (volatile: specs/secure-channel.md 2.4).
  sw::Sw authentication_refused() const;  // 6983 when refused until power-off, else 9000
  // Counts a failed proof and ends the channel's authentication; returns `s`.
  sw::Sw failed_proof(Channel& ch, sw::Sw s);
  // The card's date (specs/secure-channel.md 2.3) moves forward to `date`, never back.
  sw::Sw advance_card_date(certificate::Date date);
  // A certificate stored in an EF of the application context (or the MF).
  std::optional<ByteView> stored_certificate(NodeRef context, std::uint16_t fid) const;
  // The terminal chain's checks (specs/secure-channel.md 2.1 steps 1-5 but
  // the municipal-app binding): a terminal or server CA certificate against
  // the trust anchor of `context` (or the MF's) at the card's date, then a
  // leaf certificate of a role that CA issues. Nothing is written.
  struct TrustedCa {
    ecc::Point key{};
    std::uint16_t role = 0;  // terminal-ca or server-ca
    Bytes subject;
    certificate::Date not_before = 0;
    certificate::Date today = 0;  // the card's date, never before the anchor's notBefore
  };
  Result<TrustedCa, ChainRefusal> check_terminal_ca(NodeRef context, ByteView der) const;
  Result<certificate::Info, ChainRefusal> check_terminal(const TrustedCa& ca, ByteView der) const;

  Storage& storage_;
  RandomSource& random_;
  Applications applications_;
  Heap heap_;
  FileSystem fs_;
  SecurityObjects objects_;
  std::array<Channel, kChannels> channels_{};
  std::uint8_t auth_failures_ = 0;  // failed proofs since power-up; a warm reset keeps them
};

}  // namespace juki::card_os
