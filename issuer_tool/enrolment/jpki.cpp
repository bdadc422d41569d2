#include "issuer_tool/enrolment/jpki.hpp"

#include <utility>

#include "common/layout/jpki.hpp"

namespace juki::enrolment {

using fcp::AccessRule;
using fcp::Op;
using host::perso::Error;
using host::perso::Outcome;
namespace layout = juki::layout::jpki;

namespace {

// A transparent EF holding `content`, readable under `read`, never updated.
Outcome<> put_ef(host::perso::Personalizer& perso, std::uint16_t fid, ByteView content,
                 AccessRule read) {
  fcp::FileSpec ef;
  ef.fid = fid;
  ef.size = static_cast<std::uint32_t>(content.size());
  ef.rules.fill(AccessRule::never());
  ef.rule(Op::read) = read;
  if (auto r = perso.create(ef); !r) return r;
  if (auto r = perso.write_binary(content); !r) return r;
  return perso.select_aid(layout::kAid);  // CREATE FILE selected the EF
}

// Generates RSA key `ref` on the card and has `ca` certify it for `kind`.
Result<pki::Certificate, Error> certified_key(host::perso::Personalizer& perso, std::uint8_t ref,
                                              const pki::KeyAndCert& ca, pki::JpkiKind kind,
                                              const JpkiRequest& request) {
  auto generated = perso.generate_rsa_key(ref);
  if (!generated) return unexpected(generated.error());
  const std::string step =
      std::string("JPKI ") + std::string(pki::jpki_kind_name(kind)) + " certificate";
  auto key = pki::PublicKey::from_rsa(generated->modulus, generated->exponent);
  if (!key) return unexpected(Error{step, 0, key.error().message});
  pki::JpkiLeafRequest leaf;
  leaf.kind = kind;
  leaf.common_name = request.holder;
  leaf.days = request.days;
  auto certificate = pki::issue_jpki(ca, leaf, *key);
  if (!certificate) return unexpected(Error{step, 0, certificate.error().message});
  return std::move(*certificate);
}

}  // namespace

Result<JpkiCertificates, Error> enrol_jpki(host::perso::Personalizer& perso,
                                           const pki::KeyAndCert& auth_ca,
                                           const pki::KeyAndCert& sign_ca,
                                           const JpkiRequest& request) {
#define JUKI_TRY(expr)                                        \
  do {                                                        \
    if (auto r_ = (expr); !r_) return unexpected(r_.error()); \
  } while (0)
  if (request.token.size() > kJpkiTokenLength)
    return unexpected(Error{"JPKI token", 0, "longer than 32 bytes"});
  JUKI_TRY(perso.select_mf());
  fcp::FileSpec df;
  df.type = fcp::FileType::df;
  df.name.assign(std::begin(layout::kAid), std::end(layout::kAid));
  JUKI_TRY(perso.create(df));

  host::perso::PinDefinition auth_pin;
  auth_pin.ref = layout::kAuthRef;
  auth_pin.format = 1;  // digits
  auth_pin.min_length = auth_pin.max_length = 4;
  auth_pin.retry_limit = layout::kAuthPinTries;
  auth_pin.initial_value = request.auth_pin;
  JUKI_TRY(perso.put_pin(auth_pin));
  host::perso::PinDefinition sign_pin;
  sign_pin.ref = layout::kSignRef;
  sign_pin.format = 2;  // letters and digits
  sign_pin.min_length = layout::kSignPinMin;
  sign_pin.max_length = layout::kSignPinMax;
  sign_pin.retry_limit = layout::kSignPinTries;
  sign_pin.initial_value = request.sign_pin;
  JUKI_TRY(perso.put_pin(sign_pin));

  auto auth = certified_key(perso, layout::kAuthRef, auth_ca, pki::JpkiKind::auth, request);
  if (!auth) return unexpected(auth.error());
  auto sign = certified_key(perso, layout::kSignRef, sign_ca, pki::JpkiKind::sign, request);
  if (!sign) return unexpected(sign.error());

  Bytes token = request.token;
  token.resize(kJpkiTokenLength, ' ');
  JUKI_TRY(put_ef(perso, layout::kTokenEf, token, AccessRule::always()));
  JUKI_TRY(put_ef(perso, layout::kAuthCertEf, auth->der(), AccessRule::always()));
  JUKI_TRY(put_ef(perso, layout::kAuthCaEf, auth_ca.cert.der(), AccessRule::always()));
  // The signature certificate names its holder: readable after PIN 2 only.
  JUKI_TRY(put_ef(perso, layout::kSignCertEf, sign->der(),
                  AccessRule::pin(static_cast<std::uint8_t>(0x80 | layout::kSignRef))));
  JUKI_TRY(put_ef(perso, layout::kSignCaEf, sign_ca.cert.der(), AccessRule::always()));
  JUKI_TRY(perso.select_mf());
#undef JUKI_TRY
  return JpkiCertificates{std::move(*auth), std::move(*sign)};
}

}  // namespace juki::enrolment
