#pragma once
// FlashAttention-2 forward (Dao 2023, Algorithm 1), tensor cores via mma.sync m16n8k16.
//
// Loop order: one CTA per (query tile of kBlockM rows, batch*head); it walks the key/value tiles of kBlockN
// rows in order, keeping O, the running row max and the running row sum in registers, and writes O and the
// log-sum-exp once. Each warp owns kBlockM / kWarps query rows (one or more 16-row MMA tiles), so the warps
// never exchange data: the only barriers guard the shared K/V ring buffer. The per-warp steps (S = Q K^T,
// mask, online softmax, O += P V) live in common/fa2_warp_ops.cuh.
//
// Two loop schedules (kPipeline):
//  0: per tile j: S_j = Q K_j^T, softmax, O += P_j V_j. K and V stream through a ring of kStages stages with
//     cp.async, each tile its own commit group, so S_j can start while V_j is still arriving; two barriers
//     per tile. One stage: V_j loads under S_j and the softmax, K_{j+1} under P_j V_j (FlashAttention-2's
//     order).
//  1: software-pipelined across tiles: S_{j+1} = Q K_{j+1}^T is issued before O += P_j V_j, and the softmax
//     of tile j+1 follows in the same basic block, so the exponentials of one tile overlap the tensor-core
//     work of the other within a warp. K runs one tile ahead of V through the ring (each commit group is
//     {K_{j+1}, V_j}); one barrier per tile. Needs kStages >= 2.
//
// kFusePv 1 (pipeline 0): the V barrier comes before the softmax, and the softmax and P V run as one block,
// k16 step by step (warp_softmax_pv), so a warp's exponentials issue under its own tensor-core work.
// kLazy: O *= alpha every tile (0), skipped when no row max of the warp grew (1), or (2) skipped unless some
// row's max outgrew its exponent base by more than 2^8, which after the first tiles almost never happens:
// the row-max reduction then ends in one warp vote.
//
// Q's fragments stay in registers (kQRegs 1), are re-read from shared memory for every tile (0), or the
// template picks registers when they cost <= 32 of them (2). kMinBlocks is __launch_bounds__'s minimum CTAs
// per SM: above 1 it caps the registers (65536 / (threads * kMinBlocks)) to buy occupancy, maybe with spills.
//
// head_dim 64, 96 or 128. 96 (12 chunks of 16 bytes a row) is stored in 32-column panels with a 4-chunk
// swizzle (common/swizzle.cuh's SwizzledTile<96>) and copied panel by panel (load_tile_async_96); the warp
// steps are the same, 6 k16 steps of Q K^T and 12 n8 tiles of O.
//
// Causal: query tiles are scheduled longest-first (reverse order), tiles strictly above the diagonal are
// never loaded, and only tiles that cross the diagonal or the ragged end pay for the element mask.
#include "attention_params.h"
#include "block_range.h"
#include "block_sparse.h"
#include "cp_async.cuh"
#include "device_types.cuh"
#include "fa2_warp_ops.cuh"
#include "kernel_limits.h"
#include "mma.cuh"
#include "online_softmax.cuh"
#include "sequence.cuh"
#include "smem_bytes.h"
#include "swizzle.cuh"
#include "swizzled_load.cuh"
#include "tile_scheduler.cuh"

