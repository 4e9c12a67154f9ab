#pragma once
// The float64 reference for the attention backward pass (FlashAttention's, with recomputation), the
// gradients of a loss L through O = attention(Q, K, V) given dO = dL/dO.
//
// Inputs as for cpu_attention (cpu_reference.hpp): the dtype-rounded Q/K/V of HostInputs and dO (a tensor
// shaped like Q and O: p.elements() dtype values in p.layout), widened exactly to double; scale is the float
// p.scale() widened. For each query row i of a query head and key j of its key/value head that the mask
// (core/problem.hpp: causal bottom-right aligned, the window, the block-sparse layout) attends:
//   x_ij  = scale * (q_i . k_j)
//   s_ij  = x_ij, or softcap * tanh(x_ij / softcap) when softcap > 0
//   lse_i = log(sum_j exp(s_ij)),  P_ij = exp(s_ij - lse_i)  (0 where masked),  o_i = sum_j P_ij v_j
//   D_i   = dO_i . o_i                                        (rowsum(dO * O))
//   dP_ij = dO_i . v_j
//   dS_ij = P_ij (dP_ij - D_i), times ds/dx = 1 - (s_ij / softcap)^2 when softcap > 0
//   dq_i  = scale * sum_j dS_ij k_j,  dk_j = scale * sum_i dS_ij q_i,  dv_j = sum_i P_ij dO_i
// where dk_j and dv_j sum over the query rows of every query head of the key/value head's group (GQA/MQA).
// A row with no attended key has lse = -inf, D = 0, dq = 0 and adds nothing to dk or dv; a key no row
// attends gets dk = dv = 0. No rounding is modelled: the reference is the exact answer to ~1e-15.
//
// Work goes by whole key/value heads (a key/value head's gradients need all of its group's query rows): the
// caller lists flat batch*kv_heads + kv_head indices, and gets dK and dV of those heads and dQ, LSE and D of
// their groups' query heads (h = kv_head * p.group() + g). Cost is about 8 * head_dim flops per attended
// (query, key) pair. Rows are spread over std::threads in two passes (query rows: lse, D, dq; key rows: dk,
// dv), so results do not depend on the thread count; memory is the outputs and one group's rows.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/problem.hpp"
#include "verify/random_inputs.hpp"

namespace flashtune::verify {

// Full tensors, laid out like the problem's own (so element e of dq is the gradient of element e of Q).
// Elements of heads that were not computed are NaN.
struct BackwardReference {
  std::vector<double> dq;     // like Q: p.elements() values in p.layout
  std::vector<double> dk;     // like K: p.kv_elements() values in p.layout
  std::vector<double> dv;     // like V
  std::vector<double> lse;    // like the kernels' LSE: [batch, heads, seqlen] (varlen: [heads, total_q])
  std::vector<double> delta;  // D = rowsum(dO * O), laid out like lse
};

// The gradients for the key/value heads `kv_heads` (flat batch*kv_heads + kv_head indices, in
// [0, batch * kv_heads)). Throws Error(invalid_argument) for an invalid problem, input or dO sizes that do
// not match it, or an index out of range. `threads` = 0 uses all hardware threads.
BackwardReference cpu_attention_backward(const AttentionProblem& p, const HostInputs& in,
                                         std::span<const std::uint16_t> d_o, std::span<const int> kv_heads,
                                         unsigned threads = 0);

// The forward's outputs as a backward kernel reads them: O rounded to the dtype (p.elements() values laid out
// like Q) and the fp32 LSE ([batch, heads, seqlen], varlen [heads, total_q]; -inf for a row without keys).
struct ForwardOutputs {
  std::span<const std::uint16_t> o;
  std::span<const float> lse;
};

// The same gradients taking LSE and O from `fwd` rather than computing them: P = exp(s - lse_i) with the
// given lse and D_i = dO_i . o_i with the given (rounded) o, so that the reference answers the backward
// kernel's question exactly (a kernel computes D from the O it is given). A row whose given lse is -inf is a
// row without keys. The returned lse and delta are those used. Also throws for fwd sizes that do not match p.
BackwardReference cpu_attention_backward(const AttentionProblem& p, const HostInputs& in,
                                         std::span<const std::uint16_t> d_o, std::span<const int> kv_heads,
                                         const ForwardOutputs& fwd, unsigned threads = 0);

// Every key/value head of p: 0, 1, ..., batch * kv_heads - 1.
std::vector<int> all_kv_heads(const AttentionProblem& p);

// Extracts the rows of the key/value heads `kv_heads` (flat batch * kv_heads + kv_head) from a full tensor
// shaped like K (p.kv_elements() values in p.layout), each head's len_k rows in order: [heads, rows,
// head_dim]. Pairs a kernel's dK / dV with the reference's (dQ: cpu_reference.hpp's gather_heads).
template <typename T>
std::vector<T> gather_kv_heads(std::span<const T> full, const AttentionProblem& p,
                               std::span<const int> kv_heads) {
  std::vector<T> out;
  for (int bkv : kv_heads) {
    const int b = bkv / p.num_kv_heads(), h = bkv % p.num_kv_heads();
    for (int j = 0; j < p.len_k(b); ++j) {
      const auto first = full.begin() + static_cast<std::ptrdiff_t>(p.offset(b, h, j, true));
      out.insert(out.end(), first, first + p.head_dim);
    }
  }
  return out;
}

// Which key/value heads (flat batch * kv_heads + kv_head) a backward check covers, heads_to_check's rule over
// them: all when there are at most `max_kv_heads`; otherwise the first, the last, and distinct others drawn
// from std::mt19937_64(seed), `max_kv_heads` in all, sorted. A key/value head's dK and dV need every query
// head of its group, so the check covers whole groups: their dQ comes with them. Throws
// Error(invalid_argument) when max_kv_heads < 1.
std::vector<int> kv_heads_to_check(const AttentionProblem& p, std::uint64_t seed, int max_kv_heads);

}  // namespace flashtune::verify
