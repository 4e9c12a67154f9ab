#pragma once
// The results cache's key for a problem: the facts that are template arguments (dtype, head_dim, causal), the
// variant (window, softcap on or off, layout, query heads per key/value head, the block-sparse layout's
// block), the sizes rounded up to their power-of-two bucket (seqlen, seqlen_k, batch*heads), the block-sparse
// density in whole percent, and the shared-memory budget. Problems in one bucket share a best configuration:
// seqlen 3000 and 4096 both look up n4096.
//
//   ProblemKey k = ProblemKey::of({.batch = 4, .heads = 16, .seqlen = 3000, .head_dim = 128}, 232448);
//   k.to_string();  // "bf16 d128 n4096 bh64 smem232448"
//   // GQA 32/8, 1 query against 8192 keys, a window: "bf16 d128 causal w1024,0 g4 n1 nk8192 bh32 smem232448"
//   // block-sparse, 128-position blocks, density 0.25: "bf16 d128 sparse128 p25 n16384 bh16 smem232448"
#include <compare>
#include <cstdint>
#include <string>

#include "core/dtype.hpp"
#include "core/problem.hpp"

namespace flashtune::store {

// The next power of two >= seqlen: 1 -> 1, 1000 -> 1024, 4096 -> 4096, 4097 -> 8192. Throws
// Error(invalid_argument) for seqlen < 1 or a bucket above 2^30.
int seqlen_bucket(int seqlen);
// Likewise for batch * heads.
int batch_heads_bucket(std::int64_t bh);
// A block-sparse density in whole percent, round(density * 100) with halves up: 0.25 -> 25, 0.125 -> 13,
// 0.001 -> 0. Computed in double from the float, as the header export's lookup does
// (report/export_header.cpp).
constexpr int density_percent(float density) {
  const double x = static_cast<double>(density) * 100.0;
  const auto whole = static_cast<int>(x);
  return x - whole >= 0.5 ? whole + 1 : whole;
}

struct ProblemKey {
  DType dtype = DType::bf16;
  int head_dim = 0;
  bool causal = false;
  int window_left = -1;  // exact, as the problem's (-1: unbounded)
  int window_right = -1;
  bool softcap = false;  // whether scores are capped (the cap's value does not change the kernel's work)
  Layout layout = Layout::bhsd;
  int kv_group = 1;      // heads / kv_heads, exact
  int sparse_block = 0;  // the block-sparse layout's block, exact (0: dense)
  int density_pct = 0;   // block-sparse: density_percent(sparse_density); 0 when dense
  int seqlen_bucket = 0;
  int seqlen_k_bucket = 0;
  int bh_bucket = 0;
  std::int64_t smem_budget =
      0;  // bytes per block, resolved (a "max" budget is stored as the device's opt-in limit)

  static ProblemKey of(const AttentionProblem& p, std::int64_t smem_budget);
  // "bf16 d128 causal n4096 bh64 smem232448": " causal" only when causal; the variant's parts (" w1024,0",
  // " softcap", " bshd", " g4") only when not the plain problem's, " sparse128 p25" (block, density
  // percent) only when block-sparse, " nk8192" only when seqlen_k's bucket is not seqlen's.
  std::string to_string() const;
  // Everything best_config() must match exactly (store/best_config_rule.hpp): all but the buckets, the
  // density and the budget.
  bool same_family(const ProblemKey& o) const;
  friend auto operator<=>(const ProblemKey&, const ProblemKey&) = default;
};

}  // namespace flashtune::store
