// Every configuration of search_spaces/standard_attn.yaml and fa1_fwd.yaml that its template admits is
// correct on the GPU: d in {64, 128}, causal and not, bf16 and fp16, N in {1, 17, 1000, 2048} (ragged ends
// and unaligned P rows included), B = 2, H = 3. Each trial runs the template's kernels in order through
// run::TrialRunner, with its workspace, on NaN-poisoned outputs, and is checked against the reference
// (float64 CPU up to N = 1024, fp32 GPU above), the thresholds of docs/verification.md.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <memory>
#include <thread>

#include "gpu/device_info.hpp"
#include "gpu/driver_api.hpp"
#include "instance_check.hpp"
#include "run/trial_runner.hpp"

namespace flashtune {
namespace {

constexpr const char* kTemplates[] = {"standard_attn", "fa1_fwd"};

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

AttentionProblem problem_of(const Case& c) {
  return AttentionProblem{.batch = 2,
                          .heads = 3,
                          .seqlen = c.seqlen,
                          .head_dim = c.head_dim,
                          .dtype = c.dtype,
                          .causal = c.causal};
}

class TemplatesGpu : public testing::TestWithParam<Case> {
 protected:
  // Compile every configuration of every case once, in parallel worker processes, into the cubin cache,
  // before the first context exists; the tests then find each in the cache.
  static void SetUpTestSuite() {
    if (!gpu::gpu_available()) return;
    std::vector<run::Instance> all;
    for (int d : {64, 128})
      for (bool causal : {false, true})
        for (DType t : {DType::bf16, DType::f16})
          for (const char* id : kTemplates)
            for (run::Instance& inst :
                 flashtune::kernel_test::space_instances(id, problem_of({d, causal, t, 1024})))
              all.push_back(std::move(inst));
    ASSERT_GT(all.size(), 0u);
    flashtune::kernel_test::compile_all(all, gpu::query_device(0).arch());
  }

  static run::TrialRunner& runner() {
    static run::TrialRunner r(jit::CubinCache::default_dir());
    return r;
  }
  static double& worst_rel_l2(DType t) {
    static std::map<DType, double> worst;
    return worst[t];
  }
};

TEST_P(TemplatesGpu, EverySearchSpaceConfigurationMatchesTheReference) {
  std::string why;
  if (!gpu::gpu_available(&why)) GTEST_SKIP() << "no GPU: " << why;
  const Case& c = GetParam();
  const AttentionProblem p = problem_of(c);
  run::TrialRunner& r = runner();
  r.set_problem(p, 2000 + c.seqlen, /*verify=*/true);
  int trials = 0;
  double worst = 0;
  for (const char* id : kTemplates) {
    int of_template = 0;
    for (const run::Instance& inst : flashtune::kernel_test::space_instances(id, p)) {
      worst = std::max(worst, flashtune::kernel_test::expect_verified(r, inst));
      ++of_template;
      if (testing::Test::HasFatalFailure()) return;
    }
    EXPECT_GT(of_template, 0) << id << " on " << p.to_string() << ": no configuration to verify";
    trials += of_template;
  }
  worst_rel_l2(c.dtype) = std::max(worst_rel_l2(c.dtype), worst);
  std::printf("%s: %d configurations verified, max O rel_l2 %.2e (max so far: bf16 %.2e, fp16 %.2e)\n",
              p.to_string().c_str(), trials, worst, worst_rel_l2(DType::bf16), worst_rel_l2(DType::f16));
}

std::vector<Case> all_cases() {
  std::vector<Case> v;
  for (int d : {64, 128})
    for (bool causal : {false, true})
      for (DType t : {DType::bf16, DType::f16})
        for (int n : {1, 17, 1000, 2048}) v.push_back({d, causal, t, n});
  return v;
}

INSTANTIATE_TEST_SUITE_P(Spaces, TemplatesGpu, testing::ValuesIn(all_cases()), case_name);

}  // namespace
}  // namespace flashtune
