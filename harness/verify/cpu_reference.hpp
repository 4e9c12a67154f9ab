#pragma once
// The float64 attention reference the kernels are judged against.
//
// Inputs are the dtype-rounded Q/K/V of HostInputs, widened exactly to double; the scale is the float
// p.scale() widened (the kernels use that float). For each query row i of a checked head (query head h reads
// key/value head h / p.group()):
//   s_j = scale * (q_i . k_j)  for the keys j the mask attends (core/problem.hpp: causal bottom-right
//                              aligned, the window), capped to softcap * tanh(s_j / softcap) when softcap > 0
//   lse_i = log(sum_j exp(s_j))            computed stably as m + log(sum_j exp(s_j - m)), m = max_j s_j
//   o_i   = sum_j exp(s_j - lse_i) v_j
// A row with no attended key has o_i = 0 and lse_i = -inf.
// No rounding of P or O to the dtype is modelled: the reference is the exact answer (to ~1e-15), and the
// tolerances in error_metrics.hpp account for the kernel's roundings.
//
// Cost is 4 * head_dim flops per attended (query, key) pair, so large problems check a few heads
// (heads_to_check) rather than all of them. Rows are spread over std::threads; results do not depend on the
// thread count.
#include <cstdint>
#include <span>
#include <vector>

#include "core/problem.hpp"
#include "verify/random_inputs.hpp"

namespace flashtune::verify {

// Each checked head's rows one after another: seqlen of them, or (varlen) its sequence's len_q.
struct ReferenceOutput {
  std::vector<double> o;    // [rows, head_dim]
  std::vector<double> lse;  // [rows], natural log
};

// Reference rows for the heads `bh_indices` (flat batch*heads + head indices, in [0, batch*heads)), in the
// order given. Throws Error(invalid_argument) for an invalid problem, input sizes that do not match
// p.elements(), or an index out of range. `threads` = 0 uses all hardware threads.
ReferenceOutput cpu_attention(const AttentionProblem& p, const HostInputs& in,
                              std::span<const int> bh_indices, unsigned threads = 0);

// Which (batch*heads) indices to check: all of them when there are at most `max_heads`; otherwise the first,
// the last, and distinct others drawn from std::mt19937_64(seed) up to `max_heads` in all. Sorted ascending.
// Throws Error(invalid_argument) when max_heads < 1.
std::vector<int> heads_to_check(const AttentionProblem& p, std::uint64_t seed, int max_heads);

// Extracts the rows of heads `bh_indices` from a full tensor of p's queries (O: width = head_dim, in
// p.layout; LSE: width = 1, [batch, heads, seqlen], or varlen [heads, total_q]), in the order cpu_attention
// returns them: pairs a kernel's output with the reference.
template <typename T>
std::vector<T> gather_heads(std::span<const T> full, const AttentionProblem& p,
                            std::span<const int> bh_indices, int width) {
  const Layout layout = width == 1 ? Layout::bhsd : p.layout;
  const std::vector<int> cu = p.cu_seqlens_q();
  std::vector<T> out;
  for (int bh : bh_indices) {
    const int b = bh / p.heads, h = bh % p.heads;
    for (int r = 0; r < p.len_q(b); ++r) {
      std::int64_t at = 0;
      if (!p.varlen())
        at = element_offset(layout, b, h, r, p.heads, p.seqlen, width);
      else if (width == 1)
        at = std::int64_t{h} * p.total_q() + cu[b] + r;
      else
        at = (std::int64_t{cu[b]} + r) * p.heads * width + std::int64_t{h} * width;
      const auto first = full.begin() + static_cast<std::ptrdiff_t>(at);
      out.insert(out.end(), first, first + width);
    }
  }
  return out;
}

}  // namespace flashtune::verify
