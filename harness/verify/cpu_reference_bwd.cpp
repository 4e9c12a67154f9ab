#include "verify/cpu_reference_bwd.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "core/block_layout.hpp"
#include "core/error.hpp"
#include "verify/attention_rows.hpp"

namespace flashtune::verify {
namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// One key/value head of one sequence: its rows widened, and those of its group's query heads.
struct GroupRows {
  int n = 0, nk = 0;                   // the sequence's queries and keys
  std::vector<double> k, v;            // [nk, d]
  std::vector<std::vector<double>> q;  // per query head of the group: [n, d]
  std::vector<std::vector<double>> d_o;
  // Filled by the query pass, read by the key pass: per query head of the group, [n] and [n, d].
  std::vector<std::vector<double>> lse, delta, dq;
  // Given forward outputs (ForwardOutputs), per query head of the group, [n] and [n, d]; empty otherwise.
  std::vector<std::vector<double>> given_lse, given_o;
};

struct Mask {
  const AttentionProblem& p;
  const BlockLayout* layout;  // block-sparse, or null
  int n, nk;
  bool operator()(std::int64_t i, std::int64_t j) const {
    const KeyRange r = attended_keys(p, n, nk, i);
    if (j < r.lo || j >= r.hi) return false;
    return layout == nullptr ||
           layout->at(static_cast<int>(i / layout->block), static_cast<int>(j / layout->block));
  }
};

// s_ij from q_i and k_j (the header's x, capped).
double score(const double* qi, const double* kj, int d, double scale, double cap) {
  const double x = scale * dot(qi, kj, d);
  return cap > 0 ? cap * std::tanh(x / cap) : x;
}

// ds/dx at s: 1 - tanh^2(x / cap) = 1 - (s / cap)^2 under the cap, 1 without.
double cap_slope(double s, double cap) {
  return cap > 0 ? 1.0 - (s / cap) * (s / cap) : 1.0;
}

// Query pass, rows [begin, end) of query head g: lse, D and dq.
void query_rows(const Mask& mask, GroupRows& gr, int g, double scale, double cap, int begin, int end) {
  const int d = mask.p.head_dim;
  const double* q = gr.q[g].data();
  const double* d_o = gr.d_o[g].data();
  std::vector<double> s(static_cast<std::size_t>(gr.nk)), o(static_cast<std::size_t>(d));
  for (int i = begin; i < end; ++i) {
    const double* qi = q + static_cast<std::size_t>(i) * d;
    const double* d_oi = d_o + static_cast<std::size_t>(i) * d;
    double* dqi = gr.dq[g].data() + static_cast<std::size_t>(i) * d;
    std::fill(dqi, dqi + d, 0.0);
    const bool given = !gr.given_lse.empty();
    double m = kNegInf;
    for (int j = 0; j < gr.nk; ++j) {
      s[j] = mask(i, j) ? score(qi, gr.k.data() + static_cast<std::size_t>(j) * d, d, scale, cap) : kNegInf;
      m = std::max(m, s[j]);
    }
    if (given ? gr.given_lse[g][i] == kNegInf : m == kNegInf) {  // no key: lse = -inf, D = 0, dq = 0
      gr.lse[g][i] = kNegInf;
      gr.delta[g][i] = 0;
      continue;
    }
    double lse = 0, delta = 0;
    if (given) {
      lse = gr.given_lse[g][i];
      delta = dot(d_oi, gr.given_o[g].data() + static_cast<std::size_t>(i) * d, d);
    } else {
      double l = 0;
      for (int j = 0; j < gr.nk; ++j) l += s[j] == kNegInf ? 0.0 : std::exp(s[j] - m);
      lse = m + std::log(l);
      std::fill(o.begin(), o.end(), 0.0);
      for (int j = 0; j < gr.nk; ++j) {
        if (s[j] == kNegInf) continue;
        const double pij = std::exp(s[j] - lse);
        const double* vj = gr.v.data() + static_cast<std::size_t>(j) * d;
        for (int c = 0; c < d; ++c) o[c] += pij * vj[c];
      }
      delta = dot(d_oi, o.data(), d);
    }
    for (int j = 0; j < gr.nk; ++j) {
      if (s[j] == kNegInf) continue;
      const double* kj = gr.k.data() + static_cast<std::size_t>(j) * d;
      const double pij = std::exp(s[j] - lse);
      const double dp = dot(d_oi, gr.v.data() + static_cast<std::size_t>(j) * d, d);
      const double ds = pij * (dp - delta) * cap_slope(s[j], cap);
      for (int c = 0; c < d; ++c) dqi[c] += scale * ds * kj[c];
    }
    gr.lse[g][i] = lse;
    gr.delta[g][i] = delta;
  }
}

// Key pass, key rows [begin, end): dk and dv over every query row of the group (lse and D from the query
// pass).
void key_rows(const Mask& mask, const GroupRows& gr, double scale, double cap, int begin, int end, double* dk,
              double* dv) {
  const int d = mask.p.head_dim;
  for (int j = begin; j < end; ++j) {
    const double* kj = gr.k.data() + static_cast<std::size_t>(j) * d;
    const double* vj = gr.v.data() + static_cast<std::size_t>(j) * d;
    double* dkj = dk + static_cast<std::size_t>(j) * d;
    double* dvj = dv + static_cast<std::size_t>(j) * d;
    std::fill(dkj, dkj + d, 0.0);
    std::fill(dvj, dvj + d, 0.0);
    for (std::size_t g = 0; g < gr.q.size(); ++g)
      for (int i = 0; i < gr.n; ++i) {
        if (!mask(i, j) || gr.lse[g][i] == kNegInf) continue;
        const double* qi = gr.q[g].data() + static_cast<std::size_t>(i) * d;
        const double* d_oi = gr.d_o[g].data() + static_cast<std::size_t>(i) * d;
        const double s = score(qi, kj, d, scale, cap);
        const double pij = std::exp(s - gr.lse[g][i]);
        const double ds = pij * (dot(d_oi, vj, d) - gr.delta[g][i]) * cap_slope(s, cap);
        for (int c = 0; c < d; ++c) {
          dvj[c] += pij * d_oi[c];
          dkj[c] += scale * ds * qi[c];
        }
      }
  }
}

// fn(begin, end) over [0, rows) in blocks of 16 rows handed out dynamically (masked rows differ in cost).
template <typename Fn>
void parallel_rows(int rows, unsigned threads, Fn fn) {
  constexpr int kRows = 16;
  const int blocks = (rows + kRows - 1) / kRows;
  std::atomic<int> next{0};
  auto worker = [&] {
    for (int b = next++; b < blocks; b = next++) fn(b * kRows, std::min(rows, (b + 1) * kRows));
  };
  const unsigned n_threads = std::min<unsigned>(threads, static_cast<unsigned>(std::max(blocks, 1)));
  std::vector<std::jthread> pool;
  for (unsigned t = 1; t < n_threads; ++t) pool.emplace_back(worker);
  worker();
}

void check_arguments(const AttentionProblem& p, const HostInputs& in, std::span<const std::uint16_t> d_o,
                     std::span<const int> kv_heads) {
  validate(p);
  const auto n = static_cast<std::size_t>(p.elements());
  const auto n_kv = static_cast<std::size_t>(p.kv_elements());
  if (in.q.size() != n || in.k.size() != n_kv || in.v.size() != n_kv || d_o.size() != n) {
    throw Error(
        ErrorKind::invalid_argument,
        fmt::format("cpu_attention_backward({}): q/k/v/dO have {}/{}/{}/{} elements, the problem "
                    "needs {}/{}/{}/{}",
                    p.to_string(), in.q.size(), in.k.size(), in.v.size(), d_o.size(), n, n_kv, n_kv, n));
  }
  const int count = p.batch * p.num_kv_heads();
  for (int bkv : kv_heads) {
    if (bkv < 0 || bkv >= count) {
      throw Error(ErrorKind::invalid_argument,
                  fmt::format("cpu_attention_backward({}): key/value head index {} is outside [0, {})",
                              p.to_string(), bkv, count));
    }
  }
}

// Both entry points: `fwd` null computes LSE and O, else reads them.
BackwardReference backward(const AttentionProblem& p, const HostInputs& in,
                           std::span<const std::uint16_t> d_o, std::span<const int> kv_heads,
                           const ForwardOutputs* fwd, unsigned threads) {
  check_arguments(p, in, d_o, kv_heads);
  if (fwd != nullptr && (fwd->o.size() != static_cast<std::size_t>(p.elements()) ||
                         fwd->lse.size() != static_cast<std::size_t>(p.rows()))) {
    throw Error(
        ErrorKind::invalid_argument,
        fmt::format("cpu_attention_backward({}): the forward's O/LSE have {}/{} elements, the problem "
                    "needs {}/{}",
                    p.to_string(), fwd->o.size(), fwd->lse.size(), p.elements(), p.rows()));
  }
  const int d = p.head_dim, group = p.group();
  const double scale = static_cast<double>(p.scale());
  const double cap = static_cast<double>(p.softcap);
  const std::optional<BlockLayout> layout =
      p.block_sparse() ? std::optional<BlockLayout>(block_layout(p)) : std::nullopt;
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  const std::vector<int> cu = p.cu_seqlens_q();

  BackwardReference out;
  out.dq.assign(static_cast<std::size_t>(p.elements()), kNaN);
  out.dk.assign(static_cast<std::size_t>(p.kv_elements()), kNaN);
  out.dv.assign(out.dk.size(), kNaN);
  out.lse.assign(static_cast<std::size_t>(p.rows()), kNaN);
  out.delta.assign(out.lse.size(), kNaN);
  // Row i of query head h of sequence b in lse / delta (the kernels' LSE layout).
  auto row_index = [&](int b, int h, int i) {
    return static_cast<std::size_t>(p.varlen() ? std::int64_t{h} * p.total_q() + cu[b] + i
                                               : (std::int64_t{b} * p.heads + h) * p.seqlen + i);
  };

  for (int bkv : kv_heads) {
    const int b = bkv / p.num_kv_heads(), kv_head = bkv % p.num_kv_heads();
    GroupRows gr;
    gr.n = p.len_q(b);
    gr.nk = p.len_k(b);
    gr.k = head_rows(in.k, p, b, kv_head, true);
    gr.v = head_rows(in.v, p, b, kv_head, true);
    for (int g = 0; g < group; ++g) {
      const int h = kv_head * group + g;
      gr.q.push_back(head_rows(in.q, p, b, h, false));
      gr.d_o.push_back(head_rows(d_o, p, b, h, false));
      gr.lse.emplace_back(static_cast<std::size_t>(gr.n));
      gr.delta.emplace_back(static_cast<std::size_t>(gr.n));
      gr.dq.emplace_back(static_cast<std::size_t>(gr.n) * d);
      if (fwd != nullptr) {
        gr.given_o.push_back(head_rows(fwd->o, p, b, h, false));
        std::vector<double>& lse = gr.given_lse.emplace_back(static_cast<std::size_t>(gr.n));
        for (int i = 0; i < gr.n; ++i) lse[i] = static_cast<double>(fwd->lse[row_index(b, h, i)]);
      }
    }
    const Mask mask{p, layout ? &*layout : nullptr, gr.n, gr.nk};
    for (int g = 0; g < group; ++g)
      parallel_rows(gr.n, threads, [&](int lo, int hi) { query_rows(mask, gr, g, scale, cap, lo, hi); });
    std::vector<double> dk(static_cast<std::size_t>(gr.nk) * d), dv(dk.size());
    parallel_rows(gr.nk, threads,
                  [&](int lo, int hi) { key_rows(mask, gr, scale, cap, lo, hi, dk.data(), dv.data()); });

    for (int g = 0; g < group; ++g) {
      const int h = kv_head * group + g;
      for (int i = 0; i < gr.n; ++i) {
        out.lse[row_index(b, h, i)] = gr.lse[g][i];
        out.delta[row_index(b, h, i)] = gr.delta[g][i];
        std::copy_n(gr.dq[g].begin() + static_cast<std::ptrdiff_t>(i) * d, d,
                    out.dq.begin() + p.offset(b, h, i, false));
      }
    }
    for (int j = 0; j < gr.nk; ++j) {
      std::copy_n(dk.begin() + static_cast<std::ptrdiff_t>(j) * d, d,
                  out.dk.begin() + p.offset(b, kv_head, j, true));
      std::copy_n(dv.begin() + static_cast<std::ptrdiff_t>(j) * d, d,
                  out.dv.begin() + p.offset(b, kv_head, j, true));
    }
  }
  return out;
}

}  // namespace

BackwardReference cpu_attention_backward(const AttentionProblem& p, const HostInputs& in,
                                         std::span<const std::uint16_t> d_o, std::span<const int> kv_heads,
                                         unsigned threads) {
  return backward(p, in, d_o, kv_heads, nullptr, threads);
}

BackwardReference cpu_attention_backward(const AttentionProblem& p, const HostInputs& in,
                                         std::span<const std::uint16_t> d_o, std::span<const int> kv_heads,
                                         const ForwardOutputs& fwd, unsigned threads) {
  return backward(p, in, d_o, kv_heads, &fwd, threads);
}

std::vector<int> all_kv_heads(const AttentionProblem& p) {
  std::vector<int> all(static_cast<std::size_t>(p.batch) * p.num_kv_heads());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int>(i);
  return all;
}

std::vector<int> kv_heads_to_check(const AttentionProblem& p, std::uint64_t seed, int max_kv_heads) {
  if (max_kv_heads < 1) {
    throw Error(ErrorKind::invalid_argument,
                fmt::format("kv_heads_to_check: max_kv_heads = {} (need >= 1)", max_kv_heads));
  }
  return seeded_choice(p.batch * p.num_kv_heads(), seed, max_kv_heads);
}

}  // namespace flashtune::verify
