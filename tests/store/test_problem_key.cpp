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
