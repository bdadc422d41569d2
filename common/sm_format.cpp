#include "common/sm_format.hpp"

namespace juki::sm_format {

void increment_ssc(Ssc& ssc) {
  for (std::size_t i = ssc.size(); i-- > 0;)
    if (++ssc[i] != 0) break;
}

void pad_into(Bytes& out, ByteView in) {
  out.insert(out.end(), in.begin(), in.end());
  out.push_back(0x80);
  while (out.size() % kBlock != 0) out.push_back(0x00);
}

std::optional<std::size_t> unpadded_size(ByteView in) {
  std::size_t n = in.size();
  const std::size_t floor = n >= kBlock ? n - kBlock : 0;
  while (n > floor && in[n - 1] == 0x00) --n;
  if (n == floor || in[n - 1] != 0x80) return std::nullopt;
  return n - 1;
}

}  // namespace juki::sm_format
