// The card's RSA operations (card_os/security/rsa) against a published vector
// and against OpenSSL, the refusals, and RSA private keys as security objects.
// The card side is mbedTLS only; OpenSSL is here as the independent reference.
#include <catch2/catch.hpp>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <memory>
#include <string>

#include "card_os/fs/file_system.hpp"
#include "card_os/nvm/heap.hpp"
#include "card_os/nvm/persistent_memory.hpp"
#include "card_os/nvm/storage.hpp"
#include "card_os/security/crypto.hpp"
#include "card_os/security/ecc.hpp"
#include "card_os/security/objects.hpp"
#include "card_os/security/random.hpp"
#include "card_os/security/rsa.hpp"
#include "common/bytes.hpp"
#include "support/card_memory.hpp"

using namespace juki;
using namespace juki::card_os;

namespace {

Bytes hex(const std::string& s) {
  auto b = from_hex(s);
  REQUIRE(b.has_value());
  return *b;
}

Bytes concat(ByteView a, ByteView b) {
  Bytes out(a.begin(), a.end());
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

// DigestInfo for SHA-256 (RFC 8017 9.2 note 1): the prefix, then the 32-byte digest.
const std::string kSha256Prefix = "3031300d060960864801650304020105000420";

Bytes sha256_digest_info(ByteView message) {
  const crypto::Digest d = crypto::sha256(message);
  return concat(hex(kSha256Prefix), d);
}

// Project Wycheproof, testvectors/rsa_sig_gen_misc_test.json (RsassaPkcs1Generate,
// source google-wycheproof 0.8r12): the 2048-bit key of the SHA-256 group, tcId 81-88.
// Components taken from the group's privateKeyPkcs8.
const std::string kN =
    "a2b451a07d0aa5f96e455671513550514a8a5b462ebef717094fa1fee82224e637f9746d3f7cafd31878d803"
    "25b6ef5a1700f65903b469429e89d6eac8845097b5ab393189db92512ed8a7711a1253facd20f79c15e8247f"
    "3d3e42e46e48c98e254a2fe9765313a03eff8f17e1a029397a1fa26a8dce26f490ed81299615d9814c22da61"
    "0428e09c7d9658594266f5c021d0fceca08d945a12be82de4d1ece6b4c03145b5d3495d4ed5411eb878daf05"
    "fd7afc3e09ada0f1126422f590975a1969816f48698bcbba1b4d9cae79d460d8f9f85e7975005d9bc22c4e5a"
    "c0f7c1a45d12569a62807d3b9a02e5a530e773066f453d1f5b4c2e9cf7820283f742b9d5";
const std::string kE = "010001";
const std::string kD =
    "7627eef3567b2a27268e52053ecd31c3a7172ccb9ddcee819b306a5b3c66b7573ca4fa88efc6f3c4a00bfa0a"
    "e7139f64543a4dac3d05823f6ff477cfcec84fe2ac7a68b17204b390232e110310c4e899c4e7c10967db4acd"
    "e042dbbf19dbe00b4b4741de1020aaaaffb5054c797c9f136f7d93ac3fc8caff6654242d7821ebee517bf537"
    "f44366a0fdd45ae05b9909c2e6cc1ed9281eff4399f76c96b96233ec29ae0bbf0d752b234fc197389f51050a"
    "a1acd01c074c3ac8fbdb9ea8b651a95995e8db4ad5c43b6c8673e5a126e7ee94b8dff4c5afc01259bc8da769"
    "50bae6f8bae715f50985b0d6f66d04c6fef3b700720eecdcdf171bb7b1ecbe7289c467c1";
const std::string kP =
    "dc431050f782e894fb5248247d98cb7d58b8d1e24f3b55d041c56e4de086b0d5bb028bda42eeb5d234d5681e"
    "5809d415e6a289ad4cfbf78f978f6c35814f50eebff1c5b80a69f788e81e6bab5ddaa78369d659d143ec6f17"
    "e79813a575cfad9c569156b90113e2e9110ad9e7b48a1c9348a6e653321191290ea36cfb3a5b18f1";
const std::string kQ =
    "bd1a81e7977f9898122273ae3222b598ea5fb19eb4eabc38308a5e32196603b2e500ffb79f5b886816611deb"
    "c472fac45544070beb057c941378a6868af3b7a03d3f9880ec47d5e089b94fbde542aba9ae8d72c57088d7ab"
    "f5b131f39098f7bc160f90536abc9492fd4e06f3ed7299d4b97bb03677207d95669f140cfbc20f25";
// tcId 81: msg "" (empty)
const std::string kSigEmpty =
    "840f5dac53106dd1f9c57219224cf51289290c42f20466875ba8e830ac5690e541536fcc8ab03b731f82bf66"
    "d83f194e7e180b3963ec7a2f3f7904a7ce49aed47da4d4b79421eaf937d301b3e696169297b797c32c076a12"
    "be4de0b58e003c5123051a84a10c62f8dac2f42a8640008eb3c7cccd6760ff5b51b689763922582845f048fb"
    "8150e5a7a6ca2eccc7bdc85349ad5b26c52137a79fa3fe5c29ab5cd7615013219c1941b6708e9c3c23feff5f"
    "ebaf0c8ebca5750b54e3e6e99a3e876b396f27860b7f3ec4e9191703c6332d944f6f69751167680c79c4f6b5"
    "7f1cc8755d24b6ec158ccdbacdb23107a33cb6b332516c13274d1f9dccc21dced869e486";
// tcId 83: msg 54657374 ("Test")
const std::string kSigTest =
    "264491e844c119f14e425c03282139a558dcdaeb82a4628173cd407fd319f9076eaebc0dd87a1c22e4d17839"
    "096886d58a9d5b7f7aeb63efec56c45ac7bead4203b6886e1faa90e028ec0ae094d46bf3f97efdd19045cfbc"
    "25a1abda2432639f9876405c0d68f8edbf047c12a454f7681d5d5a2b54bd3723d193dbad4338baad75326400"
    "6e2d08931c4b8bb79aa1c9cad10eb6605f87c5831f6e2b08e002f9c6f21141f5841d92727dd3e1d99c36bc56"
    "0da3c9067df99fcaf818941f72588be33032bad22caf6704223bb114d575b6d02d9d222b580005d930e8f40c"
    "ce9f672eebb634a20177d84351627964b83f2053d736a84ab1a005f63bd5ba943de6205c";
// tcId 87: msg e0e1..ff
const std::string kMsg87 = "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";
const std::string kSig87 =
    "2ae8d95b19cbd64d0e343ff413fffb85d8e6713c06ac8a1ceba7f3924fa740f8d2b3e120fd71f22711e795cd"
    "6468c5e263b1a5ba6ac6b8fa9e23d2d6e7243f510592a61d134e68b8ead00612dbf38c5b7302abc3bf33f23e"
    "6d4816a6e3ddcea6482566e84f57464f7d56de4cef0b2256ef21874dda4c131a47292ff8ef853f93804483c8"
    "e6373d39ca3a22552e75427b812b861de6a310ff4c366f6f6604116efd9770170aa423554c4ebbd2b5c06989"
    "50e66bb5b7c5c346285d9f5c35146255736b6e818e8e77983c93b21e7f60b04a7a525598e7fd8049b181000b"
    "ffc7f3753a504370f6bb70617ac8e914deb05a198a5758a459c9fcd2fce1aede48e8a852";

Bytes wycheproof_key() {
  auto stored = rsa::from_components(hex(kN), hex(kE), hex(kD), hex(kP), hex(kQ));
  REQUIRE(stored);
  return *stored;
}

// --- OpenSSL, as the reference -------------------------------------------------------

struct BnFree {
  void operator()(BIGNUM* b) const { BN_clear_free(b); }
};
using Bn = std::unique_ptr<BIGNUM, BnFree>;
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;

Bn bn(ByteView b) {
  return Bn(BN_bin2bn(b.data(), static_cast<int>(b.size()), nullptr));
}

// An OpenSSL private key from a stored key, read through its documented layout
// (rsa.hpp): p, q and e, with n, d and the CRT values computed here by OpenSSL.
Pkey openssl_key(ByteView stored) {
  const auto bits = rsa::modulus_bits(stored);
  REQUIRE(bits.has_value());
  const std::size_t h = (*bits + 15) / 16;
  Bn p = bn(stored.subspan(rsa::kStoredHeaderSize, h));
  Bn q = bn(stored.subspan(rsa::kStoredHeaderSize + h, h));
  Bn e = bn(stored.subspan(4, 4));
  std::unique_ptr<BN_CTX, decltype(&BN_CTX_free)> ctx(BN_CTX_new(), BN_CTX_free);
  Bn n(BN_new()), p1(BN_dup(p.get())), q1(BN_dup(q.get())), phi(BN_new()), dp(BN_new()),
      dq(BN_new());
  REQUIRE(BN_mul(n.get(), p.get(), q.get(), ctx.get()) == 1);
  REQUIRE(BN_sub_word(p1.get(), 1) == 1);
  REQUIRE(BN_sub_word(q1.get(), 1) == 1);
  REQUIRE(BN_mul(phi.get(), p1.get(), q1.get(), ctx.get()) == 1);
  Bn d(BN_mod_inverse(nullptr, e.get(), phi.get(), ctx.get()));
  REQUIRE(d != nullptr);
  REQUIRE(BN_mod(dp.get(), d.get(), p1.get(), ctx.get()) == 1);
  REQUIRE(BN_mod(dq.get(), d.get(), q1.get(), ctx.get()) == 1);
  Bn qinv(BN_mod_inverse(nullptr, q.get(), p.get(), ctx.get()));
  REQUIRE(qinv != nullptr);

  std::unique_ptr<OSSL_PARAM_BLD, decltype(&OSSL_PARAM_BLD_free)> bld(OSSL_PARAM_BLD_new(),
                                                                      OSSL_PARAM_BLD_free);
  REQUIRE(OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) == 1);
  REQUIRE(OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) == 1);
  REQUIRE(OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_D, d.get()) == 1);
  REQUIRE(OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_FACTOR1, p.get()) == 1);
  REQUIRE(OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_FACTOR2, q.get()) == 1);
  REQUIRE(OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_EXPONENT1, dp.get()) == 1);
  REQUIRE(OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_EXPONENT2, dq.get()) == 1);
  REQUIRE(OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_COEFFICIENT1, qinv.get()) == 1);
  std::unique_ptr<OSSL_PARAM, decltype(&OSSL_PARAM_free)> params(OSSL_PARAM_BLD_to_param(bld.get()),
                                                                 OSSL_PARAM_free);
  REQUIRE(params != nullptr);

  PkeyCtx pctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  EVP_PKEY* key = nullptr;
  REQUIRE(EVP_PKEY_fromdata_init(pctx.get()) == 1);
  REQUIRE(EVP_PKEY_fromdata(pctx.get(), &key, EVP_PKEY_KEYPAIR, params.get()) == 1);
  return Pkey(key);
}

