// What the code of a card application (card_os/apps/) may use of the card OS:
// its channel's application context and the card's own checks, through one
// narrow door, as a Java Card applet sees OwnerPIN and JCSystem rather than
// the card's memory.
//
// It speaks the vocabulary of the layers below (NodeRef, ObjectRef, FileSpec,
// ecc::Point, certificate::Date) and nothing of the card's internals: the card
// and the channel are only named here, and met in app_services.cpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "card_os/card/card.hpp"
#include "card_os/fs/file_system.hpp"
#include "card_os/nvm/persistent_memory.hpp"
#include "card_os/security/certificate.hpp"
#include "card_os/security/ecc.hpp"
#include "card_os/security/objects.hpp"
#include "common/iso7816/apdu.hpp"
#include "common/iso7816/status_words.hpp"
#include "common/result.hpp"

namespace juki::card_os {

struct Channel;

// Why a certificate of a terminal chain (terminal CA, then terminal) was
// refused; each user maps it to its own status word.
enum class ChainRefusal : std::uint8_t {
  malformed,       // not a certificate of the expected kind (CA with role terminal-ca, or a leaf)
  unknown_issuer,  // no trust anchor, or the issuer is not the anchor / the CA
  bad_signature,   // the issuer's key does not verify it
  expired,         // notAfter before the card's date
  role,            // a leaf whose role a terminal CA does not issue
};

class AppServices {
 public:
  AppServices(Card::Impl& card, Channel& channel);
  AppServices(const AppServices&) = delete;
  AppServices& operator=(const AppServices&) = delete;

  LifeCycle life_cycle() const;
  // The application's DF: the channel's context.
  NodeRef application() const;
  // Security object `ref` of `kind` that the application's DF owns, or 0.
  ObjectRef object(ObjectKind kind, std::uint8_t ref) const;

  // VERIFY of `pin` as ISO 7816-4 means P1 and the data (the card OS's own
  // VERIFY): no data asks for the state (9000 verified, 63Cx tries left,
  // 6983 blocked), P1 = FF forgets it, a value is checked tear-safe and, when
  // right, grants the PIN on this channel.
  sw::Sw verify(ObjectRef pin, const apdu::Command& c);
  bool verified(ObjectRef pin) const;
  std::uint8_t tries_left(ObjectRef pin) const;
  void forget(ObjectRef pin);

  // PKCS#1 v1.5 signature (type-1 padding of `digest_info`, as given) with
  // the RSA key object `key`; the status word of the refusal otherwise.
  Result<Bytes, sw::Sw> rsa_sign(ObjectRef key, ByteView digest_info);

  // The EF a READ or UPDATE BINARY command addresses (its SFI, which then
  // selects it, or the current EF), after the card OS's own checks of that
  // command for `op` (6986, 6A82, 6981, 6985, 6982, 6A86: the status word the
  // card OS would answer). The same checks run again when the command is
  // handed on.
  struct BinaryTarget {
    std::uint16_t fid = 0;
    bool in_application = false;  // a child of the application's DF
    std::uint32_t size = 0;       // the EF's size
    std::uint32_t offset = 0;     // from P1-P2
  };
  Result<BinaryTarget, sw::Sw> binary_target(const apdu::Command& c, Op op);

  // The channel keeps its DF but has no current EF (the application selected
  // something the card OS does not serve as a file).
  void leave_current_ef();

  // The application code's state on this channel: zero whenever the channel
  // enters the application's context.
  std::uint32_t& state();

  // ------------------------------------------------------------ reading
  // The card's serial number (GET DATA DF22), 8 bytes.
  ByteView serial() const;
  // A transparent EF directly in the application's own DF, or 0; its bytes.
  NodeRef own_ef(std::uint16_t fid) const;
  ByteView contents(NodeRef own_ef) const;

  // ------------------------------------------------------------ certificates
  // A terminal CA certificate and a terminal certificate it issued, checked
  // as mutual authentication checks them (specs/secure-channel.md 2.1 steps
  // 1 to 5: the trust anchor of this context or the MF's, the card's date,
  // a terminal role), and nothing written. `newest` is the date the card
  // moves to if the caller acts on them (advance_date).
  struct Terminal {
    ecc::Point key{};
    std::uint16_t role = 0;
    std::string municipality;
    certificate::Date newest = 0;
  };
  Result<Terminal, ChainRefusal> check_terminal_chain(ByteView ca_der, ByteView terminal_der) const;

  // ------------------------------------------------------------ changes
  // Every persistent change an application makes in a command joins one
  // transaction: begin(), the changes, commit(). Without commit() (a refusal
  // on the way, or a power cut) nothing of it remains.
  void begin();
  void commit();
  // Writes into a transparent EF of the application's own DF.
  sw::Sw write(NodeRef own_ef, std::uint32_t offset, ByteView data);
  // The card's date (specs/secure-channel.md 2.3) moves forward to `date`.
  sw::Sw advance_date(certificate::Date date);

  // ------------------------------------------------------------ card content
  // Only for an application whose code manages the card's content
  // (Application::manages_content: the card manager); anyone else gets 6985.
  // The applications it changes are named DFs directly under the MF, never
  // its own.
  struct ApplicationDf {
    NodeRef df = 0;
    Bytes aid;
    std::uint16_t fid = 0;     // 0: none
    bool deactivated = false;  // the DF's life-cycle status is 04
    bool pins_set = true;      // every PIN of the DF has a value
    std::uint32_t used = 0;    // bytes its files and objects take (Heap::block_size)
  };
  // Every DF with a name, depth first (the MF's children in their order).
  std::vector<ApplicationDf> applications() const;
  NodeRef mf_child(std::uint16_t fid) const;
  NodeRef df_named(ByteView aid) const;  // anywhere on the card
  std::uint32_t free_bytes() const;      // GET DATA DF21's second half

  // Within begin()..commit():
  Result<NodeRef, sw::Sw> create_application(std::uint16_t fid, ByteView aid);
  Result<NodeRef, sw::Sw> create_file(NodeRef app, const FileSpec& spec);
  sw::Sw put_pin(NodeRef app, ByteView pin_template);  // PUT DATA's A1 template
  // A P-256 key pair made on the card; the public point.
  Result<ecc::Point, sw::Sw> generate_key(NodeRef app, std::uint8_t ref);
  sw::Sw write_file(NodeRef ef, std::uint32_t offset, ByteView data);  // a transparent EF
  sw::Sw append_record(NodeRef ef, ByteView record);
  // Deactivates (locks) or activates the DF; a lock ends what every channel
  // in that context had verified or authenticated.
  sw::Sw set_locked(NodeRef app, bool locked);
  // Deletes the DF with everything in it; its memory is wiped.
  sw::Sw remove(NodeRef app);

 private:
  bool manages(NodeRef app) const;  // `app` is a DF the caller may change
  bool within_managed(NodeRef n) const;

  Card::Impl& card_;
  Channel& ch_;
  std::optional<Transaction> tx_;
};

}  // namespace juki::card_os
