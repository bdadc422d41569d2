// A PKI directory (specs/pki.md "Files and the command line"): what
// `juki-pki init` and `init-jpki` write and every tool that signs with those
// authorities reads. Each authority is STEM.key.pem (PKCS#8, 0600) and
// STEM.cert.der: `root`, `card-ca`, `terminal-ca`, `server-ca`,
// `jpki-auth-ca`, `jpki-sign-ca`. Each issuing CA also keeps STEM.issued.json,
// the index of what it issued and revoked, and publishes STEM.crl.der
// (specs/pki.md "Revocation").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pki/pki.hpp"

namespace juki::pki::directory {

inline constexpr std::string_view kRootStem = "root";
std::string ca_stem(CaKind kind);      // "card-ca", "terminal-ca", "server-ca"
std::string jpki_stem(JpkiKind kind);  // "jpki-auth-ca", "jpki-sign-ca"

std::string key_path(const std::string& dir, std::string_view stem);
std::string cert_path(const std::string& dir, std::string_view stem);

// STEM.cert.der of `dir`.
Result<Certificate, PkiError> load_certificate(const std::string& dir, std::string_view stem);
// STEM.key.pem and STEM.cert.der of `dir` (RSA-2048 for the JPKI CAs).
Result<KeyAndCert, PkiError> load_authority(const std::string& dir, std::string_view stem,
                                            KeyAlgorithm algorithm = KeyAlgorithm::p256);
Result<KeyAndCert, PkiError> load_ca(const std::string& dir, CaKind kind);
Result<KeyAndCert, PkiError> load_jpki_ca(const std::string& dir, JpkiKind kind);
// Writes an authority as `juki-pki init` does: STEM.key.pem (0600) and
// STEM.cert.der (0644) in `dir`, never overwriting either (kind io).
Result<void, PkiError> save_authority(const std::string& dir, std::string_view stem,
                                      const KeyAndCert& authority);

// ------------------------------------------------------------ issuing authorities

// The five CAs that issue leaves: card, terminal, server, jpki-auth, jpki-sign.
struct Authority {
  std::string name;  // the CLI's --ca: "terminal", "jpki-auth", ...
  std::string stem;  // "terminal-ca", "jpki-auth-ca", ...
  KeyAlgorithm algorithm = KeyAlgorithm::p256;
};
const std::vector<Authority>& authorities();
std::optional<Authority> authority_from_name(std::string_view name);
Result<KeyAndCert, PkiError> load_ca(const std::string& dir, const Authority& authority);

// ------------------------------------------------------------ the index

std::string index_path(const std::string& dir, std::string_view stem);  // STEM.issued.json
std::string crl_path(const std::string& dir, std::string_view stem);    // STEM.crl.der

inline constexpr std::string_view kIndexFormat = "juki-pki issued 1";

struct Revocation {
  std::int64_t at = 0;
  RevocationReason reason = RevocationReason::unspecified;
};

struct IssuedEntry {
  std::string serial;                    // Certificate::serial_hex()
  std::string subject;                   // Certificate::subject()
  std::optional<std::string> role;       // Juki-net: the role's name
  std::optional<std::string> jpki_kind;  // JPKI: "auth" or "sign"
  std::int64_t not_after = 0;
  std::string path;  // the certificate file, absolute
  std::int64_t recorded_at = 0;
  std::string recorded_by;  // "issue", or "revoke" for one the index did not know
  std::optional<Revocation> revocation;
};

struct Index {
  std::string ca;                         // the stem
  std::string ca_serial;                  // the CA certificate's serial: an index belongs to one CA
  std::int64_t crl_number = 0;            // the last CRL number published, 0 before the first
  std::vector<IssuedEntry> certificates;  // in the order recorded
  IssuedEntry* find(std::string_view serial);
  const IssuedEntry* find(std::string_view serial) const;
};

// STEM.issued.json of `dir`, or an empty index when there is none. Kind
// malformed for a file that is not an index of this CA (`ca` given: its serial).
Result<Index, PkiError> load_index(const std::string& dir, std::string_view stem,
                                   const Certificate& ca);
// The same for the file's bytes; `where` names them in the messages.
Result<Index, PkiError> parse_index(ByteView bytes, std::string_view stem, const Certificate& ca,
                                    const std::string& where);

// Records `cert` (issued by the authority `stem`, written to `path`) in the
// index, under the directory's lock, replacing the file atomically. Refused
// when the serial is there already.
Result<IssuedEntry, PkiError> record_issued(const std::string& dir, std::string_view stem,
                                            const Certificate& ca, const Certificate& cert,
                                            const std::string& path, std::int64_t now);

struct Revoked {
  Authority authority;
  IssuedEntry entry;
};

// Marks `cert` revoked at `at` for `reason` in the index of the CA of `dir`
// that issued it (its name, key identifier and signature; recording it first
// if the index did not know it, as found at `path`). Refuses: a CA
// certificate or a root (refused: revoking a CA is out of scope), a
// certificate no CA of `dir` issued (unknown_issuer), one revoked already
// (already_revoked), a reason revocation_reason_allowed refuses or a time
// after `now` (refused).
Result<Revoked, PkiError> revoke(const std::string& dir, const Certificate& cert,
                                 const std::string& path, RevocationReason reason, std::int64_t at,
                                 std::int64_t now);

struct PublishedCrl {
  std::string path;
  Bytes der;
  Crl crl;
};

// Takes the next CRL number of `authority` (one more than the index's, and
// than the number of its CRL in `dir` if that is higher), records it, and
// writes a CRL of every serial the index shows revoked, valid from `now` for
// `days`, to `out` (default crl_path) atomically.
Result<PublishedCrl, PkiError> publish_crl(const std::string& dir, const Authority& authority,
                                           int days, std::optional<std::string> out,
                                           std::int64_t now);

}  // namespace juki::pki::directory
