// juki-pki: the Juki-net PKI's command line (specs/pki.md): init, issue,
// show, verify; init-jpki and issue/verify with the JPKI CAs (specs/pki.md
// "JPKI"); revoke and crl, and verify against the CRLs (specs/pki.md
// "Revocation").
// Exit: 0 ok, 1 refused or verification failed, 2 usage, 3 I/O.
#include <CLI/CLI.hpp>

#include <ctime>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/bytes.hpp"
#include "host_middleware/cli/cli_output.hpp"
#include "pki/directory.hpp"
#include "pki/pki.hpp"
#include "tools/issuer/pki_failure.hpp"

namespace {

using namespace juki;
using nlohmann::json;
namespace fs = std::filesystem;

using host::cli::fail;
using host::cli::Failure;
using host::cli::kExitIo;
using host::cli::kExitOk;
using host::cli::kExitRefused;
using host::cli::kExitUsage;
using host::cli::Output;
using host::cli::usage;

using issuer_cli::from_pki;

// The files of a PKI directory (specs/pki.md "Files").
using pki::directory::ca_stem;
using pki::directory::cert_path;
using pki::directory::jpki_stem;
using pki::directory::key_path;
constexpr pki::CaKind kCaKinds[] = {pki::CaKind::card, pki::CaKind::terminal, pki::CaKind::server};
constexpr pki::JpkiKind kJpkiKinds[] = {pki::JpkiKind::auth, pki::JpkiKind::sign};

std::optional<Failure> refuse_existing(const std::vector<std::string>& paths) {
  for (const auto& p : paths) {
    std::error_code ec;
    if (fs::symlink_status(p, ec).type() != fs::file_type::not_found)
      return Failure{kExitRefused, "exists", p + " exists already (refusing to overwrite)"};
  }
  return std::nullopt;
}

json cert_json(const pki::Certificate& c) {
  json j = {{"subject", c.subject()},
            {"common_name", c.common_name()},
            {"issuer", c.issuer()},
            {"serial", c.serial_hex()},
            {"not_before", pki::format_time(c.not_before())},
            {"not_after", pki::format_time(c.not_after())},
            {"ca", c.is_ca()}};
  const pki::PublicKey key = c.public_key();
  const auto algorithm = key.algorithm();
  j["algorithm"] =
      algorithm ? json(std::string(pki::key_algorithm_name(*algorithm))) : json("other");
  if (algorithm == pki::KeyAlgorithm::rsa2048) {
    j["public_key"] = to_hex(key.rsa_modulus());
    j["public_exponent"] = to_hex(key.rsa_exponent());
  } else {
    j["public_key"] = to_hex(key.point());
  }
  const auto jpki = c.jpki_kind();
  j["jpki_kind"] = jpki ? json(std::string(pki::jpki_kind_name(*jpki))) : json(nullptr);
  auto auth = c.authorization();
  if (auth && *auth) {
    const auto& a = **auth;
    j["role"] = std::string(pki::role_name(a.role));
    j["role_code"] = static_cast<int>(a.role);
    if (auto bit = pki::access_bit(a.role)) j["access_bit"] = *bit;
    j["municipality"] = a.municipality ? json(*a.municipality) : json(nullptr);
    j["application"] = a.application ? json(to_hex(*a.application)) : json(nullptr);
  } else {
    j["role"] = nullptr;
    j["municipality"] = nullptr;
    j["application"] = nullptr;
    if (!auth) j["authorization_error"] = auth.error().message;
  }
  return j;
}

// ------------------------------------------------------------ init

// Writes each authority's key (0600) and certificate into `dir` as STEM.key.pem
// and STEM.cert.der, and reports them.
int save_authorities(const std::string& dir,
                     const std::vector<std::pair<std::string, pki::KeyAndCert>>& all, Output& out) {
  out.doc = {{"ok", true}, {"dir", dir}, {"certificates", json::object()}};
  for (const auto& [stem, kc] : all) {
    if (auto ok = pki::directory::save_authority(dir, stem, kc); !ok)
      return fail(out, from_pki(ok.error()));
    out.doc["certificates"][stem] = {{"key", key_path(dir, stem)},
                                     {"cert", cert_path(dir, stem)},
                                     {"subject", kc.cert.subject()},
                                     {"not_after", pki::format_time(kc.cert.not_after())}};
    out.text << stem << ": " << cert_path(dir, stem) << " (" << kc.cert.subject() << ", until "
             << pki::format_time(kc.cert.not_after()) << ")\n";
  }
  return kExitOk;
}

int cmd_init(const std::string& dir, Output& out) {
  std::vector<std::string> stems = {"root"};
  for (auto k : kCaKinds) stems.push_back(ca_stem(k));
  std::vector<std::string> paths;
  for (const auto& s : stems) {
    paths.push_back(key_path(dir, s));
    paths.push_back(cert_path(dir, s));
  }
  if (auto f = refuse_existing(paths)) return fail(out, *f);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return fail(out, {kExitIo, "io", "cannot create " + dir + ": " + ec.message()});

  auto root = pki::create_root();
  if (!root) return fail(out, from_pki(root.error()));
  std::vector<std::pair<std::string, pki::KeyAndCert>> all;
  for (auto k : kCaKinds) {
    auto ca = pki::create_ca(root->key, root->cert, k);
    if (!ca) return fail(out, from_pki(ca.error()));
    all.emplace_back(ca_stem(k), std::move(*ca));
  }
  all.emplace(all.begin(), "root", std::move(*root));
  return save_authorities(dir, all, out);
}

// ------------------------------------------------------------ init-jpki

int cmd_init_jpki(const std::string& dir, Output& out) {
  std::vector<std::string> paths;
  for (auto k : kJpkiKinds) {
    paths.push_back(key_path(dir, jpki_stem(k)));
    paths.push_back(cert_path(dir, jpki_stem(k)));
  }
  if (auto f = refuse_existing(paths)) return fail(out, *f);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return fail(out, {kExitIo, "io", "cannot create " + dir + ": " + ec.message()});

  std::vector<std::pair<std::string, pki::KeyAndCert>> all;
  for (auto k : kJpkiKinds) {
    auto ca = pki::create_jpki_ca(k);
    if (!ca) return fail(out, from_pki(ca.error()));
    all.emplace_back(jpki_stem(k), std::move(*ca));
  }
  return save_authorities(dir, all, out);
}

// ------------------------------------------------------------ issue

struct IssueArgs {
  std::string dir, ca, subject, out;
  std::optional<std::string> role, municipality, application, pubkey, token_key, rsa_modulus,
      rsa_exponent;
  int days = 0;
};

std::int64_t now() {
  return static_cast<std::int64_t>(std::time(nullptr));
}

// Records the certificate in its CA's index (specs/pki.md "Revocation"), then
// writes it (and the fresh key, if any) and the result. Recording comes first:
// every certificate a CA signed and handed out is in its index, and a failed
// write leaves at worst a record of one nobody received.
int write_issued(const IssueArgs& a, const std::string& ca_stem, const pki::Certificate& ca,
                 const pki::Certificate& cert, const std::optional<pki::PrivateKey>& new_key,
                 const std::string& what, Output& out) {
  const std::string key_out = a.out + ".key.pem", cert_out = a.out + ".cert.der";
  if (auto ok = pki::directory::record_issued(a.dir, ca_stem, ca, cert, cert_out, now()); !ok)
    return fail(out, from_pki(ok.error()));
  if (new_key) {
    if (auto ok = new_key->save(key_out); !ok) return fail(out, from_pki(ok.error()));
  }
  if (auto ok = pki::write_new_file(cert_out, cert.der(), 0644); !ok)
    return fail(out, from_pki(ok.error()));
  out.doc = cert_json(cert);
  out.doc["ok"] = true;
  out.doc["cert_file"] = cert_out;
  out.doc["key_file"] = new_key ? json(key_out) : json(nullptr);
  out.doc["index"] = pki::directory::index_path(a.dir, ca_stem);
  out.text << "issued " << cert_out << (new_key ? " and " + key_out : std::string()) << ": "
           << cert.subject() << ", " << what << ", until " << pki::format_time(cert.not_after())
           << "\n";
  return kExitOk;
}

// A JPKI certificate: --pubkey (RSA SubjectPublicKeyInfo DER), --rsa-modulus
// and --rsa-exponent (hex, as the card answers 7F49 { 81 n, 82 e }), or a
// fresh RSA-2048 key.
int cmd_issue_jpki(const IssueArgs& a, pki::JpkiKind kind, Output& out) {
  if (a.role || a.municipality || a.application)
    return fail(out, usage("--role, --municipality and --application are for Juki-net CAs only"));
  if (a.token_key) return fail(out, usage("--token-key is for the Juki-net CAs only"));
  if (a.pubkey && (a.rsa_modulus || a.rsa_exponent))
    return fail(out, usage("--pubkey or --rsa-modulus/--rsa-exponent, not both"));
  if (a.rsa_modulus.has_value() != a.rsa_exponent.has_value())
    return fail(out, usage("--rsa-modulus and --rsa-exponent go together"));
  std::optional<Bytes> n, e;
  if (a.rsa_modulus) {
    n = from_hex(*a.rsa_modulus);
    e = from_hex(*a.rsa_exponent);
    if (!n || !e) return fail(out, usage("--rsa-modulus and --rsa-exponent must be hex"));
  }
  if (a.days < 0) return fail(out, usage("--days must be positive"));
  const bool given = a.pubkey || n;
  std::vector<std::string> outputs = {a.out + ".cert.der"};
  if (!given) outputs.push_back(a.out + ".key.pem");
  if (auto f = refuse_existing(outputs)) return fail(out, *f);

  auto ca_key = pki::PrivateKey::load(key_path(a.dir, jpki_stem(kind)), pki::KeyAlgorithm::rsa2048);
  if (!ca_key) return fail(out, from_pki(ca_key.error()));
  auto ca_cert = pki::Certificate::load(cert_path(a.dir, jpki_stem(kind)));
  if (!ca_cert) return fail(out, from_pki(ca_cert.error()));

  std::optional<pki::PrivateKey> new_key;
  std::optional<pki::PublicKey> subject_key;
  if (a.pubkey) {
    auto der = pki::read_file(*a.pubkey);
    if (!der) return fail(out, from_pki(der.error()));
    auto pub = pki::PublicKey::from_der(*der, pki::KeyAlgorithm::rsa2048);
    if (!pub)
      return fail(out, from_pki({pub.error().kind, *a.pubkey + ": " + pub.error().message}));
    subject_key = std::move(*pub);
  } else if (n) {
    auto pub = pki::PublicKey::from_rsa(*n, *e);
    if (!pub) return fail(out, from_pki(pub.error()));
    subject_key = std::move(*pub);
  } else {
    auto key = pki::PrivateKey::generate(pki::KeyAlgorithm::rsa2048);
    if (!key) return fail(out, from_pki(key.error()));
    subject_key = key->public_key();
    new_key = std::move(*key);
  }
  pki::JpkiLeafRequest req{kind, a.subject, a.days, std::nullopt};
  const pki::Certificate ca = *ca_cert;
  auto cert = pki::issue_jpki({std::move(*ca_key), std::move(*ca_cert)}, req, *subject_key);
  if (!cert) return fail(out, from_pki(cert.error()));
  return write_issued(a, jpki_stem(kind), ca, *cert, new_key,
                      "JPKI " + std::string(pki::jpki_kind_name(kind)), out);
}

int cmd_issue(const IssueArgs& a, Output& out) {
  if (auto jpki = pki::jpki_ca_from_name(a.ca)) return cmd_issue_jpki(a, *jpki, out);
  auto kind = pki::ca_kind_from_name(a.ca);
  if (!kind) return fail(out, usage("--ca must be terminal, card, server, jpki-auth or jpki-sign"));
  if (!a.role) return fail(out, usage("--role is required with a Juki-net CA"));
  if (a.rsa_modulus || a.rsa_exponent)
    return fail(out, usage("--rsa-modulus and --rsa-exponent are for the JPKI CAs only"));
  const std::string& role_text = *a.role;
  auto role = pki::role_from_name(role_text);
  if (!role)
    return fail(out, usage("unknown role '" + role_text +
                           "' (window, issuance, password-reset, municipal-app, app-authority, "
                           "cs, prefecture, national, card)"));
  pki::LeafRequest req;
  req.authorization.role = *role;
  req.authorization.municipality = a.municipality;
  if (a.application) {
    auto aid = from_hex(*a.application);
    if (!aid) return fail(out, usage("--application must be hex"));
    req.authorization.application = std::move(*aid);
  }
  req.common_name = a.subject;
  req.days = a.days;
  if (a.days < 0) return fail(out, usage("--days must be positive"));

  const std::string key_out = a.out + ".key.pem", cert_out = a.out + ".cert.der";
  if (a.pubkey && a.token_key) return fail(out, usage("give --pubkey or --token-key, not both"));
  std::vector<std::string> outputs = {cert_out};
  if (!a.pubkey && !a.token_key) outputs.push_back(key_out);
  if (auto f = refuse_existing(outputs)) return fail(out, *f);

  auto ca_key = pki::PrivateKey::load(key_path(a.dir, ca_stem(*kind)));
  if (!ca_key) return fail(out, from_pki(ca_key.error()));
  auto ca_cert = pki::Certificate::load(cert_path(a.dir, ca_stem(*kind)));
  if (!ca_cert) return fail(out, from_pki(ca_cert.error()));

  const std::string what = "role " + role_text;
  if (a.pubkey || a.token_key) {
    std::optional<pki::PublicKey> pub;
    if (a.token_key) {
      auto ref = pki::parse_pkcs11_uri(*a.token_key);
      if (!ref)
        return fail(out, from_pki({ref.error().kind, "--token-key: " + ref.error().message}));
      // A PIN on the command line is visible to every user of the machine.
      if (ref->pin_file.empty())
        return fail(out, usage("--token-key: give the PIN in a file (pin-source=file:PATH), not "
                               "pin-value"));
      auto key = pki::PrivateKey::from_token(*ref);
      if (!key)
        return fail(out, from_pki({key.error().kind, "--token-key: " + key.error().message}));
      pub = key->public_key();
    } else {
      auto der = pki::read_file(*a.pubkey);
      if (!der) return fail(out, from_pki(der.error()));
      auto read = pki::PublicKey::from_der(*der);
      if (!read)
        return fail(out, from_pki({read.error().kind, *a.pubkey + ": " + read.error().message}));
      pub = std::move(*read);
    }
    auto cert = pki::issue(*ca_key, *ca_cert, req, *pub);
    if (!cert) return fail(out, from_pki(cert.error()));
    return write_issued(a, ca_stem(*kind), *ca_cert, *cert, std::nullopt, what, out);
  }
  const pki::Certificate ca = *ca_cert;
  auto leaf = pki::issue_new_key({std::move(*ca_key), std::move(*ca_cert)}, req);
  if (!leaf) return fail(out, from_pki(leaf.error()));
  return write_issued(a, ca_stem(*kind), ca, leaf->cert, leaf->key, what, out);
}

// ------------------------------------------------------------ show

int cmd_show(const std::string& path, Output& out) {
  auto cert = pki::Certificate::load(path);
  if (!cert) return fail(out, from_pki(cert.error()));
  json j = cert_json(*cert);
  out.doc = j;
  out.doc["ok"] = true;
  out.text << "subject:      " << j["subject"].get<std::string>() << "\n"
           << "issuer:       " << j["issuer"].get<std::string>() << "\n"
           << "serial:       " << j["serial"].get<std::string>() << "\n"
           << "not before:   " << j["not_before"].get<std::string>() << "\n"
           << "not after:    " << j["not_after"].get<std::string>() << "\n"
           << "CA:           " << (cert->is_ca() ? "yes" : "no") << "\n"
           << "algorithm:    " << j["algorithm"].get<std::string>() << "\n";
  if (!j["jpki_kind"].is_null())
    out.text << "JPKI:         " << j["jpki_kind"].get<std::string>() << "\n";
  if (!j["role"].is_null())
    out.text << "role:         " << j["role"].get<std::string>() << " ("
             << j["role_code"].get<int>() << ")\n";
  else if (j["jpki_kind"].is_null())
    out.text << "role:         none (no authorization extension)\n";
  if (!j["municipality"].is_null())
    out.text << "municipality: " << j["municipality"].get<std::string>() << "\n";
  if (!j["application"].is_null())
    out.text << "application:  " << j["application"].get<std::string>() << "\n";
  if (j.contains("authorization_error"))
    out.text << "authorization extension malformed: " << j["authorization_error"].get<std::string>()
             << "\n";
  return kExitOk;
}

// ------------------------------------------------------------ verify

// After the chain verified: the leaf against its CA's CRL in DIR, if there is
// one (specs/pki.md "Revocation", verify). Adds "revocation", "crl" and
// "warnings" to the result, or fails: revoked, bad_crl (a CRL in DIR that is
// not its CA's, signed, well-formed, is not ignored: fail closed).
int check_crl(const std::string& dir, const std::string& stem, const pki::Certificate& ca,
              const pki::Certificate& cert, std::int64_t at, Output& out) {
  const std::string path = pki::directory::crl_path(dir, stem);
  out.doc["warnings"] = json::array();
  std::error_code ec;
  if (fs::symlink_status(path, ec).type() == fs::file_type::not_found) {
    out.doc["revocation"] = "no_crl";
    out.doc["crl"] = nullptr;
    return kExitOk;
  }
  auto der = pki::read_file(path);
  if (!der) return fail(out, from_pki(der.error()));
  auto ok = pki::check_revocation(ca, *der, cert, at);
  if (ok) {
    out.doc["revocation"] = "good";
    out.doc["crl"] = path;
    out.text << "  not revoked (" << path << ")\n";
    return kExitOk;
  }
  const pki::PkiError& e = ok.error();
  if (e.kind == pki::PkiErrorKind::crl_expired) {
    const std::string warning = e.message + ": revocation not checked";
    out.doc["revocation"] = "crl_expired";
    out.doc["crl"] = path;
    out.doc["warnings"].push_back(warning);
    out.text << "  warning: " << warning << " (" << path << ")\n";
    return kExitOk;
  }
  const int code = fail(out, from_pki({e.kind, path + ": " + e.message}));
  if (e.kind == pki::PkiErrorKind::revoked) {
    // The entry, for a caller that wants the date and reason as data.
    if (auto crl = pki::read_crl(ca, *der)) {
      if (const auto* r = crl->find(cert.serial_hex())) {
        out.doc["error"]["serial"] = r->serial;
        out.doc["error"]["revoked_at"] = pki::format_time(r->revoked_at);
        out.doc["error"]["reason"] = std::string(pki::revocation_reason_name(r->reason));
        out.doc["error"]["crl_number"] = crl->number;
      }
    }
  }
  return code;
}

int verify_jpki(const std::string& dir, const std::string& path, const pki::Certificate& cert,
                std::int64_t at, Output& out) {
  auto ok_doc = [&](pki::JpkiKind kind) {
    const std::string ca(pki::jpki_ca_name(kind)), name(pki::jpki_kind_name(kind));
    out.doc = {{"ok", true},
               {"valid", true},
               {"role", nullptr},
               {"jpki_kind", name},
               {"ca", ca},
               {"at", pki::format_time(at)},
               {"subject", cert.subject()},
               {"revocation", nullptr},  // a CA's own certificate; check_crl sets it for a leaf
               {"crl", nullptr},
               {"warnings", json::array()}};
    out.text << path << ": valid at " << pki::format_time(at) << " (JPKI " << name
             << (cert.is_ca() ? " CA" : " certificate") << ", " << ca << " CA)\n";
  };
  // Try each JPKI CA of the directory; report the failure of the CA that issued it.
  std::optional<pki::PkiError> best;
  bool any = false;
  for (auto k : kJpkiKinds) {
    auto ca = pki::Certificate::load(cert_path(dir, jpki_stem(k)));
    if (!ca) continue;
    any = true;
    if (ca->der() == cert.der()) {
      auto v = pki::verify_jpki_ca(*ca, at);
      if (!v) return fail(out, from_pki(v.error()));
      ok_doc(*v);
      return kExitOk;
    }
    auto v = pki::verify_jpki(*ca, cert, at);
    if (v) {
      ok_doc(*v);
      return check_crl(dir, jpki_stem(k), *ca, cert, at, out);
    }
    if (!best || (best->kind == pki::PkiErrorKind::unknown_issuer &&
                  v.error().kind != pki::PkiErrorKind::unknown_issuer))
      best = v.error();
  }
  if (!any)
    return fail(out,
                {kExitIo, "io", "no JPKI CA certificate in " + dir + " (juki-pki init-jpki DIR)"});
  return fail(out, from_pki(*best));
}

int cmd_verify(const std::string& dir, const std::string& path, std::optional<std::string> at_text,
               Output& out) {
  std::int64_t at = static_cast<std::int64_t>(std::time(nullptr));
  if (at_text) {
    auto t = pki::parse_time(*at_text);
    if (!t) return fail(out, usage("--at must be YYYYMMDDhhmmssZ"));
    at = *t;
  }
  auto cert = pki::Certificate::load(path);
  if (!cert) return fail(out, from_pki(cert.error()));
  // A JPKI certificate (its policy, or an RSA key) verifies against DIR's JPKI CAs.
  if (cert->jpki_kind() || cert->public_key().algorithm() == pki::KeyAlgorithm::rsa2048)
    return verify_jpki(dir, path, *cert, at, out);
  auto root = pki::Certificate::load(cert_path(dir, "root"));
  if (!root) return fail(out, from_pki(root.error()));

  auto ok_doc = [&](const std::string& role, const std::string& ca) {
    out.doc = {{"ok", true},
               {"valid", true},
               {"role", role},
               {"ca", ca},
               {"at", pki::format_time(at)},
               {"subject", cert->subject()},
               {"revocation", nullptr},  // a CA or the root; check_crl sets it for a leaf
               {"crl", nullptr},
               {"warnings", json::array()}};
    out.text << path << ": valid at " << pki::format_time(at) << " (role " << role << ", " << ca
             << " CA)\n";
  };
  if (cert->der() == root->der()) {
    if (auto ok = pki::verify_root(*root, at); !ok) return fail(out, from_pki(ok.error()));
    ok_doc("root", "none");
    return kExitOk;
  }
  if (cert->is_ca()) {
    auto kind = pki::verify_ca(*root, *cert, at);
    if (!kind) return fail(out, from_pki(kind.error()));
    ok_doc(std::string(pki::role_name(pki::ca_role(*kind))), std::string(pki::ca_kind_name(*kind)));
    return kExitOk;
  }
  // Try each CA of the directory; report the failure of the CA that issued it.
  std::optional<pki::PkiError> best;
  for (auto k : kCaKinds) {
    auto ca = pki::Certificate::load(cert_path(dir, ca_stem(k)));
    if (!ca) continue;
    auto v = pki::verify_chain(*root, *ca, *cert, at);
    if (v) {
      ok_doc(std::string(pki::role_name(v->authorization.role)),
             std::string(pki::ca_kind_name(v->ca)));
      return check_crl(dir, ca_stem(k), *ca, *cert, at, out);
    }
    if (!best || (best->kind == pki::PkiErrorKind::unknown_issuer &&
                  v.error().kind != pki::PkiErrorKind::unknown_issuer))
      best = v.error();
  }
  if (!best) return fail(out, {kExitIo, "io", "no CA certificate in " + dir});
  return fail(out, from_pki(*best));
}

// ------------------------------------------------------------ revoke

int cmd_revoke(const std::string& dir, const std::string& path, const std::string& reason_text,
               const std::optional<std::string>& at_text, Output& out) {
  const auto reason = pki::revocation_reason_from_name(reason_text);
  if (!reason || !pki::revocation_reason_allowed(*reason))
    return fail(out, usage("--reason must be keyCompromise, cessationOfOperation, superseded, "
                           "affiliationChanged or unspecified"));
  const std::int64_t t = now();
  std::int64_t at = t;
  if (at_text) {
    auto parsed = pki::parse_time(*at_text);
    if (!parsed) return fail(out, usage("--at must be YYYYMMDDhhmmssZ"));
    at = *parsed;
  }
  auto cert = pki::Certificate::load(path);
  if (!cert) return fail(out, from_pki(cert.error()));
  auto r = pki::directory::revoke(dir, *cert, path, *reason, at, t);
  if (!r) return fail(out, from_pki(r.error()));
  const std::string when = pki::format_time(r->entry.revocation->at);
  const std::string why(pki::revocation_reason_name(r->entry.revocation->reason));
  out.doc = {{"ok", true},
             {"ca", r->authority.name},
             {"serial", r->entry.serial},
             {"subject", r->entry.subject},
             {"revoked_at", when},
             {"reason", why},
             {"recorded_by", r->entry.recorded_by},
             {"index", pki::directory::index_path(dir, r->authority.stem)}};
  out.text << "revoked serial " << r->entry.serial << " (" << r->entry.subject << ") of the "
           << r->authority.name << " CA at " << when << ", reason " << why << "\n"
           << "publish it: juki-pki crl " << dir << " --ca " << r->authority.name << "\n";
  return kExitOk;
}

// ------------------------------------------------------------ crl

int cmd_crl(const std::string& dir, const std::string& ca_name, int days,
            const std::optional<std::string>& out_path, Output& out) {
  const auto authority = pki::directory::authority_from_name(ca_name);
  if (!authority)
    return fail(out, usage("--ca must be card, terminal, server, jpki-auth or jpki-sign"));
  if (days < 1 || days > pki::kCrlMaxDays)
    return fail(out, usage("--days must be 1 to " + std::to_string(pki::kCrlMaxDays)));
  auto published = pki::directory::publish_crl(dir, *authority, days, out_path, now());
  if (!published) return fail(out, from_pki(published.error()));
  const pki::Crl& crl = published->crl;
  json revoked = json::array();
  for (const auto& r : crl.revoked)
    revoked.push_back({{"serial", r.serial},
                       {"revoked_at", pki::format_time(r.revoked_at)},
                       {"reason", std::string(pki::revocation_reason_name(r.reason))}});
  out.doc = {{"ok", true},
             {"ca", authority->name},
             {"crl_file", published->path},
             {"number", crl.number},
             {"this_update", pki::format_time(crl.this_update)},
             {"next_update", pki::format_time(crl.next_update)},
             {"revoked", revoked}};
  out.text << "published " << published->path << ": CRL number " << crl.number << " of the "
           << authority->name << " CA, " << crl.revoked.size() << " revoked, next update "
           << pki::format_time(crl.next_update) << "\n";
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "The Juki-net PKI (specs/pki.md): a root, the card, terminal and server CAs, and the "
      "certificates they issue; and the JPKI authentication and signature CAs (init-jpki); "
      "revocation (revoke, crl).\n"
      "Exit status: 0 ok, 1 refused or verification failed, 2 usage, 3 I/O.",
      "juki-pki"};
  app.require_subcommand(1);
  app.fallthrough();
  bool as_json = false;
  app.add_flag("--json", as_json, "Print one JSON document on stdout");

