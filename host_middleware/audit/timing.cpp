#include "host_middleware/audit/timing.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace juki::host::audit {

// ---------------------------------------------------------------- WelchAccumulator

void WelchAccumulator::add(InputClass c, double x) {
  Moments& m = moments_[index(c)];
  ++m.n;
  const double delta = x - m.mean;
  m.mean += delta / static_cast<double>(m.n);
  m.m2 += delta * (x - m.mean);
}

double WelchAccumulator::variance(InputClass c) const {
  const Moments& m = moments_[index(c)];
  return m.n < 2 ? 0 : m.m2 / static_cast<double>(m.n - 1);
}

std::optional<double> WelchAccumulator::standard_error() const {
  if (count(InputClass::a) < 2 || count(InputClass::b) < 2) return std::nullopt;
  return std::sqrt(variance(InputClass::a) / static_cast<double>(count(InputClass::a)) +
                   variance(InputClass::b) / static_cast<double>(count(InputClass::b)));
}

std::optional<double> WelchAccumulator::t() const {
  const auto se = standard_error();
  if (!se) return std::nullopt;
  const double difference = mean(InputClass::b) - mean(InputClass::a);
  if (*se > 0) return difference / *se;
  if (difference == 0) return 0.0;
  return std::copysign(std::numeric_limits<double>::infinity(), difference);
}

// ---------------------------------------------------------------- TimingTest

std::string_view verdict_name(Verdict v) {
  switch (v) {
    case Verdict::not_enough_measurements:
      return "not enough measurements";
    case Verdict::no_leak_detected:
      return "no leak detected at this sample size";
    case Verdict::leak:
      return "leak";
  }
  return "?";
}

Result<TimingTest, TimingError> TimingTest::create(const TimingOptions& options) {
  if (!std::isfinite(options.threshold) || options.threshold <= 0)
    return unexpected(TimingError{TimingError::Kind::bad_options, "the threshold must be > 0"});
  if (options.calibration == 0)
    return unexpected(
        TimingError{TimingError::Kind::bad_options, "the crops need calibration measurements"});
  if (options.min_per_class < 2)
    return unexpected(
        TimingError{TimingError::Kind::bad_options, "a t-test needs two measurements per class"});
  return TimingTest(options);
}

Result<void, TimingError> TimingTest::add(InputClass c, double measurement) {
  if (!std::isfinite(measurement) || measurement < 0)
    return unexpected(TimingError{TimingError::Kind::bad_measurement,
                                  "a measurement must be finite and not negative"});
  ++measurements_;
  if (thresholds_.empty() && options_.crops > 0) {
    calibration_.emplace_back(c, measurement);
    if (calibration_.size() >= options_.calibration) end_calibration();
    return {};
  }
  accumulate(c, measurement);
  return {};
}

void TimingTest::end_calibration() {
  std::vector<double> sorted;
  sorted.reserve(calibration_.size());
  for (const auto& [c, x] : calibration_) sorted.push_back(x);
  std::sort(sorted.begin(), sorted.end());
  percentiles_.clear();
  thresholds_.clear();
  for (std::size_t i = 0; i < options_.crops; ++i) {
    const double p =
        1 - std::pow(0.5, 10.0 * static_cast<double>(i + 1) / static_cast<double>(options_.crops));
    const auto at = std::min(sorted.size() - 1, static_cast<std::size_t>(p * sorted.size()));
    percentiles_.push_back(p);
    thresholds_.push_back(sorted[at]);
  }
  cropped_.assign(thresholds_.size(), WelchAccumulator{});
  // The calibration's measurements count like every other: set aside, they
  // would waste the first thousand measurements of a slow audit over PC/SC.
  std::vector<std::pair<InputClass, double>> held;
  held.swap(calibration_);
  for (const auto& [c, x] : held) accumulate(c, x);
}

void TimingTest::accumulate(InputClass c, double x) {
  all_.add(c, x);
  for (std::size_t i = 0; i < thresholds_.size(); ++i)
    if (x < thresholds_[i]) cropped_[i].add(c, x);
}

