#include "support/secure_layout.hpp"

#include <utility>

#include "common/iso7816/apdu.hpp"
#include "common/layout/juki_ap.hpp"
#include "issuer_tool/enrolment/card_manager.hpp"
#include "issuer_tool/enrolment/enrolment.hpp"
#include "issuer_tool/enrolment/jpki.hpp"
#include "issuer_tool/enrolment/juki_ap.hpp"

namespace juki::test {

using host::perso::Outcome;
using juki::fcp::AccessRule;
using juki::fcp::Op;

Bytes open_content() {
  Bytes b(256);
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<std::uint8_t>(i);
  return b;
}

Outcome<pki::Certificate> make_secure_card(juki::Transport& t,
                                           const host::perso::SampleSecrets& secrets,
                                           const pki::Certificate& root,
                                           const pki::KeyAndCert& card_ca,
                                           std::optional<JpkiCas> jpki, WithJukiAp juki_ap,
                                           WithCardManager card_manager) {
#define JUKI_TRY(expr)                                        \
  do {                                                        \
    if (auto r_ = (expr); !r_) return unexpected(r_.error()); \
  } while (0)
  // Proves the transport key; its session keeps personalization rights.
  host::perso::Personalizer perso(t);
  JUKI_TRY(host::perso::write_sample_layout(perso, secrets));
  JUKI_TRY(perso.select_mf());
  juki::fcp::FileSpec df;
  df.type = juki::fcp::FileType::df;
  df.fid = kSecDf;
  df.name = kSecAid;
  JUKI_TRY(perso.create(df));

  enrolment::AuthenticationRequest request;
  request.df = kSecDf;
  request.municipality = kMunicipality;
  request.common_name = "card 0102030405060708";
  auto certificate = enrolment::enrol_authentication(perso, root, card_ca, request);
  if (!certificate) return unexpected(certificate.error());

  auto put = [&](std::uint16_t fid, ByteView content, AccessRule read) -> Outcome<> {
    juki::fcp::FileSpec ef;
    ef.fid = fid;
    ef.size = static_cast<std::uint32_t>(content.size());
    ef.sfi = static_cast<std::uint8_t>(fid & 0x1F);
    ef.rules.fill(AccessRule::never());
    ef.rule(Op::read) = read;
    JUKI_TRY(perso.create(ef));
    JUKI_TRY(perso.write_binary(content));
    JUKI_TRY(perso.select_mf());
    return perso.select_fid(kSecDf);
  };
  JUKI_TRY(put(kWindowEf, kSecret,
               AccessRule{AccessRule::kRole | AccessRule::kSecureMessaging, 0, 0, kWindowBit}));
  JUKI_TRY(put(kSmEf, kSecret, AccessRule{AccessRule::kSecureMessaging, 0, 0, 0}));
  JUKI_TRY(put(kResetEf, kSecret,
               AccessRule{AccessRule::kRole | AccessRule::kSecureMessaging, 0, 0, kResetBit}));
  JUKI_TRY(put(kAlwaysEf, kSecret, AccessRule::always()));
  JUKI_TRY(put(kOpenEf, open_content(), AccessRule::always()));

  if (jpki) {
    enrolment::JpkiRequest r;
    r.holder = kJpkiHolder;
    r.auth_pin.assign(kJpkiAuthPin.begin(), kJpkiAuthPin.end());
    r.sign_pin.assign(kJpkiSignPin.begin(), kJpkiSignPin.end());
    const std::string token = "JPKIAPICCTOKEN";
    r.token.assign(token.begin(), token.end());
    auto enrolled = enrolment::enrol_jpki(perso, jpki->auth, jpki->sign, r);
    if (!enrolled) return unexpected(enrolled.error());
  }
  if (juki_ap == WithJukiAp::yes) {
    enrolment::JukiApRequest r;
    r.resident_code = kJukiResidentCode;
    r.municipality = kMunicipality;
    r.issue_date = "20261124";
    auto enrolled = enrolment::enrol_juki_ap(perso, root, card_ca, r);
    if (!enrolled) return unexpected(enrolled.error());
  }
  if (card_manager == WithCardManager::yes)
    JUKI_TRY(enrolment::enrol_card_manager(perso, root, {kMunicipality}));
  JUKI_TRY(perso.select_mf());
  JUKI_TRY(perso.finish());
  JUKI_TRY(perso.select_fid(host::perso::kSampleDf));
  // The password 1234 (CHANGE REFERENCE DATA P1=01): the card becomes active.
  JUKI_TRY(host::perso::exchange(t, apdu::encode_command(0x00, 0x24, 0x01, 0x81, as_bytes("1234")),
                                 "set the password"));
  if (juki_ap == WithJukiAp::yes) {
    JUKI_TRY(perso.select_aid(juki::layout::juki_ap::kAid));
    JUKI_TRY(host::perso::exchange(
        t, apdu::encode_command(0x00, 0x24, 0x01, 0x81, as_bytes(kJukiPassword)),
        "set the Juki AP password"));
  }
#undef JUKI_TRY
  return std::move(*certificate);
}

}  // namespace juki::test
