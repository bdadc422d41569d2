// The issuance counter's authorities and keys for the issuance tests: the PKI
// of secure_card.hpp with the JPKI CAs, as juki-pki makes them, and the
// counter's keys; built once per test process.
#pragma once

#include "issuer_tool/issuance/personalization.hpp"
#include "support/secure_card.hpp"

namespace juki::test {

inline const Bytes kAdminMaster = *from_hex("A0A1A2A3A4A5A6A7A8A9AAABACADAEAF");

struct Issuer {
  Pki p;
  issuance::Authorities authorities{p.root.cert, p.card_ca,
                                    take(pki::create_jpki_ca(pki::JpkiKind::auth)),
                                    take(pki::create_jpki_ca(pki::JpkiKind::sign))};
  issuance::CounterKeys keys{kTransportKey, kAdminMaster};
};
inline const Issuer& issuer() {
  static const Issuer i;
  return i;
}

}  // namespace juki::test
