#include "store/best_config_rule.hpp"

#include <bit>
#include <cstdint>
#include <tuple>

namespace flashtune::store {
namespace {

int log2_floor(std::int64_t v) {
  return v < 1 ? 0 : std::bit_width(static_cast<std::uint64_t>(v)) - 1;
}

int log2_distance(std::int64_t a, std::int64_t b) {
  const int d = log2_floor(a) - log2_floor(b);
  return d < 0 ? -d : d;
}

bool same_family(const BestKey& a, const BestKey& b) {
  return a.gpu == b.gpu && a.template_id == b.template_id && a.source_hash == b.source_hash &&
         a.nvrtc_version == b.nvrtc_version && a.problem.same_family(b.problem);
}

}  // namespace

const BestEntry* choose_best(std::span<const BestEntry> candidates, const BestKey& wanted) {
  const std::int64_t want_budget = wanted.problem.smem_budget;
  bool found = false;
  std::int64_t budget = 0;
  for (const BestEntry& e : candidates) {
    if (!same_family(e.key, wanted)) continue;
    const std::int64_t b = e.key.problem.smem_budget;
    if (want_budget > 0 && b > want_budget) continue;
    if (!found || b > budget) budget = b;
    found = true;
  }
  if (!found) return nullptr;

  // Lexicographic: nearer density, larger density, nearer seqlen bucket, larger seqlen bucket, nearer
  // seqlen_k bucket, larger seqlen_k bucket, nearer bh bucket, larger bh bucket.
  auto rank = [&](const ProblemKey& k) {
    const int density_distance = k.density_pct > wanted.problem.density_pct
                                     ? k.density_pct - wanted.problem.density_pct
                                     : wanted.problem.density_pct - k.density_pct;
    return std::tuple(density_distance, -k.density_pct,
                      log2_distance(k.seqlen_bucket, wanted.problem.seqlen_bucket), -k.seqlen_bucket,
                      log2_distance(k.seqlen_k_bucket, wanted.problem.seqlen_k_bucket), -k.seqlen_k_bucket,
                      log2_distance(k.bh_bucket, wanted.problem.bh_bucket), -k.bh_bucket);
  };
  const BestEntry* best = nullptr;
  for (const BestEntry& e : candidates) {
    if (!same_family(e.key, wanted) || e.key.problem.smem_budget != budget) continue;
    if (best == nullptr || rank(e.key.problem) < rank(best->key.problem)) best = &e;
  }
  return best;
}

}  // namespace flashtune::store
