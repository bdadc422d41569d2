#include "pki/directory.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include <nlohmann/json.hpp>

namespace juki::pki::directory {

std::string ca_stem(CaKind kind) {
  return std::string(ca_kind_name(kind)) + "-ca";
}
std::string jpki_stem(JpkiKind kind) {
  return std::string(jpki_ca_name(kind)) + "-ca";
}

std::string key_path(const std::string& dir, std::string_view stem) {
  return (std::filesystem::path(dir) / (std::string(stem) + ".key.pem")).string();
}
std::string cert_path(const std::string& dir, std::string_view stem) {
  return (std::filesystem::path(dir) / (std::string(stem) + ".cert.der")).string();
}

Result<Certificate, PkiError> load_certificate(const std::string& dir, std::string_view stem) {
  return Certificate::load(cert_path(dir, stem));
}

Result<KeyAndCert, PkiError> load_authority(const std::string& dir, std::string_view stem,
                                            KeyAlgorithm algorithm) {
  auto key = PrivateKey::load(key_path(dir, stem), algorithm);
  if (!key) return unexpected(key.error());
  auto cert = load_certificate(dir, stem);
  if (!cert) return unexpected(cert.error());
  return KeyAndCert{std::move(*key), std::move(*cert)};
}

Result<KeyAndCert, PkiError> load_ca(const std::string& dir, CaKind kind) {
  return load_authority(dir, ca_stem(kind));
}
Result<KeyAndCert, PkiError> load_jpki_ca(const std::string& dir, JpkiKind kind) {
  return load_authority(dir, jpki_stem(kind), KeyAlgorithm::rsa2048);
}

Result<void, PkiError> save_authority(const std::string& dir, std::string_view stem,
                                      const KeyAndCert& authority) {
  if (auto ok = authority.key.save(key_path(dir, stem)); !ok) return ok;
  return write_new_file(cert_path(dir, stem), authority.cert.der(), 0644);
}

}  // namespace juki::pki::directory

// ------------------------------------------------------------ issuing authorities, the index

