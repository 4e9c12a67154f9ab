// runtime::Runtime on the GPU: each template it can choose, through the launch path a program uses (the
// caller's context and stream, its own pointers), against the session's reference: ragged and causal
// problems, both dtypes; the variants and block-sparse layouts; the LSE optional; a problem's plan reused
// with other pointers and again with the same ones.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <thread>
#include <vector>

#include "core/block_layout.hpp"
#include "core/error.hpp"
#include "gpu/context.hpp"
#include "gpu/device_info.hpp"
#include "gpu/driver_api.hpp"
#include "gpu/stream.hpp"
#include "kernels/kernel_template.hpp"
#include "run/problem_session.hpp"
#include "runtime/best_config.hpp"
#include "runtime/bundle_writer.hpp"
#include "runtime/runtime.hpp"

namespace flashtune::runtime {
namespace {

std::string skip_reason() {
  std::string why;
  if (!gpu::gpu_available(&why)) return "no GPU: " + why;
  return {};
}

Strides strides_of(const TensorStrides& s) {
  return {s.batch, s.head, s.row, 1};
}

// The call a program makes for the session's buffers: K and V of kv_heads x seqlen_k, every tensor with its
// strides (the session lays bshd problems out as [B, N, H, d]), the window and the cap.
AttentionCall call_of(const AttentionProblem& p, const AttentionParams& params, bool with_lse) {
  AttentionCall c;
  c.q = {params.q, {p.batch, p.heads, p.seqlen, p.head_dim}, strides_of(params.q_stride)};
  c.k = {params.k, {p.batch, p.num_kv_heads(), p.keys(), p.head_dim}, strides_of(params.k_stride)};
  c.v = {params.v, {p.batch, p.num_kv_heads(), p.keys(), p.head_dim}, strides_of(params.v_stride)};
  c.o = params.o;
  c.o_strides = strides_of(params.o_stride);
  c.lse = with_lse ? params.lse : nullptr;
  c.dtype = p.dtype;
  c.causal = p.causal;
  c.scale = p.softmax_scale;
  c.window_left = p.window_left;
  c.window_right = p.window_right;
  c.softcap = p.softcap;
  if (p.block_sparse())  // the session's lists of its drawn layout (run/attention_buffers.hpp)
    c.block_sparse = BlockSparseArgs{.counts = params.sparse_counts,
                                     .cols = params.sparse_cols,
                                     .block = p.sparse_block,
                                     .rows = (p.seqlen + p.sparse_block - 1) / p.sparse_block,
                                     .cols_per_row = params.sparse_cols_per_row,
                                     .density = p.sparse_density};
  return c;
}

class RuntimeGpu : public testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (const std::string why = skip_reason(); !why.empty()) GTEST_SKIP() << why;
    context_.emplace(0);
    arch_ = gpu::query_device(0).arch();
    if (auto bad = find_template(GetParam()).unsupported_arch(arch_)) GTEST_SKIP() << *bad;
  }
  std::optional<gpu::Context> context_;
  std::string arch_;
};

TEST_P(RuntimeGpu, MatchesTheReferenceOnRaggedAndCausalProblems) {
  Runtime rt({.use_store = false, .templates = {GetParam()}});
  gpu::Stream stream;
  int checked = 0;
  for (int d : {64, 128})
    for (bool causal : {false, true})
      for (DType t : {DType::bf16, DType::f16})
        for (int n : {1, 17, 1000}) {
          const AttentionProblem p{
              .batch = 2, .heads = 3, .seqlen = n, .head_dim = d, .dtype = t, .causal = causal};
          run::ProblemSession s(p, 20261207, /*verify=*/true, arch_);
          s.poison();
          rt.attention(call_of(p, s.params(), true), stream.native());
          stream.synchronize();
          const verify::VerifyResult r = *s.check();
          EXPECT_TRUE(r.ok) << GetParam() << " " << p.to_string() << ": " << r.detail;
          ++checked;
        }
  EXPECT_EQ(checked, 24);
  const Selected ch = rt.choice({.batch = 2, .heads = 3, .seqlen = 1000, .head_dim = 128});
  EXPECT_EQ(ch.template_id, GetParam());
  EXPECT_EQ(ch.source, "default");
  EXPECT_EQ(ch.params,
            find_template(GetParam())
                .default_config(variant_of({.batch = 2, .heads = 3, .seqlen = 1000, .head_dim = 128})));
}

