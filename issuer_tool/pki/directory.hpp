// A PKI directory (specs/pki.md "Files and the command line"): what
// `juki-pki init` and `init-jpki` write and every tool that signs with those
// authorities reads. Each authority is STEM.key.pem (PKCS#8, 0600) and
// STEM.cert.der: `root`, `card-ca`, `terminal-ca`, `server-ca`,
// `jpki-auth-ca`, `jpki-sign-ca`.
#pragma once

#include <string>
#include <string_view>

#include "issuer_tool/pki/pki.hpp"

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

}  // namespace juki::pki::directory
