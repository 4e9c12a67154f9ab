#include "gpu/timing.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "gpu/device_buffer.hpp"
#include "gpu/event_timer.hpp"
#include "gpu/stream.hpp"

namespace flashtune::gpu {
namespace {

// The SM clock is read while samples 0, kClockEvery, 2 * kClockEvery, ... are queued (the GPU busy with
// them), and once after the last.
constexpr std::uint32_t kClockEvery = 8;

}  // namespace

TimingStats time_kernel(Stream& stream, const std::function<void(Stream&)>& run, const TimingOptions& options,
                        long long l2_bytes, const ClockSampler& clock) {
  validate(options);
  std::optional<DeviceBuffer> scratch;
  if (options.flush_l2 && l2_bytes > 0) scratch.emplace(static_cast<std::size_t>(2 * l2_bytes + 3) / 4 * 4);
  TimingOptions o = options;
  o.flush_l2 = scratch.has_value();
  return time_kernel(stream, run, o, scratch ? &*scratch : nullptr, clock);
}

TimingStats time_kernel(Stream& stream, const std::function<void(Stream&)>& run, const TimingOptions& options,
                        DeviceBuffer* flush_buffer, const ClockSampler& clock) {
  validate(options);
  if (options.flush_l2 && flush_buffer == nullptr)
    throw Error(ErrorKind::invalid_argument, "time_kernel: flush_l2 without a flush buffer");
  DeviceBuffer* scratch = options.flush_l2 ? flush_buffer : nullptr;
  std::uint32_t fill =
      0;  // a new value for every flush, also across re-measurements: every line is rewritten

  auto measure = [&](ClockWatch& watch) {
    using wall_clock = std::chrono::steady_clock;
    const auto begin = wall_clock::now();
    auto wall_s = [&] { return std::chrono::duration<double>(wall_clock::now() - begin).count(); };
    for (int i = 0; i < options.warmup; ++i) run(stream);
    stream.synchronize();

    EventTimer timer;
    std::vector<double> samples;
    samples.reserve(static_cast<std::size_t>(options.min_samples));
    for (std::uint32_t i = 0;; ++i) {
      if (scratch) scratch->fill_u32_async(fill++, stream);
      timer.start(stream);
      run(stream);
      timer.stop(stream);
      if (i % kClockEvery == 0) watch.sample();
      samples.push_back(timer.elapsed_ms());
      if (std::optional<StopReason> stop = should_stop(samples, wall_s(), options)) {
        watch.sample();
        TimingStats stats = summarize(std::move(samples));
        stats.stop = *stop;
        return stats;
      }
    }
  };
  return measure_unthrottled(measure, clock, options);
}

}  // namespace flashtune::gpu
