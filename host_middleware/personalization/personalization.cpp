#include "host_middleware/personalization/personalization.hpp"

#include "common/iso7816/apdu.hpp"
#include "common/iso7816/tlv.hpp"
#include "host_middleware/crypto/host_crypto.hpp"
#include "host_middleware/session/personalization_session.hpp"

namespace juki::host::perso {

using fcp::AccessRule;
using fcp::FileSpec;
using fcp::FileType;
using fcp::Op;

std::string Error::describe() const {
  return step + ": " + message;
}

Bytes PinDefinition::encode() const {
  tlv::Builder b;
  b.add_u8(0x83, ref & 0x1F);
  b.add_u8(0x80, format);
  const std::uint8_t lengths[] = {min_length, max_length};
  b.add(0x81, lengths);
  b.add_u8(0x82, retry_limit);
  if (!initial_value.empty()) b.add(0x84, initial_value);
  if (activates_card) b.add_u8(0x85, 0x02);
  if (unblock_kind == 3) {  // 03, then the 16-bit role set
    const std::uint8_t u[] = {unblock_kind, static_cast<std::uint8_t>(unblock_roles >> 8),
                              static_cast<std::uint8_t>(unblock_roles)};
    b.add(0x86, u);
  } else if (unblock_kind != 0) {
    const std::uint8_t u[] = {unblock_kind, static_cast<std::uint8_t>(unblock_ref & 0x1F)};
    b.add(0x86, u);
  }
  return b.wrap(0xA1);
}

Bytes KeyDefinition::encode() const {
  tlv::Builder b;
  b.add_u8(0x83, ref & 0x1F);
  b.add_u8(0x80, 0x01);  // AES
  b.add_u8(0x82, retry_limit);
  std::uint8_t flags = (transport ? 0x01 : 0) | (personalization ? 0x02 : 0);
  if (flags) b.add_u8(0x85, flags);
  b.add(0x84, value);
  return b.wrap(0xA2);
}

Outcome<Bytes> exchange(Transport& t, ByteView command, const std::string& step, sw::Sw want) {
  auto raw = t.transmit(command);
  if (!raw) return unexpected(Error{step, 0, raw.error().message, true});
  auto r = apdu::Response::decode(*raw);
  if (!r) return unexpected(Error{step, 0, "malformed response: " + r.error()});
  if (r->sw != want) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "%04X", r->sw);
    return unexpected(Error{step, r->sw, std::string(hex) + " " + sw::meaning(r->sw)});
  }
  return std::move(r->data);
}

namespace {
Outcome<> done(const Outcome<Bytes>& r) {
  if (!r) return unexpected(r.error());
  return {};
}
std::string hex16(std::uint16_t v) {
  char s[8];
  std::snprintf(s, sizeof s, "%04X", v);
  return s;
}
}  // namespace

Outcome<> Personalizer::authenticate(ByteView key, std::uint8_t ref) {
  session_.reset();
  auto opened = session::open_personalization_session(t_, key, ref);
  if (!opened) {
    const auto& e = opened.error();
    const std::size_t colon = e.message.find(": ");
    return unexpected(Error{e.message.substr(0, colon), e.sw,
                            colon == std::string::npos ? e.message : e.message.substr(colon + 2),
                            e.kind == session::SessionError::Kind::transport});
  }
  session_ = std::move(*opened);
  return {};
}

Outcome<> Personalizer::select_mf() {
  const std::uint8_t mf[] = {0x3F, 0x00};
  return done(exchange(transport(), apdu::encode_command(0x00, 0xA4, 0x00, 0x0C, mf), "SELECT MF"));
}

Outcome<> Personalizer::select_fid(std::uint16_t fid) {
  const std::uint8_t id[] = {static_cast<std::uint8_t>(fid >> 8), static_cast<std::uint8_t>(fid)};
  return done(exchange(transport(), apdu::encode_command(0x00, 0xA4, 0x00, 0x0C, id),
                       "SELECT " + hex16(fid)));
}

Outcome<> Personalizer::select_parent() {
  return done(exchange(transport(), apdu::encode_command(0x00, 0xA4, 0x03, 0x0C), "SELECT parent"));
}

