// Problem buckets and the text forms of the cache keys.
#include "store/problem_key.hpp"

#include <gtest/gtest.h>

#include <chrono>

#include "core/error.hpp"
#include "store/best_key.hpp"
#include "store/time_stamp.hpp"
#include "store_test_util.hpp"

namespace flashtune::store {
namespace {
using namespace testing;

TEST(ProblemKey, SeqlenBucketIsTheNextPowerOfTwo) {
  EXPECT_EQ(seqlen_bucket(1), 1);
  EXPECT_EQ(seqlen_bucket(2), 2);
  EXPECT_EQ(seqlen_bucket(3), 4);
  EXPECT_EQ(seqlen_bucket(1000), 1024);
  EXPECT_EQ(seqlen_bucket(4096), 4096);
  EXPECT_EQ(seqlen_bucket(4097), 8192);
  EXPECT_EQ(seqlen_bucket(1 << 30), 1 << 30);
  EXPECT_THROW(seqlen_bucket(0), Error);
  EXPECT_THROW(seqlen_bucket((1 << 30) + 1), Error);
}

TEST(ProblemKey, BatchHeadsBucketIsTheNextPowerOfTwo) {
  EXPECT_EQ(batch_heads_bucket(1), 1);
  EXPECT_EQ(batch_heads_bucket(64), 64);
  EXPECT_EQ(batch_heads_bucket(65), 128);
  EXPECT_EQ(batch_heads_bucket(3 * 40), 128);
  EXPECT_THROW(batch_heads_bucket(0), Error);
  EXPECT_THROW(batch_heads_bucket(std::int64_t{1} << 40), Error);
}

TEST(ProblemKey, OfBucketsTheSizesAndKeepsTheVariant) {
  const ProblemKey k = ProblemKey::of(problem(3000, 3, 20, true, DType::f16, 64), 101376);
  EXPECT_EQ(k.dtype, DType::f16);
  EXPECT_EQ(k.head_dim, 64);
  EXPECT_TRUE(k.causal);
  EXPECT_EQ(k.seqlen_bucket, 4096);
  EXPECT_EQ(k.bh_bucket, 64);
  EXPECT_EQ(k.smem_budget, 101376);
  EXPECT_EQ(ProblemKey::of(problem(4096), 1), ProblemKey::of(problem(2049), 1));
  EXPECT_NE(ProblemKey::of(problem(4096), 1), ProblemKey::of(problem(4097), 1));
  EXPECT_NE(ProblemKey::of(problem(4096), 1), ProblemKey::of(problem(4096), 2));
}

TEST(ProblemKey, ToString) {
  EXPECT_EQ(ProblemKey::of(problem(4096, 4, 16, true), 232448).to_string(),
            "bf16 d128 causal n4096 bh64 smem232448");
  EXPECT_EQ(ProblemKey::of(problem(1000, 1, 1, false, DType::f16, 64), 49152).to_string(),
            "fp16 d64 n1024 bh1 smem49152");
}

TEST(ProblemKey, TheVariantIsPartOfTheKey) {
  AttentionProblem p = problem(1, 2, 32);
  p.kv_heads = 8;
  p.seqlen_k = 5000;
  p.causal = true;
  p.window_left = 1024;
  p.window_right = 0;
  p.softcap = 30;
  p.layout = Layout::bshd;
  const ProblemKey k = ProblemKey::of(p, 232448);
  EXPECT_EQ(k.kv_group, 4);
  EXPECT_EQ(k.seqlen_k_bucket, 8192);
  EXPECT_EQ(k.seqlen_bucket, 1);
  EXPECT_TRUE(k.softcap);
  EXPECT_EQ(k.to_string(), "bf16 d128 causal w1024,0 softcap bshd g4 n1 nk8192 bh64 smem232448");
  // The cap's value is not keyed (it does not change the kernel's work); each other variant is.
  AttentionProblem other = p;
  other.softcap = 50;
  EXPECT_EQ(ProblemKey::of(other, 232448), k);
  for (auto change : std::initializer_list<void (*)(AttentionProblem&)>{
           [](AttentionProblem& x) { x.kv_heads = 4; }, [](AttentionProblem& x) { x.seqlen_k = 9000; },
           [](AttentionProblem& x) { x.window_left = 512; }, [](AttentionProblem& x) { x.window_right = -1; },
           [](AttentionProblem& x) { x.softcap = 0; },
           [](AttentionProblem& x) { x.layout = Layout::bhsd; }}) {
    AttentionProblem q = p;
    change(q);
    EXPECT_NE(ProblemKey::of(q, 232448), k) << q.to_string();
  }
  // Buckets are not the family: another seqlen_k bucket is the same family, another group is not.
  AttentionProblem longer = p;
  longer.seqlen_k = 20000;
  EXPECT_TRUE(ProblemKey::of(longer, 1).same_family(k));
  AttentionProblem mha = p;
  mha.kv_heads = 0;
  EXPECT_FALSE(ProblemKey::of(mha, 1).same_family(k));
}

TEST(ProblemKey, DensityPercentRoundsHalvesUp) {
  EXPECT_EQ(density_percent(0.25f), 25);
  EXPECT_EQ(density_percent(0.125f), 13);  // 12.5: exact in float, half up
  EXPECT_EQ(density_percent(0.1f), 10);
  EXPECT_EQ(density_percent(0.29f), 29);   // 28.99999916...
  EXPECT_EQ(density_percent(0.145f), 14);  // 14.49999958...: the float's value, not the decimal's
  EXPECT_EQ(density_percent(0.004f), 0);
  EXPECT_EQ(density_percent(0.005f), 0);  // 0.49999998...
  EXPECT_EQ(density_percent(0.006f), 1);
  EXPECT_EQ(density_percent(1.0f), 100);
  static_assert(density_percent(0.5f) == 50);
}

TEST(ProblemKey, TheBlockSparseBlockIsTheFamilyAndItsDensityABucket) {
  AttentionProblem p = problem(16384, 1, 16);
  p.sparse_block = 128;
  p.sparse_density = 0.25f;
  p.sparse_seed = 7;
  const ProblemKey k = ProblemKey::of(p, 232448);
  EXPECT_EQ(k.sparse_block, 128);
  EXPECT_EQ(k.density_pct, 25);
  EXPECT_EQ(k.to_string(), "bf16 d128 sparse128 p25 n16384 bh16 smem232448");
  // The dense problem: block 0, density 0, and nothing in the text.
  const ProblemKey dense = ProblemKey::of(problem(16384, 1, 16), 232448);
  EXPECT_EQ(dense.sparse_block, 0);
  EXPECT_EQ(dense.density_pct, 0);
  EXPECT_EQ(dense.to_string(), "bf16 d128 n16384 bh16 smem232448");
  EXPECT_FALSE(dense.same_family(k));
  // The seed is not keyed (another draw of the same density), nor a density in the same percent.
  AttentionProblem q = p;
  q.sparse_seed = 99;
  q.sparse_density = 0.2504f;
  EXPECT_EQ(ProblemKey::of(q, 232448), k);
  // Another density is the same family in another bucket; another block is another family.
  q.sparse_density = 0.5f;
  EXPECT_NE(ProblemKey::of(q, 232448), k);
  EXPECT_TRUE(ProblemKey::of(q, 232448).same_family(k));
  q = p;
  q.sparse_block = 64;
  EXPECT_FALSE(ProblemKey::of(q, 232448).same_family(k));
  // With the variant's other parts, in the order of the text.
  p.causal = true;
  p.kv_heads = 4;
  p.window_left = 256;
  p.window_right = 0;
  EXPECT_EQ(ProblemKey::of(p, 232448).to_string(),
            "bf16 d128 causal w256,0 g4 sparse128 p25 n16384 bh16 smem232448");
}

TEST(BestKey, ToStringNamesEveryPart) {
  const std::string s = key_for(problem(4096)).to_string();
  EXPECT_EQ(s,
            h100().key() +
                " fa2_fwd src=0123456789abcdef0123456789abcdef nvrtc=12080 bf16 d128 n4096 bh64 smem232448");
  EXPECT_NE(s.find("drv13000"), std::string::npos);
}

TEST(TimeStamp, IsUtcIso8601) {
  const std::chrono::system_clock::time_point t{std::chrono::seconds{1795490001}};
  EXPECT_EQ(iso8601_utc(t), "2026-11-24T03:13:21Z");
  EXPECT_EQ(utc_now().size(), 20u);
}

}  // namespace
}  // namespace flashtune::store
