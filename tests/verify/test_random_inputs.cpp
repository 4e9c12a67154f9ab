#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <vector>

#include <gtest/gtest.h>

#include "core/problem.hpp"
#include "verify/half_convert.hpp"
#include "verify/random_inputs.hpp"

namespace flashtune::verify {
namespace {

TEST(RandomInputs, DeterministicForASeed) {
  const AttentionProblem p{.batch = 2, .heads = 3, .seqlen = 100, .head_dim = 64};
  const HostInputs a = make_inputs(p, 1234), b = make_inputs(p, 1234);
  EXPECT_EQ(a.seed, 1234u);
  EXPECT_EQ(a.q, b.q);
  EXPECT_EQ(a.k, b.k);
  EXPECT_EQ(a.v, b.v);
  const HostInputs c = make_inputs(p, 1235);
  EXPECT_NE(a.q, c.q);
  EXPECT_NE(a.k, c.k);
  EXPECT_NE(a.v, c.v);
  EXPECT_NE(a.q, a.k);  // Q, K, V are independent streams
  EXPECT_NE(a.k, a.v);
}

// dO of the backward: seeded, the size of Q, its own stream (not Q, K or V of the same seed), never zero.
TEST(RandomInputs, DOIsSeededAndIndependent) {
  const AttentionProblem p{.batch = 2, .heads = 4, .seqlen = 100, .head_dim = 64, .kv_heads = 2};
  const std::vector<std::uint16_t> a = make_d_o(p, 1234);
  ASSERT_EQ(a.size(), static_cast<std::size_t>(p.elements()));
  EXPECT_EQ(make_d_o(p, 1234), a);
  EXPECT_NE(make_d_o(p, 1235), a);
  const HostInputs in = make_inputs(p, 1234);
  EXPECT_NE(a, in.q);
  EXPECT_NE(std::vector<std::uint16_t>(a.begin(), a.begin() + 100),
            std::vector<std::uint16_t>(in.k.begin(), in.k.begin() + 100));
  for (std::uint16_t h : a) ASSERT_NE(h & 0x7FFFu, 0u);
  double sum = 0, sum2 = 0;
  for (std::uint16_t h : a) {
    const double x = to_float(h, p.dtype);
    sum += x;
    sum2 += x * x;
  }
  const double n = static_cast<double>(a.size());
  EXPECT_NEAR(sum / n, 0.0, 0.05);
  EXPECT_NEAR(sum2 / n, 1.0, 0.05);
  AttentionProblem bad = p;
  bad.head_dim = 0;
  EXPECT_ANY_THROW(make_d_o(bad, 1));
}

TEST(RandomInputs, ThreadCountDoesNotChangeValues) {
  std::vector<std::uint16_t> one(3'000'000), many(3'000'000);  // spans three chunks
  fill_normal(one, DType::f16, 99, 1);
  fill_normal(many, DType::f16, 99, 3);
  EXPECT_EQ(one, many);
}

TEST(RandomInputs, FiniteNonZeroStandardNormal) {
  for (DType t : {DType::bf16, DType::f16}) {
    const AttentionProblem p{.batch = 1, .heads = 4, .seqlen = 1024, .head_dim = 128, .dtype = t};
    const HostInputs in = make_inputs(p, 77);
    ASSERT_EQ(in.q.size(), static_cast<std::size_t>(p.elements()));
    for (const auto* x : {&in.q, &in.k, &in.v}) {
      double sum = 0, sum2 = 0, max_abs = 0;
      for (std::uint16_t h : *x) {
        const float f = to_float(h, t);
        ASSERT_TRUE(std::isfinite(f));
        ASSERT_NE(f, 0.0f);
        sum += f;
        sum2 += static_cast<double>(f) * f;
        max_abs = std::max(max_abs, static_cast<double>(std::abs(f)));
      }
      const double n = static_cast<double>(x->size());
      EXPECT_NEAR(sum / n, 0.0, 0.01);
      EXPECT_NEAR(sum2 / n, 1.0, 0.02);
      EXPECT_GT(max_abs, 3.5);
      EXPECT_LT(max_abs, 6.0);
    }
  }
}

TEST(RandomInputs, Timing3x8M) {
  const AttentionProblem p{.batch = 1, .heads = 64, .seqlen = 1024, .head_dim = 128};  // 8 Mi elements each
  const auto t0 = std::chrono::steady_clock::now();
  const HostInputs in = make_inputs(p, 5);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("make_inputs 3 x %lld elements: %.3f s\n", static_cast<long long>(p.elements()), s);
  EXPECT_EQ(in.v.size(), static_cast<std::size_t>(p.elements()));
}

}  // namespace
}  // namespace flashtune::verify
