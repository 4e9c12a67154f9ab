// runtime::best_config keys the results cache exactly as the tuner stores winners, and misses when the GPU's
// driver changes. No GPU needed: the identity is given.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "runtime/best_config.hpp"
#include "store/result_store.hpp"

namespace flashtune::runtime {
namespace {
namespace fs = std::filesystem;

TEST(BestConfig, AnswersFromTheStoreWithTheNearestBucket) {
  const fs::path dir = fs::temp_directory_path() / ("flashtune-best-config-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const GpuIdentity gpu{"Test GPU", 9, 0, 132, 232448, 52428800, 13000};
  const AttentionProblem tuned{.batch = 4, .heads = 16, .seqlen = 4096, .head_dim = 128};
  {
    store::ResultStore db(dir / "r.db");
    store::SweepRecord s;
    s.template_id = "fa2_fwd";
    const std::int64_t sweep = db.begin_sweep(s);
    (void)sweep;
    store::BestEntry e;
    e.key = best_key_for(tuned, gpu, "fa2_fwd", 232448);
    e.problem = tuned;
    e.params = {{"block_m", 128}, {"block_n", 32}, {"stages", 2}, {"warps", 4}};
    e.median_ms = 1.9;
    e.tflops = 290;
    db.put_best(e);
  }
  BestConfigQuery q;
  q.db = dir / "r.db";
  // The same bucket (N 3000 -> 4096), the nearest one (N 8192), the largest budget by default.
  for (int n : {3000, 4096, 8192}) {
    AttentionProblem p = tuned;
    p.seqlen = n;
    const auto hit = best_config(p, gpu, q);
    ASSERT_TRUE(hit) << n;
    EXPECT_EQ(hit->params.at("block_n"), 32);
  }
  // Another driver, another head_dim, causal: misses.
  GpuIdentity newer = gpu;
  newer.driver_version = 13010;
  EXPECT_FALSE(best_config(tuned, newer, q));
  AttentionProblem d64 = tuned;
  d64.head_dim = 64;
  EXPECT_FALSE(best_config(d64, gpu, q));
  AttentionProblem causal = tuned;
  causal.causal = true;
  EXPECT_FALSE(best_config(causal, gpu, q));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace flashtune::runtime
