// Fuzzes both halves of AES secure messaging with fixed session keys. The first input byte
// picks what the rest is:
//   0: a protected command for the card's unwrap_command (must fail cleanly with an SM or
//      length status word; a forged MAC is not expected to be found)
//   1: a response for the host's unwrap_response (must fail cleanly)
//   2: a plain command APDU: the host wraps it and the card must unwrap exactly it
//   3: response data: the card wraps it and the host must unwrap exactly it
// Beyond memory safety, modes 2 and 3 check the round trip and that both SSCs stay in step.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "card_os/security/secure_messaging.hpp"
#include "common/iso7816/apdu.hpp"
#include "host_middleware/secure_messaging/secure_messaging.hpp"

using namespace juki;
namespace card_sm = juki::card_os::sm;
namespace host_sm = juki::host::sm;

namespace {

void require(bool ok) {
  if (!ok) __builtin_trap();
}

bool same(ByteView a, ByteView b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

const Bytes kSecret(32, 0x5A);

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t mode = data[0] % 4;
  const ByteView in(data + 1, size - 1);
  card_sm::SessionKeys card = card_sm::derive_session_keys(kSecret, card_sm::AesKeySize::aes256);
  auto host_keys = host_sm::derive_session_keys(kSecret, host_sm::AesKeySize::aes256);
  require(host_keys.ok());
  host_sm::SessionKeys host = std::move(*host_keys);

  switch (mode) {
    case 0: {
      auto r = card_sm::unwrap_command(card, in);
      if (!r) {
        const sw::Sw e = r.error();
        require(e == sw::kSmDataMissing || e == sw::kSmDataIncorrect || e == sw::kSmNotSupported ||
                e == sw::kWrongLength);
      }
      break;
    }
    case 1: {
      auto r = host_sm::unwrap_response(host, in);
      (void)r;
      break;
    }
    case 2: {
      auto plain = apdu::parse_command(in);
      auto wrapped = host_sm::wrap_command(host, in);
      if (!plain || !wrapped) break;
      auto got = card_sm::unwrap_command(card, *wrapped);
      require(got.ok());
      require(got->cla == plain->cla && got->ins == plain->ins && got->p1 == plain->p1 &&
              got->p2 == plain->p2 && same(got->data, plain->data) &&
              got->has_le == plain->has_le && got->ne == plain->ne);
      require(same(card.ssc, host.ssc));
      break;
    }
    case 3: {
      const sw::Sw status = in.size() >= 2 ? load_be16(in.data()) : sw::kOk;
      apdu::Response wrapped = card_sm::wrap_response(card, in, status);
      auto got = host_sm::unwrap_response(host, wrapped.encode());
      require(got.ok());
      require(same(got->data, in) && got->sw == status);
      require(same(card.ssc, host.ssc));
      break;
    }
  }
  return 0;
}
