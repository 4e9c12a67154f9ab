#pragma once
// Host model of the kernels' online softmax (kernel_templates/common/online_softmax.cuh), in double and the
// natural-log domain: a row's keys arrive in blocks, each block gives a (max, sum) state, and states merge
//   m = max(a.max, b.max);  sum = a.sum * exp(a.max - m) + b.sum * exp(b.max - m)
// so that after all blocks log_sum_exp(state) = log(sum_j exp(s_j)) without ever exponentiating a large
// score. Tests use it to check that blockwise merging equals one-pass log-sum-exp, whatever the block split.
//   merge(block_state({0.1, 0.5, 0.4}), block_state({0.2, 0.3, 0.3})) == {max 0.5, sum 4.9534...}
#include <limits>
#include <span>

namespace flashtune::verify {

// The state of a row after some keys: `sum` is relative to `max` (sum_j exp(s_j - max)). The default state is
// the empty one (no key seen, or only masked keys scoring -inf): max -inf, sum 0.
struct SoftmaxState {
  double max = -std::numeric_limits<double>::infinity();
  double sum = 0;
};

// The state of one block of scores. An empty block or a block of only -inf scores gives the empty state.
// Scores must not be NaN or +inf.
SoftmaxState block_state(std::span<const double> scores);

// Combines two states (rescaling each sum by exp(old max - new max)). Commutative; the empty state is the
// identity (merge(s, {}) == s exactly), and merging two empty states gives the empty state, never NaN.
SoftmaxState merge(SoftmaxState a, SoftmaxState b);

// log(sum_j exp(s_j)) = max + log(sum); -inf for the empty state.
double log_sum_exp(SoftmaxState s);

}  // namespace flashtune::verify
