#pragma once
// FlashAttention-2 backward (Dao 2023, Algorithm 2) with recomputation, tensor cores via mma.sync m16n8k16.
// The attention matrix is never stored: each CTA recomputes P = exp(S - LSE) from Q, K and the forward's
// log-sum-exp, tile by tile. Three kernels:
//
//  1. fa2_bwd_preprocess: D_i = rowsum(dO_i * O_i) (fp32, one warp per query row), and the row of the fp32
//     dQ accumulator zeroed.
//  2. fa2_bwd: one CTA per (key tile of kBlockN rows, batch * kv_heads). K_j and V_j stay in shared memory;
//     dK_j and dV_j accumulate in registers over every query head of the key/value head's group (GQA
//     reduces in registers: no atomics, no extra memory) and every query tile i whose rows attend some key
//     of the tile. Per query tile, warp w owns key rows [w * kKeyRows, (w + 1) * kKeyRows) and computes, on
//     its rows and all kBlockM queries (S^T: keys are the MMA rows, so the accumulator layout turns into the
//     A fragments of the next product as in the forward's P V):
//       S^T = K_j Q_i^T,  P^T = exp2(S^T * scale * log2 e - LSE_i * log2 e)  (masked: 0),
//       dV_j += P^T dO_i,  dP^T = V_j dO_i^T,  dS^T = P^T * (dP^T - D_i),  dK_j += dS^T Q_i,
//     then writes dS^T to shared memory; after a barrier the warps split dQ_i += dS K_j (A = dS through
//     ldmatrix.trans of dS^T, B = K_j through ldmatrix.trans) and add it to the fp32 accumulator with
//     atomics. The next query tile's Q and dO are loaded (cp.async) under that dQ step: after the barrier no
//     warp reads them any more.
//  3. fa2_bwd_convert_dq: dQ = scale * the accumulator, rounded to T at Q's strides (one warp per row).
//     Or (dq_mode 1, deterministic) fa2_bwd_dq (fa2_bwd_dq.cuh): dQ in a pass of its own, a CTA per query
//     tile recomputing P and dS over its key tiles, no atomics; kernel 2 then skips its dQ step.
// Every kernel takes AttentionParams alone (the harness's launch convention); the softmax scale is
// p.scale_log2 / log2(e).
// dK is scaled (dK = scale * dS^T Q) and written with dV at the end of the CTA.
//
// Workspace (fp32): the dQ accumulator [batch * heads, seqlen, head_dim], then D [batch * heads, seqlen]
// (fa2_bwd_workspace_bytes). Rows without keys (LSE = -inf) and queries past seqlen have P = 0: they add
// nothing. Variants (kVariant): bit 1 (grouped heads, seqlen_k != seqlen with causal bottom-right, strides:
// the kernels always address by the strides) and bit 2 (a window); softcap, variable lengths and block-sparse
// layouts are not supported yet.
#include "attention_params.h"
#include "block_range.h"
#include "cp_async.cuh"
#include "device_types.cuh"
#include "fa2_bwd_dq.cuh"
#include "fa2_warp_ops.cuh"
#include "kernel_limits.h"
#include "mma.cuh"
#include "online_softmax.cuh"
#include "swizzle.cuh"
#include "swizzled_load.cuh"