// The variants through the program's path: grouped heads, decode against many keys, a [B, N, H, d] view with
// a window and a cap; the problem problem_of makes is the session's, and the output matches the reference.
TEST_P(RuntimeGpu, RunsTheVariants) {
  Runtime rt({.use_store = false, .templates = {GetParam()}});
  std::vector<AttentionProblem> problems;
  problems.push_back(
      {.batch = 2, .heads = 8, .seqlen = 1000, .head_dim = 128, .causal = true, .kv_heads = 2});
  problems.push_back({.batch = 4,
                      .heads = 8,
                      .seqlen = 1,
                      .head_dim = 128,
                      .causal = true,
                      .kv_heads = 1,
                      .seqlen_k = 5000});
  AttentionProblem view{.batch = 2,
                        .heads = 4,
                        .seqlen = 600,
                        .head_dim = 64,
                        .dtype = DType::f16,
                        .causal = true,
                        .kv_heads = 2,
                        .seqlen_k = 900};
  view.window_left = 200;
  view.softcap = 30;
  view.layout = Layout::bshd;
  problems.push_back(view);
  for (const AttentionProblem& p : problems) {
    run::ProblemSession s(p, 20261207, /*verify=*/true, arch_);
    s.poison();
    const AttentionCall c = call_of(p, s.params(), true);
    EXPECT_TRUE(same_problem(problem_of(c), p)) << problem_of(c).to_string() << " vs " << p.to_string();
    rt.attention(c, nullptr);
    gpu::Context::synchronize();
    const verify::VerifyResult r = *s.check();
    EXPECT_TRUE(r.ok) << GetParam() << " " << p.to_string() << ": " << r.detail;
  }
}

// Block-sparse layouts through the program's path: the session's drawn layout (one with an empty row: O = 0,
// LSE = -inf there) passed as the call's lists, causal or not, with other key lengths, grouped heads and a
// window; the problem problem_of makes is the session's but for the seed (the call's layout is its own).
TEST_P(RuntimeGpu, RunsBlockSparseLayouts) {
  Runtime rt({.use_store = false, .templates = {GetParam()}});
  AttentionProblem causal{.batch = 2, .heads = 3, .seqlen = 1000, .head_dim = 128, .causal = true};
  causal.sparse_block = 128;
  causal.sparse_density = 0.3f;
  // The first seed whose layout leaves a row empty.
  for (causal.sparse_seed = 1;; ++causal.sparse_seed) {
    const BlockLayout l = block_layout(causal);
    bool empty = false;
    for (int r = 0; r < l.rows; ++r) {
      int kept = 0;
      for (int c = 0; c <= r; ++c) kept += l.at(r, c) ? 1 : 0;  // causal: blocks past the diagonal are moot
      empty = empty || kept == 0;
    }
    if (empty) break;
  }
  // Block 384: a multiple of every default tile at d64 (the dense defaults' 192 x 128 too).
  AttentionProblem cross{.batch = 1, .heads = 4, .seqlen = 777, .head_dim = 64, .seqlen_k = 1500};
  cross.sparse_block = 384;
  cross.sparse_density = 0.5f;
  cross.sparse_seed = 20261208;
  AttentionProblem gqa{.batch = 2,
                       .heads = 8,
                       .seqlen = 1000,
                       .head_dim = 128,
                       .dtype = DType::f16,
                       .causal = true,
                       .kv_heads = 2};
  gqa.window_left = 300;
  gqa.sparse_block = 256;
  gqa.sparse_density = 0.25f;
  gqa.sparse_seed = 7;
  for (const AttentionProblem& p : {causal, cross, gqa}) {
    run::ProblemSession s(p, 20261208, /*verify=*/true, arch_);
    s.poison();
    const AttentionCall c = call_of(p, s.params(), true);
    AttentionProblem unseeded = p;
    unseeded.sparse_seed = 0;
    EXPECT_TRUE(same_problem(problem_of(c), unseeded))
        << problem_of(c).to_string() << " vs " << p.to_string();
    rt.attention(c, nullptr);
    gpu::Context::synchronize();
    const verify::VerifyResult r = *s.check();
    EXPECT_TRUE(r.ok) << GetParam() << " " << p.to_string() << ": " << r.detail;
    EXPECT_EQ(rt.choice(p).template_id, GetParam());
  }
  // A block that the template's default tiles do not divide: refused, saying why.
  AttentionProblem small = causal;
  small.sparse_block = 32;
  try {
    (void)rt.choice(small);
    ADD_FAILURE() << "a block of 32 was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("a block-sparse block of 32"), std::string::npos) << e.what();
  }
}

