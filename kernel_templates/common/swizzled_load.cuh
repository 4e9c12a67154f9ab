#pragma once
// Global -> shared copies of [rows, head_dim] tiles into the swizzled layout of swizzle.cuh (SwizzledTile),
// 16 bytes per thread through cp.async, rows past the end zero-filled: the loads of fa2_fwd and fa2_bwd.
#include "cp_async.cuh"
#include "mma.cuh"
#include "swizzle.cuh"

namespace flashtune {

// A row stride known at compile time (the packed [rows, kHeadDim] slice): int arithmetic, as the loaders
// always did (a long long stride, even a constant one, changed fa2_fwd's code). The general problem passes
// its runtime stride as a long long.
template <int N>
struct FixedStride {
  __device__ __forceinline__ constexpr operator int() const { return N; }
};

// load_tile_async for head_dim 96 (SwizzledTile<96>): 12 chunks a row do not divide a warp, so the copy goes
// panel by panel: thread tid copies chunk tid % 4 of every panel of rows tid / 4 + k * kStep (kStep =
// kThreads / 4, a multiple of 8 rows: the swizzle is the same for every k). A panel's destination is the
// lane's panel-0 address with the slot parity flipped for odd panels (bit 6, SwizzledTile<96>::pair_xor) plus
// 512 bytes a panel; 8 consecutive lanes write two slots x 4 chunks, 8 different bank groups. Each lane reads
// 16 bytes of global memory, 4 lanes a 64-byte run of a row: whole 32-byte sectors.
template <int kRows, int kThreads, typename T, typename RowStride>
__device__ __forceinline__ void load_tile_async_96(T* tile, const T* head, int row0, int seqlen, int tid,
                                                   RowStride row_stride) {
  using Tile = SwizzledTile<96>;
  constexpr int kStep = kThreads / 4;
  constexpr int kPasses = (kRows + kStep - 1) / kStep;
  static_assert(kStep % 8 == 0, "kThreads is a multiple of 32");
  const int c = tid % 4;
  const int r0 = tid / 4;
  const unsigned dst0 = smem_addr(tile + Tile::chunk_offset(r0, c));
  auto dst = [&](int k, int panel) {
    return (dst0 ^ Tile::pair_xor(2 * panel)) + Tile::pair_offset(2 * panel) + k * kStep * 192;
  };
  if (kRows % kStep == 0 && row0 + kRows <= seqlen) {  // every row inside the sequence: no bound checks
    const T* const src0 = head + static_cast<long long>(row0 + r0) * row_stride + c * 8;
#pragma unroll
    for (int k = 0; k < kPasses; ++k)
#pragma unroll
      for (int panel = 0; panel < 3; ++panel)
        cp_async_16(dst(k, panel), src0 + k * kStep * row_stride + panel * 32);
    return;
  }
#pragma unroll
  for (int k = 0; k < kPasses; ++k) {
    const int r = r0 + k * kStep;
    if (kRows % kStep != 0 && r >= kRows) break;
    const bool valid = row0 + r < seqlen;
    const T* const src = head + static_cast<long long>(valid ? row0 + r : 0) * row_stride + c * 8;
#pragma unroll
    for (int panel = 0; panel < 3; ++panel) cp_async_16(dst(k, panel), src + panel * 32, valid);
  }
}

// Copies `rows` rows of a [seqlen, kHeadDim] head slice (rows row_stride elements apart), starting at row0,
// into a swizzled tile. Rows past `seqlen` are zero-filled. Thread tid copies chunk tid % kChunksPerRow of
// rows tid / kChunksPerRow + k * kStep: a compile-time trip count, and when kStep is a multiple of 8 rows the
// swizzle is the same for every k, so source and destination advance by immediates.
template <int kHeadDim, int kRows, int kThreads, typename T, typename RowStride = FixedStride<kHeadDim>>
__device__ __forceinline__ void load_tile_async(T* tile, const T* head, int row0, int seqlen, int tid,
                                                RowStride row_stride = {}) {
  if constexpr (kHeadDim == 96) {
    load_tile_async_96<kRows, kThreads>(tile, head, row0, seqlen, tid, row_stride);
  } else {
    using Tile = SwizzledTile<kHeadDim>;
    constexpr int kCpr = Tile::kChunksPerRow;
    constexpr int kChunks = kRows * kCpr;
    constexpr int kStep = kThreads / kCpr;  // rows per pass of all threads (kThreads is a multiple of 32)
    constexpr int kPasses = (kChunks + kThreads - 1) / kThreads;
    const int c = tid % kCpr;
    const int r0 = tid / kCpr;
    const unsigned dst0 = smem_addr(tile + Tile::chunk_offset(r0, c));
    if (kChunks % kThreads == 0 && kStep % 8 == 0 && row0 + kRows <= seqlen) {
      // The whole tile lies inside the sequence (every tile but a ragged last one): no per-row bound checks,
      // source and destination advance by immediates.
      const T* const src0 = head + static_cast<long long>(row0 + r0) * row_stride + c * 8;
#pragma unroll
      for (int k = 0; k < kPasses; ++k)
        cp_async_16(dst0 + k * kStep * kHeadDim * 2, src0 + k * kStep * row_stride);
      return;
    }
#pragma unroll
    for (int k = 0; k < kPasses; ++k) {
      const int r = r0 + k * kStep;
      if (kChunks % kThreads != 0 && r >= kRows) break;
      const bool valid = row0 + r < seqlen;
      const T* src = head + static_cast<long long>(valid ? row0 + r : 0) * row_stride + c * 8;
      const unsigned dst =
          kStep % 8 == 0 ? dst0 + k * kStep * kHeadDim * 2 : smem_addr(tile + Tile::chunk_offset(r, c));
      cp_async_16(dst, src, valid);
    }
  }
}

}  // namespace flashtune
