#pragma once
// The per-warp steps of the FlashAttention-2 forward loop, on register fragments (mma.sync m16n8k16).
//
// A warp owns kMTiles 16-row query tiles. Per key/value tile it computes S = Q K^T (fp32 C fragments), masks
// it where needed, turns it into probabilities P with the online softmax (packed at once into the A
// fragments of P V, so the fp32 scores die early), rescales O, and accumulates O += P V. Tr is the kernel's
// traits struct (Fa2Traits): tile counts and where Q's fragments live.
//
// Shared-memory addresses: each lane's ldmatrix row address is computed once (WarpAddrs). In a swizzled tile
// (swizzle.cuh) the byte offset of (row r, chunk 2k + b) is r * kRowBytes + (((2k + b) ^ (r % 8)) << 4) =
// r * kRowBytes + ((((b ^ (r % 8)) << 4)) ^ (k << 5)); with the tile base aligned to kRowBytes the k-th
// address is the lane's base XOR (k << 5), and whole 16-row steps and pipeline stages are plain immediate
// offsets. So every fragment address costs one LOP3 and no registers beyond the three bases (CUTLASS's
// trick); computing them naively kept one register per k step live across the loop and spilled. head_dim
// 96's panel layout keeps the trick: pair k is base XOR a constant plus an immediate panel offset
// (SwizzledTile<96>::pair_xor, pair_offset).
#include "block_range.h"
#include "device_types.cuh"
#include "mma.cuh"
#include "online_softmax.cuh"
#include "swizzle.cuh"

namespace flashtune {

// Each lane's ldmatrix base addresses (shared window, bytes) into the Q tile and into stage 0 of the K and V
// rings: the address of the lane's row in the first 16-row step, chunk 2k + b with k = 0.
template <int kHeadDim>
struct WarpAddrs {
  static constexpr int kRowBytes = kHeadDim * 2;
  unsigned q, k, v;

