#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "trial/trial_protocol.hpp"

namespace flashtune::trial {
namespace {

TEST(TrialProtocol, ProblemRoundTrip) {
  AttentionProblem p{
      .batch = 3, .heads = 5, .seqlen = 777, .head_dim = 64, .dtype = DType::f16, .causal = true};
  p.softmax_scale = 0.25f;
  const AttentionProblem q = problem_from_json(nlohmann::json::parse(to_json(p).dump()));
  EXPECT_EQ(q.batch, 3);
  EXPECT_EQ(q.heads, 5);
  EXPECT_EQ(q.seqlen, 777);
  EXPECT_EQ(q.head_dim, 64);
  EXPECT_EQ(q.dtype, DType::f16);
  EXPECT_TRUE(q.causal);
  EXPECT_FLOAT_EQ(q.softmax_scale, 0.25f);
  EXPECT_TRUE(same_problem(p, q));
  // Every variant field crosses to the worker.
  p.heads = 8;
  p.kv_heads = 2;
  p.seqlen_k = 4096;
  p.window_left = 100;
  p.window_right = 0;
  p.softcap = 30.5f;
  p.layout = Layout::bshd;
  p.pass = Pass::bwd;
  const AttentionProblem v = problem_from_json(nlohmann::json::parse(to_json(p).dump()));
  EXPECT_TRUE(same_problem(p, v)) << v.to_string();
  EXPECT_EQ(v.pass, Pass::bwd);
  // A message without them (an older sender) is the plain problem.
  nlohmann::json old = to_json(q);
  for (const char* k : {"kv_heads", "seqlen_k", "window_left", "window_right", "softcap", "layout",
                        "sparse_block", "sparse_density", "sparse_seed", "pass"})
    old.erase(k);
  EXPECT_TRUE(problem_from_json(old).plain());
  // The block-sparse layout's fields cross too, a seed above 2^63 whole (the worker draws the same layout).
  AttentionProblem sparse = q;
  sparse.sparse_block = 128;
  sparse.sparse_density = 0.1f;
  sparse.sparse_seed = 0xfedcba9876543210ULL;
  const AttentionProblem s = problem_from_json(nlohmann::json::parse(to_json(sparse).dump()));
  EXPECT_TRUE(same_problem(sparse, s)) << s.to_string();
  EXPECT_EQ(s.sparse_block, 128);
  EXPECT_EQ(s.sparse_density, 0.1f);
  EXPECT_EQ(s.sparse_seed, 0xfedcba9876543210ULL);
}

TEST(TrialProtocol, SpecRoundTrip) {
  run::TrialSpec s;
  s.label = "standard block_m=64";
  s.kernels = {{"abc", "_Z3fooILi1EEvv", "scores"}, {"abc", "_Z3barILi1EEvv", "softmax"}};
  KernelLaunch l;
  l.grid[0] = 16;
  l.grid[1] = 64;
  l.threads = 256;
  l.dynamic_smem = 98304;
  s.launches = {l, KernelLaunch{}};
  s.workspace_bytes = 1ull << 33;
  s.smem_limit = 101376;
  s.carveout_percent = 43;
  s.timing.min_samples = 7;
  s.timing.race_best_ms = 1.25;
  s.timing.throttle_threshold = 0.6;
  s.timing.throttle_retries = 5;
  s.timing.throttle_recovery_s = 0.125;
  s.verify = false;
  s.tensor_maps = {{TensorMapRequest::Tensor::q, 128, 64}, {TensorMapRequest::Tensor::v, 176, 32, 64}};
  const run::TrialSpec t = spec_from_json(nlohmann::json::parse(to_json(s).dump()));
  EXPECT_EQ(t.label, "standard block_m=64");
  ASSERT_EQ(t.kernels.size(), 2u);
  EXPECT_EQ(t.kernels[0].cache_key, "abc");
  EXPECT_EQ(t.kernels[1].lowered_name, "_Z3barILi1EEvv");
  EXPECT_EQ(t.kernels[1].label, "softmax");
  ASSERT_EQ(t.launches.size(), 2u);
  EXPECT_EQ(t.launches[0].grid[1], 64u);
  EXPECT_EQ(t.launches[0].threads, 256u);
  EXPECT_EQ(t.launches[0].dynamic_smem, 98304);
  EXPECT_EQ(t.workspace_bytes, 1ull << 33);
  EXPECT_EQ(t.smem_limit, 101376);
  EXPECT_EQ(t.carveout_percent, 43);
  EXPECT_EQ(t.timing.min_samples, 7);
  EXPECT_DOUBLE_EQ(t.timing.race_best_ms, 1.25);
  EXPECT_DOUBLE_EQ(t.timing.throttle_threshold, 0.6);
  EXPECT_EQ(t.timing.throttle_retries, 5);
  EXPECT_DOUBLE_EQ(t.timing.throttle_recovery_s, 0.125);
  EXPECT_FALSE(t.verify);
  // A tensor map keeps its box and swizzle (hopper_fwd's d 96: 32 columns, 64-byte swizzle); one written
  // without a swizzle (an older worker's spec) reads as 128 bytes.
  EXPECT_EQ(t.tensor_maps, s.tensor_maps);
  nlohmann::json old = to_json(s);
  old["tensor_maps"][1].erase("swizzle_bytes");
  EXPECT_EQ(spec_from_json(old).tensor_maps[1].swizzle_bytes, 128);
}

TEST(TrialProtocol, OutcomeRoundTripKeepsSamplesAndStatus) {
  run::TrialOutcome o;
  o.status = TrialStatus::incorrect;
  o.detail = "O rel_l2 0.5 > 1e-2";
  o.blocks_per_sm = 2;
  o.check = verify::VerifyResult{false, {}, {}, "bad"};
  o.check->o.rel_l2 = 0.5;
  gpu::TimingStats t = gpu::summarize({1.0, 3.0, 2.0});
  t.stop = gpu::StopReason::raced_out;
  t.clock_fraction = 0.8125;
  t.throttle_repeats = 2;
  o.timing = t;
  const run::TrialOutcome r = outcome_from_json(nlohmann::json::parse(to_json(o).dump()));
  EXPECT_EQ(r.status, TrialStatus::incorrect);
  EXPECT_EQ(r.detail, o.detail);
  EXPECT_EQ(r.blocks_per_sm, 2);
  ASSERT_TRUE(r.check);
  EXPECT_DOUBLE_EQ(r.check->o.rel_l2, 0.5);
  ASSERT_TRUE(r.timing);
  EXPECT_DOUBLE_EQ(r.timing->median_ms, 2.0);
  EXPECT_EQ(r.timing->stop, gpu::StopReason::raced_out);
  EXPECT_EQ(r.timing->samples_ms.size(), 3u);
  EXPECT_EQ(r.timing->clock_fraction, 0.8125);
  EXPECT_EQ(r.timing->throttle_repeats, 2);
}

// A check that found inf or NaN errors (a finite LSE where the reference has -inf: max_abs inf; an output
// where the reference is all 0: rel_l2 inf) reaches the tuner as such, not as an unreadable reply.
TEST(TrialProtocol, NonFiniteErrorsRoundTrip) {
  run::TrialOutcome o;
  o.status = TrialStatus::incorrect;
  o.check = verify::VerifyResult{false, {}, {}, "LSE max_abs inf"};
  o.check->o.rel_l2 = std::numeric_limits<double>::infinity();
  o.check->o.max_abs = std::numeric_limits<double>::quiet_NaN();
  o.check->lse.max_abs = std::numeric_limits<double>::infinity();
  o.check->lse.rel_l2 = -std::numeric_limits<double>::infinity();
  o.check->lse.count = 7;
  const run::TrialOutcome r = outcome_from_json(nlohmann::json::parse(to_json(o).dump()));
  ASSERT_TRUE(r.check);
  EXPECT_EQ(r.check->o.rel_l2, std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isnan(r.check->o.max_abs));
  EXPECT_EQ(r.check->lse.max_abs, std::numeric_limits<double>::infinity());
  EXPECT_EQ(r.check->lse.rel_l2, -std::numeric_limits<double>::infinity());
  EXPECT_EQ(r.check->lse.count, 7);
  EXPECT_EQ(r.check->detail, "LSE max_abs inf");
}

TEST(TrialProtocol, AnUnknownClockFractionStaysUnknown) {
  run::TrialOutcome o;
  o.timing = gpu::summarize({1.0, 2.0});  // timed without a clock sampler (no NVML)
  const nlohmann::json j = to_json(o);
  EXPECT_FALSE(j.at("timing").contains("clock_fraction")) << j.dump();
  const run::TrialOutcome r = outcome_from_json(nlohmann::json::parse(j.dump()));
  ASSERT_TRUE(r.timing);
  EXPECT_FALSE(r.timing->clock_fraction.has_value());
  EXPECT_EQ(r.timing->throttle_repeats, 0);

  nlohmann::json null_fraction = j;  // a null (how JSON writes NaN) is unknown too
  null_fraction["timing"]["clock_fraction"] = nullptr;
  EXPECT_FALSE(outcome_from_json(null_fraction).timing->clock_fraction.has_value());
}

TEST(TrialProtocol, IdentityOfADeviceKeysEveryField) {
  gpu::DeviceInfo d;
  d.name = "GPU";
  d.cc_major = 9;
  d.sm_count = 132;
  d.driver_version = 13000;
  const GpuIdentity a = d.identity();
  d.driver_version = 13010;
  EXPECT_NE(a.key(), d.identity().key());
  gpu::DeviceInfo e;
  e.name = "GPU";
  e.cc_major = 9;
  e.sm_count = 132;
  e.driver_version = 13000;
  EXPECT_EQ(a.key(), device_from_json(to_json(e)).identity().key());
}

}  // namespace
}  // namespace flashtune::trial
