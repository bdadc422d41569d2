// A tiny header-only benchmark harness (no Google Benchmark).
//
//   #include "harness.hpp"
//   int main() {
//     using namespace juki::bench;
//     measure("apdu_parse", [&] { return parse(bytes); });   // BENCH apdu_parse 1234567 ops/s
//     report("nvm_image_bytes", image.size(), "B");           // BENCH nvm_image_bytes 65536 B
//   }
//
// measure() runs fn in batches growing until one batch lasts min_seconds,
// then times 5 batches of that size and reports the median ops/second as one
// line "BENCH <name> <value> <unit>" on stdout (scripts/bench collects them).
// A value fn returns is passed to do_not_optimize, so the work can't be
// dropped. A detail line (spread, batch size) goes to stderr.
//
// The environment variable JUKI_BENCH_MIN_SECONDS, when set, replaces every
// min_seconds (e.g. 0.01 for a quick smoke run).
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace juki::bench {

// Makes the compiler believe `value` is read (and, for an lvalue, may be
// written), so computing it can't be optimized away.
template <class T>
inline void do_not_optimize(const T& value) {
  if constexpr (std::is_trivially_copyable_v<T> && sizeof(T) <= sizeof(void*)) {
    __asm__ __volatile__("" : : "r,m"(value) : "memory");
  } else {
    __asm__ __volatile__("" : : "m"(value) : "memory");
  }
}

template <class T>
inline void do_not_optimize(T& value) {
  if constexpr (std::is_trivially_copyable_v<T> && sizeof(T) <= sizeof(void*)) {
    __asm__ __volatile__("" : "+m,r"(value) : : "memory");
  } else {
    __asm__ __volatile__("" : "+m"(value) : : "memory");
  }
}

// Makes the compiler believe all memory is read and written.
inline void clobber_memory() {
  __asm__ __volatile__("" : : : "memory");
}

namespace detail {

// Names and units are single words: whitespace becomes '_'.
inline std::string one_word(std::string_view s) {
  std::string out(s.empty() ? std::string_view{"unnamed"} : s);
  for (char& c : out) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') c = '_';
  }
  return out;
}

// About four significant digits, never in exponent notation:
// 1234567.8 -> "1234568", 12.345 -> "12.35", 0.012345 -> "0.01235".
inline std::string format_value(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  int decimals = 0;
  if (v != 0.0) {
    const int magnitude = static_cast<int>(std::floor(std::log10(std::fabs(v))));
    decimals = std::clamp(3 - magnitude, 0, 9);
  }
  std::array<char, 64> buf{};
  std::snprintf(buf.data(), buf.size(), "%.*f", decimals, v);
  return buf.data();
}

inline double min_seconds_override(double fallback) {
  if (const char* env = std::getenv("JUKI_BENCH_MIN_SECONDS")) {
    char* end = nullptr;
    const double v = std::strtod(env, &end);
    if (end != env && v > 0.0 && std::isfinite(v)) return v;
  }
  return fallback;
}

template <class Fn>
inline void call(Fn& fn) {
  if constexpr (std::is_void_v<std::invoke_result_t<Fn&>>) {
    fn();
    clobber_memory();
  } else {
    do_not_optimize(fn());
  }
}

// Seconds taken by `iterations` calls of fn.
template <class Fn>
inline double time_batch(Fn& fn, std::uint64_t iterations) {
  const auto start = std::chrono::steady_clock::now();
  for (std::uint64_t i = 0; i < iterations; ++i) call(fn);
  const auto stop = std::chrono::steady_clock::now();
  return std::chrono::duration<double>(stop - start).count();
}

}  // namespace detail

// Prints exactly one line "BENCH <name> <value> <unit>" to stdout.
inline void report(std::string_view name, double value, std::string_view unit) {
  std::printf("BENCH %s %s %s\n", detail::one_word(name).c_str(),
              detail::format_value(value).c_str(), detail::one_word(unit).c_str());
  std::fflush(stdout);
}

struct Result {
  std::string name;
  double ops_per_second = 0;  // median of the repetitions
  double min_ops_per_second = 0;
  double max_ops_per_second = 0;
  std::uint64_t iterations = 0;  // calls of fn per repetition
  int repetitions = 0;
};

// Measures fn's throughput and reports it as "BENCH <name> <ops/s> ops/s".
template <class Fn>
Result measure(std::string_view name, Fn&& fn, double min_seconds = 0.3) {
  constexpr int kRepetitions = 5;
  min_seconds = detail::min_seconds_override(min_seconds);

  // Calibrate: grow the batch until one lasts min_seconds.
  std::uint64_t n = 1;
  for (;;) {
    const double t = detail::time_batch(fn, n);
    if (t >= min_seconds || n >= (std::uint64_t{1} << 40)) break;
    // Aim a little past min_seconds; grow at most 10x while far too short.
    double factor = t > 0 ? min_seconds * 1.2 / t : 100.0;
    if (t < min_seconds / 10) factor = std::min(factor, 10.0);
    n = std::max(n + 1, static_cast<std::uint64_t>(static_cast<double>(n) * factor));
  }

  std::array<double, kRepetitions> rates{};
  for (double& rate : rates) {
    const double t = detail::time_batch(fn, n);
    rate = static_cast<double>(n) / std::max(t, 1e-12);
  }
  std::sort(rates.begin(), rates.end());

  Result r{detail::one_word(name),
           rates[kRepetitions / 2],
           rates.front(),
           rates.back(),
           n,
           kRepetitions};
  std::fprintf(stderr, "# %s: median %s ops/s (min %s, max %s; %d x %llu calls)\n", r.name.c_str(),
               detail::format_value(r.ops_per_second).c_str(),
               detail::format_value(r.min_ops_per_second).c_str(),
               detail::format_value(r.max_ops_per_second).c_str(), kRepetitions,
               static_cast<unsigned long long>(n));
  report(r.name, r.ops_per_second, "ops/s");
  return r;
}

// Runs fn once and returns the seconds it took (for one-off costs such as
// building a card image; report the figure with report()).
template <class Fn>
double time_once(Fn&& fn) {
  return detail::time_batch(fn, 1);
}

}  // namespace juki::bench