namespace flashtune {

// Every compile-time parameter of fa2_fwd, in the order of the host's name expression
// (kernels/fa2_config.cpp): fa2_fwd<Fa2Traits<block_m, block_n, head_dim, warps, stages, q_regs, pipeline,
// min_blocks, lazy_rescale, persistent, fuse_pv>, causal, T>.
template <int kBlockM_, int kBlockN_, int kHeadDim_, int kWarps_, int kStages_, int kQRegs = 2,
          int kPipeline = 0, int kMinBlocks_ = 1, int kLazy = 0, int kPersistent_ = 0, int kFusePv_ = 0,
          int kSplits_ = 1>
struct Fa2Traits {
  static constexpr int kBlockM = kBlockM_;
  static constexpr int kBlockN = kBlockN_;
  static constexpr int kHeadDim = kHeadDim_;
  static constexpr int kWarps = kWarps_;
  static constexpr int kStages = kStages_;
  static constexpr int kMinBlocks = kMinBlocks_;  // __launch_bounds__' minimum CTAs per SM
  static constexpr bool kPersistent = kPersistent_ == 1;
  static constexpr int kThreads = kWarps * 32;
  static constexpr int kRowsPerWarp = kBlockM / kWarps;
  static constexpr int kMTiles = kRowsPerWarp / 16;  // 16-row MMA tiles per warp
  static constexpr int kNTiles = kBlockN / 8;        // n8 tiles of S = Q K^T per warp
  static constexpr int kDTiles = kHeadDim / 8;       // n8 tiles of O per warp
  static constexpr int kQKSteps = kHeadDim / 16;     // k16 steps of Q K^T
  static constexpr int kPVSteps = kBlockN / 16;      // k16 steps of P V
  static constexpr int kQElems = kBlockM * kHeadDim;
  static constexpr int kKVElems = kBlockN * kHeadDim;
  static constexpr int kQBuffers = kPersistent ? 2 : 1;  // the O tile is staged in a Q buffer on the way out
  static constexpr int kSmemBytes = fa2_smem_bytes(kBlockM, kBlockN, kHeadDim, kStages, kPersistent);
  static constexpr bool kQInRegisters = kQRegs == 2 ? kMTiles * kQKSteps * 4 <= 32 : kQRegs == 1;
  static constexpr int kQFragM = kQInRegisters ? kMTiles : 1;
  static constexpr int kQFragK = kQInRegisters ? kQKSteps : 1;
  static constexpr bool kPipelined = kPipeline == 1;
  static constexpr bool kLazyRescale = kLazy >= 1;  // skip O *= alpha when no row max grew (fa2_warp_ops.cuh)
  // lazy_rescale 2: a row's exponent base moves only when its max outgrows it by more than this (log2
  // units), so probabilities reach at most 2^8 and after the first tiles O is almost never rescaled.
  static constexpr float kRescaleSlack = kLazy == 2 ? 8.0f : 0.0f;
  static constexpr bool kFusePv = kFusePv_ == 1;  // softmax and P V in one block (warp_softmax_pv)
  // Split-K/V ("flash-decoding"): the key blocks of a query tile are split over kSplits CTAs (blockIdx.z),
  // each writing its normalized partial O and its LSE to the workspace; fa2_combine merges them.
  static constexpr int kSplits = kSplits_;

  static_assert(kHeadDim == 64 || kHeadDim == 96 || kHeadDim == 128, "head_dim must be 64, 96 or 128");
  static_assert(kWarps >= 1 && kThreads <= 1024, "1..32 warps");
  static_assert(kBlockM % (16 * kWarps) == 0,
                "each warp owns whole 16-row MMA tiles: kBlockM % (16*kWarps) == 0");
  static_assert(kMTiles <= 4, "at most 64 query rows per warp (register budget)");
  static_assert(kBlockN % 16 == 0 && kBlockN >= 16, "kBlockN must be a multiple of 16");
  static_assert(kStages >= 1 && kStages <= 4, "1..4 pipeline stages");
  static_assert(kMinBlocks >= 1 && kMinBlocks <= 4, "min_blocks: 1..4 CTAs per SM");
  static_assert(kQRegs >= 0 && kQRegs <= 2, "q_regs: 0 shared memory, 1 registers, 2 automatic");
  static_assert(kPipeline == 0 || kPipeline == 1, "pipeline: 0 or 1");
  static_assert(kLazy >= 0 && kLazy <= 2, "lazy_rescale: 0, 1 or 2");
  static_assert(!kPipelined || kStages >= 2, "the pipelined schedule needs kStages >= 2");
  static_assert(kPersistent_ == 0 || kPersistent_ == 1, "persistent: 0 or 1");
  static_assert(!kPersistent || (kStages == 1 && !kPipelined), "persistent needs stages 1 and pipeline 0");
  static_assert(kFusePv_ == 0 || kFusePv_ == 1, "fuse_pv: 0 or 1");
  static_assert(kSplits >= 1 && kSplits <= 64, "splits: 1..64");
  static_assert(kSplits == 1 || (!kPipelined && !kPersistent), "splits needs pipeline 0 and persistent 0");
  static_assert(!kFusePv || (!kPipelined && !kPersistent), "fuse_pv needs pipeline 0 and persistent 0");
  static_assert(kSmemBytes <= kSmemOptinBytes,
                "tiles exceed the 227 KiB shared-memory opt-in limit of sm_90");
};

// The shared memory of fa2_fwd, typed: its size is the host's fa2_smem_bytes (smem_bytes.h).
template <class Tr, typename T>
struct Fa2Smem {
  T q[Tr::kQBuffers][Tr::kQElems];
  T k[Tr::kStages][Tr::kKVElems];
  T v[Tr::kStages][Tr::kKVElems];
};

// Epilogue of one query tile: normalize O, stage it through shared memory (sO, a Q tile no warp reads any
// more) for 16-byte coalesced stores, write the log-sum-exp. O and lse point at the tile's head (O's rows
// o_row elements apart); q0 is its first query row.
template <class Tr, typename T, typename RowStride = FixedStride<Tr::kHeadDim>>
__device__ __forceinline__ void store_o_tile(const float (&o)[Tr::kMTiles][Tr::kDTiles][4],
                                             const RowState (&row)[Tr::kMTiles][2], T* sO, T* O, float* lse,
                                             int q0, int seqlen, int warp_row0, int tid,
                                             RowStride o_row = {}) {
  using Tile = SwizzledTile<Tr::kHeadDim>;
  const int lane = tid % 32;
  const int g = lane / 4;
  const int c = lane % 4;
#pragma unroll
  for (int mt = 0; mt < Tr::kMTiles; ++mt)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const float total = quad_sum(row[mt][h].sum);
      const float inv = total > 0.0f ? 1.0f / total : 0.0f;
      const int r = warp_row0 + mt * 16 + g + 8 * h;
#pragma unroll
      for (int dt = 0; dt < Tr::kDTiles; ++dt) {
        *reinterpret_cast<unsigned*>(sO + Tile::offset(r, dt * 8 + 2 * c)) =
            element_traits<T>::pack2(o[mt][dt][2 * h] * inv, o[mt][dt][2 * h + 1] * inv);
      }
      if (c == 0 && q0 + r < seqlen) lse[q0 + r] = row_lse(row[mt][h].max, total);
    }
  __syncthreads();
  constexpr int kOutChunks = Tr::kBlockM * Tile::kChunksPerRow;
#pragma unroll
  for (int i = tid; i < kOutChunks; i += Tr::kThreads) {
    const int r = i / Tile::kChunksPerRow;
    const int ch = i % Tile::kChunksPerRow;
    if (q0 + r < seqlen) {
      *reinterpret_cast<uint4*>(O + static_cast<long long>(q0 + r) * o_row + ch * 8) =
          *reinterpret_cast<const uint4*>(sO + Tile::chunk_offset(r, ch));
    }
  }
}

