// The card manager's layout and byte formats (specs/card-manager.md): what
// the card's code (manager.hpp) serves, what personalization
// (issuer_tool/enrolment/card_manager.hpp) writes and what the issuer's
// manifests (issuer_tool/apps/manifest.hpp) carry. Only constants and the
// memory formula: host code includes it too.
#pragma once

#include <cstdint>

namespace juki::layout::manager {

// F0 "JUKICM": the manager's DF name, under the MF with FID 4D00.
inline constexpr std::uint8_t kAid[] = {0xF0, 0x4A, 0x55, 0x4B, 0x49, 0x43, 0x4D};
inline constexpr std::uint16_t kDf = 0x4D00;

// Transparent EFs of the manager's DF, each readable always, never updated
// by a command (the manager's code writes 4D02 and 4D03).
inline constexpr std::uint16_t kTrustAnchorEf = 0x2F10;   // the Juki-net root (DER)
inline constexpr std::uint16_t kMunicipalityEf = 0x4D01;  // 6 ASCII digits
inline constexpr std::uint16_t kCounterEf = 0x4D02;       // u32: the last sequence number used
inline constexpr std::uint16_t kRegistryEf = 0x4D03;      // kEntrySize bytes per municipal app
inline constexpr std::uint32_t kMunicipalityLength = 6;
inline constexpr std::uint32_t kCounterLength = 4;

// A registry entry: AID length (0: a free entry), AID (16, zero padded),
// DF FID (2), reserved (1, zero), quota (4).
inline constexpr std::uint32_t kEntrySize = 24;
inline constexpr std::uint32_t kEntryAidLength = 0;
inline constexpr std::uint32_t kEntryAid = 1;
inline constexpr std::uint32_t kEntryFid = 17;
inline constexpr std::uint32_t kEntryQuota = 20;
inline constexpr std::uint32_t kDefaultEntries = 8;

// Commands (class 80, in the manager's context): the proprietary twins of
// the ISO commands with the same effect.
inline constexpr std::uint8_t kListIns = 0xF2;     // LIST APPLICATIONS
inline constexpr std::uint8_t kInstallIns = 0xE0;  // INSTALL (CREATE FILE's twin)
inline constexpr std::uint8_t kDeleteIns = 0xE4;   // DELETE (DELETE FILE's twin)
inline constexpr std::uint8_t kLockIns = 0x04;     // LOCK (DEACTIVATE FILE's twin)
inline constexpr std::uint8_t kUnlockIns = 0x44;   // UNLOCK (ACTIVATE FILE's twin)

// Operation codes of a manifest (tag 80).
inline constexpr std::uint8_t kOpInstall = 0x01;
inline constexpr std::uint8_t kOpDelete = 0x02;
inline constexpr std::uint8_t kOpLock = 0x03;
inline constexpr std::uint8_t kOpUnlock = 0x04;

// Command data: 71 manifest, 5F37 signature, A1 authority certificate, A2
// its terminal CA certificate, in this order.
inline constexpr std::uint32_t kManifestTag = 0x71;
inline constexpr std::uint32_t kSignatureTag = 0x5F37;
inline constexpr std::uint32_t kAuthorityTag = 0xA1;
inline constexpr std::uint32_t kCaTag = 0xA2;
// Manifest fields (in this order).
inline constexpr std::uint32_t kOperationTag = 0x80;
inline constexpr std::uint32_t kSerialTag = 0x81;
inline constexpr std::uint32_t kSequenceTag = 0x82;
inline constexpr std::uint32_t kAidTag = 0x4F;
inline constexpr std::uint32_t kDfTag = 0x83;
inline constexpr std::uint32_t kQuotaTag = 0x84;
inline constexpr std::uint32_t kPinTag = 0xA1;   // PUT DATA's PIN template, without a value
inline constexpr std::uint32_t kKeyTag = 0xA3;   // { 83 reference, 80 algorithm }
inline constexpr std::uint32_t kFileTag = 0xA5;  // { 62 FCP, 53 contents... }
inline constexpr std::uint32_t kContentsTag = 0x53;
inline constexpr std::uint8_t kAlgorithmP256 = 0x02;

// The signature (ECDSA P-256, SHA-256, r || s) is over this prefix followed
// by the manifest's whole TLV (71, its length, its value).
inline constexpr std::uint8_t kSignaturePrefix[] = {'J', 'U', 'K', 'I', '-', 'C', 'M', '1'};

// LIST APPLICATIONS: one E3 template per application DF.
inline constexpr std::uint32_t kEntryTag = 0xE3;
inline constexpr std::uint32_t kListFidTag = 0x83;
inline constexpr std::uint32_t kLifeCycleTag = 0x9F70;
inline constexpr std::uint32_t kKindTag = 0xC1;
inline constexpr std::uint32_t kQuotaListTag = 0xC2;
inline constexpr std::uint32_t kUsedTag = 0xC3;
inline constexpr std::uint8_t kInstalled = 0x03;   // a PIN has no value yet
inline constexpr std::uint8_t kSelectable = 0x07;  // ready for use
inline constexpr std::uint8_t kLocked = 0x83;      // the DF is deactivated
inline constexpr std::uint8_t kSystem = 0x01;
inline constexpr std::uint8_t kMunicipal = 0x02;

// The memory an application takes, as the card counts it against its quota
// and reports it (specs/card-manager.md 4): heap blocks of a 4-byte header
// and the payload rounded up to 4 bytes (8 at least), one per file node
// (88 bytes), one per file's contents and one per PIN or key (48 bytes).
inline constexpr std::uint32_t kNodeBytes = 88;
inline constexpr std::uint32_t kObjectBytes = 48;
constexpr std::uint32_t block_bytes(std::uint32_t payload) {
  const std::uint32_t b = (payload + 4 + 3) & ~3u;
  return b < 8 ? 8 : b;
}
// A file of `data` bytes of contents (0 for a DF): its node and its contents.
constexpr std::uint32_t file_bytes(std::uint32_t data) {
  return block_bytes(kNodeBytes) + (data > 0 ? block_bytes(data) : 0);
}
constexpr std::uint32_t object_bytes() {
  return block_bytes(kObjectBytes);
}

}  // namespace juki::layout::manager
