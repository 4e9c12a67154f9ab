// Every configuration of search_spaces/hopper_fwd.yaml that the template admits is correct on an sm_90 GPU:
// d in {64, 128} (and 96: HeadDim96MatchesTheReference), causal and not, bf16 and fp16, N in {1, 17, 1000,
// 2048} (ragged ends: TMA zero fill and the key mask), B = 2, H = 3; the persistent ones where each CTA loops
// over several tiles (B4 H8 N1100); then the default configuration and a ping-pong persistent one on the
// benchmark shapes (16384 tokens, hidden 2048, N 2048..16384). Each trial runs through run::TrialRunner with
// the template's TMA tensor maps, on NaN-poisoned outputs, against the reference (float64 CPU up to N = 1024,
// fp32 GPU above). Skipped without a GPU, and on a GPU that is not sm_90.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <thread>

#include "gpu/device_info.hpp"
#include "gpu/driver_api.hpp"
#include "instance_check.hpp"
#include "kernels/kernel_template.hpp"
#include "run/trial_runner.hpp"

namespace flashtune {
namespace {

const KernelTemplate& hopper() {
  return find_template("hopper_fwd");
}

std::vector<run::Instance> configurations(const AttentionProblem& p) {
  return flashtune::kernel_test::space_instances("hopper_fwd", p);
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
    std::vector<run::Instance> all;
    for (int d : {64, 96, 128})
      for (bool causal : {false, true})
        for (DType t : {DType::bf16, DType::f16}) {
          const AttentionProblem p{
              .batch = 1, .heads = 1, .seqlen = 1024, .head_dim = d, .dtype = t, .causal = causal};
          for (run::Instance& inst : configurations(p)) all.push_back(std::move(inst));
        }
    ASSERT_GT(all.size(), 0u) << "hopper_fwd.yaml admits no configuration";
    flashtune::kernel_test::compile_all(all, "sm_90a");
  }

  static run::TrialRunner& runner() {
    static run::TrialRunner r(jit::CubinCache::default_dir());
    return r;
  }

  // Verifies one configuration on the runner's current problem; returns its O relative L2 error.
  static double verify(const run::Instance& inst) {
    return flashtune::kernel_test::expect_verified(runner(), inst);
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
          for (const run::Instance& inst : configurations(p)) {
            worst = std::max(worst, verify(inst));
            ++trials;
            if (testing::Test::HasFatalFailure()) return;
          }
          EXPECT_GT(trials, 0) << p.to_string() << ": no configuration to verify";
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
      int trials = 0;
      for (const run::Instance& inst : configurations(p)) {
        verify(inst);
        ++trials;
        if (testing::Test::HasFatalFailure()) return;
      }
      EXPECT_GT(trials, 0) << p.to_string() << ": no configuration to verify";
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
      for (const run::Instance& inst : configurations(p)) {
        if (param_or_default(hopper(), inst.params(), "persistent") == 0) continue;
        EXPECT_EQ(inst.launches().front().grid[0], 132u);  // fewer CTAs than tiles
        worst = std::max(worst, verify(inst));
        ++trials;
        if (testing::Test::HasFatalFailure()) return;
      }
      EXPECT_GT(trials, 0);
      std::printf("%s: %d persistent configurations verified, max O rel_l2 %.2e\n", p.to_string().c_str(),
                  trials, worst);
    }
}

// head_dim 96 (32-column TMA boxes with the 64-byte swizzle, wgmma layout type 2, P V with N = 96): every
// configuration of the space the template admits at d 96 on the ragged problems, causal and not, bf16 and
// fp16; with sharp logits; and the persistent ones looping over tiles (B4 H8 N1100).
TEST_F(HopperGpu, HeadDim96MatchesTheReference) {
  if (const std::string why = skip_reason(); !why.empty()) GTEST_SKIP() << why;
  std::vector<AttentionProblem> problems;
  for (bool causal : {false, true})
    for (DType t : {DType::bf16, DType::f16})
      for (int n : {1, 17, 1000, 2048})
        problems.push_back(
            {.batch = 2, .heads = 3, .seqlen = n, .head_dim = 96, .dtype = t, .causal = causal});
  for (bool causal : {false, true})
    problems.push_back({.batch = 2,
                        .heads = 3,
                        .seqlen = 1000,
                        .head_dim = 96,
                        .dtype = DType::bf16,
                        .causal = causal,
                        .softmax_scale = 1.0f});
  for (const AttentionProblem& p : problems) {
    runner().set_problem(p, 6000 + p.seqlen, /*verify=*/true);
    double worst = 0;
    int trials = 0;
    for (const run::Instance& inst : configurations(p)) {
      worst = std::max(worst, verify(inst));
      ++trials;
      if (testing::Test::HasFatalFailure()) return;
    }
    EXPECT_GT(trials, 0) << p.to_string() << ": no configuration to verify";
    std::printf("%s: %d configurations verified, max O rel_l2 %.2e\n", p.to_string().c_str(), trials, worst);
  }
  for (bool causal : {false, true}) {
    const AttentionProblem p{
        .batch = 4, .heads = 8, .seqlen = 1100, .head_dim = 96, .dtype = DType::bf16, .causal = causal};
    runner().set_problem(p, 5096, /*verify=*/true);
    int trials = 0;
    for (const run::Instance& inst : configurations(p)) {
      if (param_or_default(hopper(), inst.params(), "persistent") == 0) continue;
      EXPECT_EQ(inst.launches().front().grid[0], 132u);
      verify(inst);
      ++trials;
      if (testing::Test::HasFatalFailure()) return;
    }
    EXPECT_GT(trials, 0);
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
          const double err = verify(run::Instance::make(hopper(), v, p));
          std::printf("%s %s: O rel_l2 %.2e\n", p.to_string().c_str(), to_string(v).c_str(), err);
        }
      }
}

}  // namespace
}  // namespace flashtune
