#pragma once
// The float64 attention reference the kernels are judged against.
//
// Inputs are the dtype-rounded Q/K/V of HostInputs, widened exactly to double; the scale is the float
// p.scale() widened (the kernels use that float). For each query row i of a checked head:
//   s_j = scale * (q_i . k_j)  for the attended keys j (all j, or j <= i when causal)
//   lse_i = log(sum_j exp(s_j))            computed stably as m + log(sum_j exp(s_j - m)), m = max_j s_j
//   o_i   = sum_j exp(s_j - lse_i) v_j
// No rounding of P or O to the dtype is modelled: the reference is the exact answer (to ~1e-15), and the
// tolerances in error_metrics.hpp account for the kernel's roundings.
//
// Cost is 4 * seqlen^2 * head_dim flops per head (halved when causal), so large problems check a few heads
// (heads_to_check) rather than all of them. Rows are spread over std::threads; results do not depend on the
// thread count.
#include <cstdint>
#include <span>
#include <vector>

#include "core/problem.hpp"
#include "verify/random_inputs.hpp"

namespace flashtune::verify {

struct ReferenceOutput {
  std::vector<double> o;    // [bh_indices.size(), seqlen, head_dim]
  std::vector<double> lse;  // [bh_indices.size(), seqlen], natural log
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

// Extracts the rows of heads `bh_indices` from a full [batch, heads, seqlen, X] tensor (X = head_dim for O,
// 1 for LSE), in the layout cpu_attention returns: pairs a kernel's output with the reference.
template <typename T>
std::vector<T> gather_heads(std::span<const T> full, std::span<const int> bh_indices,
                            std::int64_t head_size) {
  std::vector<T> out;
  out.reserve(bh_indices.size() * static_cast<std::size_t>(head_size));
  for (int bh : bh_indices) {
    const auto first = full.begin() + static_cast<std::ptrdiff_t>(bh * head_size);
    out.insert(out.end(), first, first + static_cast<std::ptrdiff_t>(head_size));
  }
  return out;
}

}  // namespace flashtune::verify
