#pragma once
// The GPU reference: attention in fp32, written for obviousness, not speed. It checks problems that the
// float64 CPU reference is too slow for, on a chosen list of heads, with every variant of AttentionParams
// (grouped heads, unequal lengths, the causal and window mask, softcap, strides) and O(seqlen) memory: the
// scores are recomputed, never stored, so N = 131072 needs no more than its inputs and outputs.
//
// One CTA of 128 threads per (kRows query rows, checked head); key chunks of 32 (one key per lane). Two
// passes over the keys the CTA's rows attend:
//   1. s = scale * q . k (softcap: softcap * tanh(q . k * scale / softcap)), -inf where masked; per row the
//      running max m and sum l of exp(s - m) (one warp per row);
//   2. s again; O = sum_k exp(s - m) * v_k / l.
// lse = m + log(l). A row with no attended key gets O = 0 and lse = -inf.
// Outputs are fp32: o [heads_checked][seqlen][head_dim], lse [heads_checked][seqlen]; varlen (cu_seqlens_q
// not null): a head's sequence has its own lengths, its rows past them are not written. Block-sparse: layout
// is the [rows, layout_cols] bytes of core/block_layout.hpp (1: kept), blocks of p.sparse_block; null when
// dense (the kernels' lists in AttentionParams are not read here).
#include "attention_params.h"
#include "device_types.cuh"
#include "reference_rows.h"

