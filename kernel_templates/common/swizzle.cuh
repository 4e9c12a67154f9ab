#pragma once
// Shared-memory tile addressing with an XOR swizzle of 16-byte chunks.
//
// A tile is kRows x kCols 16-bit elements, row-major, a row being kCols/8 chunks of 16 bytes. Chunk c of row
// r is stored at chunk c ^ (r % 8). ldmatrix reads 8 rows of one logical chunk per 8x8 matrix; after the
// swizzle those 8 rows sit in 8 different 16-byte bank groups, so the read is free of bank conflicts for any
// row length that is a multiple of 64 elements (128 bytes). cp.async writes use the same mapping.

namespace flashtune {

template <int kCols>
struct SwizzledTile {
  static_assert(kCols % 64 == 0, "swizzled rows must be a multiple of 64 elements (128 bytes)");
  static constexpr int kChunksPerRow = kCols / 8;

  // Element offset of (row, chunk) — the first of the chunk's 8 elements.
  static __device__ __forceinline__ int chunk_offset(int row, int chunk) {
    return row * kCols + ((chunk ^ (row & 7)) << 3);
  }
  // Element offset of (row, col) for any col.
  static __device__ __forceinline__ int offset(int row, int col) {
    return chunk_offset(row, col >> 3) + (col & 7);
  }
};

}  // namespace flashtune
