// Enrolment of the Juki AP (住基AP, specs/juki-ap.md): the application DF,
// the password (no value: the resident sets it, which activates the card;
// re-set by the window's password-reset authority), the resident code EF and
// the card information EF with their contents and access rules, and the
// card's key, certificate and trust anchor for mutual authentication
// (enrol_authentication).
#pragma once

#include <string>

#include "host_middleware/personalization/personalization.hpp"
#include "pki/pki.hpp"

namespace juki::enrolment {

struct JukiApRequest {
  std::string resident_code;  // 11 digits, the last the check digit
  std::string municipality;   // the issuing municipality: 6 digits with the check digit;
                              // also the card certificate's municipality
  std::string issue_date;     // YYYYMMDD; the expiry is 10 years later
  char face = 'A';            // face version A or B
  Bytes serial;               // the card's serial (8 bytes); empty: read with GET DATA DF22
  std::string common_name;    // the card certificate's CN; empty: "Juki card <serial hex>"
  int days = 0;               // the card certificate's validity; 0: pki::default_days(card)
};

// With personalization rights on `perso`'s card: creates the Juki AP's DF
// under the MF and everything in it; the request is checked first, with the
// checks the card makes (common/check_digits.hpp, common/card_information.hpp).
// Leaves the MF selected; returns the card certificate. The card's refusals,
// the PKI's and the request's come back as the failing step.
Result<pki::Certificate, host::perso::Error> enrol_juki_ap(host::perso::Personalizer& perso,
                                                           const pki::Certificate& root,
                                                           const pki::KeyAndCert& card_ca,
                                                           const JukiApRequest& request);

}  // namespace juki::enrolment
