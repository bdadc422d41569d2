// File-control parameters (ISO 7816-4 5.3.3): the FCP template (tag 62) that
// CREATE FILE carries and SELECT answers, in this project's profile
// (specs/card-os.md "Files"). One codec for the card, which decodes what it
// is asked to create, and the host, which encodes it (as OpenSC shares one
// ISO 7816 codec between its card drivers).
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/bytes.hpp"
#include "common/iso7816/access_rule.hpp"
#include "common/iso7816/status_words.hpp"
#include "common/result.hpp"

namespace juki::fcp {

// File descriptor byte values (ISO 7816-4 table 12), used as the node type.
enum class FileType : std::uint8_t {
  df = 0x38,
  transparent = 0x01,
  linear_fixed = 0x02,
  linear_variable = 0x04,
};

// Life-cycle status byte of a file (ISO 7816-4 5.3.3.2).
inline constexpr std::uint8_t kLcsActivated = 0x05;
inline constexpr std::uint8_t kLcsDeactivated = 0x04;

inline constexpr std::uint16_t kMfFid = 0x3F00;
inline constexpr std::size_t kMaxDfName = 16;
inline constexpr std::uint32_t kMaxTransparentSize = 0x7FFF;  // 15-bit offsets of READ BINARY
inline constexpr std::uint16_t kMaxRecordLength = 255;
inline constexpr std::uint16_t kMaxRecords = 254;

// What CREATE FILE asks for; also what the FCP says of an existing file.
struct FileSpec {
  FileType type = FileType::transparent;
  std::uint16_t fid = 0;            // 0: none (a DF may have only a name)
  std::uint8_t sfi = 0;             // 0: none; 1..30
  Bytes name;                       // DF name (AID), DFs only, 1..16 bytes
  std::uint32_t size = 0;           // transparent: bytes
  std::uint16_t record_length = 0;  // record EFs: (maximum) record length
  std::uint16_t max_records = 0;    // record EFs
  std::uint8_t lcs = kLcsActivated;
  AccessRules rules{};  // default: all NEVER
  AccessRules::value_type& rule(Op op) { return rules[static_cast<std::size_t>(op)]; }
};

// FCP template (tag 62) <-> FileSpec. Decoding rejects anything it does not
// understand with 6A80, so CREATE FILE never half-understands a request.
Result<FileSpec, sw::Sw> decode_fcp(ByteView fcp);
Bytes encode_fcp(const FileSpec& spec, std::uint32_t record_count);
// Bytes of contents a file takes: transparent its size, linear fixed
// length x records, linear variable (1 + length) x records, a DF none.
std::uint32_t contents_size(const FileSpec& spec);

}  // namespace juki::fcp
