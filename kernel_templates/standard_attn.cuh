#pragma once
// Standard attention (FlashAttention paper, Algorithm 0): the scores S and the probabilities P are
// materialized in HBM. Three kernels, run in this order on one stream, share one AttentionParams:
//
//   standard_scores   grid (Tr, Tc, B*H)      S_ij = scale * Q_i K_j^T (fp32) -> workspace S[bh][N][N]
//   standard_softmax  grid (ceil(N/w), B*H)   one warp per row: P = softmax(S row) (T) -> workspace P, LSE
//   standard_pv       grid (Tr, B*H)          O_i = sum_k P_ik V_k through a kStages-deep cp.async ring
//
// Tr = ceil(N / kBlockM), Tc = ceil(N / kBlockN). The workspace is S (B*H*N*N fp32) followed by P (B*H*N*N
// elements of T). Every kernel reads and writes only valid rows and columns: partial tiles are zero-filled
// in shared memory, never read past the sequence end. Causal masking happens in the softmax only (S is
// computed whole, P holds exact zeros above the diagonal and P*V reads all of it), as in Algorithm 0.
#include "attention_params.h"
#include "cp_async.cuh"
#include "device_types.cuh"
#include "kernel_limits.h"
#include "mma.cuh"
#include "online_softmax.cuh"
#include "smem_bytes.h"
#include "swizzle.cuh"
#include "tile_io.cuh"

namespace flashtune {

template <int kBlockM, int kBlockN, int kHeadDim, int kWarps, int kStages>
struct StandardTraits {
  static constexpr int kThreads = kWarps * 32;
  static constexpr int kRowsPerWarp = kBlockM / kWarps;
  static constexpr int kMTiles = kRowsPerWarp / 16;  // 16-row MMA tiles per warp
  static constexpr int kDTiles = kHeadDim / 8;       // n8 tiles of O
  static constexpr int kQKSteps = kHeadDim / 16;     // k16 steps of Q K^T
  static constexpr int kChunkN = 64;                 // S columns a warp accumulates at once (32 registers)
  static constexpr int kPVSteps = kBlockN / 16;      // k16 steps of P V per key block
  static constexpr int kScoresSmemBytes = standard_scores_smem_bytes(kBlockM, kBlockN, kHeadDim);
  static constexpr int kStageElems = kBlockM * kBlockN + kBlockN * kHeadDim;  // a P tile and a V tile
  static constexpr int kPvSmemBytes = standard_pv_smem_bytes(kBlockM, kBlockN, kHeadDim, kStages);
  static constexpr int kSmemBytes = const_max(kScoresSmemBytes, kPvSmemBytes);

