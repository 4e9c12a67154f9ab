#pragma once
// FlashAttention forward for Hopper (sm_90a), in the manner of FlashAttention-3: warp-specialized, TMA tile
// loads completing on mbarriers, wgmma tensor-core products, softmax on the accumulator registers.
//
// One CTA per (query tile of kBlockM = 64 * kConsumerWGs rows, batch*head), or per multiprocessor when
// kPersistent, 128 * (1 + kConsumerWGs) threads:
//   warpgroup 0, the producer: gives its registers back (setmaxnreg.dec); one thread loads the Q tile once
//     and streams the K and V tiles of kBlockN rows through two rings of kStages shared-memory stages with
//     TMA, each tile completing on its own "full" mbarrier, K one tile ahead of V (K_{j+1} before V_j, the
//     order the consumers use them in); it refills a K (V) stage when the consumers have arrived on that
//     stage's K (V) "empty" mbarrier: K_j is released as soon as S_j is in registers, V_j after O += P_j V_j,
//     so a K stage comes free an iteration before its V stage (FlashAttention-3's separate pipelines).
//   warpgroups 1..kConsumerWGs, the consumers: take the registers (setmaxnreg.inc); each owns 64 query rows.
//     Per K/V tile: S = Q K^T (wgmma, both operands from shared memory, K-major), online softmax on the
//     accumulator fragments (log2 domain, scale folded into one FFMA before ex2), P rounded to T in
//     registers and used as the register A operand of O += P V (V from shared memory, MN-major via the
//     transpose bit). The next tile's S = Q K^T is issued before this tile's softmax (intra-warpgroup
//     overlap), so the tensor cores work while the softmax runs; O is rescaled between issuing S_{j+1} and
//     O += P_j V_j, under the first product. Row max and row sum reduce as trees (one warp per scheduler does
//     softmax while the other warpgroup's products run: dependency chains are not hidden).
//   Epilogue: O normalized, staged through the warpgroup's (now unused) rows of the Q tile, written with
//     16-byte stores; LSE (natural log) written per row.
//   kPingPong: the consumer warpgroups take turns issuing their GEMMs (named barriers), so one's softmax
//     runs under the other's GEMMs (FlashAttention-3 section 3.1).
//   kPersistent: gridDim.x CTAs loop over the tiles; the ring and the barrier phases carry over from tile to
//     tile, and the next tile's Q is loaded once every consumer warp has stored its O out of the Q tile.
// head_dim 64, 96, 128 or 256: tiles are TMA boxes of 64 columns with the 128-byte swizzle, or for 96 (no
// multiple of 64) boxes of 32 columns with the 64-byte swizzle (wgmma's layout type 2); the GEMMs are the
// same, S = Q K^T in 6 k16 steps and O += P V with N = 96.
// Ragged ends: TMA zero-fills rows past seqlen (the tensor map's extent is one head's seqlen rows), keys at
// or past seqlen are masked to -inf. Causal: query tiles run longest-first, tiles above the diagonal are
// never loaded, and only tiles that cross the diagonal or the ragged end pay for the element mask.
#include "attention_params.h"
#include "block_range.h"
#include "block_sparse.h"
#include "device_types.cuh"
#include "kernel_limits.h"
#include "mbarrier_ring.cuh"
#include "online_softmax.cuh"
#include "sequence.cuh"
#include "smem_bytes.h"
#include "tile_scheduler.cuh"
#include "tma.cuh"
#include "warp_specialized.cuh"
#include "wgmma.cuh"
#include "wgmma_shapes.h"

