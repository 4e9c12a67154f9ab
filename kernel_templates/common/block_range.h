#pragma once
// Which key blocks a query tile reads, which of them need the element mask, and the mask: shared by every
// template's loops (device) and the IO model's byte counts (host).
#include "host_device.h"

namespace flashtune {

// Key blocks of block_n rows that the query rows [q0, q0 + block_m) read: every block of the sequence, or
// (causal) the blocks up to the one holding key q0 + block_m - 1; blocks above the diagonal are never loaded.
FLASHTUNE_HOST_DEVICE constexpr int key_blocks(int seqlen, int q0, int block_m, int block_n, bool causal) {
  const int all = (seqlen + block_n - 1) / block_n;
  const int to_diagonal = (q0 + block_m + block_n - 1) / block_n;
  return causal && to_diagonal < all ? to_diagonal : all;
}

// Whether the key block starting at k0 needs the element mask for queries from q_first on: it reaches past
// the sequence, or (causal) past the first query. The block size and the mask kind are template arguments:
// as (constant) function arguments they changed fa2_fwd's register allocation.
template <int kBlockN, bool kCausal>
FLASHTUNE_HOST_DEVICE constexpr bool block_needs_mask(int k0, int q_first, int seqlen) {
  return (k0 + kBlockN > seqlen) || (kCausal && k0 + kBlockN - 1 > q_first);
}

// The same for key block j.
template <int kBlockN, bool kCausal>
FLASHTUNE_HOST_DEVICE constexpr bool key_block_needs_mask(int j, int q_first, int seqlen) {
  return block_needs_mask<kBlockN, kCausal>(j * kBlockN, q_first, seqlen);
}

// Whether `key` is masked for `query`: past the sequence, or (causal) after the query.
template <bool kCausal>
FLASHTUNE_HOST_DEVICE constexpr bool key_masked(int key, int query, int seqlen) {
  return key >= seqlen || (kCausal && key > query);
}

}  // namespace flashtune