  static_assert(kHeadDim == 64 || kHeadDim == 128, "head_dim must be 64 or 128");
  static_assert(kWarps >= 1 && kThreads <= 1024, "1..32 warps");
  static_assert(kBlockM % (16 * kWarps) == 0,
                "each warp owns whole 16-row MMA tiles: kBlockM % (16*kWarps) == 0");
  static_assert(kMTiles <= 4, "at most 64 query rows per warp (register budget)");
  static_assert(kBlockN % 64 == 0 && kBlockN >= 64,
                "kBlockN must be a multiple of 64 (swizzled P tile rows of 128 bytes)");
  static_assert(kStages >= 1 && kStages <= 4, "1..4 pipeline stages");
  static_assert(kScoresSmemBytes <= kSmemOptinBytes,
                "standard_scores: Q and K tiles exceed the 227 KiB shared-memory opt-in limit of sm_90");
  static_assert(kPvSmemBytes <= kSmemOptinBytes,
                "standard_pv: the P/V ring exceeds the 227 KiB shared-memory opt-in limit of sm_90");
};

// Offsets into the workspace: S[bh][N][N] fp32, then P[bh][N][N] of T.
template <typename T>
__device__ __forceinline__ T* standard_p_base(const AttentionParams& p) {
  const long long n = p.seqlen;
  const long long s_elems = static_cast<long long>(p.batch) * p.heads * n * n;
  return reinterpret_cast<T*>(static_cast<float*>(p.workspace) + s_elems);
}

// S_ij = scale * Q_i K_j^T for one (query tile, key tile, batch*head), stored as fp32. Each warp owns
// kRowsPerWarp rows and walks the kBlockN columns in chunks of 64.
template <int kBlockM, int kBlockN, int kHeadDim, int kWarps, typename T>
__global__ void __launch_bounds__(kWarps * 32) standard_scores(const AttentionParams p) {
  using Tr = StandardTraits<kBlockM, kBlockN, kHeadDim, kWarps, 1>;
  using Tile = SwizzledTile<kHeadDim>;
  constexpr int kThreads = Tr::kThreads;
  constexpr int kMT = Tr::kMTiles;

  extern __shared__ __align__(128) unsigned char smem_raw[];
  T* const sQ = reinterpret_cast<T*>(smem_raw);
  T* const sK = sQ + kBlockM * kHeadDim;

  const int tid = threadIdx.x;
  const int warp = tid / 32;
  const int lane = tid % 32;
  const int g = lane / 4;
  const int c = lane % 4;
  const int n = p.seqlen;
  const int q0 = blockIdx.x * kBlockM;
  const int k0 = blockIdx.y * kBlockN;
  const long long bh = blockIdx.z;
  const long long head_offset = bh * n * kHeadDim;
  const int warp_row0 = warp * Tr::kRowsPerWarp;

  load_rows_async<kHeadDim, kBlockM, kThreads>(sQ, static_cast<const T*>(p.q) + head_offset, q0, n, tid);
  load_rows_async<kHeadDim, kBlockN, kThreads>(sK, static_cast<const T*>(p.k) + head_offset, k0, n, tid);
  cp_async_commit();
  cp_async_wait<0>();
  __syncthreads();

  float* const S = static_cast<float*>(p.workspace) + bh * n * n;
  const float scale = p.scale_log2 * 0.69314718055994530942f;  // the natural-scale softmax scale
  const bool pairs = n % 2 == 0;                               // rows start on 8 bytes: float2 stores

  for (int cn = 0; cn < kBlockN / Tr::kChunkN; ++cn) {
    const int col0 = k0 + cn * Tr::kChunkN;
    if (col0 >= n) break;
    float s[kMT][Tr::kChunkN / 8][4];
#pragma unroll
    for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
      for (int nt = 0; nt < Tr::kChunkN / 8; ++nt)
        s[mt][nt][0] = s[mt][nt][1] = s[mt][nt][2] = s[mt][nt][3] = 0.0f;
#pragma unroll
    for (int ks = 0; ks < Tr::kQKSteps; ++ks) {
      unsigned a[kMT][4];
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt)
        ldmatrix_x4(
            a[mt], smem_addr(sQ + Tile::chunk_offset(warp_row0 + mt * 16 + (lane % 16), ks * 2 + lane / 16)));
#pragma unroll
      for (int np = 0; np < Tr::kChunkN / 16; ++np) {
        unsigned b[4];
        ldmatrix_x4(
            b, smem_addr(sK + Tile::chunk_offset(cn * Tr::kChunkN + np * 16 + (lane / 16) * 8 + (lane % 8),
                                                 ks * 2 + (lane / 8) % 2)));
#pragma unroll
        for (int mt = 0; mt < kMT; ++mt) {
          mma_m16n8k16<T>(s[mt][2 * np], a[mt], b[0], b[1]);
          mma_m16n8k16<T>(s[mt][2 * np + 1], a[mt], b[2], b[3]);
        }
      }
    }
    // Valid rows and columns only; a quad writes 32 contiguous bytes of a row.
#pragma unroll
    for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int row = q0 + warp_row0 + mt * 16 + g + 8 * h;
        if (row >= n) continue;
        float* const srow = S + static_cast<long long>(row) * n;
#pragma unroll
        for (int nt = 0; nt < Tr::kChunkN / 8; ++nt) {
          const int col = col0 + nt * 8 + 2 * c;
          const float v0 = s[mt][nt][2 * h] * scale;
          const float v1 = s[mt][nt][2 * h + 1] * scale;
          if (pairs) {
            if (col < n) *reinterpret_cast<float2*>(srow + col) = make_float2(v0, v1);
          } else {
            if (col < n) srow[col] = v0;
            if (col + 1 < n) srow[col + 1] = v1;
          }
        }
      }
  }
}

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
  for (int off = 16; off > 0; off /= 2) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, off));
  return v;
}
__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int off = 16; off > 0; off /= 2) v += __shfl_xor_sync(0xffffffffu, v, off);
  return v;
}

// Rows of up to kSoftmaxRegCols columns are read once into registers; longer rows (outside the shipped
// search space) take two passes over S.
constexpr int kSoftmaxChunks = 32;  // 128 columns per chunk: 4 values per lane
constexpr int kSoftmaxRegCols = kSoftmaxChunks * 128;

