#include "host_middleware/secure_messaging/secure_messaging.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <memory>
#include <optional>

#include "common/iso7816/tlv.hpp"
#include "host_middleware/crypto/host_crypto.hpp"

namespace juki::host::sm {

namespace {

using sm_format::kPaddingIndicator;
using sm_format::kSmCla;
using sm_format::pad_into;
using sm_format::unpadded_size;

Unexpected<Error> fail(Error::Kind kind, std::string message, sw::Sw sw = 0) {
  return unexpected(Error{.kind = kind, .sw = sw, .message = std::move(message)});
}

// AES-ECB (iv empty) or AES-CBC without padding, through EVP.
std::optional<Bytes> aes(ByteView key, bool cbc, bool encrypt, ByteView iv, ByteView in) {
  const EVP_CIPHER* cipher = nullptr;
  switch (key.size()) {
    case 16:
      cipher = cbc ? EVP_aes_128_cbc() : EVP_aes_128_ecb();
      break;
    case 24:
      cipher = cbc ? EVP_aes_192_cbc() : EVP_aes_192_ecb();
      break;
    case 32:
      cipher = cbc ? EVP_aes_256_cbc() : EVP_aes_256_ecb();
      break;
    default:
      return std::nullopt;
  }
  if (in.size() % kBlock != 0 || (cbc && iv.size() != kBlock)) return std::nullopt;
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(),
                                                                      EVP_CIPHER_CTX_free);
  Bytes out(in.size() + kBlock);
  int len = 0, fin = 0;
  if (!ctx ||
      EVP_CipherInit_ex(ctx.get(), cipher, nullptr, key.data(), cbc ? iv.data() : nullptr,
                        encrypt ? 1 : 0) != 1 ||
      EVP_CIPHER_CTX_set_padding(ctx.get(), 0) != 1 ||
      EVP_CipherUpdate(ctx.get(), out.data(), &len, in.data(), static_cast<int>(in.size())) != 1 ||
      EVP_CipherFinal_ex(ctx.get(), out.data() + len, &fin) != 1)
    return std::nullopt;
  out.resize(static_cast<std::size_t>(len + fin));
  return out;
}

std::optional<Bytes> make_iv(const SessionKeys& keys) {
  return aes(keys.k_enc, false, true, {}, keys.ssc);
}

// First 8 bytes of AES-CMAC(K_mac, SSC || padded).
Result<Bytes, Error> mac(const SessionKeys& keys, ByteView padded) {
  Bytes message(keys.ssc.begin(), keys.ssc.end());
  message.insert(message.end(), padded.begin(), padded.end());
  auto full = crypto::aes_cmac(keys.k_mac, message);
  if (!full) return fail(Error::Kind::crypto, full.error());
  full->resize(kMacLength);
  return std::move(*full);
}

}  // namespace

Result<Bytes, Error> kdf(ByteView shared_secret, std::uint32_t counter, AesKeySize size) {
  const EVP_MD* md = size == AesKeySize::aes128 ? EVP_sha1() : EVP_sha256();
  Bytes c;
  append_be32(c, counter);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  Bytes h(EVP_MAX_MD_SIZE);
  unsigned int len = 0;
  if (!ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), shared_secret.data(), shared_secret.size()) != 1 ||
      EVP_DigestUpdate(ctx.get(), c.data(), c.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), h.data(), &len) != 1)
    return fail(Error::Kind::crypto, "OpenSSL digest failed");
  const auto n = static_cast<std::size_t>(size);
  Bytes out(h.begin(), h.begin() + static_cast<std::ptrdiff_t>(n));
  OPENSSL_cleanse(h.data(), h.size());
  return out;
}

Result<SessionKeys, Error> derive_session_keys(ByteView shared_secret, AesKeySize size) {
  auto enc = kdf(shared_secret, kKdfEnc, size);
  if (!enc) return unexpected(enc.error());
  auto mac_key = kdf(shared_secret, kKdfMac, size);
  if (!mac_key) return unexpected(mac_key.error());
  return SessionKeys{.k_enc = std::move(*enc), .k_mac = std::move(*mac_key), .ssc = {}};
}

void wipe(SessionKeys& keys) {
  OPENSSL_cleanse(keys.k_enc.data(), keys.k_enc.size());
  OPENSSL_cleanse(keys.k_mac.data(), keys.k_mac.size());
  OPENSSL_cleanse(keys.ssc.data(), keys.ssc.size());
  keys.k_enc.clear();
  keys.k_mac.clear();
}

