// Every configuration of search_spaces/hopper_fwd.yaml that the template admits is correct on an sm_90 GPU:
// d in {64, 128}, causal and not, bf16 and fp16, N in {1, 17, 1000, 2048} (ragged ends: TMA zero fill and
// the key mask), B = 2, H = 3; the persistent ones where each CTA loops over several tiles (B4 H8 N1100);
// then the default configuration and a ping-pong persistent one on GPU.md's shapes (16384 tokens, hidden
// 2048, N 2048..16384). Each trial runs through run::TrialRunner with the template's TMA tensor maps, on
// NaN-poisoned outputs, against the reference (float64 CPU up to N = 1024, fp32 GPU above). Skipped without
// a GPU, and on a GPU that is not sm_90.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
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

const KernelTemplate& hopper() {
  return find_template("hopper_fwd");
}

std::vector<ParamValues> configurations(const AttentionProblem& p) {
  const space::SearchSpace s = space::load_search_space(space::search_space_dir() / "hopper_fwd.yaml");
  std::vector<ParamValues> out;
  for (const ParamValues& v : space::enumerate(s, p).kept)
    if (!hopper().invalid_reason(v, variant_of(p))) out.push_back(v);
  return out;
}

jit::CompileRequest request_for(const ParamValues& v, const ProblemVariant& pv) {
  return run::make_request(std::string(hopper().source_file()), hopper().name_expression(v, pv), "sm_90a");
}

// Why this machine cannot run the tests, or empty.
std::string skip_reason() {
  std::string why;
  if (!gpu::gpu_available(&why)) return "no GPU: " + why;
  const std::string arch = gpu::query_device(0).arch();
  if (auto bad = hopper().unsupported_arch(arch)) return *bad;
  return {};
}

class HopperGpu : public testing::Test {
 protected:
  // Compile every configuration of every variant once, in parallel worker processes, before the first
  // context exists.
  static void SetUpTestSuite() {
    if (!skip_reason().empty()) return;
    std::vector<jit::CompileRequest> requests;
    for (int d : {64, 128})
      for (bool causal : {false, true})
        for (DType t : {DType::bf16, DType::f16}) {
          const AttentionProblem p{
              .batch = 1, .heads = 1, .seqlen = 1024, .head_dim = d, .dtype = t, .causal = causal};
          for (const ParamValues& v : configurations(p)) requests.push_back(request_for(v, variant_of(p)));
        }
    const int jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    jit::CubinCache cache;
    jit::CompilePool pool(jobs, jit::default_worker_command());
    const auto results = pool.compile(requests, cache);
    for (std::size_t i = 0; i < results.size(); ++i)
      ASSERT_TRUE(results[i].ok) << requests[i].name_expressions.front() << "\n" << results[i].log;
  }

  static run::TrialRunner& runner() {
    static run::TrialRunner r(jit::CubinCache::default_dir());
    return r;
  }

  // Verifies one configuration on the runner's current problem; returns its O relative L2 error.
  static double verify(const ParamValues& v, const AttentionProblem& p) {
    const std::string label = fmt::format("hopper_fwd {} on {}", to_string(v), p.to_string());
    const jit::CompileRequest req = request_for(v, variant_of(p));
    const jit::CompileResult compiled = jit::compile_cached(req, jit::CubinCache());
    EXPECT_TRUE(compiled.ok) << label << "\n" << compiled.log;
    if (!compiled.ok) return 1.0;
    run::TrialSpec spec;
    spec.label = label;
    spec.kernels.push_back(
        {compiled.cache_key, compiled.lowered_names.at(req.name_expressions.front()), label});
    spec.launches = hopper().launches(v, p);
    spec.tensor_maps = hopper().tensor_maps(v, variant_of(p));
    spec.verify = true;
    spec.time = false;
    const run::TrialOutcome o = runner().run(spec);
    EXPECT_FALSE(o.context_poisoned) << label << ": " << o.detail;
    EXPECT_EQ(o.status, TrialStatus::ok) << label << ": " << o.detail;
    if (!o.check) {
      ADD_FAILURE() << label << ": not checked";
      return 1.0;
    }
    EXPECT_TRUE(o.check->ok) << label << ": " << o.check->detail;
    EXPECT_EQ(o.check->o.non_finite, 0) << label;
    return o.check->o.rel_l2;
  }
};