// P row = softmax(S row), one warp per query row; LSE = natural log of the normalizer. Causal: keys after the
// query are read, then masked in registers (P = 0 there).
template <int kWarps, bool kCausal, typename T>
__global__ void __launch_bounds__(kWarps * 32) standard_softmax(const AttentionParams p) {
  static_assert(kWarps >= 1 && kWarps <= 32, "1..32 warps");
  constexpr float kLog2e = 1.4426950408889634074f;
  const int lane = threadIdx.x % 32;
  const int n = p.seqlen;
  const int row = blockIdx.x * kWarps + threadIdx.x / 32;
  if (row >= n) return;  // no barriers below
  const long long bh = blockIdx.y;
  const long long row_offset = (bh * n + row) * static_cast<long long>(n);
  const float* const srow = static_cast<const float*>(p.workspace) + row_offset;
  T* const prow = standard_p_base<T>(p) + row_offset;
  const int last_key = kCausal ? row : n - 1;  // keys after it are masked

  float row_max;
  float row_sum;
  if (n <= kSoftmaxRegCols) {
    // Lane l holds, in chunk k, columns k*128 + 4l .. 4l+3 (rows 16-byte aligned: float4 loads, 8-byte P
    // stores) or k*128 + 32e + l (any n: scalar accesses, still coalesced).
    const bool vec = n % 4 == 0;
    auto col_of = [&](int k, int e) { return k * 128 + (vec ? 4 * lane + e : 32 * e + lane); };
    float v[kSoftmaxChunks][4];
#pragma unroll
    for (int k = 0; k < kSoftmaxChunks; ++k) {
      if (k * 128 < n) {
        if (vec) {
          const int col = col_of(k, 0);
          const float4 x =
              col < n ? *reinterpret_cast<const float4*>(srow + col) : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
          v[k][0] = x.x, v[k][1] = x.y, v[k][2] = x.z, v[k][3] = x.w;
        } else {
#pragma unroll
          for (int e = 0; e < 4; ++e) v[k][e] = col_of(k, e) < n ? srow[col_of(k, e)] : 0.0f;
        }
      }
    }
    float mx = neg_infinity();
#pragma unroll
    for (int k = 0; k < kSoftmaxChunks; ++k) {
      if (k * 128 < n) {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          v[k][e] = col_of(k, e) <= last_key ? v[k][e] * kLog2e : neg_infinity();
          mx = fmaxf(mx, v[k][e]);
        }
      }
    }
    row_max = warp_max(mx);
    float sum = 0.0f;
#pragma unroll
    for (int k = 0; k < kSoftmaxChunks; ++k) {
      if (k * 128 < n) {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          v[k][e] = fast_exp2(v[k][e] - row_max);
          sum += v[k][e];
        }
      }
    }
    row_sum = warp_sum(sum);
    const float inv = 1.0f / row_sum;
#pragma unroll
    for (int k = 0; k < kSoftmaxChunks; ++k) {
      if (k * 128 < n) {
        if (vec) {
          const int col = col_of(k, 0);
          if (col < n)
            *reinterpret_cast<uint2*>(prow + col) =
                make_uint2(element_traits<T>::pack2(v[k][0] * inv, v[k][1] * inv),
                           element_traits<T>::pack2(v[k][2] * inv, v[k][3] * inv));
        } else {
#pragma unroll
          for (int e = 0; e < 4; ++e)
            if (col_of(k, e) < n) prow[col_of(k, e)] = to_element<T>(v[k][e] * inv);
        }
      }
    }
  } else {
    // Pass 1: running max and sum per lane, merged across the warp. Pass 2: S again, P written.
    float mx = neg_infinity();
    float sum = 0.0f;
    for (int col = lane; col <= last_key; col += 32) {
      const float x = srow[col] * kLog2e;
      const float m_new = fmaxf(mx, x);
      sum = sum * fast_exp2(mx - m_new) + fast_exp2(x - m_new);
      mx = m_new;
    }
    row_max = warp_max(mx);
    row_sum = warp_sum(mx == neg_infinity() ? 0.0f : sum * fast_exp2(mx - row_max));
    const float inv = 1.0f / row_sum;
    for (int col = lane; col < n; col += 32)
      prow[col] = to_element<T>(col <= last_key ? fast_exp2(srow[col] * kLog2e - row_max) * inv : 0.0f);
  }
  if (lane == 0) p.lse[bh * n + row] = row_lse(row_max, row_sum);
}

