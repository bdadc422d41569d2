// Mutual TLS for gRPC (specs/network.md 4): both ends present a certificate
// of the server CA and each checks the other with TrustStore::verify, in the
// handshake, before any request is read. gRPC's own chain check is off on
// purpose: our certificates carry a critical extension that OpenSSL does not
// know (the authorization), and the roles and codes in it are the point.
#pragma once

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_context.h>

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "backend/trust/trust.hpp"

namespace juki::backend::trust {

// Where refusals go, so that each is recorded (who, why). Called from
// gRPC's threads.
class RefusalLog {
 public:
  virtual ~RefusalLog() = default;
  virtual void refused(const std::string& peer, const std::string& reason) = 0;
};

// A server's admission rule: nullopt admits the peer, a text refuses it.
using Admission = std::function<std::optional<std::string>(const Peer&)>;

std::shared_ptr<grpc::ServerCredentials> server_credentials(std::shared_ptr<const TrustStore> trust,
                                                            Admission admit,
                                                            std::shared_ptr<RefusalLog> log);

// A channel to one peer: its certificate must verify and carry `role` and
// `code` (empty code: the national server).
std::shared_ptr<grpc::ChannelCredentials> channel_credentials(
    std::shared_ptr<const TrustStore> trust, pki::Role role, std::string code,
    std::shared_ptr<RefusalLog> log);

// Every gRPC channel of the backend: the TLS credentials above, no
// host-name check (identities are in the authorization extension), a bounded
// message size.
// With `own_connection`, the channel does not share its TCP connection with
// other channels to the same peer (gRPC shares them by default), so that a
// client may spread its calls over several connections.
std::shared_ptr<grpc::Channel> open_channel(const std::string& address,
                                            std::shared_ptr<grpc::ChannelCredentials> credentials,
                                            bool own_connection = false);

// Only TLS 1.3 handshakes succeed in this process (specs/network.md 4.1).
// gRPC 1.51 has no setting for the protocol's lower bound; this leaves TLS
// 1.2 no cipher suite both ends could use. Call before any gRPC object exists.
void require_tls13();

// The caller of a request, from the certificate its connection was admitted
// with, checked again against the trust store at the time of the call (a
// certificate that expired or was revoked since the handshake is refused).
// Results are cached per certificate for a few seconds.
class Callers {
 public:
  explicit Callers(std::shared_ptr<const TrustStore> trust) : trust_(std::move(trust)) {}
  // UNAUTHENTICATED with the reason when there is no certificate or it no
  // longer verifies.
  Result<Peer, grpc::Status> of(const grpc::ServerContextBase& context);

 private:
  struct Entry {
    std::int64_t checked_at = 0;
    std::optional<Peer> peer;
    std::string refusal;
  };
  std::shared_ptr<const TrustStore> trust_;
  std::mutex mutex_;
  std::unordered_map<std::string, Entry> cache_;
};

}  // namespace juki::backend::trust
