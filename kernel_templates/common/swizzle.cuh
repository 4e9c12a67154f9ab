#pragma once
// Shared-memory tile addressing with an XOR swizzle of 16-byte chunks.
//
// A tile is kRows x kCols 16-bit elements, row-major, a row being kCols/8 chunks of 16 bytes. Chunk c of row
// r is stored at chunk c ^ (r % 8). ldmatrix reads 8 rows of one logical chunk per 8x8 matrix; after the
// swizzle those 8 rows sit in 8 different 16-byte bank groups, so the read is free of bank conflicts for any
// row length that is a multiple of 64 elements (128 bytes). cp.async writes use the same mapping.
//
// 96 columns (SwizzledTile<96>, below) are 12 chunks: c ^ (r % 8) would leave the row, so that tile is laid
// out in 32-column panels with a 4-chunk swizzle instead.

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
  // ldmatrix addressing (fa2_warp_ops.cuh's WarpAddrs): the byte address of chunk pair k (chunks 2k, 2k+1)
  // of a row is the address of pair 0 XOR pair_xor(k), plus pair_offset(k).
  static constexpr unsigned pair_xor(int k) { return static_cast<unsigned>(k << 5); }
  static constexpr int pair_offset(int) { return 0; }
};

// 96 columns (head_dim 96): every 8-row group of the tile (1536 bytes, where the row-major rows would be) is
// three panels of 32 columns, 8 rows x 64 bytes each, one after the other. Inside panel p, row r sits in slot
// s = (r % 8) ^ (p % 2), and its chunk c (0..3) at c ^ ((s / 2) % 4), the 64-byte swizzle of TMA and wgmma.
// Bank groups (16 bytes of the 128-byte bank line): chunk c of slot s is in group 4 (s % 2) + (c ^ (s / 2)),
// so
//  - ldmatrix's 8 rows of one logical chunk (8 slots of one panel) hit 8 different groups;
//  - 8 consecutive chunks of the row-major order (cp.async of a row-major copy, the epilogue's 16-byte reads)
//    span two panels of one row, or a row's last panel and the next row's first: the slot flip of odd
//    panels puts those in opposite halves of the line, so they too hit 8 different groups.
// No row count is needed: a 16-row step is 16 * 192 bytes, as in a row-major tile.
template <>
struct SwizzledTile<96> {
  static constexpr int kChunksPerRow = 12;
  static constexpr int kGroupElems = 8 * 96;  // one 8-row group
  static constexpr int kPanelElems = 8 * 32;  // one panel of it

  static __device__ __forceinline__ int chunk_offset(int row, int chunk) {
    const int panel = chunk >> 2;
    const int slot = (row & 7) ^ (panel & 1);
    return (row >> 3) * kGroupElems + panel * kPanelElems + slot * 32 + (((chunk & 3) ^ (slot >> 1)) << 3);
  }
  static __device__ __forceinline__ int offset(int row, int col) {
    return chunk_offset(row, col >> 3) + (col & 7);
  }
  // Chunk pair k is pair k % 2 of panel k / 2: bit 5 of the byte address picks the pair inside the 64-byte
  // slot, bit 6 is the slot's parity (flipped in odd panels), and the panel is 512 bytes further. (A tile
  // must start on 128 bytes, so that bits 4..6 of an address come from the chunk and the slot only.)
  static constexpr unsigned pair_xor(int k) {
    return static_cast<unsigned>(((k & 1) << 5) | (((k >> 1) & 1) << 6));
  }
  static constexpr int pair_offset(int k) { return (k >> 1) * kPanelElems * 2; }
};

}  // namespace flashtune