namespace {

TestResult result_of(const WelchAccumulator& w, double percentile, std::optional<double> below,
                     std::uint64_t min_per_class) {
  TestResult r;
  r.percentile = percentile;
  r.below = below;
  r.count_a = w.count(InputClass::a);
  r.count_b = w.count(InputClass::b);
  r.mean_a = w.mean(InputClass::a);
  r.mean_b = w.mean(InputClass::b);
  r.t = w.t();
  r.counted = r.t && r.count_a >= min_per_class && r.count_b >= min_per_class;
  return r;
}

}  // namespace

TimingReport TimingTest::report() const {
  if (thresholds_.empty() && !calibration_.empty()) {
    TimingTest settled = *this;  // crops from the measurements so far
    settled.end_calibration();
    return settled.report();
  }
  TimingReport r;
  r.threshold = options_.threshold;
  r.measurements = measurements_;
  r.count_a = all_.count(InputClass::a);
  r.count_b = all_.count(InputClass::b);
  r.tests.push_back(result_of(all_, 1, std::nullopt, options_.min_per_class));
  for (std::size_t i = 0; i < cropped_.size(); ++i)
    r.tests.push_back(
        result_of(cropped_[i], percentiles_[i], thresholds_[i], options_.min_per_class));

  std::optional<double> finest_error;
  for (std::size_t i = 0; i < r.tests.size(); ++i) {
    const TestResult& test = r.tests[i];
    if (!test.counted) continue;
    ++r.tests_counted;
    if (!r.max_test || std::abs(*test.t) > r.max_abs_t) {
      r.max_test = i;
      r.max_abs_t = std::abs(*test.t);
    }
    const WelchAccumulator& w = i == 0 ? all_ : cropped_[i - 1];
    const double se = *w.standard_error();
    if (!finest_error || se < *finest_error) finest_error = se;
  }
  if (!r.max_test) return r;  // not_enough_measurements
  r.p_value = std::erfc(r.max_abs_t / std::sqrt(2.0));
  r.p_value_bound = std::min(1.0, r.p_value * static_cast<double>(r.tests_counted));
  r.false_alarm_bound = std::min(
      1.0, std::erfc(options_.threshold / std::sqrt(2.0)) * static_cast<double>(r.tests_counted));
  r.detectable_difference = options_.threshold * *finest_error;
  r.verdict = r.max_abs_t >= options_.threshold ? Verdict::leak : Verdict::no_leak_detected;
  return r;
}

// ---------------------------------------------------------------- describe

namespace {

std::string format(const char* pattern, auto... values) {
  char buffer[512];
  std::snprintf(buffer, sizeof buffer, pattern, values...);
  return buffer;
}

// "below P"; erfc underflows to 0 past |t| of about 38.
std::string probability(double p) {
  return p > 0 ? format("below %.2g", p) : std::string("below 1e-300");
}

}  // namespace

std::string describe(const TimingReport& r, std::string_view unit) {
  const std::string u(unit);
  std::string text = format(
      "%s: %llu measurements (%llu A, %llu B)", std::string(verdict_name(r.verdict)).c_str(),
      static_cast<unsigned long long>(r.measurements), static_cast<unsigned long long>(r.count_a),
      static_cast<unsigned long long>(r.count_b));
  if (!r.max_test) return text + "; no test has enough measurements in each class";
  const TestResult& t = r.tests[*r.max_test];
  text += format("; max |t| = %.2f (threshold %.1f) over %zu tests", r.max_abs_t, r.threshold,
                 r.tests_counted);
  if (t.below)
    text += format(", in the test below the %.1fth percentile (%.0f %s)", 100 * t.percentile,
                   *t.below, u.c_str());
  else
    text += ", in the test on every measurement";
  text += format(": mean A %.1f %s (%llu), mean B %.1f %s (%llu)", t.mean_a, u.c_str(),
                 static_cast<unsigned long long>(t.count_a), t.mean_b, u.c_str(),
                 static_cast<unsigned long long>(t.count_b));
  if (r.verdict == Verdict::leak)
    text += ". Were the two classes equally fast, a |t| this large would come with probability " +
            probability(r.p_value_bound) + " (" + probability(r.p_value) +
            " for one test, normal approximation)";
  else
    text += ". Were the classes equally fast, the test would call a leak with probability " +
            probability(r.false_alarm_bound) +
            format(
                "; in its finest test a difference of means of %.1f %s or more would have "
                "been called one",
                *r.detectable_difference, u.c_str());
  return text;
}

}  // namespace juki::host::audit
