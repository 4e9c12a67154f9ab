#include "verify/online_softmax.hpp"

#include <algorithm>
#include <cmath>

namespace flashtune::verify {

namespace {
constexpr double kNegInf = -std::numeric_limits<double>::infinity();
}

SoftmaxState block_state(std::span<const double> scores) {
  SoftmaxState s;
  for (double x : scores) s.max = std::max(s.max, x);
  if (s.max == kNegInf) return SoftmaxState{};
  for (double x : scores) s.sum += std::exp(x - s.max);  // exp(-inf - finite) = 0 for masked keys
  return s;
}

SoftmaxState merge(SoftmaxState a, SoftmaxState b) {
  if (a.max == kNegInf) return b;  // also avoids exp(-inf - -inf) = NaN when both are empty
  if (b.max == kNegInf) return a;
  const double m = std::max(a.max, b.max);
  return SoftmaxState{m, a.sum * std::exp(a.max - m) + b.sum * std::exp(b.max - m)};
}

double log_sum_exp(SoftmaxState s) {
  return s.max == kNegInf ? kNegInf : s.max + std::log(s.sum);
}

}  // namespace flashtune::verify
