#pragma once
// `flashtune check` for one search space: the CI correctness gate (docs/check.md).
//
//   compile    every configuration of the plan (check_plan.hpp) compiled through the cubin cache by a pool of
//              compile workers; an error the space does not expect (check.expect_compile_error) fails
//   verify     (GPU) every chosen configuration on every check problem of its variant, in the trial worker:
//              outputs NaN-poisoned, one launch, compared with the reference, never timed; `incorrect` where
//              the space does not expect it (check.expect_incorrect) fails, and so does any launch error,
//              crash or timeout
//   memcheck,  (GPU, `sanitize`) each chosen configuration in its own trial worker started under
//   racecheck  compute-sanitizer (sanitizer.hpp), on the check problems of its variant: an error in the
//              sanitizer's log, or the worker's exit status 86, fails, with the log's first error lines
//
// "Chosen": every configuration, or with top_k the K best per problem that the results store knows for this
// GPU (top_configs.hpp). Without a GPU the compile stage still runs and CheckResult::no_gpu says why the rest
// did not. Nothing is stored.
//
//   CheckResult r = run_check(space, {.compile_only = true}, observer);
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "check/check_result.hpp"
#include "check/sanitizer.hpp"
#include "space/search_space.hpp"
#include "trial/observer.hpp"

namespace flashtune::check {

struct CheckOptions {
  bool compile_only = false;   // never start a trial worker
  bool full_problems = false;  // also verify on the space's own problems
  int top_k = 0;               // 0: every configuration
  // > 0: at most this many configurations per space, drawn with `seed` (check_plan.hpp's
  // PlanOptions::sample); a note says how many of how many.
  int sample = 0;
  std::uint64_t seed = 0;
  std::vector<SanitizerTool> sanitize;
  std::filesystem::path db;  // the results store top_k reads; empty: store::ResultStore::default_path()
  std::filesystem::path cubin_dir;        // empty: jit::CubinCache::default_dir()
  int jobs = 0;                           // compile worker processes; 0: one per core
  std::vector<std::string> trial_worker;  // empty: trial::default_trial_worker_command()
  std::vector<std::string> sanitizer;     // empty: default_sanitizer_command()
  std::filesystem::path log_dir;          // the sanitizer's logs; empty: a new folder in the temp directory
};

// Throws Error for a broken setup (a worker that cannot start, a store that cannot be read); a configuration
// that fails is a case, never an exception.
CheckResult run_check(const space::SearchSpace& space, const CheckOptions& options,
                      trial::Observer& observer);

}  // namespace flashtune::check