namespace flashtune {

template <int kHeadDim, bool kCausal, typename T>
__global__ void __launch_bounds__(128)
    attention_reference(const AttentionParams p, const int* heads, float* o_out, float* lse_out,
                        const unsigned char* layout, int layout_cols) {
  constexpr int kRows = reference_rows(kHeadDim);
  constexpr int kKeys = 32;
  constexpr int kThreads = 128;
  constexpr int kWarps = kThreads / 32;
  __shared__ float sQ[kRows][kHeadDim];
  __shared__ float sKV[kKeys][kHeadDim + 1];
  __shared__ float sS[kRows][kKeys];
  __shared__ float sMax[kRows];
  __shared__ float sSum[kRows];

  const int h = blockIdx.y;
  const int bh = heads[h];
  const int b = bh / p.heads;
  const int head = bh % p.heads;
  const int kv_head = head / (p.heads / p.kv_heads);
  const bool varlen = p.cu_seqlens_q != nullptr;
  const long long q_start = varlen ? p.cu_seqlens_q[b] : 0, k_start = varlen ? p.cu_seqlens_k[b] : 0;
  const int n = varlen ? p.cu_seqlens_q[b + 1] - static_cast<int>(q_start) : p.seqlen;
  const int nk = varlen ? p.cu_seqlens_k[b + 1] - static_cast<int>(k_start) : p.seqlen_k;
  const int pitch = p.seqlen;                               // output rows per checked head
  const long long offset = static_cast<long long>(nk) - n;  // bottom-right alignment
  const T* Q =
      static_cast<const T*>(p.q) + b * p.q_stride.batch + head * p.q_stride.head + q_start * p.q_stride.row;
  const T* K = static_cast<const T*>(p.k) + b * p.k_stride.batch + kv_head * p.k_stride.head +
               k_start * p.k_stride.row;
  const T* V = static_cast<const T*>(p.v) + b * p.v_stride.batch + kv_head * p.v_stride.head +
               k_start * p.v_stride.row;
  // Natural-log units: scale_log2 is scale * log2(e), or log2(e) alone under a softcap (attention_params.h).
  const float scale = p.softcap > 0.0f ? p.softcap_scale : p.scale_log2 * 0.69314718055994530942f;
  const int r0 = blockIdx.x * kRows;
  if (r0 >= n) return;  // varlen: past this sequence's rows
  const int last = min(r0 + kRows, n) - 1;
  const int tid = threadIdx.x;
  const int warp = tid / 32, lane = tid % 32;

  auto attended = [&](long long q, long long key) {
    if (q >= n || key < 0 || key >= nk) return false;
    if (kCausal && key > q + offset) return false;
    if (p.window_left >= 0 && key < q + offset - p.window_left) return false;
    if (p.window_right >= 0 && key > q + offset + p.window_right) return false;
    if (layout != nullptr && !layout[(q / p.sparse_block) * layout_cols + key / p.sparse_block]) return false;
    return true;
  };
  // The keys any of the CTA's rows attends.
  long long key_lo = 0, key_hi = nk;
  if (p.window_left >= 0) key_lo = max(0ll, r0 + offset - p.window_left);
  if (kCausal) key_hi = min(key_hi, last + offset + 1);
  if (p.window_right >= 0) key_hi = min(key_hi, last + offset + p.window_right + 1);

  for (int i = tid; i < kRows * kHeadDim; i += kThreads) {
    const int r = i / kHeadDim, d = i % kHeadDim;
    sQ[r][d] = r0 + r < n
                   ? element_traits<T>::to_float(Q[static_cast<long long>(r0 + r) * p.q_stride.row + d])
                   : 0.0f;
  }
  // sKV <- rows k0 .. k0 + kKeys of X (K or V), zero past the keys.
  auto load_chunk = [&](const T* X, long long row_stride, long long k0) {
    for (int i = tid; i < kKeys * kHeadDim; i += kThreads) {
      const int k = i / kHeadDim, d = i % kHeadDim;
      sKV[k][d] = k0 + k < nk ? element_traits<T>::to_float(X[(k0 + k) * row_stride + d]) : 0.0f;
    }
  };
  // sS <- the scores of the chunk at k0 (sKV holds its keys).
  auto scores = [&](long long k0) {
    for (int i = tid; i < kRows * kKeys; i += kThreads) {
      const int r = i / kKeys, k = i % kKeys;
      float s = neg_infinity();
      if (attended(r0 + r, k0 + k)) {
        float dot = 0.0f;
        for (int d = 0; d < kHeadDim; ++d) dot += sQ[r][d] * sKV[k][d];
        s = dot * scale;
        if (p.softcap > 0.0f) s = p.softcap * tanhf(s);
      }
      sS[r][k] = s;
    }
  };

  // Pass 1: each warp keeps m and l of rows warp, warp + kWarps, ... (the same value in every lane).
  float m[kRows / kWarps], l[kRows / kWarps];
  for (int i = 0; i < kRows / kWarps; ++i) {
    m[i] = neg_infinity();
    l[i] = 0.0f;
  }
  for (long long k0 = key_lo; k0 < key_hi; k0 += kKeys) {
    __syncthreads();
    load_chunk(K, p.k_stride.row, k0);
    __syncthreads();
    scores(k0);
    __syncthreads();
    for (int i = 0; i < kRows / kWarps; ++i) {
      const float s = sS[warp + i * kWarps][lane];
      float c = s;
      for (int off = 16; off > 0; off /= 2) c = fmaxf(c, __shfl_xor_sync(0xffffffffu, c, off));
      const float m_new = fmaxf(m[i], c);
      if (m_new == neg_infinity()) continue;  // nothing attended yet
      float e = s == neg_infinity() ? 0.0f : expf(s - m_new);
      for (int off = 16; off > 0; off /= 2) e += __shfl_xor_sync(0xffffffffu, e, off);
      l[i] = (m[i] == neg_infinity() ? 0.0f : l[i] * expf(m[i] - m_new)) + e;
      m[i] = m_new;
    }
  }
  for (int i = 0; i < kRows / kWarps; ++i) {
    const int r = warp + i * kWarps;
    if (lane == 0) {
      sMax[r] = m[i];
      sSum[r] = l[i];
      if (r0 + r < n)
        lse_out[static_cast<long long>(h) * pitch + r0 + r] = l[i] > 0.0f ? m[i] + logf(l[i]) : m[i];
    }
  }

  // Pass 2: thread tid owns elements tid, tid + kThreads, ... of the kRows x kHeadDim output tile.
  constexpr int kPerThread = kRows * kHeadDim / kThreads;
  float acc[kPerThread];
  for (int i = 0; i < kPerThread; ++i) acc[i] = 0.0f;
  for (long long k0 = key_lo; k0 < key_hi; k0 += kKeys) {
    __syncthreads();
    load_chunk(K, p.k_stride.row, k0);
    __syncthreads();
    scores(k0);
    __syncthreads();
    load_chunk(V, p.v_stride.row, k0);
    for (int i = tid; i < kRows * kKeys; i += kThreads) {
      const int r = i / kKeys, k = i % kKeys;
      sS[r][k] = sS[r][k] == neg_infinity() ? 0.0f : expf(sS[r][k] - sMax[r]);
    }
    __syncthreads();
    for (int i = 0; i < kPerThread; ++i) {
      const int e = tid + i * kThreads;
      const int r = e / kHeadDim, d = e % kHeadDim;
      for (int k = 0; k < kKeys; ++k) acc[i] += sS[r][k] * sKV[k][d];
    }
  }
  __syncthreads();
  for (int i = 0; i < kPerThread; ++i) {
    const int e = tid + i * kThreads;
    const int r = e / kHeadDim, d = e % kHeadDim;
    if (r0 + r < n)
      o_out[(static_cast<long long>(h) * pitch + r0 + r) * kHeadDim + d] =
          sSum[r] > 0.0f ? acc[i] / sSum[r] : 0.0f;
  }
}

}  // namespace flashtune
