// The terminal's side of mutual authentication and secure messaging
// (specs/secure-channel.md), on OpenSSL: a Transport that authenticates to the
// card once, then protects every command it carries. It works over any
// Transport (PC/SC or in-process).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/bytes.hpp"
#include "common/result.hpp"
#include "common/transport.hpp"
#include "host_middleware/secure_messaging/secure_messaging.hpp"
#include "host_middleware/session/sm_transport.hpp"
#include "pki/pki.hpp"

namespace juki::host::session {

// What a terminal authenticates with.
struct Credentials {
  pki::PrivateKey key;           // the terminal's private key
  pki::Certificate certificate;  // the terminal certificate (a terminal role)
  pki::Certificate ca;           // the terminal CA that issued it
  pki::Certificate root;         // the Juki-net root: the card's chain must end there

  // PEM PKCS#8 key (owner-only permissions), DER certificates.
  static Result<Credentials, std::string> load(const std::string& key_pem,
                                               const std::string& certificate_der,
                                               const std::string& ca_der,
                                               const std::string& root_der);
  // The files juki-pki writes: PREFIX.key.pem and PREFIX.cert.der (`juki-pki
  // issue --out PREFIX`), and the terminal CA and the root of the PKI
  // directory `pki_dir` (pki/directory.hpp).
  static Result<Credentials, std::string> from_pki(const std::string& pki_dir,
                                                   const std::string& prefix);
};

// What the host learned of the card.
struct CardIdentity {
  pki::Certificate certificate;
  pki::Authorization authorization;  // role card, the issuing municipality
};

class SecureSession final : public SmTransport {
 public:
  // Runs steps 1 to 5 on the channel of `inner`'s commands (the application
  // must be selected already). `now` (Unix seconds) checks the card's chain.
  static Result<std::unique_ptr<SecureSession>, SessionError> open(Transport& inner,
                                                                   const Credentials& credentials,
                                                                   std::int64_t now);

  const CardIdentity& card() const { return card_; }

 private:
  SecureSession(Transport& inner, sm::SessionKeys keys, CardIdentity card)
      : SmTransport(inner, std::move(keys)), card_(std::move(card)) {}

  CardIdentity card_;
};

}  // namespace juki::host::session
