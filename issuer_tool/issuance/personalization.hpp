// Personalization of a Juki card at the issuance counter (specs/issuance.md
// 2): a transport-locked card, in any reader, becomes an issued card holding
// the Juki AP, the JPKI application and the card manager, with keys made on
// the card and certified by the issuer's CAs. The counter's tool and the
// batch issuance drive cards through this one module; it keeps no records
// (issuer_tool/records does) and talks to the card only through a Transport.
//
// A card is never left issued half-made: SET STATUS (personalization ->
// issued) is the last command, after every file has been read back and
// compared. A card that fails part-way stays in personalization; the next
// attempt on it (resume) proves the transport key again, deletes what the
// failed one left and starts over.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/bytes.hpp"
#include "common/result.hpp"
#include "common/transport.hpp"
#include "host_middleware/session/sm_transport.hpp"
#include "issuer_tool/enrolment/jpki.hpp"
#include "pki/pki.hpp"

namespace juki::issuance {

// The authorities the counter signs with, from a juki-pki directory.
struct Authorities {
  pki::Certificate root;      // the cards' trust anchor
  pki::KeyAndCert card_ca;    // the Juki AP's card certificate
  pki::KeyAndCert jpki_auth;  // the JPKI authentication certificate
  pki::KeyAndCert jpki_sign;  // the JPKI signature certificate
  // The juki-pki directory they came from, where each card's certificates are
  // recorded (card_certificates.hpp); empty for authorities made in memory
  // (tests, benchmarks), whose certificates are recorded nowhere.
  std::string directory = {};
  static Result<Authorities, std::string> load(const std::string& pki_dir);
};

// What the counter holds for the cards it personalizes.
struct CounterKeys {
  Bytes transport_key;  // the card factory's, for this batch of blank cards
  Bytes admin_master;   // derives each card's administration key (MF key 02)
};
// The administration key of the card `serial`: SP 800-108 KDF in counter mode
// with AES-CMAC (one block): CMAC(master, 01 || "JUKI card admin" || 00 ||
// serial || 0080). `master` is an AES key (16, 24 or 32 bytes).
Result<Bytes, std::string> admin_key(ByteView master, ByteView serial);

// One card's contents.
struct CardOrder {
  std::string resident_code;  // 11 digits, the last the check digit
  std::string municipality;   // the issuing municipality, 6 digits with check digit
  std::string issue_date;     // YYYYMMDD; the card expires 10 years later
  char face = 'A';            // face version A or B
  std::string holder;         // the JPKI certificates' CN (the holder's name, romanized)
  std::string jpki_auth_pin;  // 4 digits
  std::string jpki_sign_pin;  // 6..16 letters and digits
};
// The order's own checks, before any card is touched: the message says
// which field is wrong.
Result<void, std::string> check_order(const CardOrder& order);

enum class Step : std::uint8_t {
  open,          // the ATR's life cycle, the transport key, the serial
  roll_back,     // what an earlier attempt left, deleted
  admin_key,     // MF key 02
  juki_ap,       // the Juki AP: password, resident code, card information, key, certificates
  jpki,          // the JPKI application: PINs, two RSA-2048 keys, certificates
  card_manager,  // the card manager: trust anchor, municipality, counter, registry
  verify,        // every written file read back and compared
  record,        // the card's certificates recorded in the PKI directory
  issue,         // SET STATUS: personalization -> issued
};
std::string_view step_name(Step step);  // "open", "roll back", "admin key"...
inline constexpr int kSteps = 9;

struct Failure {
  enum class Kind : std::uint8_t {
    order,                // the order is not valid (nothing sent)
    card_state,           // not a blank card (issued, active, terminated) or not ours
    wrong_transport_key,  // the card refused the transport key (a try is gone)
    transport,            // the card went away or the reader failed: removed, torn
    refused,              // the card refused a command
    verification,         // a file read back differs from what was written
    authority,            // the PKI refused to certify a key
    pki_directory,        // the certificates could not be recorded (the card is not issued)
  };
  Kind kind = Kind::refused;
  Step step = Step::open;
  std::uint16_t sw = 0;  // the card's status word, 0 when there is none
  std::string message;
  std::string describe() const;  // "jpki: GENERATE 0017: 6A84 (memory)"
};
std::string_view kind_name(Failure::Kind kind);  // "order", "card state"...

// What open() found.
struct OpenedCard {
  Bytes serial;                  // GET DATA DF22
  bool resumed = false;          // found in personalization: an earlier attempt's card
  int transport_tries_left = 0;  // only meaningful in a wrong_transport_key failure
  // The personalization session the transport key's proof opened
  // (specs/secure-channel.md 6): every later command travels under it.
  std::shared_ptr<host::session::SmTransport> session;
};
// Opens a card for personalization: its ATR must say transport-locked (or
// personalization: an earlier attempt, resumed), then the transport key is
// proved, which opens the personalization session, and the serial is read
// under it. Personalization rights last while the session does: until the
// card is reset or removed, or a command is sent on the channel outside it.
Result<OpenedCard, Failure> open(juki::Transport& t, ByteView transport_key);

struct Personalized {
  Bytes serial;
  pki::Certificate card_certificate;  // the Juki AP's
  enrolment::JpkiCertificates jpki;
  std::string expiry;  // YYYYMMDD: the issue date plus 10 years
};
using Progress = std::function<void(Step)>;
// Personalizes the card `open` returned, under its personalization session: rolls back
// what a failed attempt left, writes everything, reads it back, records its
// certificates in `authorities.directory` (when there is one), and sets it
// issued. `progress` is told each step as it starts.
Result<Personalized, Failure> personalize(const OpenedCard& card, const Authorities& authorities,
                                          const CounterKeys& keys, const CardOrder& order,
                                          const Progress& progress = {});

}  // namespace juki::issuance
