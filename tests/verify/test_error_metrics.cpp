#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "verify/error_metrics.hpp"
#include "verify/half_convert.hpp"

namespace flashtune::verify {
namespace {

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

TEST(ErrorMetrics, IdenticalIsZero) {
  const std::vector<double> ref = {1.0, -2.0, 0.5, 3.25};
  const std::vector<float> out = {1.0f, -2.0f, 0.5f, 3.25f};
  const ErrorStats s = compare(out, ref);
  EXPECT_EQ(s.rel_l2, 0.0);
  EXPECT_EQ(s.max_abs, 0.0);
  EXPECT_EQ(s.non_finite, 0);
  EXPECT_EQ(s.count, 4);
  EXPECT_TRUE(s.finite());
}

TEST(ErrorMetrics, KnownPerturbationGivesExactRelL2) {
  // ref norm = sqrt(9 + 16) = 5; diff = (0, 0.5, 0, 0) -> rel_l2 = 0.1, worst at 1.
  const std::vector<double> ref = {3.0, 0.0, 4.0, 0.0};
  const std::vector<float> out = {3.0f, 0.5f, 4.0f, 0.0f};
  const ErrorStats s = compare(out, ref);
  EXPECT_DOUBLE_EQ(s.rel_l2, 0.1);
  EXPECT_DOUBLE_EQ(s.max_abs, 0.5);
  EXPECT_EQ(s.worst_index, 1);
}

TEST(ErrorMetrics, Bits16OverloadDecodesTheDtype) {
  const std::vector<double> ref = {1.0, 2.0};
  const std::vector<std::uint16_t> out = {float_to_f16(1.0f), float_to_f16(2.5f)};
  const ErrorStats s = compare(out, DType::f16, ref);
  EXPECT_DOUBLE_EQ(s.max_abs, 0.5);
  EXPECT_EQ(s.worst_index, 1);
}

TEST(ErrorMetrics, NonFiniteIsCountedAndFails) {
  const std::vector<double> ref = {1.0, 2.0, 3.0, 4.0};
  const std::vector<float> out = {1.0f, std::numeric_limits<float>::quiet_NaN(), 3.5f,
                                  std::numeric_limits<float>::infinity()};
  const ErrorStats s = compare(out, ref);
  EXPECT_EQ(s.non_finite, 2);
  EXPECT_EQ(s.worst_index, 1);  // the first non-finite one
  EXPECT_FALSE(s.finite());
  const VerifyResult r = judge(s, ErrorStats{}, DType::bf16);
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(contains(r.detail, "non-finite")) << r.detail;
  // Poisoned (never written) bf16 outputs read back as NaN.
  const std::vector<std::uint16_t> poisoned(4, kBf16PoisonNaN);
  EXPECT_EQ(compare(poisoned, DType::bf16, ref).non_finite, 4);
}

TEST(ErrorMetrics, SizeMismatchAndBadReferenceThrow) {
  const std::vector<double> ref = {1.0, 2.0};
  const std::vector<float> out = {1.0f};
  EXPECT_THROW(compare(out, ref), Error);
  const std::vector<double> bad_ref = {1.0, std::nan("")};
  const std::vector<float> out2 = {1.0f, 2.0f};
  EXPECT_THROW(compare(out2, bad_ref), Error);
}

TEST(ErrorMetrics, TolerancesFollowTheDtype) {
  EXPECT_DOUBLE_EQ(tolerance_for(DType::bf16).rel_l2, 1.0e-2);
  EXPECT_DOUBLE_EQ(tolerance_for(DType::f16).rel_l2, 2.0e-3);
  EXPECT_DOUBLE_EQ(tolerance_for(DType::bf16).max_abs, 4e-2);
  EXPECT_DOUBLE_EQ(tolerance_for(DType::f16).max_abs, 5e-3);
  EXPECT_DOUBLE_EQ(tolerance_for(DType::bf16).lse_abs, 2e-3);
  EXPECT_DOUBLE_EQ(tolerance_for(DType::f16).lse_abs, 2e-3);
}

TEST(Judge, PassesWithinBoundsAndSaysSo) {
  const ErrorStats o{.rel_l2 = 3e-3, .max_abs = 1e-2, .worst_index = 0, .non_finite = 0, .count = 10};
  const ErrorStats lse{.rel_l2 = 1e-6, .max_abs = 1e-5, .worst_index = 0, .non_finite = 0, .count = 2};
  const VerifyResult r = judge(o, lse, DType::bf16);
  EXPECT_TRUE(r.ok) << r.detail;
  EXPECT_TRUE(contains(r.detail, "ok")) << r.detail;
}

TEST(Judge, NamesTheFailedBoundAndTheAmount) {
  const ErrorStats o{
      .rel_l2 = 3.2e-2, .max_abs = 1e-2, .worst_index = 17 * 64 + 5, .non_finite = 0, .count = 64 * 64};
  const ErrorStats lse{.count = 64};
  const VerifyResult r = judge(o, lse, DType::bf16);
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(contains(r.detail, "O rel_l2 3.2e-2 > 1.0e-2")) << r.detail;
  EXPECT_FALSE(contains(r.detail, "max_abs")) << r.detail;

  // With the shape, the worst index becomes (bh, row, col).
  const AttentionProblem p{.batch = 2, .heads = 4, .seqlen = 64, .head_dim = 64};
  const std::vector<int> heads = {0, 6};
  ErrorStats o2 = o;
  o2.worst_index = 64 * 64 + 17 * 64 + 5;  // second checked head, row 17, col 5
  const VerifyResult r2 = judge(o2, lse, p, heads);
  EXPECT_FALSE(r2.ok);
  EXPECT_TRUE(contains(r2.detail, "bh 6 (b 1, h 2), row 17, col 5")) << r2.detail;
}

TEST(Judge, LseAndMaxAbsBounds) {
  const ErrorStats o{.rel_l2 = 1e-4, .max_abs = 6e-3, .worst_index = 3, .non_finite = 0, .count = 10};
  const ErrorStats lse{.rel_l2 = 1e-3, .max_abs = 5e-3, .worst_index = 1, .non_finite = 0, .count = 2};
  const VerifyResult r = judge(o, lse, DType::f16);
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(contains(r.detail, "O max_abs 6.0e-3 > 5.0e-3")) << r.detail;
  EXPECT_TRUE(contains(r.detail, "LSE max_abs 5.0e-3 > 2.0e-3")) << r.detail;
  EXPECT_TRUE(judge(o, lse, DType::bf16).detail.find("LSE") != std::string::npos);
  EXPECT_FALSE(judge(o, lse, DType::bf16).ok);  // LSE bound is the same for bf16
}

TEST(Judge, EmptyOutputFails) {
  const VerifyResult r = judge(ErrorStats{}, ErrorStats{}, DType::bf16);
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(contains(r.detail, "nothing compared")) << r.detail;
}

// ---- The backward's gradients ----

TEST(GradientTolerance, TheDocumentedTable) {
  const GradientTolerance b = gradient_tolerance_for(DType::bf16), h = gradient_tolerance_for(DType::f16);
  EXPECT_EQ(b.rel_l2, 1.0e-2);
  EXPECT_EQ(b.max_rel, 2e-2);
  EXPECT_EQ(h.rel_l2, 2.0e-3);
  EXPECT_EQ(h.max_rel, 3e-3);
  for (const GradientTolerance& t : {b, h}) {
    EXPECT_EQ(t.rms_floor, 1e-5);
    EXPECT_EQ(t.max_floor, 1e-4);
  }
  // rel_l2 as the forward's O: the same rounding count (P / dS before the MMA, the output once).
  EXPECT_EQ(b.rel_l2, tolerance_for(DType::bf16).rel_l2);
  EXPECT_EQ(h.rel_l2, tolerance_for(DType::f16).rel_l2);
}

// Gradient values stored as the dtype, each ref * (1 + rel) rounded.
std::vector<std::uint16_t> stored(const std::vector<double>& ref, double rel, DType t) {
  std::vector<std::uint16_t> out;
  for (double x : ref) out.push_back(from_float(static_cast<float>(x * (1 + rel)), t));
  return out;
}

TEST(CompareGradient, RelL2WithTheFloorFoldedIn) {
  const GradientTolerance tol = gradient_tolerance_for(DType::f16);
  std::vector<double> ref;
  for (int i = 0; i < 1000; ++i) ref.push_back(std::sin(0.37 * i));
  // Far above the floor: the plain rel_l2 (a 1e-3 scaling plus fp16 rounding), max |ref| ~1.
  const GradientStats g = compare_gradient(stored(ref, 1e-3, DType::f16), DType::f16, ref, tol);
  const ErrorStats plain = compare(stored(ref, 1e-3, DType::f16), DType::f16, ref);
  EXPECT_NEAR(g.err.rel_l2, plain.rel_l2, 1e-2 * plain.rel_l2);
  EXPECT_NEAR(g.err.rel_l2, 1e-3, 2e-4);
  EXPECT_NEAR(g.ref_max_abs, 1.0, 1e-3);
  EXPECT_EQ(g.err.max_abs, plain.max_abs);
  // An exactly-zero gradient (seqlen 1): fp32 noise of 1e-6 is finite and passes, 1e-4 fails.
  const std::vector<double> zero(1000, 0.0);
  std::vector<std::uint16_t> noise(1000), big(1000);
  for (int i = 0; i < 1000; ++i) {
    noise[i] = from_float(i % 2 ? 1e-6f : -1e-6f, DType::f16);
    big[i] = from_float(i % 2 ? 1e-4f : -1e-4f, DType::f16);
  }
  const GradientStats n = compare_gradient(noise, DType::f16, zero, tol);
  EXPECT_TRUE(std::isfinite(n.err.rel_l2));
  EXPECT_LT(n.err.rel_l2, tol.rel_l2);
  EXPECT_EQ(n.ref_max_abs, 0.0);
  const GradientStats b = compare_gradient(big, DType::f16, zero, tol);
  EXPECT_GT(b.err.rel_l2, tol.rel_l2);
  EXPECT_TRUE(judge_backward({n, n, n}, tol).ok);
  EXPECT_FALSE(judge_backward({b, n, n}, tol).ok);
  // Identical: 0.
  std::vector<std::uint16_t> same;
  for (double x : ref) same.push_back(from_float(static_cast<float>(x), DType::f16));
  std::vector<double> exact;
  for (std::uint16_t h : same) exact.push_back(to_float(h, DType::f16));
  EXPECT_EQ(compare_gradient(same, DType::f16, exact, tol).err.rel_l2, 0.0);
}

// Stats of one gradient, as compare_gradient gives them.
GradientStats grad(double rel_l2, double max_abs, double ref_max, std::int64_t worst = 0,
                   std::int64_t non_finite = 0, std::int64_t count = 1000) {
  return {.err = {.rel_l2 = rel_l2,
                  .max_abs = max_abs,
                  .worst_index = worst,
                  .non_finite = non_finite,
                  .count = count},
          .ref_max_abs = ref_max};
}

TEST(JudgeBackward, PassesAndListsEveryGradient) {
  const BackwardStats s{grad(3e-3, 1e-3, 1.0), grad(4e-3, 2e-3, 0.5), grad(2e-3, 1e-3, 0.2)};
  const VerifyResult r = judge_backward(s, gradient_tolerance_for(DType::bf16));
  EXPECT_TRUE(r.ok) << r.detail;
  EXPECT_TRUE(contains(r.detail, "ok: dQ rel_l2 3.0e-3, max_abs 1.0e-3; dK rel_l2 4.0e-3")) << r.detail;
  EXPECT_TRUE(contains(r.detail, "dV rel_l2 2.0e-3")) << r.detail;
  EXPECT_EQ(r.o.rel_l2, 4e-3);  // the worst against its bounds: dK
  EXPECT_EQ(r.lse.count, 0);    // LSE is an input of the backward
}

TEST(JudgeBackward, NamesTheFailedGradientBoundAndPosition) {
  // GQA 8/2, batch 2, seqlen 3, seqlen_k 5: dK rows [kv heads, 5, 64] of kv heads {1, 3}; dQ rows
  // [4 query heads of each, 3, 64].
  const AttentionProblem p{.batch = 2, .heads = 8, .seqlen = 3, .head_dim = 64, .kv_heads = 2, .seqlen_k = 5};
  const std::vector<int> kv = {1, 3};
  BackwardStats s{grad(3e-3, 1e-2, 1.0), grad(3.2e-2, 1e-2, 1.0, (5 + 2) * 64 + 5), grad(2e-3, 1e-3, 1.0)};
  VerifyResult r = judge_backward(s, p, kv);
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(contains(r.detail, "dK rel_l2 3.2e-2 > 1.0e-2 (worst at kv 3 (b 1, kv_head 1), key 2, col 5)"))
      << r.detail;
  EXPECT_FALSE(contains(r.detail, "dQ")) << r.detail;
  EXPECT_EQ(r.o.rel_l2, 3.2e-2);
  // max_abs is relative to the largest reference element: 3e-2 fails against max |ref| 1 (bound 2.01e-2) and
  // passes against max |ref| 2 (4.01e-2). dQ's position: the 6th query head of the list (kv 3's second, h 5
  // of batch 1), row 1.
  s = {grad(3e-3, 3e-2, 1.0, (5 * 3 + 1) * 64 + 7), grad(3e-3, 1e-2, 1.0), grad(3e-3, 1e-2, 1.0)};
  r = judge_backward(s, p, kv);
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(
      contains(r.detail, "dQ max_abs 3.0e-2 > 2.0e-2 (max |ref| 1.0e0; at bh 13 (b 1, h 5), row 1, col 7)"))
      << r.detail;
  s.dq.ref_max_abs = 2.0;
  EXPECT_TRUE(judge_backward(s, p, kv).ok);
  // fp16's tighter bounds.
  AttentionProblem h = p;
  h.dtype = DType::f16;
  s = {grad(3e-3, 1e-3, 1.0), grad(1e-3, 1e-3, 1.0), grad(1e-3, 1e-3, 1.0)};
  r = judge_backward(s, h, kv);
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(contains(r.detail, "dQ rel_l2 3.0e-3 > 2.0e-3")) << r.detail;
}

TEST(JudgeBackward, NonFiniteAndEmptyFail) {
  const GradientTolerance tol = gradient_tolerance_for(DType::bf16);
  VerifyResult r =
      judge_backward({grad(1e-3, 1e-3, 1.0), grad(1e-3, 1e-3, 1.0), grad(0, 0, 1.0, 17, 3)}, tol);
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(contains(r.detail, "dV has 3 non-finite of 1000 values (first at index 17)")) << r.detail;
  EXPECT_EQ(r.o.non_finite, 3);  // non-finite is the worst
  r = judge_backward({grad(1e-3, 1e-3, 1.0), grad(0, 0, 0, -1, 0, 0), grad(1e-3, 1e-3, 1.0)}, tol);
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(contains(r.detail, "dK: nothing compared")) << r.detail;
}

}  // namespace
}  // namespace flashtune::verify
