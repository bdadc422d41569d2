// The PKI's vocabulary: error kinds, roles and CA kinds, municipality codes
// and the JPKI kinds; and the error values every part of the PKI returns.
#include "pki/pki.hpp"

#include <openssl/err.h>

#include <array>

#include "common/check_digits.hpp"
#include "pki/pki_internal.hpp"

namespace juki::pki {

Unexpected<PkiError> fail(PkiErrorKind kind, std::string message) {
  return unexpected(PkiError{kind, std::move(message)});
}

std::string openssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

Unexpected<PkiError> crypto_fail(const std::string& what) {
  std::string errors = openssl_errors();
  return fail(PkiErrorKind::crypto, what + (errors.empty() ? "" : ": " + errors));
}

namespace {

struct RoleInfo {
  Role role;
  std::string_view name;
};
constexpr std::array<RoleInfo, 13> kRoles{{
    {Role::window, "window"},
    {Role::issuance, "issuance"},
    {Role::password_reset, "password-reset"},
    {Role::municipal_app, "municipal-app"},
    {Role::app_authority, "app-authority"},
    {Role::cs, "cs"},
    {Role::prefecture, "prefecture"},
    {Role::national, "national"},
    {Role::resident_system, "resident-system"},
    {Role::card, "card"},
    {Role::terminal_ca, "terminal-ca"},
    {Role::card_ca, "card-ca"},
    {Role::server_ca, "server-ca"},
}};

}  // namespace

// ------------------------------------------------------------ errors, roles

std::string_view to_string(PkiErrorKind kind) {
  switch (kind) {
    case PkiErrorKind::refused:
      return "refused";
    case PkiErrorKind::io:
      return "io";
    case PkiErrorKind::key_permissions:
      return "key_permissions";
    case PkiErrorKind::malformed:
      return "malformed";
    case PkiErrorKind::crypto:
      return "crypto";
    case PkiErrorKind::unknown_issuer:
      return "unknown_issuer";
    case PkiErrorKind::bad_signature:
      return "bad_signature";
    case PkiErrorKind::expired:
      return "expired";
    case PkiErrorKind::not_yet_valid:
      return "not_yet_valid";
    case PkiErrorKind::not_a_ca:
      return "not_a_ca";
    case PkiErrorKind::role_not_allowed:
      return "role_not_allowed";
    case PkiErrorKind::extension_missing:
      return "extension_missing";
    case PkiErrorKind::extension_malformed:
      return "extension_malformed";
    case PkiErrorKind::wrong_algorithm:
      return "wrong_algorithm";
    case PkiErrorKind::revoked:
      return "revoked";
    case PkiErrorKind::bad_crl:
      return "bad_crl";
    case PkiErrorKind::crl_expired:
      return "crl_expired";
    case PkiErrorKind::already_revoked:
      return "already_revoked";
    case PkiErrorKind::token:
      return "token";
  }
  return "unknown";
}

std::string_view role_name(Role role) {
  for (const auto& r : kRoles)
    if (r.role == role) return r.name;
  return "unknown";
}

std::optional<Role> role_from_name(std::string_view name) {
  for (const auto& r : kRoles)
    if (r.name == name) return r.role;
  return std::nullopt;
}

std::optional<Role> role_from_code(std::int64_t code) {
  for (const auto& r : kRoles)
    if (static_cast<std::int64_t>(r.role) == code) return r.role;
  return std::nullopt;
}

std::string_view ca_kind_name(CaKind kind) {
  switch (kind) {
    case CaKind::card:
      return "card";
    case CaKind::terminal:
      return "terminal";
    case CaKind::server:
      return "server";
  }
  return "unknown";
}

std::optional<CaKind> ca_kind_from_name(std::string_view name) {
  for (CaKind k : {CaKind::card, CaKind::terminal, CaKind::server})
    if (ca_kind_name(k) == name) return k;
  return std::nullopt;
}

Role ca_role(CaKind kind) {
  switch (kind) {
    case CaKind::card:
      return Role::card_ca;
    case CaKind::terminal:
      return Role::terminal_ca;
    case CaKind::server:
      break;
  }
  return Role::server_ca;
}

std::optional<CaKind> ca_kind_of_ca_role(Role role) {
  switch (role) {
    case Role::card_ca:
      return CaKind::card;
    case Role::terminal_ca:
      return CaKind::terminal;
    case Role::server_ca:
      return CaKind::server;
    default:
      return std::nullopt;
  }
}

std::optional<CaKind> issuing_ca(Role role) {
  switch (role) {
    case Role::window:
    case Role::issuance:
    case Role::password_reset:
    case Role::municipal_app:
    case Role::app_authority:
      return CaKind::terminal;
    case Role::cs:
    case Role::prefecture:
    case Role::national:
    case Role::resident_system:
      return CaKind::server;
    case Role::card:
      return CaKind::card;
    default:
      return std::nullopt;
  }
}

std::optional<std::uint16_t> access_bit(Role role) {
  const int code = static_cast<int>(role);
  if (code < 1 || code > 8) return std::nullopt;
  return static_cast<std::uint16_t>(1u << (code - 1));
}

bool is_ca_role(Role role) {
  return ca_kind_of_ca_role(role).has_value();
}

bool requires_municipality(Role role) {
  return !is_ca_role(role) && role != Role::national;
}

bool requires_application(Role role) {
  return role == Role::municipal_app;
}

// One implementation for the card and the host (common/check_digits.hpp).
std::optional<char> municipality_check_digit(std::string_view d) {
  return check_digits::municipality(d);
}

bool municipality_code_valid(std::string_view code) {
  return check_digits::municipality_valid(code);
}

// ------------------------------------------------------------ JPKI kinds

std::string_view jpki_kind_name(JpkiKind kind) {
  return kind == JpkiKind::auth ? "auth" : "sign";
}

std::optional<JpkiKind> jpki_kind_from_name(std::string_view name) {
  for (JpkiKind k : {JpkiKind::auth, JpkiKind::sign})
    if (jpki_kind_name(k) == name) return k;
  return std::nullopt;
}

std::string_view jpki_ca_name(JpkiKind kind) {
  return kind == JpkiKind::auth ? "jpki-auth" : "jpki-sign";
}

std::optional<JpkiKind> jpki_ca_from_name(std::string_view name) {
  for (JpkiKind k : {JpkiKind::auth, JpkiKind::sign})
    if (jpki_ca_name(k) == name) return k;
  return std::nullopt;
}

std::string jpki_policy_oid(JpkiKind kind) {
  return std::string(kJpkiPolicyArc) + (kind == JpkiKind::auth ? ".1" : ".2");
}

}  // namespace juki::pki
