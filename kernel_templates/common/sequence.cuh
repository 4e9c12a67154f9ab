#pragma once
// Where a batch entry's sequence lies and how long it is: every sequence of the fixed-length problem has
// seqlen queries and seqlen_k keys from row 0 of its batch entry; a varlen batch's come from cu_seqlens
// (attention_params.h), its rows counted from the start of the packed tensors.
#include "attention_params.h"

namespace flashtune {

struct Sequence {
  long long q_start;  // first query row in the packed Q and O (0 unless varlen)
  long long k_start;  // first key row in the packed K and V
  int len_q;
  int len_k;
};

template <bool kVarlen>
__device__ __forceinline__ Sequence sequence_of(const AttentionParams& p, int b) {
  if constexpr (kVarlen) {
    const int q = p.cu_seqlens_q[b], k = p.cu_seqlens_k[b];
    return {q, k, p.cu_seqlens_q[b + 1] - q, p.cu_seqlens_k[b + 1] - k};
  } else {
    (void)b;
    return {0, 0, p.seqlen, p.seqlen_k};
  }
}

}  // namespace flashtune
