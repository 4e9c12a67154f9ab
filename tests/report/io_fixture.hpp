#pragma once
// A SYNTHETIC results database for the IO report's tests: three sweeps (standard_attn, fa1_fwd, fa2_fwd)
// on an H100 identity, each with ok trials at several block sizes and SRAM budgets on two problems
// (N = 1024, d = 64, B = 16, H = 32 and N = 4096, d = 128, B = 4, H = 16: 16384 tokens, hidden 2048).
// The numbers are MADE UP: "measured" bytes are the io model's with a few percent of deterministic jitter,
// runtimes a simple roofline of them. Every sweep's space_file starts with kSyntheticLabel, and the report
// says SYNTHETIC in its header. Most trials carry counters; every fifth does not (the report must use those
// for runtime only). One resource_exceeded trial per sweep and one trial of a template the model does not
// know are stored too (the report must leave them out).
//
// A real database replaces this one through the CMake cache variable FLASHTUNE_IO_FIXTURE_DB
// (tests/report/CMakeLists.txt).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "iomodel/io_model.hpp"
#include "store/result_store.hpp"

namespace flashtune::report::testing {

inline constexpr const char* kSyntheticLabel =
    "SYNTHETIC io-report fixture (tests/report/io_fixture.hpp): made-up numbers, not measured on a GPU";

struct IoFixture {
  std::filesystem::path db;
  std::vector<std::int64_t> sweep_ids;
  int ok_trials = 0;        // ok, timed, of a modelled template: the rows the report must have
  int profiled_trials = 0;  // of those, with counters
};

namespace detail {

inline GpuIdentity fixture_h100() {
  return {.name = "NVIDIA H100 80GB HBM3",
          .cc_major = 9,
          .cc_minor = 0,
          .sm_count = 132,
          .smem_optin_per_block = 232448,
          .l2_bytes = 52428800,
          .driver_version = 13000};
}

// Shared memory as the templates' traits compute it (harness/kernels/*_template.cpp).
inline int fixture_smem(const std::string& id, int bm, int bn, int stages, int d) {
  if (id == "fa2_fwd") return 2 * (bm * d + 2 * stages * bn * d);
  if (id == "fa1_fwd") return 2 * (2 * bn * d + 2 * bm * d);
  return std::max(2 * (bm + bn) * d, 2 * std::max(stages * (bm * bn + bn * d), bm * d));  // standard_attn
}

// A fixed jitter in [0.96, 1.04] from a trial's index: deterministic, no seed to keep.
inline double jitter(int i) {
  return 1.0 + 0.01 * static_cast<double>((i * 7919) % 9 - 4);
}

}  // namespace detail

// Writes the database at dir/io-fixture.db (replacing one there) and returns what it holds.
inline IoFixture make_io_fixture(const std::filesystem::path& dir) {
  IoFixture f{.db = dir / "io-fixture.db"};
  std::filesystem::remove(f.db);
  store::ResultStore db(f.db);
  const std::vector<AttentionProblem> problems = {
      {.batch = 16, .heads = 32, .seqlen = 1024, .head_dim = 64},
      {.batch = 4, .heads = 16, .seqlen = 4096, .head_dim = 128},
  };
  const std::vector<std::int64_t> budgets = {49152, 101376, 167936, 232448};
  struct Kind {
    std::string id;
    std::vector<int> block_n;
    double compute_efficiency;  // of the 774 TFLOP/s
  };
  const std::vector<Kind> kinds = {{"standard_attn", {64, 128, 256}, 0.30},
                                   {"fa1_fwd", {32, 64, 128}, 0.22},
                                   {"fa2_fwd", {32, 64, 128}, 0.45}};
  int index = 0;
  for (const Kind& k : kinds) {
    const std::int64_t sweep = db.begin_sweep({.started_at = "2026-11-24T03:00:00Z",
                                               .space_file = std::string(kSyntheticLabel) + ": " + k.id,
                                               .template_id = k.id,
                                               .strategy = "exhaustive",
                                               .arch = "sm_90a",
                                               .has_gpu = true,
                                               .gpu = detail::fixture_h100(),
                                               .nvrtc_version = 13000});
    f.sweep_ids.push_back(sweep);
    for (const AttentionProblem& p : problems)
      for (int bm : {64, 128})
        for (int bn : k.block_n) {
          ParamValues params = {{"block_m", bm}, {"block_n", bn}, {"warps", 4}};
          if (k.id != "fa1_fwd") params["stages"] = 2;
          const int smem = detail::fixture_smem(k.id, bm, bn, 2, p.head_dim);
          iomodel::IoEstimate io = iomodel::estimate({.template_id = k.id, .problem = p, .params = params});
          // A made-up runtime: the slower of compute and DRAM at the roofs, worse away from bn = 64 and for
          // small block_m.
          const double compute_s = p.flops() / (k.compute_efficiency * 774e12);
          const double memory_s = io.dram.total() / (0.8 * 3.0e12);
          const double shape = 1 + 0.12 * std::abs(std::log2(bn / 64.0)) + (bm == 64 ? 0.08 : 0.0);
          for (std::int64_t budget : budgets) {
            store::TrialRecord t{.sweep_id = sweep,
                                 .problem = p,
                                 .smem_budget = budget,
                                 .template_id = k.id,
                                 .params = params,
                                 .registers = 128,
                                 .smem_bytes = smem,
                                 .blocks_per_sm = 1};
            if (smem > budget) {
              if (budget == budgets.front() && bm == 128) {  // one per sweep is enough to check the filter
                t.status = TrialStatus::resource_exceeded;
                t.detail = "shared memory over the budget";
                db.add_trial(t);
              }
              continue;
            }
            const double j = detail::jitter(index++);
            t.verified = true;
            t.samples = 20;
            t.median_ms = 1e3 * std::max(compute_s, memory_s) * shape * (1 + 0.01 * (j - 1) * 10) *
                          (budget == budgets.back() ? 0.98 : 1.0);
            t.mean_ms = t.min_ms = t.median_ms;
            t.stop = "converged";
            t.timed_budget = budget;
            t.tflops = p.flops() / (t.median_ms * 1e-3) / 1e12;
            t.created_at = "2026-11-24T03:10:00Z";
            t.profiled = index % 5 != 0;
            if (t.profiled) {
              t.dram_read_bytes = io.dram.read_bytes * (1.02 * j);
              t.dram_write_bytes = io.dram.write_bytes * (1.01 * j);
              t.l2_bytes = io.l2_bytes * (1.15 * j);
              t.profiled_ns = t.median_ms * 1e6;
              ++f.profiled_trials;
            }
            db.add_trial(t);
            ++f.ok_trials;
          }
        }
    db.finish_sweep(sweep, "finished", "{}");
  }
  // A template the io model does not know: stored, but not in the report.
  db.add_trial({.sweep_id = f.sweep_ids.back(),
                .problem = problems.front(),
                .smem_budget = budgets.back(),
                .template_id = "hopper_fwd",
                .params = {{"block_n", 64}, {"consumer_wgs", 2}},
                .samples = 5,
                .median_ms = 1.0,
                .profiled = true,
                .dram_read_bytes = 1e9});
  return f;
}

// The database the IO report tests read: a copy of FLASHTUNE_IO_FIXTURE_DB (a real one, given at configure
// time; copied so that opening it never touches the file) when the build defines it, else the synthetic one.
inline std::filesystem::path io_report_test_db(const std::filesystem::path& dir) {
#ifdef FLASHTUNE_IO_FIXTURE_DB
  const std::filesystem::path copy = dir / "io-fixture-real.db";
  std::filesystem::copy_file(FLASHTUNE_IO_FIXTURE_DB, copy,
                             std::filesystem::copy_options::overwrite_existing);
  return copy;
#else
  return make_io_fixture(dir).db;
#endif
}

inline constexpr bool kSyntheticFixture =
#ifdef FLASHTUNE_IO_FIXTURE_DB
    false;
#else
    true;
#endif

}  // namespace flashtune::report::testing
