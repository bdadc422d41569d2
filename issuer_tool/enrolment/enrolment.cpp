#include "issuer_tool/enrolment/enrolment.hpp"

#include <utility>

namespace juki::enrolment {

using host::perso::Error;
using host::perso::Outcome;

namespace {

Error pki_failure(const std::string& step, const pki::PkiError& e) {
  return Error{step, 0, e.message};
}

// An EF of `df` holding `content`, readable always.
Outcome<> put_public_ef(host::perso::Personalizer& perso, std::uint16_t df, std::uint16_t fid,
                        ByteView content) {
  fcp::FileSpec ef;
  ef.fid = fid;
  ef.size = static_cast<std::uint32_t>(content.size());
  ef.rules.fill(fcp::AccessRule::never());
  ef.rule(fcp::Op::read) = fcp::AccessRule::always();
  if (auto r = perso.create(ef); !r) return r;
  if (auto r = perso.write_binary(content); !r) return r;
  // CREATE FILE selected the EF: back to the application's DF.
  if (auto r = perso.select_mf(); !r) return r;
  return perso.select_fid(df);
}

}  // namespace

Result<pki::Certificate, Error> enrol_authentication(host::perso::Personalizer& perso,
                                                     const pki::Certificate& root,
                                                     const pki::KeyAndCert& card_ca,
                                                     const AuthenticationRequest& request) {
  if (auto r = perso.select_mf(); !r) return unexpected(r.error());
  if (auto r = perso.select_fid(request.df); !r) return unexpected(r.error());
  auto point = perso.generate_ec_key(request.key_ref);
  if (!point) return unexpected(point.error());

  auto public_key = pki::PublicKey::from_point(*point);
  if (!public_key) return unexpected(pki_failure("the card's public key", public_key.error()));
  pki::LeafRequest leaf;
  leaf.authorization.role = pki::Role::card;
  leaf.authorization.municipality = request.municipality;
  leaf.common_name = request.common_name;
  leaf.days = request.days;
  auto certificate = pki::issue(card_ca.key, card_ca.cert, leaf, *public_key);
  if (!certificate) return unexpected(pki_failure("card certificate", certificate.error()));

  for (const auto& [fid, der] :
       {std::pair{kTrustAnchorEf, root.der()}, std::pair{kCardCertEf, certificate->der()},
        std::pair{kCardCaEf, card_ca.cert.der()}}) {
    if (auto r = put_public_ef(perso, request.df, fid, der); !r) return unexpected(r.error());
  }
  return std::move(*certificate);
}

}  // namespace juki::enrolment