Outcome<> Personalizer::select_aid(ByteView aid) {
  return done(exchange(transport(), apdu::encode_command(0x00, 0xA4, 0x04, 0x0C, aid),
                       "SELECT " + to_hex(aid)));
}

Outcome<> Personalizer::create(const FileSpec& spec) {
  Bytes fcp = fcp::encode_fcp(spec, spec.max_records);
  return done(exchange(transport(), apdu::encode_command(0x00, 0xE0, 0, 0, fcp),
                       "CREATE FILE " + hex16(spec.fid)));
}

Outcome<> Personalizer::write_binary(ByteView data, std::uint32_t offset) {
  for (std::size_t done_bytes = 0; done_bytes < data.size();) {
    std::size_t n = std::min<std::size_t>(255, data.size() - done_bytes);
    std::uint32_t at = offset + static_cast<std::uint32_t>(done_bytes);
    auto r =
        exchange(transport(),
                 apdu::encode_command(0x00, 0xD6, static_cast<std::uint8_t>(at >> 8),
                                      static_cast<std::uint8_t>(at), data.subspan(done_bytes, n)),
                 "UPDATE BINARY");
    if (!r) return unexpected(r.error());
    done_bytes += n;
  }
  return {};
}

Outcome<> Personalizer::append_record(ByteView data) {
  return done(
      exchange(transport(), apdu::encode_command(0x00, 0xE2, 0x00, 0x00, data), "APPEND RECORD"));
}

Outcome<> Personalizer::put_pin(const PinDefinition& d) {
  return done(exchange(transport(), apdu::encode_command(0x00, 0xDA, 0x00, 0xA1, d.encode()),
                       "PUT DATA PIN"));
}

Outcome<> Personalizer::put_key(const KeyDefinition& d) {
  return done(exchange(transport(), apdu::encode_command(0x00, 0xDA, 0x00, 0xA2, d.encode()),
                       "PUT DATA key"));
}

Outcome<Bytes> Personalizer::generate_ec_key(std::uint8_t ref) {
  const std::string step = "GENERATE ASYMMETRIC KEY PAIR " + hex16(ref).substr(2);
  auto r = exchange(transport(), apdu::encode_command(0x00, 0x46, 0x00, ref, {}, 256), step);
  if (!r) return r;
  // 7F49 L { 86 41 point } (specs/secure-channel.md 2.0)
  auto key = tlv::find(*r, 0x7F49);
  auto point = key ? tlv::find(key->value, 0x86) : std::nullopt;
  if (!point || point->value.size() != 65 || point->value[0] != 0x04)
    return unexpected(Error{step, 0, "the card's answer holds no uncompressed P-256 point"});
  return Bytes(point->value.begin(), point->value.end());
}

Outcome<Personalizer::RsaPublicKey> Personalizer::generate_rsa_key(std::uint8_t ref) {
  const std::string step = "GENERATE ASYMMETRIC KEY PAIR RSA " + hex16(ref).substr(2);
  // 7F49 82 01 09 { 81 82 01 00 n, 82 03 e }: longer than 256 bytes, so Le = 0000.
  auto r = exchange(transport(), apdu::encode_command(0x00, 0x46, 0x01, ref, {}, 65536), step);
  if (!r) return unexpected(r.error());
  auto key = tlv::find(*r, 0x7F49);
  auto n = key ? tlv::find(key->value, 0x81) : std::nullopt;
  auto e = key ? tlv::find(key->value, 0x82) : std::nullopt;
  if (!n || !e || n->value.size() != 256 || (n->value[0] & 0x80) == 0 || e->value.empty())
    return unexpected(Error{step, 0, "the card's answer holds no RSA-2048 public key"});
  return RsaPublicKey{Bytes(n->value.begin(), n->value.end()),
                      Bytes(e->value.begin(), e->value.end())};
}

