// Enrolment of a card application for mutual authentication
// (specs/secure-channel.md 2.0): the key made on the card, certified by the
// card CA, and the files the protocol reads. The issuer tool and the tests
// make authenticating cards through this one function.
#pragma once

#include <cstdint>
#include <string>

#include "host_middleware/personalization/personalization.hpp"
#include "pki/pki.hpp"

namespace juki::enrolment {

// The EFs of the application's DF that the card reads during authentication
// (specs/secure-channel.md 2.0).
inline constexpr std::uint16_t kTrustAnchorEf = 0x2F10;  // the Juki-net root
inline constexpr std::uint16_t kCardCertEf = 0x2F11;     // the card's certificate
inline constexpr std::uint16_t kCardCaEf = 0x2F12;       // the card CA's certificate

struct AuthenticationRequest {
  std::uint16_t df = 0;         // the application's DF, directly under the MF
  std::uint8_t key_ref = 0x01;  // the card's authentication key
  std::string municipality;     // the issuing municipality, in the card certificate
  std::string common_name;      // the card certificate's subject CN
  int days = 0;                 // validity; 0: pki::default_days(Role::card)
};

// With personalization rights on `perso`'s card: selects `request.df`, has
// the card generate its key, issues the card certificate from `card_ca`, and
// writes EFs 2F10 (`root`), 2F11 and 2F12, each readable always. Leaves
// `request.df` selected; returns the card certificate. The card's answers and
// the PKI's refusals come back as the failing step.
Result<pki::Certificate, host::perso::Error> enrol_authentication(
    host::perso::Personalizer& perso, const pki::Certificate& root, const pki::KeyAndCert& card_ca,
    const AuthenticationRequest& request);

}  // namespace juki::enrolment
