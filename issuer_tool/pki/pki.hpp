// The Juki-net PKI (specs/pki.md): keys, the authorization extension, a root,
// the card, terminal and server CAs, leaf certificates and chain verification.
// OpenSSL 3 only (ARCHITECTURE.md: issuer side), never mbedTLS and never
// hand-written cryptography. Errors are values; OpenSSL objects live in
// unique_ptrs with their deleters.
#pragma once

#include <openssl/types.h>

#include <cstdint>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/bytes.hpp"
#include "common/result.hpp"
#include "common/secure_channel.hpp"

namespace juki::pki {

// ------------------------------------------------------------ errors

enum class PkiErrorKind {
  refused,              // the request breaks a rule of specs/pki.md (role, municipality, ...)
  io,                   // a file could not be read, created or written (or exists already)
  key_permissions,      // a private key file readable by group or others
  malformed,            // bytes that are not a key / certificate / extension we accept
  crypto,               // OpenSSL failed where it should not
  unknown_issuer,       // the issuer is not the given CA (name or key identifier differ)
  bad_signature,        // the issuer's key does not verify the signature
  expired,              // after notAfter
  not_yet_valid,        // before notBefore
  not_a_ca,             // an issuer without CA:TRUE / keyCertSign, or a leaf claiming CA:TRUE
  role_not_allowed,     // a role this issuer may not certify, or a wrong role for a CA
  extension_missing,    // no authorization extension where one is required
  extension_malformed,  // an authorization extension that is not valid DER or breaks the rules
};

std::string_view to_string(PkiErrorKind kind);

struct PkiError {
  PkiErrorKind kind = PkiErrorKind::crypto;
  std::string message;
};

// ------------------------------------------------------------ roles

// Stable codes (specs/pki.md "Roles"), shared with the card; the names are the CLI's.
using Role = secure_channel::Role;

enum class CaKind { card, terminal, server };

std::string_view role_name(Role role);
std::optional<Role> role_from_name(std::string_view name);
std::optional<Role> role_from_code(std::int64_t code);
std::string_view ca_kind_name(CaKind kind);  // "card", "terminal", "server"
std::optional<CaKind> ca_kind_from_name(std::string_view name);
// The role carried by a CA's own certificate.
Role ca_role(CaKind kind);
// The CA kind a CA role names (terminal-ca -> terminal), nullopt for leaf roles.
std::optional<CaKind> ca_kind_of_ca_role(Role role);
// The CA that certifies a leaf role, nullopt for CA roles.
std::optional<CaKind> issuing_ca(Role role);
// The role's bit in the card's 16-bit access-rule role set: 1 << (code - 1)
// for codes 1..8, nullopt otherwise.
std::optional<std::uint16_t> access_bit(Role role);
bool requires_municipality(Role role);
bool requires_application(Role role);
bool is_ca_role(Role role);

// Municipality codes (JIS X 0401 / 全国地方公共団体コード): 5 digits and a
// check digit. check_digit("13101") == '6'; nullopt unless 5 ASCII digits.
std::optional<char> municipality_check_digit(std::string_view five_digits);
bool municipality_code_valid(std::string_view six_digits);

// ------------------------------------------------------------ the extension

// 2.25.195880985226904344446585622729610345963, critical.
inline constexpr const char* kAuthorizationOid = "2.25.195880985226904344446585622729610345963";

// JukiAuthorization ::= SEQUENCE {
//   role          INTEGER,
//   municipality  [0] IMPLICIT PrintableString (SIZE (6)) OPTIONAL,
//   application   [1] IMPLICIT OCTET STRING (SIZE (5..16)) OPTIONAL }
struct Authorization {
  Role role = Role::window;
  std::optional<std::string> municipality;
  std::optional<Bytes> application;
  bool operator==(const Authorization&) const = default;
};

// The rules of specs/pki.md for one authorization on its own (municipality
// and application present exactly when the role wants them, check digit,
// application size). Kind refused.
Result<void, PkiError> check_authorization(const Authorization& auth);
// DER of the extension value (the contents of extnValue). Refuses what
// check_authorization refuses.
Result<Bytes, PkiError> encode_authorization(const Authorization& auth);
// Strict: DER only (re-encodes to the same bytes), nothing after it, a known
// role, then check_authorization. Kind extension_malformed.
Result<Authorization, PkiError> decode_authorization(ByteView der);

// ------------------------------------------------------------ keys

struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const;
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

// An ECDSA P-256 public key.
class PublicKey {
 public:
  // SubjectPublicKeyInfo DER; refuses anything but an EC key on prime256v1.
  static Result<PublicKey, PkiError> from_der(ByteView spki);
  // An uncompressed P-256 point (04 || X || Y), as a card answers it.
  static Result<PublicKey, PkiError> from_point(ByteView point);
  Bytes der() const;    // SubjectPublicKeyInfo
  Bytes point() const;  // 65 bytes: 04 || X || Y
  EVP_PKEY* native() const { return key_.get(); }