// The persistent schedule (Tr::kPersistent; one stage, tile by tile): gridDim.x CTAs take the query tiles of
// the TileScheduler. The K/V stream runs on across tiles: the last iteration of a tile loads the next tile's
// K_0, and its first iteration the next tile's Q into the other of two Q buffers, so a CTA starts its next
// tile with both resident instead of paying a CTA launch and the Q/K latency per tile. The kernel sits at
// 255 registers: the only state carried across tiles is (t, round), the next tile is recomputed where it is
// needed, and the loaders' per-thread addresses are recomputed at every call (opaque); hoisted and kept live
// across the tile loop they spilled the softmax state (run 18).
template <class Tr, bool kCausal, typename T>
__device__ __forceinline__ void fa2_persistent(const AttentionParams& p, Fa2Smem<Tr, T>& smem) {
  constexpr int kHeadDim = Tr::kHeadDim;
  constexpr int kBlockM = Tr::kBlockM;
  constexpr int kBlockN = Tr::kBlockN;
  constexpr int kThreads = Tr::kThreads;
  constexpr int kMT = Tr::kMTiles;
  constexpr int kQBytes = Tr::kQElems * 2;
  const int tid = threadIdx.x;
  const int warp = tid / 32;
  const int lane = tid % 32;
  const int seqlen = p.seqlen;
  const TileScheduler<kBlockM, kBlockN, kCausal, true> sched(p);
  const int warp_row0 = warp * Tr::kRowsPerWarp;
  WarpAddrs<kHeadDim> addr(smem.q[0], smem.k[0], smem.v[0], warp_row0, lane);

  auto head = [&](const void* base, int bh) {
    return static_cast<const T*>(base) + static_cast<long long>(opaque(bh)) * seqlen * kHeadDim;
  };
  auto load_q = [&](const QueryTile& tile, int buf) {
    load_tile_async<kHeadDim, kBlockM, kThreads>(smem.q[buf], head(p.q, tile.bh), tile.q0, seqlen,
                                                 opaque(tid));
  };
  auto load_kv = [&](T* dst, const void* src, int bh, int j) {
    load_tile_async<kHeadDim, kBlockN, kThreads>(dst, head(src, bh), j * kBlockN, seqlen, opaque(tid));
  };

  int t = sched.first();
  if (t >= sched.num_tiles) return;
  load_q(sched.tile(t), 0);
  load_kv(smem.k[0], p.k, sched.tile(t).bh, 0);
  cp_async_commit();
  for (int round = 0; t < sched.num_tiles; ++round, t += sched.step()) {
    const QueryTile tile = sched.tile(t);
    const int q0 = tile.q0;
    const int n_blocks = tile.n_blocks;
    const bool has_next = t + sched.step() < sched.num_tiles;
    float o[kMT][Tr::kDTiles][4];
    RowState row[kMT][2];
#pragma unroll
    for (int mt = 0; mt < kMT; ++mt) {
#pragma unroll
      for (int dt = 0; dt < Tr::kDTiles; ++dt)
        o[mt][dt][0] = o[mt][dt][1] = o[mt][dt][2] = o[mt][dt][3] = 0.0f;
      row[mt][0] = row[mt][1] = RowState{neg_infinity(), 0.0f};
    }
    unsigned q_frag[Tr::kQFragM][Tr::kQFragK][4];
    float s[kMT][Tr::kNTiles][4];
    unsigned pk[kMT][Tr::kPVSteps][4];
    float alpha[kMT][2];
    for (int j = 0; j < n_blocks; ++j) {
      cp_async_wait<0>();  // K_j (and this tile's Q) landed; every warp is done with V_{j-1} after the
                           // barrier
      __syncthreads();
      load_kv(smem.v[0], p.v, tile.bh, j);
      cp_async_commit();
      if constexpr (Tr::kQInRegisters) {
        if (j == 0) {
#pragma unroll
          for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
            for (int ks = 0; ks < Tr::kQKSteps; ++ks) load_q_frag<kHeadDim>(q_frag[mt][ks], addr, mt, ks);
        }
      }
      warp_qk<Tr, T>(s, q_frag, addr, 0);
      if (key_block_needs_mask<kBlockN, kCausal>(j, q0, seqlen))
        warp_mask<Tr, kCausal>(s, j * kBlockN, q0 + warp_row0, seqlen, lane);
      warp_softmax<Tr, T>(s, pk, row, alpha, p.scale_log2);
      warp_rescale<Tr>(o, alpha);
      cp_async_wait<0>();  // V_j landed; after the barrier every warp is done with K_j (and this tile's Q)
      __syncthreads();
      if (j + 1 < n_blocks) {
        load_kv(smem.k[0], p.k, tile.bh, j + 1);
      } else if (has_next) {
        load_kv(smem.k[0], p.k, sched.tile(t + sched.step()).bh, 0);
      }
      // The other Q buffer was the previous tile's O staging, read before the barrier above.
      if (j == 0 && has_next) load_q(sched.tile(t + sched.step()), (round & 1) ^ 1);
      cp_async_commit();
      warp_pv<Tr, T>(o, pk, addr, 0);
    }
    // No warp reads this tile's Q any more (the last Q K^T came before the last barrier): stage O there.
    const int buf = round & 1;
    store_o_tile<Tr, T>(o, row, smem.q[buf],
                        static_cast<T*>(p.o) + static_cast<long long>(tile.bh) * seqlen * kHeadDim,
                        p.lse + static_cast<long long>(tile.bh) * seqlen, q0, seqlen, warp_row0, tid);
    addr.q += buf ? -kQBytes : kQBytes;  // the next tile's Q buffer
  }
}

