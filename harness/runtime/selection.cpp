#include "runtime/selection.hpp"

#include <fmt/format.h>

#include "core/enum_names.hpp"
#include "core/error.hpp"
#include "store/problem_key.hpp"

namespace flashtune::runtime {
namespace {

constexpr EnumNames<ChoiceSource, 3> kSources{{{
    {ChoiceSource::tuned_exact, "tuned"},
    {ChoiceSource::tuned_nearest, "tuned (nearest bucket)"},
    {ChoiceSource::builtin_default, "default"},
}}};

// Why `params` cannot run `problem`, or nullopt.
std::optional<std::string> invalid(const KernelTemplate& t, const ParamValues& params,
                                   const AttentionProblem& problem) {
  if (auto bad = check_params(t, params)) return bad;
  if (auto bad = unsupported_reason(t, params, problem)) return bad;
  return t.invalid_reason(params, variant_of(problem));
}

bool exact(const store::BestEntry& e, const AttentionProblem& problem) {
  const store::ProblemKey want = store::ProblemKey::of(problem, e.key.problem.smem_budget);
  return want == e.key.problem;
}

}  // namespace

std::string_view to_string(ChoiceSource s) {
  return kSources.name(s);
}

std::vector<std::string> default_preference(const std::string& arch) {
  if (arch == "sm_90a") return {"hopper_fwd", "fa2_fwd"};
  return {"fa2_fwd"};
}

std::vector<std::string> default_backward_preference(const std::string&) {
  return {"fa2_bwd"};
}

Choice choose(std::span<const Candidate> candidates, const AttentionProblem& problem,
              const std::string& arch) {
  std::vector<std::string> reasons;
  const Candidate* best_tuned = nullptr;
  const Candidate* first_default = nullptr;
  for (const Candidate& c : candidates) {
    const KernelTemplate& t = *c.kernel_template;
    if (auto why = t.unsupported_arch(arch)) {
      reasons.push_back(fmt::format("{}: {}", t.id(), *why));
      continue;
    }
    if (c.tuned) {
      if (auto why = invalid(t, c.tuned->params, problem)) {
        reasons.push_back(fmt::format("{}: the tuned {} does not fit: {}", t.id(),
                                      flashtune::to_string(c.tuned->params), *why));
      } else if (!best_tuned || c.tuned->tflops > best_tuned->tuned->tflops) {
        best_tuned = &c;
      }
    }
    if (!first_default) {
      if (auto why = invalid(t, t.default_config(variant_of(problem)), problem))
        reasons.push_back(fmt::format("{}: its default configuration does not fit: {}", t.id(), *why));
      else
        first_default = &c;
    }
  }
  Choice ch;
  if (best_tuned) {
    ch.kernel_template = best_tuned->kernel_template;
    ch.params = best_tuned->tuned->params;
    ch.tuned = best_tuned->tuned;
    ch.source = exact(*ch.tuned, problem) ? ChoiceSource::tuned_exact : ChoiceSource::tuned_nearest;
    ch.why = fmt::format("{} {}: {}, {:.0f} TFLOP/s on {}", ch.kernel_template->id(),
                         flashtune::to_string(ch.params), to_string(ch.source), ch.tuned->tflops,
                         ch.tuned->problem.to_string());
    return ch;
  }
  if (first_default) {
    ch.kernel_template = first_default->kernel_template;
    ch.params = ch.kernel_template->default_config(variant_of(problem));
    ch.why = fmt::format("{} {}: default (nothing tuned for this GPU and problem)", ch.kernel_template->id(),
                         flashtune::to_string(ch.params));
    return ch;
  }
  std::string all;
  for (const std::string& r : reasons) all += (all.empty() ? "" : "; ") + r;
  throw Error(ErrorKind::invalid_argument,
              fmt::format("no kernel template can run {} on {}: {}", problem.to_string(), arch,
                          all.empty() ? "no candidates" : all));
}

}  // namespace flashtune::runtime
