#pragma once
// FlashAttention-2 forward (Dao 2023, Algorithm 1), tensor cores via mma.sync m16n8k16.
//
// Loop order: one CTA per (query tile of kBlockM rows, batch*head); it walks the key/value tiles of kBlockN
// rows in order, keeping O, the running row max and the running row sum in registers, and writes O and the
// log-sum-exp once. Each warp owns kBlockM / kWarps query rows (one or more 16-row MMA tiles), so the warps
// never exchange data: the only barriers guard the shared K/V ring buffer.
//
// Pipeline: K and V tiles stream through a ring of kStages shared-memory stages with cp.async; each tile is
// its own commit group, so S = Q K_j^T can start while V_j is still arriving and tiles j+1 .. j+kStages-1
// load behind both products.
//
// Causal: query tiles are scheduled longest-first (reverse order), tiles strictly above the diagonal are
// never loaded, and only tiles that cross the diagonal or the ragged end pay for the element mask.
#include "attention_params.h"
#include "cp_async.cuh"
#include "device_types.cuh"
#include "mma.cuh"
#include "online_softmax.cuh"
#include "swizzle.cuh"

namespace flashtune {

// Largest dynamic shared memory a block may opt in to on sm_90 (227 KiB); smaller budgets are the tuner's
// job.
constexpr int kMaxSmemPerBlock = 232448;

template <int kBlockM, int kBlockN, int kHeadDim, int kWarps, int kStages>
struct Fa2Traits {
  static constexpr int kThreads = kWarps * 32;
  static constexpr int kRowsPerWarp = kBlockM / kWarps;
  static constexpr int kMTiles = kRowsPerWarp / 16;  // 16-row MMA tiles per warp
  static constexpr int kNTiles = kBlockN / 8;        // n8 tiles of S = Q K^T per warp
  static constexpr int kDTiles = kHeadDim / 8;       // n8 tiles of O per warp
  static constexpr int kQKSteps = kHeadDim / 16;     // k16 steps of Q K^T
  static constexpr int kPVSteps = kBlockN / 16;      // k16 steps of P V
  static constexpr int kQElems = kBlockM * kHeadDim;
  static constexpr int kKVElems = kBlockN * kHeadDim;
  // Q tile (reused for the O tile on the way out) + kStages K tiles + kStages V tiles, 2-byte elements.
  static constexpr int kSmemBytes = 2 * (kQElems + 2 * kStages * kKVElems);
  // Keep Q's fragments in registers when they are cheap (<= 32 registers), else re-read them with ldmatrix.
  static constexpr bool kQInRegisters = kMTiles * kQKSteps * 4 <= 32;

  static_assert(kHeadDim == 64 || kHeadDim == 128, "head_dim must be 64 or 128");
  static_assert(kWarps >= 1 && kThreads <= 1024, "1..32 warps");
  static_assert(kBlockM % (16 * kWarps) == 0,
                "each warp owns whole 16-row MMA tiles: kBlockM % (16*kWarps) == 0");
  static_assert(kMTiles <= 4, "at most 64 query rows per warp (register budget)");
  static_assert(kBlockN % 16 == 0 && kBlockN >= 16, "kBlockN must be a multiple of 16");
  static_assert(kStages >= 1 && kStages <= 4, "1..4 pipeline stages");
  static_assert(kSmemBytes <= kMaxSmemPerBlock,
                "tiles exceed the 227 KiB shared-memory opt-in limit of sm_90");
};

// Copies `rows` rows of a [seqlen, kHeadDim] head slice, starting at row0, into a swizzled tile. Rows past
// `seqlen` are zero-filled.
template <int kHeadDim, int kRows, int kThreads, typename T>
__device__ __forceinline__ void load_tile_async(T* tile, const T* head, int row0, int seqlen, int tid) {
  using Tile = SwizzledTile<kHeadDim>;
  constexpr int kChunks = kRows * Tile::kChunksPerRow;
#pragma unroll
  for (int i = tid; i < kChunks; i += kThreads) {
    const int r = i / Tile::kChunksPerRow;
    const int c = i % Tile::kChunksPerRow;
    const bool valid = row0 + r < seqlen;
    const T* src = head + static_cast<long long>(valid ? row0 + r : 0) * kHeadDim + c * 8;
    cp_async_16(smem_addr(tile + Tile::chunk_offset(r, c)), src, valid);
  }
}

template <int kBlockM, int kBlockN, int kHeadDim, int kWarps, int kStages, bool kCausal, typename T>
__global__ void __launch_bounds__(kWarps * 32, 1) fa2_fwd(const AttentionParams p) {
  using Tr = Fa2Traits<kBlockM, kBlockN, kHeadDim, kWarps, kStages>;
  using Tile = SwizzledTile<kHeadDim>;
  constexpr int kThreads = Tr::kThreads;
  constexpr int kMT = Tr::kMTiles;

  extern __shared__ __align__(128) unsigned char smem_raw[];
  T* const sQ = reinterpret_cast<T*>(smem_raw);
  T* const sK = sQ + Tr::kQElems;
  T* const sV = sK + kStages * Tr::kKVElems;

  const int tid = threadIdx.x;
  const int warp = tid / 32;
  const int lane = tid % 32;
  const int g = lane / 4;  // fragment row within an 8-row group
  const int c = lane % 4;  // fragment column pair
  const int seqlen = p.seqlen;
  const int m_block = kCausal ? static_cast<int>(gridDim.x - 1 - blockIdx.x) : static_cast<int>(blockIdx.x);
  const int q0 = m_block * kBlockM;
  const long long head_offset = static_cast<long long>(blockIdx.y) * seqlen * kHeadDim;
  const T* const Q = static_cast<const T*>(p.q) + head_offset;
  const T* const K = static_cast<const T*>(p.k) + head_offset;
  const T* const V = static_cast<const T*>(p.v) + head_offset;
  T* const O = static_cast<T*>(p.o) + head_offset;
  const int warp_row0 = warp * Tr::kRowsPerWarp;

  int n_blocks = (seqlen + kBlockN - 1) / kBlockN;
  if constexpr (kCausal) n_blocks = min(n_blocks, (q0 + kBlockM + kBlockN - 1) / kBlockN);

  // Prologue: Q joins the first group; tiles 0 .. kStages-2 are put in flight, one group for K, one for V.
  load_tile_async<kHeadDim, kBlockM, kThreads>(sQ, Q, q0, seqlen, tid);
#pragma unroll
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < n_blocks)
      load_tile_async<kHeadDim, kBlockN, kThreads>(sK + s * Tr::kKVElems, K, s * kBlockN, seqlen, tid);
    cp_async_commit();
    if (s < n_blocks)
      load_tile_async<kHeadDim, kBlockN, kThreads>(sV + s * Tr::kKVElems, V, s * kBlockN, seqlen, tid);
    cp_async_commit();
  }

  float o[kMT][Tr::kDTiles][4];
  RowState row[kMT][2];