// Split-K/V workspace (fp32): the partial O of split z, row i of head bh at ((z * BH + bh) * seqlen + i) *
// head_dim, then every partial LSE at kSplits * BH * seqlen * head_dim + (z * BH + bh) * seqlen + i, where
// BH = batch * heads. A split that saw no key of a row leaves O = 0 and LSE = -inf there.
template <class Tr>
__device__ __forceinline__ void fa2_store_partial(const float (&o)[Tr::kMTiles][Tr::kDTiles][4],
                                                  const RowState (&row)[Tr::kMTiles][2],
                                                  const AttentionParams& p, unsigned bh, int q0, int len_q,
                                                  int warp_row0, int lane) {
  const long long rows = static_cast<long long>(p.batch) * p.heads * p.seqlen;
  const long long base = (static_cast<long long>(blockIdx.z) * p.batch * p.heads + bh) * p.seqlen;
  float* const ws = static_cast<float*>(p.workspace);
  float* const lse = ws + Tr::kSplits * rows * Tr::kHeadDim;
  const int g = lane / 4;
  const int c = lane % 4;
#pragma unroll
  for (int mt = 0; mt < Tr::kMTiles; ++mt)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const float total = quad_sum(row[mt][h].sum);
      const float inv = total > 0.0f ? 1.0f / total : 0.0f;
      const int r = q0 + warp_row0 + mt * 16 + g + 8 * h;
      if (r >= len_q) continue;
      float* const out = ws + (base + r) * Tr::kHeadDim;
#pragma unroll
      for (int dt = 0; dt < Tr::kDTiles; ++dt)
        *reinterpret_cast<float2*>(out + dt * 8 + 2 * c) =
            make_float2(o[mt][dt][2 * h] * inv, o[mt][dt][2 * h + 1] * inv);
      if (c == 0) lse[base + r] = row_lse(row[mt][h].max, total);
    }
}

