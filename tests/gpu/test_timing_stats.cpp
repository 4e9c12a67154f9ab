#include "gpu/timing_stats.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace flashtune::gpu {
namespace {

TEST(TimingStats, SummarizesAnOddCount) {
  TimingStats s = summarize({3.0, 1.0, 2.0});
  EXPECT_DOUBLE_EQ(s.median_ms, 2.0);
  EXPECT_DOUBLE_EQ(s.mean_ms, 2.0);
  EXPECT_DOUBLE_EQ(s.min_ms, 1.0);
  EXPECT_DOUBLE_EQ(s.max_ms, 3.0);
  EXPECT_DOUBLE_EQ(s.stdev_ms, 1.0);  // sample stdev: sqrt((1 + 0 + 1) / 2)
  EXPECT_DOUBLE_EQ(s.noise, 0.5);
  EXPECT_DOUBLE_EQ(s.total_ms, 6.0);
  EXPECT_EQ(s.samples_ms, (std::vector<double>{3.0, 1.0, 2.0}));  // order kept
}

TEST(TimingStats, MedianOfAnEvenCountIsTheMeanOfTheMiddleTwo) {
  TimingStats s = summarize({4.0, 1.0, 3.0, 2.0});
  EXPECT_DOUBLE_EQ(s.median_ms, 2.5);
  EXPECT_DOUBLE_EQ(s.mean_ms, 2.5);
  EXPECT_DOUBLE_EQ(s.stdev_ms, std::sqrt(5.0 / 3.0));
  EXPECT_DOUBLE_EQ(s.noise, std::sqrt(5.0 / 3.0) / 2.5);
}

TEST(TimingStats, OneSampleHasNoSpread) {
  TimingStats s = summarize({0.25});
  EXPECT_DOUBLE_EQ(s.median_ms, 0.25);
  EXPECT_DOUBLE_EQ(s.min_ms, 0.25);
  EXPECT_DOUBLE_EQ(s.max_ms, 0.25);
  EXPECT_DOUBLE_EQ(s.stdev_ms, 0.0);
  EXPECT_DOUBLE_EQ(s.noise, 0.0);
}

TEST(TimingStats, IdenticalSamplesHaveZeroNoise) {
  std::vector<double> same(20, 1.5);
  EXPECT_DOUBLE_EQ(relative_noise(same), 0.0);
  EXPECT_DOUBLE_EQ(summarize(same).stdev_ms, 0.0);
}

TEST(TimingStats, NoSamplesIsAnError) {
  try {
    summarize({});
    FAIL() << "summarize of nothing accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
  }
}

TEST(TimingStats, RelativeNoise) {
  std::vector<double> xs{9.0, 10.0, 11.0};
  EXPECT_DOUBLE_EQ(relative_noise(xs), 0.1);  // stdev 1, mean 10
  EXPECT_DOUBLE_EQ(relative_noise(std::vector<double>{5.0}), 0.0);
  EXPECT_DOUBLE_EQ(relative_noise(std::vector<double>{}), 0.0);
}

TimingOptions quick() {
  TimingOptions o;
  o.min_samples = 5;
  o.max_samples = 8;
  o.min_gpu_time_s = 0.001;  // 1 ms
  o.max_noise = 0.01;
  o.timeout_s = 2;
  return o;
}

TEST(StoppingRule, ConvergesOnceEveryConditionHolds) {
  const TimingOptions o = quick();
  std::vector<double> xs(5, 0.5);  // 5 samples, 2.5 ms, noise 0
  EXPECT_EQ(should_stop(xs, 0.1, o), StopReason::converged);
}

TEST(StoppingRule, WaitsForMinSamples) {
  std::vector<double> xs(4, 0.5);
  EXPECT_EQ(should_stop(xs, 0.1, quick()), std::nullopt);
}

TEST(StoppingRule, WaitsForMinGpuTime) {
  std::vector<double> xs(5, 0.1);  // 0.5 ms < 1 ms
  EXPECT_EQ(should_stop(xs, 0.1, quick()), std::nullopt);
}

TEST(StoppingRule, WaitsWhileNoisy) {
  std::vector<double> xs{1.0, 2.0, 1.0, 2.0, 1.0};
  EXPECT_EQ(should_stop(xs, 0.1, quick()), std::nullopt);
  xs.insert(xs.end(), {2.0, 1.0, 2.0});  // 8 = max_samples
  EXPECT_EQ(should_stop(xs, 0.1, quick()), StopReason::max_samples);
}

TEST(StoppingRule, TimesOutAfterAtLeastOneSample) {
  std::vector<double> noisy{1.0, 3.0};
  EXPECT_EQ(should_stop(noisy, 2.5, quick()), StopReason::timeout);
  EXPECT_EQ(should_stop(std::vector<double>{}, 2.5, quick()), std::nullopt);
}

TEST(StoppingRule, ConvergedWinsOverTimeout) {
  std::vector<double> xs(5, 0.5);
  EXPECT_EQ(should_stop(xs, 100.0, quick()), StopReason::converged);
}

TEST(StoppingRule, RacesOutAKernelThatCannotWin) {
  TimingOptions o = quick();
  o.race_best_ms = 1.0;
  o.race_margin = 0.02;
  o.race_min_samples = 3;
  // Fastest sample 1.05 ms > 1.0 * 1.02: cannot beat the best even at its best, once 3 samples are in.
  EXPECT_EQ(should_stop(std::vector<double>{1.2, 1.05}, 0.1, o), std::nullopt);
  EXPECT_EQ(should_stop(std::vector<double>{1.2, 1.05, 1.1}, 0.1, o), StopReason::raced_out);
  // A sample within the margin keeps it in the race.
  EXPECT_EQ(should_stop(std::vector<double>{1.2, 1.01, 1.3}, 0.1, o), std::nullopt);
  // Racing off (race_best_ms 0): the same samples go on.
  o.race_best_ms = 0;
  EXPECT_EQ(should_stop(std::vector<double>{1.2, 1.05, 1.1}, 0.1, o), std::nullopt);
}

TEST(TimingOptions, DefaultsAreValid) {
  EXPECT_NO_THROW(validate(TimingOptions{}));
}

TEST(TimingOptions, ValidateNamesTheBadField) {
  auto field_of = [](TimingOptions o) -> std::string {
    try {
      validate(o);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
      return e.what();
    }
    return "accepted";
  };
  TimingOptions o;
  o.min_samples = 0;
  EXPECT_NE(field_of(o).find("min_samples"), std::string::npos);
  o = {};
  o.max_samples = 5;
  EXPECT_NE(field_of(o).find("max_samples"), std::string::npos);
  o = {};
  o.warmup = -1;
  EXPECT_NE(field_of(o).find("warmup"), std::string::npos);
  o = {};
  o.timeout_s = 0;
  EXPECT_NE(field_of(o).find("timeout_s"), std::string::npos);
  o = {};
  o.max_noise = -0.5;
  EXPECT_NE(field_of(o).find("max_noise"), std::string::npos);
  for (double bad : {-0.1, 1.5, std::nan("")}) {
    o = {};
    o.throttle_threshold = bad;
    EXPECT_NE(field_of(o).find("throttle_threshold"), std::string::npos) << bad;
  }
  o = {};
  o.throttle_retries = -1;
  EXPECT_NE(field_of(o).find("throttle_retries"), std::string::npos);
  o = {};
  o.throttle_recovery_s = -0.05;
  EXPECT_NE(field_of(o).find("throttle_recovery_s"), std::string::npos);
  for (double edge : {0.0, 1.0}) {  // 0: re-measuring off; 1: anything below the maximum clock
    o = {};
    o.throttle_threshold = edge;
    EXPECT_EQ(field_of(o), "accepted") << edge;
  }
}

TEST(TimingOptions, ThrottlingDefaultsAreNvbenchs) {
  const TimingOptions o;
  EXPECT_DOUBLE_EQ(o.throttle_threshold, 0.75);
  EXPECT_EQ(o.throttle_retries, 2);
  EXPECT_DOUBLE_EQ(o.throttle_recovery_s, 0.05);
  EXPECT_FALSE(TimingStats{}.clock_fraction.has_value());  // unknown until sampled
}

TEST(StopReason, Names) {
  EXPECT_EQ(to_string(StopReason::converged), "converged");
  EXPECT_EQ(to_string(StopReason::max_samples), "max_samples");
  EXPECT_EQ(to_string(StopReason::timeout), "timeout");
  EXPECT_EQ(to_string(StopReason::raced_out), "raced_out");
}

}  // namespace
}  // namespace flashtune::gpu
