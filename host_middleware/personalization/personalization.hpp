// Personalization over APDUs: what an issuance station sends to a
// transport-locked card to make it a personalized one. The issuer tool and
// the tests drive cards through this one library (specs/card-os.md,
// "Personalization").
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/bytes.hpp"
#include "common/iso7816/fcp.hpp"
#include "common/iso7816/status_words.hpp"
#include "common/result.hpp"
#include "common/transport.hpp"
#include "host_middleware/session/sm_transport.hpp"

namespace juki::host::perso {

// A command that did not get the status word it needed.
struct Error {
  std::string step;        // "CREATE FILE 5001", "transport key"...
  sw::Sw sw = 0;           // 0 when the card gave none
  std::string message;     // with the status word's meaning
  bool transport = false;  // the exchange itself failed: card removed, mute, reader gone
  std::string describe() const;
};

template <class T = void>
using Outcome = Result<T, Error>;

// PUT DATA definitions (specs/card-os.md "Security objects").
struct PinDefinition {
  std::uint8_t ref = 1;
  std::uint8_t format = 1;  // 1 digits, 2 letters and digits, 3 any byte
  std::uint8_t min_length = 4, max_length = 4;
  std::uint8_t retry_limit = 3;
  bool activates_card = false;
  // 0 none, 1 PUK (PIN `unblock_ref` of this DF), 2 key `unblock_ref` of this DF,
  // 3 a terminal of a role in `unblock_roles`, authenticated, under secure messaging
  std::uint8_t unblock_kind = 0;
  std::uint8_t unblock_ref = 0;
  std::uint16_t unblock_roles = 0;  // kind 3: role access bits (specs/pki.md), e.g. 0x0004
  Bytes initial_value;              // empty: unset until CHANGE REFERENCE DATA P1=01
  Bytes encode() const;
};

struct KeyDefinition {
  std::uint8_t ref = 2;
  Bytes value;  // AES key, 16/24/32 bytes
  std::uint8_t retry_limit = 3;
  bool transport = false;
  bool personalization = false;
  Bytes encode() const;
};

// Sends one command and returns the response data, failing unless the status
// word is `want`.
Outcome<Bytes> exchange(Transport& t, ByteView command, const std::string& step,
                        sw::Sw want = sw::kOk);

class Personalizer {
 public:
  explicit Personalizer(Transport& t) : t_(t) {}

  // GET CHALLENGE + EXTERNAL AUTHENTICATE with the issuance key `ref` (the
  // transport key, or another key with the personalization flag), which
  // opens the personalization session (specs/secure-channel.md 6): on a
  // blank card it releases the transport lock, and every later command of
  // this Personalizer travels under the session's secure messaging, where the
  // personalization rights hold. A refused proof: step "EXTERNAL
  // AUTHENTICATE key RR" with the card's 63CX.
  Outcome<> authenticate(ByteView key, std::uint8_t ref = 0x01);
  // Where the commands go: the personalization session once authenticate()
  // opened one, else the card's transport as given. Callers that send
  // commands of their own in the same session use it.
  Transport& transport() { return session_ ? static_cast<Transport&>(*session_) : t_; }
  // Hands the session over (for a caller that goes on with it after this
  // Personalizer); later commands of this Personalizer go plain.
  std::unique_ptr<session::SmTransport> release_session() { return std::move(session_); }
  Outcome<> select_mf();
  Outcome<> select_fid(std::uint16_t fid);
  Outcome<> select_parent();
  // SELECT by DF name (AID), no response data.
  Outcome<> select_aid(ByteView aid);
  // CREATE FILE; the new file becomes the current one.
  Outcome<> create(const fcp::FileSpec& spec);
  // UPDATE BINARY of the current EF, in chunks of at most 255 bytes.
  Outcome<> write_binary(ByteView data, std::uint32_t offset = 0);
  Outcome<> append_record(ByteView data);
  Outcome<> put_pin(const PinDefinition& d);
  Outcome<> put_key(const KeyDefinition& d);
  // GENERATE ASYMMETRIC KEY PAIR: a P-256 key `ref` of the current DF, made
  // on the card; returns its public point (65 bytes, 04 || X || Y).
  Outcome<Bytes> generate_ec_key(std::uint8_t ref);
  // The same for an RSA-2048 key (P1 = 01); returns its public key.
  struct RsaPublicKey {
    Bytes modulus;   // 256 bytes, big-endian
    Bytes exponent;  // big-endian, no leading zeros
  };
  Outcome<RsaPublicKey> generate_rsa_key(std::uint8_t ref);
  // GET DATA of a card data object (specs/card-os.md 6.11: DF20 life cycle,
  // DF22 serial...); returns its value.
  Outcome<Bytes> get_data(std::uint16_t tag);
  // SET STATUS: personalization -> issued.
  Outcome<> finish();

 private:
  Transport& t_;
  std::unique_ptr<session::SmTransport> session_;
};

// ---------------------------------------------------------------- the sample card
// A small, fixed layout used by the demo, the tests, the benchmarks and the
// conformance scripts until the Juki applications exist (specs/card-os.md
// "Sample layout").
struct SampleSecrets {
  Bytes transport_key;  // the factory's
  Bytes admin_key;      // MF key 02: TERMINATE CARD USAGE
  Bytes reset_key;      // application key 03: RESET RETRY COUNTER of the password
};
inline constexpr std::uint16_t kSampleDf = 0x5000;
inline const Bytes kSampleAid = {0xF0, 0x4A, 0x55, 0x4B, 0x49,
                                 0x44, 0x45, 0x4D, 0x4F};  // F0 "JUKIDEMO"
inline constexpr std::uint16_t kSampleInfoEf = 0x5001;     // transparent 256, read always
inline constexpr std::uint16_t kSamplePrivateEf = 0x5002;  // transparent 32, read after PIN
inline constexpr std::uint16_t kSampleHistoryEf = 0x5003;  // linear fixed 4 x 16, SFI 3
inline constexpr std::uint16_t kSampleLogEf = 0x5004;      // linear variable 8 x 32, SFI 4
inline constexpr std::uint8_t kSamplePinRef = 0x81;        // the 4-digit password, 3 tries
inline constexpr std::uint8_t kSampleResetKeyRef = 0x83;

// Writes the sample layout to a transport-locked card and leaves it in
// personalization, with the session's personalization rights, for callers
// that add to it (benchmarks, fuzzing) before finish().
Outcome<> write_sample_layout(Personalizer& p, const SampleSecrets& secrets);
// The sample layout, then SET STATUS: the card is issued (password not set).
Outcome<> personalize_sample(Transport& t, const SampleSecrets& secrets);

}  // namespace juki::host::perso