// Merges the kSplits partials of every query row (fa2_store_partial's workspace) into O and the LSE: with
// m = max_z lse_z, O = sum_z e^(lse_z - m) O_z / sum_z e^(lse_z - m), LSE = m + log(sum_z e^(lse_z - m)); a
// row no split saw a key of gets O = 0, LSE = -inf. One warp per row, four rows per 128-thread block; O at
// the general problem's strides (kGeneral) or packed; kVarlen: rows past their sequence's length are skipped,
// O and LSE addressed by cu_seqlens_q.
template <int kHeadDim, int kSplits, bool kGeneral, typename T, bool kVarlen = false>
__global__ void __launch_bounds__(128) fa2_combine(const AttentionParams p) {
  constexpr int kCols = kHeadDim / 32;  // columns per lane: lane + 32 k
  const int lane = threadIdx.x % 32;
  const long long rows = static_cast<long long>(p.batch) * p.heads * p.seqlen;
  const long long r = static_cast<long long>(blockIdx.x) * 4 + threadIdx.x / 32;
  if (r >= rows) return;
  const long long bh = r / p.seqlen, i = r % p.seqlen;
  const Sequence seq = sequence_of<kVarlen>(p, static_cast<int>(bh / p.heads));
  if (kVarlen && i >= seq.len_q) return;
  const float* const ws = static_cast<const float*>(p.workspace);
  const float* const lse = ws + kSplits * rows * kHeadDim;
  float m = neg_infinity();
  for (int z = 0; z < kSplits; ++z) m = fmaxf(m, lse[z * rows + r]);
  float acc[kCols];
#pragma unroll
  for (int k = 0; k < kCols; ++k) acc[k] = 0.0f;
  float sum = 0.0f;
  if (m != neg_infinity()) {
    for (int z = 0; z < kSplits; ++z) {
      const float w = __expf(lse[z * rows + r] - m);
      if (w == 0.0f) continue;
      sum += w;
      const float* const part = ws + (z * rows + r) * kHeadDim;
#pragma unroll
      for (int k = 0; k < kCols; ++k) acc[k] += w * part[lane + 32 * k];
    }
  }
  const float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
  T* const o = kGeneral ? static_cast<T*>(p.o) + (bh / p.heads) * p.o_stride.batch +
                              (bh % p.heads) * p.o_stride.head + (seq.q_start + i) * p.o_stride.row
                        : static_cast<T*>(p.o) + r * kHeadDim;
#pragma unroll
  for (int k = 0; k < kCols; ++k) {
    if constexpr (element_traits<T>::is_bf16)
      o[lane + 32 * k] = __float2bfloat16(acc[k] * inv);
    else
      o[lane + 32 * k] = __float2half(acc[k] * inv);
  }
  const long long lse_at = kVarlen ? (bh % p.heads) * p.total_q + seq.q_start + i : r;
  if (lane == 0) p.lse[lse_at] = sum > 0.0f ? m + __logf(sum) : neg_infinity();
}

// Where one (batch, head)'s tensors start and their row strides: the plain problem's packed [batch * heads,
// seqlen, head_dim] tensors, or (kGeneral) AttentionParams' strides, key/value head h / (heads / kv_heads),
// from the sequence's first rows (varlen; 0 otherwise).
template <bool kGeneral, int kHeadDim, typename T>
struct HeadSlices {
  const T* q;
  const T* k;
  const T* v;
  T* o;
  long long q_row, k_row, v_row, o_row;

  __device__ __forceinline__ HeadSlices(const AttentionParams& p, unsigned bh, const Sequence& seq) {
    if constexpr (kGeneral) {
      const long long b = bh / p.heads, h = bh % p.heads, kvh = h / (p.heads / p.kv_heads);
      q = static_cast<const T*>(p.q) + b * p.q_stride.batch + h * p.q_stride.head +
          seq.q_start * p.q_stride.row;
      k = static_cast<const T*>(p.k) + b * p.k_stride.batch + kvh * p.k_stride.head +
          seq.k_start * p.k_stride.row;
      v = static_cast<const T*>(p.v) + b * p.v_stride.batch + kvh * p.v_stride.head +
          seq.k_start * p.v_stride.row;
      o = static_cast<T*>(p.o) + b * p.o_stride.batch + h * p.o_stride.head + seq.q_start * p.o_stride.row;
      q_row = p.q_stride.row;
      k_row = p.k_stride.row;
      v_row = p.v_stride.row;
      o_row = p.o_stride.row;
    } else {
      const long long head_offset = static_cast<long long>(bh) * p.seqlen * kHeadDim;
      q = static_cast<const T*>(p.q) + head_offset;
      k = static_cast<const T*>(p.k) + head_offset;
      v = static_cast<const T*>(p.v) + head_offset;
      o = static_cast<T*>(p.o) + head_offset;
      q_row = k_row = v_row = o_row = kHeadDim;
    }
  }
};

