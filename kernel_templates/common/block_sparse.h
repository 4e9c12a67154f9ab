#pragma once
// The key tiles a query tile reads under a block-sparse layout (attention_params.h's sparse_*): the kept
// layout blocks of the tile's layout row, each cut into per = sparse_block / block_n tiles, in ascending
// order; position i of that list is key tile key_block(i). The mask's range of tiles [first, last)
// (block_range.h's KeyMask) is a range of positions [position(first), position(last)): tiles outside the
// layout or the range are never loaded. Shared by the kernels (device) and the IO model (host).
#include "host_device.h"

namespace flashtune {

struct SparseKeyBlocks {
  const int* cols;  // the layout row's kept blocks, ascending
  int count;
  int per;  // key tiles per layout block

  FLASHTUNE_HOST_DEVICE constexpr int key_block(int i) const { return cols[i / per] * per + i % per; }
  // Positions of the list whose key tile is below tile kb (a binary search over the kept blocks).
  FLASHTUNE_HOST_DEVICE constexpr int position(int kb) const {
    const int c = kb / per;
    int lo = 0, hi = count;
    while (lo < hi) {
      const int mid = (lo + hi) / 2;
      if (cols[mid] < c)
        lo = mid + 1;
      else
        hi = mid;
    }
    return lo * per + (lo < count && cols[lo] == c ? kb % per : 0);
  }
};

// The list of the query tile starting at row q0 (block_m dividing sparse_block: the tile lies in one layout
// row), for key tiles of block_n rows (dividing sparse_block).
FLASHTUNE_HOST_DEVICE constexpr SparseKeyBlocks sparse_key_blocks(const int* counts, const int* cols,
                                                                  int cols_per_row, int block, int q0,
                                                                  int block_n) {
  const int r = q0 / block;
  return {cols + static_cast<long long>(r) * cols_per_row, counts[r], block / block_n};
}

}  // namespace flashtune