TEST_P(RuntimeGpu, WithoutLseAndWithAPlanReused) {
  Runtime rt({.use_store = false, .templates = {GetParam()}});
  const AttentionProblem p{.batch = 3, .heads = 5, .seqlen = 777, .head_dim = 128, .causal = true};
  // Two sets of buffers alive at once, called in turn (a, b, a): one plan, and the tensor maps it keeps from
  // the last call re-encoded whenever the pointers change (hopper_fwd), reused when they do not.
  run::ProblemSession a(p, 7, /*verify=*/true, arch_), b(p, 8, /*verify=*/true, arch_);
  for (run::ProblemSession* s : {&a, &b, &a, &a}) {
    s->poison();
    rt.attention(call_of(p, s->params(), false), nullptr);
    gpu::Context::synchronize();
    const verify::VerifyResult r = *s->check();
    // The LSE was not asked for: it stays poisoned; O must match.
    EXPECT_EQ(r.o.non_finite, 0) << r.detail;
    EXPECT_LT(r.o.rel_l2, 2e-2) << r.detail;
    EXPECT_GT(r.lse.non_finite, 0) << "the LSE was written although the call passed none";
  }
}

TEST_P(RuntimeGpu, ThreadsShareOneRuntime) {
  // Four threads, each on its own stream and buffers, two of them on the same problem: the plans are built
  // once under the lock and every result matches.
  Runtime rt({.use_store = false, .templates = {GetParam()}});
  std::vector<std::string> failures(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      try {
        context_->make_current();
        const AttentionProblem p{
            .batch = 1 + t % 2, .heads = 4, .seqlen = 300 + 100 * (t / 2), .head_dim = 64};
        run::ProblemSession s(p, 100 + t, /*verify=*/true, arch_);
        gpu::Stream stream;
        for (int round = 0; round < 3; ++round) {
          s.poison();
          rt.attention(call_of(p, s.params(), true), stream.native());
          stream.synchronize();
          if (const verify::VerifyResult r = *s.check(); !r.ok) failures[t] = p.to_string() + ": " + r.detail;
        }
      } catch (const std::exception& e) {
        failures[t] = e.what();
      }
    });
  for (std::thread& th : threads) th.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(failures[t], "") << "thread " << t;
}

TEST_P(RuntimeGpu, RefusesAGridPastItsLimit) {
  // A non-persistent configuration (both templates' defaults when causal) puts batch * heads on grid y.
  Runtime rt({.use_store = false, .templates = {GetParam()}});
  const AttentionProblem p{.batch = 65536, .heads = 1, .seqlen = 16, .head_dim = 64, .causal = true};
  try {
    (void)rt.choice(p);
    ADD_FAILURE() << "a grid y of 65536 was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("has grid y, z = 65536, 1: over 65535"), std::string::npos)
        << e.what();
  }
}

TEST_P(RuntimeGpu, OutlivesItsContext) {
  // The runtime's context goes first (the primary context's last retain); the Runtime's destructor must not
  // hand the driver the stale modules. A new context then runs a new Runtime.
  const AttentionProblem p{.batch = 1, .heads = 2, .seqlen = 100, .head_dim = 64};
  for (int round = 0; round < 2; ++round) {
    auto rt = std::make_unique<Runtime>(RuntimeOptions{.use_store = false, .templates = {GetParam()}});
    {
      run::ProblemSession s(p, 11 + round, /*verify=*/true, arch_);
      s.poison();
      rt->attention(call_of(p, s.params(), true), nullptr);
      gpu::Context::synchronize();
      const verify::VerifyResult r = *s.check();
      EXPECT_TRUE(r.ok) << "round " << round << ": " << r.detail;
    }
    context_.reset();
    rt.reset();
    context_.emplace(0);
  }
}

