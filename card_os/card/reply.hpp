// A response under construction, and the two ways every command handler and
// application builds one: a bare status word, and data bounded by Ne.
#pragma once

#include <utility>

#include "common/bytes.hpp"
#include "common/iso7816/apdu.hpp"
#include "common/iso7816/status_words.hpp"

namespace juki::card_os {

struct Reply {
  Bytes data;
  sw::Sw sw = sw::kOk;
};

inline Reply status(sw::Sw s) {
  return Reply{{}, s};
}

// Response data bounded by Ne (specs/card-os.md 2.3): an answer longer than
// Ne gets 6Cxx with its exact length when a short Le could have asked for it
// (at most 256 bytes, the command not extended), else 6700: the answer needs
// an extended Le.
inline Reply bounded(Bytes data, const apdu::Command& c) {
  if (data.size() > c.ne) {
    if (data.size() <= 256 && !c.extended)
      return status(static_cast<sw::Sw>(0x6C00 | (data.size() & 0xFF)));
    return status(sw::kWrongLength);
  }
  return Reply{std::move(data), sw::kOk};
}

}  // namespace juki::card_os
