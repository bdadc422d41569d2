#include "backend/messaging/envelope.hpp"

#include <string_view>

namespace juki::backend::messaging {

namespace {
constexpr std::string_view kDomain = "JUKI-NET-ENVELOPE-1";
}

Bytes signing_input(proto::PayloadKind kind, ByteView payload) {
  Bytes input(kDomain.begin(), kDomain.end());
  input.push_back(0x00);
  input.push_back(static_cast<std::uint8_t>(kind));
  input.insert(input.end(), payload.begin(), payload.end());
  return input;
}

Result<proto::Envelope, std::string> seal(const trust::TrustStore& trust, proto::PayloadKind kind,
                                          const google::protobuf::Message& payload) {
  std::string bytes;
  if (!payload.SerializeToString(&bytes)) return unexpected(std::string("cannot serialize"));
  auto signature = pki::sign_message(trust.signing_key(), signing_input(kind, as_bytes(bytes)));
  if (!signature) return unexpected("cannot sign: " + signature.error().message);
  proto::Envelope envelope;
  envelope.set_kind(kind);
  envelope.set_payload(std::move(bytes));
  envelope.set_signature(signature->data(), signature->size());
  const Bytes der = trust.signing_certificate().der();
  envelope.set_signer_certificate(der.data(), der.size());
  return envelope;
}

Result<trust::Peer, std::string> check_signature(const trust::TrustStore& trust,
                                                 const proto::Envelope& envelope,
                                                 std::int64_t now) {
  auto cert = pki::Certificate::from_der(as_bytes(envelope.signer_certificate()));
  if (!cert) return unexpected("the signer's certificate: " + cert.error().message);
  auto signer = trust.verify(*cert, now);
  if (!signer) return unexpected("the signer's certificate: " + signer.error());
  auto good = pki::verify_message(cert->public_key(),
                                  signing_input(envelope.kind(), as_bytes(envelope.payload())),
                                  as_bytes(envelope.signature()));
  if (!good) return unexpected("the envelope's signature: " + good.error().message);
  return signer;
}

}  // namespace juki::backend::messaging
