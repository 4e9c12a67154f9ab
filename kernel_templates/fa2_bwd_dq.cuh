#pragma once
// fa2_bwd's deterministic dQ (dq_mode 1): a pass of its own instead of the main kernel's fp32 atomics. One
// CTA per (query tile of kBlockM rows, batch * heads), a warp per 16 query rows; it walks the key tiles of
// kDqBlockN = 64 rows its rows attend (block_range.h's KeyMask range) and recomputes, on its rows:
//   S = Q K_j^T, P = exp2(S * scale * log2 e - LSE * log2 e)  (masked: 0),  dP = dO V_j^T,
//   dS = P * (dP - D),  dQ += dS K_j
// with dQ in registers, written once (times the scale) at the end: every element is one thread's sum in a
// fixed order, so dQ is the same bit for bit from run to run. D comes from fa2_bwd_preprocess (the
// workspace, after the unused dQ accumulator). The main kernel then skips its dQ step.
#include "attention_params.h"
#include "block_range.h"
#include "cp_async.cuh"
#include "device_types.cuh"
#include "fa2_warp_ops.cuh"
#include "kernel_limits.h"
#include "mma.cuh"
#include "online_softmax.cuh"
#include "swizzle.cuh"
#include "swizzled_load.cuh"

namespace flashtune {

inline constexpr int kDqBlockN = 64;  // key rows per tile of the dQ pass

// Shared memory of fa2_bwd_dq: Q and dO (kBlockM rows), K and V (kDqBlockN rows), swizzled.
constexpr int fa2_bwd_dq_smem_bytes(int block_m, int head_dim) {
  return 2 * (2 * block_m * head_dim + 2 * kDqBlockN * head_dim);
}

template <int kBlockM, int kHeadDim, typename T>
struct Fa2BwdDqSmem {
  T q[kBlockM * kHeadDim];
  T d_o[kBlockM * kHeadDim];
  T k[kDqBlockN * kHeadDim];
  T v[kDqBlockN * kHeadDim];
};

template <int kBlockM, int kHeadDim, bool kCausal, typename T, int kVariant = 0>
__global__ void __launch_bounds__(kBlockM * 2, 1) fa2_bwd_dq(const AttentionParams p) {
  static_assert((kVariant & ~3) == 0, "fa2_bwd runs variant bits 1 (general) and 2 (window) only");
  static_assert(kBlockM == 64 || kBlockM == 128, "block_m must be 64 or 128");
  constexpr int kThreads = kBlockM * 2;  // a warp per 16 query rows
  constexpr int kNT = kDqBlockN / 8;     // n8 tiles of S (keys)
  constexpr int kKSteps = kDqBlockN / 16;
  constexpr int kDTiles = kHeadDim / 8;
  constexpr int kDSteps = kHeadDim / 16;
  constexpr float kLog2e = 1.4426950408889634f;
  using A = WarpAddrs<kHeadDim>;
  using Smem = Fa2BwdDqSmem<kBlockM, kHeadDim, T>;
  static_assert(sizeof(Smem) == fa2_bwd_dq_smem_bytes(kBlockM, kHeadDim), "layout and size disagree");
  extern __shared__ __align__(1024) unsigned char smem_raw[];
  Smem& smem = *reinterpret_cast<Smem*>(smem_raw);

  const int tid = threadIdx.x;
  const int warp = tid / 32;
  const int lane = tid % 32;
  const int g = lane / 4;
  const int c = lane % 4;
  const int q0 = blockIdx.x * kBlockM;
  const int bh = blockIdx.y;
  const int b = bh / p.heads, h = bh % p.heads, kvh = h / (p.heads / p.kv_heads);
  const int seqlen = p.seqlen;
  const int seqlen_k = p.seqlen_k;
  const KeyMask mask{seqlen_k, seqlen_k - seqlen, (kVariant & 2) ? p.window_left : -1,
                     (kVariant & 2) ? p.window_right : -1};
  const int first = mask.first_block(q0, kBlockM, kDqBlockN, kCausal);
  const int last = mask.last_block(q0, kBlockM, kDqBlockN, kCausal);
  const int row0 = warp * 16;  // the warp's first query row in the tile

  const T* const Q = static_cast<const T*>(p.q) + b * p.q_stride.batch + h * p.q_stride.head;
  const T* const dO = static_cast<const T*>(p.d_o) + b * p.o_stride.batch + h * p.o_stride.head;
  const T* const K = static_cast<const T*>(p.k) + b * p.k_stride.batch + kvh * p.k_stride.head;
  const T* const V = static_cast<const T*>(p.v) + b * p.v_stride.batch + kvh * p.v_stride.head;
  load_tile_async<kHeadDim, kBlockM, kThreads>(smem.q, Q, q0, seqlen, tid, p.q_stride.row);
  load_tile_async<kHeadDim, kBlockM, kThreads>(smem.d_o, dO, q0, seqlen, tid, p.o_stride.row);
  cp_async_commit();

  // The thread's two rows (g and g + 8 of the warp's 16): LSE * log2(e) (+inf where the row adds nothing)
  // and D, in registers for the whole pass.
  const long long rows = static_cast<long long>(p.batch) * p.heads * seqlen;
  const float* const d_all = static_cast<const float*>(p.workspace) + rows * kHeadDim;
  float lse2[2], dd[2];
#pragma unroll
  for (int hh = 0; hh < 2; ++hh) {
    const int q = q0 + row0 + g + 8 * hh;
    const float lse = q < seqlen ? p.lse[static_cast<long long>(bh) * seqlen + q] : neg_infinity();
    lse2[hh] = lse == neg_infinity() ? -neg_infinity() : lse * kLog2e;
    dd[hh] = q < seqlen ? d_all[static_cast<long long>(bh) * seqlen + q] : 0.0f;
  }

  // qa: Q as A, K as n-major B; oa: dO as A, V as n-major B, K through .trans (dQ's B).
  const A qa(smem.q, smem.k, smem.k, row0, lane);
  const A oa(smem.d_o, smem.v, smem.k, row0, lane);
  float dq[kDTiles][4];
#pragma unroll
  for (int dt = 0; dt < kDTiles; ++dt) dq[dt][0] = dq[dt][1] = dq[dt][2] = dq[dt][3] = 0.0f;

  for (int j = first; j < last; ++j) {
    const int k0 = j * kDqBlockN;
    __syncthreads();  // every warp is done with the previous K_j, V_j
    load_tile_async<kHeadDim, kDqBlockN, kThreads>(smem.k, K, k0, seqlen_k, tid, p.k_stride.row);
    load_tile_async<kHeadDim, kDqBlockN, kThreads>(smem.v, V, k0, seqlen_k, tid, p.v_stride.row);
    cp_async_commit();
    cp_async_wait<0>();
    __syncthreads();

    float s[1][kNT][4], dp[1][kNT][4];
#pragma unroll
    for (int nt = 0; nt < kNT; ++nt)
#pragma unroll
      for (int e = 0; e < 4; ++e) s[0][nt][e] = dp[0][nt][e] = 0.0f;
#pragma unroll
    for (int ks = 0; ks < kDSteps; ++ks) {
      warp_mma_step_nt<1, kNT, kHeadDim, T>(s, qa.q, qa.k, ks, 0);
      warp_mma_step_nt<1, kNT, kHeadDim, T>(dp, oa.q, oa.k, ks, 0);
    }
    // dS = P (dP - D), packed into the A fragments of dQ's k16 steps over the keys: element e of tile nt is
    // query row0 + g + 8 (e / 2), key k0 + nt * 8 + 2c + e % 2.
    const bool needs_mask = mask.block_needs_mask(k0, kDqBlockN, q0, q0 + kBlockM - 1, kCausal);
    unsigned dsk[kKSteps][4];
#pragma unroll
    for (int nt = 0; nt < kNT; ++nt) {
      float de[4];
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int hh = e >> 1;
        const int key = k0 + nt * 8 + 2 * c + (e & 1);
        const bool masked = needs_mask && mask.masked(key, q0 + row0 + g + 8 * hh, kCausal);
        const float pe = masked ? 0.0f : fast_exp2(s[0][nt][e] * p.scale_log2 - lse2[hh]);
        de[e] = pe * (dp[0][nt][e] - dd[hh]);
      }
      dsk[nt / 2][2 * (nt % 2)] = element_traits<T>::pack2(de[0], de[1]);
      dsk[nt / 2][2 * (nt % 2) + 1] = element_traits<T>::pack2(de[2], de[3]);
    }
    // dQ += dS K_j.
#pragma unroll
    for (int ks = 0; ks < kKSteps; ++ks)
#pragma unroll
      for (int dpair = 0; dpair < kDTiles / 2; ++dpair) {
        unsigned bk[4];
        ldmatrix_x4_trans(bk, A::at(oa.v, dpair, ks, 0));
        mma_m16n8k16<T>(dq[2 * dpair], dsk[ks], bk[0], bk[1]);
        mma_m16n8k16<T>(dq[2 * dpair + 1], dsk[ks], bk[2], bk[3]);
      }
  }
  cp_async_wait<0>();  // a tile without keys still has Q and dO in flight

  // dQ = scale * dS K, rows inside the sequence, at Q's strides.
  const float scale = p.scale_log2 * 0.69314718055994530942f;
  T* const dQ = static_cast<T*>(p.d_q) + b * p.q_stride.batch + h * p.q_stride.head;
#pragma unroll
  for (int hh = 0; hh < 2; ++hh) {
    const int q = q0 + row0 + g + 8 * hh;
    if (q >= seqlen) continue;
#pragma unroll
    for (int dt = 0; dt < kDTiles; ++dt)
      *reinterpret_cast<unsigned*>(dQ + q * p.q_stride.row + dt * 8 + 2 * c) =
          element_traits<T>::pack2(dq[dt][2 * hh] * scale, dq[dt][2 * hh + 1] * scale);
  }
}

}  // namespace flashtune
