// Every configuration of the default grid, the schedule variants of its two-stage ones (q_regs, pipeline,
// min_blocks, lazy_rescale), the persistent variants of its one-stage ones and the fuse_pv and lazy_rescale 2
// variants of both, is correct on the GPU: d in {64, 96, 128} (96 in its own instantiations), causal and not,
// bf16 and fp16, N in {1, 17, 1000, 4096} (ragged ends included); the schedule variants also with sharp
// logits (softmax_scale 1). Outputs are NaN-poisoned before every launch; small problems are checked against
// the float64 CPU reference, N = 4096 against the fp32 GPU reference.
#include <gtest/gtest.h>

#include <cstdint>

#include <fmt/format.h>

#include "fa2_grid.hpp"
#include "gpu/device_info.hpp"
#include "gpu/driver_api.hpp"
#include "instance_check.hpp"

namespace flashtune {
namespace {

const KernelTemplate& fa2() {
  return find_template("fa2_fwd");
}

// The schedule variants (q_regs, pipeline, min_blocks, lazy_rescale, fuse_pv) of the grid's configurations:
// Q's fragments in registers or re-read, the tile-by-tile and the software-pipelined loop, registers capped
// for 2 CTAs per SM, lazy O rescaling, the softmax fused with P V.
std::vector<Fa2Config> schedule_variants() {
  std::vector<Fa2Config> out;
  for (const Fa2Config& base : default_fa2_grid()) {
    if (base.stages == 1) {  // persistent CTAs looping over the query tiles, Q read from shared memory or not
      for (int q : {0, 1}) {
        Fa2Config c = base;
        c.persistent = 1;
        c.q_regs = q;
        out.push_back(c);
      }
    }
    if (base.stages <= 2) {
      // Softmax fused with P V, Q read from shared memory or not, rescaled always, lazily, or lazily with
      // the slack (lazy_rescale 2), which also runs without the fusion.
      for (int q : {0, 1}) {
        Fa2Config c = base;
        c.fuse_pv = 1;
        c.q_regs = q;
        c.lazy_rescale = q == 0 ? 0 : base.stages == 2 ? 1 : 2;
        out.push_back(c);
      }
      Fa2Config slack = base;
      slack.lazy_rescale = 2;
      out.push_back(slack);
    }
    if (base.stages != 2) continue;
    for (int q : {0, 1})
      for (int pl : {0, 1}) {
        Fa2Config c = base;
        c.q_regs = q;
        c.pipeline = pl;
        out.push_back(c);
      }
    Fa2Config capped = base;  // registers capped for two CTAs per SM (spills allowed), lazy rescaling
    capped.min_blocks = 2;
    capped.lazy_rescale = 1;
    out.push_back(capped);
    Fa2Config lazy = base;
    lazy.lazy_rescale = 1;
    lazy.pipeline = 1;
    out.push_back(lazy);
  }
  return out;
}

struct Case {
  int head_dim;
  bool causal;
  DType dtype;
  int seqlen;
};

std::string case_name(const testing::TestParamInfo<Case>& info) {
  const Case& c = info.param;
  return fmt::format("d{}_{}_{}_N{}", c.head_dim, c.causal ? "causal" : "full", to_string(c.dtype), c.seqlen);
}

// The grid and its schedule variants.
std::vector<Fa2Config> all_configs() {
  std::vector<Fa2Config> configs = default_fa2_grid();
  for (const Fa2Config& v : schedule_variants()) configs.push_back(v);
  return configs;
}

class Fa2Gpu : public testing::TestWithParam<Case> {
 public:
  static void SetUpTestSuite() {
    if (!gpu::gpu_available()) return;
    // Compile the whole grid once, in parallel, before the first context exists.
    std::vector<run::Instance> all;
    for (int d : {64, 96, 128})
      for (DType t : {DType::bf16, DType::f16})
        for (bool causal : {false, true})
          for (const Fa2Config& c : all_configs())
            all.push_back(run::Instance::make(
                fa2(), to_params(c),
                {.batch = 1, .heads = 1, .seqlen = 128, .head_dim = d, .dtype = t, .causal = causal}));
    flashtune::kernel_test::compile_all(all, gpu::query_device(0).arch());
  }
  static run::TrialRunner& runner() {
    static run::TrialRunner r(jit::CubinCache::default_dir());
    return r;
  }
};

// Runs every configuration on one problem (NaN-poisoned outputs, checked against the reference).
void expect_all_match(const AttentionProblem& p, std::uint64_t seed, const std::vector<Fa2Config>& configs) {
  ASSERT_FALSE(configs.empty());
  Fa2Gpu::runner().set_problem(p, seed, /*verify=*/true);
  for (const Fa2Config& cfg : configs) {
    flashtune::kernel_test::expect_verified(Fa2Gpu::runner(), run::Instance::make(fa2(), to_params(cfg), p));
    if (testing::Test::HasFatalFailure()) return;
  }
}

AttentionProblem problem_of(const Case& c, float softmax_scale = 0.0f) {
  return {.batch = 2,
          .heads = 3,
          .seqlen = c.seqlen,
          .head_dim = c.head_dim,
          .dtype = c.dtype,
          .causal = c.causal,
          .softmax_scale = softmax_scale};
}

TEST_P(Fa2Gpu, EveryGridConfigurationMatchesTheReference) {
  std::string why;
  if (!gpu::gpu_available(&why)) GTEST_SKIP() << "no GPU: " << why;
  const Case& c = GetParam();
  expect_all_match(problem_of(c), 1000 + c.seqlen, all_configs());
}

// Sharp softmax: softmax_scale 1 instead of 1/sqrt(d) spreads the logits over hundreds of log2 units, so
// row maxima keep outgrowing the exponent base tile after tile and every rescaling path runs, lazy_rescale
// 2's slack included (with 1/sqrt(d) a max rarely grows by 2^8 after the first tile).
class Fa2Sharp : public Fa2Gpu {};

TEST_P(Fa2Sharp, LargeLogitsMatchTheReference) {
  std::string why;
  if (!gpu::gpu_available(&why)) GTEST_SKIP() << "no GPU: " << why;
  expect_all_match(problem_of(GetParam(), 1.0f), 7, schedule_variants());
}

std::vector<Case> sharp_cases() {
  std::vector<Case> v;
  for (int d : {64, 128})
    for (bool causal : {false, true}) v.push_back({d, causal, DType::bf16, 1000});
  return v;
}

INSTANTIATE_TEST_SUITE_P(Sharp, Fa2Sharp, testing::ValuesIn(sharp_cases()), case_name);

std::vector<Case> all_cases() {
  std::vector<Case> v;
  for (int d : {64, 128})
    for (bool causal : {false, true})
      for (DType t : {DType::bf16, DType::f16})
        for (int n : {1, 17, 1000, 4096}) v.push_back({d, causal, t, n});
  return v;
}

INSTANTIATE_TEST_SUITE_P(Grid, Fa2Gpu, testing::ValuesIn(all_cases()), case_name);

// head_dim 96 (SwizzledTile<96>'s panels): the same grid, schedule variants and problems, and the sharp
// softmax, apart so that they can be run alone (--gtest_filter='HeadDim96*').
std::vector<Case> d96_cases() {
  std::vector<Case> v;
  for (bool causal : {false, true})
    for (DType t : {DType::bf16, DType::f16})
      for (int n : {1, 17, 1000, 4096}) v.push_back({96, causal, t, n});
  return v;
}

INSTANTIATE_TEST_SUITE_P(HeadDim96, Fa2Gpu, testing::ValuesIn(d96_cases()), case_name);

std::vector<Case> d96_sharp_cases() {
  return {{96, false, DType::bf16, 1000}, {96, true, DType::bf16, 1000}};
}

INSTANTIATE_TEST_SUITE_P(HeadDim96Sharp, Fa2Sharp, testing::ValuesIn(d96_sharp_cases()), case_name);

}  // namespace
}  // namespace flashtune
