#include <cmath>
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

}  // namespace
}  // namespace flashtune::verify
