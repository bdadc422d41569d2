#include "card_os/security/crypto.hpp"

#include <mbedtls/cipher.h>
#include <mbedtls/cmac.h>
// mbedTLS 2.28's constant_time.h lacks the C++ linkage guard its other headers have.
extern "C" {
#include <mbedtls/constant_time.h>
}
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/sha256.h>

#include "card_os/security/random.hpp"
#include "common/secure_wipe.hpp"

namespace juki::card_os {

namespace crypto {

Digest sha256(ByteView a, ByteView b) {
  Digest out{};
  mbedtls_sha256_context ctx;
  mbedtls_sha256_init(&ctx);
  mbedtls_sha256_starts_ret(&ctx, 0);
  mbedtls_sha256_update_ret(&ctx, a.data(), a.size());
  mbedtls_sha256_update_ret(&ctx, b.data(), b.size());
  mbedtls_sha256_finish_ret(&ctx, out.data());
  mbedtls_sha256_free(&ctx);
  return out;
}

bool aes_cmac(ByteView key, ByteView message, std::array<std::uint8_t, 16>& mac) {
  mbedtls_cipher_type_t type;
  switch (key.size()) {
    case 16:
      type = MBEDTLS_CIPHER_AES_128_ECB;
      break;
    case 24:
      type = MBEDTLS_CIPHER_AES_192_ECB;
      break;
    case 32:
      type = MBEDTLS_CIPHER_AES_256_ECB;
      break;
    default:
      return false;
  }
  return mbedtls_cipher_cmac(mbedtls_cipher_info_from_type(type), key.data(), key.size() * 8,
                             message.data(), message.size(), mac.data()) == 0;
}

bool equal_ct(ByteView a, ByteView b) {
  if (a.size() != b.size()) return false;
  return mbedtls_ct_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace crypto

// ---------------------------------------------------------------- DrbgRandom

struct DrbgRandom::State {
  mbedtls_ctr_drbg_context drbg;  // mbedtls_ctr_drbg_free zeroizes it
  SecretBytes seed;               // the whole stream follows from it: wiped with the state
  std::size_t seed_used = 0;
};

namespace {
// CTR_DRBG's entropy callback: hands out the caller's seed (repeating it if
// the DRBG asks for more), which makes the stream a pure function of the seed.
int seed_entropy(void* p, unsigned char* out, size_t len) {
  auto* s = static_cast<DrbgRandom::State*>(p);
  for (size_t i = 0; i < len; ++i) out[i] = s->seed[(s->seed_used++) % s->seed.size()];
  return 0;
}
}  // namespace

DrbgRandom::DrbgRandom(ByteView seed) : state_(std::make_unique<State>()) {
  state_->seed.assign(seed.begin(), seed.end());
  if (state_->seed.empty()) state_->seed.push_back(0);
  mbedtls_ctr_drbg_init(&state_->drbg);
  // Only a failing entropy callback or an over-long personalization fail it: neither here.
  if (mbedtls_ctr_drbg_seed(&state_->drbg, seed_entropy, state_.get(), nullptr, 0) != 0) {
    mbedtls_ctr_drbg_free(&state_->drbg);
    throw CryptoFault("CTR_DRBG seeding failed");
  }
  // Reseeding would re-read the seed; the stream stays deterministic either way.
  mbedtls_ctr_drbg_set_prediction_resistance(&state_->drbg, MBEDTLS_CTR_DRBG_PR_OFF);
}

DrbgRandom::~DrbgRandom() {
  mbedtls_ctr_drbg_free(&state_->drbg);
}

void DrbgRandom::fill(std::span<std::uint8_t> out) {
  std::size_t done = 0;
  while (done < out.size()) {
    std::size_t n = std::min<std::size_t>(out.size() - done, MBEDTLS_CTR_DRBG_MAX_REQUEST);
    // Requests are within MBEDTLS_CTR_DRBG_MAX_REQUEST and reseeding re-reads the seed.
    if (mbedtls_ctr_drbg_random(&state_->drbg, out.data() + done, n) != 0)
      throw CryptoFault("CTR_DRBG generation failed");
    done += n;
  }
}

}  // namespace juki::card_os
