#include <gtest/gtest.h>

#include "fa2_grid.hpp"
#include "kernels/fa2_config.hpp"

namespace flashtune {
namespace {

TEST(Fa2Config, NameExpressionSpellsEveryTemplateArgument) {
  const Fa2Instance i{{128, 64, 8, 2}, 128, DType::bf16, false};
  EXPECT_EQ(
      i.name_expression(),
      "flashtune::fa2_fwd<flashtune::Fa2Traits<128, 64, 128, 8, 2, 2, 0, 1, 0, 0, 0>, false, __nv_bfloat16>");
  const Fa2Instance h{{64, 32, 4, 3, 1, 1, 2, 1}, 64, DType::f16, true};
  EXPECT_EQ(h.name_expression(),
            "flashtune::fa2_fwd<flashtune::Fa2Traits<64, 32, 64, 4, 3, 1, 1, 2, 1, 0, 0>, true, __half>");
  EXPECT_EQ(h.to_string(), "fa2_fwd bm64 bn32 w4 s3 q1 p1 mb2 lr1 d64 fp16 causal");
  // A variant appends its bits; the plain problem's expression is unchanged.
  const Fa2Instance g{{128, 64, 4, 1}, 128, DType::bf16, true, 3};
  EXPECT_EQ(g.name_expression(),
            "flashtune::fa2_fwd<flashtune::Fa2Traits<128, 64, 128, 4, 1, 2, 0, 1, 0, 0, 0>, true, "
            "__nv_bfloat16, 3>");
  EXPECT_EQ(g.to_string(), "fa2_fwd bm128 bn64 w4 s1 d128 bf16 causal variant3");
  AttentionProblem p{.batch = 1, .heads = 8, .seqlen = 1, .head_dim = 128, .kv_heads = 2, .seqlen_k = 4096};
  EXPECT_EQ(Fa2Instance::for_problem({128, 64, 4, 1}, p).variant, 1);
  p.window_left = 256;
  p.softcap = 30;
  EXPECT_EQ(Fa2Instance::for_problem({128, 64, 4, 1}, p).variant, 7);
}

TEST(Fa2Config, VariantsRunTheOneTileUnpipelinedSchedule) {
  EXPECT_FALSE(fa2::invalid_reason({{128, 64, 4, 1}, 128, DType::bf16, false, 7}));
  const auto persistent = fa2::invalid_reason({{128, 64, 4, 1, 0, 0, 1, 1, 1}, 128, DType::bf16, false, 1});
  ASSERT_TRUE(persistent);
  EXPECT_NE(persistent->find("the attention variants run persistent 0 and pipeline 0"), std::string::npos);
  EXPECT_TRUE(fa2::invalid_reason({{128, 64, 4, 2, 0, 1}, 128, DType::bf16, false, 2}));
}

// splits > 1: the traits gain the split count, a second kernel (fa2_combine) merges the partials, the main
// grid's z is the split, and the workspace holds every split's fp32 O and LSE.
TEST(Fa2Config, SplitKvAddsTheCombineKernelAndAWorkspace) {
  const KernelTemplate& t = find_template("fa2_fwd");
  ParamValues v = t.default_config(ProblemVariant{});
  v["splits"] = 4;
  const AttentionProblem p{
      .batch = 2, .heads = 8, .seqlen = 1, .head_dim = 128, .causal = true, .kv_heads = 2, .seqlen_k = 4096};
  const ProblemVariant pv = variant_of(p);
  ASSERT_FALSE(t.invalid_reason(v, pv)) << *t.invalid_reason(v, pv);
  const std::vector<std::string> names = t.name_expressions(v, pv);
  ASSERT_EQ(names.size(), 2u);
  EXPECT_EQ(names[0],
            "flashtune::fa2_fwd<flashtune::Fa2Traits<128, 64, 128, 4, 1, 0, 0, 1, 2, 0, 1, 4>, true, "
            "__nv_bfloat16, 1>");
  EXPECT_EQ(names[1], "flashtune::fa2_combine<128, 4, true, __nv_bfloat16>");
  const std::vector<KernelLaunch> l = t.launches(v, p);
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[0].grid[0], 1u);
  EXPECT_EQ(l[0].grid[1], 16u);
  EXPECT_EQ(l[0].grid[2], 4u);
  EXPECT_EQ(l[1].grid[0], 4u);  // 16 rows, four per block
  EXPECT_EQ(l[1].threads, 128u);
  EXPECT_EQ(t.workspace_bytes(v, p), 4u * 16 * (128 + 1) * 4);
  // Without splits: one kernel, no workspace, the name as before.
  v.erase("splits");
  EXPECT_EQ(t.name_expressions(v, pv).size(), 1u);
  EXPECT_EQ(t.workspace_bytes(v, p), 0u);
  // The persistent and pipelined schedules do not split.
  Fa2Config c{128, 64, 4, 1, 0, 0, 1, 0, 1};
  c.splits = 2;
  const auto why = fa2::invalid_reason({c, 128, DType::bf16, false});
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("splits 2 needs persistent 0 and pipeline 0"), std::string::npos) << *why;
  c = Fa2Config{128, 64, 4, 1};
  c.splits = 65;
  EXPECT_TRUE(fa2::invalid_reason({c, 128, DType::bf16, false}));
}

