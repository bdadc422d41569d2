#include "backend/trust/trust.hpp"

#include <openssl/x509.h>
#include <sys/stat.h>

#include "common/check_digits.hpp"

namespace juki::backend::trust {

namespace {

constexpr std::int64_t kCrlLookEvery = 60;  // seconds

std::int64_t modified_time(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return -1;
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

bool is_server_role(pki::Role role) {
  return role == pki::Role::cs || role == pki::Role::prefecture || role == pki::Role::national ||
         role == pki::Role::resident_system;
}

Result<Peer, std::string> peer_of(const pki::Certificate& cert, const pki::Authorization& auth) {
  if (!is_server_role(auth.role))
    return unexpected("role " + std::string(pki::role_name(auth.role)) + " is not a server's");
  Peer peer;
  peer.role = auth.role;
  peer.code = auth.municipality.value_or("");
  peer.subject = cert.subject();
  peer.serial = cert.serial_hex();
  peer.fingerprint = cert.fingerprint();
  peer.certificate = cert.der();
  return peer;
}

}  // namespace

std::string describe(const Peer& peer) {
  std::string text(pki::role_name(peer.role));
  if (!peer.code.empty()) text += " " + peer.code;
  return text;
}

bool same_server(const Peer& a, const Peer& b) {
  return a.role == b.role && a.code == b.code;
}

std::string prefecture_of(std::string_view municipality) {
  if (!check_digits::municipality_valid(municipality)) return {};
  std::string five = std::string(municipality.substr(0, 2)) + "000";
  return five + *check_digits::municipality(five);
}

Result<TrustStore, std::string> TrustStore::load(const TrustFiles& files, std::int64_t now) {
  auto root = pki::Certificate::load(files.root);
  if (!root) return unexpected("root certificate: " + root.error().message);
  auto ca = pki::Certificate::load(files.server_ca);
  if (!ca) return unexpected("server CA certificate: " + ca.error().message);
  auto kind = pki::verify_ca(*root, *ca, now);
  if (!kind) return unexpected(files.server_ca + ": " + kind.error().message);
  if (*kind != pki::CaKind::server)
    return unexpected(files.server_ca + ": a " + std::string(pki::ca_kind_name(*kind)) +
                      " CA, not the server CA");
  auto crl = std::make_shared<Crl>();
  crl->path = files.server_crl;
  crl->modified = modified_time(files.server_crl);
  crl->looked_at = now;
  auto crl_der = pki::read_file(files.server_crl);
  if (!crl_der) return unexpected("server CA's CRL: " + crl_der.error().message);
  if (auto read = pki::read_crl(*ca, *crl_der); !read)
    return unexpected(files.server_crl + ": " + read.error().message);
  crl->der = std::make_shared<const Bytes>(std::move(*crl_der));
  auto key = pki::PrivateKey::load(files.key);
  if (!key) return unexpected("key: " + key.error().message);
  auto cert = pki::Certificate::load(files.certificate);
  if (!cert) return unexpected("certificate: " + cert.error().message);
  if (X509_check_private_key(cert->native(), key->native()) != 1)
    return unexpected(files.certificate + ": does not match the key " + files.key);

  TrustStore store(std::move(*root), std::move(*ca), std::move(crl), std::move(*key),
                   std::move(*cert));
  auto self = store.verify(store.certificate_, now);
  if (!self) return unexpected(files.certificate + ": " + self.error());
  store.self_ = std::move(*self);
  if (files.signing_key.empty() != files.signing_certificate.empty())
    return unexpected(std::string("signing_key and signing_certificate: both or neither"));
  if (!files.signing_key.empty()) {
    auto signing = load_signing(files, store, now);
    if (!signing) return unexpected(signing.error());
  }
  return store;
}

Result<void, std::string> TrustStore::load_signing(const TrustFiles& files, TrustStore& store,
                                                   std::int64_t now) {
  auto ref = pki::parse_pkcs11_uri(files.signing_key);
  if (!ref) return unexpected("signing_key: " + ref.error().message);
  auto key = pki::PrivateKey::from_token(*ref);
  if (!key) return unexpected("signing_key: " + key.error().message);
  auto cert = pki::Certificate::load(files.signing_certificate);
  if (!cert) return unexpected("signing_certificate: " + cert.error().message);
  if (cert->public_key().der() != key->public_key().der())
    return unexpected(files.signing_certificate + ": does not match the key in the token");
  auto signer = store.verify(*cert, now);
  if (!signer) return unexpected(files.signing_certificate + ": " + signer.error());
  if (!same_server(*signer, store.self_))
    return unexpected(files.signing_certificate + ": is for " + describe(*signer) +
                      ", but the server's certificate is for " + describe(store.self_));
  // The token signs now, or the server does not start: a PIN or a token that
  // stopped working shows at once, not at the first message.
  const Bytes probe{'J', 'u', 'k', 'i'};
  auto signature = pki::sign_message(*key, probe);
  if (!signature)
    return unexpected("signing_key: the token's key does not sign: " + signature.error().message);
  if (auto good = pki::verify_message(key->public_key(), probe, *signature); !good)
    return unexpected("signing_key: the token's signature does not verify: " +
                      good.error().message);
  store.signing_key_ = std::move(*key);
  store.signing_certificate_ = std::move(*cert);
  return {};
}

Result<Peer, std::string> TrustStore::verify(const pki::Certificate& leaf, std::int64_t now) const {
  auto verified = pki::verify_chain(root_, server_ca_, leaf, now);
  if (!verified) return unexpected(verified.error().message);
  if (auto good = pki::check_revocation(server_ca_, *current_crl(now), leaf, now); !good)
    return unexpected(good.error().message);
  return peer_of(leaf, verified->authorization);
}

std::shared_ptr<const Bytes> TrustStore::current_crl(std::int64_t now) const {
  std::lock_guard lock(crl_->mutex);
  if (now - crl_->looked_at < kCrlLookEvery) return crl_->der;
  crl_->looked_at = now;
  const std::int64_t modified = modified_time(crl_->path);
  if (modified == crl_->modified) return crl_->der;
  auto der = pki::read_file(crl_->path);
  if (der && pki::read_crl(server_ca_, *der)) {
    crl_->der = std::make_shared<const Bytes>(std::move(*der));
    crl_->modified = modified;
  }
  return crl_->der;
}

Result<Peer, std::string> TrustStore::verify_pem(std::string_view leaf_pem,
                                                 std::int64_t now) const {
  auto cert = pki::Certificate::from_pem(leaf_pem);
  if (!cert) return unexpected(cert.error().message);
  return verify(*cert, now);
}

Result<Peer, std::string> TrustStore::verify_der(ByteView leaf_der, std::int64_t now) const {
  auto cert = pki::Certificate::from_der(leaf_der);
  if (!cert) return unexpected(cert.error().message);
  return verify(*cert, now);
}

}  // namespace juki::backend::trust
