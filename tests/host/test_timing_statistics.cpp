// The timing-leak statistics (host_middleware/audit/timing): Welch's t from
// the online moments against the textbook two-pass formula, and the dudect
// test on distributions whose answer is known: equal classes give a small
// |t|, shifted ones a large |t|, and the crops see a small shift through
// noise that hides it from the test on every measurement.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <vector>

#include "host_middleware/audit/timing.hpp"

using namespace juki::host::audit;

namespace {

// Feeds n measurements in random class order: class A from `a`, B from `b`.
template <typename DistA, typename DistB>
TimingReport run(std::uint64_t seed, std::size_t n, DistA a, DistB b,
                 const TimingOptions& options = {}) {
  std::mt19937_64 rng(seed);
  auto test = TimingTest::create(options);
  REQUIRE(test.ok());
  for (std::size_t i = 0; i < n; ++i) {
    const InputClass c = (rng() & 1) ? InputClass::b : InputClass::a;
    const double x = c == InputClass::a ? a(rng) : b(rng);
    REQUIRE(test->add(c, x).ok());
  }
  return test->report();
}

// A latency as timing measurements look: a base time with normal jitter and,
// now and then, a long delay (an interrupt, another process).
struct NoisyLatency {
  double base;
  std::normal_distribution<double> jitter{0, 20};
  std::bernoulli_distribution interrupted{0.05};
  std::exponential_distribution<double> delay{1.0 / 5000};
  double operator()(std::mt19937_64& rng) {
    double x = base + jitter(rng);
    if (interrupted(rng)) x += delay(rng);
    return std::max(0.0, x);
  }
};

}  // namespace

TEST_CASE("timing statistics: Welch's t from the online moments", "[timing][audit]") {
  const std::vector<double> a = {10, 12, 11, 13, 9, 10.5};
  const std::vector<double> b = {14, 15, 13.5, 16, 14.5};
  WelchAccumulator w;
  CHECK_FALSE(w.t().has_value());
  for (double x : a) w.add(InputClass::a, x);
  CHECK_FALSE(w.t().has_value());  // class B is empty
  for (double x : b) w.add(InputClass::b, x);

  auto moments = [](const std::vector<double>& v) {
    double mean = 0;
    for (double x : v) mean += x;
    mean /= static_cast<double>(v.size());
    double ss = 0;
    for (double x : v) ss += (x - mean) * (x - mean);
    return std::pair{mean, ss / static_cast<double>(v.size() - 1)};
  };
  const auto [mean_a, var_a] = moments(a);
  const auto [mean_b, var_b] = moments(b);
  CHECK(w.count(InputClass::a) == a.size());
  CHECK(w.mean(InputClass::a) == Approx(mean_a));
  CHECK(w.variance(InputClass::a) == Approx(var_a));
  CHECK(w.variance(InputClass::b) == Approx(var_b));
  const double t = (mean_b - mean_a) / std::sqrt(var_a / a.size() + var_b / b.size());
  REQUIRE(w.t().has_value());
  CHECK(*w.t() == Approx(t));
  CHECK(*w.t() > 0);  // B slower: positive

  WelchAccumulator flat;
  for (int i = 0; i < 3; ++i) flat.add(InputClass::a, 5), flat.add(InputClass::b, 5);
  CHECK(*flat.t() == 0);
  flat.add(InputClass::a, 5);
  WelchAccumulator apart;
  for (int i = 0; i < 3; ++i) apart.add(InputClass::a, 5), apart.add(InputClass::b, 4);
  CHECK(std::isinf(*apart.t()));
  CHECK(*apart.t() < 0);
}

TEST_CASE("timing statistics: equal classes give a small |t|", "[timing][audit]") {
  SECTION("normal") {
    const auto r = run(1, 20000, std::normal_distribution<double>(1000, 50),
                       std::normal_distribution<double>(1000, 50));
    INFO(describe(r, "ns"));
    CHECK(r.verdict == Verdict::no_leak_detected);
    CHECK(r.max_abs_t < 4.5);
    CHECK(r.measurements == 20000);
    CHECK(r.count_a + r.count_b == 20000);
    CHECK(r.tests.size() == 101);
    CHECK(r.tests_counted > 50);
    REQUIRE(r.detectable_difference.has_value());
    // 4.5 standard errors of the difference: about 4.5 * 50 * sqrt(2 / 10000) at most.
    CHECK(*r.detectable_difference < 4.5 * 50 * std::sqrt(2.0 / 10000) * 1.1);
    CHECK(r.false_alarm_bound < 1e-3);
  }
  SECTION("noisy, heavy-tailed") {
    const auto r = run(2, 20000, NoisyLatency{5000}, NoisyLatency{5000});
    INFO(describe(r, "ns"));
    CHECK(r.verdict == Verdict::no_leak_detected);
  }
  SECTION("the test's false alarms are rare: 200 runs of equal classes, none over 4.5") {
    TimingOptions options;
    options.min_per_class = 500;
    int alarms = 0;
    for (std::uint64_t seed = 100; seed < 300; ++seed) {
      const auto r = run(seed, 2000, NoisyLatency{5000}, NoisyLatency{5000}, options);
      if (r.verdict == Verdict::leak) ++alarms;
    }
    CHECK(alarms == 0);
  }
}

