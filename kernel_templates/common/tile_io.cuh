#pragma once
// Global <-> shared tile copies for the templates that keep intermediates in HBM (standard_attn, fa1_fwd):
// whole rows of a [rows, kCols] matrix through cp.async, and blocks of a matrix with an arbitrary row stride
// (the N x N probability matrix P) whose rows need not be 16-byte aligned. Rows and columns past the end are
// zero-filled in shared memory and never read from global memory, so a partial tile moves only its valid
// data.
#include "cp_async.cuh"
#include "device_types.cuh"
#include "kernel_limits.h"
#include "mma.cuh"
#include "swizzle.cuh"

namespace flashtune {

constexpr int const_max(int a, int b) {
  return a > b ? a : b;
}

// One fp32 value rounded (nearest even) to T.
template <typename T>
__device__ __forceinline__ T to_element(float x) {
  if constexpr (element_traits<T>::is_bf16) {
    return __float2bfloat16_rn(x);
  } else {
    return __float2half_rn(x);
  }
}

// Copies rows row0 .. row0+kRows-1 of a contiguous [nrows, kCols] matrix into a swizzled tile; rows at or
// past `nrows` are zero-filled (cp.async with src-size 0: nothing is read).
template <int kCols, int kRows, int kThreads, typename T>
__device__ __forceinline__ void load_rows_async(T* tile, const T* base, int row0, int nrows, int tid) {
  using Tile = SwizzledTile<kCols>;
  constexpr int kChunks = kRows * Tile::kChunksPerRow;
#pragma unroll
  for (int i = tid; i < kChunks; i += kThreads) {
    const int r = i / Tile::kChunksPerRow;
    const int c = i % Tile::kChunksPerRow;
    const bool valid = row0 + r < nrows;
    const T* src = base + static_cast<long long>(valid ? row0 + r : 0) * kCols + c * 8;
    cp_async_16(smem_addr(tile + Tile::chunk_offset(r, c)), src, valid);
  }
}

// Copies the kRows x kCols block at (row0, col0) of an [nrows, ncols] matrix with row stride `stride`
// elements into a swizzled tile, zero-filling what lies outside the matrix. `aligned` (every row starts on 16
// bytes and ncols % 8 == 0) takes cp.async for every chunk; otherwise chunks are gathered element by element
// with plain loads and stored synchronously (ragged sequence lengths only), still reading only valid
// elements.
template <int kRows, int kCols, int kThreads, typename T>
__device__ __forceinline__ void load_block_async(T* tile, const T* base, long long stride, int row0, int col0,
                                                 int nrows, int ncols, bool aligned, int tid) {
  using Tile = SwizzledTile<kCols>;
  constexpr int kChunks = kRows * Tile::kChunksPerRow;
#pragma unroll 4
  for (int i = tid; i < kChunks; i += kThreads) {
    const int r = i / Tile::kChunksPerRow;
    const int c = i % Tile::kChunksPerRow;
    const int row = row0 + r;
    const int col = col0 + c * 8;
    const bool valid = row < nrows && col < ncols;
    T* dst = tile + Tile::chunk_offset(r, c);
    const T* src = base + (valid ? row * stride + col : 0);
    if (aligned) {
      cp_async_16(smem_addr(dst), src, valid);
    } else {
      const unsigned short* s = reinterpret_cast<const unsigned short*>(src);
      unsigned w[4];
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const unsigned lo = valid && col + 2 * e < ncols ? s[2 * e] : 0u;
        const unsigned hi = valid && col + 2 * e + 1 < ncols ? s[2 * e + 1] : 0u;
        w[e] = lo | (hi << 16);
      }
      *reinterpret_cast<uint4*>(dst) = make_uint4(w[0], w[1], w[2], w[3]);
    }
  }
}

}  // namespace flashtune
