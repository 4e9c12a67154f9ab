// TrialRunner::profile: one untimed launch of a trial's kernels under CUPTI (harness/profile/), after a
// read-only L2 flush, plus the kernels' durations from the Activity API on a separate launch.
#include <fmt/format.h>

#include "core/error.hpp"
#include "gpu/l2_flush.hpp"
#include "run/detail/profiling_state.hpp"
#include "run/trial_runner.hpp"

namespace flashtune::run {

TrialRunner::~TrialRunner() {
  profiling_.reset();  // CUPTI objects before the context
  session_.reset();
  kernels_.clear();  // modules before the context
}

ProfileResult TrialRunner::profile(const TrialSpec& spec, bool utilization) {
  if (!session_) throw Error(ErrorKind::internal, "TrialRunner::profile: no problem set");
  if (!profiling_) profiling_ = std::make_unique<Profiling>();
  Profiling& p = *profiling_;
  ProfileResult out;
  if (!p.why_not.empty()) {
    out.why = p.why_not;
    return out;
  }
  // One profiler at a time per context: the traffic set (1 pass: byte counts) or the utilization set (8
  // passes: percentages only; replays restore memory, so its byte counts would be ~7% off and are not
  // asked for). Switching costs ~0.4 s: callers batch the utilization profiles.
  if (!p.profiler || p.utilization != utilization) {
    p.profiler.reset();
    const std::vector<std::string>& metrics =
        utilization ? profile::utilization_metrics() : profile::traffic_metrics();
    std::string why;
    p.profiler = profile::RangeProfiler::create(metrics, &why);
    p.utilization = utilization;
    if (!p.profiler) {
      p.why_not = why.empty() ? "CUPTI's range profiler could not be created" : why;
      out.why = p.why_not;
      return out;
    }
  }
  int blocks = 0;
  const std::vector<gpu::Kernel*> ks = prepare(spec, &blocks);

  // Durations from the Activity API, on their own launch (tracing is off again before any timed launch).
  if (!p.activity && p.activity_why_not.empty()) {
    p.activity = profile::KernelActivity::create(&p.activity_why_not);
  }
  if (p.activity) {
    for (const profile::KernelActivity::Record& r : p.activity->record([&] { launch(ks, spec); }))
      out.activity_ns += static_cast<double>(r.end_ns - r.start_ns);
  }

  gpu::flush_l2_read_only(stream_, flush_);
  stream_.synchronize();
  const profile::Counters c = p.profiler->profile([&] { launch(ks, spec); });
  stream_.synchronize();
  out.available = true;
  out.dram_read_bytes = c.dram_read_bytes;
  out.dram_write_bytes = c.dram_write_bytes;
  out.l2_bytes = c.l2_bytes;
  out.gpu_time_ns = c.gpu_time_ns;
  out.extra = c.extra;
  out.kernels = c.kernels;
  out.passes = p.profiler->passes();
  return out;
}

}  // namespace flashtune::run
