#pragma once
// The GPU reference: standard attention in fp32 with the scores materialized, written for obviousness, not
// speed. It checks large problems that the float64 CPU reference is too slow for, on a chosen list of heads.
//
// One CTA of 128 threads per (16 query rows, checked head). Three phases, each a plain loop:
//   1. S[r][k] = scale * q_r . k_k (fp32), -inf where masked, written to `scores` (global, [heads][N][N]);
//   2. per row: m = max_k S, l = sum_k exp(S - m), lse = m + log(l);
//   3. O[r][d] = sum_k exp(S[r][k] - m) * V[k][d] / l.
// Outputs are fp32: o [heads_checked][N][D], lse [heads_checked][N].
#include "attention_params.h"
#include "device_types.cuh"

namespace flashtune {

template <int kHeadDim, bool kCausal, typename T>
__global__ void __launch_bounds__(128) attention_reference(const AttentionParams p, const int* heads,
                                                           float* scores, float* o_out, float* lse_out) {
  constexpr int kRows = 16;
  constexpr int kKeys = 32;
  constexpr int kThreads = 128;
  __shared__ float sQ[kRows][kHeadDim];
  __shared__ float sKV[kKeys][kHeadDim + 1];
  __shared__ float sP[kRows][kKeys];
  __shared__ float sMax[kRows];
  __shared__ float sSum[kRows];

  const int n = p.seqlen;
  const int h = blockIdx.y;
  const long long head = heads[h];
  const int r0 = blockIdx.x * kRows;
  const T* Q = static_cast<const T*>(p.q) + head * n * kHeadDim;
  const T* K = static_cast<const T*>(p.k) + head * n * kHeadDim;
  const T* V = static_cast<const T*>(p.v) + head * n * kHeadDim;
  float* S = scores + static_cast<long long>(h) * n * n;
  const float scale = p.scale_log2 * 0.69314718055994530942f;  // back from the log2 domain
  const int tid = threadIdx.x;

  for (int i = tid; i < kRows * kHeadDim; i += kThreads) {
    const int r = i / kHeadDim, d = i % kHeadDim;
    sQ[r][d] =
        r0 + r < n ? element_traits<T>::to_float(Q[static_cast<long long>(r0 + r) * kHeadDim + d]) : 0.0f;
  }
  // Phase 1: scores.
  for (int k0 = 0; k0 < n; k0 += kKeys) {
    __syncthreads();
    for (int i = tid; i < kKeys * kHeadDim; i += kThreads) {
      const int k = i / kHeadDim, d = i % kHeadDim;
      sKV[k][d] =
          k0 + k < n ? element_traits<T>::to_float(K[static_cast<long long>(k0 + k) * kHeadDim + d]) : 0.0f;
    }
    __syncthreads();
    for (int i = tid; i < kRows * kKeys; i += kThreads) {
      const int r = i / kKeys, k = i % kKeys;
      const int q = r0 + r, key = k0 + k;
      if (q >= n || key >= n) continue;
      float dot = 0.0f;
      for (int d = 0; d < kHeadDim; ++d) dot += sQ[r][d] * sKV[k][d];
      S[static_cast<long long>(q) * n + key] = (kCausal && key > q) ? neg_infinity() : dot * scale;
    }
  }
  __syncthreads();
  // Phase 2: row max and sum, one warp per row at a time.
  const int warp = tid / 32, lane = tid % 32;
  for (int r = warp; r < kRows; r += kThreads / 32) {
    const int q = r0 + r;
    float m = neg_infinity(), l = 0.0f;
    if (q < n) {
      for (int k = lane; k < n; k += 32) m = fmaxf(m, S[static_cast<long long>(q) * n + k]);
      for (int off = 16; off > 0; off /= 2) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, off));
      for (int k = lane; k < n; k += 32) l += expf(S[static_cast<long long>(q) * n + k] - m);
      for (int off = 16; off > 0; off /= 2) l += __shfl_xor_sync(0xffffffffu, l, off);
      if (lane == 0) lse_out[static_cast<long long>(h) * n + q] = m + logf(l);
    }
    if (lane == 0) {
      sMax[r] = m;
      sSum[r] = l;
    }
  }
  // Phase 3: O = P V / l; thread t owns column t % kHeadDim of every kRows*kHeadDim/kThreads-th row.
  constexpr int kRowsPerThread = kRows * kHeadDim / kThreads;
  const int d = tid % kHeadDim;
  const int rbase = tid / kHeadDim;
  float acc[kRowsPerThread];
  for (int i = 0; i < kRowsPerThread; ++i) acc[i] = 0.0f;
  for (int k0 = 0; k0 < n; k0 += kKeys) {
    __syncthreads();
    for (int i = tid; i < kKeys * kHeadDim; i += kThreads) {
      const int k = i / kHeadDim, dd = i % kHeadDim;
      sKV[k][dd] =
          k0 + k < n ? element_traits<T>::to_float(V[static_cast<long long>(k0 + k) * kHeadDim + dd]) : 0.0f;
    }
    for (int i = tid; i < kRows * kKeys; i += kThreads) {
      const int r = i / kKeys, k = i % kKeys;
      const int q = r0 + r, key = k0 + k;
      sP[r][k] = (q < n && key < n) ? expf(S[static_cast<long long>(q) * n + key] - sMax[r]) : 0.0f;
    }
    __syncthreads();
    for (int i = 0; i < kRowsPerThread; ++i) {
      const int r = rbase + i * (kThreads / kHeadDim);
      for (int k = 0; k < kKeys; ++k) acc[i] += sP[r][k] * sKV[k][d];
    }
  }
  for (int i = 0; i < kRowsPerThread; ++i) {
    const int r = rbase + i * (kThreads / kHeadDim);
    const int q = r0 + r;
    if (q < n) o_out[(static_cast<long long>(h) * n + q) * kHeadDim + d] = acc[i] / sSum[r];
  }
}

}  // namespace flashtune
