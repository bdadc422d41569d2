#include "card_os/security/ecc.hpp"

#include <mbedtls/bignum.h>
#include <mbedtls/ecdh.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>
#include <mbedtls/platform_util.h>

#include "card_os/security/crypto.hpp"

namespace juki::card_os::ecc {

namespace {

// mbedTLS's f_rng signature over the card's random stream.
int rng(void* ctx, unsigned char* out, std::size_t len) {
  static_cast<RandomSource*>(ctx)->fill(std::span<std::uint8_t>(out, len));
  return 0;
}

// The mbedTLS objects one operation needs, freed on every path.
struct Curve {
  mbedtls_ecp_group group;
  Curve() {
    mbedtls_ecp_group_init(&group);
    mbedtls_ecp_group_load(&group, MBEDTLS_ECP_DP_SECP256R1);
  }
  ~Curve() { mbedtls_ecp_group_free(&group); }
  Curve(const Curve&) = delete;
  Curve& operator=(const Curve&) = delete;
};

struct Mpi {
  mbedtls_mpi v;
  Mpi() { mbedtls_mpi_init(&v); }
  ~Mpi() { mbedtls_mpi_free(&v); }  // mbedTLS zeroizes limbs on free
  Mpi(const Mpi&) = delete;
  Mpi& operator=(const Mpi&) = delete;
};

struct EcPoint {
  mbedtls_ecp_point p;
  EcPoint() { mbedtls_ecp_point_init(&p); }
  ~EcPoint() { mbedtls_ecp_point_free(&p); }
  EcPoint(const EcPoint&) = delete;
  EcPoint& operator=(const EcPoint&) = delete;
};

// Reads an uncompressed point and checks that it is on the curve.
bool read_point(const Curve& c, ByteView bytes, EcPoint& out) {
  if (bytes.size() != kPointSize || bytes[0] != 0x04) return false;
  if (mbedtls_ecp_point_read_binary(&c.group, &out.p, bytes.data(), bytes.size()) != 0)
    return false;
  return mbedtls_ecp_check_pubkey(&c.group, &out.p) == 0;
}

bool write_point(const Curve& c, const EcPoint& in, Point& out) {
  std::size_t len = 0;
  return mbedtls_ecp_point_write_binary(&c.group, &in.p, MBEDTLS_ECP_PF_UNCOMPRESSED, &len,
                                        out.data(), out.size()) == 0 &&
         len == out.size();
}

}  // namespace

KeyPair generate(RandomSource& random) {
  Curve c;
  Mpi d;
  EcPoint q;
  KeyPair k;
  // With a working random stream this cannot fail on P-256.
  mbedtls_ecp_gen_keypair(&c.group, &d.v, &q.p, rng, &random);
  mbedtls_mpi_write_binary(&d.v, k.secret.data(), k.secret.size());
  write_point(c, q, k.point);
  return k;
}

bool valid_point(ByteView point) {
  Curve c;
  EcPoint q;
  return read_point(c, point, q);
}

Signature sign(const Scalar& secret, ByteView message, RandomSource& random) {
  const crypto::Digest digest = crypto::sha256(message);
  Curve c;
  Mpi d, r, s;
  Signature out{};
  mbedtls_mpi_read_binary(&d.v, secret.data(), secret.size());
  mbedtls_ecdsa_sign(&c.group, &r.v, &s.v, &d.v, digest.data(), digest.size(), rng, &random);
  mbedtls_mpi_write_binary(&r.v, out.data(), kScalarSize);
  mbedtls_mpi_write_binary(&s.v, out.data() + kScalarSize, kScalarSize);
  return out;
}

bool verify(ByteView point, ByteView message, ByteView signature) {
  if (signature.size() != kSignatureSize) return false;
  Curve c;
  EcPoint q;
  if (!read_point(c, point, q)) return false;
  Mpi r, s;
  if (mbedtls_mpi_read_binary(&r.v, signature.data(), kScalarSize) != 0 ||
      mbedtls_mpi_read_binary(&s.v, signature.data() + kScalarSize, kScalarSize) != 0)
    return false;
  const crypto::Digest digest = crypto::sha256(message);
  return mbedtls_ecdsa_verify(&c.group, digest.data(), digest.size(), &q.p, &r.v, &s.v) == 0;
}

bool verify_der_digest(ByteView point, ByteView digest, ByteView der_signature) {
  mbedtls_ecdsa_context key;
  mbedtls_ecdsa_init(&key);
  bool ok = mbedtls_ecp_group_load(&key.grp, MBEDTLS_ECP_DP_SECP256R1) == 0 &&
            point.size() == kPointSize && point[0] == 0x04 &&
            mbedtls_ecp_point_read_binary(&key.grp, &key.Q, point.data(), point.size()) == 0 &&
            mbedtls_ecp_check_pubkey(&key.grp, &key.Q) == 0 &&
            mbedtls_ecdsa_read_signature(&key, digest.data(), digest.size(), der_signature.data(),
                                         der_signature.size()) == 0;
  mbedtls_ecdsa_free(&key);
  return ok;
}

std::optional<Scalar> ecdh(const Scalar& secret, ByteView peer, RandomSource& random) {
  Curve c;
  EcPoint q;
  if (!read_point(c, peer, q)) return std::nullopt;
  Mpi d, z;
  mbedtls_mpi_read_binary(&d.v, secret.data(), secret.size());
  if (mbedtls_ecdh_compute_shared(&c.group, &z.v, &q.p, &d.v, rng, &random) != 0)
    return std::nullopt;
  Scalar out{};
  mbedtls_mpi_write_binary(&z.v, out.data(), out.size());
  return out;
}

}  // namespace juki::card_os::ecc