  // `warp_row0`: the warp's first query row in the Q tile.
  __device__ __forceinline__ WarpAddrs(const void* sQ, const void* sK, const void* sV, int warp_row0,
                                       int lane) {
    const int r7 = lane % 8;
    if constexpr (kHeadDim == 96) {
      // SwizzledTile<96>: row r of an 8-row group at slot r % 8 of panel 0, 64 bytes a slot, chunk b at
      // b ^ (slot / 2); the lane's rows below are 8-row aligned groups plus r7.
      q = smem_addr(sQ) + (warp_row0 + (lane & 8)) * kRowBytes + r7 * 64 + (((lane / 16) ^ (r7 / 2)) << 4);
      k = smem_addr(sK) + (lane / 16) * 8 * kRowBytes + r7 * 64 + ((((lane / 8) % 2) ^ (r7 / 2)) << 4);
      v = smem_addr(sV) + ((lane / 8) % 2) * 8 * kRowBytes + r7 * 64 + (((lane / 16) ^ (r7 / 2)) << 4);
    } else {
      // Q (A operand): rows warp_row0 + lane % 16, chunk 2k + lane / 16.
      q = smem_addr(sQ) + (warp_row0 + lane % 16) * kRowBytes + (((lane / 16) ^ r7) << 4);
      // K (B operand, n-major): rows (lane / 16) * 8 + lane % 8, chunk 2k + (lane / 8) % 2.
      k = smem_addr(sK) + ((lane / 16) * 8 + r7) * kRowBytes + ((((lane / 8) % 2) ^ r7) << 4);
      // V (B operand through .trans): rows ((lane / 8) % 2) * 8 + lane % 8, chunk 2k + lane / 16.
      v = smem_addr(sV) + (((lane / 8) % 2) * 8 + r7) * kRowBytes + (((lane / 16) ^ r7) << 4);
    }
  }
  // The address of k step `k` (chunk pair k), `row16` 16-row steps further, `byte_offset` (a multiple of
  // kRowBytes: a pipeline stage) further.
  static __device__ __forceinline__ unsigned at(unsigned base, int k, int row16, int byte_offset) {
    using Tile = SwizzledTile<kHeadDim>;
    return (base ^ Tile::pair_xor(k)) + Tile::pair_offset(k) + row16 * 16 * kRowBytes + byte_offset;
  }
};

// Q's A fragments of one warp for k16 step ks of m-tile mt.
template <int kHeadDim>
__device__ __forceinline__ void load_q_frag(unsigned (&a)[4], const WarpAddrs<kHeadDim>& addr, int mt,
                                            int ks) {
  ldmatrix_x4(a, WarpAddrs<kHeadDim>::at(addr.q, ks, mt, 0));
}

// s = Q K_j^T for one K tile (`k_offset`: its stage's byte offset in the K ring). Q's fragments come from
// `q_frag` when Tr::kQInRegisters, else from shared memory.
template <class Tr, typename T>
__device__ __forceinline__ void warp_qk(float (&s)[Tr::kMTiles][Tr::kNTiles][4],
                                        const unsigned (&q_frag)[Tr::kQFragM][Tr::kQFragK][4],
                                        const WarpAddrs<Tr::kHeadDim>& addr, int k_offset) {
  using A = WarpAddrs<Tr::kHeadDim>;
#pragma unroll
  for (int mt = 0; mt < Tr::kMTiles; ++mt)
#pragma unroll
    for (int nt = 0; nt < Tr::kNTiles; ++nt) s[mt][nt][0] = s[mt][nt][1] = s[mt][nt][2] = s[mt][nt][3] = 0.0f;
#pragma unroll
  for (int ks = 0; ks < Tr::kQKSteps; ++ks) {
    unsigned a[Tr::kMTiles][4];
#pragma unroll
    for (int mt = 0; mt < Tr::kMTiles; ++mt) {
      if constexpr (Tr::kQInRegisters) {
#pragma unroll
        for (int i = 0; i < 4; ++i) a[mt][i] = q_frag[mt][ks][i];
      } else {
        load_q_frag<Tr::kHeadDim>(a[mt], addr, mt, ks);
      }
    }
#pragma unroll
    for (int np = 0; np < Tr::kNTiles / 2; ++np) {
      unsigned b[4];
      ldmatrix_x4(b, A::at(addr.k, ks, np, k_offset));
#pragma unroll
      for (int mt = 0; mt < Tr::kMTiles; ++mt) {
        mma_m16n8k16<T>(s[mt][2 * np], a[mt], b[0], b[1]);
        mma_m16n8k16<T>(s[mt][2 * np + 1], a[mt], b[2], b[3]);
      }
    }
  }
}

// Sets to -inf the scores the predicate masked(key, query) masks. k0 is the tile's first key, row0 the warp's
// first query row.
template <class Tr, class Masked>
__device__ __forceinline__ void warp_mask_if(float (&s)[Tr::kMTiles][Tr::kNTiles][4], int k0, int row0,
                                             int lane, Masked masked) {
  const int g = lane / 4;
  const int c = lane % 4;
#pragma unroll
  for (int mt = 0; mt < Tr::kMTiles; ++mt)
#pragma unroll
    for (int nt = 0; nt < Tr::kNTiles; ++nt)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int key = k0 + nt * 8 + 2 * c + (e & 1);
        const int query = row0 + mt * 16 + g + (e >> 1) * 8;
        if (masked(key, query)) s[mt][nt][e] = neg_infinity();
      }
}

// The plain problem's mask: keys at or past `seqlen` and, when causal, keys after their query.
template <class Tr, bool kCausal>
__device__ __forceinline__ void warp_mask(float (&s)[Tr::kMTiles][Tr::kNTiles][4], int k0, int row0,
                                          int seqlen, int lane) {
  warp_mask_if<Tr>(s, k0, row0, lane,
                   [&](int key, int query) { return key_masked<kCausal>(key, query, seqlen); });
}

// The general problem's mask (block_range.h's KeyMask: seqlen_k, the bottom-right offset, the window).
template <class Tr, bool kCausal>
__device__ __forceinline__ void warp_mask_general(float (&s)[Tr::kMTiles][Tr::kNTiles][4], int k0, int row0,
                                                  const KeyMask& mask, int lane) {
  warp_mask_if<Tr>(s, k0, row0, lane, [&](int key, int query) { return mask.masked(key, query, kCausal); });
}

// Caps the raw scores: s <- softcap * tanh(s * softcap_scale) (online_softmax.cuh's softcap_score)
// (softcap_scale = softmax scale / softcap; the exponent scale is then log2(e) alone, attention_params.h).
// Before the mask, which writes -inf.
template <class Tr>
__device__ __forceinline__ void warp_softcap(float (&s)[Tr::kMTiles][Tr::kNTiles][4], float softcap,
                                             float softcap_scale) {
#pragma unroll
  for (int mt = 0; mt < Tr::kMTiles; ++mt)
#pragma unroll
    for (int nt = 0; nt < Tr::kNTiles; ++nt)
#pragma unroll
      for (int e = 0; e < 4; ++e) s[mt][nt][e] = softcap_score(s[mt][nt][e], softcap, softcap_scale);
}

