#pragma once
// The fp32 GPU backward reference (kernel_templates/reference/attention_reference_bwd.cuh) on a list of
// key/value heads: the forward reference (attention_reference.cuh) for O and LSE of their groups' query
// heads, then D = rowsum(dO * O), dQ, and dK, dV. The float64 CPU reference it answers to is
// verify/cpu_reference_bwd.hpp.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "run/attention_buffers.hpp"
#include "verify/cpu_reference_bwd.hpp"

namespace flashtune::run {

// Rows of the listed key/value heads in order, and of their groups' query heads (group_query_heads' order);
// each head has seqlen (seqlen_k) rows, or, varlen, its sequence's len_q (len_k).
struct GpuBackwardOutput {
  std::vector<float> dq;     // [query heads, rows, head_dim]
  std::vector<float> lse;    // [query heads, rows]
  std::vector<float> delta;  // [query heads, rows]: D = rowsum(dO * O)
  std::vector<float> dk;     // [key/value heads, key rows, head_dim]
  std::vector<float> dv;
};

// The query heads (flat batch * heads + head) of the groups of `kv_heads` (flat batch * kv_heads + kv_head):
// for each key/value head in order, heads kv_head * group .. kv_head * group + group - 1 of its batch entry.
std::vector<int> group_query_heads(const AttentionProblem& p, std::span<const int> kv_heads);

// Runs the references on the inputs already in `buffers` and d_o (dO: p.elements() dtype values laid out like
// Q and O). Memory: the inputs, dO, and fp32 O, LSE, D, dQ, dK and dV of the listed heads; no scores.
// With `fwd` (O rounded to the dtype and the fp32 LSE, as a backward kernel reads them) the forward
// reference is not run: the listed heads' O and LSE are taken from it, so that P = exp(s - lse) and
// D = rowsum(dO * O) are those of the given forward outputs (verify::ForwardOutputs). Throws
// Error(invalid_argument) for fwd sizes that do not match the problem.
GpuBackwardOutput gpu_reference_backward(const AttentionBuffers& buffers, std::span<const std::uint16_t> d_o,
                                         std::span<const int> kv_heads, const std::string& arch,
                                         const verify::ForwardOutputs* fwd = nullptr);

}  // namespace flashtune::run