// RSASSA-PKCS1-v1_5 over `digest_info` as given (no digest set: type-1 padding only).
Bytes openssl_sign_raw(EVP_PKEY* key, ByteView digest_info) {
  PkeyCtx ctx(EVP_PKEY_CTX_new(key, nullptr));
  REQUIRE(EVP_PKEY_sign_init(ctx.get()) == 1);
  REQUIRE(EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) == 1);
  std::size_t len = 0;
  REQUIRE(EVP_PKEY_sign(ctx.get(), nullptr, &len, digest_info.data(), digest_info.size()) == 1);
  Bytes sig(len);
  REQUIRE(EVP_PKEY_sign(ctx.get(), sig.data(), &len, digest_info.data(), digest_info.size()) == 1);
  sig.resize(len);
  return sig;
}

// OpenSSL's ordinary SHA-256 verification of `message`: hashes and builds the
// DigestInfo itself.
bool openssl_verify_sha256(EVP_PKEY* key, ByteView message, ByteView sig) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  return EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) == 1 &&
         EVP_DigestVerify(ctx.get(), sig.data(), sig.size(), message.data(), message.size()) == 1;
}

using Memory = test::CardMemory;

}  // namespace

TEST_CASE("rsa: PKCS#1 v1.5 signatures match the Wycheproof RSA-2048 SHA-256 vectors", "[rsa]") {
  DrbgRandom random(hex("00112233"));
  const Bytes stored = wycheproof_key();
  CHECK(stored.size() == rsa::stored_size(2048));
  CHECK(stored.size() == 264);
  CHECK(rsa::modulus_bits(stored) == 2048u);

  auto pk = rsa::public_key(stored);
  REQUIRE(pk);
  CHECK(to_hex(pk->n) == to_hex(hex(kN)));
  CHECK(to_hex(pk->e) == "010001");

  const Bytes di_empty = sha256_digest_info({});
  CHECK(di_empty.size() == 51);
  auto s1 = rsa::sign_pkcs1_v15(stored, di_empty, random);
  REQUIRE(s1);
  CHECK(to_hex(*s1) == to_hex(hex(kSigEmpty)));

  auto s2 = rsa::sign_pkcs1_v15(stored, sha256_digest_info(as_bytes("Test")), random);
  REQUIRE(s2);
  CHECK(to_hex(*s2) == to_hex(hex(kSigTest)));

  auto s3 = rsa::sign_pkcs1_v15(stored, sha256_digest_info(hex(kMsg87)), random);
  REQUIRE(s3);
  CHECK(to_hex(*s3) == to_hex(hex(kSig87)));

  // Verification of the published signatures, and nothing else.
  CHECK(rsa::verify_pkcs1_v15(pk->n, pk->e, di_empty, hex(kSigEmpty)));
  CHECK(rsa::verify_pkcs1_v15(pk->n, pk->e, sha256_digest_info(as_bytes("Test")), hex(kSigTest)));
  CHECK_FALSE(rsa::verify_pkcs1_v15(pk->n, pk->e, di_empty, hex(kSigTest)));
  Bytes tampered = hex(kSigEmpty);
  tampered[100] ^= 0x01;
  CHECK_FALSE(rsa::verify_pkcs1_v15(pk->n, pk->e, di_empty, tampered));
  Bytes short_sig = hex(kSigEmpty);
  short_sig.pop_back();
  CHECK_FALSE(rsa::verify_pkcs1_v15(pk->n, pk->e, di_empty, short_sig));
  CHECK_FALSE(rsa::verify_pkcs1_v15({}, pk->e, di_empty, hex(kSigEmpty)));

  // The same key imported from n, e and d alone (the primes recovered) signs the same.
  auto from_d = rsa::from_components(hex(kN), hex(kE), hex(kD));
  REQUIRE(from_d);
  auto s4 = rsa::sign_pkcs1_v15(*from_d, di_empty, random);
  REQUIRE(s4);
  CHECK(to_hex(*s4) == to_hex(hex(kSigEmpty)));
}