TEST_P(RuntimeGpu, RunsABundleWithoutSourcesStoreOrCache) {
  // A bundle written for this GPU (the template's default configuration standing in for a tuned winner),
  // then run with no kernel sources, no results store and an empty cubin cache: nothing may be compiled.
  namespace fs = std::filesystem;
  const AttentionProblem tuned{.batch = 2, .heads = 3, .seqlen = 1000, .head_dim = 64, .causal = true};
  const fs::path dir = fs::temp_directory_path() / ("flashtune-bundle-gpu-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  store::BestEntry e;
  e.key = best_key_for(tuned, gpu::query_device(0).identity(), GetParam(), 0);
  e.problem = tuned;
  e.params = find_template(GetParam()).default_config(variant_of(tuned));
  (void)write_bundle({e}, dir / "bundle");
  // The sessions' references are compiled now, before the sources go.
  std::vector<std::unique_ptr<run::ProblemSession>> sessions;
  for (int n : {1000, 3000}) {  // its bucket, and the nearest-bucket rule
    AttentionProblem p = tuned;
    p.seqlen = n;
    sessions.push_back(std::make_unique<run::ProblemSession>(p, 5, /*verify=*/true, arch_));
  }
  fs::create_directories(dir / "empty");
  ::setenv("FLASHTUNE_KERNEL_DIR", (dir / "empty").c_str(), 1);
  ::setenv("FLASHTUNE_CACHE_DIR", (dir / "empty").c_str(), 1);
  {
    Runtime rt({.db = dir / "no.db", .templates = {GetParam()}, .bundle = dir / "bundle"});
    for (const auto& s : sessions) {
      const AttentionProblem& p = s->problem();
      s->poison();
      rt.attention(call_of(p, s->params(), true), nullptr);
      gpu::Context::synchronize();
      const verify::VerifyResult r = *s->check();
      EXPECT_TRUE(r.ok) << p.to_string() << ": " << r.detail;
      const Selected sel = rt.choice(p);
      EXPECT_EQ(sel.source.rfind("bundle, tuned", 0), 0u) << sel.source;
      EXPECT_EQ(sel.params, e.params);
    }
    AttentionProblem missing = tuned;
    missing.causal = false;
    try {
      (void)rt.choice(missing);
      ADD_FAILURE() << "a problem the bundle lacks was run";
    } catch (const Error& err) {
      EXPECT_EQ(err.kind(), ErrorKind::not_found);
      EXPECT_NE(std::string(err.what()).find("has no entry for"), std::string::npos) << err.what();
    }
  }
  ::unsetenv("FLASHTUNE_KERNEL_DIR");
  ::unsetenv("FLASHTUNE_CACHE_DIR");
  EXPECT_FALSE(fs::exists(dir / "no.db"));
  EXPECT_TRUE(fs::is_empty(dir / "empty"));
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Templates, RuntimeGpu, testing::Values("fa2_fwd", "hopper_fwd"));

// ---- the backward: Runtime::attention_backward

// The backward call a program makes for a backward session's buffers: the forward's call (q, k, v, its O and
// LSE, which the session computed with the forward reference) and dO, dQ, dK, dV at their tensors' strides.
AttentionBackwardCall backward_call_of(const AttentionProblem& p, const AttentionParams& params) {
  AttentionBackwardCall b;
  b.forward = call_of(p, params, true);
  b.d_o = params.d_o;
  b.d_o_strides = strides_of(params.o_stride);
  b.d_q = params.d_q;
  b.d_q_strides = strides_of(params.q_stride);
  b.d_k = params.d_k;
  b.d_k_strides = strides_of(params.k_stride);
  b.d_v = params.d_v;
  b.d_v_strides = strides_of(params.v_stride);
  return b;
}

AttentionProblem backward(AttentionProblem p) {
  p.pass = Pass::bwd;
  return p;
}

class RuntimeBackwardGpu : public testing::Test {
 protected:
  void SetUp() override {
    if (const std::string why = skip_reason(); !why.empty()) GTEST_SKIP() << why;
    context_.emplace(0);
    arch_ = gpu::query_device(0).arch();
    if (auto bad = find_template("fa2_bwd").unsupported_arch(arch_)) GTEST_SKIP() << *bad;
  }
  // Runs the backward of p through `rt` on `stream` and checks dQ, dK, dV against the session's reference.
  void check(Runtime& rt, const AttentionProblem& p, CUstream_st* stream = nullptr, std::uint64_t seed = 9) {
    run::ProblemSession s(p, seed, /*verify=*/true, arch_);
    ASSERT_EQ(s.reference_source(), "cpu-float64") << p.to_string() << ": keep the problems small";
    const AttentionBackwardCall b = backward_call_of(p, s.params());
    EXPECT_TRUE(same_problem(problem_of(b), p)) << problem_of(b).to_string() << " vs " << p.to_string();
    for (int round = 0; round < 2; ++round) {  // the second call reuses the plan and the stream's workspace
      s.poison();
      rt.attention_backward(b, stream);
      gpu::Context::synchronize();
      const verify::VerifyResult r = *s.check();
      EXPECT_TRUE(r.ok) << p.to_string() << " round " << round << ": " << r.detail;
    }
  }
  std::optional<gpu::Context> context_;
  std::string arch_;
};

// Small problems against the float64 CPU backward reference: head_dim 64 and 128, causal or not, both dtypes,
// ragged lengths; fa2_bwd's default is the choice when nothing is tuned.
TEST_F(RuntimeBackwardGpu, MatchesTheCpuReference) {
  Runtime rt({.use_store = false});
  gpu::Stream stream;
  int checked = 0;
  for (int d : {64, 128})
    for (bool causal : {false, true})
      for (DType t : {DType::bf16, DType::f16})
        for (int n : {1, 17, 300}) {
          check(rt,
                backward({.batch = 2, .heads = 3, .seqlen = n, .head_dim = d, .dtype = t, .causal = causal}),
                stream.native());
          ++checked;
        }
  EXPECT_EQ(checked, 24);
  const AttentionProblem p = backward({.batch = 2, .heads = 3, .seqlen = 300, .head_dim = 128});
  const Selected ch = rt.choice(p);
  EXPECT_EQ(ch.template_id, "fa2_bwd");
  EXPECT_EQ(ch.source, "default");
  EXPECT_EQ(ch.params, find_template("fa2_bwd").default_config(variant_of(p)));
}

// Grouped heads (dK, dV per key/value head), more keys than queries (causal bottom-right), a window, and a
// [B, N, H, d] layout passed as strided views.
TEST_F(RuntimeBackwardGpu, RunsTheVariants) {
  Runtime rt({.use_store = false, .backward_templates = {"fa2_bwd"}});
  AttentionProblem gqa =
      backward({.batch = 2, .heads = 8, .seqlen = 200, .head_dim = 128, .causal = true, .kv_heads = 2});
  AttentionProblem cross = backward({.batch = 1,
                                     .heads = 4,
                                     .seqlen = 100,
                                     .head_dim = 64,
                                     .dtype = DType::f16,
                                     .causal = true,
                                     .kv_heads = 1,
                                     .seqlen_k = 700});
  AttentionProblem view = backward({.batch = 2,
                                    .heads = 4,
                                    .seqlen = 300,
                                    .head_dim = 64,
                                    .dtype = DType::f16,
                                    .causal = true,
                                    .kv_heads = 2,
                                    .seqlen_k = 450});
  view.window_left = 100;
  view.window_right = 20;
  view.layout = Layout::bshd;
  for (const AttentionProblem& p : {gqa, cross, view}) check(rt, p);
}

// What fa2_bwd does not compute is refused before anything is launched, saying what.
TEST_F(RuntimeBackwardGpu, RefusesWhatNoBackwardTemplateComputes) {
  Runtime rt({.use_store = false});
  AttentionProblem softcap = backward({.batch = 1, .heads = 2, .seqlen = 64, .head_dim = 64});
  softcap.softcap = 30;
  AttentionProblem d96 = backward({.batch = 1, .heads = 2, .seqlen = 64, .head_dim = 96});
  for (const auto& [p, why] : {std::pair{softcap, "fa2_bwd does not support softcap (30)"},
                               std::pair{d96, "fa2_bwd does not support head_dim 96"}}) {
    try {
      (void)rt.choice(p);
      ADD_FAILURE() << p.to_string() << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
      EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace flashtune::runtime
