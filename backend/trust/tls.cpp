#include "backend/trust/tls.hpp"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>

#include <cstdlib>
#include <ctime>

namespace juki::backend::trust {

namespace {

namespace gx = grpc::experimental;

std::int64_t now() {
  return static_cast<std::int64_t>(std::time(nullptr));
}

// Messages between tiers are batches of at most a few thousand changes.
constexpr int kMaxMessageBytes = 16 * 1024 * 1024;
constexpr std::int64_t kCallerCacheSeconds = 5;
constexpr std::size_t kCallerCacheEntries = 4096;

std::shared_ptr<gx::StaticDataCertificateProvider> identity(const TrustStore& trust) {
  std::vector<gx::IdentityKeyCertPair> pairs{{trust.key().to_pem(), trust.certificate().to_pem()}};
  return std::make_shared<gx::StaticDataCertificateProvider>(trust.root_pem(), pairs);
}

// The one check of the other end, in the handshake.
class PeerVerifier : public gx::ExternalCertificateVerifier {
 public:
  PeerVerifier(std::shared_ptr<const TrustStore> trust, Admission admit,
               std::shared_ptr<RefusalLog> log)
      : trust_(std::move(trust)), admit_(std::move(admit)), log_(std::move(log)) {}

  bool Verify(gx::TlsCustomVerificationCheckRequest* request, std::function<void(grpc::Status)>,
              grpc::Status* sync_status) override {
    const std::string pem(request->peer_cert().data(), request->peer_cert().size());
    *sync_status = check(pem);
    return true;  // synchronous
  }
  void Cancel(gx::TlsCustomVerificationCheckRequest*) override {}

 private:
  grpc::Status check(const std::string& pem) {
    if (pem.empty()) return refuse("(no certificate)", "no client certificate");
    auto peer = trust_->verify_pem(pem, now());
    if (!peer) {
      auto cert = pki::Certificate::from_pem(pem);
      return refuse(cert ? cert->subject() : "(unreadable certificate)", peer.error());
    }
    if (auto refusal = admit_(*peer)) return refuse(describe(*peer), *refusal);
    return grpc::Status::OK;
  }
  grpc::Status refuse(const std::string& who, const std::string& why) {
    if (log_) log_->refused(who, why);
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, who + ": " + why);
  }

  std::shared_ptr<const TrustStore> trust_;
  Admission admit_;
  std::shared_ptr<RefusalLog> log_;
};

}  // namespace

std::shared_ptr<grpc::ServerCredentials> server_credentials(std::shared_ptr<const TrustStore> trust,
                                                            Admission admit,
                                                            std::shared_ptr<RefusalLog> log) {
  gx::TlsServerCredentialsOptions options(identity(*trust));
  options.watch_identity_key_cert_pairs();
  // Request, but let PeerVerifier refuse a missing certificate, so that the
  // refusal is recorded like every other.
  options.set_cert_request_type(GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_BUT_DONT_VERIFY);
  options.set_certificate_verifier(gx::ExternalCertificateVerifier::Create<PeerVerifier>(
      std::move(trust), std::move(admit), std::move(log)));
  return gx::TlsServerCredentials(options);
}

std::shared_ptr<grpc::ChannelCredentials> channel_credentials(
    std::shared_ptr<const TrustStore> trust, pki::Role role, std::string code,
    std::shared_ptr<RefusalLog> log) {
  gx::TlsChannelCredentialsOptions options;
  options.set_certificate_provider(identity(*trust));
  options.watch_identity_key_cert_pairs();
  options.watch_root_certs();
  options.set_verify_server_certs(false);  // PeerVerifier does it
  options.set_check_call_host(false);
  Admission expected = [role, code](const Peer& peer) -> std::optional<std::string> {
    if (peer.role != role || peer.code != code)
      return "expected " + describe(Peer{role, code, {}, {}, {}, {}}) + ", got " + describe(peer);
    return std::nullopt;
  };
  options.set_certificate_verifier(gx::ExternalCertificateVerifier::Create<PeerVerifier>(
      std::move(trust), std::move(expected), std::move(log)));
  return gx::TlsCredentials(options);
}

std::shared_ptr<grpc::Channel> open_channel(const std::string& address,
                                            std::shared_ptr<grpc::ChannelCredentials> credentials,
                                            bool own_connection) {
  grpc::ChannelArguments args;
  if (own_connection) args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetMaxReceiveMessageSize(kMaxMessageBytes);
  args.SetMaxSendMessageSize(kMaxMessageBytes);
  // Reconnect quickly after a peer comes back (the outbox retries anyway).
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5000);
  return grpc::CreateCustomChannel(address, credentials, args);
}

void require_tls13() {
  // TLS 1.2's list (OpenSSL's cipher string): a PSK-only suite, unusable
  // without a PSK, so a 1.2 handshake finds no shared cipher. TLS 1.3's
  // suites are configured apart from this list and stay OpenSSL's default.
  setenv("GRPC_SSL_CIPHER_SUITES", "PSK-AES128-GCM-SHA256", 1);
}

Result<Peer, grpc::Status> Callers::of(const grpc::ServerContextBase& context) {
  auto auth = context.auth_context();
  const auto pems =
      auth ? auth->FindPropertyValues("x509_pem_cert") : std::vector<grpc::string_ref>{};
  if (pems.empty())
    return unexpected(grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "no client certificate"));
  std::string pem(pems.front().data(), pems.front().size());
  const std::int64_t t = now();
  {
    std::lock_guard lock(mutex_);
    auto it = cache_.find(pem);
    if (it != cache_.end() && t - it->second.checked_at < kCallerCacheSeconds) {
      if (it->second.peer) return *it->second.peer;
      return unexpected(grpc::Status(grpc::StatusCode::UNAUTHENTICATED, it->second.refusal));
    }
  }
  Entry entry;
  entry.checked_at = t;
  auto peer = trust_->verify_pem(pem, t);
  if (peer)
    entry.peer = *peer;
  else
    entry.refusal = peer.error();
  {
    std::lock_guard lock(mutex_);
    if (cache_.size() >= kCallerCacheEntries) cache_.clear();
    cache_[pem] = entry;
  }
  if (!peer) return unexpected(grpc::Status(grpc::StatusCode::UNAUTHENTICATED, peer.error()));
  return *peer;
}

}  // namespace juki::backend::trust
