#include "store/problem_key.hpp"

#include <fmt/format.h>

#include "core/error.hpp"

namespace flashtune::store {
namespace {
int next_power_of_two(std::int64_t v, const char* what) {
  constexpr std::int64_t kMax = std::int64_t{1} << 30;
  if (v < 1 || v > kMax)
    throw Error(ErrorKind::invalid_argument,
                fmt::format("{} = {} has no bucket: it must be in [1, 2^30]", what, v));
  std::int64_t b = 1;
  while (b < v) b <<= 1;
  return static_cast<int>(b);
}
}  // namespace

int seqlen_bucket(int seqlen) {
  return next_power_of_two(seqlen, "seqlen");
}

int batch_heads_bucket(std::int64_t bh) {
  return next_power_of_two(bh, "batch*heads");
}

ProblemKey ProblemKey::of(const AttentionProblem& p, std::int64_t smem_budget) {
  return {.dtype = p.dtype,
          .head_dim = p.head_dim,
          .causal = p.causal,
          .seqlen_bucket = store::seqlen_bucket(p.seqlen),
          .bh_bucket = batch_heads_bucket(static_cast<std::int64_t>(p.batch) * p.heads),
          .smem_budget = smem_budget};
}

std::string ProblemKey::to_string() const {
  return fmt::format("{} d{}{} n{} bh{} smem{}", flashtune::to_string(dtype), head_dim,
                     causal ? " causal" : "", seqlen_bucket, bh_bucket, smem_budget);
}

}  // namespace flashtune::store