TEST_CASE("rsa: a key generated on the card signs as OpenSSL does with the same key", "[rsa]") {
  DrbgRandom random(hex("4A504B4920524341"));
  auto pair = rsa::generate(random);  // RSA-2048, e = 65537
  REQUIRE(pair);
  const Bytes& stored = pair->private_key;
  CHECK(stored.size() == 264);
  CHECK(rsa::modulus_bits(stored) == 2048u);
  CHECK(pair->public_key.n.size() == 256);
  CHECK((pair->public_key.n[0] & 0x80) != 0);  // a full 2048-bit modulus
  CHECK(to_hex(pair->public_key.e) == "010001");

  auto pk = rsa::public_key(stored);
  REQUIRE(pk);
  CHECK(pk->n == pair->public_key.n);
  CHECK(pk->e == pair->public_key.e);

  const ByteView message = as_bytes("JPKI signature test message");
  const Bytes digest_info = sha256_digest_info(message);
  auto sig = rsa::sign_pkcs1_v15(stored, digest_info, random);
  REQUIRE(sig);
  CHECK(sig->size() == 256);
  // mbedTLS's public operation accepts it.
  CHECK(rsa::verify_pkcs1_v15(pk->n, pk->e, digest_info, *sig));
  // Blinding draws on the random stream, but the signature is deterministic.
  auto again = rsa::sign_pkcs1_v15(stored, digest_info, random);
  REQUIRE(again);
  CHECK(*again == *sig);

  // OpenSSL, with the same key: the same signature, and an ordinary SHA-256
  // verification of the message accepts the card's.
  const Pkey key = openssl_key(stored);
  CHECK(EVP_PKEY_get_bits(key.get()) == 2048);
  CHECK(to_hex(openssl_sign_raw(key.get(), digest_info)) == to_hex(*sig));
  CHECK(openssl_verify_sha256(key.get(), message, *sig));
  CHECK_FALSE(openssl_verify_sha256(key.get(), as_bytes("another message"), *sig));

  // The card signs whatever DigestInfo it is given, as long as it fits: the
  // longest (k - 11 = 245 bytes) too, still as OpenSSL does.
  Bytes longest(245);
  for (std::size_t i = 0; i < longest.size(); ++i) longest[i] = static_cast<std::uint8_t>(i);
  auto raw = rsa::sign_pkcs1_v15(stored, longest, random);
  REQUIRE(raw);
  CHECK(to_hex(*raw) == to_hex(openssl_sign_raw(key.get(), longest)));
  CHECK(rsa::verify_pkcs1_v15(pk->n, pk->e, longest, *raw));
}

