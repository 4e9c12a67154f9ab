// The float64 backward reference against central finite differences of L = sum(dO * O), O from the forward
// reference (cpu_reference.hpp) in double, on every variant (bwd_test_problems.hpp).
//
// The inputs are fp16, so an element is perturbed to its fp16 neighbours: x +- h and x +- 2h with h its ulp,
// only at elements with |x| >= 0.5 (h >= 2^-11) whose four neighbours are evenly spaced (not at a binade
// edge). The five-point stencil (8 (L(x+h) - L(x-h)) - (L(x+2h) - L(x-2h))) / 12h errs by O(h^4), about
// 1e-12 of the gradients; what remains is L's rounding (~1e-16 of the sum of |dO * O| over all
// rows) over h: measured at most 4e-10 * (1 + |gradient|). The tolerance is 1e-8 * (1 + |gradient|); a wrong
// term (the softcap slope left out, one head of a group missed) errs by 0.08 to 3 on these problems.
#include <cmath>
#include <cstdint>
#include <optional>
#include <vector>

#include <gtest/gtest.h>

#include "bwd_test_problems.hpp"
#include "core/problem.hpp"
#include "verify/cpu_reference.hpp"
#include "verify/cpu_reference_bwd.hpp"
#include "verify/half_convert.hpp"
#include "verify/random_inputs.hpp"

namespace flashtune::verify {
namespace {

using testing::BwdCase;

std::vector<int> all_heads(const AttentionProblem& p) {
  std::vector<int> all(static_cast<std::size_t>(p.batch) * p.heads);
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int>(i);
  return all;
}

// L = sum(dO * O) over every query head.
class Loss {
 public:
  Loss(const AttentionProblem& p, const std::vector<std::uint16_t>& d_o) : p_(p), heads_(all_heads(p)) {
    for (std::uint16_t x : gather_heads<std::uint16_t>(d_o, p, heads_, p.head_dim))
      d_o_rows_.push_back(to_float(x, p.dtype));
  }
  double operator()(const HostInputs& in) const {
    const ReferenceOutput r = cpu_attention(p_, in, heads_, 1);
    double l = 0;
    for (std::size_t i = 0; i < r.o.size(); ++i) l += r.o[i] * d_o_rows_[i];
    return l;
  }

 private:
  AttentionProblem p_;
  std::vector<int> heads_;
  std::vector<double> d_o_rows_;
};

// dL/dx for element e of x (one of in's tensors) by the five-point stencil on x's fp16 neighbours; nullopt
// when they are not evenly spaced.
std::optional<double> numeric_gradient(const Loss& loss, HostInputs& in, std::vector<std::uint16_t>& x,
                                       std::size_t e) {
  const std::uint16_t bits = x[e];
  if ((bits & 0x3FFu) < 2 || (bits & 0x3FFu) > 0x3FDu) return std::nullopt;  // x +- 2 ulp leave the binade
  if (std::abs(f16_to_float(bits)) < 0.5f) return std::nullopt;              // h < 2^-11: L's rounding shows
  double value[5], l[5];
  for (int k = -2; k <= 2; ++k) {
    x[e] = static_cast<std::uint16_t>(bits + k);  // sign-magnitude: +k moves away from zero
    value[k + 2] = f16_to_float(x[e]);
    l[k + 2] = loss(in);
  }
  x[e] = bits;
  const double h = (value[3] - value[1]) / 2;
  return (8 * (l[3] - l[1]) - (l[4] - l[0])) / (12 * h);
}

class CpuBackwardFiniteDifferences : public ::testing::TestWithParam<BwdCase> {};

// Element (row, column) of every `stride`-th row of each tensor, the column varying with the row; a column
// at a binade edge moves to the next.
TEST_P(CpuBackwardFiniteDifferences, GradientsMatch) {
  const AttentionProblem p = GetParam().problem;
  HostInputs in = make_inputs(p, 41);
  std::vector<std::uint16_t> d_o(static_cast<std::size_t>(p.elements()));
  fill_normal(d_o, p.dtype, 43);
  const BackwardReference ref = cpu_attention_backward(p, in, d_o, all_kv_heads(p));
  const Loss loss(p, d_o);
  const int d = p.head_dim;

  struct Tensor {
    const char* name;
    std::vector<std::uint16_t>* x;
    const std::vector<double>* grad;
    bool kv;
  };
  const Tensor tensors[] = {
      {"dQ", &in.q, &ref.dq, false}, {"dK", &in.k, &ref.dk, true}, {"dV", &in.v, &ref.dv, true}};
  for (const Tensor& t : tensors) {
    const int heads = t.kv ? p.num_kv_heads() : p.heads;
    int rows = 0;
    for (int b = 0; b < p.batch; ++b) rows += heads * (t.kv ? p.len_k(b) : p.len_q(b));
    const int stride = std::max(1, rows / 40);
    int checked = 0, r = 0;
    for (int b = 0; b < p.batch; ++b)
      for (int h = 0; h < heads; ++h)
        for (int i = 0; i < (t.kv ? p.len_k(b) : p.len_q(b)); ++i, ++r) {
          if (r % stride != 0) continue;
          const auto row = static_cast<std::size_t>(p.offset(b, h, i, t.kv));
          for (int c = (7 * r) % d, tries = 0; tries < d; c = (c + 1) % d, ++tries) {
            const std::optional<double> fd = numeric_gradient(loss, in, *t.x, row + c);
            if (!fd) continue;
            const double got = (*t.grad)[row + c];
            EXPECT_NEAR(got, *fd, 1e-8 * (1 + std::abs(*fd)))
                << t.name << " sequence " << b << " head " << h << " row " << i << " column " << c;
            ++checked;
            break;
          }
        }
    EXPECT_GE(checked, std::min(rows, 20)) << t.name;
  }
}

INSTANTIATE_TEST_SUITE_P(Variants, CpuBackwardFiniteDifferences, ::testing::ValuesIn(testing::bwd_cases()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace flashtune::verify
