#pragma once
// Which query tile a CTA works on: one tile per CTA (grid = query tiles x batch*heads), or, persistent,
// gridDim.x CTAs taking tiles blockIdx.x, blockIdx.x + gridDim.x, ... in the one-tile grid's order (query
// tiles of one head, then the next head). Causal: a head's query tiles run longest-first (the last tile reads
// the most key blocks), so the short tiles fill the tail of the wave.
//
//   const TileScheduler<kBlockM, kBlockN, kCausal, kPersistent> sched(p);
//   for (int t = sched.first(); t < sched.num_tiles; t += sched.step()) {
//     const QueryTile tile = sched.tile(t);   // tile.bh, tile.q0, tile.n_blocks
//   }
#include "attention_params.h"
#include "block_range.h"

namespace flashtune {

struct QueryTile {
  // batch * heads + head. Unsigned, as blockIdx is: an offset static_cast<long long>(bh) * ... is then a zero
  // extension, which left fa2_fwd's register allocation as it was before the scheduler (a sign extension of
  // an int cost 24 bytes of spills at 255 registers).
  unsigned bh;
  int q0;        // first query row
  int n_blocks;  // key blocks it reads (key_blocks)
};

template <int kBlockM, int kBlockN, bool kCausal, bool kPersistent>
struct TileScheduler {
  int seqlen;
  int m_blocks;   // query tiles per head
  int num_tiles;  // tiles this grid walks: every tile when persistent, else this CTA's one

  __device__ __forceinline__ explicit TileScheduler(const AttentionParams& p)
      : seqlen(p.seqlen),
        m_blocks(kPersistent ? (p.seqlen + kBlockM - 1) / kBlockM : static_cast<int>(gridDim.x)),
        num_tiles(kPersistent ? m_blocks * p.batch * p.heads : 1) {}

  __device__ __forceinline__ int first() const { return kPersistent ? static_cast<int>(blockIdx.x) : 0; }
  __device__ __forceinline__ int step() const { return kPersistent ? static_cast<int>(gridDim.x) : 1; }

  __device__ __forceinline__ QueryTile tile(int t) const {
    if constexpr (kPersistent) {
      const int x = t % m_blocks;
      return at(static_cast<unsigned>(t / m_blocks), kCausal ? m_blocks - 1 - x : x);
    } else {
      // Unsigned arithmetic on blockIdx, as fa2_fwd's one-tile grid always did (its register allocation,
      // at 255 registers, depends on such details).
      return at(blockIdx.y, static_cast<int>(kCausal ? gridDim.x - 1 - blockIdx.x : blockIdx.x));
    }
  }

  // Query tile m_block (in the order of the sequence) of head bh.
  __device__ __forceinline__ QueryTile at(unsigned bh, int m_block) const {
    const int q0 = m_block * kBlockM;
    return QueryTile{bh, q0, key_blocks(seqlen, q0, kBlockM, kBlockN, kCausal)};
  }
};

}  // namespace flashtune