TEST_CASE("rsa: too long or empty input, malformed stored keys and bad parameters are refused",
          "[rsa]") {
  DrbgRandom random(hex("0102030405060708"));
  const Bytes stored = wycheproof_key();

  // k - 11 = 245 bytes fit, one more does not; empty is refused.
  CHECK(rsa::sign_pkcs1_v15(stored, Bytes(245, 0xAB), random));
  auto too_long = rsa::sign_pkcs1_v15(stored, Bytes(246, 0xAB), random);
  REQUIRE_FALSE(too_long);
  CHECK(too_long.error() == rsa::Error::bad_length);
  auto too_long2 = rsa::sign_pkcs1_v15(stored, Bytes(256, 0xAB), random);
  REQUIRE_FALSE(too_long2);
  CHECK(too_long2.error() == rsa::Error::bad_length);
  auto empty = rsa::sign_pkcs1_v15(stored, {}, random);
  REQUIRE_FALSE(empty);
  CHECK(empty.error() == rsa::Error::bad_length);
  CHECK_FALSE(rsa::verify_pkcs1_v15(hex(kN), hex(kE), Bytes(246, 0xAB), hex(kSigEmpty)));

  const Bytes di = sha256_digest_info(as_bytes("x"));
  auto refused = [&](const Bytes& bad) {
    auto s = rsa::sign_pkcs1_v15(bad, di, random);
    auto p = rsa::public_key(bad);
    return !s && s.error() == rsa::Error::bad_key && !p && p.error() == rsa::Error::bad_key;
  };
  Bytes truncated = stored;
  truncated.pop_back();
  CHECK_FALSE(rsa::modulus_bits(truncated).has_value());
  CHECK(refused(truncated));
  Bytes longer = stored;
  longer.push_back(0);
  CHECK(refused(longer));
  CHECK(refused(Bytes{}));
  CHECK(refused(Bytes(rsa::kStoredHeaderSize, 0)));
  Bytes format = stored;
  format[0] = 2;
  CHECK(refused(format));
  Bytes reserved = stored;
  reserved[1] = 1;
  CHECK(refused(reserved));
  Bytes bits = stored;  // 2032 bits stated, layout of 2048: size mismatch
  store_be16(&bits[2], 2032);
  CHECK(refused(bits));
  Bytes small = stored;  // 512 bits: below the minimum
  store_be16(&small[2], 512);
  CHECK(refused(small));
  Bytes even_e = stored;
  even_e[7] = 0x00;  // e = 65536
  CHECK(refused(even_e));
  Bytes zero_p = stored;
  std::fill(zero_p.begin() + 8, zero_p.begin() + 8 + 128, 0);
  CHECK(refused(zero_p));
  Bytes even_p = stored;
  even_p[8 + 127] &= 0xFE;
  CHECK(refused(even_p));
  Bytes same_pq = stored;  // p = q
  std::copy(stored.begin() + 8, stored.begin() + 8 + 128, same_pq.begin() + 8 + 128);
  CHECK(refused(same_pq));
  Bytes short_n = stored;  // the top of p cleared: n no longer 2048 bits
  short_n[8] = 0;
  CHECK(refused(short_n));
  // A composite p that still loads is caught by mbedTLS's check of the result.
  Bytes composite = stored;
  composite[8 + 64] ^= 0x10;
  auto s = rsa::sign_pkcs1_v15(composite, di, random);
  CHECK_FALSE(s);

  // Generation and import refuse what the card does not support.
  auto odd_size = rsa::generate(random, 2040);
  REQUIRE_FALSE(odd_size);
  CHECK(odd_size.error() == rsa::Error::bad_parameters);
  auto too_small = rsa::generate(random, 512);
  REQUIRE_FALSE(too_small);
  CHECK(too_small.error() == rsa::Error::bad_parameters);
  auto too_big = rsa::generate(random, 8192);
  REQUIRE_FALSE(too_big);
  CHECK(too_big.error() == rsa::Error::bad_parameters);
  Bytes wrong_d = hex(kD);
  wrong_d.back() ^= 0x02;
  auto inconsistent = rsa::from_components(hex(kN), hex(kE), wrong_d, hex(kP), hex(kQ));
  REQUIRE_FALSE(inconsistent);
  CHECK(inconsistent.error() == rsa::Error::bad_parameters);
  CHECK_FALSE(rsa::from_components(hex(kN), hex(kE), hex(kD), hex(kP), {}));
  CHECK_FALSE(rsa::from_components({}, {}, {}, {}, {}));
}

