#pragma once
// Which key blocks a query tile reads, which of them need the element mask, and the mask: shared by every
// template's loops (device) and the IO model's byte counts (host). The free functions are the plain problem's
// (equal lengths, no window); KeyMask is the general one's.
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

// The mask of the general problem (core/problem.hpp): seqlen_k keys, the queries aligned bottom-right
// (offset = seqlen_k - seqlen), a window of `left` keys before and `right` keys after the aligned diagonal
// (-1: unbounded). Key j is attended from query i iff j < seqlen_k, (not causal or j <= i + offset), (left <
// 0 or j >= i + offset - left) and (right < 0 or j <= i + offset + right).
struct KeyMask {
  int seqlen_k;
  int offset;
  int left;
  int right;

  // The keys query rows [q0, q0 + block_m) attend: [lo, hi), empty when hi <= lo.
  FLASHTUNE_HOST_DEVICE constexpr int lo_key(int q0) const {
    return left >= 0 && q0 + offset - left > 0 ? q0 + offset - left : 0;
  }
  FLASHTUNE_HOST_DEVICE constexpr int hi_key(int q0, int block_m, bool causal) const {
    const int q_last = q0 + block_m - 1;
    int hi = seqlen_k;
    if (causal && q_last + offset + 1 < hi) hi = q_last + offset + 1;
    if (right >= 0 && q_last + offset + right + 1 < hi) hi = q_last + offset + right + 1;
    return hi;
  }
  // Key blocks [first, last) of block_n rows that the rows read: blocks wholly before the window or after the
  // (causal or window) diagonal are never loaded. first == last: none (such rows get O = 0, LSE = -inf).
  FLASHTUNE_HOST_DEVICE constexpr int first_block(int q0, int block_m, int block_n, bool causal) const {
    const int lo = lo_key(q0);
    return hi_key(q0, block_m, causal) > lo ? lo / block_n : 0;
  }
  FLASHTUNE_HOST_DEVICE constexpr int last_block(int q0, int block_m, int block_n, bool causal) const {
    const int lo = lo_key(q0), hi = hi_key(q0, block_m, causal);
    return hi > lo ? (hi + block_n - 1) / block_n : 0;
  }

  // Whether `key` is masked for `query`.
  FLASHTUNE_HOST_DEVICE constexpr bool masked(int key, int query, bool causal) const {
    return key >= seqlen_k || (causal && key > query + offset) ||
           (right >= 0 && key > query + offset + right) || (left >= 0 && key < query + offset - left);
  }

  // The queries that attend some key of [k0, k0 + block_n) (the backward's loop over query tiles): [lo, hi),
  // empty when hi <= lo; `seqlen` queries.
  FLASHTUNE_HOST_DEVICE constexpr int lo_query(int k0, bool causal) const {
    const int lo = causal ? k0 - offset : (right >= 0 ? k0 - offset - right : 0);
    return lo > 0 ? lo : 0;
  }
  FLASHTUNE_HOST_DEVICE constexpr int hi_query(int k0, int block_n, int seqlen) const {
    const int k_last = (k0 + block_n < seqlen_k ? k0 + block_n : seqlen_k) - 1;
    return left >= 0 && k_last - offset + left + 1 < seqlen ? k_last - offset + left + 1 : seqlen;
  }

  // Whether the key block [k0, k0 + block_n) needs the element mask for query rows [q_first, q_last]: some of
  // its keys lie past the sequence, after the first row's diagonal or window, or before the last row's
  // window.
  FLASHTUNE_HOST_DEVICE constexpr bool block_needs_mask(int k0, int block_n, int q_first, int q_last,
                                                        bool causal) const {
    const int k_last = k0 + block_n - 1;
    return k_last >= seqlen_k || (causal && k_last > q_first + offset) ||
           (right >= 0 && k_last > q_first + offset + right) || (left >= 0 && k0 < q_last + offset - left);
  }
};

}  // namespace flashtune
