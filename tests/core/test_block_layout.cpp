#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "block_sparse.h"
#include "core/block_layout.hpp"
#include "core/error.hpp"
#include "core/problem.hpp"

namespace flashtune {
namespace {

AttentionProblem sparse_problem() {
  return {.seqlen = 256,
          .head_dim = 64,
          .seqlen_k = 384,
          .sparse_block = 64,
          .sparse_density = 0.4f,
          .sparse_seed = 7};
}

std::vector<std::string> rows_of(const BlockLayout& l) {
  std::vector<std::string> out;
  for (int r = 0; r < l.rows; ++r) {
    std::string s;
    for (int c = 0; c < l.cols; ++c) s += l.at(r, c) ? '1' : '0';
    out.push_back(s);
  }
  return out;
}

TEST(BlockLayout, DrawMatchesTheDocumentedSplitmix) {
  // The rows an independent implementation of core/block_layout.hpp's rule (Python integers) gives for seed
  // 7, density 0.4, a 4 x 6 layout: a different language draws the same layout.
  const BlockLayout l = block_layout(sparse_problem());
  EXPECT_EQ(l.rows, 4);
  EXPECT_EQ(l.cols, 6);
  EXPECT_EQ(rows_of(l), (std::vector<std::string>{"001100", "001010", "110000", "000000"}));
  EXPECT_DOUBLE_EQ(l.density(), 6.0 / 24);
}

TEST(BlockLayout, DensityFollowsTheParameterAndTheSeedChangesTheDraw) {
  AttentionProblem p{
      .seqlen = 16384, .head_dim = 128, .sparse_block = 128, .sparse_density = 0.25f, .sparse_seed = 1};
  const BlockLayout a = block_layout(p);
  EXPECT_NEAR(a.density(), 0.25, 0.01);  // 16384 draws
  p.sparse_seed = 2;
  EXPECT_NE(block_layout(p).kept, a.kept);
  p.sparse_density = 1.0f;
  EXPECT_DOUBLE_EQ(block_layout(p).density(), 1.0);
}

TEST(BlockLayout, ListsHoldTheKeptColumnsAscending) {
  const BlockLayout l = layout_from_rows(64, {"0110", "0000", "1001"});
  const SparseLists s = sparse_lists(l);
  EXPECT_EQ(s.cols_per_row, 4);
  EXPECT_EQ(s.counts, (std::vector<int>{2, 0, 2}));
  EXPECT_EQ(std::vector<int>(s.cols.begin(), s.cols.begin() + 2), (std::vector<int>{1, 2}));
  EXPECT_EQ(std::vector<int>(s.cols.begin() + 8, s.cols.begin() + 10), (std::vector<int>{0, 3}));
  EXPECT_THROW(layout_from_rows(64, {"01", "0"}), Error);
  EXPECT_THROW(layout_from_rows(64, {"0x"}), Error);
}

// Brute force: every key tile of the kept blocks in [first, last), in order.
std::vector<int> tiles_in(const SparseLists& s, int row, int per, int first, int last) {
  std::vector<int> out;
  for (int i = 0; i < s.counts[row]; ++i)
    for (int k = 0; k < per; ++k) {
      const int tile = s.cols[row * s.cols_per_row + i] * per + k;
      if (tile >= first && tile < last) out.push_back(tile);
    }
  return out;
}

TEST(SparseKeyBlocks, PositionsCutTheListAtEveryTileRange) {
  const BlockLayout l = layout_from_rows(128, {"10110100", "00000000", "11111111", "00000001"});
  const SparseLists s = sparse_lists(l);
  for (int block_n : {32, 64, 128}) {
    const int per = 128 / block_n;
    for (int row = 0; row < l.rows; ++row)
      for (int first = 0; first <= 8 * per; ++first)
        for (int last = first; last <= 8 * per; ++last) {
          const SparseKeyBlocks b =
              sparse_key_blocks(s.counts.data(), s.cols.data(), s.cols_per_row, 128, row * 128 + 64, block_n);
          std::vector<int> got;
          for (int j = b.position(first); j < b.position(last); ++j) got.push_back(b.key_block(j));
          ASSERT_EQ(got, tiles_in(s, row, per, first, last))
              << "block_n " << block_n << " row " << row << " tiles [" << first << ", " << last << ")";
        }
  }
}

TEST(BlockLayout, PairsCountTheLayoutAndTheMaskTogether) {
  AttentionProblem p = sparse_problem();
  p.causal = true;
  p.window_left = 100;
  const BlockLayout l = block_layout(p);
  double brute = 0;
  const int offset = p.keys() - p.seqlen;
  for (int i = 0; i < p.seqlen; ++i)
    for (int j = 0; j < p.keys(); ++j)
      brute += j <= i + offset && j >= i + offset - 100 && l.at(i / 64, j / 64);
  EXPECT_DOUBLE_EQ(layout_pairs(p, l), brute);
  EXPECT_DOUBLE_EQ(p.attended_pairs(), brute);
  EXPECT_DOUBLE_EQ(p.flops(), 4.0 * 64 * brute);
}

TEST(BlockLayout, ValidateRefusesInconsistentFields) {
  AttentionProblem p = sparse_problem();
  EXPECT_NO_THROW(validate(p));
  EXPECT_FALSE(p.plain());
  EXPECT_NE(p.to_string().find("sparse 64"), std::string::npos);
  for (auto bad : {+[](AttentionProblem& q) { q.sparse_block = 24; },
                   +[](AttentionProblem& q) { q.sparse_density = 0.0f; },
                   +[](AttentionProblem& q) { q.sparse_density = 1.5f; },
                   +[](AttentionProblem& q) { q.sparse_block = 0; },
                   +[](AttentionProblem& q) {
                     q = varlen_problem(q, {100, 200});
                   }}) {
    AttentionProblem q = sparse_problem();
    bad(q);
    EXPECT_THROW(validate(q), Error) << q.to_string();
  }
  AttentionProblem a = sparse_problem(), b = sparse_problem();
  b.sparse_seed = 8;
  EXPECT_FALSE(same_problem(a, b));
}

}  // namespace
}  // namespace flashtune
