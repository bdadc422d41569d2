// Fuzzes command APDU parsing and response splitting. Beyond memory safety (ASan/UBSan)
// it checks that parse_command only fails with 6700, that an accepted command accounts for
// exactly its input, and that encode_command gives back the same command.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "common/iso7816/apdu.hpp"

using namespace juki;

namespace {

void require(bool ok) {
  if (!ok) __builtin_trap();
}

bool same_bytes(ByteView a, ByteView b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

void check_response(ByteView in) {
  auto r = apdu::Response::decode(in);
  require(r.ok() == (in.size() >= 2));
  if (!r) return;
  require(same_bytes(r->encode(), in));
}

void check_command(ByteView in) {
  auto c = apdu::parse_command(in);
  if (!c) {
    require(c.error() == sw::kWrongLength);
    return;
  }
  // The data view lies inside the input.
  require(c->data.empty() || (c->data.data() >= in.data() &&
                              c->data.data() + c->data.size() <= in.data() + in.size()));
  require(c->apdu_case >= 1 && c->apdu_case <= 4);
  require(c->has_le == (c->apdu_case == 2 || c->apdu_case == 4));
  require(c->data.empty() == (c->apdu_case <= 2));
  require(c->has_le ? (c->ne >= 1 && c->ne <= 65536) : c->ne == 0);
  require(c->extended || (c->data.size() <= 255 && c->ne <= 256));

  const Bytes again = apdu::encode_command(c->cla, c->ins, c->p1, c->p2, c->data, c->ne);
  auto r = apdu::parse_command(again);
  require(r.ok());
  require(r->cla == c->cla && r->ins == c->ins && r->p1 == c->p1 && r->p2 == c->p2);
  require(same_bytes(r->data, c->data));
  require(r->ne == c->ne && r->has_le == c->has_le && r->apdu_case == c->apdu_case);
  require(r->extended == (c->data.size() > 255 || c->ne > 256));
  // Each form has one encoding, so a command re-encoded in its own form is the same bytes.
  if (r->extended == c->extended) require(same_bytes(again, in));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ByteView in(data, size);
  check_command(in);
  check_response(in);
  return 0;
}
