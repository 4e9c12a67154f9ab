#include "gpu/clock_check.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>

namespace flashtune::gpu {

void ClockWatch::sample() {
  if (!*sampler_) return;
  const std::optional<double> f = (*sampler_)();
  if (!f || !std::isfinite(*f) || *f <= 0) return;
  lowest_ = lowest_ ? std::min(*lowest_, *f) : *f;
  ++readings_;
}

bool should_remeasure(std::optional<double> clock_fraction, int remeasures_done, const TimingOptions& o) {
  return o.throttle_threshold > 0 && clock_fraction && *clock_fraction < o.throttle_threshold &&
         remeasures_done < o.throttle_retries;
}

TimingStats measure_unthrottled(const std::function<TimingStats(ClockWatch&)>& measure,
                                const ClockSampler& sampler, const TimingOptions& options) {
  for (int repeats = 0;; ++repeats) {
    ClockWatch watch(sampler);
    TimingStats stats = measure(watch);
    stats.clock_fraction = watch.fraction();
    stats.throttle_repeats = repeats;
    if (!should_remeasure(stats.clock_fraction, repeats, options)) return stats;
    std::this_thread::sleep_for(std::chrono::duration<double>(options.throttle_recovery_s));
  }
}

}  // namespace flashtune::gpu
