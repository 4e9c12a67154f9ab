#pragma once
// One trial on the GPU: a compiled kernel (from the cubin cache) launched on the current problem under an
// SRAM budget, verified on NaN-poisoned outputs, then timed (nvbench's method, racing optional). It runs in
// the process that owns the GPU (flashtune-trial-worker); the tuner only sees TrialOutcome values.
//
//   TrialRunner r(cubin_cache_dir);                    // device 0's context, a stream, an L2 flush buffer
//   r.set_problem(problem, seed, /*verify=*/true);
//   TrialOutcome o = r.run(spec);                      // o.status: ok, incorrect, launch_error, ...
//   if (o.context_poisoned) exit(...);                 // every later CUDA call would fail: start afresh
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/trial_status.hpp"
#include "gpu/context.hpp"
#include "gpu/device_buffer.hpp"
#include "gpu/device_info.hpp"
#include "gpu/module.hpp"
#include "gpu/sm_clock.hpp"
#include "gpu/stream.hpp"
#include "gpu/timing.hpp"
#include "jit/compile_request.hpp"
#include "kernels/kernel_template.hpp"
#include "run/problem_session.hpp"
#include "verify/error_metrics.hpp"

namespace flashtune::run {

// Which kernel: its cubin cache entry and lowered name; `label` names it in errors.
struct KernelRef {
  std::string cache_key;
  std::string lowered_name;
  std::string label;
};

// The refs of a compiled request's kernels, in the order of its name expressions `exprs`, each labelled
// `label` (with " [kernel k]" when there are several). Throws std::out_of_range for an expression the
// compile result has no lowered name for.
std::vector<KernelRef> kernel_refs(const jit::CompileResult& r, const std::vector<std::string>& exprs,
                                   const std::string& label);

// One trial: the template's kernels, launched in order on one stream (one kernel for most templates).
struct TrialSpec {
  std::string label;  // the configuration, for errors: "fa2_fwd block_m=128 ... (d128 bf16)"
  std::vector<KernelRef> kernels;
  std::vector<KernelLaunch> launches;  // one per kernel
  std::size_t workspace_bytes = 0;     // AttentionParams::workspace
  // TMA tensor maps the kernels take after AttentionParams (KernelTemplate::tensor_maps), built from the
  // problem's buffers at launch; empty: AttentionParams is the kernels' only parameter.
  std::vector<TensorMapRequest> tensor_maps;
  int smem_limit = 0;  // the budget: each block's dynamic shared-memory limit is this minus its static smem
  int carveout_percent =
      -1;  // the SM's shared-memory carveout hint (sram_budget.hpp); -1: the driver's choice
  gpu::TimingOptions timing;
  bool verify = true;
  bool time = true;
};

struct TrialOutcome {
  TrialStatus status = TrialStatus::ok;
  std::string detail;
  int blocks_per_sm = 0;  // the driver's occupancy under the budget's carveout
  std::optional<verify::VerifyResult> check;
  std::optional<gpu::TimingStats> timing;
  double verify_ms = 0;           // wall time of poison + launch + check
  double time_ms = 0;             // wall time of the timing loop
  bool context_poisoned = false;  // a sticky CUDA error: this process can no longer use the GPU
};

// The hardware counters of one profiled launch of a trial's kernels (harness/profile/, CUPTI): never a timed
// launch; the L2 is flushed (read-only) before it. `available` is false when this process cannot read
// counters, with `why` saying how to enable them.
struct ProfileResult {
  bool available = false;
  std::string why;
  double dram_read_bytes = 0, dram_write_bytes = 0, l2_bytes = 0, gpu_time_ns = 0;
  std::map<std::string, double> extra;  // e.g. sm__throughput.avg.pct_of_peak_sustained_elapsed
  int kernels = 0;
  int passes = 0;
  double activity_ns = 0;  // the kernels' durations (Activity API) on a separate unprofiled launch
};

class TrialRunner {
 public:
  // Retains device `ordinal`'s primary context and opens its SM clock (NVML) for the throttling check of
  // run(); without NVML, timings have no clock fraction (sm_clock_unavailable() says why). Throws
  // Error(no_gpu) without a GPU.
  explicit TrialRunner(std::filesystem::path cubin_cache_dir, int ordinal = 0);
  ~TrialRunner();
  TrialRunner(const TrialRunner&) = delete;
  TrialRunner& operator=(const TrialRunner&) = delete;

  const gpu::DeviceInfo& device() const { return device_; }
  // Why the SM clock cannot be read ("NVML unavailable: libnvidia-ml.so.1 could not be loaded (...)"); ""
  // when it can.
  const std::string& sm_clock_unavailable() const { return clock_unavailable_; }

  // Replaces the current problem (inputs and reference). Throws Error on bad problems or driver failures.
  void set_problem(const AttentionProblem& problem, std::uint64_t seed, bool verify);
  const ProblemSession* problem() const { return session_.get(); }

  // Never throws for a bad kernel: a missing cubin, a launch failure, a wrong result or a fault becomes the
  // status. The timing samples the SM clock when it can (TimingStats::clock_fraction; a throttled
  // measurement is taken again, spec.timing.throttle_*). Throws Error(internal) when no problem is set.
  TrialOutcome run(const TrialSpec& spec);

  // Interleaved re-measurement (A B C A B C ...): `rounds` samples of each spec, each after an L2 flush when
  // flush_l2. Samples in ms, per spec. Throws gpu::DriverError on a fault.
  std::vector<std::vector<double>> remeasure(const std::vector<TrialSpec>& specs, int rounds, bool flush_l2);

  // Counters of one launch of the spec's kernels: the traffic metrics (DRAM and L2 bytes, GPU time; one
  // replay pass), or with `utilization` only SM and tensor-pipe utilization (in `extra`; several passes, so
  // batch them: switching between the two sets recreates CUPTI's profiler, ~0.4 s). Throws
  // gpu::DriverError on a fault; a process that cannot read counters gets available == false (and keeps
  // getting it, cheaply).
  ProfileResult profile(const TrialSpec& spec, bool utilization);

 private:
  gpu::Kernel& kernel(const KernelRef& ref);
  // The spec's kernels, loaded; the budget's limits set on each; returns the driver's blocks per SM (the
  // fewest over the kernels).
  std::vector<gpu::Kernel*> prepare(const TrialSpec& spec, int* blocks_per_sm);
  // Queues every kernel of the spec on the stream.
  void launch(const std::vector<gpu::Kernel*>& ks, const TrialSpec& spec);
  void ensure_workspace(std::size_t bytes);

  std::filesystem::path cache_dir_;
  gpu::Context context_;
  gpu::DeviceInfo device_;
  std::string clock_unavailable_;        // before clock_, which sets it
  std::unique_ptr<gpu::SmClock> clock_;  // null without NVML
  gpu::Stream stream_;
  gpu::DeviceBuffer flush_;
  gpu::DeviceBuffer workspace_;
  std::unique_ptr<ProblemSession> session_;
  std::map<std::string, std::pair<gpu::Module, gpu::Kernel>> kernels_;  // by cache key + lowered name
  struct Profiling;  // CUPTI's profiler and activity tracer, created on the first profile()
  std::unique_ptr<Profiling> profiling_;
};

}  // namespace flashtune::run
