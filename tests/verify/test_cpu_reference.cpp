#include <algorithm>
#include <cmath>
#include <cstdint>
#include <set>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "core/problem.hpp"
#include "verify/cpu_reference.hpp"
#include "verify/half_convert.hpp"
#include "verify/random_inputs.hpp"

namespace flashtune::verify {
namespace {

// The textbook formula, written without the library's max subtraction: w_j = exp(scale * q.k_j),
// o = sum_j w_j v_j / sum_j w_j, lse = log(sum_j w_j). Safe for these small N(0,1) shapes (scores are O(1)).
struct Brute {
  std::vector<double> o, lse;
};
Brute brute_force(const AttentionProblem& p, const HostInputs& in, int bh) {
  const int n = p.seqlen, d = p.head_dim;
  const double scale = p.scale();
  auto at = [&](const std::vector<std::uint16_t>& x, int row, int col) {
    return static_cast<double>(to_float(x[(static_cast<std::size_t>(bh) * n + row) * d + col], p.dtype));
  };
  Brute b{std::vector<double>(static_cast<std::size_t>(n) * d), std::vector<double>(n)};
  for (int i = 0; i < n; ++i) {
    double total = 0;
    std::vector<double> num(d, 0.0);
    for (int j = 0; j < n; ++j) {
      if (p.causal && j > i) continue;
      double qk = 0;
      for (int c = 0; c < d; ++c) qk += at(in.q, i, c) * at(in.k, j, c);
      const double w = std::exp(scale * qk);
      total += w;
      for (int c = 0; c < d; ++c) num[c] += w * at(in.v, j, c);
    }
    for (int c = 0; c < d; ++c) b.o[static_cast<std::size_t>(i) * d + c] = num[c] / total;
    b.lse[i] = std::log(total);
  }
  return b;
}

struct Shape {
  int seqlen, head_dim;
  bool causal;
  DType dtype;
};

class CpuReference : public ::testing::TestWithParam<Shape> {};

TEST_P(CpuReference, MatchesBruteForce) {
  const Shape s = GetParam();
  const AttentionProblem p{.batch = 2,
                           .heads = 3,
                           .seqlen = s.seqlen,
                           .head_dim = s.head_dim,
                           .dtype = s.dtype,
                           .causal = s.causal};
  const HostInputs in = make_inputs(p, 7);
  const std::vector<int> heads = {4, 0, 5};  // any order, returned in that order
  const ReferenceOutput ref = cpu_attention(p, in, heads);
  const std::size_t head_o = static_cast<std::size_t>(s.seqlen) * s.head_dim;
  ASSERT_EQ(ref.o.size(), heads.size() * head_o);
  ASSERT_EQ(ref.lse.size(), heads.size() * s.seqlen);
  for (std::size_t h = 0; h < heads.size(); ++h) {
    const Brute b = brute_force(p, in, heads[h]);
    double diff2 = 0, norm2 = 0;
    for (std::size_t i = 0; i < head_o; ++i) {
      const double got = ref.o[h * head_o + i];
      ASSERT_LE(std::abs(got - b.o[i]), 1e-12 * (1 + std::abs(b.o[i])))
          << "head " << heads[h] << " elem " << i;
      diff2 += (got - b.o[i]) * (got - b.o[i]);
      norm2 += b.o[i] * b.o[i];
    }
    EXPECT_LT(std::sqrt(diff2 / norm2), 1e-12);
    for (int i = 0; i < s.seqlen; ++i) {
      EXPECT_NEAR(ref.lse[h * s.seqlen + i], b.lse[i], 1e-12 * (1 + std::abs(b.lse[i]))) << "row " << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, CpuReference,
                         ::testing::Values(Shape{1, 64, false, DType::bf16}, Shape{1, 128, true, DType::f16},
                                           Shape{17, 64, false, DType::bf16},
                                           Shape{17, 64, true, DType::bf16}, Shape{17, 128, true, DType::f16},
                                           Shape{33, 64, true, DType::f16},
                                           Shape{33, 128, false, DType::bf16},
                                           Shape{33, 128, true, DType::bf16}));

TEST(CpuReferenceFacts, CausalRowZeroIsFirstValueRow) {
  const AttentionProblem p{.batch = 1, .heads = 2, .seqlen = 9, .head_dim = 64, .causal = true};
  const HostInputs in = make_inputs(p, 3);
  const std::vector<int> heads = {1};
  const ReferenceOutput ref = cpu_attention(p, in, heads);
  const std::size_t base = static_cast<std::size_t>(1) * 9 * 64;  // head 1, row 0
  double qk = 0;
  for (int c = 0; c < 64; ++c) {
    EXPECT_EQ(ref.o[c], bf16_to_float(in.v[base + c])) << "col " << c;
    qk += static_cast<double>(bf16_to_float(in.q[base + c])) * bf16_to_float(in.k[base + c]);
  }
  EXPECT_NEAR(ref.lse[0], p.scale() * qk, 1e-13);  // one key: lse is its score
}

TEST(CpuReferenceFacts, ThreadCountDoesNotChangeResults) {
  const AttentionProblem p{.batch = 1, .heads = 2, .seqlen = 100, .head_dim = 64, .causal = true};
  const HostInputs in = make_inputs(p, 11);
  const std::vector<int> heads = {0, 1};
  const ReferenceOutput one = cpu_attention(p, in, heads, 1);
  const ReferenceOutput many = cpu_attention(p, in, heads, 5);
  EXPECT_EQ(one.o, many.o);
  EXPECT_EQ(one.lse, many.lse);
}

TEST(CpuReferenceFacts, RejectsBadIndicesAndSizes) {
  const AttentionProblem p{.batch = 2, .heads = 2, .seqlen = 4, .head_dim = 64};
  const HostInputs in = make_inputs(p, 1);
  const std::vector<int> bad = {4};
  EXPECT_THROW(cpu_attention(p, in, bad), Error);
  const std::vector<int> neg = {-1};
  EXPECT_THROW(cpu_attention(p, in, neg), Error);
  HostInputs short_in = in;
  short_in.v.pop_back();
  const std::vector<int> ok = {0};
  EXPECT_THROW(cpu_attention(p, short_in, ok), Error);
}

TEST(CpuReferenceFacts, GatherHeadsPicksTheSameRows) {
  const AttentionProblem p{.batch = 2, .heads = 2, .seqlen = 5, .head_dim = 64};
  const HostInputs in = make_inputs(p, 5);
  const std::vector<int> heads = {3, 1};
  const std::vector<std::uint16_t> g = gather_heads<std::uint16_t>(in.q, p, heads, 64);
  ASSERT_EQ(g.size(), 2u * 5 * 64);
  EXPECT_EQ(g[0], in.q[3 * 5 * 64]);
  EXPECT_EQ(g[5 * 64 + 7], in.q[1 * 5 * 64 + 7]);
}

TEST(HeadsToCheck, AllHeadsWhenFew) {
  const AttentionProblem p{.batch = 2, .heads = 3};
  EXPECT_EQ(heads_to_check(p, 1, 8), (std::vector<int>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(heads_to_check(p, 1, 6).size(), 6u);
}

TEST(HeadsToCheck, FirstLastAndSeededOthers) {
  const AttentionProblem p{.batch = 16, .heads = 32};
  const std::vector<int> h = heads_to_check(p, 42, 6);
  ASSERT_EQ(h.size(), 6u);
  EXPECT_EQ(h.front(), 0);
  EXPECT_EQ(h.back(), 16 * 32 - 1);
  EXPECT_TRUE(std::is_sorted(h.begin(), h.end()));
  EXPECT_EQ(std::set<int>(h.begin(), h.end()).size(), h.size());
  EXPECT_EQ(heads_to_check(p, 42, 6), h);
  EXPECT_NE(heads_to_check(p, 43, 6), h);
  EXPECT_EQ(heads_to_check(p, 42, 1), (std::vector<int>{0}));
  EXPECT_EQ(heads_to_check(p, 42, 2), (std::vector<int>{0, 511}));
  EXPECT_THROW(heads_to_check(p, 42, 0), Error);
  const AttentionProblem three{.batch = 1, .heads = 3};
  EXPECT_EQ(heads_to_check(three, 9, 2), (std::vector<int>{0, 2}));
}

}  // namespace
}  // namespace flashtune::verify
