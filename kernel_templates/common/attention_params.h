#pragma once
// The one kernel argument of every attention template, shared by host (C++) and device (NVRTC) code.
// Plain data only: no CUDA types, no host types. The problem is core/problem.hpp's AttentionProblem: queries
// batch x heads x seqlen, keys and values batch x kv_heads x seqlen_k (query head h reads key/value head
// h / (heads / kv_heads)); each tensor is addressed by its strides, in elements, with unit stride on
// head_dim: element (b, h, n, c) of Q is q[b * q_stride.batch + h * q_stride.head + n * q_stride.row + c].
// lse is [batch, heads, seqlen] fp32, contiguous (natural log of the softmax normalizer, scale included).
// workspace is scratch device memory for templates that keep intermediates in HBM (the standard
// algorithm's S and P, FlashAttention-1's running O, m and l): as many bytes as the template's
// workspace_bytes() asks for, not initialized; null when it asks for none.
//
// The mask (core/problem.hpp): key j is attended from query i iff j < seqlen_k, and, with offset = seqlen_k -
// seqlen, (not causal or j <= i + offset), (window_left < 0 or j >= i + offset - window_left) and
// (window_right < 0 or j <= i + offset + window_right). softcap > 0: s = softcap * tanh(s / softcap) on the
// scaled scores, and scale_log2 is then log2(e) alone (the scale is applied in softcap_scale).
//
// Variable lengths (varlen; null cu_seqlens otherwise): the batch's sequences packed one after another,
// sequence b's queries are rows cu_seqlens_q[b] .. cu_seqlens_q[b + 1] - 1 of Q and O, its keys rows
// cu_seqlens_k[b] .. cu_seqlens_k[b + 1] - 1 of K and V (by the row and head strides; the batch strides are
// 0); the mask applies per sequence with its own lengths; seqlen and seqlen_k are then the longest
// lengths (they size the grid), and lse is [heads, total_q].
//
// Block-sparse (non-null sparse_counts): queries and keys in blocks of sparse_block positions; query block r
// attends only key blocks sparse_cols[r * sparse_cols_per_row + i], i < sparse_counts[r] (ascending), the
// same for every batch entry and head, besides the mask above (common/block_sparse.h).

namespace flashtune {

struct TensorStrides {
  long long batch;
  long long head;
  long long row;
};

struct AttentionParams {
  const void* q;
  const void* k;
  const void* v;
  void* o;
  float* lse;
  int batch;
  int heads;
  int seqlen;
  float scale_log2;  // softmax scale * log2(e): scores are exponentiated with exp2
  void* workspace;
  // The variants (plain problem: kv_heads = heads, seqlen_k = seqlen, windows -1, softcap 0, bhsd strides).
  int kv_heads;
  int seqlen_k;
  int window_left;
  int window_right;
  float softcap;        // 0: none
  float softcap_scale;  // softmax scale / softcap, when softcap > 0
  TensorStrides q_stride;
  TensorStrides k_stride;
  TensorStrides v_stride;
  TensorStrides o_stride;
  const int* cu_seqlens_q;  // varlen: batch + 1 prefix sums (int32, device memory)
  const int* cu_seqlens_k;
  int total_q;               // varlen: cu_seqlens_q[batch], the rows of Q, O and (per head) LSE
  int total_k;               // varlen: cu_seqlens_k[batch], the rows of K and V
  const int* sparse_counts;  // block-sparse: kept key blocks per query block (int32, device memory)
  const int* sparse_cols;    // block-sparse: their indices, ascending, sparse_cols_per_row per query block
  int sparse_block;          // block-sparse: positions per block (queries and keys)
  int sparse_cols_per_row;
  // The backward (fa2_bwd): dO laid out as O (o_stride), the gradients dQ as Q, dK as K, dV as V (their
  // strides); o and lse are then the forward's outputs, read.
  const void* d_o;
  void* d_q;
  void* d_k;
  void* d_v;
};

}  // namespace flashtune
