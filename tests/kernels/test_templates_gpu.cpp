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
#include "jit/compile_pool.hpp"
#include "jit/cubin_cache.hpp"
#include "kernels/kernel_template.hpp"
#include "run/kernel_loader.hpp"
#include "run/trial_runner.hpp"
#include "space/enumerate.hpp"
#include "space/space_loader.hpp"

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

// The configurations of a template's search space that it admits for `p` (the space's constraints do not
// depend on the problem's size, only on the parameters).
std::vector<ParamValues> configurations(const std::string& id, const AttentionProblem& p) {
  const space::SearchSpace s = space::load_search_space(space::search_space_dir() / (id + ".yaml"));
  const KernelTemplate& t = find_template(id);
  std::vector<ParamValues> out;
  for (const ParamValues& v : space::enumerate(s, p).kept)
    if (!t.invalid_reason(v, variant_of(p))) out.push_back(v);
  return out;
}

// One request per configuration, all of its kernels in it (as a sweep builds them).
jit::CompileRequest request_for(const KernelTemplate& t, const ParamValues& v, const ProblemVariant& pv,
                                const std::string& arch) {
  const std::vector<std::string> exprs = t.name_expressions(v, pv);
  jit::CompileRequest r = run::make_request(std::string(t.source_file()), exprs.front(), arch);
  r.name_expressions = exprs;
  return r;
}

class TemplatesGpu : public testing::TestWithParam<Case> {
 protected:
  // Compile every configuration of every case once, in parallel worker processes, into the cubin cache,
  // before the first context exists; the tests then find each in the cache.
  static void SetUpTestSuite() {
    if (!gpu::gpu_available()) return;
    std::vector<jit::CompileRequest> requests;
    for (int d : {64, 128})
      for (bool causal : {false, true})
        for (DType t : {DType::bf16, DType::f16}) {
          const AttentionProblem p = problem_of({d, causal, t, 1024});
          for (const char* id : kTemplates)
            for (const ParamValues& v : configurations(id, p))
              requests.push_back(request_for(find_template(id), v, variant_of(p), arch()));
        }
    const int jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    jit::CubinCache cache;
    jit::CompilePool pool(jobs, jit::default_worker_command());
    const auto results = pool.compile(requests, cache);
    for (std::size_t i = 0; i < results.size(); ++i)
      ASSERT_TRUE(results[i].ok) << requests[i].name_expressions.front() << "\n" << results[i].log;
  }

  static std::string arch() {
    static const std::string a = gpu::query_device(0).arch();
    return a;
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
  const jit::CubinCache cache;
  int trials = 0;
  double worst = 0;
  for (const char* id : kTemplates) {
    const KernelTemplate& t = find_template(id);
    for (const ParamValues& v : configurations(id, p)) {
      const std::string label = fmt::format("{} {} on {}", id, to_string(v), p.to_string());
      const jit::CompileRequest req = request_for(t, v, variant_of(p), arch());
      const jit::CompileResult compiled = jit::compile_cached(req, cache);
      ASSERT_TRUE(compiled.ok) << label << "\n" << compiled.log;
      run::TrialSpec spec;
      spec.label = label;
      for (const std::string& expr : req.name_expressions)
        spec.kernels.push_back({compiled.cache_key, compiled.lowered_names.at(expr), label + ": " + expr});
      spec.launches = t.launches(v, p);
      spec.workspace_bytes = t.workspace_bytes(v, p);
      spec.verify = true;
      spec.time = false;
      const run::TrialOutcome o = r.run(spec);
      ASSERT_FALSE(o.context_poisoned) << label << ": " << o.detail;
      EXPECT_EQ(o.status, TrialStatus::ok) << label << ": " << o.detail;
      ASSERT_TRUE(o.check.has_value()) << label;
      EXPECT_TRUE(o.check->ok) << label << ": " << o.check->detail;
      EXPECT_EQ(o.check->o.non_finite, 0) << label;
      worst = std::max(worst, o.check->o.rel_l2);
      ++trials;
    }
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
