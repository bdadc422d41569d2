#include "backend/cs/audit.hpp"

#include <algorithm>
#include <map>

#include "backend/wire/identity.hpp"

namespace juki::backend::cs {

namespace {

// date -> reason -> count
using Counts = std::map<std::string, std::map<int, std::uint64_t>>;

Counts counts_of(const proto::UpdateCountList& list) {
  Counts counts;
  for (const auto& day : list.days())
    for (const auto& c : day.counts()) counts[day.date()][c.reason()] += c.count();
  return counts;
}

constexpr int kMaxPrefixesPerRequest = 1'000;

}  // namespace

std::vector<std::string> compare_counts(const proto::UpdateCountList& own,
                                        const proto::UpdateCountList& theirs) {
  std::vector<std::string> differences;
  const Counts here = counts_of(own);
  const Counts there = counts_of(theirs);
  std::map<std::string, std::map<int, std::pair<std::uint64_t, std::uint64_t>>> both;
  for (const auto& [date, reasons] : here)
    for (const auto& [reason, n] : reasons) both[date][reason].first = n;
  for (const auto& [date, reasons] : there)
    for (const auto& [reason, n] : reasons) both[date][reason].second = n;
  for (const auto& [date, reasons] : both)
    for (const auto& [reason, pair] : reasons)
      if (pair.first != pair.second)
        differences.push_back(
            date + " " + std::string(wire::reason_name(static_cast<proto::ChangeReason>(reason))) +
            ": " + std::to_string(pair.first) + " here, " + std::to_string(pair.second) + " at " +
            theirs.receiver());
  return differences;
}

std::string_view kind_name(Difference::Kind kind) {
  switch (kind) {
    case Difference::Kind::missing:
      return "missing";
    case Difference::Kind::extra:
      return "extra";
    case Difference::Kind::differs:
      return "differs";
  }
  return "?";
}

Result<Comparison, std::string> compare_digests(const std::string& municipality,
                                                const DigestSource& own, const DigestSource& theirs,
                                                std::size_t leaf_records) {
  Comparison result;
  std::vector<std::string> frontier{""};
  std::vector<std::string> leaves;
  auto ask =
      [&](const std::vector<std::string>& prefixes,
          bool records) -> Result<std::pair<proto::DigestReply, proto::DigestReply>, std::string> {
    proto::DigestRequest request;
    request.set_municipality(municipality);
    request.set_records(records);
    for (const auto& p : prefixes) request.add_prefixes(p);
    auto a = own(request);
    if (!a) return unexpected("here: " + a.error());
    auto b = theirs(request);
    if (!b) return unexpected("there: " + b.error());
    if (a->ranges_size() != request.prefixes_size() || b->ranges_size() != request.prefixes_size())
      return unexpected(std::string("an answer with another number of ranges than asked"));
    ++result.requests;
    return std::pair{std::move(*a), std::move(*b)};
  };

  while (!frontier.empty()) {
    std::vector<std::string> next;
    for (std::size_t at = 0; at < frontier.size(); at += kMaxPrefixesPerRequest) {
      const std::vector<std::string> part(
          frontier.begin() + at,
          frontier.begin() + std::min(frontier.size(), at + kMaxPrefixesPerRequest));
      auto answers = ask(part, false);
      if (!answers) return unexpected(answers.error());
      const auto& [here, there] = *answers;
      for (std::size_t i = 0; i < part.size(); ++i) {
        const auto& a = here.ranges(static_cast<int>(i));
        const auto& b = there.ranges(static_cast<int>(i));
        if (a.count() == b.count() && a.digest() == b.digest()) continue;
        if (std::max(a.count(), b.count()) <= leaf_records || part[i].size() >= 11)
          leaves.push_back(part[i]);
        else
          for (char d = '0'; d <= '9'; ++d) next.push_back(part[i] + d);
      }
    }
    frontier = std::move(next);
  }

  for (std::size_t at = 0; at < leaves.size(); at += kMaxPrefixesPerRequest) {
    const std::vector<std::string> part(
        leaves.begin() + at, leaves.begin() + std::min(leaves.size(), at + kMaxPrefixesPerRequest));
    auto answers = ask(part, true);
    if (!answers) return unexpected(answers.error());
    std::map<std::string, std::string> here, there;
    for (const auto& range : answers->first.ranges())
      for (const auto& r : range.records()) here[r.resident_code()] = r.digest();
    for (const auto& range : answers->second.ranges())
      for (const auto& r : range.records()) there[r.resident_code()] = r.digest();
    result.records_compared += static_cast<std::int64_t>(here.size() + there.size());
    for (const auto& [code, digest] : here) {
      auto it = there.find(code);
      if (it == there.end())
        result.differences.push_back({Difference::Kind::missing, code});
      else if (it->second != digest)
        result.differences.push_back({Difference::Kind::differs, code});
    }
    for (const auto& [code, digest] : there)
      if (!here.count(code)) result.differences.push_back({Difference::Kind::extra, code});
  }
  std::sort(
      result.differences.begin(), result.differences.end(),
      [](const Difference& a, const Difference& b) { return a.resident_code < b.resident_code; });
  return result;
}

}  // namespace juki::backend::cs