  auto* init = app.add_subcommand(
      "init", "Create a root and the card, terminal and server CAs in DIR (never overwrites)");
  std::string dir;
  init->add_option("DIR", dir, "Directory for root.*, card-ca.*, terminal-ca.*, server-ca.*")
      ->required();

  auto* init_jpki = app.add_subcommand(
      "init-jpki",
      "Create the JPKI authentication and signature CAs (RSA-2048, self-signed) in DIR "
      "(never overwrites; DIR may hold a Juki-net PKI)");
  init_jpki->add_option("DIR", dir, "Directory for jpki-auth-ca.*, jpki-sign-ca.*")->required();

  auto* issue = app.add_subcommand("issue", "Issue a leaf certificate from one of DIR's CAs");
  IssueArgs ia;
  issue->add_option("DIR", ia.dir, "The PKI directory (made by init / init-jpki)")->required();
  issue
      ->add_option("--ca", ia.ca,
                   "The issuing CA: terminal, card or server (Juki-net); jpki-auth or jpki-sign")
      ->required();
  issue->add_option(
      "--role", ia.role,
      "window, issuance, password-reset, municipal-app, app-authority, cs, "
      "prefecture, national, resident-system or card (Juki-net CAs only, required there)");
  issue->add_option("--municipality", ia.municipality,
                    "Local government code, 6 digits with the check digit");
  issue->add_option("--application", ia.application, "AID (hex, 5 to 16 bytes), municipal-app");
  issue->add_option("--subject", ia.subject, "The subject's common name (CN)")->required();
  issue->add_option("--days", ia.days,
                    "Validity in days (default 825; 3650 for cards; 1826 for JPKI)");
  issue
      ->add_option("--out", ia.out,
                   "Write PREFIX.cert.der (and PREFIX.key.pem); the certificate is recorded in "
                   "DIR/<ca>-ca.issued.json")
      ->required();
  issue->add_option("--pubkey", ia.pubkey,
                    "Certify this public key (SubjectPublicKeyInfo DER: P-256, or RSA-2048 for "
                    "JPKI) instead of making one");
  issue->add_option("--token-key", ia.token_key,
                    "Certify the P-256 key in a PKCS#11 token that this RFC 7512 URI names "
                    "(pkcs11:token=T;object=K?pin-source=file:PIN), e.g. a server's signing key");
  issue->add_option("--rsa-modulus", ia.rsa_modulus,
                    "JPKI: certify the RSA-2048 key with this modulus n (hex)");
  issue->add_option("--rsa-exponent", ia.rsa_exponent,
                    "JPKI: ... and this public exponent e (hex, e.g. 010001)");

