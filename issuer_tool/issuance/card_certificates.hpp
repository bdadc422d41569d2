// The certificates the counter signs for its cards, in the PKI directory
// (specs/issuance.md 2.3): every card certificate and JPKI certificate that
// personalization puts on a card is recorded in its CA's index and kept as
// DIR/cards/<SERIAL>/<name>.cert.der, before the card is set issued; so a
// card that is handed out has its certificates in the index, and a lost or
// returned card's certificates can be revoked by its serial.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "pki/directory.hpp"
#include "pki/pki.hpp"

namespace juki::issuance {

// One certificate of a card: "card" (the Juki AP's, from the card CA),
// "jpki-auth" or "jpki-sign" (from the JPKI CAs); the name is the issuing
// authority's name in pki::directory::authorities().
struct CardCertificate {
  std::string name;
  pki::Certificate ca;  // the certificate of the authority that signed it
  pki::Certificate certificate;
};

// DIR/cards/<SERIAL>, and the file of the certificate `name` in it.
std::string card_certificates_dir(const std::string& pki_dir, std::string_view serial);
std::string card_certificate_path(const std::string& pki_dir, std::string_view serial,
                                  std::string_view name);

// Records each certificate in its CA's index, then writes its file (the
// index first, as juki-pki issue does). A file already there from an earlier
// attempt on the same card holds a certificate that never reached an issued
// card: it is revoked (superseded) before its file is replaced.
Result<void, pki::PkiError> record_card_certificates(const std::string& pki_dir,
                                                     std::string_view serial,
                                                     const std::vector<CardCertificate>& certs,
                                                     std::int64_t now);

// What revoke_card_certificates did with one of the card's certificates.
struct CardRevocation {
  std::string name;  // "card", "jpki-auth", "jpki-sign"
  std::string serial;
  bool already = false;  // revoked before (the reason and time it had are kept)
};

// Revokes the certificates of the card `serial` kept in `pki_dir` for
// `reason` at `now`. Kind io when the directory keeps none for that card.
Result<std::vector<CardRevocation>, pki::PkiError> revoke_card_certificates(
    const std::string& pki_dir, std::string_view serial, pki::RevocationReason reason,
    std::int64_t now);

}  // namespace juki::issuance
