#include "verify/error_metrics.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.hpp"
#include "verify/half_convert.hpp"

namespace flashtune::verify {
namespace {

// compare()'s stats and the sums behind them.
struct Comparison {
  ErrorStats stats;
  double diff2 = 0;    // sum (out - ref)^2 over the finite outputs
  double ref2 = 0;     // sum ref^2 over the finite references
  double ref_max = 0;  // max |ref| over the finite references
};

// Shared loop: `value(i)` gives the output as a double.
template <typename Value>
Comparison compare_impl(std::size_t n, Value value, std::span<const double> ref) {
  if (n != ref.size()) {
    throw Error(ErrorKind::invalid_argument,
                fmt::format("verify::compare: output has {} elements, reference {}", n, ref.size()));
  }
  ErrorStats s;
  s.count = static_cast<std::int64_t>(n);
  std::int64_t first_bad = -1, worst = -1;
  double diff2 = 0, ref2 = 0, ref_max = 0;
  constexpr double kInf = std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < n; ++i) {
    const double x = value(i);
    if (ref[i] == -kInf) {  // the LSE of a row with no attended key: only -inf matches it
      if (x == -kInf) continue;
      if (!std::isfinite(x) && s.non_finite++ == 0) first_bad = static_cast<std::int64_t>(i);
      if (std::isfinite(x) && (worst < 0 || s.max_abs < kInf)) {
        worst = static_cast<std::int64_t>(i);
        s.max_abs = kInf;
        diff2 = kInf;
      }
      continue;
    }
    if (!std::isfinite(ref[i])) {
      throw Error(ErrorKind::internal, fmt::format("verify::compare: reference element {} is {}", i, ref[i]));
    }
    ref2 += ref[i] * ref[i];
    ref_max = std::max(ref_max, std::abs(ref[i]));
    if (!std::isfinite(x)) {
      if (s.non_finite++ == 0) first_bad = static_cast<std::int64_t>(i);
      continue;
    }
    const double d = std::abs(x - ref[i]);
    diff2 += d * d;
    if (worst < 0 || d > s.max_abs) {
      worst = static_cast<std::int64_t>(i);
      s.max_abs = d;
    }
  }
  s.worst_index = first_bad >= 0 ? first_bad : worst;
  if (ref2 > 0) {
    s.rel_l2 = std::sqrt(diff2 / ref2);
  } else {
    s.rel_l2 = diff2 > 0 ? std::numeric_limits<double>::infinity() : 0.0;
  }
  return {s, diff2, ref2, ref_max};
}

// "3.2e-2" rather than printf's "3.2e-02".
std::string sci(double x) {
  std::string s = fmt::format("{:.1e}", x);
  const auto e = s.find('e');
  if (e == std::string::npos) return s;  // inf, nan
  std::size_t digits = e + 2;            // after the exponent's sign
  while (digits + 1 < s.size() && s[digits] == '0') s.erase(digits, 1);
  if (s[e + 1] == '+') s.erase(e + 1, 1);
  return s;
}

using Locate = std::function<std::string(std::int64_t)>;  // "(worst at ...)" for a flat index

VerifyResult judge_impl(const ErrorStats& o, const ErrorStats& lse, const Tolerance& tol, const Locate& at_o,
                        const Locate& at_lse) {
  VerifyResult r{.ok = true, .o = o, .lse = lse, .detail = {}};
  std::vector<std::string> fails;
  if (o.count == 0) fails.push_back("O: nothing compared");
  if (!o.finite()) {
    fails.push_back(fmt::format("O has {} non-finite of {} values (first {})", o.non_finite, o.count,
                                at_o(o.worst_index)));
  } else if (o.count > 0) {
    if (o.rel_l2 > tol.rel_l2) {
      fails.push_back(
          fmt::format("O rel_l2 {} > {} (worst {})", sci(o.rel_l2), sci(tol.rel_l2), at_o(o.worst_index)));
    }
    if (o.max_abs > tol.max_abs) {
      fails.push_back(
          fmt::format("O max_abs {} > {} ({})", sci(o.max_abs), sci(tol.max_abs), at_o(o.worst_index)));
    }
  }
  if (!lse.finite()) {
    fails.push_back(fmt::format("LSE has {} non-finite of {} values (first {})", lse.non_finite, lse.count,
                                at_lse(lse.worst_index)));
  } else if (lse.count > 0 && lse.max_abs > tol.lse_abs) {
    fails.push_back(
        fmt::format("LSE max_abs {} > {} ({})", sci(lse.max_abs), sci(tol.lse_abs), at_lse(lse.worst_index)));
  }
  if (!fails.empty()) {
    r.ok = false;
    r.detail = fmt::format("{}", fmt::join(fails, "; "));
    return r;
  }
  r.detail = fmt::format("ok: O rel_l2 {}, max_abs {}; {}", sci(o.rel_l2), sci(o.max_abs),
                         lse.count > 0 ? "LSE max_abs " + sci(lse.max_abs) : std::string("LSE not checked"));
  return r;
}

std::string at_flat(std::int64_t i) {
  return fmt::format("at index {}", i);
}

}  // namespace

