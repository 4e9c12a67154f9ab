#include "core/block_layout.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "core/error.hpp"

namespace flashtune {
namespace {
std::uint64_t splitmix64(std::uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

int blocks(int positions, int block) {
  return (positions + block - 1) / block;
}
}  // namespace

double BlockLayout::density() const {
  if (kept.empty()) return 0.0;
  return static_cast<double>(std::count(kept.begin(), kept.end(), std::uint8_t{1})) /
         static_cast<double>(kept.size());
}

BlockLayout block_layout(const AttentionProblem& p) {
  if (p.sparse_block <= 0)
    throw Error(ErrorKind::invalid_argument,
                fmt::format("block_layout: {} is not block-sparse", p.to_string()));
  BlockLayout l{p.sparse_block, blocks(p.seqlen, p.sparse_block), blocks(p.keys(), p.sparse_block), {}};
  l.kept.resize(static_cast<std::size_t>(l.rows) * l.cols);
  const double density = p.sparse_density;
  for (std::size_t i = 0; i < l.kept.size(); ++i) {
    const double u = static_cast<double>(splitmix64(p.sparse_seed + i + 1) >> 11) * 0x1p-53;
    l.kept[i] = u < density ? 1 : 0;
  }
  return l;
}

BlockLayout layout_from_rows(int block, const std::vector<std::string>& rows) {
  BlockLayout l{
      block, static_cast<int>(rows.size()), rows.empty() ? 0 : static_cast<int>(rows[0].size()), {}};
  for (const std::string& r : rows) {
    if (static_cast<int>(r.size()) != l.cols || r.find_first_not_of("01") != std::string::npos)
      throw Error(ErrorKind::invalid_argument,
                  fmt::format("layout row '{}': every row must have {} characters '0' or '1'", r, l.cols));
    for (char c : r) l.kept.push_back(c == '1' ? 1 : 0);
  }
  return l;
}

SparseLists sparse_lists(const BlockLayout& layout) {
  SparseLists s;
  s.cols_per_row = std::max(layout.cols, 1);
  s.counts.assign(static_cast<std::size_t>(layout.rows), 0);
  s.cols.assign(static_cast<std::size_t>(layout.rows) * s.cols_per_row, 0);
  for (int r = 0; r < layout.rows; ++r)
    for (int c = 0; c < layout.cols; ++c)
      if (layout.at(r, c)) s.cols[static_cast<std::size_t>(r) * s.cols_per_row + s.counts[r]++] = c;
  return s;
}

double layout_pairs(const AttentionProblem& p, const BlockLayout& layout) {
  const std::int64_t n = p.seqlen, nk = p.keys(), offset = nk - n, g = layout.block;
  double pairs = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    std::int64_t hi = nk - 1, lo = 0;
    if (p.causal) hi = std::min(hi, i + offset);
    if (p.window_right >= 0) hi = std::min(hi, i + offset + p.window_right);
    if (p.window_left >= 0) lo = std::max(lo, i + offset - p.window_left);
    const int r = static_cast<int>(i / g);
    for (int c = 0; c < layout.cols; ++c) {
      if (!layout.at(r, c)) continue;
      const std::int64_t a = std::max(lo, c * g), b = std::min(hi, (c + 1) * g - 1);
      if (b >= a) pairs += static_cast<double>(b - a + 1);
    }
  }
  return pairs;
}

}  // namespace flashtune
