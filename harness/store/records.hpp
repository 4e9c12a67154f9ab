#pragma once
// The rows of the results store, as plain data: a sweep (one tuning run), its trials (one configuration on
// one problem each) and the best configurations (one per BestKey). Time stamps are UTC ISO 8601
// ("2026-11-24T03:13:21Z"); the store fills an empty one with the current time when it writes the row.
#include <cstdint>
#include <optional>
#include <string>

#include "core/gpu_identity.hpp"
#include "core/problem.hpp"
#include "core/trial_status.hpp"
#include "kernels/kernel_template.hpp"
#include "store/best_key.hpp"

namespace flashtune::store {

struct SweepRecord {
  std::int64_t id = 0;
  std::string started_at, finished_at;  // finished_at is "" while running
  std::string space_file, space_hash, template_id, source_hash, strategy, arch;
  std::uint64_t seed = 0;
  bool has_gpu = false;  // false for a compile-only sweep: gpu is then not stored
  GpuIdentity gpu;
  int nvrtc_version = 0;
  std::string status = "running";  // running | finished | interrupted | failed
  std::string summary_json;        // free-form JSON text written by the tuner at the end
};

struct TrialRecord {
  std::int64_t id = 0, sweep_id = 0;
  AttentionProblem problem;
  std::int64_t smem_budget = 0;  // resolved bytes
  std::string template_id;
  ParamValues params;
  TrialStatus status = TrialStatus::ok;
  std::string detail;
  int registers = -1, spill_bytes = 0, smem_bytes = 0, blocks_per_sm = 0, carveout_percent = -1;
  double compile_ms = 0;
  std::string cache_key;
  bool verified = false;
  double o_rel_l2 = 0, o_max_abs = 0, lse_max_abs = 0;  // NaN and infinities are kept
  std::string reference;
  int samples = 0;  // 0: not timed
  double median_ms = 0, mean_ms = 0, min_ms = 0, noise = 0;
  std::string stop;  // converged | max_samples | timeout | raced_out
  std::int64_t timed_budget =
      0;  // the budget whose launch produced the timing (differs from smem_budget when shared)
  double remeasured_ms = 0;  // median of the interleaved top-k re-measurement; 0 when not re-measured
  // The lowest SM clock read while timing, as a fraction of the maximum SM clock (gpu::TimingStats); nullopt
  // when unknown: not timed, no NVML on the machine, or a trial stored before schema 3.
  std::optional<double> clock_fraction;
  double tflops = 0;
  std::string created_at;
  // Hardware counters of one profiled launch (all the template's kernels, L2 flushed before it), when
  // profiled: DRAM bytes read and written, L2 (lts) bytes, the profiled GPU time; activity_ns is the
  // kernels' duration from CUPTI's Activity API on an unprofiled launch (0: not recorded).
  bool profiled = false;
  double dram_read_bytes = 0, dram_write_bytes = 0, l2_bytes = 0, profiled_ns = 0, activity_ns = 0;
  std::string counters_json;  // further metrics, {"name": value}; "" when none
};

// The best configuration for one key. `problem` is the example it was measured on: it must fall in
// key.problem's buckets (ResultStore::put_best checks).
struct BestEntry {
  BestKey key;
  AttentionProblem problem;
  ParamValues params;
  double median_ms = 0, tflops = 0;
  std::int64_t trial_id = 0, sweep_id = 0;  // where it came from; 0 when unknown
  // Read from trial trial_id (its TrialRecord::clock_fraction), never written by put_best: nullopt when that
  // trial is unknown or its clock was not read.
  std::optional<double> clock_fraction;
  std::string updated_at;
};

}  // namespace flashtune::store