TEST(Fa2Config, ScheduleParametersAreChecked) {
  EXPECT_FALSE(fa2::invalid_reason({{128, 64, 4, 2, 0, 1}, 128, DType::bf16, false}));
  const auto one_stage = fa2::invalid_reason({{128, 64, 4, 1, 2, 1}, 128, DType::bf16, false});
  ASSERT_TRUE(one_stage);
  EXPECT_NE(one_stage->find("pipeline 1 needs stages >= 2"), std::string::npos) << *one_stage;
  EXPECT_TRUE(fa2::invalid_reason({{128, 64, 4, 2, 3, 0}, 128, DType::bf16, false}));
  EXPECT_TRUE(fa2::invalid_reason({{128, 64, 4, 2, 2, 2}, 128, DType::bf16, false}));
  EXPECT_TRUE(fa2::invalid_reason({{128, 64, 4, 2, 2, 0, 5}, 128, DType::bf16, false}));
  EXPECT_FALSE(fa2::invalid_reason({{128, 64, 4, 2, 2, 0, 1, 2}, 128, DType::bf16, false}));
  EXPECT_TRUE(fa2::invalid_reason({{128, 64, 4, 2, 2, 0, 1, 3}, 128, DType::bf16, false}));
}

TEST(Fa2Config, PersistentNeedsOneStageAndSpellsItsArgument) {
  const Fa2Instance p{{128, 64, 4, 1, 0, 0, 1, 1, 1}, 128, DType::bf16, false};
  EXPECT_FALSE(fa2::invalid_reason(p));
  EXPECT_EQ(
      p.name_expression(),
      "flashtune::fa2_fwd<flashtune::Fa2Traits<128, 64, 128, 4, 1, 0, 0, 1, 1, 1, 0>, false, __nv_bfloat16>");
  EXPECT_EQ(p.config.to_string(), "bm128 bn64 w4 s1 q0 lr1 pe1");
  // A second Q buffer: 2 * (2 * 128 * 128 + 2 * 64 * 128) bytes; two CTAs per SM of 132.
  EXPECT_EQ(fa2::smem_bytes(p.config, 128), 2 * (2 * 128 * 128 + 2 * 64 * 128));
  EXPECT_EQ(fa2::persistent_ctas(p.config, 128), 264);
  const auto two_stages = fa2::invalid_reason({{128, 64, 4, 2, 0, 0, 1, 0, 1}, 128, DType::bf16, false});
  ASSERT_TRUE(two_stages);
  EXPECT_NE(two_stages->find("persistent 1 needs stages 1"), std::string::npos) << *two_stages;
  EXPECT_TRUE(fa2::invalid_reason({{128, 64, 4, 1, 0, 0, 1, 0, 2}, 128, DType::bf16, false}));
}

TEST(Fa2Config, FusePvNeedsTheTileByTileLoopAndSpellsItsArgument) {
  Fa2Config c{128, 64, 4, 1, 0};
  c.fuse_pv = 1;
  const Fa2Instance f{c, 128, DType::bf16, true};
  EXPECT_FALSE(fa2::invalid_reason(f));
  EXPECT_EQ(
      f.name_expression(),
      "flashtune::fa2_fwd<flashtune::Fa2Traits<128, 64, 128, 4, 1, 0, 0, 1, 0, 0, 1>, true, __nv_bfloat16>");
  EXPECT_EQ(f.config.to_string(), "bm128 bn64 w4 s1 q0 fp1");
  Fa2Config pipelined = c;
  pipelined.stages = 2;
  pipelined.pipeline = 1;
  const auto why = fa2::invalid_reason({pipelined, 128, DType::bf16, false});
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("fuse_pv 1 needs pipeline 0"), std::string::npos) << *why;
  Fa2Config persistent = c;
  persistent.persistent = 1;
  EXPECT_TRUE(fa2::invalid_reason({persistent, 128, DType::bf16, false}));
  c.fuse_pv = 2;
  EXPECT_TRUE(fa2::invalid_reason({c, 128, DType::bf16, false}));
}