namespace flashtune {

// Every compile-time parameter of fa2_bwd: fa2_bwd<Fa2BwdTraits<block_m, block_n, head_dim, warps>, causal,
// T, variant>.
template <int kBlockM_, int kBlockN_, int kHeadDim_, int kWarps_, int kDqMode_ = 0>
struct Fa2BwdTraits {
  static constexpr int kBlockM = kBlockM_;  // query rows per tile
  static constexpr int kBlockN = kBlockN_;  // key rows per CTA
  static constexpr int kHeadDim = kHeadDim_;
  static constexpr int kWarps = kWarps_;
  // dQ: 0 added by this kernel with fp32 atomics (fa2_bwd_convert_dq then scales it), 1 a deterministic pass
  // of its own (fa2_bwd_dq.cuh): this kernel then computes dK and dV only.
  static constexpr int kDqMode = kDqMode_;
  static constexpr int kThreads = 32 * kWarps;
  static constexpr int kKeyRows = kBlockN / kWarps;  // key rows per warp
  static constexpr int kKTiles = kKeyRows / 16;      // their 16-row MMA tiles
  static constexpr int kQTiles = kBlockM / 8;        // n8 tiles of S^T (queries)
  static constexpr int kQSteps = kBlockM / 16;       // k16 steps over the queries; dQ's m-tiles
  static constexpr int kDTiles = kHeadDim / 8;       // n8 tiles of dK, dV, dQ
  static constexpr int kDSteps = kHeadDim / 16;      // k16 steps of S^T and dP^T
  static constexpr int kNSteps = kBlockN / 16;       // k16 steps of dQ (over the keys)
  // dQ's split: each warp takes whole m-tiles and a contiguous share of the n8 tiles.
  static constexpr int kDqWarpsPerTile = kWarps >= kQSteps ? kWarps / kQSteps : 1;
  static constexpr int kDqTilesPerWarp = kQSteps > kWarps ? kQSteps / kWarps : 1;
  static constexpr int kDqDTiles = kDTiles / kDqWarpsPerTile;
  static constexpr int kQElems = kBlockM * kHeadDim;
  static constexpr int kKElems = kBlockN * kHeadDim;
  static constexpr int kSmemBytes = 2 * (2 * kQElems + 2 * kKElems + kBlockN * kBlockM) + 2 * 4 * kBlockM;

