// The fp32 GPU backward reference (run/gpu_reference_bwd.hpp) against the float64 CPU one
// (verify/cpu_reference_bwd.hpp) on the variants of the CPU reference's tests (GQA, MQA, rows without keys,
// windows, softcap, bshd, varlen with sequences of 0 and 1 queries, block-sparse with an empty layout row),
// plus bf16 at head_dim 128 over several chunks of keys and queries, and head_dim 256 (16-row chunks).
//
// Tolerance: the GPU reference sums in fp32 (2^-24 relative per operation) over at most a few hundred terms
// of size <= ~10 (|dP| ~ sqrt(head_dim), |D| alike, and dP - D cancels), so its gradients err by ~1e-5 of
// the largest; each tensor's largest error must stay under 1e-4 * (1 + its largest element), lse under
// 1e-5 * (1 + |lse|), and a row without keys must have lse = -inf exactly. A mask off by one key or a
// missed group head errs by 1e-1 and more.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "gpu/gpu_test.hpp"
#include "run/attention_buffers.hpp"
#include "run/gpu_reference_bwd.hpp"
#include "verify/bwd_test_problems.hpp"
#include "verify/cpu_reference.hpp"
#include "verify/cpu_reference_bwd.hpp"
#include "verify/random_inputs.hpp"

namespace flashtune {
namespace {

using verify::testing::BwdCase;

std::vector<BwdCase> gpu_cases() {
  std::vector<BwdCase> v = verify::testing::bwd_cases();
  AttentionProblem wide = verify::testing::bwd_problem(4, 2, 70, 90, true, 40);
  wide.dtype = DType::bf16;
  wide.head_dim = 128;
  v.push_back({"Bf16D128Chunks", wide});
  AttentionProblem d256 = verify::testing::bwd_problem(2, 1, 33, 33, false, -1, -1, 5.0f, Layout::bshd);
  d256.head_dim = 256;
  v.push_back({"D256Softcap", d256});
  return v;
}

// x's largest error against want, under tol * (1 + want's largest magnitude).
void expect_close(const std::vector<float>& got, const std::vector<double>& want, double tol,
                  const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  double err = 0, scale = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    err = std::max(err, std::abs(got[i] - want[i]));
    scale = std::max(scale, std::abs(want[i]));
  }
  EXPECT_LE(err, tol * (1 + scale)) << what << ": largest element " << scale;
}

// The rows of the listed key/value heads of a tensor shaped like K (laid out as p's), in
// gpu_reference_backward's order.
std::vector<double> kv_rows(const std::vector<double>& x, const AttentionProblem& p,
                            const std::vector<int>& kv_heads) {
  std::vector<double> out;
  for (int bkv : kv_heads) {
    const int b = bkv / p.num_kv_heads(), h = bkv % p.num_kv_heads();
    for (int j = 0; j < p.len_k(b); ++j) {
      const auto at = x.begin() + p.offset(b, h, j, true);
      out.insert(out.end(), at, at + p.head_dim);
    }
  }
  return out;
}

class GpuReferenceBwd : public gpu::testing::GpuTest, public ::testing::WithParamInterface<BwdCase> {};

TEST_P(GpuReferenceBwd, MatchesTheCpuReference) {
  const AttentionProblem p = GetParam().problem;
  const verify::HostInputs in = verify::make_inputs(p, 31);
  std::vector<std::uint16_t> d_o(static_cast<std::size_t>(p.elements()));
  verify::fill_normal(d_o, p.dtype, 32);
  const std::vector<int> kv_heads = verify::all_kv_heads(p);
  const verify::BackwardReference cpu = verify::cpu_attention_backward(p, in, d_o, kv_heads);

  run::AttentionBuffers buffers(p);
  buffers.upload(in);
  const run::GpuBackwardOutput gpu = run::gpu_reference_backward(buffers, d_o, kv_heads, device().arch());

  const std::vector<int> q_heads = run::group_query_heads(p, kv_heads);
  const std::vector<double> lse = verify::gather_heads<double>(cpu.lse, p, q_heads, 1);
  ASSERT_EQ(gpu.lse.size(), lse.size());
  for (std::size_t r = 0; r < lse.size(); ++r) {
    if (std::isinf(lse[r]))
      EXPECT_EQ(gpu.lse[r], -INFINITY) << "row " << r;
    else
      EXPECT_NEAR(gpu.lse[r], lse[r], 1e-5 * (1 + std::abs(lse[r]))) << "row " << r;
  }
  expect_close(gpu.delta, verify::gather_heads<double>(cpu.delta, p, q_heads, 1), 1e-4, "delta");
  expect_close(gpu.dq, verify::gather_heads<double>(cpu.dq, p, q_heads, p.head_dim), 1e-4, "dq");
  expect_close(gpu.dk, kv_rows(cpu.dk, p, kv_heads), 1e-4, "dk");
  expect_close(gpu.dv, kv_rows(cpu.dv, p, kv_heads), 1e-4, "dv");
}

class GpuReferenceBwdSubset : public gpu::testing::GpuTest {};

// The last key/value head alone gives the rows the run over all of them gives it (the dkdv kernel finds its
// group's lse and D by the head's place in the list).
TEST_F(GpuReferenceBwdSubset, OneKeyValueHeadEqualsItsRowsOfAll) {
  const AttentionProblem p = verify::testing::bwd_case("BshdGqaUnequal");
  const verify::HostInputs in = verify::make_inputs(p, 5);
  std::vector<std::uint16_t> d_o(static_cast<std::size_t>(p.elements()));
  verify::fill_normal(d_o, p.dtype, 6);
  run::AttentionBuffers buffers(p);
  buffers.upload(in);
  const std::vector<int> all_heads = verify::all_kv_heads(p);
  const std::vector<int> last = {all_heads.back()};
  const run::GpuBackwardOutput all = run::gpu_reference_backward(buffers, d_o, all_heads, device().arch());
  const run::GpuBackwardOutput one = run::gpu_reference_backward(buffers, d_o, last, device().arch());
  const std::size_t kv_rows = one.dk.size(), q_rows = one.dq.size();
  ASSERT_EQ(kv_rows, static_cast<std::size_t>(p.keys()) * p.head_dim);
  ASSERT_EQ(q_rows, static_cast<std::size_t>(p.group()) * p.seqlen * p.head_dim);
  EXPECT_TRUE(std::equal(one.dk.begin(), one.dk.end(), all.dk.end() - static_cast<std::ptrdiff_t>(kv_rows)));
  EXPECT_TRUE(std::equal(one.dv.begin(), one.dv.end(), all.dv.end() - static_cast<std::ptrdiff_t>(kv_rows)));
  EXPECT_TRUE(std::equal(one.dq.begin(), one.dq.end(), all.dq.end() - static_cast<std::ptrdiff_t>(q_rows)));
}

INSTANTIATE_TEST_SUITE_P(Variants, GpuReferenceBwd, ::testing::ValuesIn(gpu_cases()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace flashtune