ErrorStats compare(std::span<const float> out, std::span<const double> ref) {
  return compare_impl(
             out.size(), [&](std::size_t i) { return static_cast<double>(out[i]); }, ref)
      .stats;
}

ErrorStats compare(std::span<const std::uint16_t> out, DType t, std::span<const double> ref) {
  return compare_impl(
             out.size(), [&](std::size_t i) { return static_cast<double>(to_float(out[i], t)); }, ref)
      .stats;
}

Tolerance tolerance_for(DType t) {
  if (t == DType::bf16) return Tolerance{.rel_l2 = 1.0e-2, .max_abs = 4e-2, .lse_abs = 2e-3};
  return Tolerance{.rel_l2 = 2.0e-3, .max_abs = 5e-3, .lse_abs = 2e-3};
}

VerifyResult judge(const ErrorStats& o, const ErrorStats& lse, const Tolerance& tol) {
  return judge_impl(o, lse, tol, at_flat, at_flat);
}

VerifyResult judge(const ErrorStats& o, const ErrorStats& lse, DType t) {
  return judge(o, lse, tolerance_for(t));
}

VerifyResult judge(const ErrorStats& o, const ErrorStats& lse, const AttentionProblem& p,
                   std::span<const int> bh_indices) {
  const std::int64_t n = p.seqlen, d = p.head_dim;
  // Flat row r of the checked heads' rows (each head has its sequence's len_q) as "bh .., row ..".
  auto where = [&](std::int64_t r) {
    std::int64_t slot = 0;
    for (; slot < static_cast<std::int64_t>(bh_indices.size()); ++slot) {
      const std::int64_t rows = p.len_q(bh_indices[slot] / p.heads);
      if (r < rows) break;
      r -= rows;
    }
    if (slot >= static_cast<std::int64_t>(bh_indices.size())) {  // no list: every head has n rows
      slot += r / n;
      r %= n;
    }
    const std::int64_t bh = slot < static_cast<std::int64_t>(bh_indices.size()) ? bh_indices[slot] : slot;
    return fmt::format("bh {} (b {}, h {}), row {}", bh, bh / p.heads, bh % p.heads, r);
  };
  const Locate at_o = [&](std::int64_t i) { return fmt::format("at {}, col {}", where(i / d), i % d); };
  const Locate at_lse = [&](std::int64_t i) { return fmt::format("at {}", where(i)); };
  return judge_impl(o, lse, tolerance_for(p.dtype), at_o, at_lse);
}

GradientTolerance gradient_tolerance_for(DType t) {
  if (t == DType::bf16)
    return GradientTolerance{.rel_l2 = 1.0e-2, .max_rel = 2e-2, .rms_floor = 1e-5, .max_floor = 1e-4};
  return GradientTolerance{.rel_l2 = 2.0e-3, .max_rel = 3e-3, .rms_floor = 1e-5, .max_floor = 1e-4};
}

GradientStats compare_gradient(std::span<const std::uint16_t> out, DType t, std::span<const double> ref,
                               const GradientTolerance& tol) {
  const Comparison c = compare_impl(
      out.size(), [&](std::size_t i) { return static_cast<double>(to_float(out[i], t)); }, ref);
  GradientStats g{.err = c.stats, .ref_max_abs = c.ref_max};
  const double floor = std::sqrt(static_cast<double>(c.stats.count)) * tol.rms_floor / tol.rel_l2;
  const double denominator = std::sqrt(c.ref2) + floor;
  g.err.rel_l2 = denominator > 0 ? std::sqrt(c.diff2) / denominator : 0.0;
  return g;
}

