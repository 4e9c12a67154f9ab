#pragma once
// The per-warp steps of the FlashAttention-2 forward loop, on register fragments (mma.sync m16n8k16).
//
// A warp owns kMTiles 16-row query tiles. Per key/value tile it computes S = Q K^T (fp32 C fragments), masks
// it where needed, turns it into probabilities P with the online softmax (packed at once into the A
// fragments of P V, so the fp32 scores die early), rescales O, and accumulates O += P V. Tr is the kernel's
// traits struct (Fa2Traits): tile counts and where Q's fragments live.
#include "device_types.cuh"
#include "mma.cuh"
#include "online_softmax.cuh"
#include "swizzle.cuh"

namespace flashtune {

// Q's A fragments of one warp, from the swizzled Q tile, for k16 step ks of m-tile mt.
template <int kHeadDim, typename T>
__device__ __forceinline__ void load_q_frag(unsigned (&a)[4], const T* sQ, int warp_row0, int mt, int ks,
                                            int lane) {
  using Tile = SwizzledTile<kHeadDim>;
  ldmatrix_x4(a, smem_addr(sQ + Tile::chunk_offset(warp_row0 + mt * 16 + (lane % 16), ks * 2 + lane / 16)));
}

// s = Q K_j^T for one K tile. Q's fragments come from `q_frag` when Tr::kQInRegisters, else from sQ.
template <class Tr, typename T>
__device__ __forceinline__ void warp_qk(float (&s)[Tr::kMTiles][Tr::kNTiles][4],
                                        const unsigned (&q_frag)[Tr::kQFragM][Tr::kQFragK][4], const T* sQ,
                                        const T* sK, int warp_row0, int lane) {
  using Tile = SwizzledTile<Tr::kHeadDim>;
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
        load_q_frag<Tr::kHeadDim>(a[mt], sQ, warp_row0, mt, ks, lane);
      }
    }
#pragma unroll
    for (int np = 0; np < Tr::kNTiles / 2; ++np) {
      unsigned b[4];
      ldmatrix_x4(b, smem_addr(sK + Tile::chunk_offset(np * 16 + (lane / 16) * 8 + (lane % 8),
                                                       ks * 2 + (lane / 8) % 2)));
#pragma unroll
      for (int mt = 0; mt < Tr::kMTiles; ++mt) {
        mma_m16n8k16<T>(s[mt][2 * np], a[mt], b[0], b[1]);
        mma_m16n8k16<T>(s[mt][2 * np + 1], a[mt], b[2], b[3]);
      }
    }
  }
}

// Sets to -inf the scores of keys at or past `seqlen` and, when causal, of keys after their query. k0 is
// the tile's first key, row0 the warp's first query row.
template <class Tr, bool kCausal>
__device__ __forceinline__ void warp_mask(float (&s)[Tr::kMTiles][Tr::kNTiles][4], int k0, int row0,
                                          int seqlen, int lane) {
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
        if (key >= seqlen || (kCausal && key > query)) s[mt][nt][e] = neg_infinity();
      }
}

// Online softmax of one tile: updates the running max and sum of each row, returns the factor alpha by
// which O must be rescaled, and writes P = 2^(s * scale_log2 - max) packed into P V's A fragments: the C
// fragments of S tiles 2ps and 2ps+1 are exactly the A fragment of k16 step ps.
template <class Tr, typename T>
__device__ __forceinline__ void warp_softmax(const float (&s)[Tr::kMTiles][Tr::kNTiles][4],
                                             unsigned (&pk)[Tr::kMTiles][Tr::kPVSteps][4],
                                             RowState (&row)[Tr::kMTiles][2], float (&alpha)[Tr::kMTiles][2],
                                             float scale_log2) {
#pragma unroll
  for (int mt = 0; mt < Tr::kMTiles; ++mt) {
    float base[2];
    float sum[2] = {0.0f, 0.0f};
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      float block_max = neg_infinity();
#pragma unroll
      for (int nt = 0; nt < Tr::kNTiles; ++nt)
        block_max = fmaxf(block_max, fmaxf(s[mt][nt][2 * h], s[mt][nt][2 * h + 1]));
      block_max = quad_max(block_max) * scale_log2;
      const float new_max = fmaxf(row[mt][h].max, block_max);
      base[h] = safe_base(new_max);
      alpha[mt][h] = fast_exp2(row[mt][h].max - base[h]);
      row[mt][h].max = new_max;
    }
#pragma unroll
    for (int ps = 0; ps < Tr::kPVSteps; ++ps) {
      float pr[2][4];
#pragma unroll
      for (int t = 0; t < 2; ++t)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          pr[t][e] = fast_exp2(fmaf(s[mt][2 * ps + t][e], scale_log2, -base[e >> 1]));
          sum[e >> 1] += pr[t][e];
        }
      pk[mt][ps][0] = element_traits<T>::pack2(pr[0][0], pr[0][1]);
      pk[mt][ps][1] = element_traits<T>::pack2(pr[0][2], pr[0][3]);
      pk[mt][ps][2] = element_traits<T>::pack2(pr[1][0], pr[1][1]);
      pk[mt][ps][3] = element_traits<T>::pack2(pr[1][2], pr[1][3]);
    }
#pragma unroll
    for (int h = 0; h < 2; ++h) row[mt][h].sum = row[mt][h].sum * alpha[mt][h] + sum[h];
  }
}

// O *= alpha, row by row.
template <class Tr>
__device__ __forceinline__ void warp_rescale(float (&o)[Tr::kMTiles][Tr::kDTiles][4],
                                             const float (&alpha)[Tr::kMTiles][2]) {
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

// O += P V_j, V read k-major with ldmatrix.trans.
template <class Tr, typename T>
__device__ __forceinline__ void warp_pv(float (&o)[Tr::kMTiles][Tr::kDTiles][4],
                                        const unsigned (&pk)[Tr::kMTiles][Tr::kPVSteps][4], const T* sV,
                                        int lane) {
  using Tile = SwizzledTile<Tr::kHeadDim>;
#pragma unroll
  for (int ps = 0; ps < Tr::kPVSteps; ++ps)
#pragma unroll
    for (int dp = 0; dp < Tr::kDTiles / 2; ++dp) {
      unsigned b[4];
      ldmatrix_x4_trans(b, smem_addr(sV + Tile::chunk_offset(ps * 16 + ((lane / 8) % 2) * 8 + (lane % 8),
                                                             dp * 2 + lane / 16)));
#pragma unroll
      for (int mt = 0; mt < Tr::kMTiles; ++mt) {
        mma_m16n8k16<T>(o[mt][2 * dp], pk[mt][ps], b[0], b[1]);
        mma_m16n8k16<T>(o[mt][2 * dp + 1], pk[mt][ps], b[2], b[3]);
      }
    }
}

}  // namespace flashtune
