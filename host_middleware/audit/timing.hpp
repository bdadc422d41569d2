// A statistical timing-leak test in the manner of dudect (Reparaz, Balasch and
// Verbauwhede, "Dude, is my code constant time?", DATE 2017): measurements of
// one operation on two classes of input (A: a fixed value, B: random values,
// or any two classes that a constant-time implementation cannot tell apart),
// taken interleaved in random order by the caller, and Welch's t-test on
// whether their mean times differ. Because noise (interrupts, other
// processes, cache misses) only ever makes a measurement slower, the test is
// repeated on the measurements below several percentiles ("crops"), and the
// largest |t| over them decides.
//
// The verdict is a statement about these measurements, not a proof: |t|
// below the threshold means "no leak detected at this sample size", and the
// report says how large a difference of means the measurements would have
// flagged. Shared by the in-process timing test (tests/card_os/test_timing.cpp)
// and the audit over PC/SC. Value types, errors as values, no I/O, no clock:
// the caller measures.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hpp"

namespace juki::host::audit {

// The two classes a measurement belongs to.
enum class InputClass : std::uint8_t { a = 0, b = 1 };

// Welch's t statistic of two samples, accumulated one measurement at a time
// (Welford's update: numerically stable, constant memory).
class WelchAccumulator {
 public:
  void add(InputClass c, double x);
  std::uint64_t count(InputClass c) const { return moments_[index(c)].n; }
  double mean(InputClass c) const { return moments_[index(c)].mean; }
  // The sample variance (divisor n - 1); 0 below two measurements.
  double variance(InputClass c) const;
  // The standard error of mean(b) - mean(a); nullopt below two measurements
  // in either class.
  std::optional<double> standard_error() const;
  // (mean(b) - mean(a)) / standard error; nullopt below two measurements in
  // either class. Two classes without any spread give 0 when their means are
  // equal and an infinite t (of the difference's sign) when they are not.
  std::optional<double> t() const;

 private:
  struct Moments {
    std::uint64_t n = 0;
    double mean = 0;
    double m2 = 0;  // sum of squared deviations from the running mean
  };
  static std::size_t index(InputClass c) { return static_cast<std::size_t>(c); }
  std::array<Moments, 2> moments_{};
};

struct TimingOptions {
  // |t| at or above it: a leak. 4.5 is the threshold of Test Vector Leakage
  // Assessment (TVLA, Goodwill et al. 2011), which dudect follows.
  double threshold = 4.5;
  // The cropped tests: one per percentile 1 - 0.5^(10 (i + 1) / crops), i <
  // crops (dudect's choice: from the 6.7th to the 99.9th percentile for 100,
  // dense near the fast end where the noise-free measurements are). 0: only
  // the test on every measurement.
  std::size_t crops = 100;
  // The first measurements set the crops' thresholds; they are counted too.
  std::size_t calibration = 1000;
  // A test counts towards the verdict only with this many measurements in
  // each class: a t from a handful of measurements is not normal.
  std::uint64_t min_per_class = 1000;
};

struct TimingError {
  enum class Kind : std::uint8_t {
    bad_options,      // threshold not positive and finite, calibration 0, min_per_class below 2
    bad_measurement,  // not finite, or negative
  };
  Kind kind;
  std::string message;
};

// One t-test: every measurement, or those below a crop's threshold.
struct TestResult {
  double percentile = 1;        // the crop's percentile; 1 for the test on every measurement
  std::optional<double> below;  // keeps measurements strictly below this; none: all
  std::uint64_t count_a = 0, count_b = 0;
  double mean_a = 0, mean_b = 0;
  std::optional<double> t;
  bool counted = false;  // enough measurements in each class (min_per_class)
};

enum class Verdict : std::uint8_t {
  not_enough_measurements,  // no test has min_per_class measurements in each class
  no_leak_detected,         // max |t| below the threshold
  leak,                     // max |t| at or above it
};

std::string_view verdict_name(Verdict v);

struct TimingReport {
  double threshold = 0;
  std::uint64_t measurements = 0, count_a = 0, count_b = 0;
  // tests[0] is every measurement; then the crops, by rising percentile.
  std::vector<TestResult> tests;
  std::size_t tests_counted = 0;
  std::optional<std::size_t> max_test;  // the counted test of the largest |t|
  double max_abs_t = 0;
  // The chance that one test of a target with equal means gives |t| at least
  // max_abs_t: erfc(|t| / sqrt 2), Welch's t being close to normal at these
  // sizes (central limit theorem).
  double p_value = 1;
  // The same over the tests_counted tests (Bonferroni: times the number of
  // tests, at most 1): the chance that constant-time code gives a max |t|
  // this large. An upper bound, since the crops overlap; and only as good as
  // the measurements are independent of the class beyond the target itself.
  double p_value_bound = 1;
  // The verdict's false-alarm rate, by the same bound: the chance that
  // constant-time code gives a max |t| at or above the threshold over
  // tests_counted tests, min(1, tests_counted erfc(threshold / sqrt 2)).
  // For 4.5 and 101 tests: below 7e-4.
  double false_alarm_bound = 1;
  // The smallest difference of means (in the measurements' unit) that would
  // have reached the threshold: threshold times the smallest standard error
  // among the counted tests. The resolution of a "no leak detected".
  std::optional<double> detectable_difference;
  Verdict verdict = Verdict::not_enough_measurements;
};

// The report in a few lines: the verdict with its confidence, the figures of
// the test that decided, and what "no leak detected" covers. `unit` names the
// measurements' unit ("ns").
std::string describe(const TimingReport& report, std::string_view unit);

class TimingTest {
 public:
  static Result<TimingTest, TimingError> create(const TimingOptions& options = {});

  // Refuses (and ignores) a measurement that is not finite or is negative.
  Result<void, TimingError> add(InputClass c, double measurement);
  std::uint64_t measurements() const { return measurements_; }
  // Any time, also during calibration (the crops then come from what there is).
  TimingReport report() const;

 private:
  explicit TimingTest(const TimingOptions& options) : options_(options) {}
  void end_calibration();
  void accumulate(InputClass c, double x);

  TimingOptions options_;
  std::uint64_t measurements_ = 0;
  std::vector<std::pair<InputClass, double>> calibration_;  // until the thresholds are set
  std::vector<double> percentiles_;                         // the crops', once calibrated
  std::vector<double> thresholds_;
  WelchAccumulator all_;
  std::vector<WelchAccumulator> cropped_;
};

}  // namespace juki::host::audit
