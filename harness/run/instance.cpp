#include "run/instance.hpp"

#include <fmt/format.h>

#include "core/error.hpp"
#include "run/kernel_loader.hpp"

namespace flashtune::run {

gpu::LaunchShape shape_of(const KernelLaunch& l) {
  return gpu::LaunchShape{
      {l.grid[0], l.grid[1], l.grid[2]}, {l.threads, 1, 1}, static_cast<unsigned>(l.dynamic_smem)};
}

std::optional<Instance> Instance::try_make(const KernelTemplate& t, ParamValues params,
                                           const AttentionProblem& problem, std::string* why) {
  const ProblemVariant variant = variant_of(problem);
  std::optional<std::string> bad = check_params(t, params);
  if (!bad) bad = unsupported_reason(t, params, problem);
  if (!bad) bad = t.invalid_reason(params, variant);
  if (bad) {
    if (why) *why = fmt::format("{} {} ({}): {}", t.id(), to_string(params), to_string(variant), *bad);
    return std::nullopt;
  }
  Instance inst;
  inst.template_ = &t;
  inst.params_ = std::move(params);
  inst.label_ = fmt::format("{} {} ({})", t.id(), to_string(inst.params_), to_string(variant));
  inst.exprs_ = t.name_expressions(inst.params_, variant);
  inst.smem_ = t.smem_bytes(inst.params_, variant);
  inst.tensor_maps_ = t.tensor_maps(inst.params_, variant);
  inst.set_problem(problem);
  return inst;
}

Instance Instance::make(const KernelTemplate& t, ParamValues params, const AttentionProblem& problem) {
  std::string why;
  std::optional<Instance> inst = try_make(t, std::move(params), problem, &why);
  if (!inst) throw Error(ErrorKind::invalid_argument, why);
  return std::move(*inst);
}

void Instance::set_problem(const AttentionProblem& problem) {
  problem_ = problem;
  launches_ = template_->launches(params_, problem_);
  workspace_ = template_->workspace_bytes(params_, problem_);
}

Instance Instance::for_problem(const AttentionProblem& problem) const {
  if (variant_of(problem) != variant())
    throw Error(ErrorKind::invalid_argument, fmt::format("{}: another variant ({}) needs another instance",
                                                         label_, to_string(variant_of(problem))));
  if (auto why = unsupported_reason(*template_, params_, problem))
    throw Error(ErrorKind::invalid_argument, fmt::format("{} on {}: {}", label_, problem.to_string(), *why));
  Instance copy = *this;
  copy.set_problem(problem);
  return copy;
}

jit::CompileRequest Instance::compile_request(const std::string& arch) const {
  jit::CompileRequest r = make_request(std::string(template_->source_file()), exprs_.front(), arch);
  r.name_expressions = exprs_;
  return r;
}

TrialSpec Instance::trial_spec(const jit::CompileResult& compiled, const SramPlan& budget) const {
  TrialSpec spec;
  spec.label = label_;
  spec.kernels = kernel_refs(compiled, exprs_, label_);
  spec.launches = launches_;
  spec.workspace_bytes = workspace_;
  spec.tensor_maps = tensor_maps_;
  spec.smem_limit = budget.per_block_limit;
  spec.carveout_percent = budget.carveout_percent;
  return spec;
}

std::size_t CompileRequests::add(const Instance& inst) {
  auto [it, inserted] = index_.emplace(inst.name_expressions(), requests_.size());
  if (inserted) requests_.push_back(inst.compile_request(arch_));
  return it->second;
}

}  // namespace flashtune::run
