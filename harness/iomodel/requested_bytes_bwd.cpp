// fa2_bwd's data-movement contract (io_model.hpp), per key/value head in exact integers: what its three
// kernels (kernel_templates/fa2_bwd.cuh) load and store, rows past the sequences never moved.
#include <algorithm>

#include "block_range.h"
#include "iomodel/detail/tiling.hpp"

namespace flashtune::iomodel::detail {

Fa2BwdParts fa2_bwd_requested(const Tiling& t, bool causal) {
  const std::int64_t n = t.n, nk = t.nk, d = t.d, e = t.e, bm = t.bm, bn = t.bn, g = t.group;
  Fa2BwdParts parts;
  // Preprocess, per query row: O and dO read, the fp32 accumulator row zeroed, D written.
  parts.preprocess = {.read = g * 2 * n * d * e, .write = g * (n * d * 4 + n * 4)};
  // Main loop: a CTA per key tile loads K_j and V_j once and writes dK_j, dV_j; for each query head of the
  // group and each query tile whose rows attend a key of the tile (KeyMask's query range), it loads Q_i and
  // dO_i (their rows inside the sequence), LSE_i and D_i (4 bytes a row each), and adds dQ_i to the fp32
  // accumulator (one 4-byte atomic per element of the rows inside the sequence).
  for (std::int64_t k0 = 0; k0 < nk; k0 += bn) {
    const std::int64_t key_rows = std::min(bn, nk - k0);
    parts.main_loop.read += 2 * key_rows * d * e;
    parts.main_loop.write += 2 * key_rows * d * e;
    const int lo = t.mask.lo_query(static_cast<int>(k0), causal);
    const int hi = t.mask.hi_query(static_cast<int>(k0), static_cast<int>(bn), static_cast<int>(n));
    if (hi <= lo) continue;
    for (std::int64_t q0 = (lo / bm) * bm; q0 < hi; q0 += bm) {
      const std::int64_t rows = std::min(bm, n - q0);
      parts.main_loop.read += g * (2 * rows * d * e + 2 * rows * 4);
      if (t.dq_mode == 0) parts.main_loop.write += g * rows * d * 4;
    }
  }
  if (t.dq_mode == 0) {  // conversion, per query row: the accumulator read, dQ written
    parts.convert = {.read = g * n * d * 4, .write = g * n * d * e};
    return parts;
  }
  // dq_mode 1, the dQ pass: per query tile, Q and dO (rows inside the sequence) and their LSE and D once,
  // then K and V of every key tile of 64 rows its rows attend (KeyMask's range); dQ written once.
  constexpr std::int64_t kDqBlockN = 64;
  for (std::int64_t q0 = 0; q0 < n; q0 += bm) {
    const std::int64_t rows = std::min(bm, n - q0);
    parts.convert.read += g * (2 * rows * d * e + 2 * rows * 4);
    const int first = t.mask.first_block(static_cast<int>(q0), static_cast<int>(bm), kDqBlockN, causal);
    const int last = t.mask.last_block(static_cast<int>(q0), static_cast<int>(bm), kDqBlockN, causal);
    for (std::int64_t j = first; j < last; ++j)
      parts.convert.read += g * 2 * (std::min(nk, (j + 1) * kDqBlockN) - j * kDqBlockN) * d * e;
  }
  parts.convert.write = g * n * d * e;
  return parts;
}

}  // namespace flashtune::iomodel::detail
