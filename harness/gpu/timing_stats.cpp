#include "gpu/timing_stats.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/enum_names.hpp"
#include "core/error.hpp"

namespace flashtune::gpu {
namespace {

void require(bool ok, const char* field, const std::string& why) {
  if (!ok) throw Error(ErrorKind::invalid_argument, fmt::format("TimingOptions.{}: {}", field, why));
}

double sum(std::span<const double> xs) {
  return std::accumulate(xs.begin(), xs.end(), 0.0);
}

double sample_stdev(std::span<const double> xs, double mean) {
  if (xs.size() < 2) return 0.0;
  double squares = 0.0;
  for (double x : xs) squares += (x - mean) * (x - mean);
  return std::sqrt(squares / static_cast<double>(xs.size() - 1));
}

}  // namespace

void validate(const TimingOptions& o) {
  require(o.warmup >= 0, "warmup", fmt::format("{} is negative", o.warmup));
  require(o.min_samples >= 1, "min_samples", fmt::format("{} is below 1", o.min_samples));
  require(o.max_samples >= o.min_samples, "max_samples",
          fmt::format("{} is below min_samples ({})", o.max_samples, o.min_samples));
  require(o.min_gpu_time_s >= 0, "min_gpu_time_s", fmt::format("{} is negative", o.min_gpu_time_s));
  require(o.max_noise >= 0, "max_noise", fmt::format("{} is negative", o.max_noise));
  require(o.timeout_s > 0, "timeout_s", fmt::format("{} is not positive", o.timeout_s));
  require(o.race_best_ms >= 0, "race_best_ms", fmt::format("{} is negative", o.race_best_ms));
  require(o.race_margin >= 0, "race_margin", fmt::format("{} is negative", o.race_margin));
  require(o.race_min_samples >= 1, "race_min_samples", fmt::format("{} is below 1", o.race_min_samples));
  require(o.throttle_threshold >= 0 && o.throttle_threshold <= 1, "throttle_threshold",
          fmt::format("{} is not in [0, 1]", o.throttle_threshold));
  require(o.throttle_retries >= 0, "throttle_retries", fmt::format("{} is negative", o.throttle_retries));
  require(o.throttle_recovery_s >= 0, "throttle_recovery_s",
          fmt::format("{} is negative", o.throttle_recovery_s));
}

namespace {
constexpr EnumNames<StopReason, 4> kStopReasons{{{
    {StopReason::converged, "converged"},
    {StopReason::max_samples, "max_samples"},
    {StopReason::timeout, "timeout"},
    {StopReason::raced_out, "raced_out"},
}}};
}  // namespace

std::string_view to_string(StopReason reason) {
  return kStopReasons.name(reason, "unknown");
}

std::optional<StopReason> parse_stop_reason(std::string_view s) {
  return kStopReasons.parse(s);
}

double relative_noise(std::span<const double> samples_ms) {
  if (samples_ms.size() < 2) return 0.0;
  const double mean = sum(samples_ms) / static_cast<double>(samples_ms.size());
  if (mean == 0.0) return 0.0;
  return sample_stdev(samples_ms, mean) / mean;
}

TimingStats summarize(std::vector<double> samples_ms) {
  if (samples_ms.empty()) throw Error(ErrorKind::invalid_argument, "summarize: no timing samples");
  TimingStats s;
  const auto n = samples_ms.size();
  std::vector<double> sorted = samples_ms;
  std::sort(sorted.begin(), sorted.end());
  s.median_ms = n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
  s.min_ms = sorted.front();
  s.max_ms = sorted.back();
  s.total_ms = sum(samples_ms);
  s.mean_ms = s.total_ms / static_cast<double>(n);
  s.stdev_ms = sample_stdev(samples_ms, s.mean_ms);
  s.noise = s.mean_ms == 0.0 ? 0.0 : s.stdev_ms / s.mean_ms;
  s.samples_ms = std::move(samples_ms);
  return s;
}

std::optional<StopReason> should_stop(std::span<const double> samples_ms, double elapsed_wall_s,
                                      const TimingOptions& o) {
  const auto n = static_cast<long long>(samples_ms.size());
  if (n >= o.min_samples && sum(samples_ms) * 1e-3 >= o.min_gpu_time_s &&
      relative_noise(samples_ms) <= o.max_noise) {
    return StopReason::converged;
  }
  if (o.race_best_ms > 0 && n >= o.race_min_samples &&
      *std::min_element(samples_ms.begin(), samples_ms.end()) > o.race_best_ms * (1 + o.race_margin))
    return StopReason::raced_out;
  if (n >= o.max_samples) return StopReason::max_samples;
  if (n >= 1 && elapsed_wall_s >= o.timeout_s) return StopReason::timeout;
  return std::nullopt;
}

}  // namespace flashtune::gpu
