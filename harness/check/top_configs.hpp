#pragma once
// Which configurations `flashtune check --top K` checks: per problem of the space, the K best that the
// results store knows for this GPU (docs/check.md):
//   1. the best-configuration cache's winners for the problem's key (its dtype, head_dim, causal, seqlen and
//      batch*heads buckets) on this GPU and template, any SRAM budget, the largest budget first;
//   2. then the ok trials of the problem in the latest sweep of the template on this GPU (a sweep of this
//      very space file's content if there is one, else any), fastest first (the re-measured median when
//      there is one);
// distinct configurations, until K. "This GPU" is its hardware (name, compute capability, SMs, shared memory,
// L2), whatever the driver. The configurations of a variant are the union over its problems; a variant the
// space has no problem of (the other causal mode) takes those of its head_dim and dtype. A variant none of
// whose problems the store knows is checked with every configuration, and a note says so.
//
//   TopConfigs top = top_configs(store, gpu, space, 3);
//   top.chosen(config.params, config.variant);   // true: check it
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/gpu_identity.hpp"
#include "kernels/kernel_template.hpp"
#include "space/search_space.hpp"
#include "store/result_store.hpp"

namespace flashtune::check {

struct TopConfigs {
  // nullopt for a variant checked with every configuration.
  std::map<ProblemVariant, std::optional<std::set<ParamValues>>> by_variant;
  std::vector<std::string> notes;

  bool chosen(const ParamValues& params, const ProblemVariant& v) const;
};

TopConfigs top_configs(const store::ResultStore& store, const GpuIdentity& gpu,
                       const space::SearchSpace& space, int k);

}  // namespace flashtune::check
