#pragma once
// FlashAttention-1 forward (Dao et al. 2022, Algorithm 1), tensor cores via mma.sync m16n8k16.
//
// Loop order: one CTA per (batch, head). The OUTER loop walks the key/value blocks K_j, V_j (kBlockN rows,
// loaded into shared memory once each); the INNER loop walks the query blocks Q_i (kBlockM rows). The running
// output O_i (fp32) and the row statistics m_i (running max, log2 domain, scale included) and l_i (running
// sum) live in HBM between outer iterations: each inner step reads them (except on the first key block a
// query block sees, j = 0), merges S = Q_i K_j^T into them with the online softmax, and writes them back.
// A final pass in the same CTA reads O_i, m_i, l_i once more and writes O_i / l_i (T) and the LSE.
//
// Causal: query blocks entirely above the diagonal of key block j (last query row < first key) are skipped,
// and only blocks crossing the diagonal or the ragged end apply the element mask.
//
// Workspace (fp32): O [B*H, N, d], then m [B*H, N], then l [B*H, N]. Each warp owns kBlockM / kWarps query
// rows of a block (whole 16-row MMA tiles) and reads and writes their O, m and l from registers, so a value
// written in one outer iteration is read back by the same warp in the next. Q tiles are double-buffered: Q
// for the next query block loads while the current one computes.
#include "attention_params.h"
#include "block_range.h"
#include "cp_async.cuh"
#include "device_types.cuh"
#include "kernel_limits.h"
#include "mma.cuh"
#include "online_softmax.cuh"
#include "smem_bytes.h"
#include "swizzle.cuh"
#include "tile_io.cuh"

namespace flashtune {

// Every compile-time parameter of fa1_fwd but the problem's: fa1_fwd<Fa1Traits<block_m, block_n, head_dim,
// warps>, causal, T> (kernels/fa1_template.cpp builds the name).
template <int kBlockM_, int kBlockN_, int kHeadDim_, int kWarps_>
struct Fa1Traits {
  static constexpr int kBlockM = kBlockM_;
  static constexpr int kBlockN = kBlockN_;
  static constexpr int kHeadDim = kHeadDim_;
  static constexpr int kWarps = kWarps_;
  static constexpr int kThreads = kWarps * 32;
  static constexpr int kRowsPerWarp = kBlockM / kWarps;
  static constexpr int kMTiles = kRowsPerWarp / 16;  // 16-row MMA tiles per warp
  static constexpr int kNTiles = kBlockN / 8;        // n8 tiles of S = Q K^T per warp
  static constexpr int kDTiles = kHeadDim / 8;       // n8 tiles of O per warp
  static constexpr int kQKSteps = kHeadDim / 16;     // k16 steps of Q K^T
  static constexpr int kPVSteps = kBlockN / 16;      // k16 steps of P V
  static constexpr int kQElems = kBlockM * kHeadDim;
  static constexpr int kKVElems = kBlockN * kHeadDim;
  static constexpr int kQBuffers = 2;
  static constexpr int kSmemBytes = fa1_smem_bytes(kBlockM, kBlockN, kHeadDim);