namespace flashtune {

// The tensor maps of hopper_fwd, in the order the host builds them (HopperTemplate::tensor_maps): Q, K, V as
// [batch*heads, seqlen, head_dim] (the general variant: 4-D [batch, heads, rows, head_dim] by the tensors'
// strides) with boxes of 64 columns x (kBlockM | kBlockN) rows, 128-byte swizzle; head_dim 96: boxes of 32
// columns, 64-byte swizzle (HopperTraits::kPanelCols).
struct HopperTensorMaps {
  TmaDescriptor q;
  TmaDescriptor k;
  TmaDescriptor v;
};

// Every compile-time parameter of hopper_fwd but the problem's, in the order of the host's name expression
// (kernels/hopper_template.cpp): hopper_fwd<HopperTraits<block_n, head_dim, consumer_wgs, stages, pingpong,
// persistent>, causal, T>.
template <int kBlockN_, int kHeadDim_, int kConsumerWGs_, int kStages_, bool kPingPong_ = false,
          bool kPersistent_ = false>
struct HopperTraits {
  static constexpr int kBlockN = kBlockN_;
  static constexpr int kHeadDim = kHeadDim_;
  static constexpr int kConsumerWGs = kConsumerWGs_;
  static constexpr int kStages = kStages_;
  static constexpr bool kPingPong = kPingPong_;
  static constexpr bool kPersistent = kPersistent_;
  static constexpr int kBlockM = 64 * kConsumerWGs;
  static constexpr int kThreads = 128 * (1 + kConsumerWGs);
  // Tiles are TMA boxes ("panels") of kPanelCols columns, a panel row being the swizzle's width: 64 columns
  // with the 128-byte swizzle, or (head_dim 96, no multiple of 64) 32 columns with the 64-byte swizzle.
  static constexpr int kPanelCols = kHeadDim % 64 == 0 ? 64 : 32;
  static constexpr int kSwizzleBytes = 2 * kPanelCols;   // a panel row
  static constexpr int kAtomBytes = 8 * kSwizzleBytes;   // the swizzle's 8-row atom: wgmma's SBO
  static constexpr int kPanels = kHeadDim / kPanelCols;  // TMA boxes per row
  static constexpr int kQBytes = kBlockM * kHeadDim * 2;
  static constexpr int kKVBytes = kBlockN * kHeadDim * 2;  // one K (or V) stage
  static constexpr int kQPanelBytes = kBlockM * kSwizzleBytes;
  static constexpr int kKVPanelBytes = kBlockN * kSwizzleBytes;
  static constexpr int kSmemBytes = hopper_smem_bytes(kBlockN, kHeadDim, kConsumerWGs, kStages);
  // Registers per thread after reallocation (FlashAttention-3's choices); one consumer warpgroup keeps the
  // entry allocation (256 threads may use 255 registers each).
  static constexpr bool kReallocate = kConsumerWGs >= 2;
  static constexpr int kProducerRegs = kConsumerWGs == 2 ? 24 : 32;
  static constexpr int kConsumerRegs = kConsumerWGs == 2 ? 240 : 160;