// The row max step of the online softmax for one tile: updates the running max of each row and gives the
// exponent base of its probabilities and the factor alpha by which its O and row sum must be rescaled.
template <class Tr>
__device__ __forceinline__ void warp_row_max(const float (&s)[Tr::kMTiles][Tr::kNTiles][4],
                                             RowState (&row)[Tr::kMTiles][2], float (&base)[Tr::kMTiles][2],
                                             float (&alpha)[Tr::kMTiles][2], float scale_log2) {
  float lane_max[Tr::kMTiles][2];  // this lane's share of each row's block max (raw scores)
  bool outgrown = false;           // some row's block max outgrew its base by more than the slack
#pragma unroll
  for (int mt = 0; mt < Tr::kMTiles; ++mt)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      float m[Tr::kNTiles];
#pragma unroll
      for (int nt = 0; nt < Tr::kNTiles; ++nt) m[nt] = fmaxf(s[mt][nt][2 * h], s[mt][nt][2 * h + 1]);
      lane_max[mt][h] = tree_reduce<Tr::kNTiles>(m, [](float a, float b) { return fmaxf(a, b); });
      outgrown |= lane_max[mt][h] * scale_log2 > row[mt][h].max + Tr::kRescaleSlack;
    }
  if constexpr (Tr::kRescaleSlack > 0.0f) {
    // The common case after the first tiles: no lane's share outgrew its row's base, so no row's max did
    // and every base stays put; the quad reductions are skipped along with the rescale.
    if (!__any_sync(0xffffffffu, outgrown)) {
#pragma unroll
      for (int mt = 0; mt < Tr::kMTiles; ++mt)
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          base[mt][h] = safe_base(row[mt][h].max);
          alpha[mt][h] = 1.0f;
        }
      return;
    }
  }
#pragma unroll
  for (int mt = 0; mt < Tr::kMTiles; ++mt)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const float block_max = quad_max(lane_max[mt][h]) * scale_log2;
      if constexpr (Tr::kRescaleSlack > 0.0f) {
        // The base stays put while the block max is within the slack above it (-inf + slack is -inf: a row
        // takes its first unmasked block's max).
        const bool grow = block_max > row[mt][h].max + Tr::kRescaleSlack;
        const float new_max = grow ? block_max : row[mt][h].max;
        base[mt][h] = safe_base(new_max);
        alpha[mt][h] = grow ? fast_exp2(row[mt][h].max - base[mt][h]) : 1.0f;
        row[mt][h].max = new_max;
      } else {
        const float new_max = fmaxf(row[mt][h].max, block_max);
        base[mt][h] = safe_base(new_max);
        alpha[mt][h] = fast_exp2(row[mt][h].max - base[mt][h]);
        row[mt][h].max = new_max;
      }
    }
}

// P = 2^(s * scale_log2 - base) for k16 step ps of m-tile mt, packed into P V's A fragment (the C fragments
// of S tiles 2ps and 2ps+1 are exactly the A fragment of k16 step ps), and its share of the two row sums.
template <class Tr, typename T>
__device__ __forceinline__ void warp_p_step(const float (&s)[Tr::kMTiles][Tr::kNTiles][4], int mt, int ps,
                                            const float (&base)[2], float scale_log2, unsigned (&pk)[4],
                                            float& part0, float& part1) {
  float pr[2][4];
#pragma unroll
  for (int t = 0; t < 2; ++t)
#pragma unroll
    for (int e = 0; e < 4; ++e) pr[t][e] = fast_exp2(fmaf(s[mt][2 * ps + t][e], scale_log2, -base[e >> 1]));
  part0 = (pr[0][0] + pr[0][1]) + (pr[1][0] + pr[1][1]);
  part1 = (pr[0][2] + pr[0][3]) + (pr[1][2] + pr[1][3]);
  pk[0] = element_traits<T>::pack2(pr[0][0], pr[0][1]);
  pk[1] = element_traits<T>::pack2(pr[0][2], pr[0][3]);
  pk[2] = element_traits<T>::pack2(pr[1][0], pr[1][1]);
  pk[3] = element_traits<T>::pack2(pr[1][2], pr[1][3]);
}