  static_assert(kHeadDim == 64 || kHeadDim == 128, "head_dim must be 64 or 128");
  static_assert(kWarps >= 1 && kThreads <= 1024, "1..32 warps");
  static_assert(kBlockM % (16 * kWarps) == 0,
                "each warp owns whole 16-row MMA tiles: kBlockM % (16*kWarps) == 0");
  static_assert(kMTiles <= 4, "at most 64 query rows per warp (register budget)");
  static_assert(kBlockN % 16 == 0 && kBlockN >= 16, "kBlockN must be a multiple of 16");
  static_assert(kSmemBytes <= kSmemOptinBytes,
                "K, V and two Q tiles exceed the 227 KiB shared-memory opt-in limit of sm_90");
};

// The shared memory of fa1_fwd, typed: its size is the host's fa1_smem_bytes (smem_bytes.h).
template <class Tr, typename T>
struct Fa1Smem {
  T k[Tr::kKVElems];
  T v[Tr::kKVElems];
  T q[Tr::kQBuffers][Tr::kQElems];
};

// Tr is a Fa1Traits.
template <class Tr, bool kCausal, typename T>
__global__ void __launch_bounds__(Tr::kThreads, 1) fa1_fwd(const AttentionParams p) {
  constexpr int kBlockM = Tr::kBlockM;
  constexpr int kBlockN = Tr::kBlockN;
  constexpr int kHeadDim = Tr::kHeadDim;
  constexpr int kWarps = Tr::kWarps;
  using Tile = SwizzledTile<kHeadDim>;
  constexpr int kThreads = Tr::kThreads;
  constexpr int kMT = Tr::kMTiles;

  extern __shared__ __align__(128) unsigned char smem_raw[];
  using Smem = Fa1Smem<Tr, T>;
  static_assert(sizeof(Smem) == Tr::kSmemBytes, "the typed layout and fa1_smem_bytes disagree");
  Smem& smem = *reinterpret_cast<Smem*>(smem_raw);
  T* const sK = smem.k;
  T* const sV = smem.v;
  T* const sQ = smem.q[0];  // kQBuffers tiles

  const int tid = threadIdx.x;
  const int warp = tid / 32;
  const int lane = tid % 32;
  const int g = lane / 4;
  const int c = lane % 4;
  const int n = p.seqlen;
  const long long bh = blockIdx.x;
  const long long rows_all = static_cast<long long>(p.batch) * p.heads * n;
  const long long head_offset = bh * n * kHeadDim;
  const T* const Q = static_cast<const T*>(p.q) + head_offset;
  const T* const K = static_cast<const T*>(p.k) + head_offset;
  const T* const V = static_cast<const T*>(p.v) + head_offset;
  float* const Ow = static_cast<float*>(p.workspace) + head_offset;
  float* const Mw = static_cast<float*>(p.workspace) + rows_all * kHeadDim + bh * n;
  float* const Lw = Mw + rows_all;
  const int warp_row0 = warp * Tr::kRowsPerWarp;
  const int m_blocks = (n + kBlockM - 1) / kBlockM;
  const int n_blocks = (n + kBlockN - 1) / kBlockN;

  for (int j = 0; j < n_blocks; ++j) {
    const int k0 = j * kBlockN;
    // Causal: block i is seen when its last query row, min((i+1)*kBlockM, n) - 1, is >= k0.
    const int i_begin = kCausal ? k0 / kBlockM : 0;

    __syncthreads();  // every warp is done with K_{j-1}, V_{j-1} and the Q tiles
    load_rows_async<kHeadDim, kBlockN, kThreads>(sK, K, k0, n, tid);
    load_rows_async<kHeadDim, kBlockN, kThreads>(sV, V, k0, n, tid);
    load_rows_async<kHeadDim, kBlockM, kThreads>(sQ, Q, i_begin * kBlockM, n, tid);
    cp_async_commit();

    for (int i = i_begin; i < m_blocks; ++i) {
      const int q0 = i * kBlockM;
      const T* const sQi = sQ + ((i - i_begin) % Tr::kQBuffers) * Tr::kQElems;
      __syncthreads();  // every warp is done with the Q tile of block i-1, which the next load reuses
      if (i + 1 < m_blocks)
        load_rows_async<kHeadDim, kBlockM, kThreads>(sQ + ((i + 1 - i_begin) % Tr::kQBuffers) * Tr::kQElems,
                                                     Q, (i + 1) * kBlockM, n, tid);
      cp_async_commit();

      // The running state of this warp's rows: from HBM, except on the first key block (j = 0, which every
      // query block sees first, causal or not). Rows past the end start empty and are never stored.
      float o[kMT][Tr::kDTiles][4];
      RowState row[kMT][2];
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          const int q = q0 + warp_row0 + mt * 16 + g + 8 * h;
          const bool load = j > 0 && q < n;
          row[mt][h] = load ? RowState{Mw[q], Lw[q]} : RowState{neg_infinity(), 0.0f};
#pragma unroll
          for (int dt = 0; dt < Tr::kDTiles; ++dt) {
            const float2 x = load ? *reinterpret_cast<const float2*>(
                                        Ow + static_cast<long long>(q) * kHeadDim + dt * 8 + 2 * c)
                                  : make_float2(0.0f, 0.0f);
            o[mt][dt][2 * h] = x.x;
            o[mt][dt][2 * h + 1] = x.y;
          }
        }

      cp_async_wait<1>();  // K_j, V_j and Q_i landed; Q_{i+1} may still be in flight
      __syncthreads();

      // S = Q_i K_j^T, fp32 accumulators in the C-fragment layout.
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
        for (int mt = 0; mt < kMT; ++mt)
          ldmatrix_x4(a[mt], smem_addr(sQi + Tile::chunk_offset(warp_row0 + mt * 16 + (lane % 16),
                                                                ks * 2 + lane / 16)));
#pragma unroll
        for (int np = 0; np < Tr::kNTiles / 2; ++np) {
          unsigned b[4];
          ldmatrix_x4(b, smem_addr(sK + Tile::chunk_offset(np * 16 + (lane / 16) * 8 + (lane % 8),
                                                           ks * 2 + (lane / 8) % 2)));
#pragma unroll
          for (int mt = 0; mt < kMT; ++mt) {
            mma_m16n8k16<T>(s[mt][2 * np], a[mt], b[0], b[1]);
            mma_m16n8k16<T>(s[mt][2 * np + 1], a[mt], b[2], b[3]);
          }
        }
      }

      // Mask keys past the end and, when causal, keys after the query.
      if (block_needs_mask<kBlockN, kCausal>(k0, q0, n)) {
#pragma unroll
        for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
          for (int nt = 0; nt < Tr::kNTiles; ++nt)
#pragma unroll
            for (int e = 0; e < 4; ++e) {
              const int key = k0 + nt * 8 + 2 * c + (e & 1);
              const int query = q0 + warp_row0 + mt * 16 + g + (e >> 1) * 8;
              if (key_masked<kCausal>(key, query, n)) s[mt][nt][e] = neg_infinity();
            }
      }

      // Online softmax; the row sums are kept whole (quad-reduced) since they go to HBM.
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
          row[mt][h].sum = row[mt][h].sum * alpha + quad_sum(sum);
#pragma unroll
          for (int dt = 0; dt < Tr::kDTiles; ++dt) {
            o[mt][dt][2 * h] *= alpha;
            o[mt][dt][2 * h + 1] *= alpha;
          }
        }

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
          ldmatrix_x4_trans(b, smem_addr(sV + Tile::chunk_offset(ps * 16 + ((lane / 8) % 2) * 8 + (lane % 8),
                                                                 dp * 2 + lane / 16)));
#pragma unroll
          for (int mt = 0; mt < kMT; ++mt) {
            mma_m16n8k16<T>(o[mt][2 * dp], a[mt], b[0], b[1]);
            mma_m16n8k16<T>(o[mt][2 * dp + 1], a[mt], b[2], b[3]);
          }
        }
      }

      // The state back to HBM, valid rows only: a quad writes 32 contiguous bytes of an O row; lane c == 0
      // writes m and l (read back by the whole quad after the next outer iteration's barrier).
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          const int q = q0 + warp_row0 + mt * 16 + g + 8 * h;
          if (q >= n) continue;
