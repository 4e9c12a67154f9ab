#include "check/check_plan.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <utility>

#include "core/error.hpp"
#include "space/enumerate.hpp"

namespace flashtune::check {
namespace {

constexpr int kCheckSeqlens[] = {1, 17, 1000};
constexpr int kCheckBatch = 2;
constexpr int kCheckHeads = 3;

// (head_dim, dtype) pairs of the space, in the order they first appear.
std::vector<std::pair<int, DType>> head_dims_and_dtypes(const space::SearchSpace& space) {
  std::vector<std::pair<int, DType>> out;
  for (const AttentionProblem& p : space.problems) {
    const std::pair<int, DType> hd{p.head_dim, p.dtype};
    if (std::find(out.begin(), out.end(), hd) == out.end()) out.push_back(hd);
  }
  return out;
}

std::vector<ProblemVariant> variants_of(const space::SearchSpace& space, bool gpu) {
  std::vector<ProblemVariant> out;
  auto add = [&](const ProblemVariant& v) {
    if (std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);
  };
  if (gpu) {
    for (const auto& [d, dtype] : head_dims_and_dtypes(space))
      for (bool causal : {false, true}) add({d, dtype, causal});
  } else {
    for (const AttentionProblem& p : space.problems) add(variant_of(p));
  }
  return out;
}

// The space's problems of variant v; when it has none, those of v's head_dim and dtype with v's causal mode.
std::vector<AttentionProblem> origins_of(const space::SearchSpace& space, const ProblemVariant& v) {
  std::vector<AttentionProblem> out;
  for (const AttentionProblem& p : space.problems)
    if (variant_of(p) == v) out.push_back(p);
  if (!out.empty()) return out;
  for (AttentionProblem p : space.problems)
    if (p.head_dim == v.head_dim && p.dtype == v.dtype) {
      p.causal = v.causal;
      out.push_back(p);
    }
  return out;
}

}  // namespace

bool expectation_holds(const space::Constraint& c, const ParamValues& params,
                       const AttentionProblem& problem) {
  try {
    return c.expr.holds([&](std::string_view name) -> std::optional<std::int64_t> {
      if (auto it = params.find(std::string(name)); it != params.end()) return it->second;
      return space::problem_variable(problem, name);
    });
  } catch (const space::ExprError&) {
    return false;
  }
}

std::vector<AttentionProblem> check_problems(const space::SearchSpace& space, bool full_problems) {
  std::vector<AttentionProblem> out;
  for (const ProblemVariant& v : variants_of(space, true)) {
    for (int n : kCheckSeqlens)
      out.push_back({.batch = kCheckBatch,
                     .heads = kCheckHeads,
                     .seqlen = n,
                     .head_dim = v.head_dim,
                     .dtype = v.dtype,
                     .causal = v.causal});
    if (!full_problems) continue;
    for (const AttentionProblem& p : space.problems)
      if (variant_of(p) == v && std::none_of(out.begin(), out.end(), [&](const AttentionProblem& q) {
            return q.to_string() == p.to_string() && q.softmax_scale == p.softmax_scale;
          }))
        out.push_back(p);
  }
  return out;
}

CheckPlan plan_check(const space::SearchSpace& space, const PlanOptions& options) {
  const KernelTemplate& t = find_template(space.template_id);
  CheckPlan plan;
  plan.template_id = std::string(t.id());
  if (auto why = t.unsupported_arch(options.arch)) throw Error(ErrorKind::invalid_argument, *why);
  plan.combinations = space.size();
  plan.variants = variants_of(space, options.gpu);
  if (options.gpu) plan.problems = check_problems(space, options.full_problems);

  std::vector<CheckConfig> candidates;
  for (const ProblemVariant& v : plan.variants) {
    // Every combination some problem of the variant admits, with the first problem that does.
    std::vector<std::pair<ParamValues, AttentionProblem>> admitted;
    std::set<ParamValues> seen;
    for (const AttentionProblem& origin : origins_of(space, v))
      for (ParamValues& params : space::enumerate(space, origin).kept)
        if (seen.insert(params).second) admitted.emplace_back(std::move(params), origin);
    plan.pruned_constraint += plan.combinations - admitted.size();

    for (auto& [params, origin] : admitted) {
      std::optional<run::Instance> inst = run::Instance::try_make(t, std::move(params), origin, nullptr);
      if (!inst) {
        ++plan.pruned_template;
        continue;
      }
      if (inst->smem_bytes() > options.smem_limit) {
        ++plan.pruned_over_budget;
        continue;
      }
      const bool expect_compile_error =
          space.check.expect_compile_error &&
          expectation_holds(*space.check.expect_compile_error, inst->params(), origin);
      std::string label = fmt::format("{} ({})", to_string(inst->params()), to_string(v));
      candidates.push_back(CheckConfig{std::move(*inst), 0, expect_compile_error, std::move(label)});
    }
  }
  // A sample: `sample` configurations drawn with the seed, plus every one the space expects not to compile.
  std::vector<bool> keep(candidates.size(), true);
  if (options.sample > 0 && candidates.size() > static_cast<std::size_t>(options.sample)) {
    std::vector<std::size_t> order(candidates.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::mt19937_64 rng(options.seed);
    std::shuffle(order.begin(), order.end(), rng);
    for (std::size_t i = static_cast<std::size_t>(options.sample); i < order.size(); ++i)
      keep[order[i]] = candidates[order[i]].expect_compile_error;
  }
  run::CompileRequests requests(options.arch);
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    if (!keep[i]) {
      ++plan.sampled_out;
      continue;
    }
    candidates[i].request = requests.add(candidates[i].instance);
    plan.configs.push_back(std::move(candidates[i]));
  }
  plan.requests = requests.requests();
  return plan;
}

}  // namespace flashtune::check
