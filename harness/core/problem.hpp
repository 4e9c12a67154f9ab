#pragma once
// One attention problem: the shapes and modes a kernel instantiation is run on.
#include <cstdint>
#include <string>

#include "core/dtype.hpp"

namespace flashtune {

// Layout is [batch, heads, seqlen, head_dim], contiguous, for Q, K, V and O; LSE is [batch, heads, seqlen]
// fp32.
struct AttentionProblem {
  int batch = 1;
  int heads = 1;
  int seqlen = 1;  // queries and keys have the same length
  int head_dim = 64;
  DType dtype = DType::bf16;
  bool causal = false;
  float softmax_scale = 0.0f;  // 0 means 1/sqrt(head_dim)

  float scale() const;
  std::int64_t elements() const;  // of one of Q, K, V, O
  std::int64_t rows() const;      // batch * heads * seqlen
  // FLOPs as the FlashAttention benchmarks count them: 4*B*H*N^2*d, halved when causal.
  double flops() const;
  std::string to_string() const;  // "B4 H16 N4096 d128 bf16 causal"
};

// Throws flashtune::Error (invalid_argument) naming the field when a value is out of range.
void validate(const AttentionProblem& p);

}  // namespace flashtune