 private:
  explicit PublicKey(std::shared_ptr<EVP_PKEY> key) : key_(std::move(key)) {}
  friend class PrivateKey;
  friend class Certificate;
  std::shared_ptr<EVP_PKEY> key_;
};

// An ECDSA P-256 key pair.
class PrivateKey {
 public:
  static Result<PrivateKey, PkiError> generate();
  // PEM PKCS#8. Refuses a file group or others may read (key_permissions).
  static Result<PrivateKey, PkiError> load(const std::string& path);
  static Result<PrivateKey, PkiError> from_pem(std::string_view pem);
  // Unencrypted PEM PKCS#8, created with O_CREAT|O_EXCL and mode 0600: never
  // overwrites, never widens permissions.
  Result<void, PkiError> save(const std::string& path) const;
  std::string to_pem() const;
  PublicKey public_key() const;
  EVP_PKEY* native() const { return key_.get(); }

 private:
  explicit PrivateKey(PkeyPtr key) : key_(std::move(key)) {}
  std::shared_ptr<EVP_PKEY> key_;
};

// ------------------------------------------------------------ certificates

struct X509Deleter {
  void operator()(X509* p) const;
};

// "YYYYMMDDhhmmssZ" <-> seconds since the epoch (UTC).
std::optional<std::int64_t> parse_time(std::string_view generalized_time);
std::string format_time(std::int64_t unix_seconds);

class Certificate {
 public:
  static Result<Certificate, PkiError> from_der(ByteView der);
  static Result<Certificate, PkiError> load(const std::string& path);

  Bytes der() const;
  std::string subject() const;  // "O=Juki-net, OU=131016, CN=..."
  std::string issuer() const;
  std::string common_name() const;
  std::string serial_hex() const;
  std::int64_t not_before() const;
  std::int64_t not_after() const;
  bool is_ca() const;  // basicConstraints CA:TRUE
  // nullopt when the certificate has no authorization extension (the root);
  // an error when it has one that is malformed.
  Result<std::optional<Authorization>, PkiError> authorization() const;
  PublicKey public_key() const;
  Bytes public_key_der() const { return public_key().der(); }  // SubjectPublicKeyInfo
  Bytes public_point() const { return public_key().point(); }  // 65 bytes, uncompressed
  X509* native() const { return cert_.get(); }

 private:
  explicit Certificate(std::shared_ptr<X509> cert) : cert_(std::move(cert)) {}
  std::shared_ptr<X509> cert_;
};

// ------------------------------------------------------------ issuing

inline constexpr int kRootDays = 20 * 365 + 5;  // 20 years
inline constexpr int kCaDays = 10 * 365 + 2;    // 10 years
int default_days(Role role);                    // 825 terminals/servers, 3650 cards

inline constexpr const char* kRootName = "Juki-net Root CA";
std::string default_ca_name(CaKind kind);  // "Juki-net Terminal CA", ...

struct KeyAndCert {
  PrivateKey key;
  Certificate cert;
};

// Validity starts at `not_before` (default: now) and lasts `days`.
Result<KeyAndCert, PkiError> create_root(const std::string& common_name = kRootName,
                                         int days = kRootDays,
                                         std::optional<std::int64_t> not_before = {});
Result<KeyAndCert, PkiError> create_ca(const PrivateKey& root_key, const Certificate& root,
                                       CaKind kind, const std::string& common_name = {},
                                       int days = kCaDays,
                                       std::optional<std::int64_t> not_before = {});

struct LeafRequest {
  Authorization authorization;
  std::string common_name;
  int days = 0;  // 0: default_days(role)
  std::optional<std::int64_t> not_before;
};

// Certifies `subject_key` for a leaf role. Refuses (kind refused) a role the
// CA may not certify, a CA role, a bad municipality or application, a CA
// certificate that is not one of ours, days outside 1..36500, an empty CN.
Result<Certificate, PkiError> issue(const PrivateKey& ca_key, const Certificate& ca_cert,
                                    const LeafRequest& request, const PublicKey& subject_key);

// ------------------------------------------------------------ verifying

// Checks root (self-signed, CA), ca (issued by root, a CA with a CA role) and
// leaf (issued by ca, not a CA, a role that CA may certify), each within its
// validity at `at` (unix seconds). Gives the leaf's authorization and the CA
// kind, or the first check that failed.
struct Verified {
  CaKind ca;
  Authorization authorization;
};
Result<Verified, PkiError> verify_chain(const Certificate& root, const Certificate& ca,
                                        const Certificate& leaf, std::int64_t at);
// The root alone: self-signed, a CA, within its validity.
Result<void, PkiError> verify_root(const Certificate& root, std::int64_t at);
// Root and one CA only: gives the CA's kind.
Result<CaKind, PkiError> verify_ca(const Certificate& root, const Certificate& ca, std::int64_t at);

// ------------------------------------------------------------ files

Result<Bytes, PkiError> read_file(const std::string& path);
// Creates `path` (O_CREAT|O_EXCL with `mode`) and writes `data`; kind io if it
// exists already.
Result<void, PkiError> write_new_file(const std::string& path, ByteView data, unsigned mode);

}  // namespace juki::pki