TEST_CASE("objects: RSA private keys are stored privately beside an EC key", "[rsa][objects]") {
  Memory mem;
  const Bytes key1 = wycheproof_key();
  Bytes key2 = key1;  // a second key of the same size (the layout is all put_rsa_key checks)
  key2[100] ^= 0x5A;
  DrbgRandom random(hex("0badcafe"));
  const ecc::KeyPair ec = ecc::generate(random);

  const std::uint32_t free_at_start = mem.heap.free_bytes();
  Transaction tx(mem.m);
  FileSpec app;
  app.type = FileType::df;
  app.fid = 0x2001;
  app.name = hex("D392F000260100000001");
  auto df = mem.fs.create(mem.mf, app);
  REQUIRE(df);
  const std::uint32_t free_before = mem.heap.free_bytes();
  auto o1 = mem.objects.put_rsa_key(*df, 1, key1);
  auto o2 = mem.objects.put_rsa_key(*df, 2, key2);
  auto oe = mem.objects.put_ec_key(*df, 3, ec.secret);
  REQUIRE(o1);
  REQUIRE(o2);
  REQUIRE(oe);
  // 16-byte object header + 264-byte key, in a 4-byte-headed heap block: 284 bytes a key.
  CHECK(free_before - mem.heap.free_bytes() == 2 * 284 + 52);
  CHECK(mem.objects.find(*df, ObjectKind::rsa_key, 1) == *o1);
  CHECK(mem.objects.find(*df, ObjectKind::rsa_key, 2) == *o2);
  CHECK(mem.objects.find(*df, ObjectKind::ec_key, 1) == 0);
  CHECK(mem.objects.find(*df, ObjectKind::rsa_key, 3) == 0);
  CHECK(mem.objects.rsa_secret(*o1) == key1);
  CHECK(mem.objects.rsa_secret(*o2) == key2);
  CHECK(mem.objects.ec_secret(*oe) == ec.secret);
  // Certificates beside them: two of 2 KB each for the two keys, and a CA's.
  for (std::uint16_t fid : {0x000A, 0x000B, 0x000C}) {
    FileSpec cert;
    cert.fid = fid;
    cert.size = 2048;
    REQUIRE(mem.fs.create(*df, cert));
  }
  CHECK(mem.m.journal_bytes_pending() <= NvmGeometry{}.journal_capacity);
  tx.commit();
  INFO("heap free after 2 RSA-2048 keys, an EC key and 6 KB of certificates: "
       << mem.heap.free_bytes() << " of " << mem.heap.total_bytes());
  CHECK(mem.heap.free_bytes() > 48 * 1024);

  // Bad references and values are refused.
  {
    Transaction t(mem.m);
    auto bad_ref = mem.objects.put_rsa_key(*df, 0, key1);
    REQUIRE_FALSE(bad_ref);
    CHECK(bad_ref.error() == sw::kIncorrectP1P2);
    CHECK_FALSE(mem.objects.put_rsa_key(*df, 32, key1));
    auto bad_value = mem.objects.put_rsa_key(*df, 4, Bytes(264, 0x01));
    REQUIRE_FALSE(bad_value);
    CHECK(bad_value.error() == sw::kWrongData);
  }

  // Replacing a key of the same size: in place. A shorter one: in place, the
  // rest cleared. A longer one: a new block, the old one freed.
  auto fake_key = [](unsigned bits) {  // the layout of a stored key, nothing more
    Bytes k(rsa::stored_size(bits), 0x77);
    k[0] = rsa::kStoredFormat;
    k[1] = 0;
    store_be16(&k[2], static_cast<std::uint16_t>(bits));
    store_be32(&k[4], 65537);
    return k;
  };
  const Bytes key1024 = fake_key(1024);
  const Bytes key3072 = fake_key(3072);
  {
    Transaction t(mem.m);
    auto same = mem.objects.put_rsa_key(*df, 1, key2);
    REQUIRE(same);
    CHECK(*same == *o1);
    CHECK(mem.objects.rsa_secret(*o1) == key2);
    const std::uint32_t free_now = mem.heap.free_bytes();
    auto shorter = mem.objects.put_rsa_key(*df, 1, key1024);
    REQUIRE(shorter);
    CHECK(*shorter == *o1);
    CHECK(mem.objects.rsa_secret(*o1) == key1024);
    const ByteView tail = mem.m.read(*o1 + 16 + 136, 264 - 136);
    CHECK(std::all_of(tail.begin(), tail.end(), [](std::uint8_t b) { return b == 0; }));
    CHECK(mem.heap.free_bytes() == free_now);
    auto longer = mem.objects.put_rsa_key(*df, 1, key3072);
    REQUIRE(longer);
    CHECK(*longer != *o1);
    CHECK(mem.objects.find(*df, ObjectKind::rsa_key, 1) == *longer);
    CHECK(mem.objects.rsa_secret(*longer) == key3072);
    CHECK(mem.objects.rsa_secret(*o2) == key2);
    CHECK(mem.objects.ec_secret(*oe) == ec.secret);
    CHECK(mem.heap.free_bytes() == free_now - (4 + 16 + 392) + (284 - 4));
    const ByteView old = mem.m.read(*o1 + 4, 276);  // past the free block's next link
    CHECK(std::all_of(old.begin(), old.end(), [](std::uint8_t b) { return b == 0; }));
    t.commit();
  }

  // Removing the application frees (and wipes) everything it held.
  {
    Transaction t(mem.m);
    REQUIRE(mem.fs.remove(*df) == sw::kOk);
    t.commit();
  }
  CHECK(mem.heap.free_bytes() == free_at_start);
  const ByteView image = mem.m.read(0, mem.m.capacity());
  for (const Bytes& k : {key1, key2})
    CHECK(std::search(image.begin(), image.end(), k.begin() + 8, k.end()) == image.end());
}
