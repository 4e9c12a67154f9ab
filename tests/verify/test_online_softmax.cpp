#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "verify/online_softmax.hpp"

namespace flashtune::verify {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// One-pass log-sum-exp written independently of the library.
double one_pass_lse(const std::vector<double>& s) {
  double m = -kInf;
  for (double x : s) m = std::max(m, x);
  double sum = 0;
  for (double x : s) sum += std::exp(x - m);
  return m + std::log(sum);
}

TEST(OnlineSoftmax, WorkedExample) {
  const std::vector<double> a = {0.1, 0.5, 0.4}, b = {0.2, 0.3, 0.3};
  const SoftmaxState s = merge(block_state(a), block_state(b));
  EXPECT_DOUBLE_EQ(s.max, 0.5);
  EXPECT_NEAR(s.sum, 4.9534, 1e-4);
  // The first block alone has max 0.5 too; the second (max 0.3) is rescaled by exp(0.3 - 0.5).
  EXPECT_NEAR(block_state(b).sum * std::exp(0.3 - 0.5) + block_state(a).sum, s.sum, 1e-15);
  EXPECT_NEAR(log_sum_exp(s), 0.5 + std::log(4.9534), 1e-4);
}

TEST(OnlineSoftmax, RandomBlockSplitsEqualOnePass) {
  std::mt19937_64 gen(20240601);
  std::uniform_int_distribution<int> n_blocks(1, 8), block_len(0, 40);
  std::normal_distribution<double> score(0.0, 4.0);
  std::bernoulli_distribution masked(0.1);
  for (int trial = 0; trial < 1000; ++trial) {
    std::vector<double> all;
    SoftmaxState state;
    const int blocks = n_blocks(gen);
    for (int b = 0; b < blocks; ++b) {
      std::vector<double> block(block_len(gen));
      for (double& x : block) x = masked(gen) ? -kInf : score(gen);
      all.insert(all.end(), block.begin(), block.end());
      state = merge(state, block_state(block));
    }
    const double want = one_pass_lse(all);
    if (std::isinf(want)) {  // every score masked, or no scores
      EXPECT_EQ(log_sum_exp(state), -kInf) << "trial " << trial;
    } else {
      EXPECT_NEAR(log_sum_exp(state), want, 1e-12) << "trial " << trial;
    }
  }
}

TEST(OnlineSoftmax, LargeScoresDoNotOverflow) {
  const std::vector<double> a = {1000.0, 999.0}, b = {1001.0};
  const double lse = log_sum_exp(merge(block_state(a), block_state(b)));
  EXPECT_NEAR(lse, 1001.0 + std::log(1.0 + std::exp(-1.0) + std::exp(-2.0)), 1e-12);
}

TEST(OnlineSoftmax, MergeWithEmptyIsIdentity) {
  const std::vector<double> a = {0.3, -1.2, 2.5};
  const SoftmaxState s = block_state(a);
  const SoftmaxState empty;
  for (const SoftmaxState& m : {merge(s, empty), merge(empty, s)}) {
    EXPECT_EQ(m.max, s.max);
    EXPECT_EQ(m.sum, s.sum);
  }
  const SoftmaxState both = merge(empty, empty);
  EXPECT_EQ(both.max, -kInf);
  EXPECT_EQ(both.sum, 0.0);
  EXPECT_EQ(log_sum_exp(both), -kInf);
}

TEST(OnlineSoftmax, AllMaskedBlockIsEmpty) {
  const std::vector<double> masked = {-kInf, -kInf, -kInf};
  const SoftmaxState s = block_state(masked);
  EXPECT_EQ(s.max, -kInf);
  EXPECT_EQ(s.sum, 0.0);
  EXPECT_FALSE(std::isnan(log_sum_exp(s)));
  EXPECT_EQ(log_sum_exp(s), -kInf);
  // Merging it into a real state changes nothing, in either order.
  const std::vector<double> a = {0.7, 0.1};
  const SoftmaxState r = block_state(a);
  EXPECT_EQ(merge(r, s).sum, r.sum);
  EXPECT_EQ(merge(s, r).max, r.max);
  // Masked keys inside a live block contribute nothing.
  const std::vector<double> mixed = {0.7, -kInf, 0.1};
  EXPECT_DOUBLE_EQ(block_state(mixed).sum, r.sum);
  EXPECT_EQ(block_state(std::vector<double>{}).max, -kInf);
}

}  // namespace
}  // namespace flashtune::verify