  static_assert(kHeadDim == 64 || kHeadDim == 96 || kHeadDim == 128 || kHeadDim == 256,
                "head_dim must be 64, 96, 128 or 256");
  static_assert(kConsumerWGs >= 1 && kConsumerWGs <= 3, "1..3 consumer warpgroups");
  static_assert(kBlockN % 16 == 0 && kBlockN >= 64 && kBlockN <= 256,
                "block_n must be a multiple of 16 in 64..256 (a wgmma N and a TMA box)");
  static_assert(wgmma_has_n(kBlockN),
                "block_n must be a wgmma N of wgmma_shapes.h (64, 96, 128, 160, 176, 192, 256)");
  static_assert(kStages >= 1 && kStages <= 4, "1..4 pipeline stages");
  static_assert(!kPingPong || kConsumerWGs >= 2, "ping-pong needs 2 or 3 consumer warpgroups");
  static_assert(kSmemBytes <= kSmemOptinBytes,
                "tiles exceed the 227 KiB shared-memory opt-in limit of sm_90");
};

// The shared memory of hopper_fwd: named offsets from the 1024-byte aligned base (the kernel aligns the
// dynamic allocation, whose size hopper_smem_bytes gives: this layout plus 1024 bytes of slack). Offsets,
// not a struct, because the kernel addresses shared memory by 32-bit shared addresses (TMA, wgmma
// descriptors, mbarriers), and a struct's member addresses did not fold into them (72 more instructions).
template <class Tr>
struct HopperSmem {
  static constexpr unsigned kQ = 0;                                    // kPanels panels of kPanelCols
  static constexpr unsigned kK = kQ + Tr::kQBytes;                     // the K ring
  static constexpr unsigned kV = kK + Tr::kStages * Tr::kKVBytes;      // the V ring
  static constexpr unsigned kQFull = kV + Tr::kStages * Tr::kKVBytes;  // the Q tile has landed
  static constexpr unsigned kQFree = kQFull + 8;  // the Q tile (and the O staging in it) may be refilled
  static constexpr unsigned kKFull =
      kQFree + 8;  // then kStages barriers each: K full, V full, K empty, V empty
  static constexpr unsigned kVFull = kKFull + 8 * Tr::kStages;
  static constexpr unsigned kKEmpty = kVFull + 8 * Tr::kStages;
  static constexpr unsigned kVEmpty = kKEmpty + 8 * Tr::kStages;
  static constexpr unsigned kBytes = kVEmpty + 8 * Tr::kStages;
  static_assert(1024 + kBytes == Tr::kSmemBytes, "hopper_fwd's layout and hopper_smem_bytes disagree");
};

// Tr is a HopperTraits. kVariant: the problem's variant (core/problem.hpp) as bits, 0 for the plain problem:
//   1  general addressing: kv_heads < heads, seqlen_k != seqlen (causal bottom-right), strided tensors; the
//      tensor maps are then 4-D [batch, heads, rows, head_dim] by the tensors' strides, and query head h
//      reads key/value head h / (heads / kv_heads);
//   2  a window (window_left / window_right); 4  softcap (the cap before the mask);
//   8  variable lengths (with 1): the maps span the packed rows ([1, heads, total rows, head_dim]); a CTA's
//      sequence comes from cu_seqlens, its tiles start at the sequence's first row (a tile's rows past the
//      sequence read the next one's: those queries are not stored, those keys are masked), and tiles past
//      the sequence's end exit;
//   16 block-sparse: the key tiles of the layout's kept blocks only (common/block_sparse.h; its block a
//      multiple of kBlockM and kBlockN).
// Any bit: the key range and mask of block_range.h's KeyMask; a query tile without keys loads nothing and
// writes O = 0, LSE = -inf. The variants run the one-tile grid (kPersistent false).
template <class Tr, bool kCausal, typename T, int kVariant = 0>
__global__ void __launch_bounds__(Tr::kThreads, 1)
    hopper_fwd(const AttentionParams p, const __grid_constant__ HopperTensorMaps maps) {
  static_assert(kVariant >= 0 && kVariant <= 31,
                "kVariant: bits 1 general, 2 window, 4 softcap, 8 varlen, 16 block-sparse");
  static_assert((kVariant & 8) == 0 || (kVariant & 1) != 0, "varlen (8) needs the general addressing (1)");
  static_assert((kVariant & 24) != 24, "block-sparse (16) and varlen (8) do not combine");
  static_assert(kVariant == 0 || !Tr::kPersistent, "the variants run the one-tile grid (persistent 0)");
  constexpr bool kGeneral = (kVariant & 1) != 0;
  constexpr bool kKeyMask = (kVariant & 19) != 0;
  constexpr bool kSoftcap = (kVariant & 4) != 0;
  constexpr bool kVarlen = (kVariant & 8) != 0;
  constexpr bool kSparse = (kVariant & 16) != 0;
  constexpr int kBlockM = Tr::kBlockM;
  constexpr int kBlockN = Tr::kBlockN;
  constexpr int kHeadDim = Tr::kHeadDim;
  constexpr int kConsumerWGs = Tr::kConsumerWGs;
  constexpr int kStages = Tr::kStages;
  constexpr bool kPingPong = Tr::kPingPong;
  constexpr int kSAcc = kBlockN / 2;   // S accumulator registers per thread
  constexpr int kOAcc = kHeadDim / 2;  // O accumulator registers per thread
  constexpr int kPSteps = kBlockN / 16;

  using Smem = HopperSmem<Tr>;
  extern __shared__ __align__(1024) unsigned char smem_raw[];
  const unsigned smem_base = (smem_addr(smem_raw) + 1023u) & ~1023u;
  unsigned char* const smem_generic = smem_raw + (smem_base - smem_addr(smem_raw));
  const unsigned sQ = smem_base + Smem::kQ;
  const unsigned sK = smem_base + Smem::kK;
  const unsigned sV = smem_base + Smem::kV;
  const unsigned bar_q = smem_base + Smem::kQFull;
  const unsigned bar_q_free = smem_base + Smem::kQFree;
  const MbarrierRing<kStages> ring_k{smem_base + Smem::kKFull, smem_base + Smem::kKEmpty};
  const MbarrierRing<kStages> ring_v{smem_base + Smem::kVFull, smem_base + Smem::kVEmpty};

  const int tid = threadIdx.x;
  const TileScheduler<kBlockM, kBlockN, kCausal, Tr::kPersistent> sched(p);
  // varlen: the one tile's sequence (the variants run the one-tile grid: blockIdx.y is batch * heads + head).
  const Sequence seq = sequence_of<kVarlen>(p, kVarlen ? static_cast<int>(blockIdx.y / p.heads) : 0);
  const int seqlen = kVarlen ? seq.len_q : p.seqlen;
  if constexpr (kVarlen) {
    if (sched.tile(0).q0 >= seqlen) return;  // the grid covers the longest sequence; every thread leaves
  }
  // The variants' key blocks: j0 .. j0 + n - 1 of the tile (the plain problem: tile.n_blocks from 0).
  const int seqlen_k = kVarlen ? seq.len_k : p.seqlen_k;
  const KeyMask mask{seqlen_k, seqlen_k - seqlen, (kVariant & 2) ? p.window_left : -1,
                     (kVariant & 2) ? p.window_right : -1};
  // Block-sparse: j0 and n count positions of the tile's layout row's list of key tiles (key_block).
  auto sparse_of = [&](const QueryTile& tile) {
    if constexpr (kSparse)
      return sparse_key_blocks(p.sparse_counts, p.sparse_cols, p.sparse_cols_per_row, p.sparse_block, tile.q0,
                               kBlockN);
    else
      return SparseKeyBlocks{nullptr, 0, 1};
  };
  auto first_block = [&](const QueryTile& tile) {
    if constexpr (kSparse)
      return sparse_of(tile).position(mask.first_block(tile.q0, kBlockM, kBlockN, kCausal));
    return kKeyMask ? mask.first_block(tile.q0, kBlockM, kBlockN, kCausal) : 0;
  };
  auto num_blocks = [&](const QueryTile& tile) {
    if constexpr (kSparse)
      return sparse_of(tile).position(mask.last_block(tile.q0, kBlockM, kBlockN, kCausal)) -
             first_block(tile);
    return kKeyMask ? mask.last_block(tile.q0, kBlockM, kBlockN, kCausal) - first_block(tile) : tile.n_blocks;
  };
  // The key tile of position j0 + j.
  auto key_block = [&](const SparseKeyBlocks& sparse, int j0, int j) {
    if constexpr (kSparse)
      return sparse.key_block(j0 + j);
    else
      return j0 + j;
  };
  // Batch and (query) head of a tile, for the 4-D maps and the strided O.
  auto batch_of = [&](const QueryTile& tile) { return kVarlen ? 0 : static_cast<int>(tile.bh / p.heads); };
  auto head_of = [&](const QueryTile& tile) { return static_cast<int>(tile.bh % p.heads); };

  if (tid == 0) {
    mbarrier_init(bar_q, 1);
    mbarrier_init(bar_q_free, 4 * kConsumerWGs);  // one arrival per consumer warp
    ring_k.init(4 * kConsumerWGs);                // one arrival per consumer warp
    ring_v.init(4 * kConsumerWGs);
    fence_mbarrier_init();
  }
  __syncthreads();

  // ---------------------------------------------------------------- producer
  // One thread: the first K tile is on its way (the previous query tile's last ones may still be in use),
  // then Q, once the consumers have stored the previous tile's O out of it; then K one tile ahead of V.
  auto produce_start = [&] {
    tma_prefetch_descriptor(&maps.q);
    tma_prefetch_descriptor(&maps.k);
    tma_prefetch_descriptor(&maps.v);
  };
  auto produce = [&](const QueryTile& tile, int it, int round) {
    const int j0 = first_block(tile);
    const int n_blocks = num_blocks(tile);
    if (kKeyMask && n_blocks == 0) return;  // no keys: the consumers write O = 0 without waiting
    const SparseKeyBlocks sparse = sparse_of(tile);
    const int b = kGeneral ? batch_of(tile) : 0;
    const int kvh = kGeneral ? head_of(tile) / (p.heads / p.kv_heads) : 0;
    auto load = [&](const MbarrierRing<kStages>& ring, unsigned ring_base, const TmaDescriptor* map, int i,
                    int j) {  // key block j0 + j of the head into ring position i
      const unsigned bar = ring.acquire(i, Tr::kKVBytes);
#pragma unroll
      for (int c = 0; c < Tr::kPanels; ++c) {
        const unsigned dst = ring_base + ring.stage(i) * Tr::kKVBytes + c * Tr::kKVPanelBytes;
        if constexpr (kGeneral)
          tma_load_4d(dst, map, bar, Tr::kPanelCols * c,
                      static_cast<int>(seq.k_start) + key_block(sparse, j0, j) * kBlockN, kvh, b);
        else
          tma_load_3d(dst, map, bar, Tr::kPanelCols * c, key_block(sparse, j0, j) * kBlockN, tile.bh);
      }
    };
    load(ring_k, sK, &maps.k, it, 0);
    if (round > 0) mbarrier_wait(bar_q_free, (round - 1) & 1);
    mbarrier_arrive_expect_tx(bar_q, Tr::kQBytes);
#pragma unroll
    for (int c = 0; c < Tr::kPanels; ++c) {
      if constexpr (kGeneral)
        tma_load_4d(sQ + c * Tr::kQPanelBytes, &maps.q, bar_q, Tr::kPanelCols * c,
                    static_cast<int>(seq.q_start) + tile.q0, head_of(tile), b);
      else
        tma_load_3d(sQ + c * Tr::kQPanelBytes, &maps.q, bar_q, Tr::kPanelCols * c, tile.q0, tile.bh);
    }
    for (int j = 0; j < n_blocks; ++j) {
      if (j + 1 < n_blocks) load(ring_k, sK, &maps.k, it + j + 1, j + 1);
      load(ring_v, sV, &maps.v, it + j, j);
    }
  };

  // ------------------------------------------------------------------ consumers
  const int wg = tid / 128 - 1;  // consumer index: query rows 64*wg .. 64*wg+63 of the tile
  const int ctid = tid % 128;
  const int warp = ctid / 32;
  const int lane = ctid % 32;
  const int g = lane / 4;
  const int c = lane % 4;
  const float scale_log2 = p.scale_log2;
  constexpr float kRescaleSlack = 8.0f;  // log2 units a row max may outgrow its exponent base (softmax)

  // Ping-pong (FlashAttention-3 section 3.1): the consumer warpgroups take turns issuing their GEMMs, passing
  // a token round a ring of named barriers (warpgroup w waits on barrier kSchedBarrier + w, 128 of its own
  // threads + 128 arriving from warpgroup w - 1), so one warpgroup's softmax runs while the other's GEMMs
  // hold the tensor cores. Warpgroup 0 holds the token first. Every warpgroup passes the token the same
  // number of times per query tile, so the ring stays in step across a persistent CTA's tiles.
  constexpr unsigned kSchedBarrier = 1 + kConsumerWGs;  // after the epilogue's barriers 1..kConsumerWGs
  auto sched_wait = [&] {
    if constexpr (kPingPong) named_barrier_sync(kSchedBarrier + wg, 256);
  };
  auto sched_pass = [&] {
    if constexpr (kPingPong) named_barrier_arrive(kSchedBarrier + (wg + 1) % kConsumerWGs, 256);
  };
  auto consume_start = [&] {
    if constexpr (kPingPong)
      if (wg == kConsumerWGs - 1) named_barrier_arrive(kSchedBarrier, 256);
  };

  // Q rows of this warpgroup start 64 rows (8 KiB; 4 KiB with 64-byte panel rows) into each panel: aligned
  // to the swizzle atom, as the swizzle needs.
  constexpr int kSw = Tr::kSwizzleBytes;
  const unsigned sQwg = sQ + 64 * wg * kSw;
  auto q_k_product = [&](float(&s)[kSAcc], int stage) {
    const unsigned k_base = sK + stage * Tr::kKVBytes;
    constexpr int kPanelSteps = Tr::kPanelCols / 16;  // k16 steps per panel, 32 bytes apart
    wgmma_fence();
#pragma unroll
    for (int ks = 0; ks < kHeadDim / 16; ++ks) {
      const int panel = ks / kPanelSteps;
      const unsigned off = (ks % kPanelSteps) * 32;
      const unsigned long long da =
          wgmma_desc_swizzled<kSw>(sQwg + panel * Tr::kQPanelBytes + off, 16, Tr::kAtomBytes);
      const unsigned long long db =
          wgmma_desc_swizzled<kSw>(k_base + panel * Tr::kKVPanelBytes + off, 16, Tr::kAtomBytes);
      Wgmma<kBlockN>::template ss<T, 0>(s, da, db, ks > 0 ? 1 : 0);
    }
    wgmma_commit();
  };

  // P in registers: the accumulator fragments of two adjacent 8-key column groups form the A fragment of
  // one k16 step.
  unsigned pa[kPSteps][4];
  auto pack_p = [&](const float(&s)[kSAcc]) {
#pragma unroll
    for (int t = 0; t < kPSteps; ++t) {
      pa[t][0] = element_traits<T>::pack2(s[8 * t + 0], s[8 * t + 1]);
      pa[t][1] = element_traits<T>::pack2(s[8 * t + 2], s[8 * t + 3]);
      pa[t][2] = element_traits<T>::pack2(s[8 * t + 4], s[8 * t + 5]);
      pa[t][3] = element_traits<T>::pack2(s[8 * t + 6], s[8 * t + 7]);
    }
  };

  unsigned char* const sO = smem_generic + (sQwg - smem_base);  // rows 0..63 of this warpgroup, panel layout
  // Where head bh's LSE rows start: [batch * heads, seqlen], or (varlen) [heads, total_q] from the
  // sequence's.
  auto lse_row = [&](int bh) {
    if constexpr (kVarlen)
      return (bh % p.heads) * static_cast<long long>(p.total_q) + seq.q_start;
    else
      return static_cast<long long>(bh) * seqlen;
  };
  auto consume = [&](const QueryTile& tile, int it, int round) {
    const int q0 = tile.q0;
    const int bh = tile.bh;
    const int j0 = first_block(tile);
    const int n_blocks = num_blocks(tile);
    const SparseKeyBlocks sparse = sparse_of(tile);
    const int row0 = q0 + 64 * wg + 16 * warp + g;  // this thread's rows: row0 and row0 + 8
    // O of this tile's head, rows o_row elements apart.
    const long long o_row = kGeneral ? p.o_stride.row : kHeadDim;
    auto o_head = [&] {
      if constexpr (kGeneral)
        return static_cast<T*>(p.o) + batch_of(tile) * p.o_stride.batch + head_of(tile) * p.o_stride.head +
               seq.q_start * p.o_stride.row;
      else
        return static_cast<T*>(p.o) + static_cast<long long>(bh) * seqlen * kHeadDim;
    };
    if (kKeyMask && n_blocks == 0) {  // no keys for any row of the tile: O = 0, LSE = -inf
      T* const O = o_head();
      constexpr int kChunks = kHeadDim / 8;
      for (int i = ctid; i < 64 * kChunks; i += 128) {
        const int q = q0 + 64 * wg + i / kChunks;
        if (q < seqlen) *reinterpret_cast<uint4*>(O + q * o_row + (i % kChunks) * 8) = uint4{0, 0, 0, 0};
      }
      const int r = q0 + 64 * wg + ctid;
      if (ctid < 64 && r < seqlen) p.lse[lse_row(bh) + r] = neg_infinity();
      return;
    }

    // Masks S_j (keys past the end, keys after the query when causal), folds it into the running row
    // state and leaves P_j = 2^(s2 - base) in s; returns each row's rescale factor for O in alpha. A row's
    // exponent base moves only when its
    // max outgrows it by more than kRescaleSlack (log2 units; probabilities reach at most 2^8), so after the
    // first tiles a vote finds that no lane's share outgrew its base: no quad reduction, no rescale of O.
    RowState row[2] = {{neg_infinity(), 0.0f}, {neg_infinity(), 0.0f}};
    auto softmax = [&](float(&s)[kSAcc], int j, float(&alpha)[2]) {
      if constexpr (kSoftcap) {
#pragma unroll
        for (int i = 0; i < kSAcc; ++i) s[i] = softcap_score(s[i], p.softcap, p.softcap_scale);
      }
      if constexpr (kKeyMask) {
        const int k0 = key_block(sparse, j0, j) * kBlockN;
        if (mask.block_needs_mask(k0, kBlockN, q0 + 64 * wg, q0 + 64 * wg + 63, kCausal)) {
#pragma unroll
          for (int i = 0; i < kSAcc; ++i) {
            const int key = k0 + (i / 4) * 8 + 2 * c + (i & 1);
            const int query = row0 + ((i >> 1) & 1) * 8;
            if (mask.masked(key, query, kCausal)) s[i] = neg_infinity();
          }
        }
      } else {
        const int k0 = j * kBlockN;
        if (block_needs_mask<kBlockN, kCausal>(k0, q0 + 64 * wg, seqlen)) {
#pragma unroll
          for (int i = 0; i < kSAcc; ++i) {
            const int key = k0 + (i / 4) * 8 + 2 * c + (i & 1);
            const int query = row0 + ((i >> 1) & 1) * 8;
            if (key_masked<kCausal>(key, query, seqlen)) s[i] = neg_infinity();
          }
        }
      }
      // This lane's share of row h's block max (raw scores).
      auto lane_max = [&](int h) {
        float m[kBlockN / 8];
#pragma unroll
        for (int t = 0; t < kBlockN / 8; ++t) m[t] = fmaxf(s[4 * t + 2 * h], s[4 * t + 2 * h + 1]);
        return tree_reduce<kBlockN / 8>(m, [](float a, float b) { return fmaxf(a, b); });
      };
      bool outgrown = false;
#pragma unroll
      for (int h = 0; h < 2; ++h) outgrown |= lane_max(h) * scale_log2 > row[h].max + kRescaleSlack;
      alpha[0] = alpha[1] = 1.0f;
      if (__any_sync(0xffffffffu, outgrown)) {
        // Rare after the first tiles; the shares are recomputed rather than kept live across the vote.
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          // -inf + slack is -inf: a row takes its first unmasked block's max.
          const float block_max = quad_max(lane_max(h)) * scale_log2;
          const bool grow = block_max > row[h].max + kRescaleSlack;
          const float new_max = grow ? block_max : row[h].max;
          if (grow) alpha[h] = fast_exp2(row[h].max - safe_base(new_max));
          row[h].max = new_max;
        }
      }
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const float base = safe_base(row[h].max);
        float part[kBlockN / 8];
#pragma unroll
        for (int t = 0; t < kBlockN / 8; ++t) {
          const float p0 = fast_exp2(fmaf(s[4 * t + 2 * h], scale_log2, -base));
          const float p1 = fast_exp2(fmaf(s[4 * t + 2 * h + 1], scale_log2, -base));
          s[4 * t + 2 * h] = p0;
          s[4 * t + 2 * h + 1] = p1;
          part[t] = p0 + p1;
        }
        row[h].sum =
            row[h].sum * alpha[h] + tree_reduce<kBlockN / 8>(part, [](float a, float b) { return a + b; });
      }
    };

