#pragma once
// What `flashtune check` checks for one search space (docs/check.md):
//
// Configurations. For each compile variant (head_dim x dtype x causal) the set of configurations the tuner
// could pick: a combination is kept when the space's constraints admit it for at least one of the space's
// problems of that variant, the template's rules accept it, and its shared memory fits the largest SRAM
// budget (the funnel of `flashtune tune`). A check variant the space has no problem of (the causal mode the
// space does not tune) takes the space's problems of the same head_dim and dtype with causal set to the
// variant's.
//
// Variants. Compile-only: the variants of the space's problems. With a GPU: each (head_dim, dtype) of the
// space x causal {no, yes}, so that both masks are verified.
//
// Check problems (GPU only), per (head_dim, dtype) of the space: B=2 H=3 with N in {1, 17, 1000} (one row, a
// ragged tile, a ragged multi-tile sequence) x causal {no, yes}; with `full_problems` also the space's own
// problems. Each configuration of a variant is verified on every check problem of that variant.
//
//   CheckPlan p = plan_check(space, {.gpu = false, .arch = "sm_90a", .smem_limit = 232448});
//   p.configs.size();   // what --compile-only compiles
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/problem.hpp"
#include "jit/compile_request.hpp"
#include "kernel_limits.h"
#include "kernels/kernel_template.hpp"
#include "run/instance.hpp"
#include "space/search_space.hpp"

namespace flashtune::check {

struct CheckConfig {
  // The configuration on the first problem that admitted it (with the variant's causal mode): the problem
  // variables its expect_compile_error expression see; Instance::for_problem moves it to a check problem.
  run::Instance instance;
  std::size_t request = 0;            // index into CheckPlan::requests
  bool expect_compile_error = false;  // the space's check.expect_compile_error holds for it
  std::string label;                  // "block_m=64 block_n=64 stages=2 warps=4 (d64 bf16)"

  const ParamValues& params() const { return instance.params(); }
  ProblemVariant variant() const { return instance.variant(); }
  const AttentionProblem& origin() const { return instance.problem(); }
};

struct CheckPlan {
  std::string template_id;
  std::vector<ProblemVariant> variants;       // in the order their problems appear in the space
  std::vector<CheckConfig> configs;           // by variant, then in enumeration order
  std::vector<jit::CompileRequest> requests;  // one per distinct instantiation
  std::vector<AttentionProblem> problems;     // the GPU check problems (empty when !gpu)
  std::size_t combinations = 0;               // per variant: space.size()
  // (variant, combination) pairs left out, by the first rule that removes them.
  std::size_t pruned_constraint = 0, pruned_template = 0, pruned_over_budget = 0;
  std::size_t sampled_out = 0;  // configurations left out of a sample (PlanOptions::sample)
};

struct PlanOptions {
  bool gpu = false;            // the check variants and check problems
  bool full_problems = false;  // also the space's own problems (gpu)
  std::string arch = "sm_90a";
  int smem_limit =
      kSmemOptinBytes;  // the largest budget's per-block bytes; configurations over it are left out
  // > 0: at most this many configurations of the space, drawn with `seed` (std::mt19937_64, a shuffle), plus
  // every one the space expects not to compile; 0: all.
  int sample = 0;
  std::uint64_t seed = 0;
};

// Throws Error(not_found) for a template the catalog lacks (a loaded space never has one).
CheckPlan plan_check(const space::SearchSpace& space, const PlanOptions& options);

// The GPU check problems of the space (see above), grouped by variant in the order of plan_check's variants.
std::vector<AttentionProblem> check_problems(const space::SearchSpace& space, bool full_problems);

// Whether an expression of `check:` holds for params on problem; false when it fails to evaluate (division by
// zero): an expectation that cannot be evaluated expects nothing.
bool expectation_holds(const space::Constraint& c, const ParamValues& params,
                       const AttentionProblem& problem);

}  // namespace flashtune::check
