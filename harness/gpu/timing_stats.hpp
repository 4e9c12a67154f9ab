#pragma once
// The statistics of kernel timing, kept apart from the GPU so that they are tested without one: the options
// of a measurement, its summary, and the rule that decides when enough samples have been taken.
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace flashtune::gpu {

// How to time one kernel (nvbench's "stdrel" criterion, with its defaults scaled for an autotuner's many
// trials).
struct TimingOptions {
  int warmup = 3;                // untimed runs first (lazy loading, clocks, caches)
  int min_samples = 10;          // at least this many timed runs
  int max_samples = 200;         // at most this many
  double min_gpu_time_s = 0.05;  // at least this much summed GPU time
  double max_noise = 0.01;       // stop once stdev/mean is at most this (1%)
  double timeout_s = 10;  // wall-clock limit of one measurement, warm-up included; at least one sample is
                          // always taken. A throttled measurement taken again has its own.
  bool flush_l2 = true;   // overwrite L2 before every sample (cold-cache timing)
  // Racing: stop measuring once this kernel cannot beat the best so far. Off when race_best_ms is 0; else,
  // after race_min_samples, the kernel is raced out when even its fastest sample is slower than
  // race_best_ms * (1 + race_margin).
  double race_best_ms = 0;
  double race_margin = 0.02;
  int race_min_samples = 3;
  // Clock throttling (gpu/clock_check.hpp), when time_kernel is given a clock sampler: a measurement whose
  // lowest SM clock reading is below throttle_threshold of the maximum SM clock is discarded and taken again
  // after throttle_recovery_s, at most throttle_retries times (nvbench's check: 75%, 50 ms). A threshold of
  // 0 turns re-measuring off; the clock fraction is still recorded.
  double throttle_threshold = 0.75;
  int throttle_retries = 2;
  double throttle_recovery_s = 0.05;
};

// Throws Error(invalid_argument) naming the field: warmup < 0, min_samples < 1, max_samples < min_samples,
// min_gpu_time_s < 0, max_noise < 0, timeout_s <= 0, throttle_threshold outside [0, 1], throttle_retries < 0,
// throttle_recovery_s < 0 (and the racing fields).
void validate(const TimingOptions& options);

enum class StopReason {
  converged,    // min_samples and min_gpu_time reached with noise <= max_noise
  max_samples,  // max_samples taken without converging
  timeout,      // timeout_s passed without converging
  raced_out,    // slower than the best so far beyond the racing margin (TimingOptions::race_best_ms)
};
std::string_view to_string(StopReason reason);
std::optional<StopReason> parse_stop_reason(std::string_view s);  // nullopt for an unknown name

struct TimingStats {
  std::vector<double> samples_ms;  // in the order taken
  double median_ms = 0;
  double mean_ms = 0;
  double min_ms = 0;
  double max_ms = 0;
  double stdev_ms = 0;  // sample standard deviation (n-1); 0 for a single sample
  double noise = 0;     // stdev / mean (relative standard deviation); 0 for a single sample
  double total_ms = 0;  // summed GPU time of the samples
  StopReason stop = StopReason::converged;
  // The lowest SM clock read during the measurement as a fraction of the maximum SM clock (0.93); nullopt
  // when the clock was not sampled (no NVML: libnvidia-ml.so.1 missing or failing, or no sampler given).
  std::optional<double> clock_fraction;
  int throttle_repeats = 0;  // measurements discarded as throttled before this one
};

// Summarizes samples (median of an even count: the mean of the middle two). stop is left as converged.
// Throws Error(invalid_argument) for no samples.
TimingStats summarize(std::vector<double> samples_ms);

// The relative standard deviation of the samples, stdev/mean: 0 for fewer than two samples or a zero mean.
double relative_noise(std::span<const double> samples_ms);

// The stopping rule, checked after every sample: converged when samples >= min_samples, their sum >=
// min_gpu_time_s and noise <= max_noise; else raced_out when racing says it cannot win; else max_samples
// when that many are taken; else timeout when elapsed_wall_s >= timeout_s; else nullopt (take another
// sample).
std::optional<StopReason> should_stop(std::span<const double> samples_ms, double elapsed_wall_s,
                                      const TimingOptions& options);

}  // namespace flashtune::gpu