    float o[kOAcc];
#pragma unroll
    for (int i = 0; i < kOAcc; ++i) o[i] = 0.0f;
    float s[kSAcc];
    float alpha[2];

    // O += P_j V_j, issued (not waited for); V_j has landed.
    auto p_v_product = [&](int stage) {
      fence_registers(o);
      fence_registers(pa);
      wgmma_fence();
      const unsigned v_base = sV + stage * Tr::kKVBytes;
#pragma unroll
      for (int t = 0; t < kPSteps; ++t) {
        const unsigned long long db =
            wgmma_desc_swizzled<kSw>(v_base + t * 16 * kSw, Tr::kKVPanelBytes, Tr::kAtomBytes);
        Wgmma<kHeadDim>::template rs<T, 1>(o, pa[t], db, 1);
      }
      wgmma_commit();
    };
    auto stage_of = [&](int j) { return MbarrierRing<kStages>::stage(it + j); };
    // K_j is no longer read once S_j is in registers; V_j once P_j V_j is done (one arrival per warp).
    auto rescale_o = [&] {
      // Skipped when every alpha of the warp is 1 (asked again here rather than kept live across the
      // GEMM issue: a flag held over it made the persistent 3-warpgroup and block_n >= 176 builds spill).
      if (!__any_sync(0xffffffffu, alpha[0] != 1.0f || alpha[1] != 1.0f)) return;
#pragma unroll
      for (int i = 0; i < kOAcc; ++i) o[i] *= alpha[(i >> 1) & 1];
    };

