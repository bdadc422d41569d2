// The simulator's APDU trace file (specs/simulator.md 5): one line per
// command, per response and per card event, flushed at once so a killed
// simulator leaves a complete trace behind. The data of a command carrying a
// PIN or a key is redacted unless the simulator runs with --trace-secrets.
//
//   2025-01-31T09:15:02.123456Z 0 > 00A4040C09F04A554B4944454D4F SELECT
//   2025-01-31T09:15:02.123789Z 0 < 9000 9000 success
//   2025-01-31T09:15:02.130001Z 0 > 0020008104XXXXXXXX VERIFY, data redacted (4 bytes: PIN)
#pragma once

#include <cstdio>
#include <string>

#include "common/apdu_text.hpp"
#include "common/bytes.hpp"
#include "common/result.hpp"

namespace juki::sim {

// "2025-01-31T09:15:02.123456Z": UTC, ISO 8601, microseconds.
std::string utc_timestamp();

class TraceFile {
 public:
  explicit TraceFile(apdu_text::Secrets secrets = apdu_text::Secrets::redact) : secrets_(secrets) {}
  TraceFile(const TraceFile&) = delete;
  TraceFile& operator=(const TraceFile&) = delete;
  ~TraceFile() { close(); }

  // Appends to `path` (created if missing). Replaces any file open before.
  Result<void, std::string> open(const std::string& path);
  void close();
  bool is_open() const { return file_ != nullptr; }
  const std::string& path() const { return path_; }

  // The line formats of specs/simulator.md.
  void command(unsigned slot, ByteView apdu);
  void response(unsigned slot, ByteView response);
  // An event without bytes, or with bytes (an ATR) when `bytes` is not empty.
  void event(unsigned slot, const std::string& text, ByteView bytes = {});
  // The card left a command unanswered.
  void no_answer(unsigned slot, const std::string& why);

 private:
  void line(unsigned slot, char direction, const std::string& hex, const std::string& text);
  apdu_text::Secrets secrets_;
  std::FILE* file_ = nullptr;
  std::string path_;
};

}  // namespace juki::sim