#pragma unroll
  for (int mt = 0; mt < kMT; ++mt) {
#pragma unroll
    for (int dt = 0; dt < Tr::kDTiles; ++dt) o[mt][dt][0] = o[mt][dt][1] = o[mt][dt][2] = o[mt][dt][3] = 0.0f;
    row[mt][0] = row[mt][1] = RowState{neg_infinity(), 0.0f};
  }
  unsigned q_frag[Tr::kQInRegisters ? kMT : 1][Tr::kQInRegisters ? Tr::kQKSteps : 1][4];

  for (int j = 0; j < n_blocks; ++j) {
    const int stage = j % kStages;
    const T* const sKj = sK + stage * Tr::kKVElems;
    const T* const sVj = sV + stage * Tr::kKVElems;

    __syncthreads();  // every warp is done with tile j-1, whose stage the next load reuses
    const int jn = j + kStages - 1;
    if (jn < n_blocks)
      load_tile_async<kHeadDim, kBlockN, kThreads>(sK + (jn % kStages) * Tr::kKVElems, K, jn * kBlockN,
                                                   seqlen, tid);
    cp_async_commit();
    if (jn < n_blocks)
      load_tile_async<kHeadDim, kBlockN, kThreads>(sV + (jn % kStages) * Tr::kKVElems, V, jn * kBlockN,
                                                   seqlen, tid);
    cp_async_commit();
    cp_async_wait<2 * kStages - 1>();  // K_j (and Q) landed; V_j may still be in flight
    __syncthreads();

    if constexpr (Tr::kQInRegisters) {
      if (j == 0) {
#pragma unroll
        for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
          for (int ks = 0; ks < Tr::kQKSteps; ++ks)
            ldmatrix_x4(q_frag[mt][ks], smem_addr(sQ + Tile::chunk_offset(warp_row0 + mt * 16 + (lane % 16),
                                                                          ks * 2 + lane / 16)));
      }
    }

    // S = Q K_j^T, fp32 accumulators in the C-fragment layout.
    float s[kMT][Tr::kNTiles][4];
#pragma unroll
    for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
      for (int nt = 0; nt < Tr::kNTiles; ++nt)
        s[mt][nt][0] = s[mt][nt][1] = s[mt][nt][2] = s[mt][nt][3] = 0.0f;
#pragma unroll
    for (int ks = 0; ks < Tr::kQKSteps; ++ks) {
      unsigned a[kMT][4];
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt) {
        if constexpr (Tr::kQInRegisters) {
#pragma unroll
          for (int i = 0; i < 4; ++i) a[mt][i] = q_frag[mt][ks][i];
        } else {
          ldmatrix_x4(a[mt], smem_addr(sQ + Tile::chunk_offset(warp_row0 + mt * 16 + (lane % 16),
                                                               ks * 2 + lane / 16)));
        }
      }
#pragma unroll
      for (int np = 0; np < Tr::kNTiles / 2; ++np) {
        unsigned b[4];
        ldmatrix_x4(b, smem_addr(sKj + Tile::chunk_offset(np * 16 + (lane / 16) * 8 + (lane % 8),
                                                          ks * 2 + (lane / 8) % 2)));
#pragma unroll
        for (int mt = 0; mt < kMT; ++mt) {
          mma_m16n8k16<T>(s[mt][2 * np], a[mt], b[0], b[1]);
          mma_m16n8k16<T>(s[mt][2 * np + 1], a[mt], b[2], b[3]);
        }
      }
    }

    // Mask keys past the end and, when causal, keys after the query: only tiles that need it pay.
    const int k0 = j * kBlockN;
    const bool need_mask = (k0 + kBlockN > seqlen) || (kCausal && k0 + kBlockN - 1 > q0);
    if (need_mask) {
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
        for (int nt = 0; nt < Tr::kNTiles; ++nt)
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            const int key = k0 + nt * 8 + 2 * c + (e & 1);
            const int query = q0 + warp_row0 + mt * 16 + g + (e >> 1) * 8;
            if (key >= seqlen || (kCausal && key > query)) s[mt][nt][e] = neg_infinity();
          }
    }

    // Online softmax: new max, rescale factor, probabilities (left in s), running sums, rescaled O.