#pragma unroll
          for (int dt = 0; dt < Tr::kDTiles; ++dt)
            *reinterpret_cast<float2*>(Ow + static_cast<long long>(q) * kHeadDim + dt * 8 + 2 * c) =
                make_float2(o[mt][dt][2 * h], o[mt][dt][2 * h + 1]);
          if (c == 0) {
            Mw[q] = row[mt][h].max;
            Lw[q] = row[mt][h].sum;
          }
        }
    }
  }

  // Final pass: O / l in T and LSE, one warp per row, kHeadDim / 32 consecutive values per lane.
  cp_async_wait<0>();
  __syncthreads();  // every warp's last O, m, l writes are visible to the whole CTA
  constexpr int kPerLane = kHeadDim / 32;
  T* const O = static_cast<T*>(p.o) + head_offset;
  for (int q = warp; q < n; q += kWarps) {
    const float l = Lw[q];
    const float m = Mw[q];
    const float inv = l > 0.0f ? 1.0f / l : 0.0f;
    const float* const src = Ow + static_cast<long long>(q) * kHeadDim + lane * kPerLane;
    T* const dst = O + static_cast<long long>(q) * kHeadDim + lane * kPerLane;
    if constexpr (kPerLane == 4) {
      const float4 x = *reinterpret_cast<const float4*>(src);
      *reinterpret_cast<uint2*>(dst) = make_uint2(element_traits<T>::pack2(x.x * inv, x.y * inv),
                                                  element_traits<T>::pack2(x.z * inv, x.w * inv));
    } else {
      const float2 x = *reinterpret_cast<const float2*>(src);
      *reinterpret_cast<unsigned*>(dst) = element_traits<T>::pack2(x.x * inv, x.y * inv);
    }
    if (lane == 0) p.lse[bh * n + q] = row_lse(m, l);
  }
}

}  // namespace flashtune
