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