Result<Bytes, Error> wrap_command(SessionKeys& keys, ByteView plain_apdu) {
  auto parsed = apdu::parse_command(plain_apdu);
  if (!parsed) return fail(Error::Kind::bad_command, "malformed command APDU");
  const apdu::Command& cmd = *parsed;
  if ((cmd.cla & kSmCla) != 0)
    return fail(Error::Kind::bad_command, "CLA already indicates secure messaging");
  if ((cmd.ins & 0x01) != 0)
    return fail(Error::Kind::bad_command, "odd INS (data in DO'85') is not supported");
  if (cmd.data.size() > 0xFFFF - 64)
    return fail(Error::Kind::bad_command, "command data too long to protect");

  increment_ssc(keys.ssc);
  const std::uint8_t cla = cmd.cla | kSmCla;
  Bytes dos;  // DO'87' || DO'97'
  if (!cmd.data.empty()) {
    Bytes padded;
    pad_into(padded, cmd.data);
    auto iv = make_iv(keys);
    auto enc = iv ? aes(keys.k_enc, true, true, *iv, padded) : std::nullopt;
    OPENSSL_cleanse(padded.data(), padded.size());
    if (!enc) return fail(Error::Kind::crypto, "AES encryption failed (bad K_enc?)");
    Bytes value{kPaddingIndicator};
    value.insert(value.end(), enc->begin(), enc->end());
    tlv::append(dos, 0x87, value);
  }
  if (cmd.has_le) {
    Bytes le;
    if (cmd.extended)
      append_be16(le, static_cast<std::uint16_t>(cmd.ne == 65536 ? 0 : cmd.ne));
    else
      le.push_back(static_cast<std::uint8_t>(cmd.ne == 256 ? 0 : cmd.ne));
    tlv::append(dos, 0x97, le);
  }
  Bytes mac_input;
  const std::uint8_t header[4] = {cla, cmd.ins, cmd.p1, cmd.p2};
  pad_into(mac_input, header);
  if (!dos.empty()) pad_into(mac_input, dos);
  auto m = mac(keys, mac_input);
  if (!m) return unexpected(m.error());
  Bytes body = std::move(dos);
  tlv::append(body, 0x8E, *m);
  // Le = 00, or 0000 in the extended form: encode_command picks the form from Ne.
  // The protected answer to more than kMaxShortProtectedNe plain bytes (DO'87',
  // DO'99', DO'8E') is longer than 256 bytes: it needs the extended form.
  const bool extended = cmd.extended || body.size() > 255 || cmd.ne > kMaxShortProtectedNe;
  return apdu::encode_command(cla, cmd.ins, cmd.p1, cmd.p2, body, extended ? 65536 : 256);
}

Result<apdu::Response, Error> unwrap_response(SessionKeys& keys, ByteView raw_response) {
  increment_ssc(keys.ssc);
  auto rsp = apdu::Response::decode(raw_response);
  if (!rsp) return fail(Error::Kind::malformed, rsp.error());
  if (rsp->data.empty()) {
    return fail(Error::Kind::card_status,
                "card answered without secure messaging: " + sw::meaning(rsp->sw), rsp->sw);
  }
  const ByteView body = rsp->data;
  std::optional<tlv::Tlv> do87, do99, do8e;
  std::size_t mac_input_end = 0;
  std::size_t pos = 0;
  while (pos < body.size()) {
    auto t = tlv::decode_one(body.subspan(pos));
    if (!t) return fail(Error::Kind::malformed, "malformed SM data object");
    if (t->tag == 0x87 && !do87 && !do99 && !do8e) {
      do87 = *t;
    } else if (t->tag == 0x99 && !do99 && !do8e) {
      do99 = *t;
    } else if (t->tag == 0x8E && !do8e) {
      do8e = *t;
      mac_input_end = pos;
    } else {
      return fail(Error::Kind::malformed, "unexpected, repeated or misordered SM data object");
    }
    pos += t->encoded_size;
  }
  if (!do99 || do99->value.size() != 2)
    return fail(Error::Kind::malformed, "DO'99' missing or not 2 bytes");
  if (!do8e || do8e->value.size() != kMacLength)
    return fail(Error::Kind::malformed, "DO'8E' missing or not 8 bytes");
  if (do87 && (do87->value.size() < 1 + kBlock || do87->value[0] != kPaddingIndicator ||
               (do87->value.size() - 1) % kBlock != 0))
    return fail(Error::Kind::malformed, "DO'87' malformed");
  const sw::Sw inner_sw = load_be16(do99->value.data());
  if (rsp->sw != sw::kOk && rsp->sw != inner_sw)
    return fail(Error::Kind::malformed, "outer status word differs from DO'99'");

  Bytes mac_input;
  pad_into(mac_input, body.first(mac_input_end));
  auto m = mac(keys, mac_input);
  if (!m) return unexpected(m.error());
  if (CRYPTO_memcmp(m->data(), do8e->value.data(), kMacLength) != 0)
    return fail(Error::Kind::bad_mac, "response MAC does not verify");

  apdu::Response out{.data = {}, .sw = inner_sw};
  if (do87) {
    auto iv = make_iv(keys);
    auto plain = iv ? aes(keys.k_enc, true, false, *iv, do87->value.subspan(1)) : std::nullopt;
    if (!plain) return fail(Error::Kind::crypto, "AES decryption failed");
    auto n = unpadded_size(*plain);
    if (!n) return fail(Error::Kind::bad_padding, "response data not padded (method 2)");
    plain->resize(*n);
    out.data = std::move(*plain);
  }
  return out;
}

}  // namespace juki::host::sm
