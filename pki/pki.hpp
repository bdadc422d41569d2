// The Juki-net PKI (specs/pki.md): keys, the authorization extension, a root,
// the card, terminal and server CAs, leaf certificates and chain verification;
// and, apart from it, the JPKI authorities (公的個人認証): an authentication CA
// and a signature CA, RSA-2048 self-signed roots, and the card's RSA leaves.
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
#include <vector>

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
  wrong_algorithm,      // a key or signature algorithm the profile does not allow (RSA in
                        // Juki-net, P-256 in JPKI, ...)
  revoked,              // listed on its CA's CRL, revoked at or before the time asked about
  bad_crl,              // a CRL that is not DER, not of this CA, not signed by its key, or
                        // outside the profile of specs/pki.md "Revocation"
  crl_expired,          // a CRL past its nextUpdate: it cannot vouch that a certificate is good
  already_revoked,      // revoking a serial that the index shows revoked already
  token,                // a PKCS#11 token could not be used: module, token or key not found,
                        // PIN refused, or a key that cannot leave the token asked to
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

// The two key algorithms of the project: ECDSA P-256 for everything Juki-net,
// RSA-2048 for JPKI only. Every function that takes or makes a key says which
// one it wants; the default is always P-256.
enum class KeyAlgorithm { p256, rsa2048 };
std::string_view key_algorithm_name(KeyAlgorithm algorithm);  // "ECDSA P-256", "RSA-2048"

// A public key: ECDSA P-256 or RSA-2048 (or, only when it comes from a
// certificate, anything OpenSSL parses: algorithm() is then nullopt).
class PublicKey {
 public:
  // SubjectPublicKeyInfo DER of the given algorithm only: by default an EC key
  // on prime256v1; with rsa2048 an rsaEncryption key with a 2048-bit modulus
  // that passes OpenSSL's public-key check. Anything else: kind malformed.
  static Result<PublicKey, PkiError> from_der(ByteView spki,
                                              KeyAlgorithm algorithm = KeyAlgorithm::p256);
  // An uncompressed P-256 point (04 || X || Y), as a card answers it.
  static Result<PublicKey, PkiError> from_point(ByteView point);
  // An RSA-2048 key from its modulus n and public exponent e, unsigned
  // big-endian (leading zero bytes allowed), as a card answers GENERATE
  // ASYMMETRIC KEY PAIR: 7F49 { 81 n, 82 e }. Kind malformed unless n has
  // exactly 2048 bits and the key passes OpenSSL's public-key check (n odd
  // without small factors, e odd and > 1).
  static Result<PublicKey, PkiError> from_rsa(ByteView n, ByteView e);
  std::optional<KeyAlgorithm> algorithm() const;
  Bytes der() const;           // SubjectPublicKeyInfo
  Bytes point() const;         // P-256: 65 bytes, 04 || X || Y; empty for other keys
  Bytes rsa_modulus() const;   // RSA: n, 256 bytes big-endian; empty for other keys
  Bytes rsa_exponent() const;  // RSA: e, big-endian, no leading zero; empty for other keys
  EVP_PKEY* native() const { return key_.get(); }

 private:
  explicit PublicKey(std::shared_ptr<EVP_PKEY> key) : key_(std::move(key)) {}
  friend class PrivateKey;
  friend class Certificate;
  std::shared_ptr<EVP_PKEY> key_;
};

// A key pair of one of the two algorithms (P-256 unless asked otherwise):
// loading a key of the other algorithm is refused (kind malformed), so a
// Juki-net path never picks up an RSA key, nor a JPKI path a P-256 one.
struct TokenKeyRef;

class PrivateKey {
 public:
  static Result<PrivateKey, PkiError> generate(KeyAlgorithm algorithm = KeyAlgorithm::p256);
  // PEM PKCS#8. Refuses a file group or others may read (key_permissions).
  static Result<PrivateKey, PkiError> load(const std::string& path,
                                           KeyAlgorithm algorithm = KeyAlgorithm::p256);
  static Result<PrivateKey, PkiError> from_pem(std::string_view pem,
                                               KeyAlgorithm algorithm = KeyAlgorithm::p256);
  // A P-256 key in a PKCS#11 token, logged in with the reference's PIN (see
  // TokenKeyRef). Signing with it happens in the token; the key never leaves
  // it. Kind token for a module, token or key not found or a PIN refused;
  // wrong_algorithm for a key that is not P-256.
  static Result<PrivateKey, PkiError> from_token(const TokenKeyRef& ref);
  KeyAlgorithm algorithm() const { return algorithm_; }
  bool in_token() const { return public_ != nullptr; }
  // Unencrypted PEM PKCS#8, created with O_CREAT|O_EXCL and mode 0600: never
  // overwrites, never widens permissions. A key in a token: kind token.
  Result<void, PkiError> save(const std::string& path) const;
  std::string to_pem() const;  // empty for a key in a token
  PublicKey public_key() const;
  EVP_PKEY* native() const { return key_.get(); }

