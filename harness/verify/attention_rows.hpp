#pragma once
// The pieces the float64 references (cpu_reference.hpp, cpu_reference_bwd.hpp) share: one head's rows
// widened to double, the keys a query row attends under core/problem.hpp's mask, and a dot product.
#include <cstdint>
#include <span>
#include <vector>

#include "core/problem.hpp"

namespace flashtune::verify {

// The rows of head `head` of sequence b of a tensor shaped like Q (kv false: p.elements() dtype values in
// p.layout) or like K / V (kv true), widened exactly: [rows, head_dim], rows = len_q(b) or len_k(b).
std::vector<double> head_rows(std::span<const std::uint16_t> x, const AttentionProblem& p, int b, int head,
                              bool kv);

// The keys query row i of a sequence of n queries and nk keys attends: [lo, hi), empty when lo >= hi (the
// causal and window mask, bottom-right aligned; not the block-sparse layout).
struct KeyRange {
  std::int64_t lo = 0, hi = 0;
};
KeyRange attended_keys(const AttentionProblem& p, std::int64_t n, std::int64_t nk, std::int64_t i);

// `max_count` of the indices [0, total): all of them when total <= max_count; otherwise 0, total - 1 (when
// max_count >= 2) and distinct others drawn from std::mt19937_64(seed) by modulo, so that every standard
// library picks the same. Sorted ascending. heads_to_check and kv_heads_to_check; max_count >= 1.
std::vector<int> seeded_choice(int total, std::uint64_t seed, int max_count);

// Four partial sums: lets the compiler keep several multiply-adds in flight (a plain double reduction is not
// reordered without -ffast-math). The order differs from a left-to-right sum by ~1e-16 relative.
inline double dot(const double* a, const double* b, int n) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += a[i] * b[i];
    s1 += a[i + 1] * b[i + 1];
    s2 += a[i + 2] * b[i + 2];
    s3 += a[i + 3] * b[i + 3];
  }
  for (; i < n; ++i) s0 += a[i] * b[i];
  return (s0 + s1) + (s2 + s3);
}

}  // namespace flashtune::verify
