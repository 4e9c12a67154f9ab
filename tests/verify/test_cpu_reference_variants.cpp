// The float64 reference on the attention variants (core/problem.hpp), against a brute force written from the
// definitions alone: the mask tested pair by pair, the key/value head h / group, the memory layout indexed by
// hand, the softcap applied to each score, and a row without keys giving O = 0 and LSE = -inf.
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

#include "core/block_layout.hpp"
#include "core/problem.hpp"
#include "verify/cpu_reference.hpp"
#include "verify/half_convert.hpp"
#include "verify/random_inputs.hpp"

namespace flashtune::verify {
namespace {

// Element (b, h, n, c) of a tensor of `heads` heads and `rows` rows, written out for each layout.
std::size_t index(const AttentionProblem& p, int b, int h, int n, int c, int heads, int rows) {
  const std::size_t d = static_cast<std::size_t>(p.head_dim);
  if (p.layout == Layout::bshd)
    return ((static_cast<std::size_t>(b) * rows + n) * heads + h) * d + static_cast<std::size_t>(c);
  return ((static_cast<std::size_t>(b) * heads + h) * rows + n) * d + static_cast<std::size_t>(c);
}

bool attended(const AttentionProblem& p, long i, long j) {
  const long off = static_cast<long>(p.keys()) - p.seqlen;
  if (p.causal && j > i + off) return false;
  if (p.window_left >= 0 && j < i + off - p.window_left) return false;
  if (p.window_right >= 0 && j > i + off + p.window_right) return false;
  return true;
}

struct Brute {
  std::vector<double> o, lse;
};

Brute brute_force(const AttentionProblem& p, const HostInputs& in, int bh) {
  const int b = bh / p.heads, h = bh % p.heads, kvh = h / (p.heads / p.num_kv_heads());
  const BlockLayout layout = p.block_sparse() ? block_layout(p) : BlockLayout{};
  const int n = p.seqlen, nk = p.keys(), d = p.head_dim;
  auto q = [&](int i, int c) { return double{to_float(in.q[index(p, b, h, i, c, p.heads, n)], p.dtype)}; };
  auto k = [&](int j, int c) {
    return double{to_float(in.k[index(p, b, kvh, j, c, p.num_kv_heads(), nk)], p.dtype)};
  };
  auto v = [&](int j, int c) {
    return double{to_float(in.v[index(p, b, kvh, j, c, p.num_kv_heads(), nk)], p.dtype)};
  };
  Brute out{std::vector<double>(static_cast<std::size_t>(n) * d), std::vector<double>(n)};
  for (int i = 0; i < n; ++i) {
    double total = 0;
    std::vector<double> num(d, 0.0);
    for (int j = 0; j < nk; ++j) {
      if (!attended(p, i, j)) continue;
      if (p.block_sparse() && !layout.at(i / layout.block, j / layout.block)) continue;
      double s = 0;
      for (int c = 0; c < d; ++c) s += q(i, c) * k(j, c);
      s *= p.scale();
      if (p.softcap > 0) s = p.softcap * std::tanh(s / p.softcap);
      const double w = std::exp(s);
      total += w;
      for (int c = 0; c < d; ++c) num[c] += w * v(j, c);
    }
    for (int c = 0; c < d; ++c) out.o[static_cast<std::size_t>(i) * d + c] = total > 0 ? num[c] / total : 0;
    out.lse[i] = total > 0 ? std::log(total) : -std::numeric_limits<double>::infinity();
  }
  return out;
}

class CpuReferenceVariant : public ::testing::TestWithParam<AttentionProblem> {};

TEST_P(CpuReferenceVariant, MatchesBruteForce) {
  const AttentionProblem p = GetParam();
  const HostInputs in = make_inputs(p, 17);
  ASSERT_EQ(in.k.size(), static_cast<std::size_t>(p.kv_elements()));
  std::vector<int> heads;
  for (int bh = 0; bh < p.batch * p.heads; ++bh) heads.push_back(bh);
  const ReferenceOutput ref = cpu_attention(p, in, heads);
  const std::size_t head_o = static_cast<std::size_t>(p.seqlen) * p.head_dim;
  for (std::size_t h = 0; h < heads.size(); ++h) {
    const Brute want = brute_force(p, in, heads[h]);
    for (std::size_t i = 0; i < head_o; ++i)
      ASSERT_NEAR(ref.o[h * head_o + i], want.o[i], 1e-12 * (1 + std::abs(want.o[i])))
          << p.to_string() << " head " << heads[h] << " elem " << i;
    for (int i = 0; i < p.seqlen; ++i) {
      const double got = ref.lse[h * p.seqlen + i];
      if (std::isinf(want.lse[i])) {
        EXPECT_EQ(got, want.lse[i]) << p.to_string() << " row " << i;
      } else {
        EXPECT_NEAR(got, want.lse[i], 1e-12 * (1 + std::abs(want.lse[i]))) << p.to_string() << " row " << i;
      }
    }
  }
}

AttentionProblem make(int heads, int kv_heads, int n, int nk, bool causal, int left = -1, int right = -1,
                      float softcap = 0, Layout layout = Layout::bhsd, DType t = DType::bf16) {
  return {.batch = 2,
          .heads = heads,
          .seqlen = n,
          .head_dim = 64,
          .dtype = t,
          .causal = causal,
          .kv_heads = kv_heads,
          .seqlen_k = nk,
          .window_left = left,
          .window_right = right,
          .softcap = softcap,
          .layout = layout};
}

// p block-sparse in blocks of 16 (3 x 3 layouts and so on) at this density and seed.
AttentionProblem sparse(AttentionProblem p, float density, std::uint64_t seed) {
  p.sparse_block = 16;
  p.sparse_density = density;
  p.sparse_seed = seed;
  return p;
}

INSTANTIATE_TEST_SUITE_P(
    Variants, CpuReferenceVariant,
    ::testing::Values(make(4, 2, 9, 9, false),                  // GQA
                      make(4, 1, 9, 9, true),                   // MQA, causal
                      make(2, 2, 5, 13, true),                  // fewer queries: causal bottom-right
                      make(2, 2, 13, 5, true),                  // more queries: the first 8 rows see no key
                      make(2, 2, 1, 40, true),                  // decode
                      make(2, 2, 20, 20, false, 3, 2),          // window
                      make(2, 2, 20, 20, true, 4, -1),          // causal window
                      make(2, 2, 8, 20, false, 0, 0),           // one key per row
                      make(2, 2, 20, 20, false, -1, -1, 5.0f),  // softcap
                      make(4, 2, 7, 11, true, -1, -1, 0, Layout::bshd),                  // bshd, GQA, unequal
                      make(4, 2, 16, 16, true, 5, -1, 30.0f, Layout::bshd, DType::f16),  // all together
                      sparse(make(2, 2, 40, 40, false), 0.4f,
                             5),  // block-sparse: 010 / 011 / 000, rows 32.. empty
                      sparse(make(4, 2, 40, 56, true, 20), 0.5f, 3),  // with GQA, causal, a window
                      sparse(make(2, 2, 40, 40, false, -1, -1, 5.0f, Layout::bshd, DType::f16), 1.0f, 1)));

TEST(CpuReferenceVariantFacts, RowsBeforeTheFirstKeyAreZeroWithLseMinusInfinity) {
  // 13 queries aligned bottom-right on 5 keys, causal: query i sees keys j <= i - 8, so rows 0..7 see none.
  const AttentionProblem p = make(2, 2, 13, 5, true);
  const HostInputs in = make_inputs(p, 9);
  const std::vector<int> heads = {1};
  const ReferenceOutput ref = cpu_attention(p, in, heads);
  for (int i = 0; i < 13; ++i) {
    EXPECT_EQ(std::isinf(ref.lse[i]) && ref.lse[i] < 0, i < 8) << "row " << i;
    if (i < 8) {
      for (int c = 0; c < 64; ++c) EXPECT_EQ(ref.o[static_cast<std::size_t>(i) * 64 + c], 0.0);
    }
  }
  EXPECT_DOUBLE_EQ(p.attended_pairs(), 2.0 * 2 * (1 + 2 + 3 + 4 + 5));
}

TEST(CpuReferenceVariantFacts, GroupedHeadsEqualRepeatedKeyValueHeads) {
  // GQA 4/2 on (q, k, v) equals MHA on (q, k and v with each key/value head repeated twice).
  const AttentionProblem gqa = make(4, 2, 12, 12, true);
  AttentionProblem mha = gqa;
  mha.kv_heads = 0;
  const HostInputs in = make_inputs(gqa, 3);
  HostInputs rep = in;
  const std::size_t head = static_cast<std::size_t>(12) * 64;
  rep.k.assign(static_cast<std::size_t>(mha.kv_elements()), 0);
  rep.v.assign(rep.k.size(), 0);
  for (int b = 0; b < 2; ++b)
    for (int h = 0; h < 4; ++h)
      for (std::size_t e = 0; e < head; ++e) {
        const std::size_t from = (static_cast<std::size_t>(b) * 2 + h / 2) * head + e;
        const std::size_t to = (static_cast<std::size_t>(b) * 4 + h) * head + e;
        rep.k[to] = in.k[from];
        rep.v[to] = in.v[from];
      }
  const std::vector<int> heads = {0, 3, 5, 6};
  const ReferenceOutput a = cpu_attention(gqa, in, heads), b = cpu_attention(mha, rep, heads);
  EXPECT_EQ(a.o, b.o);
  EXPECT_EQ(a.lse, b.lse);
}

TEST(CpuReferenceVariantFacts, GatherHeadsReadsTheBshdLayout) {
  const AttentionProblem p = make(3, 3, 4, 4, false, -1, -1, 0, Layout::bshd);
  const HostInputs in = make_inputs(p, 5);
  const std::vector<int> heads = {4};  // batch 1, head 1
  const std::vector<std::uint16_t> g = gather_heads<std::uint16_t>(in.q, p, heads, 64);
  ASSERT_EQ(g.size(), 4u * 64);
  for (int n = 0; n < 4; ++n)
    for (int c = 0; c < 64; c += 21) EXPECT_EQ(g[n * 64 + c], in.q[index(p, 1, 1, n, c, 3, 4)]);
}

// Variable lengths: each sequence of a packed batch (lengths 0, 1, 17, ..., their own key counts) gives what
// the fixed-length reference gives for that sequence alone, its rows copied out of the packed tensors; and
// the rows come back in cpu_attention's order (each checked head's len_q rows), also through gather_heads.
TEST(CpuReferenceVariantFacts, VarlenEqualsEachSequenceAlone) {
  AttentionProblem base{.heads = 4, .head_dim = 64, .dtype = DType::f16, .causal = true, .kv_heads = 2};
  base.window_left = 20;
  base.softcap = 10;
  const AttentionProblem p = varlen_problem(base, {17, 0, 1, 40, 33}, {30, 5, 1, 40, 7});
  validate(p);
  ASSERT_EQ(p.batch, 5);
  ASSERT_EQ(p.total_q(), 91);
  ASSERT_EQ(p.total_k(), 83);
  const HostInputs in = make_inputs(p, 23);
  std::vector<int> all;
  for (int bh = 0; bh < p.batch * p.heads; ++bh) all.push_back(bh);
  const ReferenceOutput packed = cpu_attention(p, in, all);
  ASSERT_EQ(packed.lse.size(), static_cast<std::size_t>(p.total_q() * p.heads));
  std::size_t row = 0;
  for (int b = 0; b < p.batch; ++b)
    for (int h = 0; h < p.heads; ++h) {
      const int n = p.len_q(b), nk = p.len_k(b);
      if (n == 0) continue;
      AttentionProblem one = base;
      one.batch = 1;
      one.seqlen = n;
      one.seqlen_k = nk;
      HostInputs alone;
      for (int hh = 0; hh < p.heads; ++hh)
        for (int i = 0; i < n; ++i)
          for (int c = 0; c < 64; ++c) alone.q.push_back(in.q[p.offset(b, hh, i, false) + c]);
      for (int kh = 0; kh < p.num_kv_heads(); ++kh)
        for (int j = 0; j < nk; ++j)
          for (int c = 0; c < 64; ++c) {
            alone.k.push_back(in.k[p.offset(b, kh, j, true) + c]);
            alone.v.push_back(in.v[p.offset(b, kh, j, true) + c]);
          }
      const std::vector<int> head = {h};
      const ReferenceOutput ref = cpu_attention(one, alone, head);
      SCOPED_TRACE(testing::Message() << "sequence " << b << " head " << h);
      for (int i = 0; i < n; ++i) {
        EXPECT_EQ(packed.lse[row + i], ref.lse[i]);
        for (int c = 0; c < 64; c += 7) EXPECT_EQ(packed.o[(row + i) * 64 + c], ref.o[i * 64 + c]);
      }
      row += static_cast<std::size_t>(n);
    }
  EXPECT_EQ(row, packed.lse.size());
  // gather_heads picks sequence 3, head 2's rows out of the packed O and the [heads, total_q] LSE.
  const std::vector<int> pick = {3 * 4 + 2};
  const std::vector<std::uint16_t> g = gather_heads<std::uint16_t>(in.q, p, pick, 64);
  ASSERT_EQ(g.size(), 40u * 64);
  EXPECT_EQ(g[5 * 64 + 3], in.q[p.offset(3, 2, 5, false) + 3]);
  std::vector<float> lse(static_cast<std::size_t>(p.rows()));
  for (std::size_t i = 0; i < lse.size(); ++i) lse[i] = static_cast<float>(i);
  const std::vector<float> gl = gather_heads<float>(lse, p, pick, 1);
  ASSERT_EQ(gl.size(), 40u);
  EXPECT_EQ(gl[0], static_cast<float>(2 * 91 + (17 + 0 + 1)));  // head 2's row of sequence 3's first query
}

}  // namespace
}  // namespace flashtune::verify
