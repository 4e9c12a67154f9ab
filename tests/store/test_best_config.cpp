// The results cache's keys (what must miss, what may hit) and best_config()'s fallback rule, through the
// database and through choose_best() directly.
#include <gtest/gtest.h>

#include "store/best_config_rule.hpp"
#include "store/result_store.hpp"
#include "store_test_util.hpp"

namespace flashtune::store {
namespace {
using namespace testing;

class BestConfig : public ::testing::Test {
 protected:
  ScratchDir dir_;
  ResultStore db_{dir_ / "flashtune.db"};

  // The seqlen bucket best_config() answers with for `wanted`, or 0 for a miss.
  int answer_seqlen(const BestKey& wanted) {
    auto e = db_.best_config(wanted);
    return e ? e->key.problem.seqlen_bucket : 0;
  }
};

TEST_F(BestConfig, CacheKeyMissesOnAnyChangeButTheExactSizeInItsBucket) {
  const AttentionProblem p = problem(4096);
  db_.put_best(entry_for(p));
  const BestKey k = key_for(p);
  ASSERT_TRUE(db_.find_best(k).has_value());
  ASSERT_TRUE(db_.best_config(k).has_value());

  // Hit: a different seqlen (and batch*heads) in the same buckets.
  const BestKey same_bucket = key_for(problem(3000, 8, 7));
  EXPECT_EQ(same_bucket.problem, k.problem);
  ASSERT_TRUE(db_.find_best(same_bucket).has_value());
  EXPECT_EQ(db_.find_best(same_bucket)->params.at("block_m"), 128);
  EXPECT_TRUE(db_.best_config(same_bucket).has_value());

  // Miss in both: another template source, NVRTC, driver or GPU, template id, dtype, head_dim or causal.
  std::vector<std::pair<std::string, BestKey>> misses;
  BestKey m = k;
  m.source_hash = "ffffffffffffffffffffffffffffffff";
  misses.emplace_back("source hash", m);
  m = k;
  m.nvrtc_version = 12090;
  misses.emplace_back("nvrtc", m);
  m = k;
  m.gpu.driver_version = 13010;
  misses.emplace_back("driver", m);
  m = k;
  m.gpu.sm_count = 114;
  misses.emplace_back("gpu", m);
  m = k;
  m.template_id = "fa3_fwd";
  misses.emplace_back("template", m);
  misses.emplace_back("dtype", key_for(problem(4096, 4, 16, false, DType::f16)));
  misses.emplace_back("head_dim", key_for(problem(4096, 4, 16, false, DType::bf16, 64)));
  misses.emplace_back("causal", key_for(problem(4096, 4, 16, true)));
  misses.emplace_back("budget below every entry", key_for(p, 49152));
  for (const auto& [what, key] : misses) {
    EXPECT_FALSE(db_.find_best(key).has_value()) << what;
    EXPECT_FALSE(db_.best_config(key).has_value()) << what;
  }

  // Another bucket or budget: find_best (exact only) misses; best_config falls back to the entry.
  for (const BestKey& other : {key_for(problem(4097)), key_for(problem(4096, 8, 16)), key_for(p, 300000)}) {
    EXPECT_FALSE(db_.find_best(other).has_value()) << other.to_string();
    EXPECT_TRUE(db_.best_config(other).has_value()) << other.to_string();
  }
}

TEST_F(BestConfig, NearestSeqlenBucketInLog2TiesGoToTheLarger) {
  for (int n : {1024, 4096, 16384}) db_.put_best(entry_for(problem(n)));
  EXPECT_EQ(answer_seqlen(key_for(problem(4096))), 4096);  // exact
  EXPECT_EQ(answer_seqlen(key_for(problem(128))), 1024);
  EXPECT_EQ(answer_seqlen(key_for(problem(2048))), 4096);   // 1024 and 4096 both one step away
  EXPECT_EQ(answer_seqlen(key_for(problem(8192))), 16384);  // 4096 and 16384 both one step away
  EXPECT_EQ(answer_seqlen(key_for(problem(32768))), 16384);
  EXPECT_EQ(answer_seqlen(key_for(problem(1 << 20))), 16384);
}

TEST_F(BestConfig, ThenNearestBatchHeadsBucket) {
  db_.put_best(entry_for(problem(4096, 1, 16), kMaxBudget, 16));   // bh 16
  db_.put_best(entry_for(problem(4096, 16, 16), kMaxBudget, 64));  // bh 256
  db_.put_best(entry_for(problem(1024, 4, 16), kMaxBudget, 32));   // bh 64, but another seqlen bucket
  auto block_m = [&](const AttentionProblem& p) { return db_.best_config(key_for(p))->params.at("block_m"); };
  EXPECT_EQ(block_m(problem(4096, 2, 16)), 16);   // bh 32: 16 is one step, 256 three
  EXPECT_EQ(block_m(problem(4096, 4, 16)), 64);   // bh 64: both two steps away, the larger wins
  EXPECT_EQ(block_m(problem(4096, 64, 16)), 64);  // bh 1024
  EXPECT_EQ(block_m(problem(1024, 1, 1)), 32);    // the seqlen bucket comes first
}

TEST_F(BestConfig, BudgetFallsBackToTheLargestBelow) {
  db_.put_best(entry_for(problem(4096), 49152, 16));
  db_.put_best(entry_for(problem(1024), 101376, 32));  // only n1024 at this budget
  db_.put_best(entry_for(problem(4096), kMaxBudget, 64));
  auto block_m = [&](std::int64_t budget) -> std::int64_t {
    auto e = db_.best_config(key_for(problem(4096), budget));
    return e ? e->params.at("block_m") : -1;
  };
  EXPECT_EQ(block_m(kMaxBudget), 64);
  EXPECT_EQ(block_m(300000), 64);
  EXPECT_EQ(block_m(167936), 32);  // the budget comes before the seqlen bucket
  EXPECT_EQ(block_m(101376), 32);
  EXPECT_EQ(block_m(100000), 16);
  EXPECT_EQ(block_m(49152), 16);
  EXPECT_EQ(block_m(40000), -1);
  EXPECT_EQ(block_m(0), 64);  // <= 0: the largest budget there is
}

AttentionProblem sparse(int seqlen, float density, int block = 128) {
  AttentionProblem p = problem(seqlen, 1, 16);
  p.sparse_block = block;
  p.sparse_density = density;
  return p;
}

TEST_F(BestConfig, BlockSparseMatchesItsBlockThenTheNearestDensityTiesGoToTheDenser) {
  db_.put_best(entry_for(sparse(16384, 0.1f), kMaxBudget, 10));
  db_.put_best(entry_for(sparse(16384, 0.3f), kMaxBudget, 30));
  db_.put_best(entry_for(sparse(4096, 0.5f), kMaxBudget, 50));  // another seqlen bucket
  db_.put_best(entry_for(sparse(16384, 0.5f, 64), kMaxBudget, 64));
  db_.put_best(entry_for(problem(16384, 1, 16), kMaxBudget, 1));  // dense
  auto block_m = [&](const AttentionProblem& p, std::int64_t budget = kMaxBudget) -> std::int64_t {
    auto e = db_.best_config(key_for(p, budget));
    return e ? e->params.at("block_m") : -1;
  };
  EXPECT_EQ(block_m(sparse(16384, 0.1f)), 10);   // exact
  EXPECT_EQ(block_m(sparse(16384, 0.14f)), 10);  // 4 percent from 10, 16 from 30
  EXPECT_EQ(block_m(sparse(16384, 0.2f)), 30);   // 10 and 30 tie: the denser
  EXPECT_EQ(block_m(sparse(16384, 0.45f)), 50);  // the density comes before the seqlen bucket
  EXPECT_EQ(block_m(sparse(16384, 1.0f)), 50);
  EXPECT_EQ(block_m(sparse(16384, 0.01f)), 10);
  EXPECT_EQ(block_m(sparse(1024, 0.5f, 64)), 64);    // the block is exact: only the 64 entry
  EXPECT_EQ(block_m(sparse(16384, 0.5f, 256)), -1);  // no entry of this block
  EXPECT_EQ(block_m(problem(16384, 1, 16)), 1);      // dense: the dense entry only
  EXPECT_EQ(block_m(problem(1024, 1, 16)), 1);
  EXPECT_EQ(block_m(sparse(16384, 0.45f), 49152), -1);  // the budget still comes first
  EXPECT_TRUE(db_.find_best(key_for(sparse(16384, 0.3f))).has_value());
  EXPECT_FALSE(db_.find_best(key_for(sparse(16384, 0.31f))).has_value());  // find_best is exact
  EXPECT_TRUE(db_.find_best(key_for(sparse(16384, 0.304f))).has_value());  // 30 percent too
}

TEST_F(BestConfig, DatabaseAnswersLikeTheRuleOnAGrid) {
  for (int n : {512, 2048, 8192})
    for (int bh : {8, 128})
      for (std::int64_t budget : {49152, 101376, 232448})
        if ((n + bh + budget) % 3 != 0) db_.put_best(entry_for(problem(n, bh, 1), budget, n / 8 + bh));
  db_.put_best(entry_for(problem(4096), kMaxBudget, 1, a100()));
  for (float density : {0.1f, 0.25f, 0.6f})
    for (int n : {1024, 16384})
      db_.put_best(entry_for(sparse(n, density), 101376, n / 64 + density_percent(density)));
  const std::vector<BestEntry> all = db_.best_entries();
  int hits = 0;
  for (int n : {1, 300, 1024, 3000, 4096, 10000, 65536})
    for (int bh : {1, 16, 64, 512})
      for (std::int64_t budget : {0, 40000, 49152, 60000, 101376, 232448}) {
        const BestKey k = key_for(problem(n, bh, 1), budget);
        const BestEntry* want = choose_best(all, k);
        const auto got = db_.best_config(k);
        ASSERT_EQ(got.has_value(), want != nullptr) << k.to_string();
        if (!got) continue;
        ++hits;
        EXPECT_EQ(got->key, want->key) << k.to_string();
        EXPECT_EQ(got->params, want->params) << k.to_string();
      }
  EXPECT_GT(hits, 100);
  int sparse_hits = 0;
  for (float density : {0.01f, 0.1f, 0.175f, 0.3f, 0.425f, 1.0f})
    for (int n : {512, 4096, 16384, 65536})
      for (std::int64_t budget : {0, 49152, 101376, 232448}) {
        const BestKey k = key_for(sparse(n, density), budget);
        const BestEntry* want = choose_best(all, k);
        const auto got = db_.best_config(k);
        ASSERT_EQ(got.has_value(), want != nullptr) << k.to_string();
        if (!got) continue;
        ++sparse_hits;
        EXPECT_EQ(got->key, want->key) << k.to_string();
      }
  EXPECT_EQ(sparse_hits, 6 * 4 * 3);  // every budget but 49152
}

TEST(ChooseBest, EmptyAndForeignCandidatesMiss) {
  EXPECT_EQ(choose_best({}, key_for(problem(4096))), nullptr);
  const std::vector<BestEntry> others = {entry_for(problem(4096), kMaxBudget, 128, a100())};
  EXPECT_EQ(choose_best(others, key_for(problem(4096))), nullptr);
  EXPECT_EQ(choose_best(others, key_for(problem(4096), kMaxBudget, a100())), &others[0]);
}

}  // namespace
}  // namespace flashtune::store
