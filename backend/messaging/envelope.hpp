// Signed messages between servers (specs/network.md 5): the sender signs the
// serialized payload with its server key; the receiver checks the signer's
// certificate and the signature, and keeps the envelope as it came, so that
// the origin of what it stored can be proven later, not only at the time of
// the connection (as X-Road keeps signed messages).
#pragma once

#include <cstdint>
#include <string>

#include "backend/trust/trust.hpp"
#include "backend/wire/juki_net.pb.h"
#include "common/bytes.hpp"
#include "common/result.hpp"

namespace juki::backend::messaging {

namespace proto = juki::net::v1;

// What the signature covers: "JUKI-NET-ENVELOPE-1", a zero byte, the kind's
// number as one byte, then the payload. Binding the kind means a relay batch
// can never be passed off as a notification batch with the same bytes.
Bytes signing_input(proto::PayloadKind kind, ByteView payload);

// Serializes `payload` and signs it with the server's key.
Result<proto::Envelope, std::string> seal(const trust::TrustStore& trust, proto::PayloadKind kind,
                                          const google::protobuf::Message& payload);

// The signer's certificate verifies (TrustStore::verify at `now`) and its
// key verifies the signature over the kind and payload. Gives the signer.
Result<trust::Peer, std::string> check_signature(const trust::TrustStore& trust,
                                                 const proto::Envelope& envelope, std::int64_t now);

}  // namespace juki::backend::messaging
