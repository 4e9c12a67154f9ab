#pragma once
// The GPU reference for the attention backward pass: fp32, written for obviousness, not speed, with every
// variant of AttentionParams (grouped heads, unequal lengths, the causal and window mask, softcap, strides,
// varlen) and the block-sparse layout, as attention_reference.cuh. O(seqlen) memory: P and dS are
// recomputed per chunk of keys or queries, never stored whole. The formulas are
// verify/cpu_reference_bwd.hpp's:
//   x = scale * q . k,  s = x (softcap: softcap * tanh(x / softcap)),  P = exp(s - lse),
//   dP = dO . v,  dS = P (dP - D) (softcap: times 1 - (s / softcap)^2),
//   dq = scale * sum_k dS k,  dk = scale * sum_q dS q,  dv = sum_q P dO.
// Three kernels, 128 threads per CTA, run in this order after attention_reference (which gives O and lse):
//   attention_reference_bwd_delta  D = rowsum(dO * O), one thread per query row;
//   attention_reference_bwd_dq     dq of kRows query rows of one query head per CTA, over chunks of the keys
//                                  they attend (K, then V, then K again through one shared buffer);
//   attention_reference_bwd_dkdv   dk and dv of kRows key rows of one key/value head per CTA, over chunks of
//                                  the queries that attend them, of every query head of its group.
// kRows is reference_rows(head_dim), which the host sizes the grids with.
//
// Arguments besides p (whose q, k, v, strides, lengths and mask fields are read; o and lse are not):
//   heads        query heads, flat batch * heads + head indices; kv_heads: key/value heads, flat
//                batch * kv_heads + kv_head indices. The dkdv kernel reads row q of query head g of its i-th
//                key/value head's group at lse / delta [(i * group + g) * seqlen + q]: give the dq and delta
//                kernels the heads of each listed key/value head's group in order.
//   d_o          dO, the element type T, laid out like O (p.o_stride; varlen: rows from cu_seqlens_q).
//   o            fp32 [heads][seqlen][head_dim], as attention_reference writes it.
//   lse, delta   fp32 [heads][seqlen]; a row without keys has lse = -inf (its dq is 0, it adds nothing).
//   dq_out       fp32 [heads][seqlen][head_dim]; dk_out, dv_out: fp32 [kv_heads][seqlen_k][head_dim].
//   layout       block-sparse: the [rows, layout_cols] bytes of core/block_layout.hpp (1: kept), blocks of
//                p.sparse_block; null when dense.
// Varlen (p.cu_seqlens_q not null): a head's sequence has its own lengths, and its rows past them are not
// written.
#include "attention_params.h"
#include "device_types.cuh"
#include "host_device.h"
#include "reference_rows.h"