TEST(Fa2Config, SharedMemoryMatchesTraits) {
  // Q tile + stages * (K tile + V tile), 2 bytes each.
  EXPECT_EQ(fa2::smem_bytes({128, 64, 8, 2}, 128), 2 * (128 * 128 + 2 * 2 * 64 * 128));
  EXPECT_EQ(fa2::smem_bytes({64, 32, 4, 1}, 64), 2 * (64 * 64 + 2 * 32 * 64));
}

TEST(Fa2Config, InvalidConfigurationsSayWhy) {
  auto why = [](Fa2Config c, int d = 128) { return fa2::invalid_reason({c, d, DType::bf16, false}); };
  EXPECT_FALSE(why({128, 64, 8, 2}));
  ASSERT_TRUE(why({64, 64, 8, 2}));  // 8 rows per warp
  EXPECT_NE(why({64, 64, 8, 2})->find("16*warps"), std::string::npos);
  ASSERT_TRUE(why({128, 40, 4, 2}));
  EXPECT_NE(why({128, 40, 4, 2})->find("block_n"), std::string::npos);
  ASSERT_TRUE(why({128, 128, 4, 4}));  // 2*(16384 + 8*16384) bytes > 227 KiB
  EXPECT_NE(why({128, 128, 4, 4})->find("shared memory"), std::string::npos);
  EXPECT_TRUE(why({128, 64, 8, 0}));
  // head_dim: 64, 96 or 128 (Fa2Traits' static_assert).
  EXPECT_FALSE(why({128, 64, 8, 2}, 96));
  ASSERT_TRUE(why({128, 64, 8, 2}, 256));
  EXPECT_EQ(*why({128, 64, 8, 2}, 256), "head_dim 256 is not 64, 96 or 128");
  ASSERT_TRUE(why({128, 64, 8, 2}, 80));
  EXPECT_EQ(*why({128, 64, 8, 2}, 80), "head_dim 80 is not 64, 96 or 128");
}

// head_dim 96: the traits' argument, shared memory of 96-column tiles (192-byte rows), the template's
// support and its default (d 128's: block_n 64), a split's workspace of 96 + 1 floats a row.
TEST(Fa2Config, HeadDim96) {
  const Fa2Instance i{{128, 64, 4, 1}, 96, DType::f16, true};
  EXPECT_FALSE(fa2::invalid_reason(i));
  EXPECT_EQ(i.name_expression(),
            "flashtune::fa2_fwd<flashtune::Fa2Traits<128, 64, 96, 4, 1, 2, 0, 1, 0, 0, 0>, true, __half>");
  EXPECT_EQ(i.to_string(), "fa2_fwd bm128 bn64 w4 s1 d96 fp16 causal");
  EXPECT_EQ(fa2::smem_bytes({128, 64, 4, 1}, 96), 2 * (128 * 96 + 2 * 64 * 96));
  EXPECT_EQ(fa2::smem_bytes({128, 128, 4, 4}, 96), 2 * (128 * 96 + 2 * 4 * 128 * 96));  // fits at d 96
  EXPECT_FALSE(fa2::invalid_reason({{128, 128, 4, 4}, 96, DType::bf16, false}));
  const KernelTemplate& t = find_template("fa2_fwd");
  const ProblemVariant pv{.head_dim = 96};
  const ParamValues v = t.default_config(pv);
  EXPECT_EQ(v.at("block_n"), 64);
  EXPECT_FALSE(t.invalid_reason(v, pv));
  const AttentionProblem p{.batch = 2, .heads = 4, .seqlen = 100, .head_dim = 96, .kv_heads = 2};
  EXPECT_FALSE(unsupported_reason(t, v, p));
  ParamValues split = v;
  split["splits"] = 3;
  EXPECT_EQ(t.workspace_bytes(split, p), 3u * 2 * 4 * 100 * (96 + 1) * 4);
  EXPECT_EQ(t.name_expressions(split, variant_of(p))[1],
            "flashtune::fa2_combine<96, 3, true, __nv_bfloat16>");
}

TEST(DefaultGrid, EveryConfigurationIsValidAndDistinct) {
  const auto grid = default_fa2_grid();
  EXPECT_EQ(grid.size(), 27u);  // (bm, w) in {(64,4), (128,4), (128,8)} x bn {32,64,128} x stages {1,2,3}
  for (std::size_t i = 0; i < grid.size(); ++i) {
    for (int d : {64, 96, 128})
      EXPECT_FALSE(fa2::invalid_reason({grid[i], d, DType::bf16, true})) << grid[i].to_string();
    for (std::size_t j = i + 1; j < grid.size(); ++j) EXPECT_FALSE(grid[i] == grid[j]);
  }
}

}  // namespace
}  // namespace flashtune
