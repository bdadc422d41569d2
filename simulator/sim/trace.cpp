#include "simulator/sim/trace.hpp"

#include <time.h>

#include <cerrno>
#include <ctime>
#include <system_error>

#include "common/iso7816/apdu.hpp"
#include "common/iso7816/status_words.hpp"

namespace juki::sim {

std::string utc_timestamp() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  tm utc{};
  ::gmtime_r(&ts.tv_sec, &utc);
  char text[40];
  const std::size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(text + n, sizeof text - n, ".%06ldZ", ts.tv_nsec / 1000);
  return text;
}

Result<void, std::string> TraceFile::open(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "ae");
  if (f == nullptr)
    return unexpected("cannot open trace file '" + path +
                      "': " + std::error_code(errno, std::generic_category()).message());
  close();
  file_ = f;
  path_ = path;
  return {};
}

void TraceFile::close() {
  if (file_ != nullptr) std::fclose(file_);
  file_ = nullptr;
  path_.clear();
}

namespace {

// HEX: upper case without blanks, "-" for no bytes.
std::string hex_field(ByteView bytes) {
  return bytes.empty() ? std::string("-") : to_hex(bytes);
}

}  // namespace

void TraceFile::line(unsigned slot, char direction, const std::string& hex,
                     const std::string& text) {
  if (file_ == nullptr) return;
  std::fprintf(file_, "%s %u %c %s %s\n", utc_timestamp().c_str(), slot, direction, hex.c_str(),
               text.c_str());
  // A trace is most wanted when the simulator is killed: never leave lines buffered.
  std::fflush(file_);
}

void TraceFile::command(unsigned slot, ByteView apdu) {
  if (file_ == nullptr) return;
  const auto parsed = apdu::parse_command(apdu);
  const auto traced = apdu_text::trace_command(
      apdu, parsed ? std::optional<ByteView>(parsed->data) : std::nullopt, false, secrets_);
  line(slot, '>', traced.hex.empty() ? "-" : traced.hex, traced.text);
}

// The text of the host trace's describe_status. Not shared: the status-word
// table it needs is card_os's (apdu/status_words), which common cannot use.
void TraceFile::response(unsigned slot, ByteView response) {
  if (file_ == nullptr) return;
  std::string text = "(no status word)";
  if (response.size() >= 2) {
    const sw::Sw sw = load_be16(&response[response.size() - 2]);
    text = hex_field(response.last(2)) + " " + sw::meaning(sw);
  }
  line(slot, '<', hex_field(response), text);
}

void TraceFile::event(unsigned slot, const std::string& text, ByteView bytes) {
  line(slot, '*', hex_field(bytes), text);
}

void TraceFile::no_answer(unsigned slot, const std::string& why) {
  line(slot, '!', "-", "no answer: " + why);
}

}  // namespace juki::sim
