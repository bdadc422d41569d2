#include "issuer_tool/pki/directory.hpp"

#include <filesystem>
#include <utility>

namespace juki::pki::directory {

std::string ca_stem(CaKind kind) {
  return std::string(ca_kind_name(kind)) + "-ca";
}
std::string jpki_stem(JpkiKind kind) {
  return std::string(jpki_ca_name(kind)) + "-ca";
}

std::string key_path(const std::string& dir, std::string_view stem) {
  return (std::filesystem::path(dir) / (std::string(stem) + ".key.pem")).string();
}
std::string cert_path(const std::string& dir, std::string_view stem) {
  return (std::filesystem::path(dir) / (std::string(stem) + ".cert.der")).string();
}

Result<Certificate, PkiError> load_certificate(const std::string& dir, std::string_view stem) {
  return Certificate::load(cert_path(dir, stem));
}

Result<KeyAndCert, PkiError> load_authority(const std::string& dir, std::string_view stem,
                                            KeyAlgorithm algorithm) {
  auto key = PrivateKey::load(key_path(dir, stem), algorithm);
  if (!key) return unexpected(key.error());
  auto cert = load_certificate(dir, stem);
  if (!cert) return unexpected(cert.error());
  return KeyAndCert{std::move(*key), std::move(*cert)};
}

Result<KeyAndCert, PkiError> load_ca(const std::string& dir, CaKind kind) {
  return load_authority(dir, ca_stem(kind));
}
Result<KeyAndCert, PkiError> load_jpki_ca(const std::string& dir, JpkiKind kind) {
  return load_authority(dir, jpki_stem(kind), KeyAlgorithm::rsa2048);
}

}  // namespace juki::pki::directory
