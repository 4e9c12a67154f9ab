#include "verify/cpu_reference.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <random>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "core/error.hpp"
#include "verify/half_convert.hpp"

namespace flashtune::verify {
namespace {

std::vector<double> widen(std::span<const std::uint16_t> x, DType t) {
  std::vector<double> out(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) out[i] = to_float(x[i], t);
  return out;
}

// Four partial sums: lets the compiler keep several multiply-adds in flight (a plain double reduction is not
// reordered without -ffast-math). The order differs from a left-to-right sum by ~1e-16 relative.
double dot(const double* a, const double* b, int n) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += a[i] * b[i];
    s1 += a[i + 1] * b[i + 1];
    s2 += a[i + 2] * b[i + 2];
    s3 += a[i + 3] * b[i + 3];
  }
  for (; i < n; ++i) s0 += a[i] * b[i];
  return (s0 + s1) + (s2 + s3);
}

// One head: rows [row_begin, row_end) of O and LSE into o / lse (already offset to this head).
void attend_rows(const std::vector<double>& q, const std::vector<double>& k, const std::vector<double>& v,
                 int seqlen, int d, bool causal, double scale, int row_begin, int row_end, double* o,
                 double* lse) {
  std::vector<double> s(static_cast<std::size_t>(seqlen));
  std::vector<double> acc(static_cast<std::size_t>(d));
  for (int i = row_begin; i < row_end; ++i) {
    const int keys = causal ? i + 1 : seqlen;
    const double* qi = q.data() + static_cast<std::size_t>(i) * d;
    double m = -std::numeric_limits<double>::infinity();
    for (int j = 0; j < keys; ++j) {
      s[j] = scale * dot(qi, k.data() + static_cast<std::size_t>(j) * d, d);
      m = std::max(m, s[j]);
    }
    double l = 0;
    std::fill(acc.begin(), acc.end(), 0.0);
    for (int j = 0; j < keys; ++j) {
      const double pj = std::exp(s[j] - m);
      l += pj;
      const double* vj = v.data() + static_cast<std::size_t>(j) * d;
      for (int c = 0; c < d; ++c) acc[c] += pj * vj[c];
    }
    double* oi = o + static_cast<std::size_t>(i) * d;
    for (int c = 0; c < d; ++c) oi[c] = acc[c] / l;
    lse[i] = m + std::log(l);
  }
}

}  // namespace

ReferenceOutput cpu_attention(const AttentionProblem& p, const HostInputs& in,
                              std::span<const int> bh_indices, unsigned threads) {
  validate(p);
  const auto n = static_cast<std::size_t>(p.elements());
  if (in.q.size() != n || in.k.size() != n || in.v.size() != n) {
    throw Error(ErrorKind::invalid_argument,
                fmt::format("cpu_attention({}): inputs have {}/{}/{} elements, the problem needs {}",
                            p.to_string(), in.q.size(), in.k.size(), in.v.size(), n));
  }
  const int bh_count = p.batch * p.heads;
  for (int bh : bh_indices) {
    if (bh < 0 || bh >= bh_count) {
      throw Error(
          ErrorKind::invalid_argument,
          fmt::format("cpu_attention({}): head index {} is outside [0, {})", p.to_string(), bh, bh_count));
    }
  }
  const int seqlen = p.seqlen;
  const int d = p.head_dim;
  const auto head_elems = static_cast<std::size_t>(seqlen) * d;
  const double scale = static_cast<double>(p.scale());

  ReferenceOutput out;
  out.o.resize(bh_indices.size() * head_elems);
  out.lse.resize(bh_indices.size() * static_cast<std::size_t>(seqlen));
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());

  for (std::size_t h = 0; h < bh_indices.size(); ++h) {
    const std::size_t base = static_cast<std::size_t>(bh_indices[h]) * head_elems;
    auto slice = [&](const std::vector<std::uint16_t>& x) {
      return widen(std::span(x).subspan(base, head_elems), p.dtype);
    };
    const std::vector<double> q = slice(in.q), k = slice(in.k), v = slice(in.v);
    double* o = out.o.data() + h * head_elems;
    double* lse = out.lse.data() + h * static_cast<std::size_t>(seqlen);

    // Blocks of 16 rows handed out dynamically: causal rows differ in cost, so static halves would idle.
    constexpr int kRows = 16;
    const int blocks = (seqlen + kRows - 1) / kRows;
    std::atomic<int> next{0};
    auto worker = [&] {
      for (int b = next++; b < blocks; b = next++) {
        attend_rows(q, k, v, seqlen, d, p.causal, scale, b * kRows, std::min(seqlen, (b + 1) * kRows), o,
                    lse);
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
  const int total = p.batch * p.heads;
  std::vector<int> all;
  if (total <= max_heads) {
    for (int i = 0; i < total; ++i) all.push_back(i);
    return all;
  }
  std::set<int> chosen{0};
  if (max_heads >= 2) chosen.insert(total - 1);
  std::mt19937_64 gen(seed);
  // Modulo rather than std::uniform_int_distribution, whose algorithm differs between standard libraries: the
  // same seed picks the same heads everywhere (the bias of 2^64 mod (total - 2) is irrelevant here).
  while (static_cast<int>(chosen.size()) < max_heads) {
    chosen.insert(1 + static_cast<int>(gen() % static_cast<std::uint64_t>(total - 2)));
  }
  return {chosen.begin(), chosen.end()};
}

}  // namespace flashtune::verify
