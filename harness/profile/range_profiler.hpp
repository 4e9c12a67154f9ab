#pragma once
// Hardware counters of the kernels a launch queues, through CUPTI's range profiler (auto range, kernel
// replay): every kernel is its own range, replayed by CUPTI as often as the metrics' passes need (memory
// saved and restored around each replay), then the ranges are decoded and evaluated into Counters.
//
// In the process that owns the GPU, with its context current (gpu::Context):
//   std::string why;
//   auto p = RangeProfiler::create(traffic_metrics(), &why);
//   if (!p) log("no counters: " + why);         // the sweep goes on without them
//   gpu::flush_l2_read_only(stream, scratch);   // gpu/l2_flush.hpp: earlier dirty lines written back
//   Counters c = p->profile([&] { launch(kernel, shape, args, &stream); });
//
// The L2 is write-back, so DRAM writes land in whichever kernel evicts a dirty line, not in the one that
// wrote it. Two things keep a profile's dram__bytes_write to the launch's own writes:
//  - before profile(): the caller's read-only flush (gpu::flush_l2_read_only), so that the lines earlier
//    work left dirty (inputs just uploaded, another kernel's output, a memset) are written back outside the
//    ranges;
//  - at the end of profile(), by default (write_back_l2): a read-only sweep of the profiler's own scratch
//    buffer inside the session, after the launch's kernels, whose DRAM writes are added to the launch's: the
//    last lines the kernels wrote (on an H100 ~15-25 MB of a large output) are still dirty in the L2 when
//    the kernels end and would otherwise be missed. Only the sweep's DRAM writes count (not its reads, L2
//    bytes or time); it costs ~40 us of GPU time per pass, and leaves the L2 holding clean scratch lines.
//
// Never profile a launch that is being timed: profiled kernels are serialized (CUPTI synchronizes the
// context after each), replayed, and run with counter collection on. Time on separate launches.
//
// CUPTI allows one range profiler per context at a time; destroy one before creating another. Profiling and
// the Activity API (kernel_activity.hpp) coexist in one process, but do not profile inside a
// KernelActivity::record() launch.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "profile/counters.hpp"

namespace flashtune::profile {

class RangeProfiler {
 public:
  // The most kernels one profile() call can profile; more throws (their ranges are dropped).
  static constexpr int kMaxKernels = 64;

  // Checks the device and the permission to read counters, builds the metrics' configuration for this
  // device's chip, enables the profiler on the current context and runs one throwaway session (CUPTI's own
  // first-session writes stay out of the first profile()). Allocates a scratch buffer of 2x the L2 and a
  // stream for the sweep (freed with the object; destroy it before the context). About 0.1 s. Returns nullptr
  // with *why_not (if given) saying what is wrong and how to fix it when counters cannot be read here: no
  // GPU, counters restricted to administrators (root, CAP_SYS_ADMIN / CAP_PERFMON, or
  // NVreg_RestrictProfilingToAdminUsers=0), another profiler attached (running under ncu / nsys), vGPU
  // without profiling, MIG, an unsupported GPU. Throws Error(invalid_argument) for an unknown metric or no
  // current context, Error for other CUPTI failures.
  static std::unique_ptr<RangeProfiler> create(const std::vector<std::string>& metrics, std::string* why_not);

  ~RangeProfiler();  // disables the profiler; failures are logged
  RangeProfiler(const RangeProfiler&) = delete;
  RangeProfiler& operator=(const RangeProfiler&) = delete;

  int passes() const;  // replay passes per kernel (1 for traffic_metrics() on GH100)
  // Whether profile() ends with the read-only sweep that charges the launch with the write-back of the lines
  // its kernels left dirty (see above; on by default, and only when dram__bytes_write.sum is profiled). Off:
  // the L2 stays as the kernels left it (a second profile of the same data sees it L2-resident), and the
  // launch's last ~15-25 MB of writes are missing from dram_write_bytes.
  void set_write_back_l2(bool on);
  bool write_back_l2() const;
  const std::string& chip() const;
  const std::vector<std::string>& metrics() const;

  // Waits for the work already queued (so that it stays out of the ranges), then profiles every kernel
  // `launch` queues on the current context (which must be the one create() saw): each kernel is its own
  // range, replayed passes() times in all. `launch` runs once and may queue up to kMaxKernels kernels on any
  // stream; it must not synchronize on other threads' work. Returns their counters summed (Counters; with
  // write_back_l2 dram_write_bytes includes the write-back of their dirty lines); a launch that queues no
  // kernel gives kernels == 0. Errors from `launch` propagate (the profiler is stopped
  // first); a kernel fault surfaces as gpu::DriverError naming cuCtxSynchronize.
  Counters profile(const std::function<void()>& launch);

 private:
  struct Impl;
  explicit RangeProfiler(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace flashtune::profile