    mbarrier_wait(bar_q, round & 1);
    ring_k.wait(it);
    sched_wait();
    q_k_product(s, stage_of(0));
    sched_pass();
    wgmma_wait<0>();
    fence_registers(s);
    ring_k.release(it, lane);
    softmax(s, 0, alpha);
    pack_p(s);

    // Steady state, FlashAttention-3's intra-warpgroup overlap: S_{j+1} = Q K_{j+1}^T is issued, O is
    // rescaled by tile j's factor under it, then O += P_j V_j; the softmax of S_{j+1} runs while P_j V_j is
    // still on the tensor cores. (For j = 0, O is 0 and alpha is 0: the rescale is a no-op.)
    for (int j = 0; j + 1 < n_blocks; ++j) {
      ring_k.wait(it + j + 1);
      sched_wait();
      q_k_product(s, stage_of(j + 1));
      rescale_o();
      ring_v.wait(it + j);
      p_v_product(stage_of(j));
      sched_pass();
      wgmma_wait<1>();  // S_{j+1} is in registers; P_j V_j may still run
      fence_registers(s);
      ring_k.release(it + j + 1, lane);
      softmax(s, j + 1, alpha);
      wgmma_wait<0>();  // P_j V_j done: V_j is no longer read, P_j's registers are free
      fence_registers(o);
      fence_registers(pa);
      ring_v.release(it + j, lane);
      pack_p(s);
    }
    ring_v.wait(it + n_blocks - 1);
    sched_wait();
    rescale_o();
    p_v_product(stage_of(n_blocks - 1));
    sched_pass();
    wgmma_wait<0>();
    fence_registers(o);
    // The last V stage is released too: a persistent CTA's next query tile streams through the same ring.
    ring_v.release(it + n_blocks - 1, lane);