// Tr is a Fa2Traits. kVariant: the problem's variant (core/problem.hpp) as bits, 0 for the plain problem:
//   1  general addressing: kv_heads < heads, seqlen_k != seqlen (causal bottom-right), strided (bshd)
//   tensors; 2  a window (window_left / window_right); 4  softcap; 8  variable lengths (with 1): each CTA's
//   sequence from cu_seqlens, the grid sized by the longest, tiles past their sequence's end exit; 16
//   block-sparse: the key tiles of the layout's kept blocks only (common/block_sparse.h; its block a
//   multiple of kBlockM and kBlockN).
// Any bit: the key range and mask of block_range.h's KeyMask (rows without keys: O = 0, LSE = -inf); the
// persistent and pipelined schedules run the plain problem only.
template <class Tr, bool kCausal, typename T, int kVariant = 0>
__global__ void __launch_bounds__(Tr::kThreads, Tr::kMinBlocks) fa2_fwd(const AttentionParams p) {
  static_assert(kVariant >= 0 && kVariant <= 31,
                "kVariant: bits 1 general, 2 window, 4 softcap, 8 varlen, 16 block-sparse");
  static_assert((kVariant & 8) == 0 || (kVariant & 1) != 0, "varlen (8) needs the general addressing (1)");
  static_assert((kVariant & 24) != 24, "block-sparse (16) and varlen (8) do not combine");
  static_assert(kVariant == 0 || (!Tr::kPersistent && !Tr::kPipelined),
                "the variants run the one-tile, unpipelined schedule (persistent 0, pipeline 0)");
  constexpr bool kGeneral = (kVariant & 1) != 0;
  constexpr bool kKeyMask = (kVariant & 19) != 0;
  constexpr bool kSoftcap = (kVariant & 4) != 0;
  constexpr bool kVarlen = (kVariant & 8) != 0;
  constexpr bool kSparse = (kVariant & 16) != 0;
  constexpr bool kSplit = Tr::kSplits > 1;
  constexpr bool kPlainLoop = kVariant == 0 && !kSplit;  // the plain problem's code, byte for byte
  constexpr int kBlockM = Tr::kBlockM;
  constexpr int kBlockN = Tr::kBlockN;
  constexpr int kHeadDim = Tr::kHeadDim;
  constexpr int kStages = Tr::kStages;
  constexpr int kThreads = Tr::kThreads;
  constexpr int kMT = Tr::kMTiles;

  extern __shared__ __align__(1024) unsigned char smem_raw[];
  using Smem = Fa2Smem<Tr, T>;
  static_assert(sizeof(Smem) == Tr::kSmemBytes, "the typed layout and fa2_smem_bytes disagree");
  Smem& smem = *reinterpret_cast<Smem*>(smem_raw);
  if constexpr (Tr::kPersistent) {
    fa2_persistent<Tr, kCausal, T>(p, smem);
    return;
  }
  T* const sQ = smem.q[0];
  T* const sK = smem.k[0];
  T* const sV = smem.v[0];
  constexpr int kStageBytes = Tr::kKVElems * 2;

  const int tid = threadIdx.x;
  const int warp = tid / 32;
  const int lane = tid % 32;
  const QueryTile tile = TileScheduler<kBlockM, kBlockN, kCausal, false>(p).tile(0);
  const int q0 = tile.q0;
  const Sequence seq = sequence_of<kVarlen>(p, kVarlen ? static_cast<int>(tile.bh / p.heads) : 0);
  const int seqlen = kVarlen ? seq.len_q : p.seqlen;
  const int seqlen_k = kVarlen ? seq.len_k : p.seqlen_k;
  if constexpr (kVarlen) {
    if (q0 >= seqlen) return;  // the grid covers the longest sequence
  }
  // Key blocks j0 .. j0 + n_blocks - 1 (the plain problem: from 0); the loops count j from 0.
  const KeyMask mask{seqlen_k, seqlen_k - seqlen, (kVariant & 2) ? p.window_left : -1,
                     (kVariant & 2) ? p.window_right : -1};
  int j0 = 0, n_blocks = tile.n_blocks;
  if constexpr (kKeyMask) {
    j0 = mask.first_block(q0, kBlockM, kBlockN, kCausal);
    n_blocks = mask.last_block(q0, kBlockM, kBlockN, kCausal) - j0;
  }
  // Block-sparse: j0 and n_blocks count positions of the layout row's list of key tiles (key_block).
  SparseKeyBlocks sparse{nullptr, 0, 1};
  if constexpr (kSparse) {
    sparse =
        sparse_key_blocks(p.sparse_counts, p.sparse_cols, p.sparse_cols_per_row, p.sparse_block, q0, kBlockN);
    const int first = sparse.position(j0);
    n_blocks = sparse.position(j0 + n_blocks) - first;
    j0 = first;
  }
  if constexpr (kSplit) {  // this CTA's share: blocks [z * per, (z + 1) * per) of the tile's range
    const int per = (n_blocks + Tr::kSplits - 1) / Tr::kSplits;
    const int first = static_cast<int>(blockIdx.z) * per;
    j0 += first;
    n_blocks = max(0, min(per, n_blocks - first));
  }
  const HeadSlices<kGeneral, kHeadDim, T> head(p, tile.bh, seq);
  const long long head_offset = static_cast<long long>(tile.bh) * seqlen * kHeadDim;
  const T* const Q = kGeneral ? head.q : static_cast<const T*>(p.q) + head_offset;
  const T* const K = kGeneral ? head.k : static_cast<const T*>(p.k) + head_offset;
  const T* const V = kGeneral ? head.v : static_cast<const T*>(p.v) + head_offset;
  T* const O = kGeneral ? head.o : static_cast<T*>(p.o) + head_offset;
  const int warp_row0 = warp * Tr::kRowsPerWarp;
  const WarpAddrs<kHeadDim> addr(sQ, sK, sV, warp_row0, lane);

  // The key tile of the CTA's j-th block: j0 + j, or (block-sparse) the list's.
  auto key_block = [&](int j) {
    if constexpr (kSparse)
      return sparse.key_block(j0 + j);
    else
      return j0 + j;
  };
  // Key/value block j of the CTA's range into its ring stage (nothing past the range).
  auto load_kv = [&](T* ring, const T* src, long long row_stride, int j) {
    if constexpr (kPlainLoop) {
      if (j < n_blocks)
        load_tile_async<kHeadDim, kBlockN, kThreads>(ring + (j % kStages) * Tr::kKVElems, src, j * kBlockN,
                                                     seqlen, tid);
    } else if (j < n_blocks) {
      load_tile_async<kHeadDim, kBlockN, kThreads>(ring + (j % kStages) * Tr::kKVElems, src,
                                                   key_block(j) * kBlockN, seqlen_k, tid, row_stride);
    }
  };
  auto load_k = [&](int j) { load_kv(sK, K, head.k_row, j); };
  auto load_v = [&](int j) { load_kv(sV, V, head.v_row, j); };
  // The variants' S_j: (softcap) the cap, then the mask where block j needs one.
  auto cap_and_mask = [&](auto& s, int j) {
    if constexpr (kSoftcap) warp_softcap<Tr>(s, p.softcap, p.softcap_scale);
    if constexpr (kKeyMask) {
      const int k0 = key_block(j) * kBlockN;
      if (mask.block_needs_mask(k0, kBlockN, q0, q0 + kBlockM - 1, kCausal))
        warp_mask_general<Tr, kCausal>(s, k0, q0 + warp_row0, mask, lane);
    } else {
      if (key_block_needs_mask<kBlockN, kCausal>(j0 + j, q0, seqlen))
        warp_mask<Tr, kCausal>(s, (j0 + j) * kBlockN, q0 + warp_row0, seqlen, lane);
    }
  };

  float o[kMT][Tr::kDTiles][4];
  RowState row[kMT][2];
#pragma unroll
  for (int mt = 0; mt < kMT; ++mt) {
#pragma unroll
    for (int dt = 0; dt < Tr::kDTiles; ++dt) o[mt][dt][0] = o[mt][dt][1] = o[mt][dt][2] = o[mt][dt][3] = 0.0f;
    row[mt][0] = row[mt][1] = RowState{neg_infinity(), 0.0f};
  }
  unsigned q_frag[Tr::kQFragM][Tr::kQFragK][4];
  auto load_q_registers = [&] {
    if constexpr (Tr::kQInRegisters) {
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
        for (int ks = 0; ks < Tr::kQKSteps; ++ks) load_q_frag<kHeadDim>(q_frag[mt][ks], addr, mt, ks);
    }
  };
  float s[kMT][Tr::kNTiles][4];
  unsigned pk[kMT][Tr::kPVSteps][4];
  float alpha[kMT][2];
  const int row0 = q0 + warp_row0;

  if constexpr (!Tr::kPipelined) {
    // Prologue: Q joins the first group; tiles 0 .. kStages-2 are put in flight, one group for K, one for V
    // (one stage: the group {Q, K_0}).
    if constexpr (kGeneral)
      load_tile_async<kHeadDim, kBlockM, kThreads>(sQ, Q, q0, seqlen, tid, head.q_row);
    else
      load_tile_async<kHeadDim, kBlockM, kThreads>(sQ, Q, q0, seqlen, tid);
    if constexpr (kStages == 1) {
      load_k(0);
      cp_async_commit();
    }
#pragma unroll
    for (int t = 0; t < kStages - 1; ++t) {
      load_k(t);
      cp_async_commit();
      load_v(t);
      cp_async_commit();
    }
    for (int j = 0; j < n_blocks; ++j) {
      const int stage = j % kStages;
      if constexpr (kStages == 1) {
        // FlashAttention-2's single-buffer order: K_j (issued before P_{j-1} V_{j-1}) and Q landed; after the
        // barrier every warp is done with V_{j-1}, so V_j loads under S_j = Q K_j^T and the softmax.
        cp_async_wait<0>();
        __syncthreads();
        load_v(j);
        cp_async_commit();
      } else {
        // K_j (and Q) landed; V_j and later tiles may still be in flight. After the barrier every warp is
        // done with tile j-1, so its stage takes tile j + kStages - 1: two barriers per tile, not three.
        cp_async_wait<2 * kStages - 3>();
        __syncthreads();
        load_k(j + kStages - 1);
        cp_async_commit();
        load_v(j + kStages - 1);
        cp_async_commit();
      }
      if (j == 0) load_q_registers();
      warp_qk<Tr, T>(s, q_frag, addr, stage * kStageBytes);
      if constexpr (kPlainLoop) {
        if (key_block_needs_mask<kBlockN, kCausal>(j, q0, seqlen))
          warp_mask<Tr, kCausal>(s, j * kBlockN, row0, seqlen, lane);
      } else {
        cap_and_mask(s, j);
      }
      // V_j landed; after the barrier every warp is done with K_j (one stage: K_{j+1} loads under P_j V_j).
      // fuse_pv 1 takes this barrier before the softmax so that softmax and P V form one basic block.
      auto v_ready = [&] {
        cp_async_wait<kStages == 1 ? 0 : 2 * kStages - 2>();
        __syncthreads();
        if constexpr (kStages == 1) {
          load_k(j + 1);
          cp_async_commit();
        }
      };
      if constexpr (Tr::kFusePv) {
        v_ready();
        warp_softmax_pv<Tr, T>(s, o, row, addr, stage * kStageBytes, p.scale_log2);
      } else {
        warp_softmax<Tr, T>(s, pk, row, alpha, p.scale_log2);
        warp_rescale<Tr>(o, alpha);
        v_ready();
        warp_pv<Tr, T>(o, pk, addr, stage * kStageBytes);
      }
    }
  } else {
    // Prologue: group {Q, K_0}, then groups {K_{t+1}, V_t} for t < kStages-1; S_0 and its softmax.
    if constexpr (kGeneral)
      load_tile_async<kHeadDim, kBlockM, kThreads>(sQ, Q, q0, seqlen, tid, head.q_row);
    else
      load_tile_async<kHeadDim, kBlockM, kThreads>(sQ, Q, q0, seqlen, tid);
    load_k(0);
    cp_async_commit();
#pragma unroll
    for (int t = 0; t < kStages - 1; ++t) {
      load_k(t + 1);
      load_v(t);
      cp_async_commit();
    }
    cp_async_wait<kStages - 1>();  // Q and K_0 landed
    __syncthreads();
    load_q_registers();
    warp_qk<Tr, T>(s, q_frag, addr, 0);
    if (key_block_needs_mask<kBlockN, kCausal>(0, q0, seqlen))
      warp_mask<Tr, kCausal>(s, 0, row0, seqlen, lane);
    warp_softmax<Tr, T>(s, pk, row, alpha, p.scale_log2);  // O is still zero: nothing to rescale

    for (int j = 0; j < n_blocks; ++j) {
      // Group {K_{j+1}, V_j} landed, and every warp is done with iteration j-1: the stages of K_j and V_{j-1}
      // are free for K_{j+kStages} and V_{j+kStages-1}.
      cp_async_wait<kStages - 2>();
      __syncthreads();
      load_k(j + kStages);
      load_v(j + kStages - 1);
      cp_async_commit();
      const int v_offset = (j % kStages) * kStageBytes;
      if (j + 1 < n_blocks) {
        warp_qk<Tr, T>(s, q_frag, addr, ((j + 1) % kStages) * kStageBytes);
        if (key_block_needs_mask<kBlockN, kCausal>(j + 1, q0, seqlen))
          warp_mask<Tr, kCausal>(s, (j + 1) * kBlockN, row0, seqlen, lane);
        warp_pv<Tr, T>(o, pk, addr, v_offset);                 // tensor cores busy with P_j V_j ...
        warp_softmax<Tr, T>(s, pk, row, alpha, p.scale_log2);  // ... while the exponentials of tile j+1 run
        warp_rescale<Tr>(o, alpha);
      } else {
        warp_pv<Tr, T>(o, pk, addr, v_offset);
      }
    }
  }

  // Epilogue: every warp is done with the Q tile, which stages O. (A tile that reads no key block never
  // waited for its Q: it must land before O is staged over it.)
  if constexpr (kKeyMask || kSplit) {
    if (n_blocks == 0) cp_async_wait<0>();
  }
  __syncthreads();
  if constexpr (kSplit) {
    fa2_store_partial<Tr>(o, row, p, tile.bh, q0, seqlen, warp_row0, lane);
    return;
  }
  if constexpr (kVarlen)
    store_o_tile<Tr, T>(o, row, sQ, O,
                        p.lse + (tile.bh % p.heads) * static_cast<long long>(p.total_q) + seq.q_start, q0,
                        seqlen, warp_row0, tid, head.o_row);
  else if constexpr (kGeneral)
    store_o_tile<Tr, T>(o, row, sQ, O, p.lse + static_cast<long long>(tile.bh) * seqlen, q0, seqlen,
                        warp_row0, tid, head.o_row);
  else
    store_o_tile<Tr, T>(o, row, sQ, O, p.lse + static_cast<long long>(tile.bh) * seqlen, q0, seqlen,
                        warp_row0, tid);
}

}  // namespace flashtune
