#pragma once
// Clock-throttling detection for the timing loop, kept apart from the GPU so that it is tested without one.
// Like nvbench: a measurement taken while the SM clock was below a threshold fraction of its maximum is
// discarded and taken again after a short recovery delay (TimingOptions::throttle_threshold, 75%;
// throttle_recovery_s, 50 ms; at most throttle_retries times, 2).
//
// The clock comes from a ClockSampler (gpu/sm_clock.hpp reads it through NVML). A ClockWatch collects the
// readings of one measurement; its clock fraction is the lowest of them. measure_unthrottled() is the loop:
//
//   TimingStats s = measure_unthrottled([&](ClockWatch& w) { ...; w.sample(); ... }, sampler, options);
//   s.clock_fraction;    // 0.93 (the kept measurement's), nullopt without a sampler or a successful reading
//   s.throttle_repeats;  // how many throttled measurements were discarded before it
#include <functional>
#include <optional>

#include "gpu/timing_stats.hpp"

namespace flashtune::gpu {

// The current SM clock as a fraction of the device's maximum SM clock (1.0: at the maximum), or nullopt when
// it cannot be read now. An empty sampler means the clock is not sampled.
using ClockSampler = std::function<std::optional<double>()>;

// The clock readings of one measurement.
class ClockWatch {
 public:
  explicit ClockWatch(const ClockSampler& sampler) : sampler_(&sampler) {}

  // Reads the clock once. Without a sampler, or when the reading fails (nullopt, not finite, or <= 0),
  // nothing is recorded.
  void sample();
  // The lowest reading so far; nullopt before any.
  std::optional<double> fraction() const { return lowest_; }
  int readings() const { return readings_; }

 private:
  const ClockSampler* sampler_;
  std::optional<double> lowest_;
  int readings_ = 0;
};

// Whether a measurement with this clock fraction is taken again: re-measuring is on (throttle_threshold > 0),
// the fraction is known and below throttle_threshold, and fewer than throttle_retries re-measurements were
// made. An unknown fraction (no NVML) is never a reason to measure again.
bool should_remeasure(std::optional<double> clock_fraction, int remeasures_done,
                      const TimingOptions& options);

// Calls measure(watch), a fresh watch each time, until should_remeasure() says no, sleeping
// throttle_recovery_s before each repeat. Returns the last measurement with clock_fraction (its watch's) and
// throttle_repeats set. Errors from measure propagate.
TimingStats measure_unthrottled(const std::function<TimingStats(ClockWatch&)>& measure,
                                const ClockSampler& sampler, const TimingOptions& options);

}  // namespace flashtune::gpu
