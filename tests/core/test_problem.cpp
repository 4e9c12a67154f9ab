#include <gtest/gtest.h>

#include "core/error.hpp"
#include "core/problem.hpp"

namespace flashtune {
namespace {

TEST(Problem, FlopsFollowFlashAttentionCount) {
  AttentionProblem p{.batch = 4, .heads = 16, .seqlen = 4096, .head_dim = 128};
  EXPECT_DOUBLE_EQ(p.flops(), 4.0 * 4 * 16 * 4096.0 * 4096 * 128);
  p.causal = true;
  EXPECT_DOUBLE_EQ(p.flops(), 2.0 * 4 * 16 * 4096.0 * 4096 * 128);
}

TEST(Problem, DefaultScaleIsInverseSqrtHeadDim) {
  AttentionProblem p{.head_dim = 64};
  EXPECT_FLOAT_EQ(p.scale(), 0.125f);
  p.softmax_scale = 0.5f;
  EXPECT_FLOAT_EQ(p.scale(), 0.5f);
}

TEST(Problem, ValidateNamesTheBadField) {
  AttentionProblem p{.head_dim = 96};
  try {
    validate(p);
    FAIL() << "head_dim 96 accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("head_dim"), std::string::npos);
  }
  EXPECT_THROW(validate(AttentionProblem{.seqlen = 0}), Error);
  EXPECT_NO_THROW(validate(AttentionProblem{.seqlen = 17, .head_dim = 128}));
}

TEST(DType, ParsesSpellings) {
  EXPECT_EQ(parse_dtype("bf16"), DType::bf16);
  EXPECT_EQ(parse_dtype("half"), DType::f16);
  EXPECT_FALSE(parse_dtype("fp32").has_value());
}

}  // namespace
}  // namespace flashtune

namespace flashtune {
namespace {

TEST(Problem, HugeShapesAreRejectedWithoutOverflow) {
  AttentionProblem p;
  p.batch = 1 << 30;
  p.heads = 1 << 30;
  p.seqlen = 16;  // 2^64 rows: the product would wrap to 0
  EXPECT_THROW(validate(p), Error);
  p.batch = 2147483647;
  p.heads = 2147483647;
  p.seqlen = 2147483647;
  EXPECT_THROW(validate(p), Error);
  p.batch = 1 << 10;
  p.heads = 1 << 10;
  p.seqlen = 1 << 11;  // exactly 2^31 rows: allowed
  EXPECT_NO_THROW(validate(p));
}

}  // namespace
}  // namespace flashtune