Outcome<Bytes> Personalizer::get_data(std::uint16_t tag) {
  const std::string step = "GET DATA " + hex16(tag);
  auto r = exchange(transport(),
                    apdu::encode_command(0x00, 0xCA, static_cast<std::uint8_t>(tag >> 8),
                                         static_cast<std::uint8_t>(tag), {}, 256),
                    step);
  if (!r) return r;
  auto object = tlv::decode_one(*r);
  if (!object || object->tag != tag || object->encoded_size != r->size())
    return unexpected(Error{step, 0, "the card's answer is not that data object"});
  return Bytes(object->value.begin(), object->value.end());
}

Outcome<> Personalizer::finish() {
  auto r = done(
      exchange(transport(), apdu::encode_command(0x80, 0xF0, 0x00, 0x04), "SET STATUS issued"));
  if (r) session_.reset();  // the card ended the session with personalization
  return r;
}

// ---------------------------------------------------------------- sample card

Outcome<> personalize_sample(Transport& t, const SampleSecrets& s) {
  Personalizer p(t);
  if (auto r = write_sample_layout(p, s); !r) return r;
  return p.finish();
}

Outcome<> write_sample_layout(Personalizer& p, const SampleSecrets& s) {
#define JUKI_TRY(expr)                    \
  do {                                    \
    if (auto r_ = (expr); !r_) return r_; \
  } while (0)
  JUKI_TRY(p.authenticate(s.transport_key, 0x01));
  JUKI_TRY(p.select_mf());
  JUKI_TRY(p.put_key({.ref = 0x02,
                      .value = s.admin_key,
                      .retry_limit = 3,
                      .transport = false,
                      .personalization = false}));

  FileSpec df;
  df.type = FileType::df;
  df.fid = kSampleDf;
  df.name = kSampleAid;
  df.rules.fill(AccessRule::never());
  JUKI_TRY(p.create(df));
  JUKI_TRY(p.put_pin({.ref = 0x01,
                      .format = 1,
                      .min_length = 4,
                      .max_length = 4,
                      .retry_limit = 3,
                      .activates_card = true,
                      .unblock_kind = 2,
                      .unblock_ref = 0x03,
                      .initial_value = {}}));
  JUKI_TRY(p.put_key({.ref = 0x03,
                      .value = s.reset_key,
                      .retry_limit = 3,
                      .transport = false,
                      .personalization = false}));

  FileSpec info;
  info.fid = kSampleInfoEf;
  info.size = 256;
  info.rules.fill(AccessRule::never());
  info.rule(Op::read) = AccessRule::always();
  info.rule(Op::update) = AccessRule::pin(kSamplePinRef);
  JUKI_TRY(p.create(info));
  JUKI_TRY(p.write_binary(as_bytes("Juki card OS sample application")));

  FileSpec priv;
  priv.fid = kSamplePrivateEf;
  priv.size = 32;
  priv.rules.fill(AccessRule::never());
  priv.rule(Op::read) = AccessRule::pin(kSamplePinRef);
  JUKI_TRY(p.create(priv));
  JUKI_TRY(p.write_binary(as_bytes("resident data, PIN-protected   ")));

  FileSpec history;
  history.type = FileType::linear_fixed;
  history.fid = kSampleHistoryEf;
  history.sfi = 3;
  history.record_length = 16;
  history.max_records = 4;
  history.rules.fill(AccessRule::never());
  history.rule(Op::read) = AccessRule::pin(kSamplePinRef);
  history.rule(Op::update) = AccessRule::pin(kSamplePinRef);
  JUKI_TRY(p.create(history));
  for (int i = 1; i <= 4; ++i) JUKI_TRY(p.append_record(Bytes(16, static_cast<std::uint8_t>(i))));

  FileSpec log;
  log.type = FileType::linear_variable;
  log.fid = kSampleLogEf;
  log.sfi = 4;
  log.record_length = 32;
  log.max_records = 8;
  log.rules.fill(AccessRule::never());
  log.rule(Op::read) = AccessRule::always();
  log.rule(Op::append) = AccessRule::pin(kSamplePinRef);
  log.rule(Op::update) = AccessRule::pin(kSamplePinRef);
  JUKI_TRY(p.create(log));
  JUKI_TRY(p.append_record(as_bytes("issued")));
  JUKI_TRY(p.select_mf());
#undef JUKI_TRY
  return {};
}

}  // namespace juki::host::perso
