#include "core/problem.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numeric>
#include <random>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/block_layout.hpp"
#include "core/enum_names.hpp"
#include "core/error.hpp"

namespace flashtune {
namespace {
constexpr EnumNames<Layout, 3> kLayouts{
    {{{Layout::bhsd, "bhsd"}, {Layout::bshd, "bshd"}, {Layout::thd, "thd"}}}};

std::vector<int> prefix_sums(const AttentionProblem& p, bool kv) {
  std::vector<int> cu(static_cast<std::size_t>(p.batch) + 1, 0);
  for (int b = 0; b < p.batch; ++b) cu[b + 1] = cu[b] + (kv ? p.len_k(b) : p.len_q(b));
  return cu;
}
}  // namespace

FLASHTUNE_ENUM_NAME_FUNCTIONS(Layout, kLayouts, parse_layout)

namespace {
constexpr EnumNames<Pass, 2> kPasses{{{{Pass::fwd, "fwd"}, {Pass::bwd, "bwd"}}}};
}  // namespace

FLASHTUNE_ENUM_NAME_FUNCTIONS(Pass, kPasses, parse_pass)

float AttentionProblem::scale() const {
  return softmax_scale != 0.0f ? softmax_scale : 1.0f / std::sqrt(static_cast<float>(head_dim));
}

bool AttentionProblem::plain() const {
  return num_kv_heads() == heads && keys() == seqlen && !windowed() && softcap == 0.0f &&
         layout == Layout::bhsd && !block_sparse() && pass == Pass::fwd;
}

int AttentionProblem::len_q(int b) const {
  return varlen() && !seqlens.empty() ? seqlens[static_cast<std::size_t>(b)] : seqlen;
}

int AttentionProblem::len_k(int b) const {
  if (varlen() && !seqlens_k.empty()) return seqlens_k[static_cast<std::size_t>(b)];
  if (varlen() && !seqlens.empty()) return seqlens[static_cast<std::size_t>(b)];
  return keys();
}

std::int64_t AttentionProblem::total_q() const {
  if (!varlen() || seqlens.empty()) return static_cast<std::int64_t>(batch) * seqlen;
  return std::accumulate(seqlens.begin(), seqlens.end(), std::int64_t{0});
}

std::int64_t AttentionProblem::total_k() const {
  if (!varlen() || seqlens.empty()) return static_cast<std::int64_t>(batch) * keys();
  if (seqlens_k.empty()) return total_q();
  return std::accumulate(seqlens_k.begin(), seqlens_k.end(), std::int64_t{0});
}

std::vector<int> AttentionProblem::cu_seqlens_q() const {
  return prefix_sums(*this, false);
}

std::vector<int> AttentionProblem::cu_seqlens_k() const {
  return prefix_sums(*this, true);
}

std::int64_t AttentionProblem::offset(int b, int head, std::int64_t row, bool kv) const {
  const std::int64_t h = kv ? num_kv_heads() : heads;
  if (varlen()) {
    std::int64_t start = 0;
    for (int i = 0; i < b; ++i) start += kv ? len_k(i) : len_q(i);
    return ((start + row) * h + head) * head_dim;
  }
  return element_offset(layout, b, head, row, h, kv ? keys() : seqlen, head_dim);
}

std::int64_t AttentionProblem::elements() const {
  return total_q() * heads * head_dim;
}

std::int64_t AttentionProblem::kv_elements() const {
  return total_k() * num_kv_heads() * head_dim;
}

std::int64_t AttentionProblem::rows() const {
  return total_q() * heads;
}

namespace {
// (query, key) pairs of one sequence of n queries and nk keys under p's mask.
double sequence_pairs(const AttentionProblem& p, std::int64_t n, std::int64_t nk) {
  const std::int64_t offset = nk - n;
  double pairs = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    std::int64_t hi = nk - 1;
    std::int64_t lo = 0;
    if (p.causal) hi = std::min(hi, i + offset);
    if (p.window_right >= 0) hi = std::min(hi, i + offset + p.window_right);
    if (p.window_left >= 0) lo = std::max(lo, i + offset - p.window_left);
    pairs += static_cast<double>(std::max<std::int64_t>(0, hi - lo + 1));
  }
  return pairs;
}
}  // namespace

double AttentionProblem::attended_pairs() const {
  if (block_sparse()) return layout_pairs(*this, block_layout(*this)) * batch * heads;
  if (varlen() && !seqlens.empty()) {
    double pairs = 0;
    for (int b = 0; b < batch; ++b) pairs += sequence_pairs(*this, len_q(b), len_k(b));
    return pairs * heads;
  }
  return sequence_pairs(*this, seqlen, keys()) * batch * heads;
}

double AttentionProblem::flops() const {
  const double factor = pass == Pass::bwd ? 2.5 : 1.0;
  if (!varlen() && keys() == seqlen && !windowed() && !block_sparse()) {
    const double f = 4.0 * batch * heads * static_cast<double>(seqlen) * seqlen * head_dim;
    return factor * (causal ? f / 2 : f);
  }
  return factor * 4.0 * head_dim * attended_pairs();
}

