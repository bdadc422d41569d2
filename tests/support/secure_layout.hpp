// The card the secure-channel tests, benchmarks and end-to-end tests share
// (no test framework here, so that benchmarks and tools link it too): the
// sample layout plus application "SEC", enrolled for mutual authentication
// (issuer_tool/enrolment), with files that need a role, secure messaging or
// nothing:
//   DF 7000 "SEC" (kSecAid)   trust anchor 2F10, card certificate 2F11,
//                             card CA certificate 2F12, key 01 made on the card
//     EF 7001 read: role window + secure messaging        (kSecret, SFI 1)
//     EF 7002 read: secure messaging                      (kSecret, SFI 2)
//     EF 7003 read: role password-reset + secure messaging (kSecret, SFI 3)
//     EF 7004 read: always                                (kSecret, SFI 4)
//     EF 7005 read: always                                (open_content(), SFI 5)
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/bytes.hpp"
#include "common/transport.hpp"
#include "host_middleware/personalization/personalization.hpp"
#include "pki/pki.hpp"

namespace juki::test {

inline const Bytes kSecAid = {0xF0, 0x53, 0x45, 0x43, 0x31};
inline constexpr std::uint16_t kSecDf = 0x7000;
inline const std::string kMunicipality = "131016";
inline const Bytes kSecret = {'r', 'e', 's', 'i', 'd', 'e', 'n', 't',
                              ' ', 'r', 'e', 'c', 'o', 'r', 'd'};
inline constexpr std::uint16_t kWindowEf = 0x7001;
inline constexpr std::uint16_t kSmEf = 0x7002;
inline constexpr std::uint16_t kResetEf = 0x7003;
inline constexpr std::uint16_t kAlwaysEf = 0x7004;
inline constexpr std::uint16_t kOpenEf = 0x7005;

// Access bits of roles in the card's access rules (specs/pki.md).
inline constexpr std::uint16_t kWindowBit = 0x0001;
inline constexpr std::uint16_t kResetBit = 0x0004;

// EF 7005's 256 bytes: 00 01 .. FF.
Bytes open_content();

// The JPKI application too (specs/jpki.md), enrolled under these CAs with
// kJpkiAuthPin, kJpkiSignPin and the token text "JPKIAPICCTOKEN".
struct JpkiCas {
  const pki::KeyAndCert& auth;
  const pki::KeyAndCert& sign;
};
inline const std::string kJpkiHolder = "JUKI TARO";
inline const std::string kJpkiAuthPin = "1234";
inline const std::string kJpkiSignPin = "ABC123";

// The Juki AP too (specs/juki-ap.md): resident code kJukiResidentCode, its
// password set to kJukiPassword after activation.
inline const std::string kJukiResidentCode = "12345678903";
inline const std::string kJukiPassword = "4321";
enum class WithJukiAp : bool { no, yes };
enum class WithCardManager : bool { no, yes };

// A blank, transport-locked card behind `t` (powered) becomes active: the
// sample layout (`secrets`, password 1234) and application SEC, its key
// certified by `card_ca` under `root`; with `jpki`, the JPKI application;
// with `juki_ap`, the Juki AP; with `card_manager`, the card manager
// (specs/card-manager.md) of municipality kMunicipality under `root`, with no
// municipal application. Returns the card certificate of SEC; the caller
// powers the card off.
host::perso::Outcome<pki::Certificate> make_secure_card(
    juki::Transport& t, const host::perso::SampleSecrets& secrets, const pki::Certificate& root,
    const pki::KeyAndCert& card_ca, std::optional<JpkiCas> jpki = {},
    WithJukiAp juki_ap = WithJukiAp::no, WithCardManager card_manager = WithCardManager::no);

}  // namespace juki::test