namespace {

double max_bound(const GradientStats& g, const GradientTolerance& tol) {
  return tol.max_rel * g.ref_max_abs + tol.max_floor;
}

// The largest measured / bound ratio of a gradient's checks (> 1 fails); inf when it has non-finite values
// or compared nothing.
double badness(const GradientStats& g, const GradientTolerance& tol) {
  if (g.err.count == 0 || !g.err.finite()) return std::numeric_limits<double>::infinity();
  return std::max(g.err.rel_l2 / tol.rel_l2, g.err.max_abs / max_bound(g, tol));
}

VerifyResult judge_backward_impl(const BackwardStats& s, const GradientTolerance& tol, const Locate& at_q,
                                 const Locate& at_kv) {
  struct Named {
    const char* name;
    const GradientStats& g;
    const Locate& at;
  };
  const Named all[] = {{"dQ", s.dq, at_q}, {"dK", s.dk, at_kv}, {"dV", s.dv, at_kv}};
  VerifyResult r{.ok = true, .o = {}, .lse = {}, .detail = {}};
  std::vector<std::string> fails, measured;
  double worst = -1;
  for (const Named& n : all) {
    const ErrorStats& e = n.g.err;
    if (const double b = badness(n.g, tol); b > worst) {
      worst = b;
      r.o = e;
    }
    if (e.count == 0) {
      fails.push_back(fmt::format("{}: nothing compared", n.name));
      continue;
    }
    if (!e.finite()) {
      fails.push_back(fmt::format("{} has {} non-finite of {} values (first {})", n.name, e.non_finite,
                                  e.count, n.at(e.worst_index)));
      continue;
    }
    if (e.rel_l2 > tol.rel_l2) {
      fails.push_back(fmt::format("{} rel_l2 {} > {} (worst {})", n.name, sci(e.rel_l2), sci(tol.rel_l2),
                                  n.at(e.worst_index)));
    }
    if (const double bound = max_bound(n.g, tol); e.max_abs > bound) {
      fails.push_back(fmt::format("{} max_abs {} > {} (max |ref| {}; {})", n.name, sci(e.max_abs), sci(bound),
                                  sci(n.g.ref_max_abs), n.at(e.worst_index)));
    }
    measured.push_back(fmt::format("{} rel_l2 {}, max_abs {}", n.name, sci(e.rel_l2), sci(e.max_abs)));
  }
  if (!fails.empty()) {
    r.ok = false;
    r.detail = fmt::format("{}", fmt::join(fails, "; "));
    return r;
  }
  r.detail = fmt::format("ok: {}", fmt::join(measured, "; "));
  return r;
}

}  // namespace

VerifyResult judge_backward(const BackwardStats& s, const GradientTolerance& tol) {
  return judge_backward_impl(s, tol, at_flat, at_flat);
}

VerifyResult judge_backward(const BackwardStats& s, const AttentionProblem& p,
                            std::span<const int> kv_heads) {
  const std::int64_t d = p.head_dim;
  const int kvh = p.num_kv_heads(), group = p.group();
  // Flat row r of the listed heads' rows (query heads: each key/value head's group in order) as text.
  auto where = [&](std::int64_t r, bool kv) -> std::string {
    for (int bkv : kv_heads) {
      const int b = bkv / kvh, kv_head = bkv % kvh;
      if (kv) {
        if (r < p.len_k(b)) return fmt::format("kv {} (b {}, kv_head {}), key {}", bkv, b, kv_head, r);
        r -= p.len_k(b);
        continue;
      }
      for (int g = 0; g < group; ++g) {
        const int h = kv_head * group + g;
        if (r < p.len_q(b)) return fmt::format("bh {} (b {}, h {}), row {}", b * p.heads + h, b, h, r);
        r -= p.len_q(b);
      }
    }
    return fmt::format("row {} past the listed heads", r);
  };
  const Locate at_q = [&](std::int64_t i) {
    return fmt::format("at {}, col {}", where(i / d, false), i % d);
  };
  const Locate at_kv = [&](std::int64_t i) {
    return fmt::format("at {}, col {}", where(i / d, true), i % d);
  };
  return judge_backward_impl(s, gradient_tolerance_for(p.dtype), at_q, at_kv);
}

}  // namespace flashtune::verify
