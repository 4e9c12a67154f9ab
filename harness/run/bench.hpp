#pragma once
// `flashtune bench`'s measurement: one problem, many compiled instances of any template. Inputs and the
// reference are made once (TrialRunner::set_problem); each instance runs as `tune` runs a trial (under the
// device's largest SRAM budget): launched on NaN-poisoned outputs, verified, then timed.
#include <cstdint>
#include <optional>
#include <string>

#include "core/trial_status.hpp"
#include "gpu/timing_stats.hpp"
#include "run/precompile.hpp"
#include "run/trial_runner.hpp"
#include "verify/error_metrics.hpp"

namespace flashtune::run {

struct BenchOptions {
  std::uint64_t seed = 20261122;  // inputs and the choice of checked heads; recorded in every result
  bool verify = true;
  bool time = true;
  gpu::TimingOptions timing;
};

struct BenchResult {
  Instance instance;
  TrialStatus status = TrialStatus::ok;
  std::string detail;  // the reason when status != ok
  int registers = -1;  // ptxas facts of the limiting kernel
  int spill_bytes = 0;
  int smem_bytes = 0;
  int blocks_per_sm = 0;  // the driver's, when it ran; the calculator's otherwise
  std::optional<verify::VerifyResult> check;
  std::string reference;  // which reference checked it
  std::optional<gpu::TimingStats> timing;
  double tflops = 0;  // problem.flops() / median time
  std::uint64_t seed = 0;
};

// Runs `c` on the runner's current problem (set_problem(c.instance.problem(), options.seed, options.verify)
// first). Never throws for a bad configuration: a compile error, a configuration that does not fit, a launch
// error or a wrong answer becomes the status.
BenchResult bench_instance(TrialRunner& runner, const CompiledInstance& c, const BenchOptions& options);

}  // namespace flashtune::run
