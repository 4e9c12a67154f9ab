#pragma once
// A sweep: the pipeline from a search space to stored trials and cached winners.
//
//   enumerate -> constraints -> template rules -> strategy -> compile (a process pool on a background
//   thread, running ahead) -> resource facts (ptxas) -> SRAM budget pruning -> correctness check -> timing
//   -> store (each trial committed as it ends) -> interleaved re-measurement of the top k -> best cache
//
// Trials run in a trial worker process that owns the GPU (trial_client.hpp); this process never creates a
// CUDA context. Without a GPU the sweep compiles and resource-checks everything, stores nothing, and says
// why in TuneSummary::no_gpu. When the results cache already holds a winner for every (problem, budget) of
// the space on this GPU (same template source, NVRTC, driver), nothing is measured unless `force`.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "space/search_space.hpp"
#include "trial/observer.hpp"
#include "tune/tune_summary.hpp"

namespace flashtune::tune {

struct TuneOptions {
  std::filesystem::path db;         // empty: store::ResultStore::default_path()
  std::filesystem::path cubin_dir;  // empty: jit::CubinCache::default_dir()
  int jobs = 0;                     // compile worker processes; 0: one per core
  bool force = false;               // measure even when the results cache has every answer
  bool compile_only = false;        // never start a trial worker: compile and resource-check only
  // Continue the newest unfinished sweep of the same space (same file hash, template source, NVRTC, GPU,
  // strategy and seed) in the store, skipping every trial it already stored; a new sweep when there is none.
  bool resume = false;
  std::optional<space::StrategyKind> strategy;  // overrides the space's
  std::optional<std::uint64_t> seed;
  std::optional<int> random_budget;
  std::vector<std::string> trial_worker;  // empty: trial::default_trial_worker_command()
};

// Runs the sweep. Throws Error for a broken setup (unknown template, unreadable store, a trial worker that
// cannot start); a bad configuration is never an exception, it is a trial status.
TuneSummary tune(const space::SearchSpace& space, const TuneOptions& options, trial::Observer& observer);

}  // namespace flashtune::tune
