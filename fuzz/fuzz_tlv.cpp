// Fuzzes the BER-TLV decoder. Beyond memory safety it checks that decoded objects stay
// inside the input, that decode_one, decode_all and find agree, and that every decoded
// object re-encoded with tlv::append decodes to the same tag and value (nested ones too).
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "common/iso7816/tlv.hpp"

using namespace juki;

namespace {

constexpr int kMaxDepth = 16;
constexpr std::size_t kMaxFindChecks = 16;

void require(bool ok) {
  if (!ok) __builtin_trap();
}

bool same_bytes(ByteView a, ByteView b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

bool inside(ByteView part, ByteView whole) {
  return part.empty() ||
         (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

void check_round_trip(const tlv::Tlv& t) {
  Bytes out;
  tlv::append(out, t.tag, t.value);
  auto back = tlv::decode_one(out);
  require(back.ok());
  require(back->tag == t.tag);
  require(same_bytes(back->value, t.value));
  require(back->encoded_size == out.size());
  require(back->constructed() == t.constructed());
  // The shortest encoding is never longer than the one that was read.
  require(out.size() <= t.encoded_size);
}

void check_sequence(ByteView in, int depth) {
  auto one = tlv::decode_one(in);
  if (one) {
    require(one->encoded_size >= 2 && one->encoded_size <= in.size());
    require(inside(one->value, in.first(one->encoded_size)));
    check_round_trip(*one);
  }

  auto all = tlv::decode_all(in);
  if (!all) {
    if (one) require(one->encoded_size < in.size());  // the failure is further on
    if (!one) require(all.error() == one.error() || in.empty());
    if (one) require(!tlv::find(in, one->tag));
    return;
  }
  require(in.empty() || one.ok());
  std::size_t total = 0;
  tlv::Builder rebuilt;
  for (std::size_t i = 0; i < all->size(); ++i) {
    const tlv::Tlv& t = (*all)[i];
    require(inside(t.value, in));
    total += t.encoded_size;
    check_round_trip(t);
    rebuilt.add(t.tag, t.value);
    if (t.constructed() && depth < kMaxDepth) check_sequence(t.value, depth + 1);
    // find returns the first object with the tag; checked for the first few only, as
    // find decodes the whole input each time.
    if (i < kMaxFindChecks) {
      auto f = tlv::find(in, t.tag);
      require(f.has_value());
      auto first =
          std::find_if(all->begin(), all->end(), [&](const tlv::Tlv& x) { return x.tag == t.tag; });
      require(f->value.data() == first->value.data() && f->value.size() == first->value.size());
    }
  }
  require(total == in.size());

  // The same sequence built again decodes to the same tags and values.
  auto again = tlv::decode_all(rebuilt.bytes());
  require(again.ok() && again->size() == all->size());
  for (std::size_t i = 0; i < all->size(); ++i) {
    require((*again)[i].tag == (*all)[i].tag);
    require(same_bytes((*again)[i].value, (*all)[i].value));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  check_sequence(ByteView(data, size), 0);
  return 0;
}
