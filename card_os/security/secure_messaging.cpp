#include "card_os/security/secure_messaging.hpp"

#include <mbedtls/cipher.h>
#include <mbedtls/sha1.h>

#include <algorithm>
#include <memory>
#include <optional>

#include "card_os/security/crypto.hpp"
#include "common/iso7816/tlv.hpp"
#include "common/secure_wipe.hpp"

namespace juki::card_os::sm {

namespace {

using sm_format::kPaddingIndicator;
using sm_format::kSmCla;
using sm_format::pad_into;
using sm_format::unpadded_size;

const mbedtls_cipher_info_t* aes_info(std::size_t key_size, mbedtls_cipher_mode_t mode) {
  return mbedtls_cipher_info_from_values(MBEDTLS_CIPHER_ID_AES, static_cast<int>(key_size * 8),
                                         mode);
}

// AES in ECB (one block, no IV) or CBC without padding; false on any mbedTLS error.
bool aes(ByteView key, mbedtls_cipher_mode_t mode, mbedtls_operation_t op, ByteView iv, ByteView in,
         Bytes& out) {
  const mbedtls_cipher_info_t* info = aes_info(key.size(), mode);
  if (info == nullptr || in.size() % kBlock != 0) return false;
  mbedtls_cipher_context_t ctx;
  mbedtls_cipher_init(&ctx);
  std::unique_ptr<mbedtls_cipher_context_t, decltype(&mbedtls_cipher_free)> guard(
      &ctx, mbedtls_cipher_free);
  if (mbedtls_cipher_setup(&ctx, info) != 0 ||
      mbedtls_cipher_setkey(&ctx, key.data(), static_cast<int>(key.size() * 8), op) != 0)
    return false;
  out.assign(in.size(), 0);
  if (mode == MBEDTLS_MODE_ECB) {
    // mbedTLS' ECB takes exactly one block per update.
    for (std::size_t off = 0; off < in.size(); off += kBlock) {
      std::size_t olen = 0;
      if (mbedtls_cipher_update(&ctx, in.data() + off, kBlock, out.data() + off, &olen) != 0 ||
          olen != kBlock)
        return false;
    }
    return true;
  }
  if (mbedtls_cipher_set_padding_mode(&ctx, MBEDTLS_PADDING_NONE) != 0) return false;
  std::size_t olen = 0;
  return mbedtls_cipher_crypt(&ctx, iv.data(), iv.size(), in.data(), in.size(), out.data(),
                              &olen) == 0 &&
         olen == in.size();
}

// IV = AES-ECB(K_enc, SSC) (9303-11 9.8.6.1).
bool make_iv(const SessionKeys& keys, Bytes& iv) {
  return aes(keys.k_enc, MBEDTLS_MODE_ECB, MBEDTLS_ENCRYPT, {}, keys.ssc, iv);
}

// First 8 bytes of AES-CMAC(K_mac, SSC || input); input is already padded by the caller.
bool mac(const SessionKeys& keys, ByteView padded, std::array<std::uint8_t, kMacLength>& out) {
  Bytes message(keys.ssc.begin(), keys.ssc.end());
  message.insert(message.end(), padded.begin(), padded.end());
  std::array<std::uint8_t, 16> full{};
  if (!crypto::aes_cmac(keys.k_mac, message, full)) return false;
  std::copy_n(full.begin(), kMacLength, out.begin());
  return true;
}

}  // namespace

Bytes kdf(ByteView shared_secret, std::uint32_t counter, AesKeySize size) {
  Bytes c;
  append_be32(c, counter);
  const auto n = static_cast<std::size_t>(size);
  if (size == AesKeySize::aes128) {
    std::array<std::uint8_t, 20> h{};
    mbedtls_sha1_context ctx;
    mbedtls_sha1_init(&ctx);
    mbedtls_sha1_starts_ret(&ctx);
    mbedtls_sha1_update_ret(&ctx, shared_secret.data(), shared_secret.size());
    mbedtls_sha1_update_ret(&ctx, c.data(), c.size());
    mbedtls_sha1_finish_ret(&ctx, h.data());
    mbedtls_sha1_free(&ctx);
    Bytes out(h.begin(), h.begin() + static_cast<std::ptrdiff_t>(n));
    secure_wipe(h);
    return out;
  }
  crypto::Digest h = crypto::sha256(shared_secret, c);
  Bytes out(h.begin(), h.begin() + static_cast<std::ptrdiff_t>(n));
  secure_wipe(h);
  return out;
}

SessionKeys derive_session_keys(ByteView shared_secret, AesKeySize size) {
  return SessionKeys{.k_enc = kdf(shared_secret, kKdfEnc, size),
                     .k_mac = kdf(shared_secret, kKdfMac, size),
                     .ssc = {}};
}

void wipe(SessionKeys& keys) {
  secure_wipe(keys.k_enc);
  secure_wipe(keys.k_mac);
  secure_wipe(keys.ssc);
  keys.k_enc.clear();
  keys.k_mac.clear();
}

Bytes PlainCommand::encode() const {
  // An extended Le stays extended: its Ne rule (6700, not 6Cxx) is the same
  // under secure messaging as in plain.
  return apdu::encode_command(cla, ins, p1, p2, data, has_le ? ne : 0, extended_le);
}

Result<PlainCommand, sw::Sw> unwrap_command(SessionKeys& keys, ByteView protected_apdu) {
  // Consume the counter value first: see the header for why failures keep the increment.
  increment_ssc(keys.ssc);

  auto parsed = apdu::parse_command(protected_apdu);
  if (!parsed) return unexpected(parsed.error());
  const apdu::Command& cmd = *parsed;
  if ((cmd.cla & kSmCla) == 0) return unexpected(sw::kSmDataMissing);
  if ((cmd.cla & kSmCla) != kSmCla) return unexpected(sw::kSmNotSupported);
  if ((cmd.ins & 0x01) != 0) return unexpected(sw::kSmNotSupported);

  // Body: [DO'87'] [DO'97'] DO'8E', in this order, nothing else and nothing after.
  ByteView body = cmd.data;
  std::optional<tlv::Tlv> do87, do97, do8e;
  std::size_t mac_input_end = 0;  // DO'87' || DO'97' as sent are body[0, mac_input_end)
  std::size_t pos = 0;
  while (pos < body.size()) {
    auto t = tlv::decode_one(body.subspan(pos));
    if (!t) return unexpected(sw::kSmDataMissing);
    if (t->tag == 0x87 && !do87 && !do97 && !do8e) {
      do87 = *t;
    } else if (t->tag == 0x97 && !do97 && !do8e) {
      do97 = *t;
    } else if (t->tag == 0x8E && !do8e) {
      do8e = *t;
      mac_input_end = pos;
    } else {
      return unexpected(sw::kSmDataMissing);  // unknown, repeated, misordered or after DO'8E'
    }
    pos += t->encoded_size;
  }
  if (!do8e || do8e->value.size() != kMacLength) return unexpected(sw::kSmDataMissing);
  if (do87 && (do87->value.size() < 1 + kBlock || do87->value[0] != kPaddingIndicator ||
               (do87->value.size() - 1) % kBlock != 0))
    return unexpected(sw::kSmDataMissing);
  if (do97 && do97->value.size() != 1 && do97->value.size() != 2)
    return unexpected(sw::kSmDataMissing);

  // MAC first (constant-time comparison), and only then decrypt: no padding oracle.
  Bytes mac_input;
  const std::uint8_t header[4] = {cmd.cla, cmd.ins, cmd.p1, cmd.p2};
  pad_into(mac_input, header);
  if (mac_input_end > 0) pad_into(mac_input, body.first(mac_input_end));
  std::array<std::uint8_t, kMacLength> expected{};
  if (!mac(keys, mac_input, expected) || !crypto::equal_ct(expected, do8e->value))
    return unexpected(sw::kSmDataIncorrect);

  PlainCommand out;
  out.cla = static_cast<std::uint8_t>(cmd.cla & ~kSmCla);
  out.ins = cmd.ins;
  out.p1 = cmd.p1;
  out.p2 = cmd.p2;
  out.extended = cmd.extended;
  if (do97) {
    const ByteView le = do97->value;
    out.has_le = true;
    if (le.size() == 1) {
      out.ne = le[0] == 0 ? 256 : le[0];
    } else {
      out.extended = true;
      out.extended_le = true;
      const std::uint16_t v = load_be16(le.data());
      out.ne = v == 0 ? 65536 : v;
    }
  }
  if (do87) {
    Bytes iv, plain;
    if (!make_iv(keys, iv) ||
        !aes(keys.k_enc, MBEDTLS_MODE_CBC, MBEDTLS_DECRYPT, iv, do87->value.subspan(1), plain))
      return unexpected(sw::kSmDataIncorrect);
    auto n = unpadded_size(plain);
    if (!n) {
      secure_wipe(plain);
      return unexpected(sw::kSmDataIncorrect);
    }
    plain.resize(*n);
    out.data = std::move(plain);
  }
  return out;
}

apdu::Response wrap_response(SessionKeys& keys, ByteView data, sw::Sw sw) {
  increment_ssc(keys.ssc);
  Bytes dos;
  if (!data.empty()) {
    Bytes padded, iv, enc;
    pad_into(padded, data);
    // Keys of a valid session always encrypt; a failure here is a broken invariant.
    const bool encrypted =
        make_iv(keys, iv) && aes(keys.k_enc, MBEDTLS_MODE_CBC, MBEDTLS_ENCRYPT, iv, padded, enc);
    secure_wipe(padded);
    if (!encrypted) throw CryptoFault("secure messaging: response encryption failed");
    Bytes value{kPaddingIndicator};
    value.insert(value.end(), enc.begin(), enc.end());
    tlv::append(dos, 0x87, value);
  }
  std::uint8_t sw_bytes[2];
  store_be16(sw_bytes, sw);
  tlv::append(dos, 0x99, sw_bytes);
  Bytes mac_input;
  pad_into(mac_input, dos);
  std::array<std::uint8_t, kMacLength> m{};
  // Keys of a valid session always MAC (16, 24 or 32 bytes).
  if (!mac(keys, mac_input, m)) throw CryptoFault("secure messaging: response MAC failed");
  tlv::append(dos, 0x8E, m);
  return apdu::Response{.data = std::move(dos), .sw = sw::kOk};
}

}  // namespace juki::card_os::sm