std::string AttentionProblem::to_string() const {
  std::string s = fmt::format("B{} H{}", batch, heads);
  if (num_kv_heads() != heads) s += fmt::format(" KV{}", num_kv_heads());
  s += fmt::format(" N{}", seqlen);
  if (keys() != seqlen) s += fmt::format(" Nk{}", keys());
  s += fmt::format(" d{} {}", head_dim, flashtune::to_string(dtype));
  if (causal) s += " causal";
  if (windowed()) s += fmt::format(" window {},{}", window_left, window_right);
  if (softcap != 0.0f) s += fmt::format(" softcap {}", softcap);
  if (layout != Layout::bhsd) s += fmt::format(" {}", flashtune::to_string(layout));
  if (varlen() && !seqlens.empty()) {
    s += fmt::format(" T{}", total_q());
    if (total_k() != total_q() || !seqlens_k.empty()) s += fmt::format(" Tk{}", total_k());
  }
  if (block_sparse()) s += fmt::format(" sparse {} p{} s{}", sparse_block, sparse_density, sparse_seed);
  if (pass == Pass::bwd) s += " bwd";
  return s;
}

std::string seqlens_text(const AttentionProblem& p) {
  if (p.seqlens.empty()) return "";
  std::string s = fmt::format("{}", fmt::join(p.seqlens, ","));
  if (!p.seqlens_k.empty()) s += fmt::format(";{}", fmt::join(p.seqlens_k, ","));
  return s;
}