  static_assert(kHeadDim == 64 || kHeadDim == 128, "head_dim must be 64 or 128");
  static_assert(kBlockM == 64 || kBlockM == 128, "block_m must be 64 or 128 (dS^T rows are swizzled tiles)");
  static_assert(kWarps >= 1 && kWarps <= 16, "1..16 warps");
  static_assert(kBlockN % (16 * kWarps) == 0,
                "each warp owns whole 16-row key tiles: block_n % (16*warps) == 0");
  static_assert(kKTiles <= 2, "at most 32 key rows per warp (dK and dV live in registers)");
  static_assert(kWarps % kQSteps == 0 || kQSteps % kWarps == 0, "dQ's m-tiles split evenly over the warps");
  static_assert(kDqDTiles % 4 == 0, "each warp's dQ share is whole groups of four n8 tiles");
  static_assert(kDqMode == 0 || kDqMode == 1, "dq_mode: 0 atomics, 1 a separate deterministic pass");
  static_assert(kSmemBytes <= kSmemOptinBytes,
                "tiles exceed the 227 KiB shared-memory opt-in limit of sm_90");
};

// The shared memory of fa2_bwd: swizzled rows (SwizzledTile) of head_dim for Q, dO, K and V, of kBlockM for
// dS^T, and per query row LSE * log2(e) (+inf where the row adds nothing) and D.
template <class Tr, typename T>
struct Fa2BwdSmem {
  T q[Tr::kQElems];
  T d_o[Tr::kQElems];
  T k[Tr::kKElems];
  T v[Tr::kKElems];
  T ds[Tr::kBlockN * Tr::kBlockM];
  float lse2[Tr::kBlockM];
  float dd[Tr::kBlockM];
};

// Bytes of fa2_bwd's workspace: the fp32 dQ accumulator and D.
constexpr long long fa2_bwd_workspace_bytes(long long batch_heads, long long seqlen, int head_dim) {
  return batch_heads * seqlen * (head_dim + 1) * 4;
}

// The query row of kernels 1 and 3 (one warp per row, four rows per 128-thread block): r counts the rows of
// every (batch, head), [batch * heads, seqlen]; valid is false past them.
struct BwdRow {
  long long rows, r, b, h, i;
  bool valid;
};
__device__ __forceinline__ BwdRow bwd_row(const AttentionParams& p) {
  BwdRow w;
  w.rows = static_cast<long long>(p.batch) * p.heads * p.seqlen;
  w.r = static_cast<long long>(blockIdx.x) * 4 + threadIdx.x / 32;
  w.valid = w.r < w.rows;
  const long long bh = w.r / p.seqlen;
  w.i = w.r % p.seqlen;
  w.b = bh / p.heads;
  w.h = bh % p.heads;
  return w;
}

// Kernel 1: D and the zeroed dQ accumulator, one warp per query row of every (batch, head).
template <int kHeadDim, typename T>
__global__ void __launch_bounds__(128) fa2_bwd_preprocess(const AttentionParams p) {
  constexpr int kCols = kHeadDim / 32;
  const int lane = threadIdx.x % 32;
  const BwdRow w = bwd_row(p);
  if (!w.valid) return;
  const long long at = w.b * p.o_stride.batch + w.h * p.o_stride.head + w.i * p.o_stride.row;
  const T* const o = static_cast<const T*>(p.o) + at;
  const T* const d_o = static_cast<const T*>(p.d_o) + at;
  float* const dq_acc = static_cast<float*>(p.workspace) + w.r * kHeadDim;
  float sum = 0.0f;
#pragma unroll
  for (int c = 0; c < kCols; ++c) {
    sum += element_traits<T>::to_float(o[lane + 32 * c]) * element_traits<T>::to_float(d_o[lane + 32 * c]);
    dq_acc[lane + 32 * c] = 0.0f;
  }
#pragma unroll
  for (int off = 16; off > 0; off /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, off);
  if (lane == 0) static_cast<float*>(p.workspace)[w.rows * kHeadDim + w.r] = sum;
}

// Kernel 3: dQ = scale * accumulator, one warp per query row.
template <int kHeadDim, typename T>
__global__ void __launch_bounds__(128) fa2_bwd_convert_dq(const AttentionParams p) {
  constexpr int kCols = kHeadDim / 32;
  const int lane = threadIdx.x % 32;
  const BwdRow w = bwd_row(p);
  if (!w.valid) return;
  const float scale = p.scale_log2 * 0.69314718055994530942f;  // the softmax scale
  const float* const acc = static_cast<const float*>(p.workspace) + w.r * kHeadDim;
  T* const dq =
      static_cast<T*>(p.d_q) + w.b * p.q_stride.batch + w.h * p.q_stride.head + w.i * p.q_stride.row;
#pragma unroll
  for (int c = 0; c < kCols; ++c) {
    if constexpr (element_traits<T>::is_bf16)
      dq[lane + 32 * c] = __float2bfloat16(acc[lane + 32 * c] * scale);
    else
      dq[lane + 32 * c] = __float2half(acc[lane + 32 * c] * scale);
  }
}

// Kernel 2. p.scale_log2 is the softmax scale times log2(e) (no softcap): dK's factor is recovered from it.
template <class Tr, bool kCausal, typename T, int kVariant = 0>
__global__ void __launch_bounds__(Tr::kThreads, 1) fa2_bwd(const AttentionParams p) {
  static_assert((kVariant & ~3) == 0, "fa2_bwd runs variant bits 1 (general) and 2 (window) only");
  constexpr int kBlockM = Tr::kBlockM;
  constexpr int kBlockN = Tr::kBlockN;
  constexpr int kHeadDim = Tr::kHeadDim;
  constexpr int kThreads = Tr::kThreads;
  constexpr int kKT = Tr::kKTiles;
  constexpr float kLog2e = 1.4426950408889634f;
  using DsTile = SwizzledTile<kBlockM>;
  using A = WarpAddrs<kHeadDim>;
  using ADs = WarpAddrs<kBlockM>;
  constexpr int kQSub = 32;             // queries per slice of the inner loop
  constexpr int kSubTiles = kQSub / 8;  // its n8 tiles of S^T

  extern __shared__ __align__(1024) unsigned char smem_raw[];
  using Smem = Fa2BwdSmem<Tr, T>;
  static_assert(sizeof(Smem) == Tr::kSmemBytes, "the typed layout and kSmemBytes disagree");
  Smem& smem = *reinterpret_cast<Smem*>(smem_raw);

  const int tid = threadIdx.x;
  const int warp = tid / 32;
  const int lane = tid % 32;
  const int g = lane / 4;
  const int c = lane % 4;
  const int k0 = blockIdx.x * kBlockN;
  const int b = blockIdx.y / p.kv_heads;
  const int kvh = blockIdx.y % p.kv_heads;
  const int group = p.heads / p.kv_heads;
  const int seqlen = p.seqlen;
  const int seqlen_k = p.seqlen_k;
  const KeyMask mask{seqlen_k, seqlen_k - seqlen, (kVariant & 2) ? p.window_left : -1,
                     (kVariant & 2) ? p.window_right : -1};
  const int q_lo = mask.lo_query(k0, kCausal);
  const int q_hi = mask.hi_query(k0, kBlockN, seqlen);
  const int first_tile = q_lo / kBlockM;
  const int end_tile = q_hi > q_lo ? (q_hi + kBlockM - 1) / kBlockM : first_tile;
  const int warp_key0 = warp * Tr::kKeyRows;  // the warp's first key row in the tile

  const T* const K = static_cast<const T*>(p.k) + b * p.k_stride.batch + kvh * p.k_stride.head;
  const T* const V = static_cast<const T*>(p.v) + b * p.v_stride.batch + kvh * p.v_stride.head;
  const long long rows = static_cast<long long>(p.batch) * p.heads * seqlen;
  float* const dq_acc_all = static_cast<float*>(p.workspace);
  const float* const d_all = dq_acc_all + rows * kHeadDim;

  // Addresses: ka reads K as A, Q as n-major B, dO through .trans; va reads V as A, dO as n-major B, Q
  // through .trans; kb reads K through .trans (dQ's B); dsa reads dS^T as dQ's A (through .trans).
  const A ka(smem.k, smem.q, smem.d_o, warp_key0, lane);
  const A va(smem.v, smem.d_o, smem.q, warp_key0, lane);
  const A kb(smem.k, smem.k, smem.k, 0, lane);
  const ADs dsa(smem.ds, smem.ds, smem.ds, 0, lane);

  // Query tile `it` (counted over the group's heads and the tiles [first_tile, end_tile)) into shared memory:
  // Q and dO by cp.async, LSE * log2(e) and D by plain loads.
  const int tiles_per_head = end_tile - first_tile;
  auto tile_head = [&](int it) { return kvh * group + it / tiles_per_head; };
  auto tile_q0 = [&](int it) { return (first_tile + it % tiles_per_head) * kBlockM; };
  auto load_query_tile = [&](int it) {
    const int h = tile_head(it), q0 = tile_q0(it);
    const T* const Q = static_cast<const T*>(p.q) + b * p.q_stride.batch + h * p.q_stride.head;
    const T* const dO = static_cast<const T*>(p.d_o) + b * p.o_stride.batch + h * p.o_stride.head;
    load_tile_async<kHeadDim, kBlockM, kThreads>(smem.q, Q, q0, seqlen, tid, p.q_stride.row);
    load_tile_async<kHeadDim, kBlockM, kThreads>(smem.d_o, dO, q0, seqlen, tid, p.o_stride.row);
    cp_async_commit();
    const long long bh = static_cast<long long>(b) * p.heads + h;
    for (int i = tid; i < kBlockM; i += kThreads) {
      const int q = q0 + i;
      const float lse = q < seqlen ? p.lse[bh * seqlen + q] : neg_infinity();
      // A row with no key (LSE = -inf) or past seqlen: +inf makes its P exactly 0.
      smem.lse2[i] = lse == neg_infinity() ? -neg_infinity() : lse * kLog2e;
      smem.dd[i] = q < seqlen ? d_all[bh * seqlen + q] : 0.0f;
    }
  };

  float dk[kKT][Tr::kDTiles][4];
  float dv[kKT][Tr::kDTiles][4];
#pragma unroll
  for (int kt = 0; kt < kKT; ++kt)
#pragma unroll
    for (int dt = 0; dt < Tr::kDTiles; ++dt)
#pragma unroll
      for (int e = 0; e < 4; ++e) dk[kt][dt][e] = dv[kt][dt][e] = 0.0f;

  const int n_tiles = tiles_per_head * group;
  load_tile_async<kHeadDim, kBlockN, kThreads>(smem.k, K, k0, seqlen_k, tid, p.k_stride.row);
  load_tile_async<kHeadDim, kBlockN, kThreads>(smem.v, V, k0, seqlen_k, tid, p.v_stride.row);
  cp_async_commit();
  if (n_tiles > 0) load_query_tile(0);

  for (int it = 0; it < n_tiles; ++it) {
    cp_async_wait<0>();
    __syncthreads();  // Q_i, dO_i, LSE_i, D_i (and K, V) resident; every warp is done with the last dQ step
    const int h = tile_head(it), q0 = tile_q0(it);

    // The tile's queries in slices of kQSub: S^T and dP^T of one slice live at a time.
    const bool needs_mask = mask.block_needs_mask(k0, kBlockN, q0, q0 + kBlockM - 1, kCausal);
#pragma unroll 1
    for (int qb = 0; qb < kBlockM / kQSub; ++qb) {
      const int q16 = qb * (kQSub / 16);  // the slice's first 16-query step
      // S^T = K_j Q^T and dP^T = V_j dO^T on the warp's key rows and the slice's queries.
      float s[kKT][kSubTiles][4];
      float dpt[kKT][kSubTiles][4];
#pragma unroll
      for (int kt = 0; kt < kKT; ++kt)
#pragma unroll
        for (int nt = 0; nt < kSubTiles; ++nt)
#pragma unroll
          for (int e = 0; e < 4; ++e) s[kt][nt][e] = dpt[kt][nt][e] = 0.0f;
#pragma unroll
      for (int ks = 0; ks < Tr::kDSteps; ++ks) {
        warp_mma_step_nt<kKT, kSubTiles, kHeadDim, T>(s, ka.q, ka.k, ks, q16);
        warp_mma_step_nt<kKT, kSubTiles, kHeadDim, T>(dpt, va.q, va.k, ks, q16);
      }
      // P^T (0 where masked) and dS^T = P^T (dP^T - D), packed at once into the A fragments of the k16
      // steps over the slice's queries (the accumulator layout of tiles 2qs, 2qs + 1): element e of tile
      // (kt, nt) is key warp_key0 + 16 kt + g + 8 (e / 2), query 16 q16 + nt * 8 + 2c + e % 2.
      unsigned pk[kKT][kSubTiles / 2][4];
      unsigned dsk[kKT][kSubTiles / 2][4];
#pragma unroll
      for (int kt = 0; kt < kKT; ++kt)
#pragma unroll
        for (int nt = 0; nt < kSubTiles; ++nt) {
          float pe[4], de[4];
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            const int qi = 16 * q16 + nt * 8 + 2 * c + (e & 1);
            const int key = k0 + warp_key0 + kt * 16 + g + (e >> 1) * 8;
            const bool masked = needs_mask && mask.masked(key, q0 + qi, kCausal);
            pe[e] = masked ? 0.0f : fast_exp2(s[kt][nt][e] * p.scale_log2 - smem.lse2[qi]);
            de[e] = pe[e] * (dpt[kt][nt][e] - smem.dd[qi]);
          }
          // Tile nt is half (nt % 2) of k16 step nt / 2: registers 0, 1 (even) or 2, 3 (odd).
          pk[kt][nt / 2][2 * (nt % 2)] = element_traits<T>::pack2(pe[0], pe[1]);
          pk[kt][nt / 2][2 * (nt % 2) + 1] = element_traits<T>::pack2(pe[2], pe[3]);
          dsk[kt][nt / 2][2 * (nt % 2)] = element_traits<T>::pack2(de[0], de[1]);
          dsk[kt][nt / 2][2 * (nt % 2) + 1] = element_traits<T>::pack2(de[2], de[3]);
        }
        // dV += P^T dO, dK += dS^T Q over the slice's queries; dS^T to shared memory for dQ.
#pragma unroll
      for (int qs = 0; qs < kSubTiles / 2; ++qs) {
#pragma unroll
        for (int kt = 0; kt < kKT; ++kt) {
          if constexpr (Tr::kDqMode == 1) break;  // dQ has a pass of its own
          const int row = warp_key0 + kt * 16 + g;
          const int col = 16 * (q16 + qs) + 2 * c;
          *reinterpret_cast<unsigned*>(smem.ds + DsTile::offset(row, col)) = dsk[kt][qs][0];
          *reinterpret_cast<unsigned*>(smem.ds + DsTile::offset(row + 8, col)) = dsk[kt][qs][1];
          *reinterpret_cast<unsigned*>(smem.ds + DsTile::offset(row, col + 8)) = dsk[kt][qs][2];
          *reinterpret_cast<unsigned*>(smem.ds + DsTile::offset(row + 8, col + 8)) = dsk[kt][qs][3];
        }
#pragma unroll
        for (int dp = 0; dp < Tr::kDTiles / 2; ++dp) {
          unsigned bo[4], bq[4];
          ldmatrix_x4_trans(bo, A::at(ka.v, dp, q16 + qs, 0));
          ldmatrix_x4_trans(bq, A::at(va.v, dp, q16 + qs, 0));
#pragma unroll
          for (int kt = 0; kt < kKT; ++kt) {
            mma_m16n8k16<T>(dv[kt][2 * dp], pk[kt][qs], bo[0], bo[1]);
            mma_m16n8k16<T>(dv[kt][2 * dp + 1], pk[kt][qs], bo[2], bo[3]);
            mma_m16n8k16<T>(dk[kt][2 * dp], dsk[kt][qs], bq[0], bq[1]);
            mma_m16n8k16<T>(dk[kt][2 * dp + 1], dsk[kt][qs], bq[2], bq[3]);
          }
        }
      }
    }
    __syncthreads();  // dS^T complete; no warp reads Q_i, dO_i, LSE_i or D_i any more
    if (it + 1 < n_tiles) load_query_tile(it + 1);

    if constexpr (Tr::kDqMode == 1) continue;  // dQ has a pass of its own
    // dQ_i += dS K_j on the warp's m-tiles and n8 tiles, into the fp32 accumulator.
    float* const dq_acc = dq_acc_all + ((static_cast<long long>(b) * p.heads + h) * seqlen + q0) *
                                           static_cast<long long>(kHeadDim);
#pragma unroll
    for (int t = 0; t < Tr::kDqTilesPerWarp; ++t) {
      const int mq = Tr::kDqTilesPerWarp > 1 ? warp + t * Tr::kWarps : warp % Tr::kQSteps;
      const int dt0 = Tr::kDqTilesPerWarp > 1 ? 0 : (warp / Tr::kQSteps) * Tr::kDqDTiles;
#pragma unroll 1
      for (int dg = 0; dg < Tr::kDqDTiles / 4; ++dg) {
        float acc[4][4];
#pragma unroll
        for (int n = 0; n < 4; ++n) acc[n][0] = acc[n][1] = acc[n][2] = acc[n][3] = 0.0f;
#pragma unroll
        for (int ks = 0; ks < Tr::kNSteps; ++ks) {
          unsigned a[4];
          ldmatrix_x4_trans(a, ADs::at(dsa.k, mq, ks, 0));
#pragma unroll
          for (int pair = 0; pair < 2; ++pair) {
            unsigned bk[4];
            ldmatrix_x4_trans(bk, A::at(kb.v, (dt0 + 4 * dg) / 2 + pair, ks, 0));
            mma_m16n8k16<T>(acc[2 * pair], a, bk[0], bk[1]);
            mma_m16n8k16<T>(acc[2 * pair + 1], a, bk[2], bk[3]);
          }
        }
#pragma unroll
        for (int n = 0; n < 4; ++n)
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            const int q = mq * 16 + g + (e >> 1) * 8;
            const int col = (dt0 + 4 * dg + n) * 8 + 2 * c + (e & 1);
            if (q0 + q < seqlen) atomicAdd(dq_acc + q * kHeadDim + col, acc[n][e]);
          }
      }
    }
  }

  // dK = scale * dS^T Q and dV, rows inside the keys, at K's and V's strides.
  const float scale = p.scale_log2 * 0.69314718055994530942f;
  T* const dK = static_cast<T*>(p.d_k) + b * p.k_stride.batch + kvh * p.k_stride.head;
  T* const dV = static_cast<T*>(p.d_v) + b * p.v_stride.batch + kvh * p.v_stride.head;
#pragma unroll
  for (int kt = 0; kt < kKT; ++kt)
#pragma unroll
    for (int hh = 0; hh < 2; ++hh) {
      const int key = k0 + warp_key0 + kt * 16 + g + 8 * hh;
      if (key >= seqlen_k) continue;
#pragma unroll
      for (int dt = 0; dt < Tr::kDTiles; ++dt) {
        const int col = dt * 8 + 2 * c;
        *reinterpret_cast<unsigned*>(dK + key * p.k_stride.row + col) =
            element_traits<T>::pack2(dk[kt][dt][2 * hh] * scale, dk[kt][dt][2 * hh + 1] * scale);
        *reinterpret_cast<unsigned*>(dV + key * p.v_stride.row + col) =
            element_traits<T>::pack2(dv[kt][dt][2 * hh], dv[kt][dt][2 * hh + 1]);
      }
    }
  cp_async_wait<0>();  // a CTA without query tiles still has K and V in flight
}

}  // namespace flashtune
