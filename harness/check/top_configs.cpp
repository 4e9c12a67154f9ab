#include "check/top_configs.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "check/detail/hardware_key.hpp"
#include "store/problem_key.hpp"

namespace flashtune::check {
namespace {

bool same_bucket(const store::ProblemKey& a, const store::ProblemKey& b) {
  return a.dtype == b.dtype && a.head_dim == b.head_dim && a.causal == b.causal &&
         a.seqlen_bucket == b.seqlen_bucket && a.bh_bucket == b.bh_bucket;
}

double ranking_ms(const store::TrialRecord& t) {
  return t.remeasured_ms > 0 ? t.remeasured_ms : t.median_ms;
}

}  // namespace

bool TopConfigs::chosen(const ParamValues& params, const ProblemVariant& v) const {
  auto it = by_variant.find(v);
  return it == by_variant.end() || !it->second || it->second->contains(params);
}

TopConfigs top_configs(const store::ResultStore& store, const GpuIdentity& gpu,
                       const space::SearchSpace& space, int k) {
  const std::string hw = detail::hardware_key(gpu);
  std::optional<store::SweepRecord> sweep;  // the latest of the template on this GPU, this space's if any
  for (const store::SweepRecord& s : store.sweeps()) {
    if (!s.has_gpu || s.template_id != space.template_id || detail::hardware_key(s.gpu) != hw) continue;
    if (!sweep) sweep = s;
    if (s.space_hash == space.content_hash) {
      sweep = s;
      break;
    }
  }
  std::vector<store::TrialRecord> trials;
  if (sweep) {
    for (store::TrialRecord& t : store.trials(sweep->id))
      if (t.status == TrialStatus::ok && t.samples > 0 && t.template_id == space.template_id)
        trials.push_back(std::move(t));
    std::stable_sort(trials.begin(), trials.end(),
                     [](const store::TrialRecord& a, const store::TrialRecord& b) {
                       return ranking_ms(a) < ranking_ms(b);
                     });
  }
  std::vector<store::BestEntry> winners;
  for (store::BestEntry& e : store.best_entries())
    if (e.key.template_id == space.template_id && detail::hardware_key(e.key.gpu) == hw)
      winners.push_back(std::move(e));
  std::stable_sort(winners.begin(), winners.end(), [](const store::BestEntry& a, const store::BestEntry& b) {
    return a.key.problem.smem_budget > b.key.problem.smem_budget;
  });

  TopConfigs top;
  std::map<ProblemVariant, bool> known;  // some problem of the variant has stored results
  for (const AttentionProblem& p : space.problems) {
    const store::ProblemKey key = store::ProblemKey::of(p, 0);
    std::vector<ParamValues> picks;
    auto pick = [&](const ParamValues& params) {
      if (static_cast<int>(picks.size()) < k && std::find(picks.begin(), picks.end(), params) == picks.end())
        picks.push_back(params);
    };
    for (const store::BestEntry& e : winners)
      if (same_bucket(e.key.problem, key)) pick(e.params);
    for (const store::TrialRecord& t : trials)
      if (t.problem.to_string() == p.to_string()) pick(t.params);
    const ProblemVariant v = variant_of(p);
    auto& set = top.by_variant[v];
    if (!set) set.emplace();
    set->insert(picks.begin(), picks.end());
    known[v] = known[v] || !picks.empty();
  }
  for (auto& [v, set] : top.by_variant)
    if (!known[v]) {
      set.reset();
      top.notes.push_back(fmt::format(
          "--top: the results store has nothing for {} {} on this GPU: checking every configuration of it",
          space.template_id, to_string(v)));
    }
  // The causal mode the space does not tune takes the choice of its head_dim and dtype.
  std::map<ProblemVariant, std::optional<std::set<ParamValues>>> flipped;
  for (const auto& [v, set] : top.by_variant) {
    ProblemVariant other = v;
    other.causal = !v.causal;
    if (!top.by_variant.contains(other)) flipped.emplace(other, set);
  }
  top.by_variant.merge(flipped);
  return top;
}

}  // namespace flashtune::check
