#pragma once
// What requested_bytes.cpp and io_estimate.cpp share: a problem's tiling and the per-(batch, head) requested
// bytes of each template, split by kernel or phase, in exact integers.
#include <cstdint>
#include <memory>

#include "block_range.h"
#include "core/block_layout.hpp"
#include "iomodel/io_model.hpp"

namespace flashtune::iomodel::detail {

struct Tiling {
  std::int64_t n = 0, d = 0, e = 2, bm = 0, bn = 0, tr = 0, tc = 0;
  double heads = 1;  // batch·heads
  // The variants (fa2_fwd only): keys per sequence, query heads per key/value head, the key mask.
  std::int64_t nk = 0;
  int group = 1;
  KeyMask mask{0, 0, -1, -1};
  std::int64_t splits = 1;  // fa2_fwd's split-K/V
  int dq_mode = 0;          // fa2_bwd's: 1, dQ in a pass of its own instead of atomics
  // Block-sparse (fa2_fwd): the layout's lists (common/block_sparse.h) and its block; null when dense.
  std::shared_ptr<const SparseLists> sparse;
  int sparse_block = 0;
};
// Throws Error(invalid_argument) for an unknown template or a missing / non-positive block_m or block_n.
Tiling tiling_of(const ModelInputs& in);

struct HeadBytes {
  std::int64_t read = 0, write = 0;
};
inline Traffic times_heads(const HeadBytes& b, double heads) {
  return {static_cast<double>(b.read) * heads, static_cast<double>(b.write) * heads};
}

HeadBytes fa2_requested(const Tiling& t, bool causal);
struct StandardParts {
  HeadBytes scores, softmax, pv;
};
StandardParts standard_requested(const Tiling& t);
struct Fa1Parts {
  HeadBytes main_loop, final_pass;
};
Fa1Parts fa1_requested(const Tiling& t, bool causal);
// fa2_bwd, per KEY/VALUE head (its group's query heads included): the preprocess (O and dO read, the dQ
// accumulator zeroed, D written), the main loop, dQ's conversion (requested_bytes_bwd.cpp).
struct Fa2BwdParts {
  HeadBytes preprocess, main_loop, convert;  // convert: dq_mode 1's dQ pass instead
};
Fa2BwdParts fa2_bwd_requested(const Tiling& t, bool causal);

}  // namespace flashtune::iomodel::detail
