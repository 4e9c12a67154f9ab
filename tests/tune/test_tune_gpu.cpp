// A small real sweep on the GPU: trials in the real trial worker, winners cached; then every stored winner is
// verified again in this process on fresh inputs (another seed), and a second run answers from the cache.
#include <gtest/gtest.h>

#include <filesystem>

#include "gpu/driver_api.hpp"
#include "jit/cubin_cache.hpp"
#include "kernels/kernel_template.hpp"
#include "kernels/sram_budget.hpp"
#include "run/kernel_loader.hpp"
#include "run/trial_runner.hpp"
#include "runtime/best_config.hpp"
#include "space/space_loader.hpp"
#include "store/result_store.hpp"
#include "tune/tuner.hpp"

namespace flashtune::tune {
namespace {
namespace fs = std::filesystem;

constexpr const char* kSpace = R"(template: fa2_fwd
parameters:
  block_m: [64, 128]
  block_n: [32, 64]
  warps: [4, 8]
  stages: [1, 2]
constraints: ["block_m % (16 * warps) == 0"]
sram_budgets: [48 KiB, max]
problems:
  - {batch: 2, heads: 4, seqlen: 1000, head_dim: 64, dtype: bf16, causal: [false, true]}
  - {batch: 1, heads: 8, seqlen: 2048, head_dim: 128, dtype: fp16}
measure: {min_samples: 3, max_samples: 10, min_time: 1 ms, top_k: 2, remeasure_rounds: 3}
strategy: {kind: racing, seed: 11}
)";

TEST(TuneGpu, SmallSweepEndToEndAndEveryWinnerVerifiesAgain) {
  std::string why;
  if (!gpu::gpu_available(&why)) GTEST_SKIP() << "no GPU: " << why;
  const fs::path dir = fs::temp_directory_path() / ("flashtune-tune-gpu-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const space::SearchSpace space = space::parse_search_space(kSpace, "small-gpu.yaml");
  TuneOptions o;
  o.db = dir / "results.db";
  trial::Observer quiet;
  const TuneSummary s = tune(space, o, quiet);
  ASSERT_TRUE(s.no_gpu.empty()) << s.no_gpu;
  EXPECT_FALSE(s.from_cache);
  EXPECT_EQ(s.problems, 3u);
  EXPECT_EQ(s.budgets, 2u);
  EXPECT_GT(s.gpu_trials, 0u);
  EXPECT_EQ(s.trials_by_status.count("incorrect"), 0u);
  EXPECT_EQ(s.trials_by_status.count("crashed"), 0u);
  ASSERT_EQ(s.winners.size(), 6u);  // every (problem, budget) has one

  // Every stored winner, verified again here on other inputs.
  const store::ResultStore db(o.db);
  const std::vector<store::BestEntry> best = db.best_entries();
  ASSERT_EQ(best.size(), 6u);
  const KernelTemplate& t = find_template("fa2_fwd");
  run::TrialRunner runner(jit::CubinCache::default_dir());
  for (const store::BestEntry& e : best) {
    SCOPED_TRACE(e.key.to_string() + " " + to_string(e.params));
    EXPECT_LE(t.smem_bytes(e.params, variant_of(e.problem)), e.key.problem.smem_budget);
    const std::vector<std::string> exprs = t.name_expressions(e.params, variant_of(e.problem));
    jit::CompileRequest req =
        run::make_request(std::string(t.source_file()), exprs[0], runner.device().arch());
    req.name_expressions = exprs;
    const jit::CompileResult r = jit::compile_cached(req, jit::CubinCache());
    ASSERT_TRUE(r.ok);
    runner.set_problem(e.problem, /*seed=*/999, /*verify=*/true);
    run::TrialSpec spec;
    spec.label = "winner";
    for (const std::string& x : exprs) spec.kernels.push_back({r.cache_key, r.lowered_names.at(x), x});
    spec.launches = t.launches(e.params, e.problem);
    spec.workspace_bytes = t.workspace_bytes(e.params, e.problem);
    const SramPlan plan = plan_sram_budget(e.key.problem.smem_budget, sm_limits_for(9, 0));
    spec.smem_limit = plan.per_block_limit;
    spec.carveout_percent = plan.carveout_percent;
    spec.time = false;
    const run::TrialOutcome out = runner.run(spec);
    EXPECT_EQ(out.status, TrialStatus::ok) << out.detail;
    ASSERT_TRUE(out.check);
    EXPECT_TRUE(out.check->ok) << out.check->detail;
  }

  // The library call answers with the winner of the largest budget.
  runtime::BestConfigQuery q;
  q.db = o.db;
  const auto lib = runtime::best_config(s.winners[0].problem, q);
  ASSERT_TRUE(lib);
  EXPECT_EQ(lib->params, s.winners[0].params);  // winners[0]: the first problem under the largest budget

  // The same space again: answered from the results cache, nothing measured.
  const TuneSummary again = tune(space, o, quiet);
  EXPECT_TRUE(again.from_cache);
  EXPECT_EQ(again.gpu_trials, 0u);
  ASSERT_EQ(again.winners.size(), 6u);
  for (std::size_t i = 0; i < 6; ++i) EXPECT_EQ(again.winners[i].params, s.winners[i].params);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace flashtune::tune
