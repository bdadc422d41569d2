// The issuer's side of the card manager (specs/card-manager.md): manifests
// of municipal applications, signed with a municipality's
// application-authorization key (a terminal certificate with role
// app-authority), the commands that carry them, and the answers of LIST
// APPLICATIONS and INSTALL. OpenSSL only (host_middleware/crypto), never
// mbedTLS; the card checks the same bytes with its own library.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.hpp"
#include "common/iso7816/fcp.hpp"
#include "common/result.hpp"
#include "pki/pki.hpp"

namespace juki::card_manager {

enum class Operation : std::uint8_t { install = 1, remove = 2, lock = 3, unlock = 4 };
std::string_view operation_name(Operation op);  // "install", "delete", "lock", "unlock"
std::uint8_t instruction(Operation op);         // INS of its command (class 80)

// A PIN of the application (PUT DATA's A1 template without a value: the
// holder sets it with CHANGE REFERENCE DATA P1 = 01).
struct PinPolicy {
  std::uint8_t ref = 1;     // 1..31; VERIFY P2 = 80 | ref
  std::uint8_t format = 1;  // 1 digits, 2 letters and digits, 3 any byte
  std::uint8_t min_length = 4;
  std::uint8_t max_length = 4;
  std::uint8_t retry_limit = 3;
  std::uint8_t puk_ref = 0;  // another PIN of the application that unblocks it; 0 none
  Bytes encode() const;      // A1 { 83 80 81 82 [86] }
};

// An EF of the application: its FCP (as CREATE FILE takes it) and contents.
struct FileDefinition {
  fcp::FileSpec spec;
  Bytes contents;              // transparent: written from offset 0; empty: none
  std::vector<Bytes> records;  // record EFs: appended in this order
};

struct Application {
  std::string name;  // for people; not on the card
  Bytes aid;         // its DF name, 5..16 bytes
  std::uint16_t df = 0;
  std::uint32_t quota = 0;
  std::vector<PinPolicy> pins;
  std::vector<std::uint8_t> keys;  // P-256 keys made on the card at install, by reference
  std::vector<FileDefinition> files;
};
// The bytes the card counts against the quota (specs/card-manager.md 4).
std::uint32_t allocation(const Application& app);

struct Manifest {
  Operation operation = Operation::install;
  Bytes card_serial;                       // GET DATA DF22 of the one card it is for
  std::uint32_t sequence = 0;              // above the card's counter (EF 4D02)
  Bytes aid;                               // install: ignored, the application's
  std::optional<Application> application;  // install only
};
// The manifest TLV (71 L V), fields in the order the card requires.
Bytes encode(const Manifest& m);
// "JUKI-CM1" || manifest: what the authority signs.
Bytes signed_data(ByteView manifest);

// A municipality's application-authorization key, its certificate and the
// terminal CA's certificate.
struct Authority {
  pki::PrivateKey key;
  pki::Certificate cert;
  pki::Certificate ca;
};
// ECDSA P-256 over SHA-256(signed_data(manifest)), r || s.
Result<Bytes, std::string> sign(const pki::PrivateKey& key, ByteView manifest);
// Command data: 71 manifest || 5F37 signature || A1 authority cert || A2 CA cert.
Bytes command_data(ByteView manifest, ByteView signature, ByteView authority_cert,
                   ByteView ca_cert);
// All of it for `m`, signed by `authority`.
Result<Bytes, std::string> authorize(const Authority& authority, const Manifest& m);
// The command APDU (extended length). INSTALL asks for the generated keys'
// public points with Le = 0000 unless `keys_answer` is false.
Bytes command(Operation op, ByteView data, bool keys_answer = true);

// INSTALL's answer: 7F49 { 83 ref, 86 point } per key made on the card.
struct GeneratedKey {
  std::uint8_t ref = 0;
  Bytes point;  // 04 || X || Y
};
Result<std::vector<GeneratedKey>, std::string> parse_keys(ByteView answer);

// LIST APPLICATIONS: 80 F2 00 00 with Le = 0000, and its answer.
Bytes list_command();
struct Listed {
  Bytes aid;
  std::uint16_t fid = 0;        // 0: none
  std::uint8_t life_cycle = 0;  // 03 installed, 07 selectable, 83 locked
  std::uint8_t kind = 0;        // 01 system, 02 municipal
  std::uint32_t quota = 0;
  std::uint32_t used = 0;
};
Result<std::vector<Listed>, std::string> parse_list(ByteView answer);

}  // namespace juki::card_manager
