#include "issuer_tool/apps/manifest.hpp"

#include "common/iso7816/apdu.hpp"
#include "common/iso7816/tlv.hpp"
#include "common/layout/card_manager.hpp"
#include "host_middleware/crypto/host_crypto.hpp"

namespace juki::card_manager {

namespace layout = juki::layout::manager;

std::string_view operation_name(Operation op) {
  switch (op) {
    case Operation::install:
      return "install";
    case Operation::remove:
      return "delete";
    case Operation::lock:
      return "lock";
    case Operation::unlock:
      return "unlock";
  }
  return "unknown";
}

std::uint8_t instruction(Operation op) {
  switch (op) {
    case Operation::install:
      return layout::kInstallIns;
    case Operation::remove:
      return layout::kDeleteIns;
    case Operation::lock:
      return layout::kLockIns;
    case Operation::unlock:
      return layout::kUnlockIns;
  }
  return 0;
}

Bytes PinPolicy::encode() const {
  tlv::Builder b;
  b.add_u8(0x83, ref);
  b.add_u8(0x80, format);
  const std::uint8_t lengths[] = {min_length, max_length};
  b.add(0x81, lengths);
  b.add_u8(0x82, retry_limit);
  if (puk_ref != 0) {
    const std::uint8_t unblock[] = {0x01, puk_ref};
    b.add(0x86, unblock);
  }
  return b.wrap(layout::kPinTag);
}

std::uint32_t allocation(const Application& app) {
  std::uint64_t total = layout::file_bytes(0);
  total += static_cast<std::uint64_t>(app.pins.size() + app.keys.size()) * layout::object_bytes();
  for (const FileDefinition& f : app.files) total += layout::file_bytes(fcp::contents_size(f.spec));
  return total > 0xFFFFFFFFu ? 0xFFFFFFFFu : static_cast<std::uint32_t>(total);
}

Bytes encode(const Manifest& m) {
  tlv::Builder b;
  b.add_u8(layout::kOperationTag, static_cast<std::uint8_t>(m.operation));
  b.add(layout::kSerialTag, m.card_serial);
  Bytes sequence;
  append_be32(sequence, m.sequence);
  b.add(layout::kSequenceTag, sequence);
  const Application* app = m.application ? &*m.application : nullptr;
  b.add(layout::kAidTag, app != nullptr ? app->aid : m.aid);
  if (app != nullptr) {
    b.add_u16(layout::kDfTag, app->df);
    Bytes quota;
    append_be32(quota, app->quota);
    b.add(layout::kQuotaTag, quota);
    for (const PinPolicy& p : app->pins) b.add_raw(p.encode());
    for (std::uint8_t ref : app->keys) {
      tlv::Builder k;
      k.add_u8(0x83, ref).add_u8(0x80, layout::kAlgorithmP256);
      b.add_raw(k.wrap(layout::kKeyTag));
    }
    for (const FileDefinition& f : app->files) {
      tlv::Builder file;
      file.add_raw(fcp::encode_fcp(f.spec, f.spec.max_records));
      if (!f.contents.empty()) file.add(layout::kContentsTag, f.contents);
      for (const Bytes& r : f.records) file.add(layout::kContentsTag, r);
      b.add_raw(file.wrap(layout::kFileTag));
    }
  }
  return b.wrap(layout::kManifestTag);
}

Bytes signed_data(ByteView manifest) {
  Bytes d(std::begin(layout::kSignaturePrefix), std::end(layout::kSignaturePrefix));
  d.insert(d.end(), manifest.begin(), manifest.end());
  return d;
}

Result<Bytes, std::string> sign(const pki::PrivateKey& key, ByteView manifest) {
  if (key.algorithm() != pki::KeyAlgorithm::p256)
    return unexpected(std::string("the authority's key is not P-256"));
  return host::crypto::ecdsa_sign(key.native(), signed_data(manifest));
}

Bytes command_data(ByteView manifest, ByteView signature, ByteView authority_cert,
                   ByteView ca_cert) {
  tlv::Builder b;
  b.add_raw(manifest);
  b.add(layout::kSignatureTag, signature);
  b.add(layout::kAuthorityTag, authority_cert);
  b.add(layout::kCaTag, ca_cert);
  return b.bytes();
}

Result<Bytes, std::string> authorize(const Authority& authority, const Manifest& m) {
  const Bytes manifest = encode(m);
  auto signature = sign(authority.key, manifest);
  if (!signature) return unexpected(signature.error());
  return command_data(manifest, *signature, authority.cert.der(), authority.ca.der());
}

Bytes command(Operation op, ByteView data, bool keys_answer) {
  const std::uint32_t ne = op == Operation::install && keys_answer ? 65536 : 0;
  Bytes apdu = apdu::encode_command(0x80, instruction(op), 0x00, 0x00, data, ne);
  if (data.size() <= 255 && ne == 0) {
    // Always extended, as the card manager's commands are specified: re-encode.
    apdu = {0x80, instruction(op), 0x00, 0x00, 0x00};
    append_be16(apdu, static_cast<std::uint16_t>(data.size()));
    apdu.insert(apdu.end(), data.begin(), data.end());
  }
  return apdu;
}

Result<std::vector<GeneratedKey>, std::string> parse_keys(ByteView answer) {
  auto items = tlv::decode_all(answer);
  if (!items) return unexpected(std::string("INSTALL answer: not BER-TLV"));
  std::vector<GeneratedKey> keys;
  for (const tlv::Tlv& t : *items) {
    auto ref = t.tag == 0x7F49 ? tlv::find(t.value, 0x83) : std::nullopt;
    auto point = t.tag == 0x7F49 ? tlv::find(t.value, 0x86) : std::nullopt;
    if (!ref || !point || ref->value.size() != 1 || point->value.size() != 65)
      return unexpected(std::string("INSTALL answer: a key template without 83 and 86"));
    keys.push_back({ref->value[0], Bytes(point->value.begin(), point->value.end())});
  }
  return keys;
}

Bytes list_command() {
  return apdu::encode_command(0x80, layout::kListIns, 0x00, 0x00, {}, 65536);
}

Result<std::vector<Listed>, std::string> parse_list(ByteView answer) {
  auto items = tlv::decode_all(answer);
  if (!items) return unexpected(std::string("LIST APPLICATIONS answer: not BER-TLV"));
  std::vector<Listed> out;
  for (const tlv::Tlv& t : *items) {
    if (t.tag != layout::kEntryTag)
      return unexpected(std::string("LIST APPLICATIONS answer: not an E3 template"));
    auto aid = tlv::find(t.value, layout::kAidTag);
    auto fid = tlv::find(t.value, layout::kListFidTag);
    auto life = tlv::find(t.value, layout::kLifeCycleTag);
    auto kind = tlv::find(t.value, layout::kKindTag);
    auto quota = tlv::find(t.value, layout::kQuotaListTag);
    auto used = tlv::find(t.value, layout::kUsedTag);
    if (!aid || !life || !kind || !quota || !used || life->value.size() != 1 ||
        kind->value.size() != 1 || quota->value.size() != 4 || used->value.size() != 4 ||
        (fid && fid->value.size() != 2))
      return unexpected(std::string("LIST APPLICATIONS answer: an incomplete E3 template"));
    Listed l;
    l.aid.assign(aid->value.begin(), aid->value.end());
    l.fid = fid ? load_be16(fid->value.data()) : 0;
    l.life_cycle = life->value[0];
    l.kind = kind->value[0];
    l.quota = load_be32(quota->value.data());
    l.used = load_be32(used->value.data());
    out.push_back(std::move(l));
  }
  return out;
}

}  // namespace juki::card_manager
