// Facts of the float64 backward reference besides its gradients (test_cpu_reference_bwd.cpp): grouped heads
// equal the sum over repeated heads, D and LSE are the forward's, rows without keys and keys without rows
// give zeros, a subset of key/value heads, the thread count, and argument errors.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <set>
#include <vector>

#include <gtest/gtest.h>

#include "bwd_test_problems.hpp"
#include "core/error.hpp"
#include "core/problem.hpp"
#include "verify/cpu_reference.hpp"
#include "verify/cpu_reference_bwd.hpp"
#include "verify/half_convert.hpp"
#include "verify/random_inputs.hpp"

namespace flashtune::verify {
namespace {

using testing::bwd_problem;

std::vector<std::uint16_t> random_d_o(const AttentionProblem& p, std::uint64_t seed) {
  std::vector<std::uint16_t> d_o(static_cast<std::size_t>(p.elements()));
  fill_normal(d_o, p.dtype, seed);
  return d_o;
}

// Whether |a - b| <= 1e-13 (1 + |b|) for every element.
void expect_close(const std::vector<double>& a, const std::vector<double>& b, const char* what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (std::size_t i = 0; i < a.size(); ++i)
    ASSERT_NEAR(a[i], b[i], 1e-13 * (1 + std::abs(b[i]))) << what << " " << i;
}

TEST(CpuBackwardFacts, GroupedHeadsEqualTheSumOverRepeatedHeads) {
  // GQA 6/2 on (q, k, v): dQ equals MHA's on (q, k and v with each key/value head repeated 3 times), and
  // dK, dV of key/value head h equal the sum of MHA's over heads 3h .. 3h + 2.
  const AttentionProblem gqa = bwd_problem(6, 2, 11, 14, true, 6);
  AttentionProblem mha = gqa;
  mha.kv_heads = 0;
  const HostInputs in = make_inputs(gqa, 3);
  HostInputs rep = in;
  const std::size_t head = static_cast<std::size_t>(14) * 64;
  rep.k.assign(static_cast<std::size_t>(mha.kv_elements()), 0);
  rep.v.assign(rep.k.size(), 0);
  for (int b = 0; b < 2; ++b)
    for (int h = 0; h < 6; ++h)
      for (std::size_t e = 0; e < head; ++e) {
        rep.k[(static_cast<std::size_t>(b) * 6 + h) * head + e] =
            in.k[(static_cast<std::size_t>(b) * 2 + h / 3) * head + e];
        rep.v[(static_cast<std::size_t>(b) * 6 + h) * head + e] =
            in.v[(static_cast<std::size_t>(b) * 2 + h / 3) * head + e];
      }
  const std::vector<std::uint16_t> d_o = random_d_o(gqa, 5);
  const BackwardReference a = cpu_attention_backward(gqa, in, d_o, all_kv_heads(gqa));
  const BackwardReference m = cpu_attention_backward(mha, rep, d_o, all_kv_heads(mha));
  expect_close(a.dq, m.dq, "dq");
  expect_close(a.lse, m.lse, "lse");
  expect_close(a.delta, m.delta, "delta");
  std::vector<double> dk(a.dk.size(), 0.0), dv(a.dv.size(), 0.0);
  for (int b = 0; b < 2; ++b)
    for (int h = 0; h < 6; ++h)
      for (std::size_t e = 0; e < head; ++e) {
        dk[(static_cast<std::size_t>(b) * 2 + h / 3) * head + e] +=
            m.dk[(static_cast<std::size_t>(b) * 6 + h) * head + e];
        dv[(static_cast<std::size_t>(b) * 2 + h / 3) * head + e] +=
            m.dv[(static_cast<std::size_t>(b) * 6 + h) * head + e];
      }
  expect_close(a.dk, dk, "dk");
  expect_close(a.dv, dv, "dv");
}

// D = rowsum(dO * O) and LSE against the forward reference, on every variant; rows without keys: lse = -inf,
// D = 0 and dq = 0.
TEST(CpuBackwardFacts, DeltaAndLseAreTheForwardsOnEveryVariant) {
  for (const testing::BwdCase& c : testing::bwd_cases()) {
    SCOPED_TRACE(c.name);
    const AttentionProblem& p = c.problem;
    const HostInputs in = make_inputs(p, 11);
    const std::vector<std::uint16_t> d_o = random_d_o(p, 12);
    const BackwardReference bwd = cpu_attention_backward(p, in, d_o, all_kv_heads(p));
    std::vector<int> heads;
    for (int bh = 0; bh < p.batch * p.heads; ++bh) heads.push_back(bh);
    const ReferenceOutput fwd = cpu_attention(p, in, heads);
    const std::vector<std::uint16_t> d_o_rows = gather_heads<std::uint16_t>(d_o, p, heads, p.head_dim);
    const std::vector<double> lse = gather_heads<double>(bwd.lse, p, heads, 1);
    const std::vector<double> delta = gather_heads<double>(bwd.delta, p, heads, 1);
    const std::vector<double> dq = gather_heads<double>(bwd.dq, p, heads, p.head_dim);
    ASSERT_EQ(lse.size(), fwd.lse.size());
    int empty = 0;
    for (std::size_t r = 0; r < lse.size(); ++r) {
      double want = 0;
      for (int c2 = 0; c2 < p.head_dim; ++c2)
        want += to_float(d_o_rows[r * p.head_dim + c2], p.dtype) * fwd.o[r * p.head_dim + c2];
      EXPECT_NEAR(delta[r], want, 1e-13 * (1 + std::abs(want))) << "row " << r;
      if (std::isinf(fwd.lse[r])) {
        ++empty;
        EXPECT_EQ(lse[r], fwd.lse[r]) << "row " << r;
        EXPECT_EQ(delta[r], 0.0) << "row " << r;
        for (int c2 = 0; c2 < p.head_dim; ++c2) EXPECT_EQ(dq[r * p.head_dim + c2], 0.0) << "row " << r;
      } else {
        EXPECT_NEAR(lse[r], fwd.lse[r], 1e-14 * (1 + std::abs(fwd.lse[r]))) << "row " << r;
      }
    }
    if (c.name == "MoreQueriesThanKeys") EXPECT_EQ(empty, 2 * 2 * 8);
    if (c.name == "BlockSparse") EXPECT_EQ(empty, 2 * 2 * 8);  // layout row 2: rows 32 .. 39
    if (c.name == "Varlen") EXPECT_EQ(empty, 4 * 2);           // sequence 0: rows 0, 1 of each head
  }
}

// Given the forward's outputs (ForwardOutputs: O rounded to the dtype, fp32 LSE, as a backward kernel reads
// them), the reference uses exactly those: lse is the given one, D = dO . (the given O); with the rounded
// forward outputs the gradients stay within the rounding's effect of the exact ones, and a different O moves
// only what depends on D (dq, dk), never dv.
TEST(CpuBackwardFacts, GivenForwardOutputsAreTheOnesUsed) {
  for (const testing::BwdCase& c : testing::bwd_cases()) {
    SCOPED_TRACE(c.name);
    const AttentionProblem& p = c.problem;
    const HostInputs in = make_inputs(p, 21);
    const std::vector<std::uint16_t> d_o = random_d_o(p, 22);
    const std::vector<int> kv = all_kv_heads(p);
    const BackwardReference exact = cpu_attention_backward(p, in, d_o, kv);
    // The forward's outputs as a kernel stores them, in the kernels' layouts.
    std::vector<int> heads;
    for (int bh = 0; bh < p.batch * p.heads; ++bh) heads.push_back(bh);
    const ReferenceOutput fwd = cpu_attention(p, in, heads);
    std::vector<std::uint16_t> o(static_cast<std::size_t>(p.elements()));
    std::vector<float> lse(static_cast<std::size_t>(p.rows()));
    const std::vector<int> cu = p.cu_seqlens_q();
    std::size_t row = 0;
    for (int bh : heads) {
      const int b = bh / p.heads, h = bh % p.heads;
      for (int i = 0; i < p.len_q(b); ++i, ++row) {
        for (int e = 0; e < p.head_dim; ++e)
          o[static_cast<std::size_t>(p.offset(b, h, i, false)) + e] =
              from_float(static_cast<float>(fwd.o[row * p.head_dim + e]), p.dtype);
        const std::int64_t at =
            p.varlen() ? std::int64_t{h} * p.total_q() + cu[b] + i : std::int64_t{bh} * p.seqlen + i;
        lse[static_cast<std::size_t>(at)] = static_cast<float>(fwd.lse[row]);
      }
    }
    const BackwardReference given = cpu_attention_backward(p, in, d_o, kv, ForwardOutputs{o, lse});
    const std::vector<double> d_o_rows = [&] {
      std::vector<double> x;
      for (std::uint16_t h : gather_heads<std::uint16_t>(d_o, p, heads, p.head_dim))
        x.push_back(to_float(h, p.dtype));
      return x;
    }();
    const std::vector<std::uint16_t> o_rows = gather_heads<std::uint16_t>(o, p, heads, p.head_dim);
    const std::vector<float> lse_rows = gather_heads<float>(lse, p, heads, 1);
    const std::vector<double> used_lse = gather_heads<double>(given.lse, p, heads, 1);
    const std::vector<double> used_delta = gather_heads<double>(given.delta, p, heads, 1);
    for (std::size_t r = 0; r < lse_rows.size(); ++r) {
      EXPECT_EQ(used_lse[r], static_cast<double>(lse_rows[r])) << "row " << r;
      double want = 0;
      for (int e = 0; e < p.head_dim; ++e)
        want += d_o_rows[r * p.head_dim + e] * to_float(o_rows[r * p.head_dim + e], p.dtype);
      if (std::isinf(lse_rows[r])) want = 0;
      EXPECT_NEAR(used_delta[r], want, 1e-13 * (1 + std::abs(want))) << "row " << r;
    }
    // O rounded to fp16 moves D by ~2^-11 |dO| |O|: the gradients by well under 1e-2 of their size.
    auto expect_near_rel = [](const std::vector<double>& a, const std::vector<double>& b, double rel,
                              const char* what) {
      ASSERT_EQ(a.size(), b.size()) << what;
      double err = 0, scale = 0;
      for (std::size_t i = 0; i < a.size(); ++i) {
        err = std::max(err, std::abs(a[i] - b[i]));
        scale = std::max(scale, std::abs(b[i]));
      }
      EXPECT_LE(err, rel * (1e-3 + scale)) << what;
    };
    expect_near_rel(given.dq, exact.dq, 1e-2, "dq");
    expect_near_rel(given.dk, exact.dk, 1e-2, "dk");
    expect_near_rel(given.dv, exact.dv, 1e-6, "dv");  // no D in dv; the lse is only rounded to fp32
  }
  // Another O: D and what depends on it move, dv does not.
  const AttentionProblem p = bwd_problem(2, 1, 9, 9, false);
  const HostInputs in = make_inputs(p, 23);
  const std::vector<std::uint16_t> d_o = random_d_o(p, 24);
  const BackwardReference exact = cpu_attention_backward(p, in, d_o, all_kv_heads(p));
  std::vector<float> lse(exact.lse.begin(), exact.lse.end());
  const std::vector<std::uint16_t> zero_o(static_cast<std::size_t>(p.elements()), 0);
  const BackwardReference z =
      cpu_attention_backward(p, in, d_o, all_kv_heads(p), ForwardOutputs{zero_o, lse});
  for (double x : z.delta) EXPECT_EQ(x, 0.0);
  double moved = 0;
  for (std::size_t i = 0; i < z.dq.size(); ++i) moved = std::max(moved, std::abs(z.dq[i] - exact.dq[i]));
  EXPECT_GT(moved, 1e-2);
  for (std::size_t i = 0; i < z.dv.size(); ++i)
    EXPECT_NEAR(z.dv[i], exact.dv[i], 1e-6 * (1 + std::abs(exact.dv[i])));
  // Sizes that do not match the problem.
  EXPECT_THROW(cpu_attention_backward(p, in, d_o, all_kv_heads(p), ForwardOutputs{zero_o, {}}), Error);
}

// kv_heads_to_check: heads_to_check's rule over the key/value heads.
TEST(CpuBackwardFacts, KvHeadsToCheck) {
  const AttentionProblem p{.batch = 8, .heads = 32, .kv_heads = 4};
  EXPECT_EQ(kv_heads_to_check(p, 7, 100), all_kv_heads(p));
  const std::vector<int> h = kv_heads_to_check(p, 7, 4);
  ASSERT_EQ(h.size(), 4u);
  EXPECT_EQ(h.front(), 0);
  EXPECT_EQ(h.back(), 8 * 4 - 1);
  EXPECT_TRUE(std::is_sorted(h.begin(), h.end()));
  EXPECT_EQ(std::set<int>(h.begin(), h.end()).size(), h.size());
  EXPECT_EQ(kv_heads_to_check(p, 7, 4), h);
  EXPECT_NE(kv_heads_to_check(p, 8, 4), h);
  EXPECT_EQ(kv_heads_to_check(p, 7, 1), (std::vector<int>{0}));
  EXPECT_EQ(kv_heads_to_check(p, 7, 2), (std::vector<int>{0, 31}));
  // The same draw as heads_to_check on a problem with as many query heads.
  const AttentionProblem mha{.batch = 8, .heads = 4};
  EXPECT_EQ(kv_heads_to_check(p, 7, 4), heads_to_check(mha, 7, 4));
  EXPECT_THROW(kv_heads_to_check(p, 7, 0), Error);
}

// gather_kv_heads: the rows of the listed key/value heads of a tensor shaped like K, in order, any layout.
TEST(CpuBackwardFacts, GatherKvHeads) {
  for (Layout l : {Layout::bhsd, Layout::bshd}) {
    AttentionProblem p = bwd_problem(4, 2, 3, 5, false);
    p.layout = l;
    std::vector<int> full(static_cast<std::size_t>(p.kv_elements()));
    for (int b = 0; b < 2; ++b)
      for (int h = 0; h < 2; ++h)
        for (int j = 0; j < 5; ++j)
          for (int e = 0; e < 64; ++e)
            full[static_cast<std::size_t>(p.offset(b, h, j, true)) + e] = ((b * 2 + h) * 5 + j) * 64 + e;
    const std::vector<int> heads{3, 0};
    const std::vector<int> rows = gather_kv_heads<int>(full, p, heads);
    ASSERT_EQ(rows.size(), 2u * 5 * 64);
    for (std::size_t i = 0; i < 5 * 64; ++i) {
      EXPECT_EQ(rows[i], static_cast<int>(3 * 5 * 64 + i));
      EXPECT_EQ(rows[5 * 64 + i], static_cast<int>(i));
    }
  }
}

// Keys no query row attends (past a one-key window; a sequence of no queries) get dk = dv = 0.
TEST(CpuBackwardFacts, KeysWithoutRowsGetZeroGradients) {
  const AttentionProblem window = bwd_problem(2, 2, 8, 20, false, 1, 0);  // row i: keys i + 11, i + 12
  const BackwardReference w =
      cpu_attention_backward(window, make_inputs(window, 1), random_d_o(window, 2), all_kv_heads(window));
  for (int b = 0; b < 2; ++b)
    for (int h = 0; h < 2; ++h)
      for (int j = 0; j < 20; ++j)
        for (int c = 0; c < 64; ++c) {
          const auto at = static_cast<std::size_t>(window.offset(b, h, j, true) + c);
          EXPECT_EQ(w.dk[at] == 0.0, j < 11) << b << " " << h << " " << j;
          EXPECT_EQ(w.dv[at] == 0.0, j < 11) << b << " " << h << " " << j;
        }
  const AttentionProblem varlen = testing::bwd_case("Varlen");  // sequence 1: 0 queries, 2 keys
  ASSERT_EQ(varlen.len_q(1), 0);
  const BackwardReference v =
      cpu_attention_backward(varlen, make_inputs(varlen, 1), random_d_o(varlen, 2), all_kv_heads(varlen));
  for (int h = 0; h < 2; ++h)
    for (int j = 0; j < 2; ++j)
      for (int c = 0; c < 64; ++c) {
        EXPECT_EQ(v.dk[static_cast<std::size_t>(varlen.offset(1, h, j, true) + c)], 0.0);
        EXPECT_EQ(v.dv[static_cast<std::size_t>(varlen.offset(1, h, j, true) + c)], 0.0);
      }
}

// Listed key/value heads give what a run over all heads gives, bit for bit, at any thread count; the other
// heads' elements (and their group's query heads') are NaN.
TEST(CpuBackwardFacts, SubsetsAndThreadCountsAgree) {
  const AttentionProblem p = bwd_problem(4, 2, 37, 41, true, -1, -1, 0, Layout::bshd);
  const HostInputs in = make_inputs(p, 7);
  const std::vector<std::uint16_t> d_o = random_d_o(p, 8);
  const BackwardReference all = cpu_attention_backward(p, in, d_o, all_kv_heads(p), 1);
  const std::vector<int> one = {2};  // batch 1, key/value head 0: query heads 0 and 1
  const BackwardReference sub = cpu_attention_backward(p, in, d_o, one, 3);
  for (int h = 0; h < 4; ++h)
    for (int i = 0; i < 37; ++i) {
      const auto at = static_cast<std::size_t>(p.offset(1, h, i, false));
      if (h < 2) {
        EXPECT_EQ(sub.dq[at + 5], all.dq[at + 5]);
        EXPECT_EQ(sub.lse[(4 + h) * 37 + i], all.lse[(4 + h) * 37 + i]);
      } else {
        EXPECT_TRUE(std::isnan(sub.dq[at + 5]));
        EXPECT_TRUE(std::isnan(sub.delta[(4 + h) * 37 + i]));
      }
      EXPECT_TRUE(std::isnan(sub.dq[static_cast<std::size_t>(p.offset(0, h, i, false))]));
    }
  for (int j = 0; j < 41; ++j)
    for (int c = 0; c < 64; ++c) {
      EXPECT_EQ(sub.dk[static_cast<std::size_t>(p.offset(1, 0, j, true) + c)],
                all.dk[static_cast<std::size_t>(p.offset(1, 0, j, true) + c)]);
      EXPECT_EQ(sub.dv[static_cast<std::size_t>(p.offset(1, 0, j, true) + c)],
                all.dv[static_cast<std::size_t>(p.offset(1, 0, j, true) + c)]);
      EXPECT_TRUE(std::isnan(sub.dv[static_cast<std::size_t>(p.offset(1, 1, j, true) + c)]));
    }
  const BackwardReference many = cpu_attention_backward(p, in, d_o, all_kv_heads(p), 5);
  EXPECT_EQ(many.dq, all.dq);
  EXPECT_EQ(many.dk, all.dk);
  EXPECT_EQ(many.dv, all.dv);
}

TEST(CpuBackwardFacts, RejectsBadArguments) {
  const AttentionProblem p = bwd_problem(4, 2, 8, 8, false);
  const HostInputs in = make_inputs(p, 1);
  const std::vector<std::uint16_t> d_o = random_d_o(p, 2);
  const std::vector<int> out_of_range = {4};  // batch 2 * kv_heads 2
  EXPECT_THROW(cpu_attention_backward(p, in, d_o, out_of_range), Error);
  const std::vector<std::uint16_t> short_d_o(d_o.begin(), d_o.end() - 1);
  EXPECT_THROW(cpu_attention_backward(p, in, short_d_o, all_kv_heads(p)), Error);
  EXPECT_EQ(all_kv_heads(p), (std::vector<int>{0, 1, 2, 3}));
}

}  // namespace
}  // namespace flashtune::verify
