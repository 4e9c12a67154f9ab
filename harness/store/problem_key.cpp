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
          .window_left = p.window_left,
          .window_right = p.window_right,
          .softcap = p.softcap != 0.0f,
          .layout = p.layout,
          .kv_group = p.group(),
          .sparse_block = p.sparse_block,
          .density_pct = p.block_sparse() ? density_percent(p.sparse_density) : 0,
          .seqlen_bucket = store::seqlen_bucket(p.seqlen),
          .seqlen_k_bucket = store::seqlen_bucket(p.keys()),
          .bh_bucket = batch_heads_bucket(static_cast<std::int64_t>(p.batch) * p.heads),
          .smem_budget = smem_budget};
}

std::string ProblemKey::to_string() const {
  std::string s = fmt::format("{} d{}", flashtune::to_string(dtype), head_dim);
  if (causal) s += " causal";
  if (window_left >= 0 || window_right >= 0) s += fmt::format(" w{},{}", window_left, window_right);
  if (softcap) s += " softcap";
  if (layout != Layout::bhsd) s += fmt::format(" {}", flashtune::to_string(layout));
  if (kv_group != 1) s += fmt::format(" g{}", kv_group);
  if (sparse_block > 0) s += fmt::format(" sparse{} p{}", sparse_block, density_pct);
  s += fmt::format(" n{}", seqlen_bucket);
  if (seqlen_k_bucket != seqlen_bucket) s += fmt::format(" nk{}", seqlen_k_bucket);
  return s + fmt::format(" bh{} smem{}", bh_bucket, smem_budget);
}

bool ProblemKey::same_family(const ProblemKey& o) const {
  return dtype == o.dtype && head_dim == o.head_dim && causal == o.causal && window_left == o.window_left &&
         window_right == o.window_right && softcap == o.softcap && layout == o.layout &&
         kv_group == o.kv_group && sparse_block == o.sparse_block;
}

}  // namespace flashtune::store