namespace flashtune {

// Keys (dq) or queries (dkdv) per chunk: the static shared memory stays under 48 KiB at head_dim 256.
FLASHTUNE_HOST_DEVICE constexpr int reference_bwd_chunk(int head_dim) {
  return head_dim > 128 ? 16 : 32;
}

// One (batch entry, query head): its sequence's lengths and the first rows of its tensors.
template <typename T>
struct BwdHead {
  int n;             // queries
  int nk;            // keys
  long long offset;  // nk - n: the bottom-right alignment of the mask
  const T* q;        // row r at q[r * p.q_stride.row]
  const T* k;        // of its key/value head
  const T* v;
  const T* d_o;  // by p.o_stride.row
};

template <typename T>
__device__ BwdHead<T> bwd_head(const AttentionParams& p, int bh, const void* d_o) {
  const int b = bh / p.heads;
  const int head = bh % p.heads;
  const int kv_head = head / (p.heads / p.kv_heads);
  const bool varlen = p.cu_seqlens_q != nullptr;
  const long long q_start = varlen ? p.cu_seqlens_q[b] : 0, k_start = varlen ? p.cu_seqlens_k[b] : 0;
  BwdHead<T> x;
  x.n = varlen ? p.cu_seqlens_q[b + 1] - static_cast<int>(q_start) : p.seqlen;
  x.nk = varlen ? p.cu_seqlens_k[b + 1] - static_cast<int>(k_start) : p.seqlen_k;
  x.offset = static_cast<long long>(x.nk) - x.n;
  x.q = static_cast<const T*>(p.q) + b * p.q_stride.batch + head * p.q_stride.head + q_start * p.q_stride.row;
  x.k = static_cast<const T*>(p.k) + b * p.k_stride.batch + kv_head * p.k_stride.head +
        k_start * p.k_stride.row;
  x.v = static_cast<const T*>(p.v) + b * p.v_stride.batch + kv_head * p.v_stride.head +
        k_start * p.v_stride.row;
  x.d_o =
      static_cast<const T*>(d_o) + b * p.o_stride.batch + head * p.o_stride.head + q_start * p.o_stride.row;
  return x;
}

// Whether query q attends key `key` (core/problem.hpp's mask and the block-sparse layout).
template <bool kCausal>
__device__ bool bwd_attended(const AttentionParams& p, int n, int nk, long long offset, long long q,
                             long long key, const unsigned char* layout, int layout_cols) {
  if (q < 0 || q >= n || key < 0 || key >= nk) return false;
  if (kCausal && key > q + offset) return false;
  if (p.window_left >= 0 && key < q + offset - p.window_left) return false;
  if (p.window_right >= 0 && key > q + offset + p.window_right) return false;
  if (layout != nullptr && !layout[(q / p.sparse_block) * layout_cols + key / p.sparse_block]) return false;
  return true;
}

// The softmax scale (x = scale * q . k): attention_params.h keeps it as scale_log2 = scale * log2(e), or
// under a softcap as softcap_scale = scale / softcap.
__device__ inline float bwd_scale(const AttentionParams& p) {
  return p.softcap > 0.0f ? p.softcap_scale * p.softcap : p.scale_log2 * 0.69314718055994530942f;
}

// s from the dot product q . k.
__device__ inline float bwd_score(const AttentionParams& p, float dot) {
  return p.softcap > 0.0f ? p.softcap * tanhf(dot * p.softcap_scale) : dot * bwd_scale(p);
}

// ds/dx at s: 1 - tanh^2 under the cap, 1 without.
__device__ inline float bwd_cap_slope(const AttentionParams& p, float s) {
  if (p.softcap <= 0.0f) return 1.0f;
  const float t = s / p.softcap;
  return 1.0f - t * t;
}

template <int kHeadDim, typename T>
__global__ void __launch_bounds__(128)
    attention_reference_bwd_delta(const AttentionParams p, const int* heads, const void* d_o, const float* o,
                                  float* delta) {
  const int h = blockIdx.y;
  const BwdHead<T> x = bwd_head<T>(p, heads[h], d_o);
  const int r = blockIdx.x * 128 + threadIdx.x;
  if (r >= x.n) return;
  const float* o_row = o + (static_cast<long long>(h) * p.seqlen + r) * kHeadDim;
  float sum = 0.0f;
  for (int d = 0; d < kHeadDim; ++d)
    sum += element_traits<T>::to_float(x.d_o[r * p.o_stride.row + d]) * o_row[d];
  delta[static_cast<long long>(h) * p.seqlen + r] = sum;
}

template <int kHeadDim, bool kCausal, typename T>
__global__ void __launch_bounds__(128)
    attention_reference_bwd_dq(const AttentionParams p, const int* heads, const void* d_o, const float* lse,
                               const float* delta, float* dq_out, const unsigned char* layout,
                               int layout_cols) {
  constexpr int kRows = reference_rows(kHeadDim);
  constexpr int kKeys = reference_bwd_chunk(kHeadDim);
  constexpr int kThreads = 128;
  constexpr int kPerThread = kRows * kHeadDim / kThreads;
  __shared__ float sQ[kRows][kHeadDim];
  __shared__ float sdO[kRows][kHeadDim];
  __shared__ float sKV[kKeys][kHeadDim + 1];  // K, then V, then K again
  __shared__ float sS[kRows][kKeys];          // s, then dS
  __shared__ float sLse[kRows];
  __shared__ float sDelta[kRows];

  const int h = blockIdx.y;
  const BwdHead<T> x = bwd_head<T>(p, heads[h], d_o);
  const int r0 = blockIdx.x * kRows;
  if (r0 >= x.n) return;  // varlen: past this sequence's rows
  const int last = min(r0 + kRows, x.n) - 1;
  const int tid = threadIdx.x;
  const long long row0 = static_cast<long long>(h) * p.seqlen + r0;  // of lse, delta and dq_out

  // The keys any of the CTA's rows attends.
  long long key_lo = 0, key_hi = x.nk;
  if (p.window_left >= 0) key_lo = max(0ll, r0 + x.offset - p.window_left);
  if (kCausal) key_hi = min(key_hi, last + x.offset + 1);
  if (p.window_right >= 0) key_hi = min(key_hi, last + x.offset + p.window_right + 1);

  for (int i = tid; i < kRows * kHeadDim; i += kThreads) {
    const int r = i / kHeadDim, d = i % kHeadDim;
    const bool in = r0 + r < x.n;
    sQ[r][d] = in ? element_traits<T>::to_float(x.q[(r0 + r) * p.q_stride.row + d]) : 0.0f;
    sdO[r][d] = in ? element_traits<T>::to_float(x.d_o[(r0 + r) * p.o_stride.row + d]) : 0.0f;
  }
  for (int r = tid; r < kRows; r += kThreads) {
    sLse[r] = r0 + r < x.n ? lse[row0 + r] : neg_infinity();
    sDelta[r] = r0 + r < x.n ? delta[row0 + r] : 0.0f;
  }
  // sKV <- rows k0 .. k0 + kKeys of X (K or V), zero past the keys.
  auto load_chunk = [&](const T* X, long long row_stride, long long k0) {
    for (int i = tid; i < kKeys * kHeadDim; i += kThreads) {
      const int k = i / kHeadDim, d = i % kHeadDim;
      sKV[k][d] = k0 + k < x.nk ? element_traits<T>::to_float(X[(k0 + k) * row_stride + d]) : 0.0f;
    }
  };

  float acc[kPerThread];  // thread tid owns elements tid, tid + kThreads, ... of the kRows x kHeadDim tile
  for (int i = 0; i < kPerThread; ++i) acc[i] = 0.0f;
  for (long long k0 = key_lo; k0 < key_hi; k0 += kKeys) {
    __syncthreads();
    load_chunk(x.k, p.k_stride.row, k0);
    __syncthreads();
    for (int i = tid; i < kRows * kKeys; i += kThreads) {  // s, -inf where masked
      const int r = i / kKeys, k = i % kKeys;
      float s = neg_infinity();
      if (bwd_attended<kCausal>(p, x.n, x.nk, x.offset, r0 + r, k0 + k, layout, layout_cols)) {
        float dot = 0.0f;
        for (int d = 0; d < kHeadDim; ++d) dot += sQ[r][d] * sKV[k][d];
        s = bwd_score(p, dot);
      }
      sS[r][k] = s;
    }
    __syncthreads();
    load_chunk(x.v, p.v_stride.row, k0);
    __syncthreads();
    for (int i = tid; i < kRows * kKeys; i += kThreads) {  // dS
      const int r = i / kKeys, k = i % kKeys;
      const float s = sS[r][k];
      float ds = 0.0f;
      if (s != neg_infinity() && sLse[r] != neg_infinity()) {
        float dp = 0.0f;
        for (int d = 0; d < kHeadDim; ++d) dp += sdO[r][d] * sKV[k][d];
        ds = expf(s - sLse[r]) * (dp - sDelta[r]) * bwd_cap_slope(p, s);
      }
      sS[r][k] = ds;
    }
    __syncthreads();
    load_chunk(x.k, p.k_stride.row, k0);
    __syncthreads();
    for (int i = 0; i < kPerThread; ++i) {  // dq += dS K
      const int e = tid + i * kThreads;
      const int r = e / kHeadDim, d = e % kHeadDim;
      for (int k = 0; k < kKeys; ++k) acc[i] += sS[r][k] * sKV[k][d];
    }
  }
  const float scale = bwd_scale(p);
  for (int i = 0; i < kPerThread; ++i) {
    const int e = tid + i * kThreads;
    const int r = e / kHeadDim, d = e % kHeadDim;
    if (r0 + r < x.n) dq_out[(row0 + r) * kHeadDim + d] = scale * acc[i];
  }
}

template <int kHeadDim, bool kCausal, typename T>
__global__ void __launch_bounds__(128)
    attention_reference_bwd_dkdv(const AttentionParams p, const int* kv_heads, const void* d_o,
                                 const float* lse, const float* delta, float* dk_out, float* dv_out,
                                 const unsigned char* layout, int layout_cols) {
  constexpr int kRows = reference_rows(kHeadDim);  // keys per CTA
  constexpr int kQueries = reference_bwd_chunk(kHeadDim);
  constexpr int kThreads = 128;
  constexpr int kPerThread = kRows * kHeadDim / kThreads;
  __shared__ float sK[kRows][kHeadDim];
  __shared__ float sV[kRows][kHeadDim];
  __shared__ float sX[kQueries][kHeadDim + 1];  // Q, then dO, then Q again
  __shared__ float sS[kRows][kQueries];         // s, then dS
  __shared__ float sP[kRows][kQueries];
  __shared__ float sLse[kQueries];
  __shared__ float sDelta[kQueries];

  const int i_kv = blockIdx.y;
  const int b = kv_heads[i_kv] / p.kv_heads;
  const int kv_head = kv_heads[i_kv] % p.kv_heads;
  const int group = p.heads / p.kv_heads;
  const int first_head = b * p.heads + kv_head * group;  // the group's query heads follow it
  const BwdHead<T> x0 = bwd_head<T>(p, first_head, d_o);
  const int n = x0.n, nk = x0.nk;
  const long long offset = x0.offset;
  const int c0 = blockIdx.x * kRows;
  if (c0 >= nk) return;  // varlen: past this sequence's keys
  const int last = min(c0 + kRows, nk) - 1;
  const int tid = threadIdx.x;

  // The queries that attend any of the CTA's keys.
  long long q_lo = 0, q_hi = n;
  if (kCausal) q_lo = max(q_lo, c0 - offset);
  if (p.window_right >= 0) q_lo = max(q_lo, c0 - offset - p.window_right);
  if (p.window_left >= 0) q_hi = min(q_hi, last - offset + p.window_left + 1);

  for (int i = tid; i < kRows * kHeadDim; i += kThreads) {
    const int c = i / kHeadDim, d = i % kHeadDim;
    const bool in = c0 + c < nk;
    sK[c][d] = in ? element_traits<T>::to_float(x0.k[(c0 + c) * p.k_stride.row + d]) : 0.0f;
    sV[c][d] = in ? element_traits<T>::to_float(x0.v[(c0 + c) * p.v_stride.row + d]) : 0.0f;
  }
  // sX <- rows q0 .. q0 + kQueries of X (Q or dO), zero past the queries.
  auto load_chunk = [&](const T* X, long long row_stride, long long q0) {
    for (int i = tid; i < kQueries * kHeadDim; i += kThreads) {
      const int q = i / kHeadDim, d = i % kHeadDim;
      sX[q][d] = q0 + q < n ? element_traits<T>::to_float(X[(q0 + q) * row_stride + d]) : 0.0f;
    }
  };

  float acc_k[kPerThread], acc_v[kPerThread];  // elements tid, tid + kThreads, ... of the key tile
  for (int i = 0; i < kPerThread; ++i) acc_k[i] = acc_v[i] = 0.0f;
  for (int g = 0; g < group; ++g) {
    const BwdHead<T> x = bwd_head<T>(p, first_head + g, d_o);
    const long long rows = (static_cast<long long>(i_kv) * group + g) * p.seqlen;  // of lse and delta
    for (long long q0 = q_lo; q0 < q_hi; q0 += kQueries) {
      __syncthreads();
      load_chunk(x.q, p.q_stride.row, q0);
      for (int q = tid; q < kQueries; q += kThreads) {
        sLse[q] = q0 + q < n ? lse[rows + q0 + q] : neg_infinity();
        sDelta[q] = q0 + q < n ? delta[rows + q0 + q] : 0.0f;
      }
      __syncthreads();
      for (int i = tid; i < kRows * kQueries; i += kThreads) {  // s and P, P = 0 where masked
        const int c = i / kQueries, q = i % kQueries;
        float s = neg_infinity(), prob = 0.0f;
        if (bwd_attended<kCausal>(p, n, nk, offset, q0 + q, c0 + c, layout, layout_cols) &&
            sLse[q] != neg_infinity()) {
          float dot = 0.0f;
          for (int d = 0; d < kHeadDim; ++d) dot += sX[q][d] * sK[c][d];
          s = bwd_score(p, dot);
          prob = expf(s - sLse[q]);
        }
        sS[c][q] = s;
        sP[c][q] = prob;
      }
      __syncthreads();
      load_chunk(x.d_o, p.o_stride.row, q0);
      __syncthreads();
      for (int i = tid; i < kRows * kQueries; i += kThreads) {  // dS
        const int c = i / kQueries, q = i % kQueries;
        float ds = 0.0f;
        if (sS[c][q] != neg_infinity()) {
          float dp = 0.0f;
          for (int d = 0; d < kHeadDim; ++d) dp += sX[q][d] * sV[c][d];
          ds = sP[c][q] * (dp - sDelta[q]) * bwd_cap_slope(p, sS[c][q]);
        }
        sS[c][q] = ds;
      }
      for (int i = 0; i < kPerThread; ++i) {  // dv += P^T dO
        const int e = tid + i * kThreads;
        const int c = e / kHeadDim, d = e % kHeadDim;
        for (int q = 0; q < kQueries; ++q) acc_v[i] += sP[c][q] * sX[q][d];
      }
      __syncthreads();
      load_chunk(x.q, p.q_stride.row, q0);
      __syncthreads();
      for (int i = 0; i < kPerThread; ++i) {  // dk += dS^T Q
        const int e = tid + i * kThreads;
        const int c = e / kHeadDim, d = e % kHeadDim;
        for (int q = 0; q < kQueries; ++q) acc_k[i] += sS[c][q] * sX[q][d];
      }
    }
  }
  const float scale = bwd_scale(p);
  const long long row0 = static_cast<long long>(i_kv) * p.seqlen_k + c0;  // of dk_out and dv_out
  for (int i = 0; i < kPerThread; ++i) {
    const int e = tid + i * kThreads;
    const int c = e / kHeadDim, d = e % kHeadDim;
    if (c0 + c < nk) {
      dk_out[(row0 + c) * kHeadDim + d] = scale * acc_k[i];
      dv_out[(row0 + c) * kHeadDim + d] = acc_v[i];
    }
  }
}

}  // namespace flashtune
