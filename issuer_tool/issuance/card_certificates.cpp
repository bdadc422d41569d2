#include "issuer_tool/issuance/card_certificates.hpp"

#include <filesystem>
#include <system_error>
#include <utility>

namespace juki::issuance {

namespace {

namespace fs = std::filesystem;
namespace directory = pki::directory;

constexpr std::string_view kNames[] = {"card", "jpki-auth", "jpki-sign"};

pki::PkiError io_error(std::string message) {
  return pki::PkiError{pki::PkiErrorKind::io, std::move(message)};
}

}  // namespace

std::string card_certificates_dir(const std::string& pki_dir, std::string_view serial) {
  return (fs::path(pki_dir) / "cards" / std::string(serial)).string();
}

std::string card_certificate_path(const std::string& pki_dir, std::string_view serial,
                                  std::string_view name) {
  return (fs::path(card_certificates_dir(pki_dir, serial)) / (std::string(name) + ".cert.der"))
      .string();
}

Result<void, pki::PkiError> record_card_certificates(const std::string& pki_dir,
                                                     std::string_view serial,
                                                     const std::vector<CardCertificate>& certs,
                                                     std::int64_t now) {
  std::error_code ec;
  const std::string dir = card_certificates_dir(pki_dir, serial);
  fs::create_directories(dir, ec);
  if (ec) return unexpected(io_error("cannot create " + dir + ": " + ec.message()));
  for (const CardCertificate& c : certs) {
    const std::string path = card_certificate_path(pki_dir, serial, c.name);
    // An earlier attempt on this card got as far as recording but the card
    // was never set issued: its certificate is on no card in use.
    if (fs::exists(path, ec)) {
      auto earlier = pki::Certificate::load(path);
      if (!earlier) return unexpected(earlier.error());
      if (earlier->serial_hex() != c.certificate.serial_hex()) {
        auto revoked =
            directory::revoke(pki_dir, *earlier, path, pki::RevocationReason::superseded, now, now);
        if (!revoked && revoked.error().kind != pki::PkiErrorKind::already_revoked)
          return unexpected(revoked.error());
      }
    }
    auto authority = directory::authority_from_name(c.name);
    if (!authority)
      return unexpected(pki::PkiError{pki::PkiErrorKind::refused, "no authority " + c.name});
    auto recorded =
        directory::record_issued(pki_dir, authority->stem, c.ca, c.certificate, path, now);
    if (!recorded) return unexpected(recorded.error());
    if (auto ok = pki::replace_file(path, c.certificate.der(), 0644); !ok) return ok;
  }
  return {};
}

Result<std::vector<CardRevocation>, pki::PkiError> revoke_card_certificates(
    const std::string& pki_dir, std::string_view serial, pki::RevocationReason reason,
    std::int64_t now) {
  std::vector<CardRevocation> done;
  std::error_code ec;
  for (std::string_view name : kNames) {
    const std::string path = card_certificate_path(pki_dir, serial, name);
    if (!fs::exists(path, ec)) continue;
    auto cert = pki::Certificate::load(path);
    if (!cert) return unexpected(cert.error());
    CardRevocation r{std::string(name), cert->serial_hex(), false};
    if (auto revoked = directory::revoke(pki_dir, *cert, path, reason, now, now); !revoked) {
      if (revoked.error().kind != pki::PkiErrorKind::already_revoked)
        return unexpected(revoked.error());
      r.already = true;
    }
    done.push_back(std::move(r));
  }
  if (done.empty())
    return unexpected(io_error("no certificates of card " + std::string(serial) + " in " +
                               card_certificates_dir(pki_dir, serial)));
  return done;
}

}  // namespace juki::issuance
