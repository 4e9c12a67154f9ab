#pragma once
// The block-sparse layout of a problem (core/problem.hpp, sparse_block > 0): which (query block, key block)
// pairs are attended, queries and keys cut into blocks of sparse_block positions (the last of each maybe
// short), and the same layout for every batch entry and head.
//
// The drawn layout keeps block (r, c) of a [rows, cols] layout iff u(r, c) < sparse_density, where u is the
// top 53 bits of splitmix64(sparse_seed + r * cols + c + 1) times 2^-53 (splitmix64: z += 0x9e3779b97f4a7c15;
// z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9; z = (z ^ (z >> 27)) * 0x94d049bb133111eb; z ^ (z >> 31)), so any
// language draws the same layout. Rows may come out empty (their queries get O = 0, LSE = -inf).
//
// The kernels read the layout as lists (SparseLists): for layout row r, counts[r] kept columns at
// cols[r * cols_per_row ..], ascending (kernel_templates/common/block_sparse.h).
#include <cstdint>
#include <string>
#include <vector>

#include "core/problem.hpp"

namespace flashtune {

struct BlockLayout {
  int block = 0;                   // positions per block (queries and keys)
  int rows = 0;                    // query blocks: ceil(seqlen / block)
  int cols = 0;                    // key blocks: ceil(seqlen_k / block)
  std::vector<std::uint8_t> kept;  // [rows, cols], 1 where the block pair is attended

  bool at(int r, int c) const { return kept[static_cast<std::size_t>(r) * cols + c] != 0; }
  double density() const;  // the fraction of kept blocks
};

// p's drawn layout (sparse_block > 0; throws Error(invalid_argument) otherwise).
BlockLayout block_layout(const AttentionProblem& p);
// A layout of these rows of '0'/'1' characters (tests, explicit layouts); throws on ragged or other text.
BlockLayout layout_from_rows(int block, const std::vector<std::string>& rows);

struct SparseLists {
  std::vector<int> counts;  // [rows]
  std::vector<int> cols;    // [rows, cols_per_row]: row r's kept columns first, ascending, then zeros
  int cols_per_row = 0;
};
SparseLists sparse_lists(const BlockLayout& layout);

// (query, key) pairs of one head that both the layout and p's mask attend.
double layout_pairs(const AttentionProblem& p, const BlockLayout& layout);

}  // namespace flashtune
