// Enrolment of the JPKI application (specs/jpki.md): the application DF, its
// two PINs, two RSA-2048 keys generated on the card, their certificates from
// the JPKI authentication and signature CAs, the CA certificates and the
// token EF, with the access rules OpenSC's `jpki` driver expects.
#pragma once

#include <string>

#include "host_middleware/personalization/personalization.hpp"
#include "pki/pki.hpp"

namespace juki::enrolment {

struct JpkiRequest {
  std::string holder;  // the certificates' subject CN
  Bytes auth_pin;      // PIN 1: 4 digits
  Bytes sign_pin;      // PIN 2: 6..16 letters and digits
  Bytes token;         // EF 0006, padded with spaces to kJpkiTokenLength
  int days = 0;        // the certificates' validity; 0: pki::kJpkiLeafDays
};
inline constexpr std::size_t kJpkiTokenLength = 32;

struct JpkiCertificates {
  pki::Certificate auth;
  pki::Certificate sign;
};

// With personalization rights on `perso`'s card: creates the JPKI DF under
// the MF and everything in it. Leaves the MF selected. The card's refusals
// and the PKI's come back as the failing step.
Result<JpkiCertificates, host::perso::Error> enrol_jpki(host::perso::Personalizer& perso,
                                                        const pki::KeyAndCert& auth_ca,
                                                        const pki::KeyAndCert& sign_ca,
                                                        const JpkiRequest& request);

}  // namespace juki::enrolment
