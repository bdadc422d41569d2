// The issuance station's side of the personalization session
// (specs/secure-channel.md 6): the proof of an issuance key (the transport
// key, or a key with the personalization flag) also agrees session keys, and
// everything after it travels under secure messaging, so that no key or PIN
// written at personalization crosses the reader in the clear (as
// GlobalPlatform's SCP03 protects personalization).
#pragma once

#include <cstdint>
#include <memory>

#include "common/bytes.hpp"
#include "common/result.hpp"
#include "host_middleware/session/sm_transport.hpp"

namespace juki::host::session {

// GET CHALLENGE (16 bytes) and EXTERNAL AUTHENTICATE with AES-CMAC(key,
// challenge) on the channel of `inner`'s commands, then the session keys:
// Z = AES-CMAC(key, "JUKI-PS1" ‖ rC), K_enc and K_mac = KDF(Z, 1 | 2) for
// AES-256. A refused proof is `refused` with the card's status word (63CX).
Result<std::unique_ptr<SmTransport>, SessionError> open_personalization_session(
    Transport& inner, ByteView key, std::uint8_t key_ref);

// The 16-byte proof EXTERNAL AUTHENTICATE carries, and the session keys the
// same proof agrees; for the script runner, which sends the proof itself.
Result<Bytes, SessionError> issuance_key_proof(ByteView key, ByteView card_challenge);
Result<sm::SessionKeys, SessionError> personalization_keys(ByteView key, ByteView card_challenge);

}  // namespace juki::host::session
