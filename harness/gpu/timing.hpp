#pragma once
// Timing a kernel the way nvbench does: warm up, then take samples until the stopping rule of TimingOptions
// says the median is trustworthy. Each sample is
//   [L2 flush: memset of a 2 x L2 scratch buffer] -> start event -> run(stream) -> stop event
// so the flush stays outside the timed interval, and the flush still running on the GPU while the host queues
// run() keeps the host's launch overhead out of it too.
//
// With a clock sampler (gpu/sm_clock.hpp), the SM clock is read while the first sample and every 8th run, and
// right after the last; a measurement throttled below TimingOptions::throttle_threshold of the maximum clock
// is taken again, warm-up included (gpu/clock_check.hpp). TimingStats::clock_fraction is the kept
// measurement's.
#include <functional>

#include "gpu/clock_check.hpp"
#include "gpu/timing_stats.hpp"

namespace flashtune::gpu {

class Stream;
class DeviceBuffer;

// Times `run`, which queues the work to time on the stream it is given (one or more launches) and must not
// synchronize. Needs a current Context. `l2_bytes` is the device's L2 size (DeviceInfo::l2_bytes); with
// flush_l2 a scratch buffer of twice that is allocated for the call. Errors from run() and driver errors (a
// kernel fault shows up as cuEventSynchronize) propagate. Throws Error(invalid_argument) for bad options.
TimingStats time_kernel(Stream& stream, const std::function<void(Stream&)>& run, const TimingOptions& options,
                        long long l2_bytes, const ClockSampler& clock = {});

// The same with a caller-owned flush buffer (at least twice the L2, a multiple of 4 bytes), so that many
// timings in a row do not allocate one each; nullptr with flush_l2 is an Error(invalid_argument).
TimingStats time_kernel(Stream& stream, const std::function<void(Stream&)>& run, const TimingOptions& options,
                        DeviceBuffer* flush_buffer, const ClockSampler& clock = {});

}  // namespace flashtune::gpu
