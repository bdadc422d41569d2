#include "issuer_tool/enrolment/juki_ap.hpp"

#include <utility>

#include "common/card_information.hpp"
#include "common/check_digits.hpp"
#include "common/layout/juki_ap.hpp"
#include "issuer_tool/enrolment/enrolment.hpp"

namespace juki::enrolment {

using fcp::AccessRule;
using fcp::Op;
using host::perso::Error;
using host::perso::Outcome;
namespace layout = juki::layout::juki_ap;

namespace {

Error refused(const std::string& what) {
  return Error{"Juki AP request", 0, what};
}

// A transparent EF of the Juki AP holding `content`, readable under `read`,
// updated never (personalization rights write it), with an SFI.
Outcome<> put_ef(host::perso::Personalizer& perso, std::uint16_t fid, std::uint8_t sfi,
                 ByteView content, AccessRule read) {
  fcp::FileSpec ef;
  ef.fid = fid;
  ef.sfi = sfi;
  ef.size = static_cast<std::uint32_t>(content.size());
  ef.rules.fill(AccessRule::never());
  ef.rule(Op::read) = read;
  if (auto r = perso.create(ef); !r) return r;
  if (auto r = perso.write_binary(content); !r) return r;
  if (auto r = perso.select_mf(); !r) return r;  // CREATE FILE selected the EF
  return perso.select_fid(layout::kDf);
}

}  // namespace

Result<pki::Certificate, Error> enrol_juki_ap(host::perso::Personalizer& perso,
                                              const pki::Certificate& root,
                                              const pki::KeyAndCert& card_ca,
                                              const JukiApRequest& request) {
#define JUKI_TRY(expr)                                        \
  do {                                                        \
    if (auto r_ = (expr); !r_) return unexpected(r_.error()); \
  } while (0)
  if (!check_digits::resident_code_valid(request.resident_code)) {
    const auto check = request.resident_code.size() == 11
                           ? check_digits::resident_code(request.resident_code.substr(0, 10))
                           : std::nullopt;
    return unexpected(refused("resident code '" + request.resident_code + "' is not valid" +
                              (check ? std::string(" (check digit should be ") + *check + ")"
                                     : std::string(" (11 digits: 10 and a check digit)"))));
  }
  Bytes serial = request.serial;
  if (serial.empty()) {
    auto data = perso.get_data(0xDF22);
    if (!data) return unexpected(data.error());
    serial = std::move(*data);
  }
  card_information::Fields fields;
  fields.municipality = request.municipality;
  fields.issue_date = request.issue_date;
  fields.face = request.face;
  fields.serial = serial;
  auto info = card_information::encode(fields);
  if (!info) return unexpected(refused(std::string(card_information::describe(info.error()))));

  JUKI_TRY(perso.select_mf());
  fcp::FileSpec df;
  df.type = fcp::FileType::df;
  df.fid = layout::kDf;
  df.name.assign(std::begin(layout::kAid), std::end(layout::kAid));
  df.rules.fill(AccessRule::never());
  JUKI_TRY(perso.create(df));

  // The password: no value until the resident sets it (CHANGE REFERENCE DATA
  // P1 = 01), which activates the card; re-set only by the password-reset
  // role under secure messaging.
  host::perso::PinDefinition password;
  password.ref = layout::kPasswordRef;
  password.format = 1;  // digits
  password.min_length = password.max_length = layout::kPasswordLength;
  password.retry_limit = layout::kPasswordTries;
  password.activates_card = true;
  password.unblock_kind = 3;
  password.unblock_roles = layout::kPasswordResetters;
  JUKI_TRY(perso.put_pin(password));

  // The resident code: after the password, to a window terminal or the CS,
  // under secure messaging.
  const AccessRule resident_read{
      AccessRule::kPin | AccessRule::kRole | AccessRule::kSecureMessaging, layout::kPasswordP2, 0,
      layout::kResidentCodeReaders};
  JUKI_TRY(put_ef(perso, layout::kResidentCodeEf, layout::kResidentCodeSfi,
                  as_bytes(request.resident_code), resident_read));
  // The card information: what the card's face shows, readable always.
  JUKI_TRY(put_ef(perso, layout::kCardInfoEf, layout::kCardInfoSfi, *info, AccessRule::always()));

  AuthenticationRequest auth;
  auth.df = layout::kDf;
  auth.municipality = request.municipality;
  auth.common_name =
      request.common_name.empty() ? "Juki card " + to_hex(serial) : request.common_name;
  auth.days = request.days;
  auto certificate = enrol_authentication(perso, root, card_ca, auth);
  if (!certificate) return unexpected(certificate.error());
  JUKI_TRY(perso.select_mf());
#undef JUKI_TRY
  return std::move(*certificate);
}

}  // namespace juki::enrolment
