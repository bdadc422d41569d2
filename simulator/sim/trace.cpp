#include "simulator/sim/trace.hpp"

#include <time.h>

#include <cerrno>
#include <ctime>
#include <system_error>

#include "host_middleware/transport/tracing.hpp"

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

void TraceFile::line(unsigned slot, char direction, ByteView bytes, const std::string& text) {
  if (file_ == nullptr) return;
  const std::string hex = bytes.empty() ? std::string("-") : to_hex(bytes);
  std::fprintf(file_, "%s %u %c %s %s\n", utc_timestamp().c_str(), slot, direction, hex.c_str(),
               text.c_str());
  // A trace is most wanted when the simulator is killed: never leave lines buffered.
  std::fflush(file_);
}

void TraceFile::command(unsigned slot, ByteView apdu) {
  line(slot, '>', apdu, apdu.size() >= 2 ? host::command_name(apdu[0], apdu[1]) : "?");
}

void TraceFile::response(unsigned slot, ByteView response) {
  line(slot, '<', response, host::describe_status(response));
}

void TraceFile::event(unsigned slot, const std::string& text, ByteView bytes) {
  line(slot, '*', bytes, text);
}

void TraceFile::no_answer(unsigned slot, const std::string& why) {
  line(slot, '!', {}, "no answer: " + why);
}

}  // namespace juki::sim
