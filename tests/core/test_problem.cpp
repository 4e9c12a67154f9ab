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
  AttentionProblem p{.head_dim = 80};
  try {
    validate(p);
    FAIL() << "head_dim 80 accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("head_dim"), std::string::npos);
  }
  EXPECT_THROW(validate(AttentionProblem{.seqlen = 0}), Error);
  EXPECT_NO_THROW(validate(AttentionProblem{.seqlen = 17, .head_dim = 128}));
}

TEST(Problem, VariantsAreValidatedByName) {
  auto why = [](const AttentionProblem& p) -> std::string {
    try {
      validate(p);
      return "";
    } catch (const Error& e) {
      return e.what();
    }
  };
  EXPECT_EQ(why({.heads = 32, .kv_heads = 8}), "");
  EXPECT_EQ(why({.heads = 32, .kv_heads = 1}), "");
  EXPECT_NE(why({.heads = 32, .kv_heads = 12}).find("kv_heads = 12 is invalid: it must divide heads = 32"),
            std::string::npos);
  EXPECT_NE(why({.heads = 4, .kv_heads = -2}).find("kv_heads"), std::string::npos);
  EXPECT_NE(why({.seqlen_k = -1}).find("seqlen_k"), std::string::npos);
  EXPECT_NE(why({.window_left = -2}).find("window_left"), std::string::npos);
  EXPECT_NE(why({.window_right = -5}).find("window_right"), std::string::npos);
  EXPECT_NE(why({.softcap = -1.0f}).find("softcap"), std::string::npos);
  for (int d : {64, 96, 128, 256}) EXPECT_EQ(why({.head_dim = d}), "") << d;
  // The key/value tensors have their own row limit.
  EXPECT_NE(
      why({.batch = 1024, .heads = 1024, .seqlen = 1, .seqlen_k = 4096}).find("batch*kv_heads*seqlen_k"),
      std::string::npos);
}

TEST(Problem, ZeroMeansTheQueriesCountForKeyHeadsAndKeys) {
  const AttentionProblem p{.batch = 2, .heads = 8, .seqlen = 100, .head_dim = 64};
  EXPECT_EQ(p.num_kv_heads(), 8);
  EXPECT_EQ(p.keys(), 100);
  EXPECT_TRUE(p.plain());
  EXPECT_EQ(p.kv_elements(), p.elements());
  const AttentionProblem r = p.resolved();
  EXPECT_EQ(r.kv_heads, 8);
  EXPECT_EQ(r.seqlen_k, 100);
  EXPECT_TRUE(same_problem(p, r));
  AttentionProblem g = p;
  g.kv_heads = 2;
  g.seqlen_k = 300;
  EXPECT_FALSE(g.plain());
  EXPECT_FALSE(same_problem(p, g));
  EXPECT_EQ(g.group(), 4);
  EXPECT_EQ(g.kv_elements(), 2LL * 2 * 300 * 64);
}

TEST(Problem, ToStringNamesOnlyTheVariantsInUse) {
  EXPECT_EQ((AttentionProblem{.batch = 4, .heads = 16, .seqlen = 4096, .head_dim = 128, .causal = true})
                .to_string(),
            "B4 H16 N4096 d128 bf16 causal");
  EXPECT_EQ((AttentionProblem{.batch = 1,
                              .heads = 32,
                              .seqlen = 1,
                              .head_dim = 128,
                              .causal = true,
                              .kv_heads = 8,
                              .seqlen_k = 8192,
                              .window_left = 1024,
                              .window_right = 0,
                              .softcap = 30,
                              .layout = Layout::bshd})
                .to_string(),
            "B1 H32 KV8 N1 Nk8192 d128 bf16 causal window 1024,0 softcap 30 bshd");
}

TEST(Problem, FlopsCountTheAttendedPairsOfUnequalAndWindowedProblems) {
  // Decode: 1 query against 4096 keys, causal (bottom-right: the query sees every key).
  AttentionProblem p{.batch = 2, .heads = 4, .seqlen = 1, .head_dim = 128, .causal = true, .seqlen_k = 4096};
  EXPECT_DOUBLE_EQ(p.attended_pairs(), 2.0 * 4 * 4096);
  EXPECT_DOUBLE_EQ(p.flops(), 4.0 * 128 * 2 * 4 * 4096);
  // A window of 2 left and 1 right on 6 equal-length rows: 2, 3, 4, 4, 4, 3 keys.
  AttentionProblem w{
      .batch = 1, .heads = 1, .seqlen = 6, .head_dim = 64, .window_left = 2, .window_right = 1};
  EXPECT_DOUBLE_EQ(w.attended_pairs(), 20.0);
  EXPECT_DOUBLE_EQ(w.flops(), 4.0 * 64 * 20);
  // The dense and causal equal-length problems keep the FlashAttention count (N^2, N^2 / 2).
  AttentionProblem c{.batch = 1, .heads = 1, .seqlen = 8, .head_dim = 64, .causal = true};
  EXPECT_DOUBLE_EQ(c.attended_pairs(), 36.0);
  EXPECT_DOUBLE_EQ(c.flops(), 4.0 * 64 * 32);
}

