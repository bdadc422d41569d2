// Mutual TLS between servers over real gRPC on loopback: each end checks the
// other in the handshake; refusals happen before any request is read, are
// recorded, and only TLS 1.3 is spoken.
#include <catch2/catch.hpp>

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backend/support/server_pki.hpp"
#include "backend/trust/tls.hpp"
#include "backend/wire/juki_net.grpc.pb.h"
#include "support/run_program.hpp"

using namespace juki;
using namespace juki::backend;
using juki::test::ServerPki;
namespace proto = juki::net::v1;

namespace {

class Recorder : public trust::RefusalLog {
 public:
  void refused(const std::string& peer, const std::string& reason) override {
    std::lock_guard lock(mutex_);
    entries_.push_back(peer + ": " + reason);
  }
  std::vector<std::string> entries() {
    std::lock_guard lock(mutex_);
    return entries_;
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> entries_;
};

// Answers every lookup with the caller it saw, so that a test can tell that
// a request was (or was not) read.
class EchoCaller final : public proto::IdentityLookup::Service {
 public:
  explicit EchoCaller(std::shared_ptr<const trust::TrustStore> trust)
      : callers_(std::move(trust)) {}
  grpc::Status Lookup(grpc::ServerContext* context, const proto::LookupRequest*,
                      proto::LookupReply* reply) override {
    ++calls;
    auto caller = callers_.of(*context);
    if (!caller) return caller.error();
    reply->set_answered_by(trust::describe(*caller));
    return grpc::Status::OK;
  }
  std::atomic<int> calls{0};

 private:
  trust::Callers callers_;
};

struct Server {
  Server(std::shared_ptr<const trust::TrustStore> trust, trust::Admission admit)
      : log(std::make_shared<Recorder>()), service(trust) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", trust::server_credentials(trust, admit, log), &port);
    builder.RegisterService(&service);
    server = builder.BuildAndStart();
    REQUIRE(server);
    REQUIRE(port > 0);
  }
  ~Server() { server->Shutdown(); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port); }

  std::shared_ptr<Recorder> log;
  EchoCaller service;
  int port = 0;
  std::unique_ptr<grpc::Server> server;
};

grpc::Status lookup(const std::shared_ptr<grpc::Channel>& channel, proto::LookupReply* reply) {
  auto stub = proto::IdentityLookup::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  proto::LookupRequest request;
  request.set_resident_code("00000000019");
  return stub->Lookup(&context, request, reply);
}

std::shared_ptr<grpc::Channel> channel_to(const Server& server, const trust::TrustStore& client,
                                          pki::Role role, const std::string& code,
                                          std::shared_ptr<trust::RefusalLog> log = nullptr) {
  auto trust = std::make_shared<trust::TrustStore>(client);
  return trust::open_channel(server.address(),
                             trust::channel_credentials(trust, role, code, std::move(log)));
}

// The prefecture's rule: its own CSs only.
trust::Admission own_css(std::string prefecture) {
  return [prefecture](const trust::Peer& peer) -> std::optional<std::string> {
    if (peer.role != pki::Role::cs) return "only CSs may call a prefecture server";
    if (trust::prefecture_of(peer.code) != prefecture)
      return "CS " + peer.code + " is not of prefecture " + prefecture;
    return std::nullopt;
  };
}

// A client that presents any key and certificate and trusts any server: an
// attacker's, for the refusals the server must make by itself.
class AcceptAnything : public grpc::experimental::ExternalCertificateVerifier {
 public:
  bool Verify(grpc::experimental::TlsCustomVerificationCheckRequest*,
              std::function<void(grpc::Status)>, grpc::Status* status) override {
    *status = grpc::Status::OK;
    return true;
  }
  void Cancel(grpc::experimental::TlsCustomVerificationCheckRequest*) override {}
};

std::shared_ptr<grpc::Channel> raw_channel(const Server& server, const std::string& key_pem,
                                           const std::string& cert_pem) {
  namespace gx = grpc::experimental;
  gx::TlsChannelCredentialsOptions options;
  if (!cert_pem.empty()) {
    options.set_certificate_provider(std::make_shared<gx::StaticDataCertificateProvider>(
        std::vector<gx::IdentityKeyCertPair>{{key_pem, cert_pem}}));
    options.watch_identity_key_cert_pairs();
  }
  options.set_verify_server_certs(false);
  options.set_check_call_host(false);
  options.set_certificate_verifier(gx::ExternalCertificateVerifier::Create<AcceptAnything>());
  return grpc::CreateChannel(server.address(), gx::TlsCredentials(options));
}

std::string read_text(const std::string& path) {
  auto bytes = pki::read_file(path);
  REQUIRE(bytes.ok());
  return std::string(bytes->begin(), bytes->end());
}