 private:
  PrivateKey(PkeyPtr key, KeyAlgorithm algorithm) : key_(std::move(key)), algorithm_(algorithm) {}
  PrivateKey(std::shared_ptr<EVP_PKEY> key, std::shared_ptr<EVP_PKEY> public_key)
      : key_(std::move(key)), algorithm_(KeyAlgorithm::p256), public_(std::move(public_key)) {}
  std::shared_ptr<EVP_PKEY> key_;
  KeyAlgorithm algorithm_ = KeyAlgorithm::p256;
  std::shared_ptr<EVP_PKEY> public_;  // a token's key: its public half, read from the token
};

// ------------------------------------------------------------ keys in a PKCS#11 token

// Where a key is in a PKCS#11 token (a hardware security module; SoftHSM2 in
// tests), written as an RFC 7512 URI:
//   pkcs11:token=LABEL;object=LABEL?module-path=PATH&pin-source=file:PATH
// The path names the token (`token`, required) and the key (`object`, `id`, or
// both). The query names the module (`module-path`, default SoftHSM2's) and the
// user PIN: `pin-source=file:PATH` (a file only its owner may read; its first
// line) or `pin-value`, one of them. Values are percent-decoded; any other
// attribute is refused, so that a typing error never selects another key.
inline constexpr std::string_view kSoftHsmModule = "/usr/lib/softhsm/libsofthsm2.so";
struct TokenKeyRef {
  std::string module{kSoftHsmModule};
  std::string token;
  std::string object;
  Bytes id;
  std::string pin_value;
  std::string pin_file;
};
// Kind malformed, naming the attribute at fault.
Result<TokenKeyRef, PkiError> parse_pkcs11_uri(std::string_view uri);

// ECDSA P-256 with SHA-256, signatures in DER (ECDSA-Sig-Value), for
// messages between servers (specs/network.md). `sign_message` refuses a key that is
// not P-256 (wrong_algorithm); `verify_message` gives bad_signature for a
// signature that does not verify or is not DER, wrong_algorithm for a key
// that is not P-256.
Result<Bytes, PkiError> sign_message(const PrivateKey& key, ByteView message);
Result<void, PkiError> verify_message(const PublicKey& key, ByteView message, ByteView signature);

// ------------------------------------------------------------ JPKI kinds

// The two JPKI certificate kinds, each with its own CA: the user
// authentication certificate (利用者証明用) and the signature certificate
// (署名用).
enum class JpkiKind { auth, sign };
std::string_view jpki_kind_name(JpkiKind kind);  // "auth", "sign"
std::optional<JpkiKind> jpki_kind_from_name(std::string_view name);
// The CLI's --ca name and the file stem without "-ca": "jpki-auth", "jpki-sign".
std::string_view jpki_ca_name(JpkiKind kind);
std::optional<JpkiKind> jpki_ca_from_name(std::string_view name);