// The running row sums after a tile: l' = alpha * l + the tree sum of the tile's per-step partial sums.
template <class Tr>
__device__ __forceinline__ void warp_row_sums(RowState (&row)[Tr::kMTiles][2],
                                              float (&part)[Tr::kMTiles][2][Tr::kPVSteps],
                                              const float (&alpha)[Tr::kMTiles][2]) {
#pragma unroll
  for (int mt = 0; mt < Tr::kMTiles; ++mt)
#pragma unroll
    for (int h = 0; h < 2; ++h)
      row[mt][h].sum = row[mt][h].sum * alpha[mt][h] +
                       tree_reduce<Tr::kPVSteps>(part[mt][h], [](float a, float b) { return a + b; });
}

// Online softmax of one tile: updates the running max and sum of each row, returns the factor alpha by
// which O must be rescaled, and writes every P fragment of P V at once (the schedules that keep P V
// separate: pipeline 1, fuse_pv 0).
template <class Tr, typename T>
__device__ __forceinline__ void warp_softmax(const float (&s)[Tr::kMTiles][Tr::kNTiles][4],
                                             unsigned (&pk)[Tr::kMTiles][Tr::kPVSteps][4],
                                             RowState (&row)[Tr::kMTiles][2], float (&alpha)[Tr::kMTiles][2],
                                             float scale_log2) {
  float base[Tr::kMTiles][2];
  warp_row_max<Tr>(s, row, base, alpha, scale_log2);
  float part[Tr::kMTiles][2][Tr::kPVSteps];  // partial row sums, one per k16 step, added as a tree
#pragma unroll
  for (int mt = 0; mt < Tr::kMTiles; ++mt)
#pragma unroll
    for (int ps = 0; ps < Tr::kPVSteps; ++ps)
      warp_p_step<Tr, T>(s, mt, ps, base[mt], scale_log2, pk[mt][ps], part[mt][0][ps], part[mt][1][ps]);
  warp_row_sums<Tr>(row, part, alpha);
}

// O *= alpha, row by row. With Tr::kLazyRescale it is skipped (a warp-uniform branch) when no row of the
// warp saw its max grow, i.e. every alpha is exactly 1; multiplying by 1.0f is exact, so skipping it changes
// no bit of the result. With lazy_rescale 1 a warp's 32 rows rarely all keep their max for long (at tile j
// each grows with probability ~1/j); with lazy_rescale 2 the base only moves by more than 2^8 (warp_row_max),
// so after the first tiles the skip is the rule. The branch splits the loop body.
template <class Tr>
__device__ __forceinline__ void warp_rescale(float (&o)[Tr::kMTiles][Tr::kDTiles][4],
                                             const float (&alpha)[Tr::kMTiles][2]) {
  if constexpr (Tr::kLazyRescale) {
    bool grown = false;
#pragma unroll
    for (int mt = 0; mt < Tr::kMTiles; ++mt) grown |= alpha[mt][0] != 1.0f || alpha[mt][1] != 1.0f;
    if (!__any_sync(0xffffffffu, grown)) return;
  }
#pragma unroll
  for (int mt = 0; mt < Tr::kMTiles; ++mt)
#pragma unroll
    for (int dt = 0; dt < Tr::kDTiles; ++dt) {
      o[mt][dt][0] *= alpha[mt][0];
      o[mt][dt][1] *= alpha[mt][0];
      o[mt][dt][2] *= alpha[mt][1];
      o[mt][dt][3] *= alpha[mt][1];
    }
}

// O += P V_j, V read k-major with ldmatrix.trans (`v_offset`: V_j's stage's byte offset in the V ring).
template <class Tr, typename T>
__device__ __forceinline__ void warp_pv(float (&o)[Tr::kMTiles][Tr::kDTiles][4],
                                        const unsigned (&pk)[Tr::kMTiles][Tr::kPVSteps][4],
                                        const WarpAddrs<Tr::kHeadDim>& addr, int v_offset) {
  using A = WarpAddrs<Tr::kHeadDim>;
#pragma unroll
  for (int ps = 0; ps < Tr::kPVSteps; ++ps)
#pragma unroll
    for (int dp = 0; dp < Tr::kDTiles / 2; ++dp) {
      unsigned b[4];
      ldmatrix_x4_trans(b, A::at(addr.v, dp, ps, v_offset));
#pragma unroll
      for (int mt = 0; mt < Tr::kMTiles; ++mt) {
        mma_m16n8k16<T>(o[mt][2 * dp], pk[mt][ps], b[0], b[1]);
        mma_m16n8k16<T>(o[mt][2 * dp + 1], pk[mt][ps], b[2], b[3]);
      }
    }
}

