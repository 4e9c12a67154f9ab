// The backward pass's trial setup without a GPU (run/attention_buffers.hpp, run/reference.hpp): which buffers
// a backward problem gets and which of them are poisoned, where its O and LSE inputs and its reference come
// from and which key/value heads are checked, the forward's outputs as a kernel stores them, and the
// judgement of a kernel's gradients against the CPU reference (a correct one passes; a wrong element, a NaN,
// a missing scale, swapped heads fail, naming the gradient).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "run/attention_buffers.hpp"
#include "run/gpu_reference_bwd.hpp"
#include "run/reference.hpp"
#include "verify/cpu_reference.hpp"
#include "verify/cpu_reference_bwd.hpp"
#include "verify/half_convert.hpp"
#include "verify/random_inputs.hpp"

namespace flashtune::run {
namespace {

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

AttentionProblem gqa(int n, int nk, bool causal, DType t = DType::bf16) {
  return {.batch = 2,
          .heads = 8,
          .seqlen = n,
          .head_dim = 64,
          .dtype = t,
          .causal = causal,
          .kv_heads = 2,
          .seqlen_k = nk,
          .pass = Pass::bwd};
}

TEST(BackwardBuffers, PlanAndPoison) {
  AttentionProblem p = gqa(100, 300, true);
  p.pass = Pass::fwd;
  const BufferPlan f = buffer_plan(p);
  EXPECT_EQ(f.q, 2u * 8 * 100 * 64 * 2);
  EXPECT_EQ(f.o, f.q);
  EXPECT_EQ(f.k, 2u * 2 * 300 * 64 * 2);
  EXPECT_EQ(f.v, f.k);
  EXPECT_EQ(f.lse, 2u * 8 * 100 * 4);
  EXPECT_EQ(f.d_o + f.d_q + f.d_k + f.d_v, 0u);
  EXPECT_EQ(f.poisoned, (std::vector<std::string_view>{"O", "LSE"}));
  p.pass = Pass::bwd;
  const BufferPlan b = buffer_plan(p);
  EXPECT_EQ(b.o, f.o);  // the forward's outputs are the backward's inputs
  EXPECT_EQ(b.lse, f.lse);
  EXPECT_EQ(b.d_o, f.q);
  EXPECT_EQ(b.d_q, f.q);
  EXPECT_EQ(b.d_k, f.k);
  EXPECT_EQ(b.d_v, f.k);
  EXPECT_EQ(b.poisoned, (std::vector<std::string_view>{"dQ", "dK", "dV"}));
}

TEST(BackwardCheckPlan, CpuForSmallGroupsGpuAboveAFewHeads) {
  // 4 query heads a group of seqlen 1000 causal: 2.0 M pairs a group, two groups fit in 4 Mi.
  BackwardCheckPlan c = backward_check_plan(gqa(1000, 1000, true), 5);
  EXPECT_TRUE(c.cpu);
  EXPECT_EQ(c.kv_heads, (std::vector<int>{0, 3}));  // first and last of 2 x 2
  // Not causal: 4.0 M pairs, one group.
  c = backward_check_plan(gqa(1000, 1000, false), 5);
  EXPECT_TRUE(c.cpu);
  EXPECT_EQ(c.kv_heads, (std::vector<int>{0}));
  // Tiny: every key/value head up to 4.
  c = backward_check_plan(gqa(1, 1, false), 5);
  EXPECT_TRUE(c.cpu);
  EXPECT_EQ(c.kv_heads, (std::vector<int>{0, 1, 2, 3}));
  // seqlen 4096: the GPU reference, two key/value heads.
  c = backward_check_plan(gqa(4096, 4096, false), 5);
  EXPECT_FALSE(c.cpu);
  EXPECT_EQ(c.kv_heads, (std::vector<int>{0, 3}));
  // N 131072 causal, 8 query heads a group: 6.9e10 pairs, still one key/value head.
  AttentionProblem lc = gqa(131072, 131072, true);
  lc.batch = 1;
  lc.kv_heads = 1;
  c = backward_check_plan(lc, 5);
  EXPECT_FALSE(c.cpu);
  EXPECT_EQ(c.kv_heads, (std::vector<int>{0}));
  // Few pairs a group but a big problem (the CPU reference's tensors are whole): the GPU.
  AttentionProblem many = gqa(1024, 1024, true);
  many.batch = 64;
  many.heads = 32;
  many.kv_heads = 32;
  many.head_dim = 128;
  c = backward_check_plan(many, 5);
  EXPECT_FALSE(c.cpu);
  EXPECT_EQ(c.kv_heads.size(), 2u);
  // The draw follows the seed (first and last always).
  AttentionProblem wide = gqa(64, 64, false);
  wide.batch = 16;
  const BackwardCheckPlan a = backward_check_plan(wide, 1), b = backward_check_plan(wide, 2);
  ASSERT_EQ(a.kv_heads.size(), 4u);
  EXPECT_EQ(a.kv_heads.front(), 0);
  EXPECT_EQ(a.kv_heads.back(), 31);
  EXPECT_NE(a.kv_heads, b.kv_heads);
}

// The forward's outputs a backward kernel reads: O rounded to the dtype in the problem's layout, fp32 LSE
// (-inf and O = 0 for rows without keys), every head.
TEST(ForwardState, RoundedOAndLseOfEveryHeadInTheLayout) {
  AttentionProblem p = gqa(40, 25, true);  // offset -15: rows 0 .. 14 see no key
  p.layout = Layout::bshd;
  EXPECT_TRUE(forward_state_on_cpu(p));
  const verify::HostInputs in = verify::make_inputs(p, 3);
  const ForwardState st = cpu_forward_state(p, in);
  EXPECT_EQ(st.source, "cpu-float64");
  ASSERT_EQ(st.o.size(), static_cast<std::size_t>(p.elements()));
  ASSERT_EQ(st.lse.size(), static_cast<std::size_t>(p.rows()));
  std::vector<int> heads;
  for (int bh = 0; bh < p.batch * p.heads; ++bh) heads.push_back(bh);
  const verify::ReferenceOutput ref = verify::cpu_attention(p, in, heads);
  int empty = 0;
  for (int bh : heads)
    for (int i = 0; i < p.seqlen; ++i) {
      const std::size_t row = static_cast<std::size_t>(bh) * p.seqlen + i;
      EXPECT_EQ(st.lse[row], static_cast<float>(ref.lse[row])) << bh << " " << i;
      empty += std::isinf(st.lse[row]) ? 1 : 0;
      const auto at = static_cast<std::size_t>(p.offset(bh / p.heads, bh % p.heads, i, false));
      for (int c = 0; c < p.head_dim; ++c)
        ASSERT_EQ(st.o[at + c], verify::from_float(static_cast<float>(ref.o[row * p.head_dim + c]), p.dtype))
            << bh << " " << i << " " << c;
    }
  EXPECT_EQ(empty, 2 * 8 * 15);
  // The CPU path up to 4 Mi pairs in all.
  EXPECT_FALSE(forward_state_on_cpu(gqa(2048, 2048, false)));
  EXPECT_TRUE(forward_state_on_cpu(gqa(256, 256, false)));
}

// A kernel's gradients: every gradient of the reference's rows, rounded to the dtype (a correct kernel).
struct KernelGradients {
  std::vector<std::uint16_t> dq, dk, dv;
};

KernelGradients rounded(const GradientReference& ref, DType t) {
  auto round = [&](const std::vector<double>& x) {
    std::vector<std::uint16_t> out;
    for (double v : x) out.push_back(verify::from_float(static_cast<float>(v), t));
    return out;
  };
  return {round(ref.dq), round(ref.dk), round(ref.dv)};
}

struct Chain {
  AttentionProblem p;
  verify::HostInputs in;
  std::vector<std::uint16_t> d_o;
  ForwardState fwd;
  GradientReference ref;
};

Chain chain(const AttentionProblem& p, std::uint64_t seed) {
  Chain c{p, verify::make_inputs(p, seed), verify::make_d_o(p, seed), {}, {}};
  c.fwd = cpu_forward_state(p, c.in);
  const BackwardCheckPlan plan = backward_check_plan(p, seed);
  EXPECT_TRUE(plan.cpu);
  c.ref = cpu_gradient_reference(p, c.in, c.d_o, c.fwd, plan);
  return c;
}

TEST(JudgeGradients, ACorrectKernelPassesAndWrongOnesFailNamingTheGradient) {
  for (DType t : {DType::bf16, DType::f16}) {
    SCOPED_TRACE(to_string(t));
    AttentionProblem p = gqa(33, 47, true, t);
    p.window_left = 20;
    const Chain c = chain(p, 9);
    ASSERT_EQ(c.ref.q_heads.size(), c.ref.kv_heads.size() * 4);
    EXPECT_EQ(c.ref.dq.size(), c.ref.q_heads.size() * 33 * 64);
    EXPECT_EQ(c.ref.dk.size(), c.ref.kv_heads.size() * 47 * 64);
    const KernelGradients good = rounded(c.ref, t);
    verify::VerifyResult r = judge_gradients(c.ref, p, good.dq, good.dk, good.dv);
    EXPECT_TRUE(r.ok) << r.detail;
    EXPECT_LT(r.o.rel_l2, 3e-3);
    // One wrong element of dK of the second checked key/value head, key 5, col 7.
    KernelGradients bad = good;
    const std::size_t at = (47 + 5) * 64 + 7;
    bad.dk[at] = verify::from_float(verify::to_float(bad.dk[at], t) + 1.0f, t);
    r = judge_gradients(c.ref, p, bad.dq, bad.dk, bad.dv);
    EXPECT_FALSE(r.ok);
    const int kv = c.ref.kv_heads[1];
    EXPECT_TRUE(contains(r.detail, "dK max_abs")) << r.detail;
    EXPECT_TRUE(contains(r.detail, "at kv " + std::to_string(kv) + " (b " + std::to_string(kv / 2) +
                                       ", kv_head " + std::to_string(kv % 2) + "), key 5, col 7"))
        << r.detail;
    EXPECT_FALSE(contains(r.detail, "dQ")) << r.detail;
    // An element never written (poisoned NaN).
    bad = good;
    bad.dv[3] = verify::poison_nan(t);
    r = judge_gradients(c.ref, p, bad.dq, bad.dk, bad.dv);
    EXPECT_FALSE(r.ok);
    EXPECT_TRUE(contains(r.detail, "dV has 1 non-finite")) << r.detail;
    EXPECT_EQ(r.o.non_finite, 1);
    // dQ without the softmax scale.
    bad = good;
    for (std::uint16_t& x : bad.dq) x = verify::from_float(verify::to_float(x, t) / p.scale(), t);
    r = judge_gradients(c.ref, p, bad.dq, bad.dk, bad.dv);
    EXPECT_FALSE(r.ok);
    EXPECT_TRUE(contains(r.detail, "dQ rel_l2")) << r.detail;
    // dK and dV of the two checked key/value heads swapped.
    bad = good;
    const std::size_t head = 47 * 64;
    std::swap_ranges(bad.dk.begin(), bad.dk.begin() + head, bad.dk.begin() + head);
    r = judge_gradients(c.ref, p, bad.dq, bad.dk, bad.dv);
    EXPECT_FALSE(r.ok);
    EXPECT_TRUE(contains(r.detail, "dK rel_l2")) << r.detail;
  }
}

// seqlen 1: P = 1 and dP = D, so dQ and dK are exactly 0; a kernel's fp32 noise there passes, an error of
// 1e-3 does not.
TEST(JudgeGradients, CancelledGradientsAreJudgedOnTheFloor) {
  const AttentionProblem p = gqa(1, 1, false);
  const Chain c = chain(p, 4);
  for (double x : c.ref.dq) ASSERT_EQ(x, 0.0);
  for (double x : c.ref.dk) ASSERT_EQ(x, 0.0);
  KernelGradients k = rounded(c.ref, p.dtype);
  for (std::size_t i = 0; i < k.dq.size(); ++i) k.dq[i] = verify::from_float(i % 3 ? 2e-6f : -1e-6f, p.dtype);
  for (std::size_t i = 0; i < k.dk.size(); ++i) k.dk[i] = verify::from_float(i % 2 ? 1e-6f : -3e-6f, p.dtype);
  verify::VerifyResult r = judge_gradients(c.ref, p, k.dq, k.dk, k.dv);
  EXPECT_TRUE(r.ok) << r.detail;
  EXPECT_TRUE(std::isfinite(r.o.rel_l2));
  for (std::uint16_t& x : k.dk) x = verify::from_float(1e-3f, p.dtype);
  r = judge_gradients(c.ref, p, k.dq, k.dk, k.dv);
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(contains(r.detail, "dK")) << r.detail;
}

// The kernels read D = rowsum(dO * O) with O as uploaded (rounded): the reference is computed from that O.
TEST(JudgeGradients, TheReferenceReadsTheUploadedO) {
  const AttentionProblem p = gqa(20, 20, false);
  Chain c = chain(p, 6);
  ForwardState zero = c.fwd;
  for (std::uint16_t& x : zero.o) x = 0;
  const GradientReference other = cpu_gradient_reference(p, c.in, c.d_o, zero, backward_check_plan(p, 6));
  const KernelGradients k = rounded(other, p.dtype);
  EXPECT_FALSE(judge_gradients(c.ref, p, k.dq, k.dk, k.dv).ok);
  EXPECT_TRUE(judge_gradients(other, p, k.dq, k.dk, k.dv).ok);
}

}  // namespace
}  // namespace flashtune::run
