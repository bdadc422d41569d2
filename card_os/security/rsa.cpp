#include "card_os/security/rsa.hpp"

#include <mbedtls/bignum.h>
#include <mbedtls/rsa.h>

#include "common/secure_wipe.hpp"

namespace juki::card_os::rsa {

namespace {

// mbedTLS's f_rng signature over the card's random stream.
int rng(void* ctx, unsigned char* out, std::size_t len) {
  static_cast<RandomSource*>(ctx)->fill(std::span<std::uint8_t>(out, len));
  return 0;
}

// One RSA context, freed on every path (mbedtls_rsa_free zeroizes every
// component, the blinding values included).
struct Context {
  mbedtls_rsa_context c;
  Context() { mbedtls_rsa_init(&c, MBEDTLS_RSA_PKCS_V15, 0); }
  ~Context() { mbedtls_rsa_free(&c); }
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
};

std::size_t prime_size(unsigned bits) {
  return (bits + 15) / 16;
}

bool bits_supported(unsigned bits) {
  return bits >= kMinBits && bits <= kMaxBits;
}

const std::uint8_t* or_null(ByteView v) {
  return v.empty() ? nullptr : v.data();
}

// The public exponent without leading zero bytes.
Bytes minimal_exponent(const std::uint8_t (&e)[4]) {
  std::size_t i = 0;
  while (i < 3 && e[i] == 0) ++i;
  return Bytes(e + i, e + 4);
}

// The stored form of a complete private context of `bits` bits; nullopt when
// a component does not fit it (nothing of it is left behind).
std::optional<Bytes> serialize(const Context& ctx, unsigned bits) {
  const std::size_t h = prime_size(bits);
  Bytes out(stored_size(bits), 0);  // written in place: never reallocated
  out[0] = kStoredFormat;
  store_be16(&out[2], static_cast<std::uint16_t>(bits));
  if (mbedtls_mpi_write_binary(&ctx.c.E, &out[4], 4) != 0 ||
      mbedtls_mpi_write_binary(&ctx.c.P, &out[kStoredHeaderSize], h) != 0 ||
      mbedtls_mpi_write_binary(&ctx.c.Q, &out[kStoredHeaderSize + h], h) != 0) {
    secure_wipe(out);
    return std::nullopt;
  }
  return out;
}

// The public half of a complete context.
std::optional<PublicKey> public_half(const Context& ctx) {
  PublicKey pk;
  pk.n.resize(ctx.c.len);
  std::uint8_t e[4] = {};
  if (mbedtls_mpi_write_binary(&ctx.c.N, pk.n.data(), pk.n.size()) != 0 ||
      mbedtls_mpi_write_binary(&ctx.c.E, e, sizeof e) != 0)
    return std::nullopt;
  pk.e = minimal_exponent(e);
  return pk;
}

// A stored key as a complete, checked private context: n, d and the CRT
// values recomputed from p, q and e.
bool load(ByteView stored, Context& ctx) {
  const auto bits = modulus_bits(stored);
  if (!bits) return false;
  const std::size_t h = prime_size(*bits);
  const std::uint8_t* primes = stored.data() + kStoredHeaderSize;
  return mbedtls_rsa_import_raw(&ctx.c, nullptr, 0, primes, h, primes + h, h, nullptr, 0,
                                stored.data() + 4, 4) == 0 &&
         mbedtls_rsa_complete(&ctx.c) == 0 && mbedtls_mpi_bitlen(&ctx.c.N) == *bits &&
         mbedtls_rsa_check_privkey(&ctx.c) == 0;
}

}  // namespace

std::optional<unsigned> modulus_bits(ByteView stored) {
  if (stored.size() < kStoredHeaderSize || stored[0] != kStoredFormat || stored[1] != 0)
    return std::nullopt;
  const unsigned bits = load_be16(&stored[2]);
  if (!bits_supported(bits) || stored.size() != stored_size(bits)) return std::nullopt;
  const std::uint32_t e = load_be32(&stored[4]);
  if (e < 3 || (e & 1) == 0) return std::nullopt;
  return bits;
}

Result<KeyPair, Error> generate(RandomSource& random, unsigned bits) {
  if (bits % 16 != 0 || !bits_supported(bits)) return unexpected(Error::bad_parameters);
  Context ctx;
  if (mbedtls_rsa_gen_key(&ctx.c, rng, &random, bits, static_cast<int>(kPublicExponent)) != 0 ||
      mbedtls_mpi_bitlen(&ctx.c.N) != bits)
    return unexpected(Error::failed);
  auto pk = public_half(ctx);
  auto stored = serialize(ctx, bits);
  if (!pk || !stored) {
    if (stored) secure_wipe(*stored);
    return unexpected(Error::failed);
  }
  return KeyPair{.private_key = std::move(*stored), .public_key = std::move(*pk)};
}

Result<Bytes, Error> from_components(ByteView n, ByteView e, ByteView d, ByteView p, ByteView q) {
  if (p.empty() != q.empty()) return unexpected(Error::bad_parameters);
  Context ctx;
  if (mbedtls_rsa_import_raw(&ctx.c, or_null(n), n.size(), or_null(p), p.size(), or_null(q),
                             q.size(), or_null(d), d.size(), or_null(e), e.size()) != 0 ||
      mbedtls_rsa_complete(&ctx.c) != 0 || mbedtls_rsa_check_privkey(&ctx.c) != 0)
    return unexpected(Error::bad_parameters);
  const auto bits = static_cast<unsigned>(mbedtls_mpi_bitlen(&ctx.c.N));
  if (!bits_supported(bits)) return unexpected(Error::bad_parameters);
  auto stored = serialize(ctx, bits);  // refuses an exponent over 32 bits or unbalanced primes
  if (!stored) return unexpected(Error::bad_parameters);
  return std::move(*stored);
}

Result<PublicKey, Error> public_key(ByteView stored_private) {
  Context ctx;
  if (!load(stored_private, ctx)) return unexpected(Error::bad_key);
  auto pk = public_half(ctx);
  if (!pk) return unexpected(Error::bad_key);
  return std::move(*pk);
}

Result<Bytes, Error> sign_pkcs1_v15(ByteView stored_private, ByteView digest_info,
                                    RandomSource& random) {
  const auto bits = modulus_bits(stored_private);
  if (!bits) return unexpected(Error::bad_key);
  const std::size_t k = (*bits + 7) / 8;
  if (digest_info.empty() || digest_info.size() > k - kPaddingOverhead)
    return unexpected(Error::bad_length);
  Context ctx;
  if (!load(stored_private, ctx)) return unexpected(Error::bad_key);
  Bytes signature(k);
  // MD_NONE: EMSA-PKCS1-v1_5 with T = digest_info as given; mbedTLS blinds the
  // private operation with `random` and checks its result with the public key.
  if (mbedtls_rsa_rsassa_pkcs1_v15_sign(&ctx.c, rng, &random, MBEDTLS_RSA_PRIVATE, MBEDTLS_MD_NONE,
                                        static_cast<unsigned>(digest_info.size()),
                                        digest_info.data(), signature.data()) != 0) {
    secure_wipe(signature);
    return unexpected(Error::failed);
  }
  return signature;
}

bool verify_pkcs1_v15(ByteView n, ByteView e, ByteView digest_info, ByteView signature) {
  if (n.empty() || e.empty() || digest_info.empty()) return false;
  Context ctx;
  if (mbedtls_rsa_import_raw(&ctx.c, n.data(), n.size(), nullptr, 0, nullptr, 0, nullptr, 0,
                             e.data(), e.size()) != 0 ||
      mbedtls_rsa_complete(&ctx.c) != 0 || mbedtls_rsa_check_pubkey(&ctx.c) != 0)
    return false;
  if (signature.size() != ctx.c.len || digest_info.size() > ctx.c.len - kPaddingOverhead)
    return false;
  return mbedtls_rsa_rsassa_pkcs1_v15_verify(
             &ctx.c, nullptr, nullptr, MBEDTLS_RSA_PUBLIC, MBEDTLS_MD_NONE,
             static_cast<unsigned>(digest_info.size()), digest_info.data(), signature.data()) == 0;
}

}  // namespace juki::card_os::rsa
