#pragma once
// One configuration of one template on one problem, validated once: the step "parameter map -> name
// expressions -> compile request -> launches -> trial spec" that tune, check, bench, compile and the GPU
// tests all take. Built from a parameter map (check_params, then the template's invalid_reason: the host's
// copy of its static_asserts); everything the template computes for it is computed here once and kept.
//
//   const run::Instance inst = run::Instance::make(find_template("hopper_fwd"), params, problem);
//   jit::CompileRequest req = inst.compile_request("sm_90a");
//   run::TrialSpec spec = inst.trial_spec(compiled, budget);   // kernels, launches, maps, limits
//   run::Instance other = inst.for_problem(bigger);            // same kernels, other launch grid
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/problem.hpp"
#include "gpu/launch.hpp"
#include "jit/compile_request.hpp"
#include "kernels/kernel_template.hpp"
#include "kernels/sram_budget.hpp"
#include "run/trial_runner.hpp"

namespace flashtune::run {

// The driver's view of a template's launch: grid, one-dimensional block, dynamic shared memory.
gpu::LaunchShape shape_of(const KernelLaunch& l);

class Instance {
 public:
  // Throws Error(invalid_argument) "<template> <params> (<variant>): <why>" for parameters the template
  // rejects (unknown, out of bounds, or breaking its static_asserts).
  static Instance make(const KernelTemplate& t, ParamValues params, const AttentionProblem& problem);
  // The same, with the reason instead of an exception.
  static std::optional<Instance> try_make(const KernelTemplate& t, ParamValues params,
                                          const AttentionProblem& problem, std::string* why);

  const KernelTemplate& kernel_template() const { return *template_; }
  const ParamValues& params() const { return params_; }
  const AttentionProblem& problem() const { return problem_; }
  ProblemVariant variant() const { return variant_of(problem_); }
  // "fa2_fwd block_m=128 block_n=64 stages=2 warps=4 (d128 bf16 causal)"
  const std::string& label() const { return label_; }

  const std::vector<std::string>& name_expressions() const { return exprs_; }
  int smem_bytes() const { return smem_; }  // the largest dynamic shared memory of its kernels
  const std::vector<KernelLaunch>& launches() const { return launches_; }
  std::size_t workspace_bytes() const { return workspace_; }
  const std::vector<TensorMapRequest>& tensor_maps() const { return tensor_maps_; }

  // The same configuration on another problem of the same variant (head_dim, dtype, causal): the kernels
  // are the same, the launches are recomputed. Throws Error(invalid_argument) for another variant.
  Instance for_problem(const AttentionProblem& problem) const;

  // The NVRTC request for all its kernels (one program), with the template folders on the include path.
  jit::CompileRequest compile_request(const std::string& arch) const;

  // A spec that runs it under `budget` (each block's limit and the carveout) from `compiled`, the result of
  // compile_request(); verify and time are left on, timing at its defaults.
  TrialSpec trial_spec(const jit::CompileResult& compiled, const SramPlan& budget) const;

 private:
  Instance() = default;
  void set_problem(const AttentionProblem& problem);

  const KernelTemplate* template_ = nullptr;
  ParamValues params_;
  AttentionProblem problem_;
  std::string label_;
  std::vector<std::string> exprs_;
  int smem_ = 0;
  std::vector<KernelLaunch> launches_;
  std::size_t workspace_ = 0;
  std::vector<TensorMapRequest> tensor_maps_;
};

// Compile requests for many instances, one per distinct set of name expressions (instances that differ only
// in problem, or in parameters a template does not spell, share one compile).
class CompileRequests {
 public:
  CompileRequests() = default;
  explicit CompileRequests(std::string arch) : arch_(std::move(arch)) {}
  // The index of the request that compiles `inst`, added when new.
  std::size_t add(const Instance& inst);
  const std::vector<jit::CompileRequest>& requests() const { return requests_; }
  std::size_t size() const { return requests_.size(); }

 private:
  std::string arch_;
  std::vector<jit::CompileRequest> requests_;
  std::map<std::vector<std::string>, std::size_t> index_;
};

}  // namespace flashtune::run