// The certificatePolicies arc that marks a JPKI certificate and its kind (a
// UUID OID, 8e3d92a0-e850-49e5-bb29-e2cbf74e046e): ARC.1 authentication,
// ARC.2 signature. Both the CA and its leaves carry their kind's policy.
inline constexpr const char* kJpkiPolicyArc = "2.25.189070079490034399178522302668117771374";
std::string jpki_policy_oid(JpkiKind kind);

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
  // One PEM CERTIFICATE block (as TLS libraries hand a peer's certificate
  // over), then from_der's checks; nothing but whitespace after it.
  static Result<Certificate, PkiError> from_pem(std::string_view pem);

  Bytes der() const;
  std::string to_pem() const;
  Bytes fingerprint() const;    // SHA-256 of the DER
  std::string subject() const;  // "O=Juki-net, OU=131016, CN=..."
  std::string issuer() const;
  std::string common_name() const;
  std::string serial_hex() const;  // uppercase hex of the serial's magnitude, as in the index
  std::int64_t not_before() const;
  std::int64_t not_after() const;
  bool is_ca() const;  // basicConstraints CA:TRUE
  // The JPKI kind its certificatePolicies name (exactly one of the two JPKI
  // policies); nullopt for a Juki-net certificate.
  std::optional<JpkiKind> jpki_kind() const;
  // nullopt when the certificate has no authorization extension (the root);
  // an error when it has one that is malformed.
  Result<std::optional<Authorization>, PkiError> authorization() const;
  PublicKey public_key() const;
  Bytes public_key_der() const { return public_key().der(); }  // SubjectPublicKeyInfo
  Bytes public_point() const { return public_key().point(); }  // 65 bytes; empty unless P-256
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
// The subject key must be P-256 (an RSA key is refused).
Result<Certificate, PkiError> issue(const PrivateKey& ca_key, const Certificate& ca_cert,
                                    const LeafRequest& request, const PublicKey& subject_key);
// A new P-256 key certified by `ca` for `request`: issue()'s refusals, or the
// key generation's error.
Result<KeyAndCert, PkiError> issue_new_key(const KeyAndCert& ca, const LeafRequest& request);

// ------------------------------------------------------------ JPKI (specs/pki.md "JPKI")

inline constexpr int kJpkiLeafDays = 5 * 365 + 1;  // 5 years
// "JPKI Authentication CA", "JPKI Signature CA"
std::string default_jpki_ca_name(JpkiKind kind);

// A JPKI CA: a fresh RSA-2048 key and its self-signed certificate (its own
// trust anchor, outside the Juki-net hierarchy), sha256WithRSAEncryption,
// subject "C=JP, O=JPKI, OU=Juki-net reference, CN=<common_name>".
Result<KeyAndCert, PkiError> create_jpki_ca(JpkiKind kind, const std::string& common_name = {},
                                            int days = kCaDays,
                                            std::optional<std::int64_t> not_before = {});

struct JpkiLeafRequest {
  JpkiKind kind = JpkiKind::auth;
  std::string common_name;  // the holder
  int days = 0;             // 0: kJpkiLeafDays
  std::optional<std::int64_t> not_before;
};

// Certifies an RSA-2048 key (generated on the card) for the holder. Refuses
// (kind refused) a CA that is not a JPKI CA of request.kind, a CA key that is
// not RSA-2048 or does not match the CA certificate, a subject key that is not
// RSA-2048, an empty CN, days outside 1..36500.
Result<Certificate, PkiError> issue_jpki(const KeyAndCert& ca, const JpkiLeafRequest& request,
                                         const PublicKey& subject_key);

// ------------------------------------------------------------ verifying

// Checks root (self-signed, CA), ca (issued by root, a CA with a CA role) and
// leaf (issued by ca, not a CA, a role that CA may certify), each within its
// validity at `at` (unix seconds) and each with a P-256 key (else
// wrong_algorithm). Gives the leaf's authorization and the CA kind, or the
// first check that failed.
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

// A JPKI CA alone: self-signed, CA:TRUE with keyCertSign, within its validity,
// RSA-2048 with sha256WithRSAEncryption, no Juki-net authorization, one JPKI
// policy. Gives its kind.
Result<JpkiKind, PkiError> verify_jpki_ca(const Certificate& ca, std::int64_t at);
// A JPKI leaf against its CA (specs/pki.md "JPKI", verification): the CA as
// verify_jpki_ca, then the leaf issued by it (name, key identifier,
// signature), within its validity, not a CA, RSA-2048 with
// sha256WithRSAEncryption, no authorization, the CA's JPKI policy and the
// kind's key usage. Gives the kind.
Result<JpkiKind, PkiError> verify_jpki(const Certificate& ca, const Certificate& leaf,
                                       std::int64_t at);
// `subject` names `issuer` as its issuer (name, and key identifier unless it
// is self-signed) and the issuer's key verifies its signature: unknown_issuer
// or bad_signature. No validity or profile checks (revocation uses it: an
// expired certificate may still be revoked).
Result<void, PkiError> check_issued(const Certificate& issuer, const Certificate& subject);

// ------------------------------------------------------------ revocation (specs/pki.md
// "Revocation")

