// The check plan: which configurations `flashtune check` compiles and verifies, on which problems.
#include <gtest/gtest.h>

#include <algorithm>

#include "check/check_plan.hpp"
#include "space/space_loader.hpp"

namespace flashtune::check {
namespace {

// 6 combinations. The second constraint drops bm128 bn128 for the short problems only.
constexpr const char* kSpace = R"(template: fa2_fwd
parameters:
  block_m: [64, 128]
  block_n: [32, 64, 128]
  warps: 4
  stages: 2
constraints:
  - block_m % (16 * warps) == 0
  - block_m * block_n <= 8192 or seqlen >= 2048
problems:
  - {batch: 1, heads: 4, seqlen: 1024, head_dim: 64}
  - {batch: 1, heads: 4, seqlen: 4096, head_dim: 64, causal: true}
  - {batch: 1, heads: 4, seqlen: 1024, head_dim: 128, dtype: fp16}
check:
  expect_compile_error: "block_n == 32 and causal == 1"
  expect_incorrect: seqlen == 17
)";

std::size_t count_variant(const CheckPlan& p, const ProblemVariant& v) {
  return static_cast<std::size_t>(std::count_if(p.configs.begin(), p.configs.end(),
                                                [&](const CheckConfig& c) { return c.variant() == v; }));
}

TEST(CheckPlan, CompileOnlyCoversTheVariantsOfTheSpacesProblems) {
  const space::SearchSpace s = space::parse_search_space(kSpace, "plan.yaml");
  ASSERT_TRUE(s.check.expect_compile_error);
  ASSERT_TRUE(s.check.expect_incorrect);
  const CheckPlan p = plan_check(s, {});
  EXPECT_EQ(p.template_id, "fa2_fwd");
  ASSERT_EQ(p.variants.size(), 3u);  // d64 bf16, d64 bf16 causal, d128 fp16
  EXPECT_EQ(p.combinations, 6u);
  // d64 and d128 (N1024): 5 each; d64 causal (N4096): all 6.
  EXPECT_EQ(count_variant(p, {64, DType::bf16, false}), 5u);
  EXPECT_EQ(count_variant(p, {64, DType::bf16, true}), 6u);
  EXPECT_EQ(count_variant(p, {128, DType::f16, false}), 5u);
  EXPECT_EQ(p.configs.size(), 16u);
  EXPECT_EQ(p.pruned_constraint, 2u);
  EXPECT_EQ(p.pruned_template, 0u);
  EXPECT_EQ(p.pruned_over_budget, 0u);
  EXPECT_EQ(p.requests.size(), 16u);  // every (configuration, variant) is its own instantiation
  EXPECT_TRUE(p.problems.empty());    // no GPU: no check problems
  // expect_compile_error holds for block_n 32 in the causal variant only.
  std::size_t expected = 0;
  for (const CheckConfig& c : p.configs) {
    expected += c.expect_compile_error;
    if (c.expect_compile_error) {
      EXPECT_TRUE(c.variant().causal);
      EXPECT_EQ(c.params().at("block_n"), 32);
    }
  }
  EXPECT_EQ(expected, 2u);
  EXPECT_EQ(p.configs[0].label, "block_m=64 block_n=32 stages=2 warps=4 (d64 bf16)");
}

// --sample: N configurations drawn with the seed (the same seed, the same draw; another seed, another), plus
// those the space expects not to compile; the requests are only the kept configurations'.
TEST(CheckPlan, ASampleIsDrawnWithItsSeedAndKeepsTheExpectedFailures) {
  const space::SearchSpace s = space::parse_search_space(kSpace, "plan.yaml");
  PlanOptions o;
  o.sample = 4;
  o.seed = 11;
  const CheckPlan a = plan_check(s, o);
  const CheckPlan b = plan_check(s, o);
  std::size_t expected = 0;
  for (const CheckConfig& c : a.configs) expected += c.expect_compile_error;
  EXPECT_EQ(expected, 2u);
  EXPECT_GE(a.configs.size(), 4u);
  EXPECT_LE(a.configs.size(), 6u);
  EXPECT_EQ(a.configs.size() + a.sampled_out, 16u);
  EXPECT_EQ(a.requests.size(), a.configs.size());
  auto labels = [](const CheckPlan& p) {
    std::vector<std::string> l;
    for (const CheckConfig& c : p.configs) l.push_back(c.label);
    return l;
  };
  EXPECT_EQ(labels(a), labels(b));
  for (std::size_t i = 0; i < a.configs.size(); ++i) EXPECT_LT(a.configs[i].request, a.requests.size());
  bool differs = false;
  for (std::uint64_t seed = 12; seed < 20 && !differs; ++seed) {
    o.seed = seed;
    differs = labels(plan_check(s, o)) != labels(a);
  }
  EXPECT_TRUE(differs) << "eight other seeds drew the same sample";
  o.sample = 100;  // more than there are: everything
  EXPECT_EQ(plan_check(s, o).configs.size(), 16u);
}

TEST(CheckPlan, GpuChecksBothCausalModesOnRaggedProblems) {
  const space::SearchSpace s = space::parse_search_space(kSpace, "plan.yaml");
  const CheckPlan p = plan_check(s, {.gpu = true});
  ASSERT_EQ(p.variants.size(), 4u);
  // d128 fp16 causal is not in the space: its problems with causal set, N1024, which drops bm128 bn128.
  EXPECT_EQ(count_variant(p, {128, DType::f16, true}), 5u);
  EXPECT_EQ(p.configs.size(), 21u);
  ASSERT_EQ(p.problems.size(), 12u);  // 4 variants x N {1, 17, 1000}
  for (const AttentionProblem& q : p.problems) {
    EXPECT_EQ(q.batch, 2);
    EXPECT_EQ(q.heads, 3);
  }
  EXPECT_EQ(p.problems[0].to_string(), "B2 H3 N1 d64 bf16");
  EXPECT_EQ(p.problems[1].to_string(), "B2 H3 N17 d64 bf16");
  EXPECT_EQ(p.problems[2].to_string(), "B2 H3 N1000 d64 bf16");
  EXPECT_EQ(p.problems[3].to_string(), "B2 H3 N1 d64 bf16 causal");
  EXPECT_EQ(p.problems[11].to_string(), "B2 H3 N1000 d128 fp16 causal");

  EXPECT_EQ(check_problems(s, true).size(), 15u);  // and the space's own 3
  EXPECT_TRUE(expectation_holds(*s.check.expect_incorrect, p.configs[0].params(), p.problems[1]));
  EXPECT_FALSE(expectation_holds(*s.check.expect_incorrect, p.configs[0].params(), p.problems[2]));
}

TEST(CheckPlan, ConfigurationsOverTheLargestBudgetAreLeftOut) {
  const space::SearchSpace s = space::parse_search_space(kSpace, "plan.yaml");
  const CheckPlan p = plan_check(s, {.smem_limit = 1});
  EXPECT_TRUE(p.configs.empty());
  EXPECT_TRUE(p.requests.empty());
  EXPECT_EQ(p.pruned_over_budget, 16u);
}

TEST(CheckPlan, AnExpectationThatCannotBeEvaluatedExpectsNothing) {
  const space::SearchSpace s = space::parse_search_space(
      std::string(kSpace).replace(std::string(kSpace).find("seqlen == 17"), 12, "block_m / (warps - 4) == 1"),
      "plan.yaml");
  EXPECT_FALSE(expectation_holds(*s.check.expect_incorrect, {{"block_m", 64}, {"warps", 4}}, {}));
}

}  // namespace
}  // namespace flashtune::check
