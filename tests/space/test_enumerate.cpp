#include <gtest/gtest.h>

#include <string>

#include "space/enumerate.hpp"
#include "space/space_loader.hpp"

namespace flashtune::space {
namespace {

// 2 x 2 x 2 = 8 combinations; `constraints` (YAML list items) starts at line 8.
SearchSpace small_space(const std::string& constraints) {
  return parse_search_space(
      "template: fa2_fwd\n"
      "parameters:\n"
      "  block_m: [64, 128]\n"
      "  block_n: [32, 64]\n"
      "  warps: {pow2: [2, 4]}\n"
      "  stages: 2\n"
      "constraints:\n" +
          constraints + "problems:\n  - {batch: 1, heads: 4, seqlen: 1024, head_dim: 64}\n",
      "spaces/t.yaml");
}

ParamValues config(std::int64_t bm, std::int64_t bn, std::int64_t w, std::int64_t s = 2) {
  return {{"block_m", bm}, {"block_n", bn}, {"warps", w}, {"stages", s}};
}

AttentionProblem problem(int seqlen, int head_dim = 64, bool causal = false) {
  return {.batch = 1, .heads = 4, .seqlen = seqlen, .head_dim = head_dim, .causal = causal};
}

TEST(Enumerate, CountsOrderAndReason) {
  const SearchSpace s = small_space("  - block_m / warps <= 32\n");
  const Enumeration e = enumerate(s, s.problems[0]);
  EXPECT_EQ(e.total, 8u);
  // block_m / warps: 64/2 = 32, 64/4 = 16, 128/2 = 64 (pruned), 128/4 = 32; times 2 block_n.
  ASSERT_EQ(e.kept.size(), 6u);
  ASSERT_EQ(e.pruned.size(), 2u);
  // The first parameter varies slowest, the last fastest.
  EXPECT_EQ(e.kept[0], config(64, 32, 2));
  EXPECT_EQ(e.kept[1], config(64, 32, 4));
  EXPECT_EQ(e.kept[2], config(64, 64, 2));
  EXPECT_EQ(e.kept[3], config(64, 64, 4));
  EXPECT_EQ(e.kept[4], config(128, 32, 4));
  EXPECT_EQ(e.kept[5], config(128, 64, 4));
  EXPECT_EQ(e.pruned[0].params, config(128, 32, 2));
  EXPECT_EQ(e.pruned[1].params, config(128, 64, 2));
  EXPECT_EQ(e.pruned[0].reason, "constraint 'block_m / warps <= 32' (t.yaml:8:5)");
}

TEST(Enumerate, TheFirstFailingConstraintIsTheReason) {
  const SearchSpace s = small_space("  - warps == 4\n  - block_n == 64\n");
  const Enumeration e = enumerate(s, s.problems[0]);
  ASSERT_EQ(e.kept.size(), 2u);  // block_m 64 and 128 with block_n 64, warps 4
  EXPECT_EQ(e.kept[0], config(64, 64, 4));
  ASSERT_EQ(e.pruned.size(), 6u);
  EXPECT_EQ(e.pruned[0].params, config(64, 32, 2));
  EXPECT_EQ(e.pruned[0].reason, "constraint 'warps == 4' (t.yaml:8:5)");
  EXPECT_EQ(e.pruned[1].params, config(64, 32, 4));
  EXPECT_EQ(e.pruned[1].reason, "constraint 'block_n == 64' (t.yaml:9:5)");
}

TEST(Enumerate, ProblemVariablesPrunePerProblem) {
  const SearchSpace s = small_space("  - block_m <= seqlen\n  - causal == 0 or block_n <= 32\n");
  EXPECT_EQ(enumerate(s, problem(1024)).kept.size(), 8u);
  EXPECT_EQ(enumerate(s, problem(100)).kept.size(), 4u);             // block_m 64 only
  EXPECT_EQ(enumerate(s, problem(1024, 64, true)).kept.size(), 4u);  // block_n 32 only
  EXPECT_EQ(enumerate(s, problem(64, 64, true)).kept.size(), 2u);    // both

  const SearchSpace t = small_space("  - head_dim * block_n * dtype_bytes <= 8192\n  - batch * heads == 4\n");
  EXPECT_EQ(enumerate(t, problem(1024, 64)).kept.size(), 8u);
  EXPECT_EQ(enumerate(t, problem(1024, 128)).kept.size(), 4u);  // 128 * 64 * 2 > 8192
  AttentionProblem wide = problem(1024);
  wide.heads = 8;
  EXPECT_EQ(enumerate(t, wide).kept.size(), 0u);

  EXPECT_EQ(problem_variable(problem(512, 128, true), "seqlen"), 512);
  EXPECT_EQ(problem_variable(problem(512, 128, true), "causal"), 1);
  EXPECT_EQ(problem_variable(problem(512), "dtype_bytes"), 2);
  EXPECT_FALSE(problem_variable(problem(512), "block_m").has_value());
}

TEST(Enumerate, EvaluationErrorsPruneWithTheError) {
  const SearchSpace s = small_space("  - seqlen % (block_m - 64) == 0\n");
  const Enumeration e = enumerate(s, s.problems[0]);
  ASSERT_EQ(e.pruned.size(), 4u);  // block_m 64: modulo by zero; block_m 128: 1024 % 64 == 0 is kept
  EXPECT_EQ(e.pruned[0].reason, "constraint 'seqlen % (block_m - 64) == 0' (t.yaml:8:5): modulo by zero");
  EXPECT_EQ(e.kept.size(), 4u);
}

// By hand from the two constraints, for any problem: block_m % (16 * warps) == 0 and block_m / warps <= 64.
//   warps 2 (multiples of 32, block_m <= 128): 64, 128            -> 2
//   warps 4 (multiples of 64, block_m <= 256): 64, 128, 192, 256  -> 4
//   warps 8 (multiples of 128, block_m <= 512): 128, 256          -> 2
// 8 (block_m, warps) pairs x 3 block_n x 3 stages = 72 of 108.
TEST(Enumerate, DefaultSpaceAtHeadDim128) {
  const SearchSpace s = load_search_space(default_search_space());
  for (const AttentionProblem& p : s.problems) {
    if (p.head_dim != 128) continue;
    const Enumeration e = enumerate(s, p);
    EXPECT_EQ(e.total, 108u);
    EXPECT_EQ(e.kept.size(), 72u) << p.to_string();
    EXPECT_EQ(e.pruned.size(), 36u);
    for (const ParamValues& v : e.kept) {
      EXPECT_EQ(v.at("block_m") % (16 * v.at("warps")), 0);
      EXPECT_LE(v.at("block_m") / v.at("warps"), 64);
    }
  }
}

TEST(Enumerate, EmptyValuesGiveNothing) {
  SearchSpace s;
  s.parameters = {{"block_m", {}, {}}};
  const Enumeration e = enumerate(s, problem(64));
  EXPECT_EQ(e.total, 0u);
  EXPECT_TRUE(e.kept.empty());
  SearchSpace none;  // no parameters: the one empty configuration
  EXPECT_EQ(enumerate(none, problem(64)).kept.size(), 1u);
}

}  // namespace
}  // namespace flashtune::space