TEST_F(HopperGpu, EverySearchSpaceConfigurationMatchesTheReference) {
  if (const std::string why = skip_reason(); !why.empty()) GTEST_SKIP() << why;
  for (int d : {64, 128})
    for (bool causal : {false, true})
      for (DType t : {DType::bf16, DType::f16})
        for (int n : {1, 17, 1000, 2048}) {
          const AttentionProblem p{
              .batch = 2, .heads = 3, .seqlen = n, .head_dim = d, .dtype = t, .causal = causal};
          runner().set_problem(p, 3000 + n, /*verify=*/true);
          double worst = 0;
          int trials = 0;
          for (const ParamValues& v : configurations(p)) {
            worst = std::max(worst, verify(v, p));
            ++trials;
            if (testing::Test::HasFatalFailure()) return;
          }
          std::printf("%s: %d configurations verified, max O rel_l2 %.2e\n", p.to_string().c_str(), trials,
                      worst);
        }
}

// Sharp softmax: softmax_scale 1 instead of 1/sqrt(d) spreads the logits over hundreds of log2 units, so
// row maxima keep outgrowing their exponent base (by more than the 2^8 slack) tile after tile and the
// rescaling path runs, not only the vote that skips it.
TEST_F(HopperGpu, LargeLogitsMatchTheReference) {
  if (const std::string why = skip_reason(); !why.empty()) GTEST_SKIP() << why;
  for (int d : {64, 128})
    for (bool causal : {false, true}) {
      const AttentionProblem p{.batch = 2,
                               .heads = 3,
                               .seqlen = 1000,
                               .head_dim = d,
                               .dtype = DType::bf16,
                               .causal = causal,
                               .softmax_scale = 1.0f};
      runner().set_problem(p, 7000 + d, /*verify=*/true);
      for (const ParamValues& v : configurations(p)) {
        verify(v, p);
        if (testing::Test::HasFatalFailure()) return;
      }
    }
}

// A persistent CTA runs several query tiles (B4 H8 N1100: 288 tiles of 128 rows, 192 of 192, over 132
// CTAs): the ring's phases, the Q tile's refill after the epilogue and the ping-pong turns carry from tile
// to tile, and the last tile of a head is ragged.
TEST_F(HopperGpu, PersistentConfigurationsLoopOverTiles) {
  if (const std::string why = skip_reason(); !why.empty()) GTEST_SKIP() << why;
  for (int d : {64, 128})
    for (bool causal : {false, true}) {
      const AttentionProblem p{
          .batch = 4, .heads = 8, .seqlen = 1100, .head_dim = d, .dtype = DType::bf16, .causal = causal};
      runner().set_problem(p, 5000 + d, /*verify=*/true);
      double worst = 0;
      int trials = 0;
      for (const ParamValues& v : configurations(p)) {
        if (param_or_default(hopper(), v, "persistent") == 0) continue;
        EXPECT_EQ(hopper().launch(v, p).grid[0], 132u);  // fewer CTAs than tiles
        worst = std::max(worst, verify(v, p));
        ++trials;
        if (testing::Test::HasFatalFailure()) return;
      }
      EXPECT_GT(trials, 0);
      std::printf("%s: %d persistent configurations verified, max O rel_l2 %.2e\n", p.to_string().c_str(),
                  trials, worst);
    }
}

TEST_F(HopperGpu, DefaultConfigurationMatchesOnGpuMdShapes) {
  if (const std::string why = skip_reason(); !why.empty()) GTEST_SKIP() << why;
  // The template's defaults, and ping-pong on a persistent grid (many tiles per CTA on these shapes).
  const std::vector<ParamValues> configs = {
      {{"block_n", 128}, {"consumer_wgs", 2}, {"stages", 2}},
      {{"block_n", 128}, {"consumer_wgs", 2}, {"stages", 3}, {"pingpong", 1}, {"persistent", 1}}};
  for (int d : {64, 128})
    for (int n : {2048, 4096, 8192, 16384})
      for (bool causal : {false, true}) {
        const AttentionProblem p{.batch = 16384 / n,
                                 .heads = 2048 / d,
                                 .seqlen = n,
                                 .head_dim = d,
                                 .dtype = DType::bf16,
                                 .causal = causal};
        runner().set_problem(p, 4000 + n, /*verify=*/true);
        for (const ParamValues& v : configs) {
          const double err = verify(v, p);
          std::printf("%s %s: O rel_l2 %.2e\n", p.to_string().c_str(), to_string(v).c_str(), err);
        }
      }
}

}  // namespace
}  // namespace flashtune