  auto* show = app.add_subcommand("show", "Show a certificate (DER)");
  std::string cert_file;
  show->add_option("CERT", cert_file, "Certificate file (DER)")->required();

  auto* verify = app.add_subcommand(
      "verify",
      "Verify a certificate against DIR's root and CAs, or a JPKI one against DIR's JPKI CAs, "
      "and against its CA's CRL in DIR if there is one (exit 1 when it fails or is revoked)");
  std::optional<std::string> at;
  verify->add_option("DIR", dir, "The PKI directory")->required();
  verify->add_option("CERT", cert_file, "Certificate file (DER)")->required();
  verify->add_option("--at", at, "Verify at this time, YYYYMMDDhhmmssZ (default: now)");

  auto* revoke = app.add_subcommand(
      "revoke",
      "Mark a leaf certificate revoked in the index of the CA of DIR that issued it (a CA "
      "certificate or the root cannot be revoked); publish it with crl");
  std::string reason = "unspecified";
  revoke->add_option("DIR", dir, "The PKI directory")->required();
  revoke->add_option("CERT", cert_file, "The certificate to revoke (DER)")->required();
  revoke
      ->add_option("--reason", reason,
                   "keyCompromise, cessationOfOperation, superseded, affiliationChanged or "
                   "unspecified (the default)")
      ->capture_default_str();
  revoke->add_option("--at", at,
                     "The revocation date, YYYYMMDDhhmmssZ, not in the future (default: now)");