bool mentions(const std::vector<std::string>& log, const std::string& text) {
  for (const auto& line : log)
    if (line.find(text) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("mutual TLS: an admitted peer's calls carry its role and code", "[req:D8.1]") {
  trust::require_tls13();
  ServerPki p;
  p.issue("tokyo", pki::Role::prefecture, "130001");
  p.issue("chiyoda", pki::Role::cs, "131016");
  Server server(std::make_shared<trust::TrustStore>(p.trust("tokyo")), own_css("130001"));

  proto::LookupReply reply;
  auto status =
      lookup(channel_to(server, p.trust("chiyoda"), pki::Role::prefecture, "130001"), &reply);
  INFO(status.error_message());
  REQUIRE(status.ok());
  CHECK(reply.answered_by() == "cs 131016");
  CHECK(server.log->entries().empty());
}

TEST_CASE("mutual TLS: refused in the handshake, before any request is read, and recorded",
          "[req:D5][req:D7]") {
  trust::require_tls13();
  ServerPki p;
  p.issue("tokyo", pki::Role::prefecture, "130001");
  p.issue("chiyoda", pki::Role::cs, "131016");
  p.issue("sapporo", pki::Role::cs, "011002");
  p.issue("national", pki::Role::national, "");
  p.issue("expired", pki::Role::cs, "131016", 1, test::unix_now() - 3 * 86400);
  p.issue("revoked", pki::Role::cs, "131016");
  p.revoke("revoked");
  Server server(std::make_shared<trust::TrustStore>(p.trust("tokyo")), own_css("130001"));

  struct Case {
    const char* name;
    std::function<std::shared_ptr<grpc::Channel>()> channel;
    const char* recorded;
  };
  ServerPki stranger;
  stranger.issue("chiyoda", pki::Role::cs, "131016");
  const std::vector<Case> cases = {
      {"a CS of another prefecture",
       [&] { return channel_to(server, p.trust("sapporo"), pki::Role::prefecture, "130001"); },
       "CS 011002 is not of prefecture 130001"},
      {"a wrong role",
       [&] { return channel_to(server, p.trust("national"), pki::Role::prefecture, "130001"); },
       "only CSs may call a prefecture server"},
      {"another PKI",
       [&] {
         return raw_channel(server, stranger.trust("chiyoda").key().to_pem(),
                            stranger.certificate("chiyoda").to_pem());
       },
       "CN = chiyoda: the certificate was not issued by the server CA"},
      {"an expired certificate",
       [&] {
         // The client's own trust store would not load it; an attacker
         // presents it anyway.
         return raw_channel(server, read_text(p.file("expired.key")),
                            p.certificate("expired").to_pem());
       },
       "expired"},
      {"a revoked certificate",
       [&] {
         return raw_channel(server, read_text(p.file("revoked.key")),
                            p.certificate("revoked").to_pem());
       },
       "revoked"},
      {"no client certificate", [&] { return raw_channel(server, "", ""); },
       "no client certificate"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    proto::LookupReply reply;
    auto status = lookup(c.channel(), &reply);
    CHECK_FALSE(status.ok());
    CHECK(status.error_code() == grpc::StatusCode::UNAVAILABLE);
    CHECK(reply.answered_by().empty());
    CHECK(mentions(server.log->entries(), c.recorded));
  }
  CHECK(server.service.calls == 0);
}

TEST_CASE("mutual TLS: the client refuses a server that is not the peer it asked for", "[req:D5]") {
  trust::require_tls13();
  ServerPki p;
  p.issue("osaka", pki::Role::prefecture, "270008");
  p.issue("chiyoda", pki::Role::cs, "131016");
  Server server(std::make_shared<trust::TrustStore>(p.trust("osaka")),
                [](const trust::Peer&) { return std::optional<std::string>(); });
  auto log = std::make_shared<Recorder>();
  proto::LookupReply reply;
  auto status =
      lookup(channel_to(server, p.trust("chiyoda"), pki::Role::prefecture, "130001", log), &reply);
  CHECK_FALSE(status.ok());
  CHECK(mentions(log->entries(), "expected prefecture 130001, got prefecture 270008"));
  CHECK(server.service.calls == 0);
}

TEST_CASE("mutual TLS: only TLS 1.3 is spoken, with an ephemeral key exchange", "[req:D6]") {
  trust::require_tls13();
  ServerPki p;
  p.issue("tokyo", pki::Role::prefecture, "130001");
  p.issue("chiyoda", pki::Role::cs, "131016");
  Server server(std::make_shared<trust::TrustStore>(p.trust("tokyo")), own_css("130001"));
  test::TempDir dir;
  REQUIRE(
      pki::replace_file(dir.file("chiyoda.pem"), as_bytes(p.certificate("chiyoda").to_pem()), 0600)
          .ok());
  auto s_client = [&](const std::string& version) {
    return test::run(dir, "openssl",
                     {"s_client", "-connect", server.address(), version, "-cert",
                      dir.file("chiyoda.pem"), "-key", p.file("chiyoda.key"), "-brief"});
  };
  auto tls13 = s_client("-tls1_3");
  CHECK(tls13.err.find("Protocol version: TLSv1.3") != std::string::npos);
  // ECDHE: the session key comes from an ephemeral exchange (X25519 or P-256).
  CHECK(tls13.err.find("Server Temp Key:") != std::string::npos);
  auto tls12 = s_client("-tls1_2");
  CHECK(tls12.exit != 0);
  CHECK(tls12.err.find("Protocol version: TLSv1.2") == std::string::npos);
}