// CRLReason (RFC 5280 5.3.1). `revoke` takes the first five; the others are
// only recognised when reading a CRL.
enum class RevocationReason {
  unspecified = 0,
  key_compromise = 1,
  ca_compromise = 2,
  affiliation_changed = 3,
  superseded = 4,
  cessation_of_operation = 5,
  certificate_hold = 6,
  remove_from_crl = 8,
  privilege_withdrawn = 9,
  aa_compromise = 10,
};
// RFC 5280's names: "unspecified", "keyCompromise", "cACompromise", ...
std::string_view revocation_reason_name(RevocationReason reason);
std::optional<RevocationReason> revocation_reason_from_name(std::string_view name);
std::optional<RevocationReason> revocation_reason_from_code(std::int64_t code);
// The reasons a leaf may be revoked for here: unspecified, keyCompromise,
// affiliationChanged, superseded, cessationOfOperation.
bool revocation_reason_allowed(RevocationReason reason);

struct RevokedSerial {
  std::string serial;  // as Certificate::serial_hex()
  std::int64_t revoked_at = 0;
  RevocationReason reason = RevocationReason::unspecified;
  bool operator==(const RevokedSerial&) const = default;
};

inline constexpr int kCrlDays = 7;  // default nextUpdate - thisUpdate
inline constexpr int kCrlMaxDays = 366;

struct CrlRequest {
  std::int64_t number = 1;  // cRLNumber, >= 1
  std::int64_t this_update = 0;
  int days = kCrlDays;  // nextUpdate = thisUpdate + days, 1..kCrlMaxDays
  std::vector<RevokedSerial> revoked;
};

// An X.509 v2 CRL (DER) signed by `ca` (a Juki-net CA: ecdsa-with-SHA256; a
// JPKI CA: sha256WithRSAEncryption) with the profile of specs/pki.md. Refuses
// (kind refused) a certificate that is not a CA with cRLSign, a key that does
// not match it or is neither P-256 nor RSA-2048, a number < 1, days outside
// 1..kCrlMaxDays, a serial that is not hex, a reason revocation_reason_allowed
// refuses.
Result<Bytes, PkiError> create_crl(const KeyAndCert& ca, const CrlRequest& request);

struct Crl {
  std::string issuer;  // as Certificate::issuer()
  std::int64_t number = 0;
  std::int64_t this_update = 0;
  std::int64_t next_update = 0;
  std::vector<RevokedSerial> revoked;  // in the CRL's order
  const RevokedSerial* find(std::string_view serial_hex) const;
};

// Parses `der` as a CRL of `ca` and checks it (kind bad_crl for all of these):
// DER with nothing after it, version 2, issuer name = the CA's subject, an AKI
// equal to the CA's SKI, a cRLNumber, a nextUpdate, the profile's signature
// algorithm for the CA's key, the signature verifying with the CA's key, no
// critical extension (CRL or entry: no delta, indirect or partitioned CRLs),
// known reason codes. Time is not checked.
Result<Crl, PkiError> read_crl(const Certificate& ca, ByteView der);

// Is `leaf` (issued by `ca`) revoked at `at`, according to `crl_der`? In order:
// the CRL as read_crl (bad_crl); leaf's issuer name is the CA's subject
// (unknown_issuer); the leaf's serial listed with a revocationDate <= at
// (revoked: a CRL past its nextUpdate still proves a revocation); the CRL's
// nextUpdate < at (crl_expired: it cannot vouch that the leaf is good). OK
// otherwise. For a window terminal or a server holding its CA's latest CRL.
Result<void, PkiError> check_revocation(const Certificate& ca, ByteView crl_der,
                                        const Certificate& leaf, std::int64_t at);

// ------------------------------------------------------------ files

Result<Bytes, PkiError> read_file(const std::string& path);
// Creates `path` (O_CREAT|O_EXCL with `mode`) and writes `data`; kind io if it
// exists already.
Result<void, PkiError> write_new_file(const std::string& path, ByteView data, unsigned mode);
// Replaces `path` by `data` so that a reader (or a crash) sees the old file or
// the new one, never a part: PATH.tmp is written (a leftover one from an
// interrupted write is removed first), fsynced, renamed over `path`, and the
// directory fsynced. The caller serializes writers of the same path.
Result<void, PkiError> replace_file(const std::string& path, ByteView data, unsigned mode);

}  // namespace juki::pki