    // Epilogue: normalize, stage O through this warpgroup's rows of the Q tile (no longer read), store.
    // The staging base and thread index pass through empty asm, so that the compiler cannot hoist the
    // loop-invariant addresses below out of a persistent CTA's tile loop (they would spill).
    unsigned char* so = sO;
    int et = ctid;
    asm volatile("" : "+l"(so), "+r"(et));
    float inv[2];
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const float total = quad_sum(row[h].sum);
      inv[h] = total > 0.0f ? 1.0f / total : 0.0f;
      const int r = row0 + 8 * h;
      if (c == 0 && r < seqlen) p.lse[lse_row(bh) + r] = row_lse(row[h].max, total);
    }
#pragma unroll
    for (int i = 0; i < kOAcc; i += 2) {
      const int h = (i >> 1) & 1;
      const int col = (i / 4) * 8 + 2 * (et % 4);
      const int r = 16 * (et / 32) + (et % 32) / 4 + 8 * h;
      if constexpr (kSw == 128) {
        const int chunk = ((col % 64) / 8) ^ (r % 8);
        *reinterpret_cast<unsigned*>(so + (col / 64) * Tr::kQPanelBytes + r * 128 + chunk * 16 +
                                     (col % 8) * 2) =
            element_traits<T>::pack2(o[i] * inv[h], o[i + 1] * inv[h]);
      } else {  // 64-byte panel rows: chunk c (0..3) at c ^ ((r / 2) % 4)
        const int chunk = ((col % 32) / 8) ^ ((r / 2) % 4);
        *reinterpret_cast<unsigned*>(so + (col / 32) * Tr::kQPanelBytes + r * 64 + chunk * 16 +
                                     (col % 8) * 2) =
            element_traits<T>::pack2(o[i] * inv[h], o[i + 1] * inv[h]);
      }
    }
    named_barrier_sync(1 + wg, 128);
    T* const O = o_head();
    constexpr int kChunksPerRow = kHeadDim / 8;
    if constexpr (kSw == 128) {
#pragma unroll
      for (int i = et; i < 64 * kChunksPerRow; i += 128) {
        const int r = i / kChunksPerRow;
        const int ch = i % kChunksPerRow;
        const int q = q0 + 64 * wg + r;
        if (q < seqlen) {
          const uint4 v = *reinterpret_cast<const uint4*>(so + (ch / 8) * Tr::kQPanelBytes + r * 128 +
                                                          (((ch % 8) ^ (r % 8)) * 16));
          *reinterpret_cast<uint4*>(O + q * o_row + ch * 8) = v;
        }
      }
    } else {
      // Panel by panel (4 lanes a 64-byte run of a row): 8 consecutive lanes read two rows of one panel,
      // which the 64-byte swizzle puts in 8 different bank groups (row by row, two panels of one row would
      // share 4 of them).
#pragma unroll
      for (int i = et; i < 64 * kChunksPerRow; i += 128) {
        const int panel = i / (64 * 4);
        const int r = (i / 4) % 64;
        const int c4 = i % 4;
        const int q = q0 + 64 * wg + r;
        if (q < seqlen) {
          const uint4 v = *reinterpret_cast<const uint4*>(so + panel * Tr::kQPanelBytes + r * 64 +
                                                          ((c4 ^ ((r / 2) % 4)) * 16));
          *reinterpret_cast<uint4*>(O + q * o_row + panel * 32 + c4 * 8) = v;
        }
      }
    }
    if constexpr (Tr::kPersistent) {
      // This warp's reads and writes of the Q tile are done; the next Q tile's TMA load may overwrite it.
      fence_proxy_async_shared();
      __syncwarp();
      if (lane == 0) mbarrier_arrive(bar_q_free);
    }
  };

  warp_specialized<Tr>(sched, produce_start, produce, consume_start, consume);
}

}  // namespace flashtune
