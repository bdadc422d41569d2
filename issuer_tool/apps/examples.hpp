// Three municipal applications (seed 000, "市町村独自サービスエリア"), as
// manifests the card manager installs (specs/card-manager.md 6): each with
// its own files, PINs (set by the holder after install) and P-256 keys made
// on the card. The issuer tool, the demo and the tests use these.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "issuer_tool/apps/manifest.hpp"

namespace juki::card_manager {

// 印鑑登録証: the seal-registration card.
//   DF 5100 "JUKISEAL" (F0 4A 55 4B 49 53 45 41 4C)
//     PIN 01 (P2 81): 4 digits, 3 tries; key 01: P-256
//     EF 5101 transparent 32, SFI 1: registration number; read always
//     EF 5102 transparent 64, SFI 2: the registrant; read PIN 81
//     EF 5103 linear variable 4 x 64, SFI 3: seal certificates issued; read, append PIN 81
struct SealRegistration {
  // The sizes of EF 5101 and 5102: longer text does not fit (a shorter one is
  // padded with spaces).
  static constexpr std::uint32_t kNumberSize = 32, kRegistrantSize = 64;
  std::string registration_number = "131016-SEAL-0000123";
  std::string registrant = "JUKI TARO / 1980-01-01";
};
Application seal_registration(const SealRegistration& data = {});

// 図書館カード: the library card.
//   DF 5200 "JUKILIB" (F0 4A 55 4B 49 4C 49 42)
//     PIN 01 (P2 81): 4..8 digits, 5 tries; key 01: P-256
//     EF 5201 transparent 16, SFI 1: member number; read always
//     EF 5202 linear fixed 10 x 32, SFI 2: loans; read, update, append PIN 81
//     EF 5203 transparent 32, SFI 3: home branch; read always, update PIN 81
struct LibraryCard {
  static constexpr std::uint32_t kNumberSize = 16, kBranchSize = 32;  // EF 5201, 5203
  std::string member_number = "LIB-0004217";
  std::string branch = "Chiyoda central";
};
Application library_card(const LibraryCard& data = {});

// 証明書コンビニ交付: access to the certificate kiosks.
//   DF 5300 "JUKIKIOSK" (F0 4A 55 4B 49 4B 49 4F 53 4B)
//     PIN 01 (P2 81): 4 digits, 3 tries, unblocked by PIN 02
//     PIN 02 (P2 82): 8 digits, 5 tries (the PUK)
//     keys 01, 02: P-256
//     EF 5301 transparent 16, SFI 1: access identifier; read always
//     EF 5302 transparent 8, SFI 2: certificates it may print; read PIN 81
//     EF 5303 linear variable 16 x 48, SFI 3: use log; read, append PIN 81
struct KioskAccess {
  static constexpr std::uint32_t kAccessIdSize = 16;  // EF 5301
  std::string access_id = "KIOSK-0000017";
  Bytes permissions = {0x07, 0, 0, 0, 0, 0, 0, 0};  // copy of residence, seal, tax
};
Application kiosk_access(const KioskAccess& data = {});

// The three, with their default data.
std::vector<Application> example_applications();

}  // namespace juki::card_manager
