#include "verify/cpu_reference.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "core/block_layout.hpp"
#include "core/error.hpp"
#include "verify/attention_rows.hpp"

namespace flashtune::verify {
namespace {

// One head: rows [row_begin, row_end) of O and LSE into o / lse (already offset to this head). q holds the
// head's n query rows, k and v its key/value head's nk rows. layout: the block-sparse layout, or null.
void attend_rows(const AttentionProblem& p, const BlockLayout* layout, const std::vector<double>& q,
                 const std::vector<double>& k, const std::vector<double>& v, int n, int nk, double scale,
                 int row_begin, int row_end, double* o, double* lse) {
  const int d = p.head_dim;
  const double cap = static_cast<double>(p.softcap);
  std::vector<double> s(static_cast<std::size_t>(nk));
  std::vector<double> acc(static_cast<std::size_t>(d));
  constexpr double kNegInf = -std::numeric_limits<double>::infinity();
  for (int i = row_begin; i < row_end; ++i) {
    const KeyRange keys = attended_keys(p, n, nk, i);
    double* oi = o + static_cast<std::size_t>(i) * d;
    auto kept = [&](std::int64_t j) {
      return layout == nullptr || layout->at(i / layout->block, static_cast<int>(j / layout->block));
    };
    bool any = false;
    for (std::int64_t j = keys.lo; j < keys.hi && !any; ++j) any = kept(j);
    if (!any) {  // no key: O = 0, LSE = -inf (documented)
      std::fill(oi, oi + d, 0.0);
      lse[i] = kNegInf;
      continue;
    }
    const double* qi = q.data() + static_cast<std::size_t>(i) * d;
    double m = kNegInf;
    for (std::int64_t j = keys.lo; j < keys.hi; ++j) {
      if (!kept(j)) {
        s[j] = kNegInf;
        continue;
      }
      double x = scale * dot(qi, k.data() + static_cast<std::size_t>(j) * d, d);
      if (cap > 0) x = cap * std::tanh(x / cap);
      s[j] = x;
      m = std::max(m, x);
    }
    double l = 0;
    std::fill(acc.begin(), acc.end(), 0.0);
    for (std::int64_t j = keys.lo; j < keys.hi; ++j) {
      if (s[j] == kNegInf) continue;
      const double pj = std::exp(s[j] - m);
      l += pj;
      const double* vj = v.data() + static_cast<std::size_t>(j) * d;
      for (int c = 0; c < d; ++c) acc[c] += pj * vj[c];
    }
    for (int c = 0; c < d; ++c) oi[c] = acc[c] / l;
    lse[i] = m + std::log(l);
  }
}

}  // namespace

ReferenceOutput cpu_attention(const AttentionProblem& p, const HostInputs& in,
                              std::span<const int> bh_indices, unsigned threads) {
  validate(p);
  const auto n = static_cast<std::size_t>(p.elements());
  const auto n_kv = static_cast<std::size_t>(p.kv_elements());
  if (in.q.size() != n || in.k.size() != n_kv || in.v.size() != n_kv) {
    throw Error(ErrorKind::invalid_argument,
                fmt::format("cpu_attention({}): inputs have {}/{}/{} elements, the problem needs {}/{}/{}",
                            p.to_string(), in.q.size(), in.k.size(), in.v.size(), n, n_kv, n_kv));
  }
  const int bh_count = p.batch * p.heads;
  for (int bh : bh_indices) {
    if (bh < 0 || bh >= bh_count) {
      throw Error(
          ErrorKind::invalid_argument,
          fmt::format("cpu_attention({}): head index {} is outside [0, {})", p.to_string(), bh, bh_count));
    }
  }
  const int d = p.head_dim;
  const double scale = static_cast<double>(p.scale());
  const std::optional<BlockLayout> layout =
      p.block_sparse() ? std::optional<BlockLayout>(block_layout(p)) : std::nullopt;

  ReferenceOutput out;
  std::size_t total_rows = 0;
  for (int bh : bh_indices) total_rows += static_cast<std::size_t>(p.len_q(bh / p.heads));
  out.o.resize(total_rows * static_cast<std::size_t>(d));
  out.lse.resize(total_rows);
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());

  std::size_t row_at = 0;  // the head's first output row
  for (std::size_t h = 0; h < bh_indices.size(); ++h) {
    const int entry = bh_indices[h] / p.heads, head = bh_indices[h] % p.heads;
    const int kv_head = head / p.group();
    const int seqlen = p.len_q(entry), keys = p.len_k(entry);
    const std::vector<double> q = head_rows(in.q, p, entry, head, false);
    const std::vector<double> k = head_rows(in.k, p, entry, kv_head, true);
    const std::vector<double> v = head_rows(in.v, p, entry, kv_head, true);
    double* o = out.o.data() + row_at * static_cast<std::size_t>(d);
    double* lse = out.lse.data() + row_at;
    row_at += static_cast<std::size_t>(seqlen);

    // Blocks of 16 rows handed out dynamically: causal rows differ in cost, so static halves would idle.
    constexpr int kRows = 16;
    const int blocks = (seqlen + kRows - 1) / kRows;
    std::atomic<int> next{0};
    auto worker = [&] {
      for (int b = next++; b < blocks; b = next++) {
        attend_rows(p, layout ? &*layout : nullptr, q, k, v, seqlen, keys, scale, b * kRows,
                    std::min(seqlen, (b + 1) * kRows), o, lse);
      }
    };
    const unsigned n_threads = std::min<unsigned>(threads, static_cast<unsigned>(blocks));
    std::vector<std::jthread> pool;
    for (unsigned t = 1; t < n_threads; ++t) pool.emplace_back(worker);
    worker();
  }
  return out;
}

std::vector<int> heads_to_check(const AttentionProblem& p, std::uint64_t seed, int max_heads) {
  if (max_heads < 1) {
    throw Error(ErrorKind::invalid_argument,
                fmt::format("heads_to_check: max_heads = {} (need >= 1)", max_heads));
  }
  return seeded_choice(p.batch * p.heads, seed, max_heads);
}

}  // namespace flashtune::verify
