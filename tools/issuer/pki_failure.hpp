// A PKI error as a command-line failure, for juki-pki and juki-issuer: exit 3
// for a file that could not be read or written, 1 for everything the PKI
// refused; the kind is the error's name (specs/pki.md).
#pragma once

#include <string>

#include "host_middleware/cli/cli_output.hpp"
#include "pki/pki.hpp"

namespace juki::issuer_cli {

inline host::cli::Failure from_pki(const pki::PkiError& e) {
  return {e.kind == pki::PkiErrorKind::io ? host::cli::kExitIo : host::cli::kExitRefused,
          std::string(pki::to_string(e.kind)), e.message};
}

}  // namespace juki::issuer_cli
