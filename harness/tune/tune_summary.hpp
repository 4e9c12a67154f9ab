#pragma once
// What a sweep did and found: counts by stage and status, the time split, and the winners. The tuner fills
// it; printers (report/tune_report.hpp) render it; the store keeps its JSON with the sweep.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/gpu_identity.hpp"
#include "core/problem.hpp"
#include "core/trial_status.hpp"
#include "kernels/kernel_template.hpp"

namespace flashtune::tune {

struct Winner {
  AttentionProblem problem;
  std::int64_t smem_budget = 0;  // resolved bytes
  std::string budget_label;      // as the space wrote it: "max", "99 KiB"
  ParamValues params;
  double median_ms =
      0;  // the interleaved re-measurement's median (the screening median when not re-measured)
  double screening_ms = 0;  // the sweep's own median for this configuration
  double tflops = 0;
  int blocks_per_sm = 0;
  std::int64_t trial_id = 0;
  bool from_cache = false;  // answered by the results cache: not measured in this run
};

struct TuneSummary {
  std::string space_file, template_id, strategy, arch;
  std::uint64_t seed = 0;
  std::optional<GpuIdentity> gpu;
  std::string no_gpu;       // why nothing was timed, when there is no GPU
  bool from_cache = false;  // every winner came from the results cache
  std::int64_t sweep_id = 0;
  std::string db_path;

  std::size_t problems = 0, budgets = 0, combinations = 0;  // combinations: the space's size, per problem
  // Configurations removed before compiling, summed over problems: by the space's constraints, by the
  // template's rules (its static_asserts), by the strategy (random's budget), over every SRAM budget.
  std::size_t pruned_constraint = 0, pruned_template = 0, pruned_strategy = 0, pruned_over_budget = 0;
  std::size_t kernels = 0, compile_errors = 0, cache_hits = 0;  // distinct instantiations compiled
  std::map<std::string, std::size_t> trials_by_status;          // every stored trial, by status name
  std::size_t trials = 0, gpu_trials = 0, shared_trials = 0, raced_out = 0, restarts = 0;
  std::size_t profiled = 0;          // trials with hardware counters (measure.profile)
  std::size_t resumed_trials = 0;    // --resume: trials the interrupted sweep had stored (not run again)
  std::string profile_note;          // why counters could not be read, when they could not
  std::size_t throttle_repeats = 0;  // timings taken again because the SM clock was throttled (summed)
  std::string sm_clock_note;         // why the SM clock could not be read (no throttling check), if not

  // Seconds. compile_wall: start to the last compile result; nvrtc_cpu: summed NVRTC time of the compiles
  // done now (not cache hits); compile_wait: time the GPU loop waited for a compile; setup: inputs and
  // references in the worker; verify / time / remeasure: the worker's wall time for checking, timing and
  // the interleaved top-k re-measurement; wall: the whole run.
  double wall_s = 0, compile_wall_s = 0, nvrtc_cpu_s = 0, compile_wait_s = 0, setup_s = 0, verify_s = 0,
         time_s = 0, remeasure_s = 0, profile_s = 0;

  std::vector<Winner> winners;

  nlohmann::json to_json() const;
};

}  // namespace flashtune::tune