// O_i = P_i V for one query tile: key blocks of kBlockN rows stream P_ik (kBlockM x kBlockN) and V_k
// (kBlockN x d) through a ring of kStages shared-memory stages, one cp.async group per block; P is the A
// operand (ldmatrix), V the B operand (ldmatrix.trans), O accumulates in fp32 registers.
template <int kBlockM, int kBlockN, int kHeadDim, int kWarps, int kStages, typename T>
__global__ void __launch_bounds__(kWarps * 32) standard_pv(const AttentionParams p) {
  using Tr = StandardTraits<kBlockM, kBlockN, kHeadDim, kWarps, kStages>;
  using PTile = SwizzledTile<kBlockN>;
  using VTile = SwizzledTile<kHeadDim>;
  constexpr int kThreads = Tr::kThreads;
  constexpr int kMT = Tr::kMTiles;

  extern __shared__ __align__(128) unsigned char smem_raw[];
  T* const ring = reinterpret_cast<T*>(smem_raw);  // stage s: P tile, then V tile

  const int tid = threadIdx.x;
  const int warp = tid / 32;
  const int lane = tid % 32;
  const int g = lane / 4;
  const int c = lane % 4;
  const int n = p.seqlen;
  const int q0 = blockIdx.x * kBlockM;
  const long long bh = blockIdx.y;
  const T* const P = standard_p_base<T>(p) + bh * n * static_cast<long long>(n);
  const T* const V = static_cast<const T*>(p.v) + bh * n * kHeadDim;
  T* const O = static_cast<T*>(p.o) + bh * n * kHeadDim;
  const int warp_row0 = warp * Tr::kRowsPerWarp;
  const int n_blocks = (n + kBlockN - 1) / kBlockN;
  const bool aligned = n % 8 == 0;  // P rows start on 16 bytes: cp.async for every chunk

  auto load_stage = [&](int kb) {
    T* const sP = ring + (kb % kStages) * Tr::kStageElems;
    load_block_async<kBlockM, kBlockN, kThreads>(sP, P, n, q0, kb * kBlockN, n, n, aligned, tid);
    load_rows_async<kHeadDim, kBlockN, kThreads>(sP + kBlockM * kBlockN, V, kb * kBlockN, n, tid);
  };
#pragma unroll
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < n_blocks) load_stage(s);
    cp_async_commit();
  }

  float o[kMT][Tr::kDTiles][4];
#pragma unroll
  for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
    for (int dt = 0; dt < Tr::kDTiles; ++dt) o[mt][dt][0] = o[mt][dt][1] = o[mt][dt][2] = o[mt][dt][3] = 0.0f;

  for (int kb = 0; kb < n_blocks; ++kb) {
    __syncthreads();  // every warp is done with block kb-1, whose stage the next load may reuse
    if (kb + kStages - 1 < n_blocks) load_stage(kb + kStages - 1);
    cp_async_commit();
    cp_async_wait<kStages - 1>();  // block kb landed
    __syncthreads();
    const T* const sP = ring + (kb % kStages) * Tr::kStageElems;
    const T* const sV = sP + kBlockM * kBlockN;
#pragma unroll
    for (int ps = 0; ps < Tr::kPVSteps; ++ps) {
      unsigned a[kMT][4];
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt)
        ldmatrix_x4(a[mt], smem_addr(sP + PTile::chunk_offset(warp_row0 + mt * 16 + (lane % 16),
                                                              ps * 2 + lane / 16)));
#pragma unroll
      for (int dp = 0; dp < Tr::kDTiles / 2; ++dp) {
        unsigned b[4];
        ldmatrix_x4_trans(b, smem_addr(sV + VTile::chunk_offset(ps * 16 + ((lane / 8) % 2) * 8 + (lane % 8),
                                                                dp * 2 + lane / 16)));
#pragma unroll
        for (int mt = 0; mt < kMT; ++mt) {
          mma_m16n8k16<T>(o[mt][2 * dp], a[mt], b[0], b[1]);
          mma_m16n8k16<T>(o[mt][2 * dp + 1], a[mt], b[2], b[3]);
        }
      }
    }
  }

  // Epilogue: O through shared memory (the ring) for 16-byte stores of the valid rows.
  cp_async_wait<0>();
  __syncthreads();
  T* const sO = ring;
#pragma unroll
  for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int r = warp_row0 + mt * 16 + g + 8 * h;
#pragma unroll
      for (int dt = 0; dt < Tr::kDTiles; ++dt)
        *reinterpret_cast<unsigned*>(sO + VTile::offset(r, dt * 8 + 2 * c)) =
            element_traits<T>::pack2(o[mt][dt][2 * h], o[mt][dt][2 * h + 1]);
    }
  __syncthreads();
  constexpr int kOutChunks = kBlockM * VTile::kChunksPerRow;
#pragma unroll
  for (int i = tid; i < kOutChunks; i += kThreads) {
    const int r = i / VTile::kChunksPerRow;
    const int ch = i % VTile::kChunksPerRow;
    if (q0 + r < n)
      *reinterpret_cast<uint4*>(O + static_cast<long long>(q0 + r) * kHeadDim + ch * 8) =
          *reinterpret_cast<const uint4*>(sO + VTile::chunk_offset(r, ch));
  }
}

}  // namespace flashtune