  auto* crl = app.add_subcommand(
      "crl", "Publish a CRL (X.509 v2, DER) of one of DIR's CAs with every serial it revoked");
  std::string crl_ca;
  int crl_days = pki::kCrlDays;
  std::optional<std::string> crl_out;
  crl->add_option("DIR", dir, "The PKI directory")->required();
  crl->add_option("--ca", crl_ca, "card, terminal, server, jpki-auth or jpki-sign")->required();
  crl->add_option("--days", crl_days, "nextUpdate is thisUpdate (now) plus this many days, 1..366")
      ->capture_default_str();
  crl->add_option("--out", crl_out,
                  "Write the CRL here (default DIR/<ca>-ca.crl.der, the one verify reads); "
                  "replaced atomically");

  if (auto status = host::cli::parse_command_line(app, argc, argv)) return *status;

  Output out("juki-pki");
  int code = kExitUsage;
  if (init->parsed())
    code = cmd_init(dir, out);
  else if (init_jpki->parsed())
    code = cmd_init_jpki(dir, out);
  else if (issue->parsed())
    code = cmd_issue(ia, out);
  else if (show->parsed())
    code = cmd_show(cert_file, out);
  else if (verify->parsed())
    code = cmd_verify(dir, cert_file, at, out);
  else if (revoke->parsed())
    code = cmd_revoke(dir, cert_file, reason, at, out);
  else if (crl->parsed())
    code = cmd_crl(dir, crl_ca, crl_days, crl_out, out);
  return host::cli::finish(out, as_json, code);
}
