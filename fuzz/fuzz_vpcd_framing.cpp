// Fuzzes the vpcd framing decoder with the bytes a peer could send, cut into
// pieces the fuzzer chooses. Beyond memory safety (ASan/UBSan) it checks that
// the decoded messages, framed again, are exactly the bytes consumed, that no
// payload is empty or above the limit, and that piecewise and whole decoding agree.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "simulator/vpcd/framing.hpp"

using namespace juki;

namespace {

void require(bool ok) {
  if (!ok) __builtin_trap();
}

struct Outcome {
  std::vector<Bytes> messages;
  bool failed = false;
};

// Feeds `stream` in pieces whose sizes come from `cuts`, decoding after each.
Outcome decode(ByteView stream, ByteView cuts, std::size_t limit) {
  vpcd::FrameDecoder d(limit);
  Outcome o;
  std::size_t at = 0, c = 0;
  while (at < stream.size() && !o.failed) {
    std::size_t n = cuts.empty() ? stream.size() : std::size_t{cuts[c++ % cuts.size()]} + 1;
    n = std::min(n, stream.size() - at);
    d.feed(stream.subspan(at, n));
    at += n;
    for (;;) {
      auto m = d.next();
      if (!m) {
        o.failed = true;
        break;
      }
      if (!m->has_value()) break;
      require(!(*m)->empty() && (*m)->size() <= limit);
      (void)vpcd::classify(**m);
      o.messages.push_back(std::move(**m));
    }
  }
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  // First byte: how many cut sizes follow; second: the payload limit (scaled).
  const std::size_t ncuts = std::min<std::size_t>(data[0] % 16, size - 2);
  const std::size_t limit = data[1] == 0 ? vpcd::kMaxPayload : std::size_t{data[1]} * 4;
  const ByteView cuts(data + 2, ncuts);
  const ByteView stream(data + 2 + ncuts, size - 2 - ncuts);

  const Outcome pieces = decode(stream, cuts, limit);
  const Outcome whole = decode(stream, {}, limit);
  require(pieces.failed == whole.failed);
  require(pieces.messages == whole.messages);

  Bytes again;
  for (const Bytes& m : whole.messages) {
    auto f = vpcd::encode(m);
    require(f.ok());
    again.insert(again.end(), f->begin(), f->end());
  }
  require(again.size() <= stream.size());
  require(std::equal(again.begin(), again.end(), stream.begin()));
  return 0;
}
