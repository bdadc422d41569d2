// Fuzzes the files the issuance counter reads (specs/pki.md, specs/issuance.md
// 1): a certificate (DER, with the Juki-net authorization extension and the
// JPKI policies), a CRL read against a CA, a CA's index (STEM.issued.json) and
// the counter's keys file. The first byte picks which one the rest is. Any
// bytes give a value or an error with a message, never a crash; a value obeys
// its type's rules.
//
// The CA is made once per process, so an index can only name it through the
// placeholder CASERIAL, which is replaced by its serial before parsing: that
// lets the fuzzer reach the entries of an index.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "issuer_tool/issuance/issue.hpp"
#include "pki/directory.hpp"
#include "pki/pki.hpp"

using namespace juki;

namespace {

void require(bool ok) {
  if (!ok) __builtin_trap();
}

const pki::KeyAndCert& card_ca() {
  static const pki::KeyAndCert ca = [] {
    auto root = pki::create_root();
    require(root.ok());
    auto ca = pki::create_ca(root->key, root->cert, pki::CaKind::card);
    require(ca.ok());
    return std::move(*ca);
  }();
  return ca;
}

void certificate(ByteView der) {
  auto c = pki::Certificate::from_der(der);
  if (!c) {
    require(!c.error().message.empty());
    return;
  }
  (void)c->subject();
  (void)c->issuer();
  (void)c->common_name();
  require(!c->serial_hex().empty());
  (void)c->not_before();
  (void)c->not_after();
  (void)c->is_ca();
  (void)c->jpki_kind();
  if (auto a = c->authorization(); !a) require(!a.error().message.empty());
  (void)c->public_key_der();
  require(pki::Certificate::from_der(c->der()).ok());  // what it holds, it gives back
}

void crl(ByteView der) {
  auto r = pki::read_crl(card_ca().cert, der);
  if (!r) {
    require(r.error().kind == pki::PkiErrorKind::bad_crl);
    return;
  }
  require(r->number >= 1);  // only the CA's own signature gets here
}

void index(std::string_view text) {
  std::string bytes(text);
  const std::string serial = card_ca().cert.serial_hex();
  for (std::size_t at = bytes.find("CASERIAL"); at != std::string::npos;
       at = bytes.find("CASERIAL", at + serial.size()))
    bytes.replace(at, 8, serial);
  auto r = pki::directory::parse_index(as_bytes(bytes), "card-ca", card_ca().cert, "fuzz");
  if (!r) {
    require(r.error().kind == pki::PkiErrorKind::malformed);
    return;
  }
  require(r->ca == "card-ca");
  require(r->ca_serial == serial);
  require(r->crl_number >= 0);
  for (const auto& e : r->certificates) require(r->find(e.serial) != nullptr);
}

void counter_keys(std::string_view text) {
  auto k = issuance::parse_counter_keys(text, "fuzz");
  if (!k) {
    require(!k.error().io && !k.error().message.empty());
    return;
  }
  for (const Bytes* key : {&k->transport_key, &k->admin_master})
    require(key->size() == 16 || key->size() == 24 || key->size() == 32);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const ByteView rest(data + 1, size - 1);
  const std::string_view text(reinterpret_cast<const char*>(rest.data()), rest.size());
  switch (data[0] % 4) {
    case 0:
      certificate(rest);
      break;
    case 1:
      crl(rest);
      break;
    case 2:
      index(text);
      break;
    case 3:
      counter_keys(text);
      break;
  }
  return 0;
}
