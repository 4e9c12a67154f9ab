// fa2_bwd (kernel_templates/fa2_bwd.cuh) on the GPU, run as `tune` runs a trial (run::TrialRunner: the
// backward problem's dO and the forward's O and LSE uploaded once, dQ, dK and dV NaN-poisoned before every
// launch) and verified against the backward reference computed from the same O and LSE (the float64 CPU one
// for small groups, the fp32 GPU one from seqlen 4096), with the gradient tolerances of
// verify/error_metrics.hpp. Its default configuration and two others (128-row query tiles; 64-key CTAs of
// four warps), on: head_dim 64 and 128, bf16 and fp16, seqlen 1, 17, 1000 and 4096, causal and not (every
// combination), grouped heads (8 query heads on 2 key/value heads), seqlen_k != seqlen under the causal mask
// (more keys than queries, and more queries than keys: rows without keys), windows (causal and two-sided)
// and [B, N, H, d] tensors. A launch that leaves a gradient unwritten fails the check, naming it. Without a
// GPU every test skips but one, which checks that the cases are fa2_bwd instances on both references.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "gpu/device_info.hpp"
#include "gpu/driver_api.hpp"
#include "instance_check.hpp"

namespace flashtune {
namespace {

const KernelTemplate& bwd() {
  return find_template("fa2_bwd");
}

// The default (64-query tiles, 128-key CTAs of 8 warps), 128-query tiles, 64-key CTAs of 4 warps, and the
// default with the deterministic dQ pass (dq_mode 1).
std::vector<ParamValues> configs() {
  return {bwd().default_config(ProblemVariant{}),
          {{"block_m", 128}, {"block_n", 128}, {"warps", 8}},
          {{"block_m", 64}, {"block_n", 64}, {"warps", 4}},
          {{"block_m", 64}, {"block_n", 128}, {"warps", 8}, {"dq_mode", 1}}};
}

struct BwdCase {
  std::string name;
  AttentionProblem problem;
};

AttentionProblem base(int heads, int kv_heads, int n, int nk, int d, bool causal, DType t) {
  return {.batch = 2,
          .heads = heads,
          .seqlen = n,
          .head_dim = d,
          .dtype = t,
          .causal = causal,
          .kv_heads = kv_heads,
          .seqlen_k = nk,
          .pass = Pass::bwd};
}

std::vector<BwdCase> cases() {
  std::vector<BwdCase> v;
  for (int d : {64, 128})
    for (DType t : {DType::bf16, DType::f16})
      for (int n : {1, 17, 1000, 4096})
        for (bool causal : {false, true})
          v.push_back(
              {fmt::format("D{}{}N{}{}", d, t == DType::bf16 ? "Bf16" : "Fp16", n, causal ? "Causal" : ""),
               base(4, 4, n, n, d, causal, t)});
  v.push_back({"GqaCausal", base(8, 2, 1000, 1000, 128, true, DType::bf16)});
  v.push_back({"GqaFp16D64", base(8, 2, 777, 777, 64, false, DType::f16)});
  v.push_back({"GqaLongGpuReference", base(8, 2, 4096, 4096, 128, true, DType::bf16)});
  v.push_back({"MoreKeysCausal", base(4, 4, 300, 1000, 128, true, DType::bf16)});
  v.push_back({"MoreQueriesCausal", base(4, 4, 1000, 300, 64, true, DType::f16)});  // rows 0..699: no key
  v.push_back({"DecodeLikeCausal", base(8, 2, 17, 4096, 128, true, DType::bf16)});
  AttentionProblem w = base(4, 4, 2048, 2048, 128, true, DType::bf16);
  w.window_left = 256;
  w.window_right = 0;
  v.push_back({"CausalWindow", w});
  AttentionProblem lr = base(4, 4, 1000, 1000, 64, false, DType::f16);
  lr.window_left = 100;
  lr.window_right = 50;
  v.push_back({"TwoSidedWindow", lr});
  AttentionProblem bshd = base(8, 2, 777, 900, 128, true, DType::bf16);
  bshd.layout = Layout::bshd;
  bshd.window_left = 300;
  v.push_back({"BshdGqaWindowUnequal", bshd});
  return v;
}

class Fa2BwdGpu : public testing::TestWithParam<BwdCase> {
 public:
  static void SetUpTestSuite() {
    if (!gpu::gpu_available()) return;
    std::vector<run::Instance> all;  // compiled once, in parallel, before the first context exists
    for (const BwdCase& c : cases())
      for (const ParamValues& v : configs()) all.push_back(run::Instance::make(bwd(), v, c.problem));
    kernel_test::compile_all(all, gpu::query_device(0).arch());
  }
  static run::TrialRunner& runner() {
    static run::TrialRunner r(jit::CubinCache::default_dir());
    return r;
  }
};

TEST_P(Fa2BwdGpu, MatchesTheReference) {
  std::string why;
  if (!gpu::gpu_available(&why)) GTEST_SKIP() << "no GPU: " << why;
  const AttentionProblem& p = GetParam().problem;
  runner().set_problem(p, 20261208, /*verify=*/true);
  const run::BackwardCheckPlan plan = run::backward_check_plan(p, 20261208);
  EXPECT_EQ(runner().problem()->reference_source(), plan.cpu ? "cpu-float64" : "gpu-fp32");
  for (const ParamValues& v : configs()) {
    const run::Instance inst = run::Instance::make(bwd(), v, p);
    kernel_test::expect_verified(runner(), inst);
    if (HasFatalFailure()) return;
  }
}

INSTANTIATE_TEST_SUITE_P(Problems, Fa2BwdGpu, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return info.param.name; });

// Without a GPU too: every case and configuration is an fa2_bwd instance (nothing pruned), and the cases
// cover both references (the float64 CPU one for small groups, the fp32 GPU one from seqlen 4096).
TEST(Fa2BwdGpuCases, AreInstancesOnBothReferences) {
  int cpu = 0, gpu_ref = 0;
  for (const BwdCase& c : cases()) {
    for (const ParamValues& v : configs()) {
      std::string why;
      EXPECT_TRUE(run::Instance::try_make(bwd(), v, c.problem, &why)) << c.name << ": " << why;
    }
    (run::backward_check_plan(c.problem, 20261208).cpu ? cpu : gpu_ref) += 1;
  }
  EXPECT_GT(cpu, 10);
  EXPECT_GT(gpu_ref, 5);
}

// Only the first k of the three kernels: what the later ones write stays NaN, and the check names it.
TEST(Fa2BwdGpuPoison, AnUnwrittenGradientFailsTheCheck) {
  std::string why;
  if (!gpu::gpu_available(&why)) GTEST_SKIP() << "no GPU: " << why;
  const AttentionProblem p = base(8, 2, 1000, 1000, 128, true, DType::bf16);  // GqaCausal: compiled
  const run::Instance inst = run::Instance::make(bwd(), bwd().default_config(variant_of(p)), p);
  run::TrialRunner& runner = Fa2BwdGpu::runner();
  const jit::CompileResult compiled =
      jit::compile_cached(inst.compile_request(runner.device().arch()), jit::CubinCache());
  ASSERT_TRUE(compiled.ok) << compiled.log;
  runner.set_problem(p, 7, /*verify=*/true);
  for (std::size_t k : {1u, 2u}) {
    run::TrialSpec spec = inst.trial_spec(compiled, plan_sram_budget(0, run::limits_of(runner.device())));
    spec.time = false;
    spec.kernels.resize(k);
    spec.launches.resize(k);
    const run::TrialOutcome o = runner.run(spec);
    EXPECT_EQ(o.status, TrialStatus::incorrect) << o.detail;
    EXPECT_NE(o.detail.find("dQ has"), std::string::npos) << o.detail;  // the conversion never ran
    if (k == 1) EXPECT_NE(o.detail.find("dK has"), std::string::npos) << o.detail;
    if (k == 2) EXPECT_EQ(o.detail.find("dK"), std::string::npos) << o.detail;  // the main loop wrote dK, dV
  }
}

}  // namespace
}  // namespace flashtune