namespace juki::pki::directory {

namespace {

namespace fs = std::filesystem;
// ordered: the index reads in the order of specs/pki.md, not alphabetically.
using json = nlohmann::ordered_json;

Unexpected<PkiError> fail(PkiErrorKind kind, std::string message) {
  return unexpected(PkiError{kind, std::move(message)});
}

// An exclusive flock on the directory itself, so that two juki-pki processes
// never interleave the read-modify-write of an index (a temp file and rename
// alone would lose one of two concurrent updates).
class DirLock {
 public:
  static Result<DirLock, PkiError> take(const std::string& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return fail(PkiErrorKind::io, "cannot open " + dir + ": " + std::strerror(errno));
    while (::flock(fd, LOCK_EX) != 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      ::close(fd);
      return fail(PkiErrorKind::io, "cannot lock " + dir + ": " + std::strerror(e));
    }
    return DirLock(fd);
  }
  DirLock(DirLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  DirLock& operator=(DirLock&&) = delete;
  DirLock(const DirLock&) = delete;
  ~DirLock() {
    if (fd_ >= 0) ::close(fd_);  // releases the lock
  }

 private:
  explicit DirLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

json entry_json(const IssuedEntry& e) {
  json j = {{"serial", e.serial},
            {"subject", e.subject},
            {"role", e.role ? json(*e.role) : json(nullptr)},
            {"jpki_kind", e.jpki_kind ? json(*e.jpki_kind) : json(nullptr)},
            {"not_after", format_time(e.not_after)},
            {"path", e.path},
            {"recorded_at", format_time(e.recorded_at)},
            {"recorded_by", e.recorded_by},
            {"revoked", nullptr}};
  if (e.revocation)
    j["revoked"] = {{"at", format_time(e.revocation->at)},
                    {"reason", std::string(revocation_reason_name(e.revocation->reason))}};
  return j;
}

// The parts of an index file, strictly: every field present with its type.
struct BadIndex {
  std::string why;
};

std::int64_t time_field(const json& j, const char* name) {
  auto t = parse_time(j.at(name).get<std::string>());
  if (!t) throw BadIndex{std::string(name) + " is not YYYYMMDDhhmmssZ"};
  return *t;
}

std::optional<std::string> optional_string(const json& j, const char* name) {
  const json& v = j.at(name);
  if (v.is_null()) return std::nullopt;
  return v.get<std::string>();
}

IssuedEntry entry_from_json(const json& j) {
  IssuedEntry e;
  e.serial = j.at("serial").get<std::string>();
  if (!from_hex(e.serial) || e.serial.empty() || e.serial != to_hex(*from_hex(e.serial)))
    throw BadIndex{"serial '" + e.serial + "' is not uppercase hex"};
  e.subject = j.at("subject").get<std::string>();
  e.role = optional_string(j, "role");
  e.jpki_kind = optional_string(j, "jpki_kind");
  e.not_after = time_field(j, "not_after");
  e.path = j.at("path").get<std::string>();
  e.recorded_at = time_field(j, "recorded_at");
  e.recorded_by = j.at("recorded_by").get<std::string>();
  const json& r = j.at("revoked");
  if (!r.is_null()) {
    auto reason = revocation_reason_from_name(r.at("reason").get<std::string>());
    if (!reason) throw BadIndex{"unknown reason " + r.at("reason").dump()};
    e.revocation = Revocation{time_field(r, "at"), *reason};
  }
  return e;
}

Result<void, PkiError> save_index(const std::string& dir, const Index& index) {
  json j = {{"format", std::string(kIndexFormat)},
            {"ca", index.ca},
            {"ca_serial", index.ca_serial},
            {"crl_number", index.crl_number},
            {"certificates", json::array()}};
  for (const auto& e : index.certificates) j["certificates"].push_back(entry_json(e));
  const std::string text = j.dump(2) + "\n";
  return replace_file(index_path(dir, index.ca), as_bytes(text), 0644);
}

IssuedEntry entry_for(const Certificate& cert, const std::string& path, std::int64_t now,
                      std::string recorded_by) {
  IssuedEntry e;
  e.serial = cert.serial_hex();
  e.subject = cert.subject();
  if (auto auth = cert.authorization(); auth && *auth)
    e.role = std::string(role_name((*auth)->role));
  if (auto kind = cert.jpki_kind()) e.jpki_kind = std::string(jpki_kind_name(*kind));
  e.not_after = cert.not_after();
  std::error_code ec;
  const fs::path absolute = fs::absolute(path, ec);
  e.path = ec ? path : absolute.lexically_normal().string();
  e.recorded_at = now;
  e.recorded_by = std::move(recorded_by);
  return e;
}

}  // namespace

const std::vector<Authority>& authorities() {
  static const std::vector<Authority> all = [] {
    std::vector<Authority> v;
    for (CaKind k : {CaKind::card, CaKind::terminal, CaKind::server})
      v.push_back({std::string(ca_kind_name(k)), ca_stem(k), KeyAlgorithm::p256});
    for (JpkiKind k : {JpkiKind::auth, JpkiKind::sign})
      v.push_back({std::string(jpki_ca_name(k)), jpki_stem(k), KeyAlgorithm::rsa2048});
    return v;
  }();
  return all;
}

std::optional<Authority> authority_from_name(std::string_view name) {
  for (const auto& a : authorities())
    if (a.name == name) return a;
  return std::nullopt;
}

Result<KeyAndCert, PkiError> load_ca(const std::string& dir, const Authority& authority) {
  return load_authority(dir, authority.stem, authority.algorithm);
}

std::string index_path(const std::string& dir, std::string_view stem) {
  return (fs::path(dir) / (std::string(stem) + ".issued.json")).string();
}
std::string crl_path(const std::string& dir, std::string_view stem) {
  return (fs::path(dir) / (std::string(stem) + ".crl.der")).string();
}

IssuedEntry* Index::find(std::string_view serial) {
  for (auto& e : certificates)
    if (e.serial == serial) return &e;
  return nullptr;
}
const IssuedEntry* Index::find(std::string_view serial) const {
  return const_cast<Index*>(this)->find(serial);
}

Result<Index, PkiError> parse_index(ByteView bytes, std::string_view stem, const Certificate& ca,
                                    const std::string& where) {
  const json j = json::parse(bytes.begin(), bytes.end(), nullptr, false);
  if (j.is_discarded()) return fail(PkiErrorKind::malformed, where + " is not JSON");
  try {
    if (!j.is_object() || j.at("format") != kIndexFormat)
      throw BadIndex{"not a juki-pki index (format \"" + std::string(kIndexFormat) + "\")"};
    Index index;
    index.ca = j.at("ca").get<std::string>();
    index.ca_serial = j.at("ca_serial").get<std::string>();
    index.crl_number = j.at("crl_number").get<std::int64_t>();
    if (index.ca != stem) throw BadIndex{"it is the index of " + index.ca};
    if (index.ca_serial != ca.serial_hex())
      throw BadIndex{"it belongs to another " + index.ca + " certificate (serial " +
                     index.ca_serial + ")"};
    if (index.crl_number < 0) throw BadIndex{"negative crl_number"};
    for (const json& e : j.at("certificates")) index.certificates.push_back(entry_from_json(e));
    return index;
  } catch (const BadIndex& e) {
    return fail(PkiErrorKind::malformed, where + ": " + e.why);
  } catch (const json::exception& e) {
    return fail(PkiErrorKind::malformed, where + ": " + e.what());
  }
}

Result<Index, PkiError> load_index(const std::string& dir, std::string_view stem,
                                   const Certificate& ca) {
  const std::string path = index_path(dir, stem);
  std::error_code ec;
  if (fs::symlink_status(path, ec).type() == fs::file_type::not_found)
    return Index{std::string(stem), ca.serial_hex(), 0, {}};
  auto bytes = read_file(path);
  if (!bytes) return unexpected(bytes.error());
  return parse_index(*bytes, stem, ca, path);
}

Result<IssuedEntry, PkiError> record_issued(const std::string& dir, std::string_view stem,
                                            const Certificate& ca, const Certificate& cert,
                                            const std::string& path, std::int64_t now) {
  auto lock = DirLock::take(dir);
  if (!lock) return unexpected(lock.error());
  auto index = load_index(dir, stem, ca);
  if (!index) return unexpected(index.error());
  if (index->find(cert.serial_hex()))
    return fail(PkiErrorKind::refused,
                "serial " + cert.serial_hex() + " is in " + index_path(dir, stem) + " already");
  index->certificates.push_back(entry_for(cert, path, now, "issue"));
  if (auto ok = save_index(dir, *index); !ok) return unexpected(ok.error());
  return index->certificates.back();
}

Result<Revoked, PkiError> revoke(const std::string& dir, const Certificate& cert,
                                 const std::string& path, RevocationReason reason, std::int64_t at,
                                 std::int64_t now) {
  if (cert.is_ca())
    return fail(PkiErrorKind::refused,
                "this is a CA certificate (or a root): revoking a CA is out of scope here; a "
                "compromised CA means a new PKI (juki-pki init) and new certificates");
  if (!revocation_reason_allowed(reason))
    return fail(PkiErrorKind::refused,
                "a leaf is not revoked for reason " + std::string(revocation_reason_name(reason)));
  if (at > now)
    return fail(PkiErrorKind::refused,
                "the revocation time " + format_time(at) + " is in the future");
  // The CA that issued it: name, key identifier and signature; the most telling
  // failure otherwise (as verify: a name that matches but a bad signature).
  std::optional<std::pair<Authority, Certificate>> issuer;
  std::optional<PkiError> best;
  for (const Authority& a : authorities()) {
    auto ca = load_certificate(dir, a.stem);
    if (!ca) continue;
    if (auto ok = check_issued(*ca, cert); !ok) {
      if (!best || (best->kind == PkiErrorKind::unknown_issuer &&
                    ok.error().kind != PkiErrorKind::unknown_issuer))
        best = ok.error();
      continue;
    }
    issuer.emplace(a, std::move(*ca));
    break;
  }
  if (!issuer) {
    if (!best) return fail(PkiErrorKind::io, "no CA certificate in " + dir);
    return fail(best->kind, best->message + " (no CA of " + dir + " issued it)");
  }
  const auto& [authority, ca] = *issuer;
  auto lock = DirLock::take(dir);
  if (!lock) return unexpected(lock.error());
  auto index = load_index(dir, authority.stem, ca);
  if (!index) return unexpected(index.error());
  IssuedEntry* entry = index->find(cert.serial_hex());
  if (entry == nullptr) {
    index->certificates.push_back(entry_for(cert, path, now, "revoke"));
    entry = &index->certificates.back();
  }
  if (entry->revocation)
    return fail(PkiErrorKind::already_revoked,
                "serial " + entry->serial + " of the " + authority.name + " CA was revoked at " +
                    format_time(entry->revocation->at) + " already (" +
                    std::string(revocation_reason_name(entry->revocation->reason)) + ")");
  entry->revocation = Revocation{at, reason};
  Revoked out{authority, *entry};
  if (auto ok = save_index(dir, *index); !ok) return unexpected(ok.error());
  return out;
}

Result<PublishedCrl, PkiError> publish_crl(const std::string& dir, const Authority& authority,
                                           int days, std::optional<std::string> out,
                                           std::int64_t now) {
  auto ca = load_ca(dir, authority);
  if (!ca) return unexpected(ca.error());
  auto lock = DirLock::take(dir);
  if (!lock) return unexpected(lock.error());
  auto index = load_index(dir, authority.stem, ca->cert);
  if (!index) return unexpected(index.error());
  CrlRequest request;
  request.number = index->crl_number + 1;
  // Never reuse a number, even when the index was restored from an older copy.
  if (auto last = read_file(crl_path(dir, authority.stem))) {
    if (auto crl = read_crl(ca->cert, *last); crl && crl->number >= request.number)
      request.number = crl->number + 1;
  }
  request.this_update = now;
  request.days = days;
  for (const auto& e : index->certificates)
    if (e.revocation) request.revoked.push_back({e.serial, e.revocation->at, e.revocation->reason});
  auto der = create_crl(*ca, request);
  if (!der) return unexpected(der.error());
  auto crl = read_crl(ca->cert, *der);  // what a relying party will read
  if (!crl) return unexpected(crl.error());
  // The number is spent before the CRL is written: a crash in between leaves
  // a gap in the numbers, never two CRLs with one number.
  index->crl_number = request.number;
  if (auto ok = save_index(dir, *index); !ok) return unexpected(ok.error());
  const std::string path = out.value_or(crl_path(dir, authority.stem));
  if (auto ok = replace_file(path, *der, 0644); !ok) return unexpected(ok.error());
  return PublishedCrl{path, std::move(*der), std::move(*crl)};
}

}  // namespace juki::pki::directory