// The softmax of one tile fused with O += P V_j (fuse_pv 1): after the row max, each k16 step ps computes
// its probabilities and at once issues its P V products, and O is rescaled column tile by column tile just
// before its first product of the tile. One basic block in which the exponentials and packs of step ps + 1
// and the O rescale have no dependence on the tensor-core products of step ps, so the warp issues them
// while those run (in the separate form each warp's softmax was ~450 instructions with no HMMA among them,
// and with two warps per scheduler the tensor pipe idled whenever both were there). Only one step's P
// fragments are live at a time. V_j must be resident: the caller's barrier comes before.
template <class Tr, typename T>
__device__ __forceinline__ void warp_softmax_pv(const float (&s)[Tr::kMTiles][Tr::kNTiles][4],
                                                float (&o)[Tr::kMTiles][Tr::kDTiles][4],
                                                RowState (&row)[Tr::kMTiles][2],
                                                const WarpAddrs<Tr::kHeadDim>& addr, int v_offset,
                                                float scale_log2) {
  using A = WarpAddrs<Tr::kHeadDim>;
  float base[Tr::kMTiles][2];
  float alpha[Tr::kMTiles][2];
  warp_row_max<Tr>(s, row, base, alpha, scale_log2);
  if constexpr (Tr::kLazyRescale) warp_rescale<Tr>(o, alpha);
  float part[Tr::kMTiles][2][Tr::kPVSteps];
#pragma unroll
  for (int ps = 0; ps < Tr::kPVSteps; ++ps) {
    unsigned pk[Tr::kMTiles][4];
#pragma unroll
    for (int mt = 0; mt < Tr::kMTiles; ++mt)
      warp_p_step<Tr, T>(s, mt, ps, base[mt], scale_log2, pk[mt], part[mt][0][ps], part[mt][1][ps]);
#pragma unroll
    for (int dp = 0; dp < Tr::kDTiles / 2; ++dp) {
      unsigned b[4];
      ldmatrix_x4_trans(b, A::at(addr.v, dp, ps, v_offset));
#pragma unroll
      for (int mt = 0; mt < Tr::kMTiles; ++mt) {
        if (!Tr::kLazyRescale && ps == 0) {
#pragma unroll
          for (int t = 0; t < 2; ++t) {
            o[mt][2 * dp + t][0] *= alpha[mt][0];
            o[mt][2 * dp + t][1] *= alpha[mt][0];
            o[mt][2 * dp + t][2] *= alpha[mt][1];
            o[mt][2 * dp + t][3] *= alpha[mt][1];
          }
        }
        mma_m16n8k16<T>(o[mt][2 * dp], pk[mt], b[0], b[1]);
        mma_m16n8k16<T>(o[mt][2 * dp + 1], pk[mt], b[2], b[3]);
      }
    }
  }
  warp_row_sums<Tr>(row, part, alpha);
}

// One k16 step (ks, over head_dim) of acc += A B^T on a warp's rows: A's kKT 16-row tiles at a_base (the
// WarpAddrs q pattern), B's kN8 n8 tiles n-major at b_base (the k pattern) from 16-row step n16 on. S^T = K
// Q^T and dP^T = V dO^T are both this product.
template <int kKT, int kN8, int kHeadDim, typename T>
__device__ __forceinline__ void warp_mma_step_nt(float (&acc)[kKT][kN8][4], unsigned a_base, unsigned b_base,
                                                 int ks, int n16) {
  using A = WarpAddrs<kHeadDim>;
  unsigned a[kKT][4];
#pragma unroll
  for (int kt = 0; kt < kKT; ++kt) ldmatrix_x4(a[kt], A::at(a_base, ks, kt, 0));
#pragma unroll
  for (int np = 0; np < kN8 / 2; ++np) {
    unsigned b[4];
    ldmatrix_x4(b, A::at(b_base, ks, n16 + np, 0));
#pragma unroll
    for (int kt = 0; kt < kKT; ++kt) {
      mma_m16n8k16<T>(acc[kt][2 * np], a[kt], b[0], b[1]);
      mma_m16n8k16<T>(acc[kt][2 * np + 1], a[kt], b[2], b[3]);
    }
  }
}

}  // namespace flashtune