#pragma unroll
    for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        float block_max = neg_infinity();
#pragma unroll
        for (int nt = 0; nt < Tr::kNTiles; ++nt)
          block_max = fmaxf(block_max, fmaxf(s[mt][nt][2 * h], s[mt][nt][2 * h + 1]));
        block_max = quad_max(block_max) * p.scale_log2;
        const float new_max = fmaxf(row[mt][h].max, block_max);
        const float base = safe_base(new_max);
        const float alpha = fast_exp2(row[mt][h].max - base);
        row[mt][h].max = new_max;
        float sum = 0.0f;
#pragma unroll
        for (int nt = 0; nt < Tr::kNTiles; ++nt)
#pragma unroll
          for (int e = 0; e < 2; ++e) {
            const float pr = fast_exp2(fmaf(s[mt][nt][2 * h + e], p.scale_log2, -base));
            s[mt][nt][2 * h + e] = pr;
            sum += pr;
          }
        row[mt][h].sum = row[mt][h].sum * alpha + sum;
#pragma unroll
        for (int dt = 0; dt < Tr::kDTiles; ++dt) {
          o[mt][dt][2 * h] *= alpha;
          o[mt][dt][2 * h + 1] *= alpha;
        }
      }

    cp_async_wait<2 * kStages - 2>();  // V_j landed
    __syncthreads();

    // O += P V_j: the C fragments of two adjacent S tiles are exactly the A fragment of one k16 step.
#pragma unroll
    for (int ps = 0; ps < Tr::kPVSteps; ++ps) {
      unsigned a[kMT][4];
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt) {
        a[mt][0] = element_traits<T>::pack2(s[mt][2 * ps][0], s[mt][2 * ps][1]);
        a[mt][1] = element_traits<T>::pack2(s[mt][2 * ps][2], s[mt][2 * ps][3]);
        a[mt][2] = element_traits<T>::pack2(s[mt][2 * ps + 1][0], s[mt][2 * ps + 1][1]);
        a[mt][3] = element_traits<T>::pack2(s[mt][2 * ps + 1][2], s[mt][2 * ps + 1][3]);
      }
#pragma unroll
      for (int dp = 0; dp < Tr::kDTiles / 2; ++dp) {
        unsigned b[4];
        ldmatrix_x4_trans(b, smem_addr(sVj + Tile::chunk_offset(ps * 16 + ((lane / 8) % 2) * 8 + (lane % 8),
                                                                dp * 2 + lane / 16)));
#pragma unroll
        for (int mt = 0; mt < kMT; ++mt) {
          mma_m16n8k16<T>(o[mt][2 * dp], a[mt], b[0], b[1]);
          mma_m16n8k16<T>(o[mt][2 * dp + 1], a[mt], b[2], b[3]);
        }
      }
    }
  }

  // Epilogue: normalize, stage O through shared memory (the Q tile) for 16-byte coalesced stores, write LSE.
  __syncthreads();
  T* const sO = sQ;
  constexpr float kLn2 = 0.69314718055994530942f;
#pragma unroll
  for (int mt = 0; mt < kMT; ++mt)
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
      if (c == 0 && q0 + r < seqlen) {
        p.lse[static_cast<long long>(blockIdx.y) * seqlen + q0 + r] =
            total > 0.0f ? (row[mt][h].max + __log2f(total)) * kLn2 : neg_infinity();
      }
    }
  __syncthreads();
  constexpr int kOutChunks = kBlockM * Tile::kChunksPerRow;
#pragma unroll
  for (int i = tid; i < kOutChunks; i += kThreads) {
    const int r = i / Tile::kChunksPerRow;
    const int ch = i % Tile::kChunksPerRow;
    if (q0 + r < seqlen) {
      *reinterpret_cast<uint4*>(O + static_cast<long long>(q0 + r) * kHeadDim + ch * 8) =
          *reinterpret_cast<const uint4*>(sO + Tile::chunk_offset(r, ch));
    }
  }
}

}  // namespace flashtune
