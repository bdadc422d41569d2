// The CS's checks of the upper tiers (specs/network.md 6.5, 6.7): its
// update-count lists against a receiver's (更新件数リスト), and its identity
// information against a receiver's by range digests, narrowing down to the
// residents that differ without shipping every record (本人確認情報整合).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "backend/wire/juki_net.pb.h"
#include "common/result.hpp"

namespace juki::backend::cs {

namespace proto = juki::net::v1;

// Each day and reason where the two lists disagree, as a sentence: "2026-12-07
// birth: 3 here, 2 at prefecture 130001". Empty when they agree.
std::vector<std::string> compare_counts(const proto::UpdateCountList& own,
                                        const proto::UpdateCountList& theirs);

struct Difference {
  enum class Kind {
    missing,  // live here, absent (or not live) there
    extra,    // live there, not live here
    differs,  // live at both, with other content
  };
  Kind kind;
  std::string resident_code;
};
std::string_view kind_name(Difference::Kind kind);  // "missing", "extra", "differs"

// Answers a DigestRequest (the CS's own store, or an upper tier over gRPC).
using DigestSource =
    std::function<Result<proto::DigestReply, std::string>(const proto::DigestRequest&)>;

struct Comparison {
  std::vector<Difference> differences;  // in resident-code order
  std::int64_t requests = 0;            // digest requests made to each side
  std::int64_t records_compared = 0;    // per-record digests shipped by each side
};

// Compares the live records of `municipality` on both sides: the whole range
// first, then, where digests differ, the ten sub-ranges of each, until a
// range holds at most `leaf_records` records, whose per-record digests are
// then compared.
Result<Comparison, std::string> compare_digests(const std::string& municipality,
                                                const DigestSource& own, const DigestSource& theirs,
                                                std::size_t leaf_records = 64);

}  // namespace juki::backend::cs
