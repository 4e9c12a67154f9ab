#pragma once
// Which template and configuration the runtime launches for a problem: a pure rule over what was tuned, so
// that it is tested without a GPU or a store (docs/runtime.md).
//
//   std::vector<Candidate> c = {{&find_template("hopper_fwd"), tuned_hopper}, {&find_template("fa2_fwd"),
//   {}}}; const Choice ch = choose(c, problem, "sm_90a");   // ch.kernel_template, ch.params, ch.source,
//   ch.why
//
// 1. A candidate that cannot run here is left out: its template does not build for the arch
//    (KernelTemplate::unsupported_arch), or neither its tuned nor its default configuration is valid for the
//    problem's variant (head_dim, dtype, causal).
// 2. Among the candidates with a tuned entry (the store's best configuration for this GPU: the exact bucket
// or
//    the nearest one), the one that measured the most TFLOP/s; a tie goes to the earlier candidate.
// 3. Else the first candidate, in the order given (default_preference), with its built-in default
//    configuration (KernelTemplate::default_config).
// 4. No candidate: Error(invalid_argument) with each one's reason.
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/problem.hpp"
#include "kernels/kernel_template.hpp"
#include "store/records.hpp"

namespace flashtune::runtime {

struct Candidate {
  const KernelTemplate* kernel_template = nullptr;
  std::optional<store::BestEntry> tuned;  // the store's answer for the problem, if any
};

enum class ChoiceSource {
  tuned_exact,      // the tuned winner of the problem's own bucket
  tuned_nearest,    // the tuned winner of the nearest bucket (store/best_config_rule.hpp)
  builtin_default,  // nothing tuned: the template's default configuration
};
std::string_view to_string(ChoiceSource s);  // "tuned", "tuned (nearest bucket)", "default"

struct Choice {
  const KernelTemplate* kernel_template = nullptr;
  ParamValues params;
  ChoiceSource source = ChoiceSource::builtin_default;
  std::optional<store::BestEntry> tuned;  // the entry chosen, for tuned_*
  std::string why;                        // one line: what was chosen and why the others were not
};

// The templates the runtime considers on `arch`, fastest first where nothing was measured: hopper_fwd then
// fa2_fwd on sm_90a, fa2_fwd elsewhere.
std::vector<std::string> default_preference(const std::string& arch);

// The templates the runtime considers for the backward pass (AttentionProblem::pass bwd): fa2_bwd.
std::vector<std::string> default_backward_preference(const std::string& arch);

Choice choose(std::span<const Candidate> candidates, const AttentionProblem& problem,
              const std::string& arch);

}  // namespace flashtune::runtime