TEST_CASE("timing statistics: shifted classes give a large |t|", "[timing][audit]") {
  SECTION("normal, B slower by a tenth of the spread") {
    const auto r = run(3, 40000, std::normal_distribution<double>(1000, 50),
                       std::normal_distribution<double>(1005, 50));
    INFO(describe(r, "ns"));
    CHECK(r.verdict == Verdict::leak);
    CHECK(r.max_abs_t > 4.5);
    CHECK(r.tests[*r.max_test].t > 0);  // B is the slower class
    CHECK(r.p_value_bound < 1e-3);
  }
  SECTION("A slower: t negative") {
    const auto r = run(4, 10000, std::normal_distribution<double>(1010, 10),
                       std::normal_distribution<double>(1000, 10));
    CHECK(r.verdict == Verdict::leak);
    CHECK(*r.tests[*r.max_test].t < 0);
  }
  SECTION("a small shift hidden by noise on every measurement, seen through the crops") {
    // 20 ns between classes, delays of 5 us on 5 percent of them: the
    // uncropped test's spread is about 1100 ns, the crops' about 20 ns.
    const auto r = run(5, 20000, NoisyLatency{5000}, NoisyLatency{5020});
    INFO(describe(r, "ns"));
    REQUIRE(r.tests[0].t.has_value());
    CHECK(std::abs(*r.tests[0].t) < 4.5);
    CHECK(r.verdict == Verdict::leak);
    CHECK(*r.max_test > 0);
    REQUIRE(r.tests[*r.max_test].below.has_value());
  }
}

TEST_CASE("timing statistics: refusals, calibration, too few measurements", "[timing][audit]") {
  TimingOptions bad;
  bad.threshold = 0;
  CHECK(TimingTest::create(bad).error().kind == TimingError::Kind::bad_options);
  bad = {};
  bad.threshold = std::nan("");
  CHECK_FALSE(TimingTest::create(bad).ok());
  bad = {};
  bad.calibration = 0;
  CHECK_FALSE(TimingTest::create(bad).ok());
  bad = {};
  bad.min_per_class = 1;
  CHECK_FALSE(TimingTest::create(bad).ok());

  auto test = TimingTest::create();
  REQUIRE(test.ok());
  CHECK(test->add(InputClass::a, -1).error().kind == TimingError::Kind::bad_measurement);
  CHECK_FALSE(test->add(InputClass::a, std::nan("")).ok());
  CHECK_FALSE(test->add(InputClass::a, INFINITY).ok());
  CHECK(test->measurements() == 0);

  // Before the calibration ends the report takes its crops from what there is.
  for (int i = 0; i < 100; ++i) REQUIRE(test->add(i % 2 ? InputClass::a : InputClass::b, i).ok());
  TimingReport r = test->report();
  CHECK(r.measurements == 100);
  CHECK(r.tests.size() == 101);
  CHECK(r.verdict == Verdict::not_enough_measurements);  // 1000 per class wanted
  CHECK_FALSE(r.max_test.has_value());
  CHECK(describe(r, "ns").find("not enough measurements") == 0);

  TimingOptions few;
  few.min_per_class = 40;
  few.crops = 0;  // the test on every measurement only
  auto small = TimingTest::create(few);
  REQUIRE(small.ok());
  for (int i = 0; i < 100; ++i) REQUIRE(small->add(i % 2 ? InputClass::a : InputClass::b, 7).ok());
  r = small->report();
  CHECK(r.tests.size() == 1);
  CHECK(r.verdict == Verdict::no_leak_detected);
  CHECK(r.max_abs_t == 0);
  CHECK(describe(r, "ns").find("no leak detected at this sample size") == 0);
}
