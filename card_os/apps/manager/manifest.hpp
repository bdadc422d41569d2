// The card manager's reading of a signed manifest (specs/card-manager.md 2):
// strict, bounds-checked, no cryptography. The caller has verified the
// signature over the manifest's bytes before it asks for this.
#pragma once

#include <cstdint>
#include <vector>

#include "common/bytes.hpp"
#include "common/iso7816/fcp.hpp"
#include "common/iso7816/status_words.hpp"
#include "common/result.hpp"

namespace juki::card_os::apps::manager {

// A manifest names its files in the FCP codec's terms, as the card OS does.
using fcp::contents_size;
using fcp::decode_fcp;
using fcp::FileSpec;
using fcp::FileType;
using fcp::kMfFid;

struct FileDefinition {
  FileSpec spec;
  std::vector<ByteView> contents;  // transparent: at most one; record EFs: one per record
};

struct Manifest {
  std::uint8_t operation = 0;
  ByteView serial;
  std::uint32_t sequence = 0;
  ByteView aid;
  // INSTALL only.
  std::uint16_t fid = 0;
  std::uint32_t quota = 0;
  std::vector<ByteView> pins;  // whole A1 templates, as PUT DATA takes them
  std::vector<std::uint8_t> keys;
  std::vector<FileDefinition> files;
};

// The value of the manifest TLV (tag 71); 6A80 for anything it does not
// accept.
Result<Manifest, sw::Sw> decode_manifest(ByteView value);

// The memory the application of an INSTALL manifest takes (layout.hpp).
std::uint32_t allocation(const Manifest& m);

}  // namespace juki::card_os::apps::manager