TEST(Problem, ElementOffsetsOfBothLayouts) {
  // [B=2, H=3, N=5, d=4] vs [B=2, N=5, H=3, d=4]: element (1, 2, 3, 0).
  EXPECT_EQ(element_offset(Layout::bhsd, 1, 2, 3, 3, 5, 4), ((1 * 3 + 2) * 5 + 3) * 4);
  EXPECT_EQ(element_offset(Layout::bshd, 1, 2, 3, 3, 5, 4), ((1 * 5 + 3) * 3 + 2) * 4);
  EXPECT_EQ(parse_layout("bshd"), Layout::bshd);
  EXPECT_FALSE(parse_layout("bsdh").has_value());
  EXPECT_EQ(to_string(Layout::bhsd), "bhsd");
}

// Variable lengths: batch, seqlen and seqlen_k follow from the lengths; totals, prefix sums and offsets are
// per sequence; FLOPs count each sequence's attended pairs; the text form round-trips; bad lengths are named.
TEST(Problem, VarlenFollowsItsLengths) {
  AttentionProblem base{.heads = 4, .head_dim = 64, .causal = true, .kv_heads = 2};
  const AttentionProblem p = varlen_problem(base, {3, 0, 5}, {4, 2, 5});
  EXPECT_NO_THROW(validate(p));
  EXPECT_TRUE(p.varlen());
  EXPECT_EQ(p.batch, 3);
  EXPECT_EQ(p.seqlen, 5);
  EXPECT_EQ(p.keys(), 5);
  EXPECT_EQ(p.total_q(), 8);
  EXPECT_EQ(p.total_k(), 11);
  EXPECT_EQ(p.cu_seqlens_q(), (std::vector<int>{0, 3, 3, 8}));
  EXPECT_EQ(p.cu_seqlens_k(), (std::vector<int>{0, 4, 6, 11}));
  EXPECT_EQ(p.elements(), 8 * 4 * 64);
  EXPECT_EQ(p.kv_elements(), 11 * 2 * 64);
  EXPECT_EQ(p.rows(), 8 * 4);
  // Row 1 of sequence 2, K/V head 1: packed row 6 + 1 of [total_k, kv_heads, d].
  EXPECT_EQ(p.offset(2, 1, 1, true), ((6 + 1) * 2 + 1) * 64);
  EXPECT_EQ(p.offset(2, 3, 1, false), ((3 + 1) * 4 + 3) * 64);
  // Causal, bottom-right: sequence 0 (3 queries, 4 keys) attends 2+3+4 pairs, sequence 2 15, sequence 1 none.
  EXPECT_EQ(p.attended_pairs(), (9.0 + 15.0) * 4);
  EXPECT_EQ(p.flops(), 4.0 * 64 * p.attended_pairs());
  EXPECT_EQ(p.to_string(), "B3 H4 KV2 N5 d64 bf16 causal thd T8 Tk11");
  AttentionProblem back = p;
  parse_seqlens_text(seqlens_text(p), back);
  EXPECT_EQ(seqlens_text(p), "3,0,5;4,2,5");
  EXPECT_TRUE(same_problem(back, p));
  back.seqlens[1] = 1;
  EXPECT_FALSE(same_problem(back, p));
  // Equal key counts: no seqlens_k.
  const AttentionProblem same = varlen_problem(base, {7, 1});
  EXPECT_EQ(same.total_k(), 8);
  EXPECT_EQ(seqlens_text(same), "7,1");
  // Errors name what is wrong.
  AttentionProblem bad = p;
  bad.seqlen = 9;
  EXPECT_THROW(validate(bad), Error);
  bad = p;
  bad.seqlens_k.pop_back();
  EXPECT_THROW(validate(bad), Error);
  bad = p;
  bad.layout = Layout::bshd;
  EXPECT_THROW(validate(bad), Error);
  EXPECT_THROW(parse_seqlens_text("3,x", back), Error);
  // Layout thd without lengths: the runtime's bound-only problem.
  AttentionProblem bounds = base;
  bounds.layout = Layout::thd;
  bounds.batch = 2;
  bounds.seqlen = 100;
  EXPECT_NO_THROW(validate(bounds));
  EXPECT_EQ(bounds.total_q(), 200);
}

// draw_seqlens: in [min, max], summing to total (the last one cut), the same for the same seed.
TEST(Problem, DrawnLengthsSumToTheTotal) {
  const std::vector<int> a = draw_seqlens(16384, 128, 8192, 7);
  EXPECT_EQ(a, draw_seqlens(16384, 128, 8192, 7));
  EXPECT_NE(a, draw_seqlens(16384, 128, 8192, 8));
  long sum = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    sum += a[i];
    EXPECT_LE(a[i], 8192);
    if (i + 1 < a.size()) EXPECT_GE(a[i], 128);
  }
  EXPECT_EQ(sum, 16384);
  EXPECT_THROW(draw_seqlens(10, 5, 4, 1), Error);
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
