// The throttling check without a GPU: clock readings injected through a scripted sampler.
#include "gpu/clock_check.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstddef>
#include <limits>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

namespace flashtune::gpu {
namespace {

// A sampler that returns `readings` in order (then nullopt), counting its calls.
struct ScriptedClock {
  std::vector<std::optional<double>> readings;
  std::size_t calls = 0;
  ClockSampler sampler() {
    return [this]() -> std::optional<double> {
      ++calls;
      return calls <= readings.size() ? readings[calls - 1] : std::nullopt;
    };
  }
};

// One measurement: reads the clock twice (as time_kernel does around its samples) and returns one sample
// whose value is the measurement's number (1, 2, 3, ...), so that a test sees which one was kept.
struct FakeMeasurements {
  int taken = 0;
  TimingStats operator()(ClockWatch& watch) {
    watch.sample();
    watch.sample();
    return summarize({static_cast<double>(++taken)});
  }
};

TimingOptions checked(double threshold = 0.75, int retries = 2) {
  TimingOptions o;
  o.throttle_threshold = threshold;
  o.throttle_retries = retries;
  o.throttle_recovery_s = 0;
  return o;
}

TEST(ClockWatch, KeepsTheLowestReading) {
  ScriptedClock clock{{0.95, 0.81, 0.9}};
  const ClockSampler sampler = clock.sampler();
  ClockWatch w(sampler);
  EXPECT_FALSE(w.fraction().has_value());
  w.sample();
  EXPECT_EQ(w.fraction(), 0.95);
  w.sample();
  w.sample();
  EXPECT_EQ(w.fraction(), 0.81);
  EXPECT_EQ(w.readings(), 3);
}

TEST(ClockWatch, FailedReadingsAreSkipped) {
  ScriptedClock clock{{std::nullopt, std::numeric_limits<double>::quiet_NaN(), 0.0, -1.0,
                       std::numeric_limits<double>::infinity(), 0.88}};
  const ClockSampler sampler = clock.sampler();
  ClockWatch w(sampler);
  for (int i = 0; i < 5; ++i) w.sample();
  EXPECT_FALSE(w.fraction().has_value());
  EXPECT_EQ(w.readings(), 0);
  w.sample();
  EXPECT_EQ(w.fraction(), 0.88);
  EXPECT_EQ(w.readings(), 1);
}

TEST(ClockWatch, WithoutASamplerNothingIsRead) {
  const ClockSampler none;
  ClockWatch w(none);
  w.sample();
  EXPECT_FALSE(w.fraction().has_value());
  EXPECT_EQ(w.readings(), 0);
}

TEST(ShouldRemeasure, OnlyAKnownFractionBelowTheThresholdWithRetriesLeft) {
  const TimingOptions o = checked(0.75, 2);
  EXPECT_TRUE(should_remeasure(0.5, 0, o));
  EXPECT_TRUE(should_remeasure(0.749, 1, o));
  EXPECT_FALSE(should_remeasure(0.5, 2, o));   // retries spent
  EXPECT_FALSE(should_remeasure(0.75, 0, o));  // at the threshold is not below it
  EXPECT_FALSE(should_remeasure(0.99, 0, o));
  EXPECT_FALSE(should_remeasure(std::nullopt, 0, o));        // unknown (no NVML): never
  EXPECT_FALSE(should_remeasure(0.1, 0, checked(0, 2)));     // threshold 0: off
  EXPECT_FALSE(should_remeasure(0.1, 0, checked(0.75, 0)));  // no retries
}

TEST(MeasureUnthrottled, AThrottledMeasurementIsTakenAgainAndTheKeptOnesFractionReported) {
  ScriptedClock clock{{0.95, 0.6, /* second measurement */ 0.97, 0.98}};
  FakeMeasurements m;
  const TimingStats s = measure_unthrottled(std::ref(m), clock.sampler(), checked());
  EXPECT_EQ(m.taken, 2);
  EXPECT_EQ(s.median_ms, 2.0);  // the second measurement is the one kept
  EXPECT_EQ(s.clock_fraction, 0.97);
  EXPECT_EQ(s.throttle_repeats, 1);
}

TEST(MeasureUnthrottled, AtMostThrottleRetriesRepeatsThenTheLastIsKept) {
  ScriptedClock clock{{0.5, 0.5, 0.4, 0.6, 0.3, 0.7, 0.2, 0.2}};
  FakeMeasurements m;
  const TimingStats s = measure_unthrottled(std::ref(m), clock.sampler(), checked(0.75, 2));
  EXPECT_EQ(m.taken, 3);  // the first and two retries
  EXPECT_EQ(s.median_ms, 3.0);
  EXPECT_EQ(s.clock_fraction, 0.3);  // still throttled: recorded as it was
  EXPECT_EQ(s.throttle_repeats, 2);
  EXPECT_EQ(clock.calls, 6u);
}

TEST(MeasureUnthrottled, NoSamplerMeansOneMeasurementAndAnUnknownFraction) {
  FakeMeasurements m;
  const TimingStats s = measure_unthrottled(std::ref(m), ClockSampler{}, checked());
  EXPECT_EQ(m.taken, 1);
  EXPECT_FALSE(s.clock_fraction.has_value());
  EXPECT_EQ(s.throttle_repeats, 0);
}

TEST(MeasureUnthrottled, ThresholdZeroRecordsTheFractionWithoutRemeasuring) {
  ScriptedClock clock{{0.4, 0.45}};
  FakeMeasurements m;
  const TimingStats s = measure_unthrottled(std::ref(m), clock.sampler(), checked(0, 2));
  EXPECT_EQ(m.taken, 1);
  EXPECT_EQ(s.clock_fraction, 0.4);
  EXPECT_EQ(s.throttle_repeats, 0);
}

TEST(MeasureUnthrottled, WaitsTheRecoveryDelayBeforeARepeat) {
  ScriptedClock clock{{0.5, 0.5, 0.9, 0.9}};
  FakeMeasurements m;
  TimingOptions o = checked();
  o.throttle_recovery_s = 0.03;
  const auto t0 = std::chrono::steady_clock::now();
  const TimingStats s = measure_unthrottled(std::ref(m), clock.sampler(), o);
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(s.throttle_repeats, 1);
  EXPECT_GE(waited, 0.03);
}

TEST(MeasureUnthrottled, ErrorsFromTheMeasurementPropagate) {
  ScriptedClock clock{{0.9}};
  EXPECT_THROW(measure_unthrottled([](ClockWatch&) -> TimingStats { throw std::runtime_error("fault"); },
                                   clock.sampler(), checked()),
               std::runtime_error);
}

}  // namespace
}  // namespace flashtune::gpu