void parse_seqlens_text(std::string_view text, AttentionProblem& p) {
  p.seqlens.clear();
  p.seqlens_k.clear();
  if (text.empty()) return;
  auto parse_list = [&](std::string_view list, std::vector<int>& out) {
    while (!list.empty()) {
      const std::size_t comma = list.find(',');
      const std::string_view item = list.substr(0, comma);
      int v = 0;
      const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
      if (ec != std::errc{} || end != item.data() + item.size() || item.empty())
        throw Error(ErrorKind::invalid_argument,
                    fmt::format("seqlens '{}': '{}' is not an integer", text, item));
      out.push_back(v);
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
  };
  const std::size_t semi = text.find(';');
  parse_list(text.substr(0, semi), p.seqlens);
  if (semi != std::string_view::npos) parse_list(text.substr(semi + 1), p.seqlens_k);
}

std::vector<int> draw_seqlens(std::int64_t total, int min_len, int max_len, std::uint64_t seed) {
  if (total < 1 || min_len < 1 || max_len < min_len)
    throw Error(ErrorKind::invalid_argument,
                fmt::format("draw_seqlens: need total >= 1 and 1 <= min ({}) <= max ({}), got total {}",
                            min_len, max_len, total));
  std::mt19937_64 gen(seed);
  const auto span = static_cast<std::uint64_t>(max_len - min_len) + 1;
  std::vector<int> out;
  for (std::int64_t left = total; left > 0;) {
    const auto len = static_cast<std::int64_t>(min_len + static_cast<int>(gen() % span));
    out.push_back(static_cast<int>(std::min(len, left)));
    left -= out.back();
  }
  return out;
}

AttentionProblem AttentionProblem::resolved() const {
  AttentionProblem p = *this;
  p.kv_heads = num_kv_heads();
  p.seqlen_k = keys();
  return p;
}

bool same_problem(const AttentionProblem& a, const AttentionProblem& b) {
  const AttentionProblem x = a.resolved(), y = b.resolved();
  return x.batch == y.batch && x.heads == y.heads && x.seqlen == y.seqlen && x.head_dim == y.head_dim &&
         x.dtype == y.dtype && x.causal == y.causal && x.softmax_scale == y.softmax_scale &&
         x.kv_heads == y.kv_heads && x.seqlen_k == y.seqlen_k && x.window_left == y.window_left &&
         x.window_right == y.window_right && x.softcap == y.softcap && x.layout == y.layout &&
         x.seqlens == y.seqlens && x.seqlens_k == y.seqlens_k && x.sparse_block == y.sparse_block &&
         x.sparse_density == y.sparse_density && x.sparse_seed == y.sparse_seed && x.pass == y.pass;
}

void validate(const AttentionProblem& p) {
  auto bad = [](const char* field, long long v, const char* want) {
    throw Error(ErrorKind::invalid_argument, fmt::format("{} = {} is invalid: {}", field, v, want));
  };
  if (p.batch < 1) bad("batch", p.batch, "must be >= 1");
  if (p.heads < 1) bad("heads", p.heads, "must be >= 1");
  if (p.seqlen < 1) bad("seqlen", p.seqlen, "must be >= 1");
  if (p.head_dim != 64 && p.head_dim != 96 && p.head_dim != 128 && p.head_dim != 256)
    bad("head_dim", p.head_dim, "must be 64, 96, 128 or 256");
  if (!std::isfinite(p.softmax_scale) || p.softmax_scale < 0)
    throw Error(ErrorKind::invalid_argument, "softmax_scale must be finite and >= 0 (0 = 1/sqrt(d))");
  if (p.kv_heads < 0) bad("kv_heads", p.kv_heads, "must be >= 1 (0: as many as heads)");
  if (p.heads % p.num_kv_heads() != 0)
    throw Error(ErrorKind::invalid_argument,
                fmt::format("kv_heads = {} is invalid: it must divide heads = {}", p.kv_heads, p.heads));
  if (p.seqlen_k < 0) bad("seqlen_k", p.seqlen_k, "must be >= 1 (0: as many as seqlen)");
  if (p.window_left < -1) bad("window_left", p.window_left, "must be >= 0, or -1 for unbounded");
  if (p.window_right < -1) bad("window_right", p.window_right, "must be >= 0, or -1 for unbounded");
  if (!std::isfinite(p.softcap) || p.softcap < 0)
    throw Error(ErrorKind::invalid_argument, "softcap must be finite and >= 0 (0 = none)");
  // Each extent < 2^31; their products are compared by division, never formed past 64 bits.
  auto fits = [](const char* what, int a, int b, int c) {
    const std::int64_t ab = static_cast<std::int64_t>(a) * b;
    if (ab > (std::int64_t{1} << 31) / c)
      throw Error(ErrorKind::invalid_argument,
                  fmt::format("{} = {}*{}*{} is invalid: must fit in 2^31 rows", what, a, b, c));
  };
  fits("batch*heads*seqlen", p.batch, p.heads, p.seqlen);
  fits("batch*kv_heads*seqlen_k", p.batch, p.num_kv_heads(), p.keys());
  if (p.sparse_block != 0) {
    if (p.sparse_block < 16 || p.sparse_block % 16 != 0 || p.sparse_block > 4096)
      bad("sparse_block", p.sparse_block, "must be a multiple of 16 in 16..4096 (0: dense)");
    if (!(p.sparse_density > 0.0f && p.sparse_density <= 1.0f))
      throw Error(ErrorKind::invalid_argument,
                  fmt::format("sparse_density = {} is invalid: must be in (0, 1]", p.sparse_density));
    if (p.varlen())
      throw Error(ErrorKind::invalid_argument,
                  "a block-sparse layout with variable lengths (layout thd) is not supported");
  } else if (p.sparse_density != 0.0f || p.sparse_seed != 0) {
    throw Error(ErrorKind::invalid_argument, "sparse_density or sparse_seed is given without sparse_block");
  }
  if (!p.varlen()) {
    if (!p.seqlens.empty() || !p.seqlens_k.empty())
      throw Error(ErrorKind::invalid_argument, "seqlens are given but the layout is not thd (varlen)");
    return;
  }
  if (p.seqlens.empty()) {
    if (!p.seqlens_k.empty()) throw Error(ErrorKind::invalid_argument, "seqlens_k is given without seqlens");
    return;
  }
  auto check_lengths = [&](const char* what, const std::vector<int>& lens, int max) {
    if (static_cast<int>(lens.size()) != p.batch)
      throw Error(ErrorKind::invalid_argument,
                  fmt::format("{} has {} sequences, batch is {}", what, lens.size(), p.batch));
    int longest = 0;
    for (int len : lens) {
      if (len < 0)
        throw Error(ErrorKind::invalid_argument, fmt::format("{}: a length of {} is negative", what, len));
      longest = std::max(longest, len);
    }
    if (longest != max)
      throw Error(
          ErrorKind::invalid_argument,
          fmt::format("{}: the longest sequence has {} rows, the problem says {}", what, longest, max));
  };
  check_lengths("seqlens", p.seqlens, p.seqlen);
  if (!p.seqlens_k.empty())
    check_lengths("seqlens_k", p.seqlens_k, p.keys());
  else if (p.keys() != p.seqlen)
    throw Error(ErrorKind::invalid_argument, "seqlen_k differs from seqlen but seqlens_k is not given");
  if (p.total_q() * p.heads >= (std::int64_t{1} << 31) ||
      p.total_k() * p.num_kv_heads() >= (std::int64_t{1} << 31))
    throw Error(ErrorKind::invalid_argument, "varlen: total rows times heads must fit in 2^31");
}

AttentionProblem varlen_problem(AttentionProblem p, std::vector<int> seqlens, std::vector<int> seqlens_k) {
  p.layout = Layout::thd;
  p.batch = static_cast<int>(seqlens.size());
  p.seqlen = seqlens.empty() ? 0 : *std::max_element(seqlens.begin(), seqlens.end());
  p.seqlen_k = seqlens_k.empty() ? 0 : *std::max_element(seqlens_k.begin(), seqlens_k.end());
  p.seqlens = std::move(seqlens);
  p.seqlens_k = std::move(seqlens_k);
  return p;
}

}  // namespace flashtune
