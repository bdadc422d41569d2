// What the card reads from an X.509 certificate, with mbedTLS: the names, the
// P-256 key, the validity, CA or not, and the Juki authorization extension
// (specs/pki.md). The chain and role decisions are the caller's
// (specs/secure-channel.md 2.1); this module only parses and checks one
// signature.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "card_os/security/crypto.hpp"
#include "card_os/security/ecc.hpp"
#include "common/bytes.hpp"
#include "common/result.hpp"
#include "common/secure_channel.hpp"

namespace juki::card_os::certificate {

// Role codes of the authorization extension (specs/pki.md).
using Role = secure_channel::Role;

struct Authorization {
  std::uint16_t role = 0;    // a Role code; unknown codes are kept, not refused here
  std::string municipality;  // 6 digits, or empty when absent
  Bytes application;         // an AID, or empty when absent
};

// A UTC time as the number YYYYMMDDhhmmss: comparable, and what the card keeps
// as its date (specs/secure-channel.md 2.3).
using Date = std::uint64_t;

struct Info {
  Bytes issuer;   // the issuer Name, DER
  Bytes subject;  // the subject Name, DER
  ecc::Point key{};
  Date not_before = 0;
  Date not_after = 0;
  bool ca = false;
  std::optional<Authorization> authorization;
  crypto::Digest tbs_digest{};  // SHA-256 of the signed part
  Bytes signature;              // DER ECDSA signature
};

enum class Error {
  malformed,      // not one DER X.509 v3 certificate, or a critical extension mbedTLS cannot read
  unsupported,    // a key other than P-256, or a signature other than ecdsa-with-SHA256
  bad_extension,  // the Juki authorization extension is malformed or not critical
};

Result<Info, Error> parse(ByteView der);
// Whether `subject`'s signature verifies under the issuer's key.
bool signed_by(const Info& subject, ByteView issuer_key);

// The extension's OID, 2.25.195880985226904344446585622729610345963, DER
// contents octets (without tag and length).
ByteView authorization_oid();
// Parses the extension's value (the contents of its OCTET STRING).
std::optional<Authorization> decode_authorization(ByteView value);

}  // namespace juki::card_os::certificate
