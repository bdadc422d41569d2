// A Juki-net server PKI in a temporary directory for the backend's tests and
// benchmarks: a root, the server CA with its CRL, and server certificates on
// demand, each written as the files a server's config names (TrustFiles).
// Failures throw std::runtime_error.
#pragma once

#include <ctime>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "backend/trust/trust.hpp"
#include "pki/pki.hpp"
#include "support/temp_dir.hpp"

namespace juki::test {

template <class T>
T must(Result<T, pki::PkiError> r) {
  if (!r) throw std::runtime_error(r.error().message);
  return std::move(r).value();
}

inline void must(Result<void, pki::PkiError> r) {
  if (!r) throw std::runtime_error(r.error().message);
}

inline std::int64_t unix_now() {
  return static_cast<std::int64_t>(std::time(nullptr));
}

class ServerPki {
 public:
  ServerPki()
      : root_(must(pki::create_root())),
        server_ca_(must(pki::create_ca(root_.key, root_.cert, pki::CaKind::server))) {
    write(dir_.file("root.der"), root_.cert.der());
    write(dir_.file("server-ca.der"), server_ca_.cert.der());
    publish_crl();
  }

  // A server certificate (written as NAME.der and NAME.key) for `role` and
  // `code` (empty: none), valid from `not_before` for `days`.
  backend::trust::TrustFiles issue(const std::string& name, pki::Role role, const std::string& code,
                                   int days = 30, std::optional<std::int64_t> not_before = {}) {
    pki::LeafRequest request;
    request.authorization.role = role;
    if (!code.empty()) request.authorization.municipality = code;
    request.common_name = name;
    request.days = days;
    request.not_before = not_before.value_or(unix_now() - 3600);
    auto leaf = must(pki::issue_new_key(server_ca_, request));
    write(dir_.file(name + ".der"), leaf.cert.der());
    must(leaf.key.save(dir_.file(name + ".key")));
    issued_.push_back(leaf.cert);
    return files(name);
  }

  // A certificate (NAME-signing.der) for the key in a PKCS#11 token that
  // `uri` names, for `role` and `code`; files(name) then gives them as the
  // server's signing key.
  void issue_signing(const std::string& name, pki::Role role, const std::string& code,
                     const std::string& uri) {
    auto key = pki::PrivateKey::from_token(must(pki::parse_pkcs11_uri(uri)));
    if (!key) throw std::runtime_error(key.error().message);
    pki::LeafRequest request;
    request.authorization.role = role;
    if (!code.empty()) request.authorization.municipality = code;
    request.common_name = name + " signing";
    request.not_before = unix_now() - 3600;
    auto cert = must(pki::issue(server_ca_.key, server_ca_.cert, request, key->public_key()));
    write(dir_.file(name + "-signing.der"), cert.der());
    issued_.push_back(cert);
    signing_[name] = uri;
  }

  backend::trust::TrustFiles files(const std::string& name) const {
    backend::trust::TrustFiles f{dir_.file("root.der"),
                                 dir_.file("server-ca.der"),
                                 dir_.file("server-ca.crl"),
                                 dir_.file(name + ".der"),
                                 dir_.file(name + ".key"),
                                 "",
                                 ""};
    if (auto it = signing_.find(name); it != signing_.end()) {
      f.signing_key = it->second;
      f.signing_certificate = dir_.file(name + "-signing.der");
    }
    return f;
  }

  pki::Certificate certificate(const std::string& name) const {
    return must(pki::Certificate::load(dir_.file(name + ".der")));
  }

  // Revokes a certificate from now on and republishes the CRL.
  void revoke(const std::string& name) {
    revoked_.push_back(
        {certificate(name).serial_hex(), unix_now() - 60, pki::RevocationReason::key_compromise});
    publish_crl();
  }

  backend::trust::TrustStore trust(const std::string& name) const {
    auto t = backend::trust::TrustStore::load(files(name), unix_now());
    if (!t) throw std::runtime_error(t.error());
    return std::move(t).value();
  }

  const pki::KeyAndCert& root() const { return root_; }
  const pki::KeyAndCert& server_ca() const { return server_ca_; }
  std::string file(const std::string& name) const { return dir_.file(name); }

 private:
  static void write(const std::string& path, const Bytes& bytes) {
    must(pki::replace_file(path, bytes, 0644));
  }
  void publish_crl() {
    pki::CrlRequest request;
    request.number = ++crl_number_;
    request.this_update = unix_now() - 120;
    request.revoked = revoked_;
    write(dir_.file("server-ca.crl"), must(pki::create_crl(server_ca_, request)));
  }

  TempDir dir_;
  pki::KeyAndCert root_;
  pki::KeyAndCert server_ca_;
  std::vector<pki::Certificate> issued_;
  std::map<std::string, std::string> signing_;  // name -> its signing key's URI
  std::vector<pki::RevokedSerial> revoked_;
  std::int64_t crl_number_ = 0;
};

}  // namespace juki::test
