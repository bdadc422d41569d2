// Whom a Juki-net server trusts (specs/network.md 4): the root, the server CA
// and its CRL, read once from the files its config names, and the server's
// own key and certificate. verify() is the one check of a peer's
// certificate, used in the TLS handshake (tls.hpp) and for the signer of a
// relayed message (messaging/).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "common/bytes.hpp"
#include "common/result.hpp"
#include "pki/pki.hpp"

namespace juki::backend::trust {

// Who is at the other end, from its certificate's authorization extension.
struct Peer {
  pki::Role role = pki::Role::cs;
  // The municipality code (cs, resident-system) or the prefecture's code
  // (prefecture, e.g. 130001); empty for the national server.
  std::string code;
  std::string subject;  // for logs: "O=Juki-net, OU=131016, CN=..."
  std::string serial;   // as the CA's index writes it
  Bytes fingerprint;    // SHA-256 of the certificate's DER
  Bytes certificate;    // DER
};

// "cs 131016", "prefecture 130001", "national": how logs and errors name a peer.
std::string describe(const Peer& peer);
// The same server: role and code, whichever of its certificates (its TLS
// certificate, or the one of its signing key in a token).
bool same_server(const Peer& a, const Peer& b);

// The prefecture server's code for a municipality: its first two digits,
// "000" and the check digit ("131016" -> "130001"). Empty unless
// `municipality` is a valid municipality code.
std::string prefecture_of(std::string_view municipality);

struct TrustFiles {
  std::string root;  // DER certificates, as juki-pki writes them
  std::string server_ca;
  std::string server_crl;   // the server CA's CRL (juki-pki crl DIR --ca server)
  std::string certificate;  // this server's
  std::string key;          // this server's P-256 key, PEM, mode 0600 (TLS; messages too
                            // unless signing_key is given)
  // Optional, both or neither: the key that signs messages (messaging/), in a
  // PKCS#11 token, as an RFC 7512 URI (pki::parse_pkcs11_uri), and its
  // certificate, for the same role and code as `certificate`.
  std::string signing_key;
  std::string signing_certificate;
};

class TrustStore {
 public:
  // Reads and checks everything at once: the root and the server CA verify
  // (verify_ca), the CRL is the server CA's, this server's certificate is
  // issued by the server CA for a server role and its key matches. Each
  // failure names the file.
  static Result<TrustStore, std::string> load(const TrustFiles& files, std::int64_t now);

  // A peer's certificate: issued by the server CA under our root, valid at
  // `now`, a server role (cs, prefecture, national, resident-system), not
  // revoked by the CRL, and the CRL itself current. The error says which
  // check failed.
  Result<Peer, std::string> verify(const pki::Certificate& leaf, std::int64_t now) const;
  Result<Peer, std::string> verify_pem(std::string_view leaf_pem, std::int64_t now) const;
  Result<Peer, std::string> verify_der(ByteView leaf_der, std::int64_t now) const;

  // The CRL is read again when its file changes (looked at no more than once
  // a minute): a certificate revoked while the server runs is refused from
  // the next check on. A new file that is not a valid CRL of the server CA
  // is ignored (the old one stays, until its nextUpdate refuses everyone).
  const Peer& self() const { return self_; }
  const pki::PrivateKey& key() const { return key_; }
  const pki::Certificate& certificate() const { return certificate_; }
  // What signs messages: the token's key and its certificate, or key() and
  // certificate().
  const pki::PrivateKey& signing_key() const { return signing_key_ ? *signing_key_ : key_; }
  const pki::Certificate& signing_certificate() const {
    return signing_certificate_ ? *signing_certificate_ : certificate_;
  }
  std::string root_pem() const { return root_.to_pem(); }

 private:
  // Shared by the copies of a store, so that all see a new CRL.
  struct Crl {
    std::mutex mutex;
    std::string path;
    std::shared_ptr<const Bytes> der;
    std::int64_t modified = 0;   // the file's mtime when read
    std::int64_t looked_at = 0;  // when the file was last looked at
  };
  TrustStore(pki::Certificate root, pki::Certificate server_ca, std::shared_ptr<Crl> crl,
             pki::PrivateKey key, pki::Certificate certificate)
      : root_(std::move(root)),
        server_ca_(std::move(server_ca)),
        crl_(std::move(crl)),
        key_(std::move(key)),
        certificate_(std::move(certificate)) {}
  std::shared_ptr<const Bytes> current_crl(std::int64_t now) const;
  static Result<void, std::string> load_signing(const TrustFiles& files, TrustStore& store,
                                                std::int64_t now);
  pki::Certificate root_;
  pki::Certificate server_ca_;
  std::shared_ptr<Crl> crl_;
  pki::PrivateKey key_;
  pki::Certificate certificate_;
  std::optional<pki::PrivateKey> signing_key_;
  std::optional<pki::Certificate> signing_certificate_;
  Peer self_;
};

}  // namespace juki::backend::trust
