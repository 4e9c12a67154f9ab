// The attention variants (core/problem.hpp) on the GPU: fa2_fwd's one-tile configurations and (sm_90a)
// hopper_fwd's default for the variant and a one-warpgroup-wide alternative, against the
// references on grouped and multi-query heads, decode (1 and 16 queries against 4096 keys), more queries than
// keys (rows without keys: O = 0, LSE = -inf), fewer queries than keys, windows, softcap, strided (bshd)
// tensors, all of them together, a long windowed problem checked against the fp32 GPU reference, N = 131072
// (causal, and with a 4096-key window) against it, and variable lengths (packed sequences of 0, 1, 17 ...
// rows; their own key counts; with GQA, a window and the cap; long ones on the GPU reference), and
// block-sparse layouts (empty layout rows, with causal, a window, GQA and the cap; a long one on the GPU
// reference). Outputs are NaN-poisoned before every launch.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "gpu/device_info.hpp"
#include "gpu/driver_api.hpp"
#include "instance_check.hpp"

namespace flashtune {
namespace {

const KernelTemplate& fa2() {
  return find_template("fa2_fwd");
}

// The default configuration (fused softmax, one stage), a two-stage unfused one, a wide one, and split-K/V
// over 3 CTAs per query tile (an uneven split: some CTAs get fewer blocks, some none).
std::vector<ParamValues> configs() {
  return {fa2().default_config(ProblemVariant{}),
          {{"block_m", 64}, {"block_n", 64}, {"warps", 4}, {"stages", 2}},
          {{"block_m", 128}, {"block_n", 128}, {"warps", 8}, {"stages", 2}},
          {{"block_m", 64}, {"block_n", 64}, {"warps", 4}, {"stages", 2}, {"splits", 3}}};
}

const KernelTemplate& hopper() {
  return find_template("hopper_fwd");
}

// hopper_fwd: the default for the problem's variant (ping-pong, one-tile grid), and three consumer
// warpgroups without ping-pong over 64-key tiles, three stages.
std::vector<ParamValues> hopper_configs(const AttentionProblem& p) {
  return {hopper().default_config(variant_of(p)),
          {{"block_n", 64}, {"consumer_wgs", 3}, {"stages", 3}, {"pingpong", 0}, {"persistent", 0}}};
}

bool hopper_arch() {
  return gpu::query_device(0).arch() == "sm_90a";
}

struct VariantCase {
  std::string name;
  AttentionProblem problem;
};

AttentionProblem base(int heads, int kv_heads, int n, int nk, int d, bool causal, DType t = DType::bf16) {
  return {.batch = 2,
          .heads = heads,
          .seqlen = n,
          .head_dim = d,
          .dtype = t,
          .causal = causal,
          .kv_heads = kv_heads,
          .seqlen_k = nk};
}

std::vector<VariantCase> cases() {
  std::vector<VariantCase> v;
  v.push_back({"Gqa", base(8, 2, 1000, 1000, 128, true)});
  v.push_back({"Mqa", base(8, 1, 257, 257, 64, false, DType::f16)});
  v.push_back({"Decode1", base(8, 2, 1, 4096, 128, true)});
  v.push_back({"Decode16", base(8, 2, 16, 4096, 128, true)});
  v.push_back({"MoreQueriesThanKeys", base(4, 4, 300, 100, 64, true)});  // rows 0..199 see no key
  v.push_back({"FewerQueriesThanKeys", base(4, 4, 100, 1000, 128, true, DType::f16)});
  AttentionProblem w = base(4, 4, 2048, 2048, 128, true);
  w.window_left = 256;
  w.window_right = 0;
  v.push_back({"CausalWindow", w});
  AttentionProblem lr = base(4, 4, 1000, 1000, 64, false);
  lr.window_left = 100;
  lr.window_right = 50;
  v.push_back({"TwoSidedWindow", lr});
  AttentionProblem cap = base(4, 4, 1000, 1000, 128, true);
  cap.softcap = 30;
  cap.softmax_scale = 1.0f;  // sharp logits, so that the cap bites
  v.push_back({"Softcap", cap});
  AttentionProblem bshd = base(4, 2, 777, 777, 64, true);
  bshd.layout = Layout::bshd;
  v.push_back({"BshdGqa", bshd});
  AttentionProblem all = base(8, 2, 500, 1500, 128, true, DType::f16);
  all.window_left = 300;
  all.softcap = 20;
  all.layout = Layout::bshd;
  v.push_back({"Everything", all});
  AttentionProblem long_window = base(4, 1, 16384, 16384, 128, true);
  long_window.batch = 1;
  long_window.window_left = 1024;
  v.push_back({"LongWindowGpuReference", long_window});
  // Long context (issue 16's acceptance): B1 H8 N131072 d128, causal and with a 4096-key window, against the
  // fp32 GPU reference, which works in key chunks (O(N) memory: no N x N scores anywhere).
  AttentionProblem long_causal = base(8, 8, 131072, 131072, 128, true);
  long_causal.batch = 1;
  v.push_back({"LongContext131072Causal", long_causal});
  AttentionProblem long_window4k = long_causal;
  long_window4k.window_left = 4096;
  long_window4k.window_right = 0;
  v.push_back({"LongContext131072Window4096", long_window4k});
  // Variable lengths: empty and one-row sequences between ragged ones, causal.
  v.push_back({"Varlen", varlen_problem(base(8, 8, 0, 0, 128, true), {1, 17, 0, 300, 1000, 64})});
  // Their own key counts: decode-like (16 vs 4096), more queries than keys (rows without keys), one key.
  v.push_back({"VarlenKeys",
               varlen_problem(base(4, 2, 0, 0, 64, true, DType::f16), {16, 300, 1, 5}, {4096, 100, 1, 0})});
  // GQA + varlen + causal + window + softcap.
  AttentionProblem varlen_all = varlen_problem(base(8, 2, 0, 0, 128, true, DType::f16),
                                               {700, 1, 129, 0, 2000}, {900, 33, 129, 7, 2000});
  varlen_all.window_left = 128;
  varlen_all.softcap = 20;
  v.push_back({"VarlenEverything", varlen_all});
  // Long sequences (the GPU reference), a 1024-key window.
  AttentionProblem varlen_long = varlen_problem(base(4, 1, 0, 0, 128, true), {16384, 3000, 12000});
  varlen_long.window_left = 1024;
  v.push_back({"VarlenLongGpuReference", varlen_long});
  // Block-sparse, blocks of 384 (a multiple of every configuration's tiles, 192-row ones included). Seed 1's
  // 6 x 6 layout (core/block_layout.hpp) keeps 010101 / 001100 / 001010 / 110000 / 000000 / 010100: row 4
  // is empty and row 0's one block lies above the causal diagonal, so both get O = 0, LSE = -inf.
  AttentionProblem sparse = base(4, 2, 2000, 2000, 128, true);
  sparse.sparse_block = 384;
  sparse.sparse_density = 0.4f;
  sparse.sparse_seed = 1;
  v.push_back({"BlockSparseCausal", sparse});
  // Not causal, more keys than queries, a window (seed 1: 01000 / 00010 / 00000 / 01011).
  AttentionProblem sparse_window = base(4, 4, 1500, 1700, 64, false, DType::f16);
  sparse_window.window_left = 500;
  sparse_window.window_right = 200;
  sparse_window.sparse_block = 384;
  sparse_window.sparse_density = 0.3f;
  sparse_window.sparse_seed = 1;
  v.push_back({"BlockSparseWindow", sparse_window});
  // GQA + causal + window + softcap + bshd + block-sparse (seed 13: 1010 / 1011 / 0000).
  AttentionProblem sparse_all = base(8, 2, 900, 1400, 128, true, DType::f16);
  sparse_all.window_left = 600;
  sparse_all.softcap = 20;
  sparse_all.layout = Layout::bshd;
  sparse_all.sparse_block = 384;
  sparse_all.sparse_density = 0.5f;
  sparse_all.sparse_seed = 13;
  v.push_back({"BlockSparseEverything", sparse_all});
  // N = 16384 at 25% density (blocks of 384), against the GPU reference.
  AttentionProblem sparse_long = base(4, 4, 16384, 16384, 128, false);
  sparse_long.batch = 1;
  sparse_long.sparse_block = 384;
  sparse_long.sparse_density = 0.25f;
  sparse_long.sparse_seed = 20261208;
  v.push_back({"BlockSparseLongGpuReference", sparse_long});
  return v;
}

class VariantsGpu : public testing::TestWithParam<VariantCase> {
 public:
  static void SetUpTestSuite() {
    if (!gpu::gpu_available()) return;
    std::vector<run::Instance> all;  // compiled once, in parallel, before the first context exists
    for (const VariantCase& c : cases()) {
      for (const ParamValues& v : configs()) all.push_back(run::Instance::make(fa2(), v, c.problem));
      if (hopper_arch())
        for (const ParamValues& v : hopper_configs(c.problem))
          all.push_back(run::Instance::make(hopper(), v, c.problem));
    }
    flashtune::kernel_test::compile_all(all, gpu::query_device(0).arch());
  }
  static run::TrialRunner& runner() {
    static run::TrialRunner r(jit::CubinCache::default_dir());
    return r;
  }
  // Each configuration of `t` on p, verified against the reference; stops at the first fatal failure.
  void verify_each(const KernelTemplate& t, const std::vector<ParamValues>& values,
                   const AttentionProblem& p) {
    runner().set_problem(p, 20261207, /*verify=*/true);
    for (const ParamValues& v : values) {
      flashtune::kernel_test::expect_verified(runner(), run::Instance::make(t, v, p));
      if (HasFatalFailure()) return;
    }
  }
};

TEST_P(VariantsGpu, Fa2MatchesTheReference) {
  std::string why;
  if (!gpu::gpu_available(&why)) GTEST_SKIP() << "no GPU: " << why;
  const AttentionProblem& p = GetParam().problem;
  ASSERT_NE(variant_of(p).bits(), 0) << p.to_string();
  verify_each(fa2(), configs(), p);
}

TEST_P(VariantsGpu, HopperMatchesTheReference) {
  std::string why;
  if (!gpu::gpu_available(&why)) GTEST_SKIP() << "no GPU: " << why;
  if (!hopper_arch()) GTEST_SKIP() << "hopper_fwd needs sm_90a";
  const AttentionProblem& p = GetParam().problem;
  verify_each(hopper(), hopper_configs(p), p);
}

// head_dim 256 (hopper_fwd only): its default on the plain problem (ragged, causal and not, both dtypes) and
// on GQA with a window, the cap and [B, N, H, d] tensors.
TEST(HeadDim256Gpu, HopperMatchesTheReference) {
  std::string why;
  if (!gpu::gpu_available(&why)) GTEST_SKIP() << "no GPU: " << why;
  if (!hopper_arch()) GTEST_SKIP() << "hopper_fwd needs sm_90a";
  std::vector<AttentionProblem> problems = {base(3, 3, 1000, 1000, 256, false),
                                            base(3, 3, 1000, 1000, 256, true, DType::f16),
                                            base(4, 4, 17, 17, 256, true)};
  AttentionProblem all = base(8, 2, 700, 900, 256, true);
  all.window_left = 256;
  all.softcap = 30;
  all.layout = Layout::bshd;
  problems.push_back(all);
  std::vector<run::Instance> instances;
  for (const AttentionProblem& p : problems)
    instances.push_back(run::Instance::make(hopper(), hopper().default_config(variant_of(p)), p));
  flashtune::kernel_test::compile_all(instances, gpu::query_device(0).arch());
  run::TrialRunner runner(jit::CubinCache::default_dir());
  for (std::size_t i = 0; i < problems.size(); ++i) {
    SCOPED_TRACE(problems[i].to_string());
    runner.set_problem(problems[i], 20261207, /*verify=*/true);
    flashtune::kernel_test::expect_verified(runner, instances[i]);
  }
}

// head_dim 96 on both templates: the plain problem (ragged, causal and not, both dtypes), GQA with unequal
// lengths, a window, the cap and [B, N, H, d] tensors, and decode against 4096 keys; fa2_fwd's four
// configurations (split-K/V among them) and hopper_fwd's two (on sm_90a).
std::vector<AttentionProblem> d96_problems() {
  std::vector<AttentionProblem> problems = {base(3, 3, 1000, 1000, 96, false),
                                            base(3, 3, 1000, 1000, 96, true, DType::f16),
                                            base(4, 4, 17, 17, 96, true), base(8, 2, 16, 4096, 96, true)};
  AttentionProblem all = base(8, 2, 700, 900, 96, true);
  all.window_left = 256;
  all.softcap = 30;
  all.layout = Layout::bshd;
  problems.push_back(all);
  return problems;
}

TEST(HeadDim96Gpu, Fa2MatchesTheReference) {
  std::string why;
  if (!gpu::gpu_available(&why)) GTEST_SKIP() << "no GPU: " << why;
  const std::vector<AttentionProblem> problems = d96_problems();
  std::vector<run::Instance> instances;
  for (const AttentionProblem& p : problems)
    for (const ParamValues& v : configs()) instances.push_back(run::Instance::make(fa2(), v, p));
  flashtune::kernel_test::compile_all(instances, gpu::query_device(0).arch());
  run::TrialRunner runner(jit::CubinCache::default_dir());
  std::size_t i = 0;
  for (const AttentionProblem& p : problems) {
    SCOPED_TRACE(p.to_string());
    runner.set_problem(p, 20261207, /*verify=*/true);
    for (std::size_t c = 0; c < configs().size(); ++c, ++i) {
      flashtune::kernel_test::expect_verified(runner, instances[i]);
      if (HasFatalFailure()) return;
    }
  }
}

TEST(HeadDim96Gpu, HopperMatchesTheReference) {
  std::string why;
  if (!gpu::gpu_available(&why)) GTEST_SKIP() << "no GPU: " << why;
  if (!hopper_arch()) GTEST_SKIP() << "hopper_fwd needs sm_90a";
  const std::vector<AttentionProblem> problems = d96_problems();
  std::vector<std::vector<run::Instance>> instances;
  std::vector<run::Instance> all;
  for (const AttentionProblem& p : problems) {
    instances.emplace_back();
    for (const ParamValues& v : hopper_configs(p)) {
      instances.back().push_back(run::Instance::make(hopper(), v, p));
      all.push_back(instances.back().back());
    }
  }
  flashtune::kernel_test::compile_all(all, gpu::query_device(0).arch());
  run::TrialRunner runner(jit::CubinCache::default_dir());
  for (std::size_t i = 0; i < problems.size(); ++i) {
    SCOPED_TRACE(problems[i].to_string());
    runner.set_problem(problems[i], 20261207, /*verify=*/true);
    for (const run::Instance& inst : instances[i]) {
      flashtune::kernel_test::expect_verified(runner, inst);
      if (HasFatalFailure()) return;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Variants, VariantsGpu, testing::ValuesIn(cases()),
                         [](const testing::TestParamInfo<VariantCase>& i) { return i.param.name; });

}  // namespace
}  // namespace flashtune
